//! `kdive triage` with nothing but read access, and less: a server that answers 403 for
//! Events, Nodes and Secrets (as a namespace-scoped Role would) still gets an answer, with
//! `confidence: reduced` and the gaps named. The lab has no RBAC yet, so a small server
//! stands in, answering lists with the objects below and a Status for what is forbidden.

use std::process::Output;

use axum::Router;
use axum::body::Body;
use axum::extract::OriginalUri;
use axum::response::Response;
use serde_json::{Value, json};

fn objects() -> Vec<(&'static str, Value)> {
    let meta = |name: &str| json!({"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "creationTimestamp": "2026-12-05T01:00:00Z"});
    vec![
        (
            "namespaces",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}),
        ),
        (
            "deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("web"),
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "web:1"}]}}},
            "status": {"replicas": 1, "readyReplicas": 1}}),
        ),
        (
            "pods",
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "web:1", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "web", "image": "web:1", "imageID": "", "ready": true, "restartCount": 0,
                    "state": {"running": {"startedAt": "2026-12-05T01:00:00Z"}}}]}}),
        ),
        (
            "services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("web"),
            "spec": {"selector": {"app": "wbe"}, "ports": [{"port": 80, "targetPort": "http"}]}}),
        ),
        (
            "services",
            json!({"apiVersion": "v1", "kind": "Service", "metadata": meta("api"),
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": "http"}]}}),
        ),
        (
            "networkpolicies",
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("default-deny"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        ),
    ]
}

const FORBIDDEN: &[&str] = &["events", "nodes", "secrets"];

async fn serve(OriginalUri(uri): OriginalUri) -> Response {
    let resource = uri.path().rsplit('/').next().unwrap_or("").to_string();
    if FORBIDDEN.contains(&resource.as_str()) {
        let status = json!({"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": 403, "reason": "Forbidden",
            "message": format!("{resource} is forbidden: User \"oncall\" cannot list resource \"{resource}\" in API group \"\" in the namespace \"shop\"")});
        return Response::builder()
            .status(403)
            .header("content-type", "application/json")
            .body(Body::from(status.to_string()))
            .unwrap();
    }
    let items: Vec<Value> = objects()
        .into_iter()
        .filter(|(r, _)| *r == resource)
        .map(|(_, v)| v)
        .collect();
    let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "10"}, "items": items});
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(list.to_string()))
        .unwrap()
}

async fn triage(kubeconfig: &std::path::Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kdive"))
        .arg("triage")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KDIVE_PROMETHEUS")
        .output()
        .await
        .expect("kdive runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_kinds_reduce_confidence_and_are_named_but_never_fail_the_command() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server =
        tokio::spawn(async move { axum::serve(listener, Router::new().fallback(serve)).await });
    let dir = tempfile::tempdir().unwrap();
    let kc = dir.path().join("kubeconfig");
    std::fs::write(
        &kc,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"{url}\"}}}}]\nusers: [{{name: u, user: {{token: t}}}}]\ncontexts: [{{name: x, context: {{cluster: c, user: u, namespace: shop}}}}]\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    // No -n: the context's namespace.
    let out = triage(&kc, &["-o", "json"]).await;
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "a critical finding: {v}");
    assert_eq!(
        v["target"],
        json!({"kind": "Namespace", "namespace": null, "name": "shop"})
    );
    assert_eq!(v["confidence"], "reduced");
    assert_eq!(
        v["gaps"],
        json!(["events forbidden", "nodes forbidden", "secrets forbidden"])
    );
    assert_eq!(v["findings"][0]["cause"], "selector-matches-nothing");
    // NetworkPolicies are read too: a default deny in front of Service api's pod.
    let denies = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "network-policy-denies")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(denies["object"]["name"], "default-deny");
    // The text form says so on its second line.
    let out = triage(&kc, &["svc/web"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().nth(1)
            == Some("confidence reduced: events forbidden; nodes forbidden; secrets forbidden"),
        "{text}"
    );
    server.abort();
}
