//! Cells for apps/v1 workloads, storage classes and RBAC bindings.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{TableOptions, list_table, object_table};

fn now() -> DateTime<Utc> {
    "2024-01-01T12:00:00Z".parse().unwrap()
}

/// Created 2 days and 3 hours before `now`: AGE "2d3h".
fn obj(kind: &str, name: &str, rest: Value) -> Value {
    let mut v = json!({"apiVersion": "apps/v1", "kind": kind,
        "metadata": {"name": name, "namespace": "default", "resourceVersion": "9",
                     "creationTimestamp": "2023-12-30T09:00:00Z"}});
    for (k, val) in rest.as_object().unwrap() {
        v[k] = val.clone();
    }
    v
}

fn cells(resource: &str, v: &Value) -> Value {
    object_table(resource, v, now(), &TableOptions::default())["rows"][0]["cells"].clone()
}

fn columns(resource: &str) -> Vec<(String, String, i64)> {
    let t = list_table(resource, &[], "1", None, now(), &TableOptions::default());
    t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_string();
            (s("name"), s("type"), c["priority"].as_i64().unwrap())
        })
        .collect()
}

fn names(resource: &str) -> Vec<String> {
    columns(resource).into_iter().map(|c| c.0).collect()
}

fn template() -> Value {
    json!({"spec": {"containers": [{"name": "app", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}})
}

#[test]
fn deployments() {
    assert_eq!(
        names("deployments"),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ]
    );
    assert_eq!(columns("deployments")[5].2, 1);
    let d = obj(
        "Deployment",
        "web",
        json!({
        "spec": {"replicas": 3, "template": template(),
                 "selector": {"matchLabels": {"app": "web"},
                              "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]},
                                                   {"key": "canary", "operator": "DoesNotExist"}]}},
        "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}),
    );
    // Requirements sorted by key: app, canary, env; `in` values sorted.
    assert_eq!(
        cells("deployments", &d),
        json!([
            "web",
            "2/3",
            3,
            2,
            "2d3h",
            "app,log",
            "nginx:1.27,busybox",
            "app=web,!canary,env in (dev,prod)"
        ])
    );
    // Fresh deployment: no status, replicas defaulted to 1, no selector → "".
    let fresh = obj("Deployment", "new", json!({"spec": {}}));
    assert_eq!(
        cells("deployments", &fresh),
        json!(["new", "0/1", 0, 0, "2d3h", "", "", ""])
    );
    let bad = obj(
        "Deployment",
        "bad",
        json!({"spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}}),
    );
    assert_eq!(cells("deployments", &bad)[7], "<invalid>");
    // Keys and values are validated like the server's selector conversion.
    let bad_key = obj(
        "Deployment",
        "k",
        json!({"spec": {"selector": {"matchLabels": {"bad key": "x"}}}}),
    );
    assert_eq!(cells("deployments", &bad_key)[7], "<invalid>");
}

#[test]
fn replica_sets() {
    assert_eq!(
        columns("replicasets")[1..4],
        [
            ("Desired".into(), "integer".into(), 0),
            ("Current".into(), "integer".into(), 0),
            ("Ready".into(), "integer".into(), 0)
        ]
    );
    let rs = obj(
        "ReplicaSet",
        "web-5d9",
        json!({
        "spec": {"replicas": 2, "template": template(),
                 "selector": {"matchLabels": {"pod-template-hash": "5d9", "app": "web"}}},
        "status": {"replicas": 2, "readyReplicas": 1}}),
    );
    assert_eq!(
        cells("replicasets", &rs),
        json!([
            "web-5d9",
            2,
            2,
            1,
            "2d3h",
            "app,log",
            "nginx:1.27,busybox",
            "app=web,pod-template-hash=5d9"
        ])
    );
    let scaled = obj(
        "ReplicaSet",
        "old",
        json!({"spec": {"replicas": 0, "selector": {}, "template": {}}}),
    );
    assert_eq!(
        cells("replicasets", &scaled),
        json!(["old", 0, 0, 0, "2d3h", "", "", "<none>"])
    );
    let bad = obj(
        "ReplicaSet",
        "bad",
        json!({"spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}}),
    );
    assert_eq!(cells("replicasets", &bad)[7], "<error>");
}

#[test]
fn stateful_sets() {
    assert_eq!(
        names("statefulsets"),
        ["Name", "Ready", "Age", "Containers", "Images"]
    );
    let sts = obj(
        "StatefulSet",
        "db",
        json!({"spec": {"replicas": 3, "template": template()},
        "status": {"readyReplicas": 3}}),
    );
    assert_eq!(
        cells("statefulsets", &sts),
        json!(["db", "3/3", "2d3h", "app,log", "nginx:1.27,busybox"])
    );
}

#[test]
fn storage_classes() {
    assert_eq!(
        names("storageclasses"),
        [
            "Name",
            "Provisioner",
            "ReclaimPolicy",
            "VolumeBindingMode",
            "AllowVolumeExpansion",
            "Age"
        ]
    );
    let mut sc = obj(
        "StorageClass",
        "standard",
        json!({"provisioner": "rancher.io/local-path",
        "reclaimPolicy": "Retain", "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true}),
    );
    sc["metadata"]["annotations"] = json!({"storageclass.kubernetes.io/is-default-class": "true"});
    assert_eq!(
        cells("storageclasses", &sc),
        json!([
            "standard (default)",
            "rancher.io/local-path",
            "Retain",
            "WaitForFirstConsumer",
            true,
            "2d3h"
        ])
    );
    // Defaults: Delete, Immediate, false; the beta annotation also marks the default.
    let mut plain = obj("StorageClass", "slow", json!({"provisioner": "x"}));
    assert_eq!(
        cells("storageclasses", &plain),
        json!(["slow", "x", "Delete", "Immediate", false, "2d3h"])
    );
    plain["metadata"]["annotations"] =
        json!({"storageclass.beta.kubernetes.io/is-default-class": "true"});
    assert_eq!(cells("storageclasses", &plain)[0], "slow (default)");
}

#[test]
fn role_bindings_and_cluster_role_bindings() {
    assert_eq!(
        names("rolebindings"),
        ["Name", "Role", "Age", "Users", "Groups", "ServiceAccounts"]
    );
    assert_eq!(
        columns("rolebindings")[3..]
            .iter()
            .map(|c| c.2)
            .collect::<Vec<_>>(),
        [1, 1, 1]
    );
    let rb = obj(
        "RoleBinding",
        "read",
        json!({"roleRef": {"kind": "Role", "name": "reader"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
                     {"kind": "Group", "name": "devs"},
                     {"kind": "ServiceAccount", "name": "ci", "namespace": "tools"}]}),
    );
    assert_eq!(
        cells("rolebindings", &rb),
        json!([
            "read",
            "Role/reader",
            "2d3h",
            "alice, bob",
            "devs",
            "tools/ci"
        ])
    );
    let t = list_table(
        "clusterrolebindings",
        &[],
        "1",
        None,
        now(),
        &TableOptions::default(),
    );
    assert_eq!(
        t["columnDefinitions"][3]["description"],
        "Users in the clusterRoleBinding"
    );
    let crb = obj(
        "ClusterRoleBinding",
        "admin",
        json!({"roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}}),
    );
    assert_eq!(
        cells("clusterrolebindings", &crb),
        json!(["admin", "ClusterRole/cluster-admin", "2d3h", "", "", ""])
    );
}
