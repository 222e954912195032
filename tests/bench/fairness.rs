//! Fairness benchmark: the demo lab (no Prometheus) scales its `web` Deployment to many pods
//! and, while the controllers, scheduler and kubelets work through them, the API server's
//! latency is measured: `/version` and `GET .../pods?limit=50` on a kept-alive connection,
//! and `/version` on fresh connections (TLS handshake included). Goal (issue 20): p99 under
//! 50 ms while 50,000 pods are reconciled. `cargo bench --bench fairness`; env BENCH_PODS
//! (default 50000) and BENCH_SECONDS (default 30) scale it.

mod common;

use std::time::{Duration, Instant};

use common::{client_from, env_num, percentile, rss_kib, send};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    if samples.is_empty() {
        println!("{name}: no samples");
        return;
    }
    println!(
        "{name}: {} calls, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3,
    );
}

/// Times one request; a request that fails or takes over 10 s counts as 10 s.
async fn timed(client: &kube::Client, path: &str) -> Duration {
    let t = Instant::now();
    match tokio::time::timeout(
        Duration::from_secs(10),
        send(client, "GET", path, "application/json", vec![]),
    )
    .await
    {
        Ok((200, _)) => t.elapsed(),
        _ => Duration::from_secs(10),
    }
}

async fn run() {
    let pods = env_num("BENCH_PODS", 50_000);
    let seconds = env_num("BENCH_SECONDS", 30);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(["lab", "--no-prometheus", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("kdive lab starts");
    let pid = child.id().unwrap();
    for _ in 0..200 {
        if kubeconfig.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = client_from(&kubeconfig).await;
    // A quiet baseline first.
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(timed(&client, "/version").await);
    }
    summary("idle /version", idle);

    let req = http::Request::builder()
        .method("PATCH")
        .uri("/apis/apps/v1/namespaces/demo/deployments/web")
        .header("Content-Type", "application/merge-patch+json")
        .body(
            format!(r#"{{"spec":{{"replicas":{pods}}}}}"#)
                .into_bytes()
                .into(),
        )
        .unwrap();
    let resp = client.send(req).await.expect("scaled");
    assert_eq!(resp.status().as_u16(), 200);
    println!("scaled deploy/web to {pods} replicas; measuring for {seconds} s");

    let start = Instant::now();
    let (mut version, mut list, mut fresh) = (Vec::new(), Vec::new(), Vec::new());
    while start.elapsed() < Duration::from_secs(seconds) {
        version.push(timed(&client, "/version").await);
        list.push(timed(&client, "/api/v1/namespaces/demo/pods?limit=50").await);
        if version.len() % 5 == 0 {
            let t = Instant::now();
            let new_client = client_from(&kubeconfig).await;
            let answered = tokio::time::timeout(
                Duration::from_secs(10),
                send(&new_client, "GET", "/version", "application/json", vec![]),
            )
            .await;
            fresh.push(match answered {
                Ok((200, _)) => t.elapsed(),
                _ => Duration::from_secs(10),
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    summary("/version (kept-alive connection)", version);
    summary("GET /api/v1/namespaces/demo/pods?limit=50", list);
    summary("/version on a new TLS connection", fresh);

    let (_, body) = send(
        &client,
        "GET",
        "/apis/apps/v1/namespaces/demo/replicasets",
        "application/json",
        vec![],
    )
    .await;
    let created: i64 = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["items"].as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|rs| rs["status"]["replicas"].as_i64())
        .sum();
    let (rss, hwm) = rss_kib(pid);
    println!(
        "after {seconds} s: {created} pods created of {pods}; lab RSS {} MiB (peak {} MiB)",
        rss / 1024,
        hwm / 1024
    );
    let _ = child.kill().await;
}
