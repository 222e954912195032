//! Graceful pod deletion: the apiserver's rules for when a delete waits for the kubelet.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::resources::lookup;

fn pods() -> ResourceId {
    lookup("", "v1", "pods").unwrap()
}

/// A store whose clock stands still (speed 0.001 from a fixed origin is close enough to
/// still for second-precision timestamps within a test).
fn fresh() -> (Store, DateTime<Utc>) {
    let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
    let store = Store::new(Arc::new(LabClock::starting_at(t0, 0.001)), 1);
    let ns = lookup("", "v1", "namespaces").unwrap();
    store
        .create(
            ns,
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d"}}),
            &WriteOptions::default(),
        )
        .unwrap();
    (store, t0)
}

fn create_pod(store: &Store, name: &str, node: Option<&str>, grace: Option<i64>) {
    let mut spec = json!({"containers": [{"name": "c", "image": "nginx"}]});
    if let Some(n) = node {
        spec["nodeName"] = json!(n);
    }
    if let Some(g) = grace {
        spec["terminationGracePeriodSeconds"] = json!(g);
    }
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec});
    store
        .create(pods(), "d", pod, &WriteOptions::default())
        .unwrap();
}

fn delete(store: &Store, name: &str, grace: Option<i64>) -> Deleted {
    let opts = DeleteOptions {
        grace_period_seconds: grace,
        ..Default::default()
    };
    store.delete(pods(), "d", name, &opts).unwrap()
}

fn meta(store: &Store, name: &str) -> (Option<String>, Option<i64>) {
    let v = store.get(pods(), "d", name).unwrap().value();
    (
        v.pointer("/metadata/deletionTimestamp")
            .and_then(Value::as_str)
            .map(String::from),
        v.pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64),
    )
}

#[test]
fn a_bound_pod_waits_with_its_termination_grace_period() {
    let (store, _) = fresh();
    create_pod(&store, "p", Some("n1"), Some(45));
    assert!(matches!(delete(&store, "p", None), Deleted::Pending(_)));
    // 12:00:00 + 45 s; the generation moves as the real server bumps it.
    assert_eq!(
        meta(&store, "p"),
        (Some("2026-01-01T12:00:45Z".into()), Some(45))
    );
    let v = store.get(pods(), "d", "p").unwrap().value();
    assert_eq!(v["metadata"]["generation"], 2);
}

#[test]
fn the_request_grace_wins_and_default_is_30() {
    let (store, _) = fresh();
    create_pod(&store, "a", Some("n1"), Some(45));
    delete(&store, "a", Some(5));
    assert_eq!(
        meta(&store, "a"),
        (Some("2026-01-01T12:00:05Z".into()), Some(5))
    );
    // No terminationGracePeriodSeconds in the stored object: 30 (defaults fill it anyway).
    let (store, _) = fresh();
    create_pod(&store, "b", Some("n1"), None);
    delete(&store, "b", None);
    assert_eq!(meta(&store, "b").1, Some(30));
}

#[test]
fn a_second_delete_may_only_shorten_counting_from_the_first_request() {
    let (store, _) = fresh();
    create_pod(&store, "p", Some("n1"), Some(30));
    delete(&store, "p", None);
    let rv = store.get(pods(), "d", "p").unwrap().rv;
    // Longer: nothing changes, still pending.
    assert!(matches!(delete(&store, "p", Some(60)), Deleted::Pending(_)));
    assert_eq!(store.get(pods(), "d", "p").unwrap().rv, rv);
    // Shorter: 12:00:30 - 30 + 10.
    assert!(matches!(delete(&store, "p", Some(10)), Deleted::Pending(_)));
    assert_eq!(
        meta(&store, "p"),
        (Some("2026-01-01T12:00:10Z".into()), Some(10))
    );
    // Zero (what the kubelet sends when the containers stopped): gone.
    assert!(matches!(delete(&store, "p", Some(0)), Deleted::Gone(_)));
    assert!(store.get(pods(), "d", "p").is_none());
}

#[test]
fn grace_zero_unbound_and_terminal_pods_go_at_once() {
    let (store, _) = fresh();
    create_pod(&store, "forced", Some("n1"), None);
    assert!(matches!(
        delete(&store, "forced", Some(0)),
        Deleted::Gone(_)
    ));
    create_pod(&store, "unbound", None, Some(30));
    assert!(matches!(delete(&store, "unbound", None), Deleted::Gone(_)));
    create_pod(&store, "done", Some("n1"), Some(30));
    store
        .update_with(
            pods(),
            "d",
            "done",
            UpdateScope::Status,
            &WriteOptions::default(),
            |cur| {
                let mut v = cur.clone();
                v["status"]["phase"] = json!("Succeeded");
                Ok(v)
            },
        )
        .unwrap();
    assert!(matches!(delete(&store, "done", None), Deleted::Gone(_)));
    assert!(store.list(pods(), Some("d")).1.is_empty());
}

#[test]
fn a_terminating_pod_survives_status_writes_and_keeps_finalizers_rules() {
    let (store, _) = fresh();
    create_pod(&store, "p", Some("n1"), Some(30));
    delete(&store, "p", None);
    // The kubelet writes status while the containers stop: the pod must stay.
    let (_, changed) = store
        .update_with(
            pods(),
            "d",
            "p",
            UpdateScope::Status,
            &WriteOptions::default(),
            |cur| {
                let mut v = cur.clone();
                v["status"]["phase"] = json!("Running");
                Ok(v)
            },
        )
        .unwrap();
    assert!(changed);
    assert!(store.get(pods(), "d", "p").is_some());
    // A finalizer keeps a pod even after grace 0; removing it then deletes the pod.
    create_pod(&store, "f", Some("n1"), Some(30));
    store
        .update_with(
            pods(),
            "d",
            "f",
            UpdateScope::Main,
            &WriteOptions::default(),
            |cur| {
                let mut v = cur.clone();
                v["metadata"]["finalizers"] = json!(["example.com/hold"]);
                Ok(v)
            },
        )
        .unwrap();
    delete(&store, "f", None);
    assert!(matches!(delete(&store, "f", Some(0)), Deleted::Pending(_)));
    assert_eq!(meta(&store, "f").1, Some(0));
    store
        .update_with(
            pods(),
            "d",
            "f",
            UpdateScope::Main,
            &WriteOptions::default(),
            |cur| {
                let mut v = cur.clone();
                v["metadata"]["finalizers"] = json!([]);
                Ok(v)
            },
        )
        .unwrap();
    assert!(store.get(pods(), "d", "f").is_none());
}

#[test]
fn a_negative_grace_means_one_second() {
    let (store, _) = fresh();
    create_pod(&store, "p", Some("n1"), None);
    delete(&store, "p", Some(-5));
    assert_eq!(
        meta(&store, "p"),
        (Some("2026-01-01T12:00:01Z".into()), Some(1))
    );
}

#[test]
fn history_is_bounded_by_bytes_not_only_by_count() {
    // After a burst of big objects, watching from before it is 410 Expired (the client
    // relists) instead of the history holding every version of every object in memory.
    let (store, _) = fresh();
    let cms = lookup("", "v1", "configmaps").unwrap();
    let first = store.resource_version();
    let big = "x".repeat(400 << 10);
    for i in 0..80 {
        store
            .create(
                cms,
                "d",
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": format!("c{i}")}, "data": {"k": big}}),
                &WriteOptions::default(),
            )
            .unwrap();
    }
    assert!(matches!(
        store.watch(cms, Some("d"), Some(first)),
        Err(StoreError::Expired { .. })
    ));
    // A recent version is still served from history.
    let recent = store.resource_version() - 2;
    assert!(store.watch(cms, Some("d"), Some(recent)).is_ok());
}
