//! Lab benchmark: 50,000 stored pods; full-list throughput over HTTPS; watch fan-out of
//! 1,000 events/s to 10 watchers (latency from the write request to each watcher's receipt);
//! the lab process's resident memory. Runs `kdive lab` as its own process so its RSS is its
//! own. `cargo bench --bench lab` (env BENCH_PODS, BENCH_SECONDS to scale it).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{client_from, env_num, percentile, rss_kib, send};
use http::Request;
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicU64, Ordering};

fn watchers() -> usize {
    env_num("BENCH_WATCHERS", 10) as usize
}
const RATE: u64 = 1000;

fn pod_body(i: u64) -> Vec<u8> {
    // A pod shaped like one a Deployment creates, with status: about 1.5 KB of JSON.
    serde_json::to_vec(&serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": format!("web-7d4b9c8f5-{i:06}"), "labels": {"app": "web", "pod-template-hash": "7d4b9c8f5", "shard": (i % 10).to_string()},
            "annotations": {"kdive.dev/bench": "true"}},
        "spec": {"nodeName": format!("node-{}", i % 20),
            "containers": [{"name": "web", "image": "nginx:1.27",
                "ports": [{"containerPort": 8080, "name": "http"}],
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
                "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5},
                "env": [{"name": "MODE", "value": "production"}, {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]}]},
    }))
    .unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let pods = env_num("BENCH_PODS", 50_000);
    let seconds = env_num("BENCH_SECONDS", 5);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    // An empty cluster: this measures the API server and store, not the simulation.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(["lab", "--empty", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("kdive lab starts");
    let pid = child.id().unwrap();
    for _ in 0..100 {
        if kubeconfig.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = client_from(&kubeconfig).await;
    let idle = rss_kib(pid).0;

    let ns = br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"bench"}}"#;
    send(
        &client,
        "POST",
        "/api/v1/namespaces",
        "application/json",
        ns.to_vec(),
    )
    .await;
    let load_start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut loaders = Vec::new();
    for _ in 0..16 {
        let (client, next) = (client.clone(), next.clone());
        loaders.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= pods {
                    break;
                }
                let (code, _) = send(
                    &client,
                    "POST",
                    "/api/v1/namespaces/bench/pods",
                    "application/json",
                    pod_body(i),
                )
                .await;
                assert_eq!(code, 201);
            }
        }));
    }
    for l in loaders {
        l.await.unwrap();
    }
    let load_secs = load_start.elapsed().as_secs_f64();
    let loaded = rss_kib(pid).0;
    println!(
        "loaded {pods} pods over HTTPS in {load_secs:.1}s ({:.0} creates/s)",
        pods as f64 / load_secs
    );

    // Full list, JSON, no pagination.
    let mut rates = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let (code, body) = send(&client, "GET", "/api/v1/pods", "application/json", vec![]).await;
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(code, 200);
        size = body.len();
        rates.push(body.len() as f64 / secs / 1e6);
    }
    let list_rate = median(rates);
    println!(
        "list of {pods} pods: {:.1} MB of JSON, median {list_rate:.0} MB/s over 5 runs",
        size as f64 / 1e6
    );

    // Watch fan-out.
    // Send times as nanoseconds since `epoch` (0 = not sent), lock-free so measuring does
    // not add contention of its own.
    let epoch = Instant::now();
    let sent: Arc<Vec<AtomicU64>> =
        Arc::new((0..RATE * seconds).map(|_| AtomicU64::new(0)).collect());
    let (_, list) = send(
        &client,
        "GET",
        "/api/v1/namespaces/bench/pods?limit=1",
        "application/json",
        vec![],
    )
    .await;
    let rv =
        serde_json::from_slice::<serde_json::Value>(&list).unwrap()["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .to_string();
    let mut streams = Vec::new();
    for _ in 0..watchers() {
        let path = format!(
            "/api/v1/namespaces/bench/pods?watch=true&resourceVersion={rv}&timeoutSeconds={}",
            seconds + 10
        );
        let req = Request::builder()
            .uri(path)
            .body(Vec::new().into())
            .unwrap();
        let resp = client.send(req).await.unwrap();
        let sent = sent.clone();
        streams.push(tokio::spawn(async move {
            let mut body = resp.into_body();
            let mut buf: Vec<u8> = Vec::new();
            let mut got = 0u64;
            let mut latencies = Vec::new();
            while let Some(Ok(frame)) = body.frame().await {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let now = Instant::now();
                buf.extend_from_slice(&data);
                while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = buf.drain(..=pos).collect();
                    if let Some(seq) = seq_of(&line)
                        && let Some(t) = sent.get(seq as usize).map(|a| a.load(Ordering::Acquire))
                        && t > 0
                    {
                        latencies.push(now - (epoch + Duration::from_nanos(t)));
                        got += 1;
                    }
                }
                if got >= RATE * seconds {
                    break;
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    let mut writes = Vec::new();
    for seq in 0..RATE * seconds {
        ticker.tick().await;
        let (client, sent) = (client.clone(), sent.clone());
        let name = format!("web-7d4b9c8f5-{:06}", seq % pods);
        writes.push(tokio::spawn(async move {
            let patch = format!(r#"{{"metadata":{{"annotations":{{"bench-seq":"{seq}"}}}}}}"#);
            sent[seq as usize].store(epoch.elapsed().as_nanos() as u64, Ordering::Release);
            let path = format!("/api/v1/namespaces/bench/pods/{name}");
            let t = Instant::now();
            let (code, _) = send(
                &client,
                "PATCH",
                &path,
                "application/merge-patch+json",
                patch.into_bytes(),
            )
            .await;
            assert_eq!(code, 200);
            t.elapsed()
        }));
    }
    let mut rtts = Vec::new();
    for w in writes {
        rtts.push(w.await.unwrap());
    }
    rtts.sort();
    println!(
        "writes: {} PATCH requests, round trip p50 {:.2} ms, p99 {:.2} ms",
        rtts.len(),
        percentile(&rtts, 0.5).as_secs_f64() * 1e3,
        percentile(&rtts, 0.99).as_secs_f64() * 1e3
    );
    let mut lat = Vec::new();
    for w in streams {
        if let Ok(Ok(l)) = tokio::time::timeout(Duration::from_secs(seconds + 15), w).await {
            lat.extend(l);
        }
    }
    lat.sort();
    let expected = (RATE * seconds) as usize * watchers();
    let (rss, peak) = rss_kib(pid);
    println!(
        "watch fan-out: {} of {expected} deliveries, {RATE} events/s to {} watchers; latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        lat.len(),
        watchers(),
        percentile(&lat, 0.5).as_secs_f64() * 1e3,
        percentile(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3,
    );
    println!(
        "lab RSS: idle {:.0} MiB, after load {:.0} MiB, at end {:.0} MiB, peak {:.0} MiB",
        idle as f64 / 1024.0,
        loaded as f64 / 1024.0,
        rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    let _ = child.kill().await;
    let ok = list_rate >= 100.0
        && percentile(&lat, 0.99) < Duration::from_millis(50)
        && peak < 500 * 1024
        && lat.len() == expected;
    println!(
        "targets (list >= 100 MB/s, p99 < 50 ms, RSS < 500 MiB, no lost events): {}",
        if ok { "met" } else { "NOT met" }
    );
}

fn seq_of(line: &[u8]) -> Option<u64> {
    let key = b"\"bench-seq\":\"";
    let start = line.windows(key.len()).position(|w| w == key)? + key.len();
    let digits: Vec<u8> = line[start..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .copied()
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}
