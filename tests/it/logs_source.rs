//! `sources::logs` against the lab: the last lines of a crashed run (what triage quotes as
//! crash-loop and OOM evidence), the API's own words when there is no previous run, and a
//! followed log fed into the explorer's bounded feed.

use crate::support as common;

use std::time::Duration;

use common::TestLab;
use k8s_openapi::api::core::v1::{Node, Pod};
use kdive::sources::logs::{FeedEnd, LogError, LogFeed, follow_into, previous_tail};
use kdive_lab::LabOptions;
use kube::api::{Api, LogParams, PostParams};

async fn lab_with_crashing_pod() -> (TestLab, kube::Client) {
    let lab = TestLab::start_with(LabOptions {
        seed: 7,
        speed: 10.0,
        ..LabOptions::default()
    })
    .await;
    let client = lab.client().await;
    let node: Node = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": "worker-1", "labels": {"kubernetes.io/hostname": "worker-1"}},
        "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]}
    }))
    .unwrap();
    Api::<Node>::all(client.clone())
        .create(&PostParams::default(), &node)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for (name, env) in [
        (
            "crash",
            serde_json::json!([{"name": "CRASH_AFTER_SECONDS", "value": "2"}]),
        ),
        ("calm", serde_json::json!([])),
    ] {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "worker-1", "containers": [
                {"name": "app", "image": "kdive/demo-web:1.4", "env": env}]}
        }))
        .unwrap();
        pods.create(&PostParams::default(), &pod).await.unwrap();
    }
    (lab, client)
}

/// Waits until kubelet reports the container (running, or between runs).
async fn reported(client: &kube::Client, name: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while pods
        .get(name)
        .await
        .unwrap()
        .status
        .and_then(|s| s.container_statuses)
        .is_none_or(|cs| cs.is_empty())
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} never reported"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn restarted(client: &kube::Client, name: &str) {
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let p = pods.get(name).await.unwrap();
        let restarts = p
            .status
            .and_then(|s| s.container_statuses)
            .and_then(|cs| cs.first().map(|c| c.restart_count))
            .unwrap_or(0);
        if restarts >= 1 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{name} never restarted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previous_tail_quotes_the_crashed_run_and_names_a_missing_one() {
    let (lab, client) = lab_with_crashing_pod().await;
    restarted(&client, "crash").await;
    let tail = previous_tail(&client, "default", "crash", Some("app"), 2, None)
        .await
        .unwrap();
    assert_eq!(tail.len(), 2, "{tail:?}");
    assert!(
        tail[1].contains("msg=\"fatal error, exiting\" exit_code=1"),
        "{tail:?}"
    );
    // A byte limit cuts the answer, not the caller's memory.
    let cut = previous_tail(&client, "default", "crash", None, 50, Some(40))
        .await
        .unwrap();
    assert_eq!(cut.concat().len(), 40, "{cut:?}");
    let none = previous_tail(&client, "default", "calm", None, 5, None).await;
    assert_eq!(
        none,
        Err(LogError::Api(
            "previous terminated container \"app\" in pod \"calm\" not found".into()
        ))
    );
    lab.lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_followed_log_fills_the_feed_until_the_run_ends() {
    let (lab, client) = lab_with_crashing_pod().await;
    reported(&client, "crash").await;
    let feed = LogFeed::default();
    let notified = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n = notified.clone();
    let params = LogParams {
        follow: true,
        ..LogParams::default()
    };
    let task = follow_into(
        client.clone(),
        "default".into(),
        "crash".into(),
        params,
        feed.clone(),
        move || {
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        },
    );
    // The crash ends the run and with it the stream (or it is still waiting to start).
    tokio::time::timeout(Duration::from_secs(20), task)
        .await
        .expect("the follow ends with the run");
    let got = feed.drain();
    assert!(notified.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    match &got.end {
        Some(FeedEnd::Ended) => assert!(
            got.lines.iter().any(|l| l.contains("fatal error")),
            "{got:?}"
        ),
        Some(FeedEnd::Failed(e)) => assert!(e.contains("is waiting to start"), "{e}"),
        None => panic!("no end: {got:?}"),
    }
    lab.lab.shutdown().await;
}
