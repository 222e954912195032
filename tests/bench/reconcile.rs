//! Reconcile-lag benchmark: a lab running a scenario of 5,000 pods (500 Deployments x 10)
//! over 50 nodes with 500 Services, driven by 100 pod label changes per second. Each change
//! moves one pod from one Service to another; the lag is the time from sending the patch to
//! receiving, on a watch, the EndpointSlice event that lists the pod under its new Service.
//! Runs `kdive lab --scenario` as its own process (so the figures include the API server,
//! the controllers, the kubelets and the watch path). `cargo bench --bench reconcile`;
//! env BENCH_SERVICES (500), BENCH_REPLICAS (10), BENCH_NODES (50), BENCH_RATE (100/s),
//! BENCH_SECONDS (30) scale it.

mod common;

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{client_from, env_num, percentile, rss_kib};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{Api, ListParams, Patch, PatchParams, WatchEvent, WatchParams};

/// The scenario: nodes, a namespace, and per index a Deployment `d<i>` whose pods carry
/// `svc: s<i>`, selected by Service `s<i>`.
fn scenario(nodes: u64, services: u64, replicas: u64) -> String {
    let mut out = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n");
    for n in 0..nodes {
        let _ = write!(
            out,
            "---\napiVersion: v1\nkind: Node\nmetadata:\n  name: node-{n}\n  labels: {{topology.kubernetes.io/zone: zone-{}}}\nspec: {{podCIDR: 10.{}.{}.0/24}}\nstatus:\n  capacity: {{cpu: '64', memory: 256Gi, pods: '250'}}\n  allocatable: {{cpu: '64', memory: 256Gi, pods: '250'}}\n",
            n % 3,
            100 + n / 250,
            n % 250
        );
    }
    for i in 0..services {
        let _ = write!(
            out,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: d{i}, namespace: bench}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: d{i}}}}}\n  template:\n    metadata: {{labels: {{app: d{i}, svc: s{i}}}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        ports: [{{containerPort: 80, name: http}}]\n        resources: {{requests: {{cpu: 10m, memory: 16Mi}}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: bench}}\nspec:\n  selector: {{svc: s{i}}}\n  ports: [{{port: 80, targetPort: http}}]\n"
        );
    }
    out
}

fn ready_ips(slice: &EndpointSlice) -> Vec<String> {
    slice
        .endpoints
        .iter()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false))
        .flat_map(|e| e.addresses.clone())
        .collect()
}

fn service_of(slice: &EndpointSlice) -> String {
    slice
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("kubernetes.io/service-name").cloned())
        .unwrap_or_default()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let nodes = env_num("BENCH_NODES", 50);
    let services = env_num("BENCH_SERVICES", 500);
    let replicas = env_num("BENCH_REPLICAS", 10);
    let rate = env_num("BENCH_RATE", 100);
    let seconds = env_num("BENCH_SECONDS", 30);
    let pods_total = services * replicas;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("scenario.yaml");
    std::fs::write(&file, scenario(nodes, services, replicas)).unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let started = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(["lab", "--seed", "1", "--scenario"])
        .arg(&file)
        .arg("--kubeconfig-out")
        .arg(&kubeconfig)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("kdive lab starts");
    let pid = child.id().unwrap();
    while !kubeconfig.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "lab started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let client = client_from(&kubeconfig).await;
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "bench");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "bench");

    // Steady state: every pod ready behind its Service.
    loop {
        let list = slices.list(&ListParams::default()).await.unwrap();
        let ready: usize = list.items.iter().map(|s| ready_ips(s).len()).sum();
        if ready as u64 >= pods_total {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "steady state not reached: {ready}/{pods_total} ready endpoints"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let settle = started.elapsed().as_secs_f64();
    let (rss_steady, _) = rss_kib(pid);
    println!(
        "{pods_total} pods over {nodes} nodes behind {services} Services ready {settle:.1}s after start; lab RSS {} MiB",
        rss_steady / 1024
    );

    // The pods to move, with their IPs, in a fixed order.
    let mut plan: Vec<(String, String, u64)> = Vec::new();
    for p in pods.list(&ListParams::default()).await.unwrap().items {
        let ip = p
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.clone())
            .unwrap_or_default();
        let svc = p
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("svc").cloned())
            .unwrap_or_default();
        let i: u64 = svc.trim_start_matches('s').parse().unwrap_or(0);
        plan.push((p.metadata.name.unwrap_or_default(), ip, i));
    }
    plan.sort();
    let updates = (rate * seconds).min(plan.len() as u64) as usize;

    // Expected results: (new service, pod IP) → send time. Filled before each patch.
    let pending: Arc<Mutex<HashMap<(String, String), Instant>>> = Arc::default();
    let lags: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let rv = slices
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let watcher = {
        let (pending, lags, slices) = (pending.clone(), lags.clone(), slices.clone());
        tokio::spawn(async move {
            let wp = WatchParams::default().timeout(seconds as u32 + 60);
            let mut stream = slices.watch(&wp, &rv).await.unwrap().boxed();
            while let Ok(Some(event)) = stream.try_next().await {
                let (WatchEvent::Added(s) | WatchEvent::Modified(s)) = event else {
                    continue;
                };
                let now = Instant::now();
                let svc = service_of(&s);
                let mut pending = pending.lock().unwrap();
                for ip in ready_ips(&s) {
                    if let Some(sent) = pending.remove(&(svc.clone(), ip)) {
                        lags.lock().unwrap().push(now - sent);
                    }
                }
            }
        })
    };

    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    let mut writers = Vec::new();
    let drive_start = Instant::now();
    for (name, ip, i) in plan.into_iter().take(updates) {
        ticker.tick().await;
        let target = format!("s{}", (i + 1) % services);
        pending
            .lock()
            .unwrap()
            .insert((target.clone(), ip), Instant::now());
        let pods = pods.clone();
        writers.push(tokio::spawn(async move {
            let patch = serde_json::json!({"metadata": {"labels": {"svc": target}}});
            pods.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ())
        }));
    }
    let mut failed = 0;
    for w in writers {
        if !matches!(w.await, Ok(Ok(()))) {
            failed += 1;
        }
    }
    let achieved = updates as f64 / drive_start.elapsed().as_secs_f64();
    // Let the last results arrive.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !pending.lock().unwrap().is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watcher.abort();
    let missing = pending.lock().unwrap().len();
    let mut lags = lags.lock().unwrap().clone();
    lags.sort();
    let pct = |p: f64| percentile(&lags, p);
    let (rss, hwm) = rss_kib(pid);
    println!(
        "{updates} pod label changes at {achieved:.0}/s ({failed} failed): reconcile lag p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {missing} results not seen within 10 s",
        pct(0.5).as_secs_f64() * 1e3,
        pct(0.9).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        pct(1.0).as_secs_f64() * 1e3,
    );
    println!("lab RSS {} MiB, peak {} MiB", rss / 1024, hwm / 1024);
    let met = pct(0.99) < Duration::from_secs(1) && missing == 0 && failed == 0;
    println!("target p99 < 1 s: {}", if met { "met" } else { "NOT met" });
    let _ = child.kill().await;
}
