//! kube-rs against the lab over HTTPS: watcher + reflector, relist on 410, patches,
//! conflicts and deletes.

use crate::support as common;

use std::time::Duration;

use common::TestLab;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use kdive_lab::LabOptions;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher::{self, Event};
use serde_json::json;

fn pod(name: &str, app: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}
    }))
    .unwrap()
}

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [
                    {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                     "env": [{"name": "A", "value": "1"}]},
                    {"name": "side", "image": "busybox:1.36"}]}}
        }
    }))
    .unwrap()
}

/// (name, resourceVersion) pairs, sorted: what a reflector must agree with the server on.
fn keys<K: kube::Resource>(
    items: impl IntoIterator<Item = std::sync::Arc<K>>,
) -> Vec<(String, String)> {
    let mut v: Vec<_> = items
        .into_iter()
        .map(|o| {
            let m = o.meta();
            (
                m.name.clone().unwrap_or_default(),
                m.resource_version.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

async fn server_keys<K>(api: &Api<K>) -> Vec<(String, String)>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let list = api.list(&Default::default()).await.unwrap();
    keys(list.items.into_iter().map(std::sync::Arc::new))
}

async fn eventually<F: Fn() -> Fut, Fut: std::future::Future<Output = bool>>(what: &str, f: F) {
    for _ in 0..100 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn spawn_reflector<K>(api: Api<K>, config: watcher::Config) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher::watcher(api, config))
        .default_backoff()
        .touched_objects();
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while stream.next().await.is_some() {}
    });
    reader
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflectors_sync_and_follow_changes() {
    let lab = TestLab::start_with(LabOptions {
        seed: 1,
        bookmark_interval: Duration::from_millis(200),
        ..LabOptions::default()
    })
    .await;
    let client = lab.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let svcs: Api<Service> = Api::all(client.clone());
    for i in 0..3 {
        pods.create(&PostParams::default(), &pod(&format!("p{i}"), "web"))
            .await
            .unwrap();
    }
    let pod_store = spawn_reflector(pods.clone(), watcher::Config::default());
    let svc_store = spawn_reflector(svcs.clone(), watcher::Config::default());
    pod_store.wait_until_ready().await.unwrap();
    svc_store.wait_until_ready().await.unwrap();
    // The lab's scheduler and kubelet keep writing the new pods, so the store and a fresh
    // list agree once the watch has delivered what the list saw.
    eventually("the pod store matches a list", || async {
        keys(pod_store.state()) == server_keys(&pods).await
    })
    .await;
    assert_eq!(keys(svc_store.state()).len(), 1, "the kubernetes Service");

    // Follow creates, updates and deletes.
    pods.create(&PostParams::default(), &pod("p3", "web"))
        .await
        .unwrap();
    pods.patch(
        "p0",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
    )
    .await
    .unwrap();
    pods.delete("p1", &DeleteParams::default()).await.unwrap();
    let svc: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}
    }))
    .unwrap();
    Api::<Service>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &svc)
        .await
        .unwrap();
    eventually("pod reflector matches the server", || async {
        keys(pod_store.state()) == server_keys(&pods).await
    })
    .await;
    eventually("service reflector has the new Service", || async {
        keys(svc_store.state()) == server_keys(&svcs).await
    })
    .await;
    let names: Vec<String> = keys(pod_store.state()).into_iter().map(|k| k.0).collect();
    assert_eq!(names, ["p0", "p2", "p3"]);
    let p0 = pod_store
        .get(&reflector::ObjectRef::new("p0").within("default"))
        .unwrap();
    assert_eq!(p0.metadata.labels.as_ref().unwrap()["x"], "y");
    let web = svc_store
        .state()
        .into_iter()
        .find(|s| s.metadata.name.as_deref() == Some("web"))
        .unwrap();
    let ip = web.spec.as_ref().unwrap().cluster_ip.clone().unwrap();
    assert!(ip.starts_with("10.96."), "allocated ClusterIP {ip}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_resource_version_makes_the_watcher_relist() {
    let lab = TestLab::start().await;
    let client = lab.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    pods.create(&PostParams::default(), &pod("a", "x"))
        .await
        .unwrap();

    // Observe the raw watcher events to see the relist happen.
    let mut events = watcher::watcher(pods.clone(), watcher::Config::default()).boxed();
    let mut inits = 0;
    let mut saw_error = false;
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
        let next = tokio::time::timeout(Duration::from_secs(10), events.next()).await;
        match next.expect("watcher event in time") {
            Some(Ok(Event::Init)) => inits += 1,
            Some(Ok(Event::InitDone)) if inits == 1 => {
                // Synced: change the world, then expire every open watch.
                pods.create(&PostParams::default(), &pod("b", "x"))
                    .await
                    .unwrap();
                pods.delete("a", &DeleteParams::default()).await.unwrap();
                lab.lab.store.compact();
                pods.create(&PostParams::default(), &pod("c", "x"))
                    .await
                    .unwrap();
            }
            Some(Ok(Event::InitApply(p))) if inits == 2 => {
                seen.push(p.metadata.name.clone().unwrap());
            }
            Some(Ok(Event::InitDone)) if inits == 2 => break,
            Some(Err(_)) => saw_error = true,
            Some(Ok(_)) => {}
            None => panic!("watcher stream ended"),
        }
    }
    assert!(saw_error, "the 410 surfaced once as a watch error");
    assert_eq!(inits, 2, "the watcher relisted after 410 Expired");
    seen.sort();
    assert_eq!(seen, ["b", "c"], "the relist reflects the server's state");

    // And a reflector that lives through a compaction ends identical to the server.
    let store = spawn_reflector(pods.clone(), watcher::Config::default());
    store.wait_until_ready().await.unwrap();
    lab.lab.store.compact();
    pods.create(&PostParams::default(), &pod("d", "x"))
        .await
        .unwrap();
    pods.delete("b", &DeleteParams::default()).await.unwrap();
    eventually(
        "reflector identical to the server after a relist",
        || async { keys(store.state()) == server_keys(&pods).await },
    )
    .await;
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_list_gets_initial_events_end() {
    let lab = TestLab::start().await;
    let pods: Api<Pod> = Api::namespaced(lab.client().await, "default");
    pods.create(&PostParams::default(), &pod("s1", "x"))
        .await
        .unwrap();
    let store = spawn_reflector(pods.clone(), watcher::Config::default().streaming_lists());
    tokio::time::timeout(Duration::from_secs(10), store.wait_until_ready())
        .await
        .expect("a streaming-list watcher becomes ready (initial-events-end bookmark)")
        .unwrap();
    eventually("the streamed store matches a list", || async {
        keys(store.state()) == server_keys(&pods).await
    })
    .await;
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_four_patch_types() {
    let lab = TestLab::start().await;
    let deploys: Api<Deployment> = Api::namespaced(lab.client().await, "default");
    deploys
        .create(&PostParams::default(), &deployment("web", 2))
        .await
        .unwrap();

    let merged = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}, "metadata": {"labels": {"tier": "fe"}}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.spec.as_ref().unwrap().replicas, Some(4));
    assert_eq!(merged.metadata.labels.as_ref().unwrap()["tier"], "fe");
    assert_eq!(
        merged.metadata.generation,
        Some(2),
        "spec change bumps generation"
    );

    // Strategic merge: containers merge by name, so `side` survives and `web` keeps its env.
    let smp = deploys
        .patch("web", &PatchParams::default(), &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}})))
        .await
        .unwrap();
    let containers = &smp
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .as_ref()
        .unwrap()
        .containers;
    assert_eq!(
        containers.len(),
        2,
        "strategic merge keeps the other container"
    );
    assert_eq!(containers[0].image.as_deref(), Some("nginx:1.28"));
    assert_eq!(containers[0].env.as_ref().map(Vec::len), Some(1));

    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/spec/replicas", "value": 1},
        {"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}
    ]))
    .unwrap();
    let jp = deploys
        .patch("web", &PatchParams::default(), &Patch::Json::<()>(ops))
        .await
        .unwrap();
    assert_eq!(jp.spec.as_ref().unwrap().replicas, Some(1));
    assert_eq!(jp.metadata.annotations.as_ref().unwrap()["a"], "b");

    let applied = deploys
        .patch(
            "web",
            &PatchParams::apply("kdive-test").force(),
            &Patch::Apply(json!({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                "spec": {"replicas": 3}
            })),
        )
        .await
        .unwrap();
    assert_eq!(applied.spec.as_ref().unwrap().replicas, Some(3));
    assert_eq!(
        applied.metadata.labels.as_ref().unwrap()["tier"],
        "fe",
        "apply keeps fields it does not name"
    );

    // Apply creates what is missing.
    let created = deploys
        .patch(
            "api",
            &PatchParams::apply("kdive-test"),
            &Patch::Apply(serde_json::to_value(deployment("api", 1)).unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));

    // Bad JSON patch: a clear 4xx, and the object is unchanged.
    let bad: json_patch::Patch =
        serde_json::from_value(json!([{"op": "remove", "path": "/spec/nope"}])).unwrap();
    let err = deploys
        .patch("web", &PatchParams::default(), &Patch::Json::<()>(bad))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => assert!(s.code >= 400 && s.code < 500, "{s:?}"),
        other => panic!("unexpected error {other:?}"),
    }
    assert_eq!(
        deploys.get("web").await.unwrap().spec.unwrap().replicas,
        Some(3)
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_conflicts_and_delete_events() {
    let lab = TestLab::start().await;
    let client = lab.client().await;
    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let first = deploys
        .create(&PostParams::default(), &deployment("web", 1))
        .await
        .unwrap();

    let err = deploys
        .create(&PostParams::default(), &deployment("web", 1))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!(s.code, 409);
            assert_eq!(s.reason, "AlreadyExists");
            assert_eq!(s.message, "deployments.apps \"web\" already exists");
        }
        other => panic!("unexpected {other:?}"),
    }

    // A stale resourceVersion on replace is a 409 Conflict.
    let mut stale = first.clone();
    deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .unwrap();
    stale.spec.as_mut().unwrap().replicas = Some(5);
    match deploys
        .replace("web", &PostParams::default(), &stale)
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
            assert!(
                s.message.contains("the object has been modified"),
                "{}",
                s.message
            );
        }
        other => panic!("unexpected {other:?}"),
    }

    // Delete → DELETED on a watch, with a resourceVersion.
    let mut stream = watcher::watcher(
        deploys.clone(),
        watcher::Config::default().fields("metadata.name=web"),
    )
    .boxed();
    loop {
        if let Some(Ok(Event::InitDone)) = stream.next().await {
            break;
        }
    }
    deploys
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    let deleted = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(Ok(Event::Delete(d))) = stream.next().await {
                return d;
            }
        }
    })
    .await
    .expect("DELETED within 10s");
    assert_eq!(deleted.metadata.name.as_deref(), Some("web"));
    assert!(deleted.metadata.resource_version.is_some());
    assert!(deploys.get_opt("web").await.unwrap().is_none());
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagination_keeps_the_first_page_resource_version() {
    let lab = TestLab::start().await;
    let pods: Api<Pod> = Api::namespaced(lab.client().await, "default");
    for i in 0..5 {
        pods.create(&PostParams::default(), &pod(&format!("p{i}"), "x"))
            .await
            .unwrap();
    }
    let first = pods
        .list(&kube::api::ListParams::default().limit(2))
        .await
        .unwrap();
    let rv = first.metadata.resource_version.clone().unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().expect("a continue token");
    // A write between pages does not change the snapshot's resourceVersion.
    pods.create(&PostParams::default(), &pod("zz", "x"))
        .await
        .unwrap();
    let mut names: Vec<String> = first
        .items
        .iter()
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    let mut token = Some(token);
    while let Some(t) = token {
        let page = pods
            .list(&kube::api::ListParams::default().limit(2).continue_token(&t))
            .await
            .unwrap();
        assert_eq!(page.metadata.resource_version.as_deref(), Some(rv.as_str()));
        names.extend(page.items.iter().map(|p| p.metadata.name.clone().unwrap()));
        token = page.metadata.continue_.clone().filter(|t| !t.is_empty());
    }
    assert_eq!(&names[..5], ["p0", "p1", "p2", "p3", "p4"]);
    lab.stop().await;
}
