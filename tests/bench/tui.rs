//! Explorer benchmark: a lab holding 20,000 pods and 2,000 Services (with their
//! EndpointSlices, Deployments and ReplicaSets); the explorer (watches → stores → App → run
//! loop drawing into a 160×48 `TestBackend`) in this process. Measures the time from the
//! watches' lists completing to the first complete frame, this process's RSS after sync, and
//! key-press-to-frame latency while 500 pod updates/s arrive over HTTPS.
//!
//! Three processes, so memory and CPU are each their own: this one (the explorer), a static
//! lab (the API server only: no controllers would fight the hand-made objects), and a loader
//! that creates the objects and later sends the updates. The last two are this binary
//! started again with `KDIVE_BENCH_ROLE`.
//!
//! `cargo bench --bench tui`; env BENCH_PODS, BENCH_SERVICES, BENCH_NAMESPACES,
//! BENCH_SECONDS, BENCH_RATE (pod updates/s), BENCH_KEYS (keys/s) scale it.

mod common;

use std::alloc::{GlobalAlloc, Layout};
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use common::{client_from, env_num, percentile, rss_kib, send};
use kdive::sources::kube::{KubeMsg, NoteType, Scope, Sink, WatchState};
use kdive::ui::app::{App, Session};
use kdive::ui::effects::NoEffects;
use kdive::ui::msg::Msg;
use kdive::ui::run::{FrameInfo, RunOptions};
use kdive::ui::theme::Theme;
use kdive_core::model::kind::Kind;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const ROLE: &str = "KDIVE_BENCH_ROLE";
const KUBECONFIG: &str = "KDIVE_BENCH_KUBECONFIG";
const NODES: u64 = 20;
const LOADERS: usize = 16;
const WIDTH: u16 = 160;
const HEIGHT: u16 = 48;

/// Live heap bytes, counted only with BENCH_HEAP=1 (an atomic per allocation is not free, so
/// the timed figures come from runs without it). Allocation itself goes to mimalloc, the
/// allocator the kdive binary uses, so RSS is what the explorer really holds.
struct CountingAlloc;

static INNER: mimalloc::MiMalloc = mimalloc::MiMalloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE_HEAP: AtomicI64 = AtomicI64::new(0);
static PEAK_HEAP: AtomicI64 = AtomicI64::new(0);
static LIVE_BLOCKS: AtomicI64 = AtomicI64::new(0);

/// Bytes and blocks allocated (positive) or freed (negative).
fn count(bytes: i64, blocks: i64) {
    LIVE_BLOCKS.fetch_add(blocks, Ordering::Relaxed);
    let now = LIVE_HEAP.fetch_add(bytes, Ordering::Relaxed) + bytes;
    if bytes > 0 {
        PEAK_HEAP.fetch_max(now, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { INNER.alloc(layout) };
        if COUNTING.load(Ordering::Relaxed) && !p.is_null() {
            count(layout.size() as i64, 1);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { INNER.alloc_zeroed(layout) };
        if COUNTING.load(Ordering::Relaxed) && !p.is_null() {
            count(layout.size() as i64, 1);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { INNER.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            count(-(layout.size() as i64), -1);
        }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { INNER.realloc(ptr, layout, new_size) };
        if COUNTING.load(Ordering::Relaxed) && !p.is_null() {
            count(new_size as i64 - layout.size() as i64, 0);
        }
        p
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn live_heap_kib() -> u64 {
    (LIVE_HEAP.load(Ordering::Relaxed).max(0) / 1024) as u64
}

fn main() {
    // As the kdive binary does first thing.
    kdive::cli::disable_transparent_huge_pages();
    // Before anything allocates, so every free was counted as an allocation first.
    if env_num("BENCH_HEAP", 0) == 1 && std::env::var(ROLE).is_err() {
        COUNTING.store(true, Ordering::Relaxed);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    match std::env::var(ROLE).as_deref() {
        Ok("lab") => rt.block_on(lab_role()),
        Ok("load") => rt.block_on(load_role()),
        _ => rt.block_on(bench()),
    }
}

/// How big the cluster is: namespaces × apps; each app is a Deployment, its ReplicaSet, its
/// pods, a Service selecting them and the Service's EndpointSlice.
#[derive(Debug, Clone, Copy)]
struct Shape {
    namespaces: u64,
    apps_per_ns: u64,
    pods_per_app: u64,
}

impl Shape {
    fn from_env() -> Shape {
        let namespaces = env_num("BENCH_NAMESPACES", 20).max(1);
        let services = env_num("BENCH_SERVICES", 2_000).max(namespaces);
        let pods = env_num("BENCH_PODS", 20_000).max(services);
        Shape {
            namespaces,
            apps_per_ns: services / namespaces,
            pods_per_app: pods / services,
        }
    }
    fn apps(&self) -> u64 {
        self.namespaces * self.apps_per_ns
    }
    fn pods(&self) -> u64 {
        self.apps() * self.pods_per_app
    }
    /// (namespace, app name, pod-template-hash) of app `a`.
    fn app(&self, a: u64) -> (String, String, String) {
        (
            ns_name(a / self.apps_per_ns),
            app_name(a % self.apps_per_ns),
            template_hash(a),
        )
    }
    /// (namespace, pod name) of pod `p`.
    fn pod(&self, p: u64) -> (String, String) {
        let (ns, app, hash) = self.app(p / self.pods_per_app);
        (ns, format!("{app}-{hash}-{}", suffix(p)))
    }
}

fn ns_name(n: u64) -> String {
    format!("team-{n:02}")
}

fn app_name(i: u64) -> String {
    format!("api-{i:03}")
}

/// Name suffixes in the alphabet Kubernetes uses for generated names.
fn suffix(mut n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    n = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 20;
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

fn template_hash(a: u64) -> String {
    let h = a.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 28;
    format!("{:09x}", h & 0xf_ffff_ffff)
}

fn pod_ip(p: u64) -> String {
    format!(
        "10.{}.{}.{}",
        100 + p / 62_500,
        (p / 250) % 250,
        p % 250 + 1
    )
}

fn node_of(p: u64) -> u64 {
    p % NODES
}

// ---------------------------------------------------------------- the lab process

async fn lab_role() {
    let out = PathBuf::from(std::env::var(KUBECONFIG).expect("kubeconfig path"));
    let lab = kdive_lab::start(kdive_lab::LabOptions {
        simulate: false,
        ..Default::default()
    })
    .await
    .expect("lab starts");
    kdive_lab::kubeconfig::write(&out, &lab.kubeconfig()).expect("kubeconfig written");
    // Runs until the bench kills it.
    std::future::pending::<()>().await;
}

// ---------------------------------------------------------------- the loader process

const STARTED: &str = "2026-01-05T09:00:00Z";

fn pod_spec(app: &str) -> Value {
    json!({
        "containers": [{
            "name": "api", "image": "kdive/bench-api:1.8.3", "imagePullPolicy": "IfNotPresent",
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "env": [{"name": "APP", "value": app}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "256Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3}
        }],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst", "serviceAccountName": "default"
    })
}

fn pod_status(p: u64, ready: bool) -> Value {
    let r = if ready { "True" } else { "False" };
    let condition = |ty: &str, status: &str| json!({"type": ty, "status": status, "lastProbeTime": null, "lastTransitionTime": STARTED});
    json!({
        "phase": "Running", "qosClass": "Burstable", "startTime": STARTED,
        "hostIP": format!("192.168.0.{}", 10 + node_of(p)), "podIP": pod_ip(p),
        "podIPs": [{"ip": pod_ip(p)}],
        "conditions": [condition("Initialized", "True"),
            condition("Ready", r), condition("ContainersReady", r), condition("PodScheduled", "True")],
        "containerStatuses": [{
            "name": "api", "ready": ready, "started": true, "restartCount": 0,
            "image": "kdive/bench-api:1.8.3",
            "imageID": "kdive/bench-api@sha256:4f1c2a9e8b7d6c5f4e3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e",
            "containerID": format!("containerd://{:064x}", p.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            "state": {"running": {"startedAt": STARTED}}
        }]
    })
}

fn uid_of(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).expect("object JSON");
    v["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn expect(client: &kube::Client, method: &str, path: &str, body: &Value) -> bytes::Bytes {
    let ct = if method == "PATCH" {
        "application/merge-patch+json"
    } else {
        "application/json"
    };
    let bytes = serde_json::to_vec(body).expect("JSON");
    let (code, reply) = send(client, method, path, ct, bytes).await;
    assert!(
        code == 200 || code == 201,
        "{method} {path}: {code} {}",
        String::from_utf8_lossy(&reply)
    );
    reply
}

/// Creates app `a`: Deployment → ReplicaSet → pods (with status), Service, EndpointSlice.
async fn create_app(client: &kube::Client, shape: Shape, a: u64) {
    let (ns, app, hash) = shape.app(a);
    let k = shape.pods_per_app;
    let rs_name = format!("{app}-{hash}");
    let template = json!({"metadata": {"labels": {"app": app, "pod-template-hash": hash}}, "spec": pod_spec(&app)});
    let deploy = expect(client, "POST", &format!("/apis/apps/v1/namespaces/{ns}/deployments"),
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app, "namespace": ns, "labels": {"app": app},
                "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": k, "selector": {"matchLabels": {"app": app}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                "template": {"metadata": {"labels": {"app": app}}, "spec": pod_spec(&app)}}})).await;
    let deploy_uid = uid_of(&deploy);
    expect(client, "PATCH", &format!("/apis/apps/v1/namespaces/{ns}/deployments/{app}/status"),
        &json!({"status": {"observedGeneration": 1, "replicas": k, "updatedReplicas": k, "readyReplicas": k,
            "availableReplicas": k, "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable", "lastTransitionTime": STARTED},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable", "lastTransitionTime": STARTED}]}})).await;
    let rs = expect(client, "POST", &format!("/apis/apps/v1/namespaces/{ns}/replicasets"),
        &json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": rs_name, "namespace": ns, "labels": {"app": app, "pod-template-hash": hash},
                "annotations": {"deployment.kubernetes.io/revision": "1", "deployment.kubernetes.io/desired-replicas": k.to_string()},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": app, "uid": deploy_uid,
                    "controller": true, "blockOwnerDeletion": true}]},
            "spec": {"replicas": k, "selector": {"matchLabels": {"app": app, "pod-template-hash": hash}}, "template": template}})).await;
    let rs_uid = uid_of(&rs);
    expect(client, "PATCH", &format!("/apis/apps/v1/namespaces/{ns}/replicasets/{rs_name}/status"),
        &json!({"status": {"observedGeneration": 1, "replicas": k, "fullyLabeledReplicas": k, "readyReplicas": k, "availableReplicas": k}})).await;
    let svc = expect(client, "POST", &format!("/api/v1/namespaces/{ns}/services"),
        &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": app, "namespace": ns, "labels": {"app": app}},
            "spec": {"type": "ClusterIP", "selector": {"app": app},
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}]}})).await;
    let svc_uid = uid_of(&svc);
    let mut endpoints = Vec::new();
    for j in 0..k {
        let p = a * k + j;
        let (_, name) = shape.pod(p);
        let mut spec = pod_spec(&app);
        spec["nodeName"] = json!(format!("node-{:02}", node_of(p)));
        let created = expect(client, "POST", &format!("/api/v1/namespaces/{ns}/pods"),
            &json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": ns,
                    "labels": {"app": app, "pod-template-hash": hash, "tier": "backend", "rev": "a"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs_name, "uid": rs_uid,
                        "controller": true, "blockOwnerDeletion": true}]},
                "spec": spec})).await;
        let uid = uid_of(&created);
        expect(
            client,
            "PATCH",
            &format!("/api/v1/namespaces/{ns}/pods/{name}/status"),
            &json!({"status": pod_status(p, true)}),
        )
        .await;
        endpoints.push(json!({"addresses": [pod_ip(p)],
            "conditions": {"ready": true, "serving": true, "terminating": false},
            "nodeName": format!("node-{:02}", node_of(p)),
            "targetRef": {"kind": "Pod", "namespace": ns, "name": name, "uid": uid}}));
    }
    expect(client, "POST", &format!("/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices"),
        &json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": format!("{app}-{}", suffix(a + 1_000_000_000)), "namespace": ns,
                "labels": {"kubernetes.io/service-name": app, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": app, "uid": svc_uid,
                    "controller": true, "blockOwnerDeletion": true}]},
            "addressType": "IPv4", "endpoints": endpoints,
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]})).await;
}

async fn load_role() {
    let shape = Shape::from_env();
    let kubeconfig = PathBuf::from(std::env::var(KUBECONFIG).expect("kubeconfig path"));
    let client = client_from(&kubeconfig).await;
    let started = Instant::now();
    for n in 0..shape.namespaces {
        expect(
            &client,
            "POST",
            "/api/v1/namespaces",
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns_name(n)}}),
        )
        .await;
    }
    for n in 0..NODES {
        let name = format!("node-{n:02}");
        expect(&client, "POST", "/api/v1/nodes",
            &json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name,
                "labels": {"kubernetes.io/hostname": name, "topology.kubernetes.io/zone": format!("zone-{}", n % 3)}}})).await;
        expect(&client, "PATCH", &format!("/api/v1/nodes/{name}/status"),
            &json!({"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                "lastTransitionTime": STARTED}],
                "addresses": [{"type": "InternalIP", "address": format!("192.168.0.{}", 10 + n)}],
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "1100"},
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "1100"}}})).await;
    }
    let next = Arc::new(AtomicU64::new(0));
    let mut workers = Vec::new();
    for _ in 0..LOADERS {
        let (client, next) = (client.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let a = next.fetch_add(1, Ordering::Relaxed);
                if a >= shape.apps() {
                    break;
                }
                create_app(&client, shape, a).await;
            }
        }));
    }
    for w in workers {
        w.await.expect("loader");
    }
    let (_, sample) = send(
        &client,
        "GET",
        &format!(
            "/api/v1/namespaces/{}/pods/{}",
            shape.pod(0).0,
            shape.pod(0).1
        ),
        "application/json",
        Vec::new(),
    )
    .await;
    let objects = shape.namespaces + NODES + shape.apps() * 5 + shape.pods();
    println!(
        "loaded {objects} objects over HTTPS in {:.1}s (pods are {} bytes of JSON each as served)",
        started.elapsed().as_secs_f64(),
        sample.len()
    );
    let mut go = String::new();
    let mut stdin = BufReader::new(tokio::io::stdin());
    if stdin.read_line(&mut go).await.unwrap_or(0) == 0 {
        return;
    }
    let report = updates(&client, shape).await;
    println!("{report}");
}

/// Pod updates at BENCH_RATE for BENCH_SECONDS: four in five flip a pod's readiness (the
/// kubelet's status write), one in five flips a label. Random pods, fixed seed; every write
/// changes the pod, so each one is a watch event.
/// Reports `UPDATES ok failed seconds p50_ms p99_ms`.
async fn updates(client: &kube::Client, shape: Shape) -> String {
    let rate = env_num("BENCH_RATE", 500);
    let seconds = env_num("BENCH_SECONDS", 20);
    if rate == 0 {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        return format!("UPDATES 0 0 {seconds} 0 0");
    }
    let total = rate * seconds;
    let flags = |on: bool| -> Arc<Vec<AtomicBool>> {
        Arc::new((0..shape.pods()).map(|_| AtomicBool::new(on)).collect())
    };
    let (ready, rev_a) = (flags(true), flags(true));
    // Bounded in flight: if the lab falls behind, the achieved rate says so.
    let slots = Arc::new(tokio::sync::Semaphore::new(128));
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / rate));
    let mut rng: u64 = 0x853C_49E6_748F_EA9B;
    let started = Instant::now();
    let mut writes = Vec::new();
    for seq in 0..total {
        ticker.tick().await;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let p = rng % shape.pods();
        let (ns, name) = shape.pod(p);
        let permit = slots.clone().acquire_owned().await.expect("semaphore");
        let (client, ready, rev_a) = (client.clone(), ready.clone(), rev_a.clone());
        writes.push(tokio::spawn(async move {
            let (path, patch) = if seq % 5 == 4 {
                let now_a = !rev_a[p as usize].fetch_xor(true, Ordering::Relaxed);
                let rev = if now_a { "a" } else { "b" };
                (
                    format!("/api/v1/namespaces/{ns}/pods/{name}"),
                    json!({"metadata": {"labels": {"rev": rev}}}),
                )
            } else {
                let now_ready = !ready[p as usize].fetch_xor(true, Ordering::Relaxed);
                (
                    format!("/api/v1/namespaces/{ns}/pods/{name}/status"),
                    json!({"status": pod_status(p, now_ready)}),
                )
            };
            let t = Instant::now();
            let body = serde_json::to_vec(&patch).expect("JSON");
            let (code, _) = send(
                &client,
                "PATCH",
                &path,
                "application/merge-patch+json",
                body,
            )
            .await;
            drop(permit);
            (code == 200, t.elapsed())
        }));
    }
    let mut rtts = Vec::new();
    let mut failed = 0;
    for w in writes {
        match w.await {
            Ok((true, rtt)) => rtts.push(rtt),
            _ => failed += 1,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    rtts.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (p50, p99) = if rtts.is_empty() {
        (0.0, 0.0)
    } else {
        (ms(percentile(&rtts, 0.5)), ms(percentile(&rtts, 0.99)))
    };
    format!(
        "UPDATES {} {failed} {seconds:.3} {p50:.3} {p99:.3}",
        rtts.len()
    )
}

// ---------------------------------------------------------------- the explorer (this process)

/// Watches what the watch tasks tell the App: when every kind has listed, and how many pod
/// updates arrived.
#[derive(Default)]
struct Probe {
    synced: Mutex<(HashSet<Kind>, HashMap<Kind, Instant>)>,
    /// Set right after the message that completed the last kind's list was sent to the App.
    all_synced: OnceLock<Instant>,
    pod_modified: AtomicU64,
}

impl Probe {
    /// Returns true when this message completes the set (send it, then call `mark`).
    fn observe(&self, m: &KubeMsg) -> bool {
        let mut s = self.synced.lock().expect("probe");
        match m {
            KubeMsg::State(kind, WatchState::Synced) => {
                s.0.insert(*kind);
            }
            // The store is filled before Synced; the App pulls on the Changed after it.
            KubeMsg::Changed(kind) if s.0.contains(kind) && !s.1.contains_key(kind) => {
                s.1.insert(*kind, Instant::now());
                return s.1.len() == Kind::ALL.len();
            }
            KubeMsg::Note(n) if n.kind == Kind::Pod && n.ty == NoteType::Modified => {
                self.pod_modified.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        false
    }
}

/// The keys to send, each with a label for the report.
fn key_script(shape: Shape) -> Vec<(KeyEvent, String)> {
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    let j = (key(KeyCode::Char('j')), "j".to_string());
    let typed = |text: &str| {
        let mut v = vec![(key(KeyCode::Char(':')), ":".to_string())];
        v.extend(
            text.chars()
                .map(|c| (key(KeyCode::Char(c)), format!("typing :{text}"))),
        );
        v.push((key(KeyCode::Enter), format!("Enter runs :{text}")));
        v
    };
    let mut script = Vec::new();
    for round in 0..8 {
        // Walk the whole tree, open a namespace and walk into it.
        script.extend(std::iter::repeat_n(j.clone(), 12));
        script.push((key(KeyCode::Char('l')), "l (open)".into()));
        script.extend(std::iter::repeat_n(j.clone(), 6));
        script.push((key(KeyCode::Enter), "Enter (drill in)".into()));
        script.push((key(KeyCode::Esc), "Esc".into()));
        // Open a Service's chain in one namespace, scroll it, back to the tree, browse.
        let ns = ns_name((round * 7) % shape.namespaces);
        let svc = app_name((round * 37) % shape.apps_per_ns);
        script.extend(typed(&format!("ns {ns}")));
        script.extend(typed(&format!("svc {svc}")));
        script.extend(std::iter::repeat_n(j.clone(), 10));
        script.push((key(KeyCode::Esc), "Esc".into()));
        script.extend(std::iter::repeat_n(j.clone(), 10));
        script.extend(typed("ns all"));
    }
    script
}

/// What the driver task saw while the run loop ran.
struct Phase {
    go: Instant,
    rss_settled: u64,
    /// Each key's send time and label.
    sent: Vec<(Instant, String)>,
    updates: String,
    pod_modified: u64,
}

fn wait_for_file(path: &Path) {
    for _ in 0..400 {
        if path.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the lab did not write its kubeconfig within 10 s");
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn bench() {
    let shape = Shape::from_env();
    let seconds = env_num("BENCH_SECONDS", 20);
    let key_rate = env_num("BENCH_KEYS", 20).max(1);
    let rate = env_num("BENCH_RATE", 500);
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("kubeconfig");
    let exe = std::env::current_exe().expect("own path");
    let lab = tokio::process::Command::new(&exe)
        .env(ROLE, "lab")
        .env(KUBECONFIG, &kubeconfig)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("lab process starts");
    let lab_pid = lab.id().expect("lab pid");
    wait_for_file(&kubeconfig);
    let lab_idle = rss_kib(lab_pid).0;
    let mut loader = tokio::process::Command::new(&exe)
        .env(ROLE, "load")
        .env(KUBECONFIG, &kubeconfig)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("loader starts");
    let mut loader_in = loader.stdin.take().expect("loader stdin");
    let mut loader_out = BufReader::new(loader.stdout.take().expect("loader stdout")).lines();
    println!(
        "explorer benchmark: {} namespaces, {} pods, {} Services with their EndpointSlices, Deployments and ReplicaSets, {NODES} nodes; {WIDTH}×{HEIGHT}",
        shape.namespaces,
        shape.pods(),
        shape.apps()
    );
    let loaded = loader_out
        .next_line()
        .await
        .ok()
        .flatten()
        .expect("the loader finished loading");
    println!("{loaded}");
    let lab_loaded = rss_kib(lab_pid).0;

    // The explorer, as `kdive` runs it but drawing into a TestBackend.
    println!(
        "explorer RSS before start: {:.0} MiB",
        mib(rss_kib(std::process::id()).0)
    );
    let start = Instant::now();
    let client = client_from(&kubeconfig).await;
    let (stores, writers) = kdive::sources::kube::stores();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let probe = Arc::new(Probe::default());
    let sink: Sink = {
        let (tx, probe) = (tx.clone(), probe.clone());
        Arc::new(move |m: KubeMsg| {
            let complete = probe.observe(&m);
            let _ = tx.send(Msg::Kube(m));
            if complete {
                let _ = probe.all_synced.set(Instant::now());
            }
        })
    };
    let watches = kdive::sources::kube::spawn_watches(
        client,
        &Scope::All,
        writers,
        sink,
        kdive::sources::kube::stall_window(None),
    );
    let mut app = App::new(stores, Session::default(), None);
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");

    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
    let driver = {
        let (tx, probe) = (tx.clone(), probe.clone());
        let script = key_script(shape);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(300), ready_rx).await;
            // Let the first wave of work pass before measuring memory and keys.
            tokio::time::sleep(Duration::from_secs(1)).await;
            let rss_settled = rss_kib(std::process::id()).0;
            let at_go = probe.pod_modified.load(Ordering::Relaxed);
            loader_in.write_all(b"go\n").await.expect("loader listens");
            let go = Instant::now();
            let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / key_rate));
            let mut sent = Vec::new();
            for k in 0..key_rate * seconds {
                ticker.tick().await;
                let (key, label) = &script[k as usize % script.len()];
                sent.push((Instant::now(), label.clone()));
                let _ = tx.send(Msg::Key(*key));
            }
            let updates =
                tokio::time::timeout(Duration::from_secs(seconds + 120), loader_out.next_line())
                    .await
                    .ok()
                    .and_then(|l| l.ok().flatten())
                    .unwrap_or_default();
            // The last updates' events are still on their way; give them a moment.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let pod_modified = probe.pod_modified.load(Ordering::Relaxed) - at_go;
            let _ = tx.send(Msg::Shutdown);
            Phase {
                go,
                rss_settled,
                sent,
                updates,
                pod_modified,
            }
        })
    };

    // `run`'s clock is read once per batch, before the batch is drained: a frame whose batch
    // began after the last list's messages were sent has drawn them.
    let batch_start = Cell::new(start);
    let clock = || {
        batch_start.set(Instant::now());
        chrono::Utc::now()
    };
    let frames: RefCell<Vec<FrameInfo>> = RefCell::new(Vec::new());
    let first_complete: Cell<Option<(Instant, u64, u64)>> = Cell::new(None);
    let mut ready_tx = Some(ready_tx);
    let mut on_frame = |info: FrameInfo| {
        frames.borrow_mut().push(info);
        if first_complete.get().is_none()
            && let Some(synced) = probe.all_synced.get()
            && batch_start.get() >= *synced
        {
            let rss = rss_kib(std::process::id()).0;
            first_complete.set(Some((info.at, rss, live_heap_kib())));
            if let Some(r) = ready_tx.take() {
                let _ = r.send(());
            }
        }
    };
    kdive::ui::run::run(
        &mut terminal,
        &mut app,
        &mut rx,
        &tx,
        &mut NoEffects,
        &Theme::mono(),
        &clock,
        &RunOptions::default(),
        &mut on_frame,
    )
    .await
    .expect("run loop");
    let phase = driver.await.expect("driver");
    let (rss_end, rss_peak) = rss_kib(std::process::id());
    let (lab_end, lab_peak) = rss_kib(lab_pid);
    for w in &watches {
        w.abort();
    }
    let steps = step_costs(&app, shape);
    for w in watches {
        let _ = w.await;
    }
    let heap = if COUNTING.load(Ordering::Relaxed) {
        Some(heap_breakdown(shape, first_complete.get(), &mut app).await)
    } else {
        None
    };
    drop(lab);
    drop(loader);
    report(Report {
        seconds,
        rate,
        key_rate,
        start,
        probe: &probe,
        first_complete: first_complete.get(),
        frames: &frames.borrow(),
        phase: &phase,
        rss: (phase.rss_settled, rss_end, rss_peak),
        lab: (lab_idle, lab_loaded, lab_end, lab_peak),
        screen: &terminal.backend().buffer().clone(),
    });
    println!("{steps}");
    if let Some(lines) = heap {
        println!("memory (BENCH_HEAP=1; timings from such a run are not the reference ones):");
        for l in lines {
            println!("  {l}");
        }
    }
}

/// What the steps of `App::settle` cost at this scale, each alone on the final data (median of
/// 10): where a frame's time goes.
fn step_costs(app: &App, shape: Shape) -> String {
    use kdive_core::model::objects::ObjKey;
    use kdive_core::model::tree::{self, TreeOptions};
    let median_ms = |f: &mut dyn FnMut()| {
        let mut t: Vec<Duration> = (0..10)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .collect();
        t.sort();
        t[5].as_secs_f64() * 1e3
    };
    let objects = median_ms(&mut || drop(app.objects()));
    let objs = app.objects();
    // Each data change regroups the pods once; the tree builds below reuse the groups, as a
    // key's rebuild does.
    let groups = median_ms(&mut || drop(kdive_core::model::stored_pod::PodGroups::of(&objs.pods)));
    let closed = median_ms(&mut || {
        drop(tree::build(
            &objs,
            &TreeOptions {
                scope: None,
                filter: "",
                is_open: &|_| false,
            },
        ))
    });
    let ns = ns_name(0);
    let open_ids = [
        tree::namespace_id(&ns),
        tree::group_id(&ns, Kind::Service),
        tree::group_id(&ns, Kind::Deployment),
    ];
    let is_open = |id: &str| open_ids.iter().any(|o| o == id);
    let open = median_ms(&mut || {
        drop(tree::build(
            &objs,
            &TreeOptions {
                scope: None,
                filter: "",
                is_open: &is_open,
            },
        ))
    });
    let scoped = median_ms(&mut || {
        drop(tree::build(
            &objs,
            &TreeOptions {
                scope: Some(&ns),
                filter: "",
                is_open: &is_open,
            },
        ))
    });
    let key = ObjKey::new(Kind::Service, Some(&ns), &app_name(0));
    let mut chain = kdive::ui::track::ChainTrack::new(key);
    let now = chrono::Utc::now();
    let refresh = median_ms(&mut || chain.refresh(&objs, now));
    format!(
        "settle steps on the final data ({} pods; median of 10): objects() {objects:.1} ms; pods grouped by namespace {groups:.1} ms; tree (groups reused): all namespaces closed {closed:.1} ms, {ns} with its Services and Deployments open {open:.1} ms, only {ns} (:ns) {scoped:.1} ms; one Service's chain refresh {refresh:.1} ms",
        shape.pods()
    )
}

/// Where the explorer's memory goes: live heap vs RSS, the heap one stored Pod costs, and
/// what the allocator keeps after the objects are gone.
async fn heap_breakdown(
    shape: Shape,
    first: Option<(Instant, u64, u64)>,
    app: &mut App,
) -> Vec<String> {
    use kube::runtime::reflector::store;
    let mut out = Vec::new();
    if let Some((_, rss, heap)) = first {
        out.push(format!(
            "at the first frame: live heap {:.0} MiB of {:.0} MiB RSS",
            mib(heap),
            mib(rss)
        ));
        out.push(format!(
            "live heap peak (lists and updates): {:.0} MiB; {} blocks live at the end",
            PEAK_HEAP.load(Ordering::Relaxed) as f64 / 1048576.0,
            LIVE_BLOCKS.load(Ordering::Relaxed)
        ));
    }
    out.push(format!(
        "at end: live heap {:.0} MiB of {:.0} MiB RSS",
        mib(live_heap_kib()),
        mib(rss_kib(std::process::id()).0)
    ));
    // The watches are stopped, so the App holds the only handles on the stores: dropping a
    // store frees its objects. (The App's own snapshots, the chain and the tree, go first.)
    let mut freed = |what: &str, drop_it: &mut dyn FnMut(&mut App), n: u64| {
        let before = LIVE_HEAP.load(Ordering::Relaxed);
        drop_it(app);
        let bytes = (before - LIVE_HEAP.load(Ordering::Relaxed)) as f64;
        let each = if n > 0 {
            format!(" ({:.1} KiB each)", bytes / n as f64 / 1024.0)
        } else {
            String::new()
        };
        out.push(format!("{what}: {:.1} MiB{each}", bytes / 1048576.0));
    };
    freed(
        "chain, timeline, tree and watch notes",
        &mut |a| {
            a.snapshot = None;
            a.chain = None;
            a.timeline = None;
            a.tree = Vec::new();
            a.watches.clear();
        },
        0,
    );
    freed("pods", &mut |a| a.stores.pods = store().0, shape.pods());
    freed(
        "ReplicaSets",
        &mut |a| a.stores.replica_sets = store().0,
        shape.apps(),
    );
    freed(
        "Deployments",
        &mut |a| a.stores.deployments = store().0,
        shape.apps(),
    );
    freed(
        "EndpointSlices",
        &mut |a| a.stores.endpoint_slices = store().0,
        shape.apps(),
    );
    freed(
        "Services",
        &mut |a| a.stores.services = store().0,
        shape.apps(),
    );
    freed(
        "the other kinds",
        &mut |a| {
            let (empty, _writers) = kdive::sources::kube::stores();
            a.stores = empty;
        },
        0,
    );
    let rss_before_trim = rss_kib(std::process::id()).0;
    #[cfg(target_env = "gnu")]
    {
        unsafe extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's malloc_trim only returns free memory to the system.
        unsafe {
            malloc_trim(0);
        }
    }
    out.push(format!(
        "all dropped: live heap {:.0} MiB; RSS {:.0} MiB, {:.0} MiB after malloc_trim (the rest was freed memory the allocator kept)",
        mib(live_heap_kib()),
        mib(rss_before_trim),
        mib(rss_kib(std::process::id()).0)
    ));
    out
}

struct Report<'a> {
    seconds: u64,
    rate: u64,
    key_rate: u64,
    start: Instant,
    probe: &'a Probe,
    /// When, RSS and live heap (KiB).
    first_complete: Option<(Instant, u64, u64)>,
    frames: &'a [FrameInfo],
    phase: &'a Phase,
    /// Explorer: settled, end, peak (KiB).
    rss: (u64, u64, u64),
    /// Lab: idle, loaded, end, peak (KiB).
    lab: (u64, u64, u64, u64),
    screen: &'a ratatui::buffer::Buffer,
}

fn report(r: Report) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let secs = |d: Duration| d.as_secs_f64();
    let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
    let Some(synced) = r.probe.all_synced.get().copied() else {
        println!("the watches never all synced; no figures");
        return;
    };
    let slowest = {
        let s = r.probe.synced.lock().expect("probe");
        s.1.iter()
            .max_by_key(|(_, t)| **t)
            .map(|(k, t)| (*k, *t - r.start))
    };
    let Some((first_at, rss_first, _)) = r.first_complete else {
        println!("no frame was drawn after the lists completed");
        return;
    };
    let first_frame = first_at - synced;
    println!(
        "lists: every kind synced {:.2} s after start (last: {})",
        secs(synced - r.start),
        slowest.map_or(String::new(), |(k, d)| format!(
            "{} at {:.2} s",
            k.name(),
            secs(d)
        ))
    );
    println!(
        "first complete frame: {:.0} ms after the lists completed, {:.2} s after start",
        ms(first_frame),
        secs(first_at - r.start)
    );
    let (rss_settled, rss_end, rss_peak) = r.rss;
    println!(
        "explorer RSS: at the first frame {:.0} MiB, 1 s later {:.0} MiB, at end {:.0} MiB, peak {:.0} MiB",
        mib(rss_first),
        mib(rss_settled),
        mib(rss_end),
        mib(rss_peak)
    );
    let (idle, loaded, end, peak) = r.lab;
    println!(
        "lab RSS: idle {:.0} MiB, loaded {:.0} MiB, at end {:.0} MiB, peak {:.0} MiB",
        mib(idle),
        mib(loaded),
        mib(end),
        mib(peak)
    );
    let u: Vec<&str> = r.phase.updates.split_whitespace().collect();
    let field = |i: usize| u.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let (ok, failed, took) = (field(1), field(2), field(3));
    println!(
        "updates: {ok:.0} pod PATCHes applied ({failed:.0} failed) in {took:.1} s = {:.0}/s (asked {}/s); round trip p50 {:.1} ms, p99 {:.1} ms; the explorer's pod watch saw {} MODIFIED",
        if took > 0.0 { ok / took } else { 0.0 },
        r.rate,
        field(4),
        field(5),
        r.phase.pod_modified
    );
    // Key k (1-based) is drawn by the first frame counting at least k keys.
    let mut lat = Vec::new();
    let mut labelled = Vec::new();
    let mut undrawn = 0;
    for (i, (sent, label)) in r.phase.sent.iter().enumerate() {
        let k = i as u64 + 1;
        let at = r.frames.partition_point(|f| f.keys < k);
        match r.frames.get(at) {
            Some(f) => {
                let d = f.at.saturating_duration_since(*sent);
                lat.push(d);
                labelled.push((d, label.as_str()));
            }
            None => undrawn += 1,
        }
    }
    lat.sort();
    labelled.sort_by_key(|l| std::cmp::Reverse(l.0));
    let p99 = if lat.is_empty() {
        Duration::MAX
    } else {
        percentile(&lat, 0.99)
    };
    if !lat.is_empty() {
        println!(
            "key → frame over {} keys ({}/s){}: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            lat.len(),
            r.key_rate,
            if undrawn > 0 {
                format!(" ({undrawn} never drawn)")
            } else {
                String::new()
            },
            ms(percentile(&lat, 0.5)),
            ms(percentile(&lat, 0.9)),
            ms(p99),
            ms(*lat.last().expect("non-empty"))
        );
    }
    let slowest: Vec<String> = labelled
        .iter()
        .take(6)
        .map(|(d, l)| format!("{l} {:.0} ms", ms(*d)))
        .collect();
    if !slowest.is_empty() {
        println!("slowest keys: {}", slowest.join(", "));
    }
    let mut draws: Vec<Duration> = r
        .frames
        .iter()
        .filter(|f| f.at >= r.phase.go)
        .map(|f| f.draw_time)
        .collect();
    draws.sort();
    if !draws.is_empty() {
        println!(
            "frames during the updates: {} ({:.1}/s); settle + draw median {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            draws.len(),
            draws.len() as f64 / r.seconds.max(1) as f64,
            ms(percentile(&draws, 0.5)),
            ms(percentile(&draws, 0.99)),
            ms(*draws.last().expect("non-empty"))
        );
    }
    let last_line: String = (0..r.screen.area.width)
        .map(|x| r.screen[(x, r.screen.area.height - 2)].symbol().to_string())
        .collect();
    println!("status line at the end: {}", last_line.trim_end());
    let first_ok = first_frame < Duration::from_secs(2);
    let rss_ok = rss_first.max(rss_settled) < 300 * 1024;
    let lat_ok = p99 < Duration::from_millis(50) && undrawn == 0;
    println!("targets:");
    println!(
        "  first frame < 2 s after the lists     {:>8.0} ms   {}",
        ms(first_frame),
        verdict(first_ok)
    );
    println!(
        "  explorer RSS after sync < 300 MiB     {:>8.0} MiB  {}",
        mib(rss_first.max(rss_settled)),
        verdict(rss_ok)
    );
    println!(
        "  key → frame p99 < 50 ms               {:>8.1} ms   {}",
        ms(p99),
        verdict(lat_ok)
    );
    println!(
        "  ({} pod updates/s asked, {:.0}/s achieved)",
        r.rate,
        if took > 0.0 { ok / took } else { 0.0 }
    );
    println!("targets: {}", verdict(first_ok && rss_ok && lat_ok));
}
