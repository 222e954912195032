//! Metadata-only reads (`Accept: ...;as=PartialObjectMetadata[List];g=meta.k8s.io;v=v1`), as
//! kube-rs's metadata watches and client-go's metadata informers send them: the answer
//! carries each object's metadata and nothing else, so a metadata watch of Secrets receives
//! no values. The shapes and the 406 wording follow the real server
//! (`staging/src/k8s.io/apiserver/pkg/endpoints/handlers/response.go`,
//! `asPartialObjectMetadata` and `asPartialObjectMetadataList`).

use crate::support as common;

use common::TestLab;
use futures::{StreamExt, TryStreamExt};
use http::Request;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};

const META: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
const META_LIST: &str = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

async fn get(client: &kube::Client, path: &str, accept: &str) -> (u16, Value) {
    let req = Request::get(path)
        .header("Accept", accept)
        .body(Vec::new())
        .unwrap();
    common::exchange(client, req).await
}

async fn secret(lab: &TestLab, name: &str) -> Api<Secret> {
    let secrets: Api<Secret> = Api::namespaced(lab.client().await, "default");
    let s: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "labels": {"app": "db"}},
        "stringData": {"password": "hunter2"}
    }))
    .unwrap();
    secrets.create(&PostParams::default(), &s).await.unwrap();
    secrets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_get_carry_metadata_only() {
    let lab = TestLab::start().await;
    secret(&lab, "db").await;
    let c = lab.client().await;
    let (code, list) = get(&c, "/api/v1/namespaces/default/secrets?limit=10", META_LIST).await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    assert!(list["metadata"]["resourceVersion"].is_string(), "{list}");
    let items = list["items"].as_array().unwrap();
    let db = items
        .iter()
        .find(|i| i["metadata"]["name"] == "db")
        .expect("db listed");
    assert_eq!(db["kind"], "PartialObjectMetadata");
    assert_eq!(db["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(db["metadata"]["labels"]["app"], "db");
    assert!(!list.to_string().contains("hunter2") && !list.to_string().contains("aHVudGVyMg"));
    assert!(db.get("data").is_none() && db.get("type").is_none());

    let (code, one) = get(&c, "/api/v1/namespaces/default/secrets/db", META).await;
    assert_eq!(code, 200, "{one}");
    assert_eq!(one["kind"], "PartialObjectMetadata");
    assert!(one.get("data").is_none(), "{one}");

    // A list representation for one object, and the other way round: 406 NotAcceptable.
    let (code, st) = get(&c, "/api/v1/namespaces/default/secrets/db", META_LIST).await;
    assert_eq!(
        (code, st["reason"].as_str()),
        (406, Some("NotAcceptable")),
        "{st}"
    );
    assert!(st["message"].as_str().unwrap().contains(
        "you requested PartialObjectMetadataList, but the requested object is not a list"
    ));
    let (code, st) = get(&c, "/api/v1/namespaces/default/secrets", META).await;
    assert_eq!(code, 406, "{st}");
    assert!(
        st["message"]
            .as_str()
            .unwrap()
            .contains("you requested PartialObjectMetadata, but the requested object is a list")
    );

    // kube-rs's own metadata list agrees.
    let secrets: Api<Secret> = Api::namespaced(c, "default");
    let meta = secrets.list_metadata(&ListParams::default()).await.unwrap();
    assert!(
        meta.items
            .iter()
            .any(|m| m.metadata.name.as_deref() == Some("db"))
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metadata_watch_never_sees_values() {
    let lab = TestLab::start().await;
    let secrets = secret(&lab, "first").await;
    let c = lab.client().await;
    // The raw watch stream, as kube-rs's watch_metadata asks for it.
    let req = Request::get(
        "/api/v1/namespaces/default/secrets?watch=true&allowWatchBookmarks=true&timeoutSeconds=2",
    )
    .header("Accept", META)
    .body(Vec::new())
    .unwrap();
    let text = c.request_text(req).await.expect("watch answers");
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON event per line"))
        .collect();
    assert!(!events.is_empty());
    for e in &events {
        assert_eq!(e["object"]["kind"], "PartialObjectMetadata", "{e}");
        assert_eq!(e["object"]["apiVersion"], "meta.k8s.io/v1", "{e}");
    }
    assert!(
        !text.contains("hunter2") && !text.contains("aHVudGVyMg"),
        "{text}"
    );

    // kube-rs's typed metadata watch sees later changes, also without values.
    let mut stream = secrets
        .watch_metadata(&WatchParams::default().timeout(5), "0")
        .await
        .unwrap()
        .boxed();
    secret(&lab, "second").await;
    let mut names = Vec::new();
    while let Some(ev) = stream.try_next().await.unwrap() {
        if let WatchEvent::Added(m) = ev {
            names.push(m.metadata.name.unwrap_or_default());
            if names.iter().any(|n| n == "second") {
                break;
            }
        }
    }
    assert!(names.contains(&"second".to_string()), "{names:?}");
    lab.stop().await;
}
