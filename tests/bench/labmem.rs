//! Lab memory benchmark: does the lab give memory back after a burst? Starts `kdive lab`
//! (the demo, no Prometheus) as its own process, records its RSS once the demo has settled,
//! scales `web` to many pods, records the peak, scales back to the demo's 3 replicas, waits
//! for the pods to be gone and then for the history's fresh duration (75 s) and
//! housekeeping, and prints fresh / peak / after RSS and after/fresh. Goal (issue "Hold
//! under load and faults", item 7): after within 1.5× fresh. `cargo bench --bench labmem`;
//! env BENCH_PODS (default 3000), BENCH_SPEED (default 10), BENCH_SETTLE (seconds after the
//! pods are gone, default 100).

mod common;

use std::time::{Duration, Instant};

use common::{client_from, env_num, rss_kib, send};

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn scale(client: &kube::Client, replicas: u64) {
    let body = format!(r#"{{"spec":{{"replicas":{replicas}}}}}"#).into_bytes();
    let path = "/apis/apps/v1/namespaces/demo/deployments/web";
    let req = http::Request::builder()
        .method("PATCH")
        .uri(path)
        .header("Content-Type", "application/merge-patch+json")
        .body(body.into())
        .unwrap();
    let resp = client.send(req).await.expect("scaled");
    assert_eq!(resp.status().as_u16(), 200);
}

/// How many pods the `web` Deployment has, by its status.
async fn web_pods(client: &kube::Client) -> u64 {
    let path = "/apis/apps/v1/namespaces/demo/deployments/web";
    let (_, body) = send(client, "GET", path, "application/json", vec![]).await;
    serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|d| d["status"]["replicas"].as_u64())
        .unwrap_or(0)
}

async fn wait_for(client: &kube::Client, what: &str, done: impl Fn(u64) -> bool) {
    let start = Instant::now();
    loop {
        let n = web_pods(client).await;
        if done(n) {
            println!("{what} after {:.0} s", start.elapsed().as_secs_f64());
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "{n} pods, {what}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn run() {
    let pods = env_num("BENCH_PODS", 3000);
    let speed = env_num("BENCH_SPEED", 10);
    let settle = env_num("BENCH_SETTLE", 100);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(["lab", "--no-prometheus", "--speed", &speed.to_string()])
        .arg("--kubeconfig-out")
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
    wait_for(&client, "the demo's 3 web pods", |n| n == 3).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let fresh = rss_kib(pid).0;
    println!("fresh lab: RSS {:.1} MiB", mib(fresh));

    scale(&client, pods).await;
    wait_for(&client, &format!("{pods} web pods"), |n| n >= pods).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (burst, _) = rss_kib(pid);
    println!("with {pods} pods: RSS {:.1} MiB", mib(burst));

    scale(&client, 3).await;
    wait_for(&client, "back to 3 web pods", |n| n <= 3).await;
    let start = Instant::now();
    let mut after = rss_kib(pid).0;
    while start.elapsed() < Duration::from_secs(settle) {
        tokio::time::sleep(Duration::from_secs(10)).await;
        after = rss_kib(pid).0;
        println!(
            "  +{:>3.0} s: RSS {:.1} MiB",
            start.elapsed().as_secs_f64(),
            mib(after)
        );
    }
    let peak = rss_kib(pid).1;
    println!(
        "RSS fresh {:.1} MiB, peak {:.1} MiB, after {:.1} MiB: after/fresh {:.2}",
        mib(fresh),
        mib(peak),
        mib(after),
        after as f64 / fresh as f64
    );
    let _ = child.kill().await;
}
