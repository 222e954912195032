use serde_json::{Value, json};

use super::super::*;
use crate::resources::lookup;

fn store() -> Store {
    let s = Store::new(Arc::new(LabClock::new(1.0)), 3);
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "d"}});
    s.create(
        res("", "v1", "namespaces"),
        "",
        ns,
        &WriteOptions::default(),
    )
    .unwrap();
    s
}

fn res(group: &str, version: &str, plural: &str) -> ResourceId {
    lookup(group, version, plural).unwrap()
}

fn deployments() -> ResourceId {
    res("apps", "v1", "deployments")
}
fn replica_sets() -> ResourceId {
    res("apps", "v1", "replicasets")
}
fn pods() -> ResourceId {
    res("", "v1", "pods")
}
fn config_maps() -> ResourceId {
    res("", "v1", "configmaps")
}

/// Creates `kind/name` owned by `owners` (api version, kind, name, uid), returns its uid.
fn make(
    s: &Store,
    r: ResourceId,
    name: &str,
    owners: &[(&str, &str, &str, &str)],
    fins: &[&str],
) -> String {
    let info = r.info();
    let refs: Vec<Value> = owners
        .iter()
        .map(|(av, k, n, u)| json!({"apiVersion": av, "kind": k, "name": n, "uid": u, "blockOwnerDeletion": true}))
        .collect();
    let pod_spec = json!({"containers": [{"name": "c", "image": "busybox"}]});
    // Valid objects of each kind: the store validates creates.
    let spec = match info.kind {
        "Pod" => pod_spec,
        _ => json!({
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec}
        }),
    };
    let obj = json!({
        "apiVersion": info.api_version(), "kind": info.kind,
        "metadata": {"name": name, "ownerReferences": refs, "finalizers": fins},
        "spec": spec
    });
    s.create(r, "d", obj, &WriteOptions::default())
        .unwrap()
        .uid
        .clone()
}

fn get(s: &Store, r: ResourceId, name: &str) -> Option<Value> {
    s.get(r, "d", name).map(|o| o.value())
}

fn delete(s: &Store, r: ResourceId, name: &str, propagation: Propagation) -> Deleted {
    let opts = DeleteOptions {
        propagation,
        ..Default::default()
    };
    s.delete(r, "d", name, &opts).unwrap()
}

#[test]
fn foreground_waits_down_the_chain_and_unwinds_when_the_last_blocker_goes() {
    let s = store();
    let d = make(&s, deployments(), "web", &[], &[]);
    let rs = make(
        &s,
        replica_sets(),
        "web-1",
        &[("apps/v1", "Deployment", "web", &d)],
        &[],
    );
    make(
        &s,
        pods(),
        "web-1-a",
        &[("apps/v1", "ReplicaSet", "web-1", &rs)],
        &["example.com/hold"],
    );
    make(
        &s,
        pods(),
        "web-1-b",
        &[("apps/v1", "ReplicaSet", "web-1", &rs)],
        &[],
    );

    assert!(matches!(
        delete(&s, deployments(), "web", Propagation::Foreground),
        Deleted::Pending(_)
    ));
    let owner = get(&s, deployments(), "web").unwrap();
    assert_eq!(
        owner["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    // The ReplicaSet has a dependent, so it is deleted in the foreground too.
    let middle = get(&s, replica_sets(), "web-1").unwrap();
    assert_eq!(
        middle["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    assert!(middle["metadata"]["deletionTimestamp"].is_string());
    assert!(get(&s, pods(), "web-1-b").is_none());
    let held = get(&s, pods(), "web-1-a").unwrap();
    assert!(held["metadata"]["deletionTimestamp"].is_string());

    // The held pod's finalizer goes: pod, ReplicaSet and Deployment all go.
    s.update_with(
        pods(),
        "d",
        "web-1-a",
        UpdateScope::Internal,
        &WriteOptions::default(),
        |v| {
            let mut v = v.clone();
            v["metadata"]["finalizers"] = json!([]);
            Ok(v)
        },
    )
    .unwrap();
    assert!(get(&s, pods(), "web-1-a").is_none());
    assert!(get(&s, replica_sets(), "web-1").is_none());
    assert!(get(&s, deployments(), "web").is_none());
}

#[test]
fn foreground_without_dependents_deletes_at_once() {
    let s = store();
    make(&s, deployments(), "web", &[], &[]);
    assert!(matches!(
        delete(&s, deployments(), "web", Propagation::Foreground),
        Deleted::Gone(_)
    ));
}

#[test]
fn a_dependent_with_another_live_owner_only_loses_the_reference() {
    let s = store();
    let a = make(&s, deployments(), "a", &[], &[]);
    let b = make(&s, deployments(), "b", &[], &[]);
    make(
        &s,
        config_maps(),
        "shared",
        &[
            ("apps/v1", "Deployment", "a", &a),
            ("apps/v1", "Deployment", "b", &b),
        ],
        &[],
    );
    // An owner of a kind the lab does not serve cannot be checked, so it keeps its dependent.
    make(
        &s,
        config_maps(),
        "job-owned",
        &[
            ("apps/v1", "Deployment", "a", &a),
            ("batch/v1", "Job", "j", "uid-j"),
        ],
        &[],
    );
    make(
        &s,
        config_maps(),
        "only-a",
        &[("apps/v1", "Deployment", "a", &a)],
        &[],
    );
    assert!(matches!(
        delete(&s, deployments(), "a", Propagation::Background),
        Deleted::Gone(_)
    ));
    let shared = get(&s, config_maps(), "shared").unwrap();
    let refs = shared["metadata"]["ownerReferences"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0]["name"], "b");
    assert_eq!(
        get(&s, config_maps(), "job-owned").unwrap()["metadata"]["ownerReferences"][0]["kind"],
        "Job"
    );
    assert!(get(&s, config_maps(), "only-a").is_none());
}

#[test]
fn orphan_leaves_dependents_without_the_reference() {
    let s = store();
    let a = make(&s, deployments(), "a", &[], &[]);
    make(
        &s,
        config_maps(),
        "kept",
        &[("apps/v1", "Deployment", "a", &a)],
        &[],
    );
    delete(&s, deployments(), "a", Propagation::Orphan);
    let kept = get(&s, config_maps(), "kept").unwrap();
    assert!(kept["metadata"].get("ownerReferences").is_none());
}

/// The leak a person met: a controller that read its owner before the owner was deleted
/// creates a dependent after the collector ran. The real collector finds it through its
/// graph of every object (`attemptToDeleteItem`); so does the lab, at once.
#[test]
fn a_dependent_created_after_its_owner_went_is_collected() {
    let s = store();
    let rs = make(&s, replica_sets(), "web-1", &[], &[]);
    delete(&s, replica_sets(), "web-1", Propagation::Background);
    make(
        &s,
        pods(),
        "web-1-late",
        &[("apps/v1", "ReplicaSet", "web-1", &rs)],
        &[],
    );
    assert!(get(&s, pods(), "web-1-late").is_none());

    // Another object of the same name is not the owner: the uid decides.
    make(&s, replica_sets(), "web-1", &[], &[]);
    make(
        &s,
        pods(),
        "web-1-stale",
        &[("apps/v1", "ReplicaSet", "web-1", &rs)],
        &[],
    );
    assert!(get(&s, pods(), "web-1-stale").is_none());
}

#[test]
fn a_new_dependent_of_a_live_owner_stays_and_drops_only_a_dangling_reference() {
    let s = store();
    let live = make(&s, replica_sets(), "live", &[], &[]);
    make(
        &s,
        pods(),
        "kept",
        &[
            ("apps/v1", "ReplicaSet", "live", &live),
            ("apps/v1", "ReplicaSet", "gone", "no-such-uid"),
        ],
        &[],
    );
    let pod = get(&s, pods(), "kept").expect("a live owner keeps it");
    let refs = pod["metadata"]["ownerReferences"].as_array().unwrap();
    assert_eq!(refs.len(), 1, "{refs:?}");
    assert_eq!(refs[0]["uid"], live.as_str());
}

#[test]
fn owners_of_kinds_the_lab_does_not_serve_keep_their_dependents() {
    let s = store();
    make(
        &s,
        pods(),
        "job-pod",
        &[("batch/v1", "Job", "nightly", "some-uid")],
        &[],
    );
    assert!(get(&s, pods(), "job-pod").is_some());
}

#[test]
fn an_update_that_points_at_a_gone_owner_collects_the_object() {
    let s = store();
    let rs = make(&s, replica_sets(), "old", &[], &[]);
    delete(&s, replica_sets(), "old", Propagation::Background);
    make(&s, config_maps(), "cm", &[], &[]);
    s.update_with(
        config_maps(),
        "d",
        "cm",
        UpdateScope::Main,
        &WriteOptions::default(),
        |v| {
            let mut v = v.clone();
            v["metadata"]["ownerReferences"] =
                json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "old", "uid": rs}]);
            Ok(v)
        },
    )
    .unwrap();
    assert!(get(&s, config_maps(), "cm").is_none());
}

fn set_finalizers(s: &Store, r: ResourceId, name: &str, fins: Value) {
    s.update_with(
        r,
        "d",
        name,
        UpdateScope::Internal,
        &WriteOptions::default(),
        |v| {
            let mut v = v.clone();
            v["metadata"]["finalizers"] = fins;
            Ok(v)
        },
    )
    .unwrap();
}

/// A dependent created under an owner in foreground deletion is accepted and recorded; the
/// collector deletes it when it next processes the owner (here: when the held dependent
/// goes), as `processDeletingDependentsItem` does. The HTTPS test cites the sources.
#[test]
fn a_dependent_created_under_a_waiting_owner_goes_when_the_owner_is_processed() {
    let s = store();
    let rs = make(&s, replica_sets(), "web-1", &[], &[]);
    let owner = [("apps/v1", "ReplicaSet", "web-1", rs.as_str())];
    make(&s, pods(), "held", &owner, &["example.com/hold"]);
    delete(&s, replica_sets(), "web-1", Propagation::Foreground);
    make(&s, pods(), "late", &owner, &[]);
    let late = get(&s, pods(), "late").expect("the create is accepted and kept");
    assert!(late["metadata"]["deletionTimestamp"].is_null());

    set_finalizers(&s, pods(), "held", json!([]));
    assert!(get(&s, pods(), "held").is_none());
    assert!(get(&s, pods(), "late").is_none());
    assert!(get(&s, replica_sets(), "web-1").is_none());
}

/// Removing the last blocking reference (`addUnblockedOwnersToDeleteQueue`) lets the owner
/// waiting in the foreground go.
#[test]
fn dropping_the_last_blocking_reference_releases_the_waiting_owner() {
    let s = store();
    let rs = make(&s, replica_sets(), "web-1", &[], &[]);
    let owner = [("apps/v1", "ReplicaSet", "web-1", rs.as_str())];
    make(&s, pods(), "held", &owner, &["example.com/hold"]);
    delete(&s, replica_sets(), "web-1", Propagation::Foreground);
    assert!(get(&s, replica_sets(), "web-1").is_some());
    s.update_with(
        pods(),
        "d",
        "held",
        UpdateScope::Internal,
        &WriteOptions::default(),
        |v| {
            let mut v = v.clone();
            v["metadata"]["ownerReferences"][0]["blockOwnerDeletion"] = json!(false);
            Ok(v)
        },
    )
    .unwrap();
    assert!(get(&s, replica_sets(), "web-1").is_none());
    // The pod, no longer blocking, was being deleted and is still held by its finalizer.
    assert!(get(&s, pods(), "held").is_some());
}
