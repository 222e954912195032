//! Bad requests get a 4xx Status with a clear message; the lab never panics and keeps serving.

use crate::support as common;

use common::TestLab;
use http::Request;
use proptest::prelude::*;
use serde_json::Value;

async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    ct: Option<&str>,
    body: Vec<u8>,
) -> (u16, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(ct) = ct {
        req = req.header("Content-Type", ct);
    }
    common::exchange(client, req.body(body).unwrap()).await
}

#[track_caller]
fn assert_status(got: &(u16, Value), code: u16, reason: &str, message_part: &str) {
    let (c, v) = got;
    assert_eq!(*c, code, "{v}");
    assert_eq!(v["kind"], "Status", "{v}");
    assert_eq!(v["status"], "Failure", "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["reason"], reason, "{v}");
    let msg = v["message"].as_str().unwrap_or("");
    assert!(
        msg.contains(message_part),
        "message {msg:?} should contain {message_part:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_invalid_requests() {
    let lab = TestLab::start().await;
    let c = lab.client().await;
    let deploys = "/apis/apps/v1/namespaces/default/deployments";

    let r = send(
        &c,
        "POST",
        deploys,
        Some("application/json"),
        b"{\"apiVersion\": ".to_vec(),
    )
    .await;
    assert_status(&r, 400, "BadRequest", "json parse error");

    let r = send(
        &c,
        "POST",
        deploys,
        Some("application/yaml"),
        b"kind: [unclosed".to_vec(),
    )
    .await;
    assert_status(&r, 400, "BadRequest", "YAML");

    let r = send(
        &c,
        "POST",
        deploys,
        Some("application/vnd.kubernetes.protobuf"),
        b"k8s\0\x0a\xff\xff".to_vec(),
    )
    .await;
    assert_status(&r, 400, "BadRequest", "Deployment");

    let r = send(&c, "POST", deploys, Some("text/csv"), b"a,b".to_vec()).await;
    assert_status(&r, 415, "UnsupportedMediaType", "text/csv");

    let r = send(
        &c,
        "GET",
        "/api/v1/namespaces/default/widgets",
        None,
        vec![],
    )
    .await;
    assert_status(&r, 404, "NotFound", "could not find the requested resource");
    let r = send(&c, "GET", "/apis/apps/v2/deployments", None, vec![]).await;
    assert_status(&r, 404, "NotFound", "could not find the requested resource");

    let wrong_version = br#"{"apiVersion":"apps/v2","kind":"Deployment","metadata":{"name":"x"}}"#;
    let r = send(
        &c,
        "POST",
        deploys,
        Some("application/json"),
        wrong_version.to_vec(),
    )
    .await;
    assert_status(&r, 400, "BadRequest", "apps/v2");

    let wrong_kind = br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"}}"#;
    let r = send(
        &c,
        "POST",
        deploys,
        Some("application/json"),
        wrong_kind.to_vec(),
    )
    .await;
    assert_status(&r, 400, "BadRequest", "do not match");

    let bad_name = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}"#;
    let r = send(
        &c,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        bad_name.to_vec(),
    )
    .await;
    assert_status(
        &r,
        422,
        "Invalid",
        "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\"",
    );
    assert_eq!(r.1["details"]["causes"][0]["field"], "metadata.name");

    let no_name = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}"#;
    let r = send(
        &c,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        no_name.to_vec(),
    )
    .await;
    assert_status(&r, 422, "Invalid", "name or generateName is required");

    let cm = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}"#;
    let r = send(
        &c,
        "POST",
        "/api/v1/namespaces/nowhere/configmaps",
        Some("application/json"),
        cm.to_vec(),
    )
    .await;
    assert_status(&r, 404, "NotFound", "namespaces \"nowhere\" not found");

    let other_ns = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"kube-system"}}"#;
    let r = send(
        &c,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        Some("application/json"),
        other_ns.to_vec(),
    )
    .await;
    assert_status(&r, 400, "BadRequest", "does not match the namespace");

    let r = send(&c, "GET", "/api/v1/pods?limit=abc", None, vec![]).await;
    assert_status(&r, 400, "BadRequest", "limit");
    let r = send(
        &c,
        "GET",
        "/api/v1/pods?labelSelector=app%3Dweb&continue=%%%",
        None,
        vec![],
    )
    .await;
    assert_eq!(r.0, 400, "{}", r.1);

    let r = send(
        &c,
        "PATCH",
        "/api/v1/namespaces/default/configmaps/a",
        Some("application/json"),
        b"{}".to_vec(),
    )
    .await;
    assert_status(&r, 415, "UnsupportedMediaType", "application/json");

    // Still serving.
    let (code, v) = send(&c, "GET", "/version", None, vec![]).await;
    assert_eq!((code, v["minor"].as_str()), (200, Some("32")));
    lab.stop().await;
}

const PATHS: &[&str] = &[
    "/api/v1/namespaces/default/pods",
    "/api/v1/namespaces/default/configmaps",
    "/apis/apps/v1/namespaces/default/deployments",
    "/api/v1/namespaces",
    "/api/v1/namespaces/default/services",
];
const TYPES: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/json-patch+json",
    "application/apply-patch+yaml",
];

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        // JSON-ish bodies that get further into decoding.
        "[ -~]{0,120}".prop_map(|s| format!(
            "{{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{s}"
        )
        .into_bytes()),
        any::<Vec<(String, i64)>>().prop_map(|pairs| {
            let m: serde_json::Map<String, Value> = pairs
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect();
            serde_json::to_vec(
                &serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": m}),
            )
            .unwrap()
        }),
        proptest::collection::vec(any::<u8>(), 0..200).prop_map(|mut b| {
            let mut v = b"k8s\0".to_vec();
            v.append(&mut b);
            v
        }),
    ]
}

#[test]
fn arbitrary_bodies_never_break_the_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (lab, client) = rt.block_on(async {
        let lab = TestLab::start().await;
        let c = lab.client().await;
        // Something to PATCH and PUT against.
        let cm = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"target"},"data":{"a":"b"}}"#;
        send(&c, "POST", "/api/v1/namespaces/default/configmaps", Some("application/json"), cm.to_vec()).await;
        (lab, c)
    });
    let config = ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(path_i in 0..PATHS.len(), ct_i in 0..TYPES.len(), method_i in 0..3usize, body in body_strategy())| {
        let (method, path) = match method_i {
            0 => ("POST", PATHS[path_i].to_string()),
            1 => ("PATCH", "/api/v1/namespaces/default/configmaps/target".to_string()),
            _ => ("PUT", "/api/v1/namespaces/default/configmaps/target".to_string()),
        };
        let (code, v) = rt.block_on(send(&client, method, &path, Some(TYPES[ct_i]), body));
        prop_assert!(code < 500, "server error {code}: {v}");
        if code >= 400 {
            prop_assert_eq!(&v["kind"], "Status", "errors are Status objects: {}", v);
            prop_assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
    });
    rt.block_on(async {
        let (code, _) = send(&client, "GET", "/version", None, vec![]).await;
        assert_eq!(code, 200, "still serving after the fuzzing");
        lab.stop().await;
    });
}
