//! Creating a dependent under an owner that is being deleted, over HTTPS.
//!
//! What the real API server and collector do (kubernetes/kubernetes):
//! - The API server accepts the create. Its only admission about owner references,
//!   `OwnerReferencesPermissionEnforcement` (`plugin/pkg/admission/gc/gc_admission.go`),
//!   checks that the user may delete the object, and may delete (newer: update the
//!   finalizers of) each owner a reference sets `blockOwnerDeletion` on; it never looks at
//!   whether an owner is being deleted. (Only a terminating *namespace* refuses creates, in
//!   the NamespaceLifecycle admission.) The lab has one admin user, so it never refuses.
//! - The collector's graph builder (`pkg/controller/garbagecollector/graph_builder.go`,
//!   `processGraphChanges` → `insertNode` → `addDependentToOwners`) only records a new
//!   dependent of an owner it knows; it looks at the dependent at once only when an owner is
//!   missing from its graph (a "virtual" node: deleted, or another uid).
//! - When it next processes an owner in foreground deletion (`processDeletingDependentsItem`
//!   in `garbagecollector.go`, after another dependent went), it deletes the blocking
//!   dependents not yet being deleted (`attemptToDeleteItem`: its owners are all
//!   "waitingForDependentsDeletion", so it is deleted); a non-blocking one goes once the
//!   owner is gone, as a dangling dependent.

use serde_json::{Value, json};

use crate::support::{TestLab, exchange};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

async fn call(client: &kube::Client, method: &str, path: &str, body: Value) -> (u16, Value) {
    let content_type = if method == "PATCH" {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let req = http::Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", content_type)
        .body(body)
        .expect("request");
    exchange(client, req).await
}

fn config_map(name: &str, owner_uid: &str, block: bool, finalizers: &[&str]) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "finalizers": finalizers,
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner",
                "uid": owner_uid, "blockOwnerDeletion": block}]
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependent_created_under_an_owner_being_deleted_is_accepted_then_collected() {
    let lab = TestLab::start().await;
    let c = lab.client().await;
    let owner = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}});
    let (code, owner) = call(&c, "POST", CMS, owner).await;
    assert_eq!(code, 201, "{owner}");
    let uid = owner["metadata"]["uid"].as_str().unwrap().to_string();
    let held = config_map("held", &uid, true, &["example.com/hold"]);
    assert_eq!(call(&c, "POST", CMS, held).await.0, 201);

    let foreground = json!({"kind": "DeleteOptions", "apiVersion": "v1",
        "propagationPolicy": "Foreground"});
    let owner_path = format!("{CMS}/owner");
    let (code, _) = call(&c, "DELETE", &owner_path, foreground).await;
    assert!(code == 200 || code == 202, "{code}");
    let (_, owner) = call(&c, "GET", &owner_path, Value::Null).await;
    assert_eq!(
        owner["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );

    // Both creates are accepted, and both dependents stay for now.
    for (name, block) in [("late-blocking", true), ("late-plain", false)] {
        let (code, body) = call(&c, "POST", CMS, config_map(name, &uid, block, &[])).await;
        assert_eq!(code, 201, "{name}: {body}");
        let (code, got) = call(&c, "GET", &format!("{CMS}/{name}"), Value::Null).await;
        assert_eq!(code, 200, "{name}");
        assert!(got["metadata"]["deletionTimestamp"].is_null(), "{got}");
    }

    // The held dependent goes: the collector processes the owner, deletes the new blocking
    // dependent, the owner goes, and then the plain one as a dangling dependent.
    let unhold = json!({"metadata": {"finalizers": null}});
    let (code, body) = call(&c, "PATCH", &format!("{CMS}/held"), unhold).await;
    assert_eq!(code, 200, "{body}");
    for name in ["held", "late-blocking", "owner", "late-plain"] {
        let (code, _) = call(&c, "GET", &format!("{CMS}/{name}"), Value::Null).await;
        assert_eq!(code, 404, "{name} should be gone");
    }

    // Under an owner already gone: accepted too, and collected at once.
    let (code, _) = call(&c, "POST", CMS, config_map("orphan", &uid, false, &[])).await;
    assert_eq!(code, 201);
    let (code, _) = call(&c, "GET", &format!("{CMS}/orphan"), Value::Null).await;
    assert_eq!(code, 404);
    lab.lab.shutdown().await;
}
