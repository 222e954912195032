//! The live glue: event routing (`keys_for`) and the writes reconciles make, on an
//! in-process store.

use std::sync::Arc;

use serde_json::{Value, json};

use super::ControlPlane;
use super::live;
use super::network::EndpointsController;
use super::runtime::{Controller, Key};
use super::scheduling::SchedulerController;
use super::workload::{DeploymentController, ReplicaSetController};
use crate::clock::LabClock;
use crate::resources::{ResourceId, lookup};
use crate::store::{Event, EventType, Store, Stored, WriteOptions};

fn control_plane() -> Arc<ControlPlane> {
    let store = Arc::new(Store::new(Arc::new(LabClock::default()), 1));
    let ns = lookup("", "v1", "namespaces").unwrap();
    store
        .create(
            ns,
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
            &WriteOptions::default(),
        )
        .unwrap();
    Arc::new(ControlPlane::new(store, 1))
}

fn stored(v: Value) -> Arc<Stored> {
    Arc::new(Stored::from_value(v, 5))
}

fn event(res: ResourceId, kind: EventType, object: Value, prev: Option<Value>) -> Event {
    let name = object["metadata"]["name"].as_str().unwrap().to_string();
    Event::new(
        6,
        res,
        "default".into(),
        name,
        kind,
        stored(object),
        prev.map(stored),
    )
}

fn pod(name: &str, labels: Value, owner: Option<&str>, node: Option<&str>) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": labels, "generation": 1},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    if let Some(rs) = owner {
        p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "name": rs, "uid": "rs-uid", "controller": true}]);
    }
    if let Some(n) = node {
        p["spec"]["nodeName"] = json!(n);
    }
    p
}

fn key(name: &str) -> Key {
    Key {
        namespace: "default".into(),
        name: name.into(),
    }
}

#[test]
fn a_pod_event_reaches_only_its_owner_replica_set() {
    let rs = ReplicaSetController::new(control_plane());
    let owned = pod("web-1", json!({"app": "web"}), Some("web-abc"), None);
    let e = event(live::pods(), EventType::Modified, owned, None);
    assert_eq!(rs.keys_for(&e), vec![key("web-abc")]);
    let orphan = pod("solo", json!({"app": "web"}), None, None);
    let e = event(live::pods(), EventType::Added, orphan, None);
    assert!(rs.keys_for(&e).is_empty());
}

#[test]
fn a_relabelled_pod_reaches_the_services_of_its_old_and_new_labels() {
    let cp = control_plane();
    let services = live::services();
    for (name, selector) in [
        ("a", json!({"app": "a"})),
        ("b", json!({"app": "b"})),
        ("c", Value::Null),
    ] {
        let mut svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"ports": [{"port": 80}]}});
        if !selector.is_null() {
            svc["spec"]["selector"] = selector;
        }
        cp.store
            .create(services, "default", svc, &WriteOptions::default())
            .unwrap();
    }
    let endpoints = EndpointsController::new(cp.clone());
    let now = pod("p", json!({"app": "b"}), None, None);
    let before = pod("p", json!({"app": "a"}), None, None);
    let e = event(live::pods(), EventType::Modified, now, Some(before));
    let mut keys = endpoints.keys_for(&e);
    keys.sort();
    assert_eq!(keys, vec![key("a"), key("b")]);
    let other = pod("q", json!({"app": "z"}), None, None);
    assert!(
        endpoints
            .keys_for(&event(live::pods(), EventType::Added, other, None))
            .is_empty()
    );
}

#[test]
fn the_scheduler_ignores_bound_pods_and_its_own_status_writes() {
    let sched = SchedulerController::new(control_plane());
    let pending = pod("p", json!({}), None, None);
    let e = event(live::pods(), EventType::Added, pending.clone(), None);
    assert_eq!(sched.keys_for(&e), vec![key("p")]);
    let mut with_condition = pending.clone();
    with_condition["status"] = json!({"phase": "Pending"});
    let e = event(
        live::pods(),
        EventType::Modified,
        with_condition,
        Some(pending),
    );
    assert!(sched.keys_for(&e).is_empty());
    let bound = pod("b", json!({}), None, Some("node-a"));
    assert!(
        sched
            .keys_for(&event(live::pods(), EventType::Added, bound, None))
            .is_empty()
    );
}

fn replica_set(cp: &ControlPlane, replicas: i32) {
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-abc", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    cp.store
        .create(
            live::replica_sets(),
            "default",
            rs,
            &WriteOptions::default(),
        )
        .unwrap();
}

#[test]
fn a_replica_set_creates_its_pods_once_and_says_so() {
    let cp = control_plane();
    replica_set(&cp, 2);
    let rs = ReplicaSetController::new(cp.clone());
    rs.reconcile(&cp.store, &key("web-abc")).unwrap();
    rs.reconcile(&cp.store, &key("web-abc")).unwrap();
    let (_, pods) = cp.store.list(live::pods(), Some("default"));
    assert_eq!(pods.len(), 2);
    assert!(pods.iter().all(|p| p.name.starts_with("web-abc-")));
    let (_, events) = cp
        .store
        .list(lookup("", "v1", "events").unwrap(), Some("default"));
    let created: Vec<String> = events
        .iter()
        .map(|e| e.value())
        .filter(|e| e["reason"] == "SuccessfulCreate")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    let mut expected: Vec<String> = pods
        .iter()
        .map(|p| format!("Created pod: {}", p.name))
        .collect();
    expected.sort();
    let mut created = created;
    created.sort();
    assert_eq!(created, expected);
    // The status counts them (they are not running: no kubelet here).
    let stored = cp
        .store
        .get(live::replica_sets(), "default", "web-abc")
        .unwrap();
    assert_eq!(stored.value()["status"]["replicas"], 2);
}

#[test]
fn a_deployment_keeps_its_revision_annotation_and_its_status() {
    let cp = control_plane();
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    cp.store
        .create(live::deployments(), "default", d, &WriteOptions::default())
        .unwrap();
    let dc = DeploymentController::new(cp.clone());
    dc.reconcile(&cp.store, &key("web")).unwrap();
    let stored = cp
        .store
        .get(live::deployments(), "default", "web")
        .unwrap()
        .value();
    assert_eq!(
        stored["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
    assert_eq!(stored["status"]["observedGeneration"], 1);
    let (_, rss) = cp.store.list(live::replica_sets(), Some("default"));
    assert_eq!(rss.len(), 1);
    assert_eq!(
        rss[0].value()["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "1"
    );
}

#[test]
fn parked_pods_are_retried_on_node_changes_but_not_on_heartbeats() {
    let cp = control_plane();
    let sched = SchedulerController::new(cp.clone());
    cp.store
        .create(
            live::pods(),
            "default",
            pod("p", json!({}), None, None),
            &WriteOptions::default(),
        )
        .unwrap();
    // No node at all: the pod is parked as unschedulable.
    sched.reconcile(&cp.store, &key("p")).unwrap();
    let node = |beat: &str, labels: Value| {
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n", "labels": labels},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": beat}]}})
    };
    let nodes = live::nodes();
    let heartbeat = Event::new(
        7,
        nodes,
        String::new(),
        "n".into(),
        EventType::Modified,
        stored(node("2026-01-01T00:00:10Z", json!({}))),
        Some(stored(node("2026-01-01T00:00:00Z", json!({})))),
    );
    assert!(sched.keys_for(&heartbeat).is_empty());
    let relabel = Event::new(
        8,
        nodes,
        String::new(),
        "n".into(),
        EventType::Modified,
        stored(node("2026-01-01T00:00:10Z", json!({"zone": "a"}))),
        Some(stored(node("2026-01-01T00:00:10Z", json!({})))),
    );
    assert_eq!(sched.keys_for(&relabel), vec![key("p")]);
}
