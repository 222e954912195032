//! The lab never starves its own API server: controllers and kubelets work in bounded
//! batches while thousands of pods are created, and a pod quota (`LabOptions.max_pods`)
//! refuses creates beyond it in the words of the ResourceQuota admission plugin.

use std::time::{Duration, Instant};

use crate::support::{TestLab, heavy_permit};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kdive_lab::LabOptions;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let i = (samples.len() * 99 / 100).min(samples.len().saturating_sub(1));
    samples.get(i).copied().unwrap_or(Duration::MAX)
}

/// Before the loops yielded, `/version` took 3-5 s on two cores while the ReplicaSet and
/// scheduler worked through a scale to 5,000; the bound is generous for a loaded CI machine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_stays_fast_while_a_deployment_scales_to_thousands() {
    let _heavy = heavy_permit();
    let lab = TestLab::demo(7).await;
    let client = lab.client().await;
    client.apiserver_version().await.expect("version");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "demo");
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4000}})),
        )
        .await
        .expect("scaled");

    let mut latencies = Vec::new();
    let mut fresh = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let t = Instant::now();
        tokio::time::timeout(Duration::from_secs(10), client.apiserver_version())
            .await
            .expect("/version answered within 10 s")
            .expect("version");
        latencies.push(t.elapsed());
        // Every tenth call on a new connection: the TLS handshake must get CPU too.
        if latencies.len() % 10 == 0 {
            let t = Instant::now();
            let new_client: Client = lab.client().await;
            tokio::time::timeout(Duration::from_secs(10), new_client.apiserver_version())
                .await
                .expect("a new connection answered within 10 s")
                .expect("version");
            fresh.push(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The load was real: the ReplicaSet controller was creating pods all along.
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "demo");
    let rs_list = replica_sets.list(&ListParams::default()).await.expect("rs");
    let created: i32 = rs_list
        .items
        .iter()
        .filter_map(|r| r.status.as_ref().map(|s| s.replicas))
        .sum();
    assert!(created >= 1000, "only {created} pods were created");

    let (n, slowest) = (latencies.len(), latencies.iter().max().copied());
    // A call every 20 ms: 10 s of a responsive server is hundreds of calls.
    assert!(
        n >= 100,
        "only {n} /version calls answered in 10 s (slowest {slowest:?})"
    );
    let p99_version = p99(latencies);
    let p99_fresh = p99(fresh);
    eprintln!(
        "{n} /version calls: p99 {p99_version:?}, max {slowest:?}; new connections p99 {p99_fresh:?}"
    );
    assert!(p99_version < Duration::from_secs(1), "p99 {p99_version:?}");
    assert!(p99_fresh < Duration::from_secs(2), "p99 {p99_fresh:?}");
    lab.stop().await;
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
    }))
    .expect("pod")
}

async fn quota_lab(max: usize) -> TestLab {
    TestLab::start_with(LabOptions {
        seed: 7,
        speed: 10.0,
        max_pods: Some(max),
        ..LabOptions::default()
    })
    .await
}

/// A create beyond the cap is refused as quota admission refuses it:
/// `admission.NewForbidden(a, fmt.Errorf("exceeded quota: %s, requested: %s, used: %s,
/// limited: %s", ...))` in plugin/pkg/admission/resourcequota/controller.go, 403 Forbidden.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_create_beyond_max_pods_is_forbidden_in_quota_words() {
    let lab = quota_lab(2).await;
    let pods: Api<Pod> = Api::namespaced(lab.client().await, "default");
    for name in ["one", "two"] {
        pods.create(&PostParams::default(), &pod(name))
            .await
            .expect("under the cap");
    }
    let err = pods
        .create(&PostParams::default(), &pod("three"))
        .await
        .expect_err("over the cap");
    let kube::Error::Api(status) = err else {
        panic!("not a Status: {err}");
    };
    assert_eq!((status.code, status.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        status.message,
        "pods \"three\" is forbidden: exceeded quota: kdive-lab-max-pods, requested: pods=1, used: pods=2, limited: pods=2"
    );
    // Room again once a pod is gone.
    pods.delete("one", &Default::default())
        .await
        .expect("deleted");
    let deadline = Instant::now() + Duration::from_secs(30);
    while pods.get_opt("one").await.expect("get").is_some() {
        assert!(Instant::now() < deadline, "pod one never went");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    pods.create(&PostParams::default(), &pod("three"))
        .await
        .expect("room again");
    lab.stop().await;
}

/// The ReplicaSet controller stops at the cap and says why, as upstream does:
/// `RealPodControl.createPods` records `Warning FailedCreate "Error creating: %v"`
/// (pkg/controller/controller_utils.go) and `calculateStatus` sets the `ReplicaFailure`
/// condition with reason `FailedCreate` (pkg/controller/replicaset/replica_set_utils.go).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replicaset_controller_stops_at_max_pods_with_a_failed_create_event() {
    let lab = quota_lab(4).await;
    let client = lab.client().await;
    let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let rs: ReplicaSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 6,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        },
    }))
    .expect("rs");
    replica_sets
        .create(&PostParams::default(), &rs)
        .await
        .expect("rs created");

    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let deadline = Instant::now() + Duration::from_secs(30);
    let failed = loop {
        let list = events.list(&ListParams::default()).await.expect("events");
        let found = list.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("FailedCreate")
                && e.involved_object.name.as_deref() == Some("web")
        });
        let current = replica_sets.get("web").await.expect("rs");
        let replicas = current.status.as_ref().map_or(0, |s| s.replicas);
        let condition = current
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|cs| cs.iter().find(|c| c.type_ == "ReplicaFailure").cloned());
        if let (Some(event), 4, Some(condition)) = (found, replicas, condition) {
            assert_eq!(condition.reason.as_deref(), Some("FailedCreate"));
            break event;
        }
        assert!(Instant::now() < deadline, "never stopped at the cap");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(failed.type_.as_deref(), Some("Warning"));
    let message = failed.message.unwrap_or_default();
    assert!(
        message.starts_with("Error creating: pods \"web-")
            && message.ends_with(
                "\" is forbidden: exceeded quota: kdive-lab-max-pods, requested: pods=1, used: pods=4, limited: pods=4"
            ),
        "{message}"
    );
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    assert_eq!(
        pods.list(&ListParams::default())
            .await
            .expect("pods")
            .items
            .len(),
        4
    );

    // It keeps working: scaled within the cap, it converges and the condition goes.
    replica_sets
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 2}})),
        )
        .await
        .expect("scaled down");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let current = replica_sets.get("web").await.expect("rs");
        let status = current.status.unwrap_or_default();
        let failing = status
            .conditions
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "ReplicaFailure");
        let count = pods
            .list(&ListParams::default())
            .await
            .expect("pods")
            .items
            .len();
        if status.replicas == 2 && !failing && count == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never converged: {} replicas, {count} pods, failing {failing}",
            status.replicas
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    lab.stop().await;
}

/// The StatefulSet controller's refusal is `StatefulPodControl.recordPodEvent`'s
/// `"%s Pod %s in StatefulSet %s failed error: %s"` (pkg/controller/statefulset/
/// stateful_pod_control.go), a Warning `FailedCreate`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_statefulset_controller_stops_at_max_pods_with_a_failed_create_event() {
    let lab = quota_lab(2).await;
    let client = lab.client().await;
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");
    let set: StatefulSet = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "db"},
        "spec": {
            "replicas": 3,
            "serviceName": "db",
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "db"}},
            "template": {
                "metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
            },
        },
    }))
    .expect("set");
    sets.create(&PostParams::default(), &set)
        .await
        .expect("set created");
    let events: Api<Event> = Api::namespaced(client.clone(), "default");
    let deadline = Instant::now() + Duration::from_secs(30);
    let failed = loop {
        let list = events.list(&ListParams::default()).await.expect("events");
        if let Some(e) = list.items.into_iter().find(|e| {
            e.reason.as_deref() == Some("FailedCreate")
                && e.involved_object.name.as_deref() == Some("db")
        }) {
            break e;
        }
        assert!(Instant::now() < deadline, "no FailedCreate event");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(failed.type_.as_deref(), Some("Warning"));
    assert_eq!(
        failed.message.as_deref(),
        Some(
            "create Pod db-2 in StatefulSet db failed error: pods \"db-2\" is forbidden: exceeded quota: kdive-lab-max-pods, requested: pods=1, used: pods=2, limited: pods=2"
        )
    );
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let names: Vec<String> = pods
        .list(&ListParams::default())
        .await
        .expect("pods")
        .items
        .into_iter()
        .filter_map(|p| p.metadata.name)
        .collect();
    assert_eq!(names, ["db-0", "db-1"]);
    lab.stop().await;
}
