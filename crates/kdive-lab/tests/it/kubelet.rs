//! Simulated kubelets against the real kubectl: a lab at 10x speed, a Node object created
//! first and pods bound to it with spec.nodeName (no scheduler involved).

use crate::support as common;

use std::time::{Duration, Instant};

use common::{TestLab, ok, stdout};
use kdive_lab::LabOptions;

macro_rules! kubectl {
    ($lab:expr, $($arg:expr),+ $(,)?) => {
        match $lab.kubectl(&[$($arg),+]).await {
            Some(out) => out,
            None => return,
        }
    };
}

pub(crate) async fn fast_lab() -> TestLab {
    TestLab::start_with(LabOptions {
        seed: 7,
        speed: 10.0,
        ..LabOptions::default()
    })
    .await
}

pub(crate) fn node_yaml(name: &str, cidr: &str) -> String {
    format!(
        "apiVersion: v1
kind: Node
metadata:
  name: {name}
  labels: {{kubernetes.io/hostname: {name}}}
spec:
  podCIDR: {cidr}
  podCIDRs: [{cidr}]
"
    )
}

/// Applies YAML through kubectl; false when kubectl is missing (the test then returns).
pub(crate) async fn apply(lab: &TestLab, file: &str, yaml: &str) -> bool {
    let path = lab.write_file(file, yaml);
    match lab.kubectl(&["apply", "-f", path.to_str().unwrap()]).await {
        Some(out) => {
            ok(&out);
            true
        }
        None => false,
    }
}

/// Runs kubectl until `done` accepts its stdout, or panics after `secs` real seconds.
pub(crate) async fn poll(
    lab: &TestLab,
    args: &[&str],
    secs: u64,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let out = lab.kubectl(args).await.expect("kubectl present");
        let text = stdout(&out);
        if done(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting on kubectl {args:?}; last output:\n{text}\n{}",
            common::stderr(&out)
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Runs a watching kubectl and collects its output lines until `done` accepts them, or
/// panics after `secs` real seconds.
async fn watch_rows(
    lab: &TestLab,
    args: &[&str],
    secs: u64,
    done: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", &lab.kubeconfig)
        .env("KUBECACHEDIR", lab.dir.path().join("cache"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("kubectl spawns");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut rows = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done(&rows) {
        match tokio::time::timeout_at(deadline, lines.next_line()).await {
            Ok(Ok(Some(line))) => rows.push(line),
            other => panic!("watch ended or timed out ({other:?}); rows: {rows:#?}"),
        }
    }
    let _ = child.kill().await;
    rows
}

pub(crate) fn jsonpath(expr: &str) -> String {
    format!("jsonpath={expr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_pod_runs_ready_with_an_ip_from_the_node_cidr() {
    let lab = fast_lab().await;
    if !apply(&lab, "node.yaml", &node_yaml("worker-1", "10.244.1.0/24")).await {
        return;
    }
    ok(&kubectl!(
        lab,
        "wait",
        "--for=condition=Ready",
        "node/worker-1",
        "--timeout=30s"
    ));
    let nodes = ok(&kubectl!(lab, "get", "nodes"));
    let row = nodes.lines().find(|l| l.starts_with("worker-1")).unwrap();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cols[1], "Ready", "{nodes}");
    assert_eq!(cols.last(), Some(&"v1.32.2"), "{nodes}");
    let pod = "apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  nodeName: worker-1
  containers: [{name: web, image: nginx:1.27, ports: [{containerPort: 80}]}]
";
    assert!(apply(&lab, "pod.yaml", pod).await);
    ok(&kubectl!(
        lab,
        "wait",
        "--for=condition=Ready",
        "pod/web",
        "--timeout=30s"
    ));
    // The first address host-local hands out: .1 is the bridge gateway.
    let ip = ok(&kubectl!(
        lab,
        "get",
        "pod",
        "web",
        "-o",
        &jsonpath("{.status.podIP}")
    ));
    assert_eq!(ip, "10.244.1.2");
    let host = ok(&kubectl!(
        lab,
        "get",
        "pod",
        "web",
        "-o",
        &jsonpath("{.status.hostIP}")
    ));
    let internal = ok(&kubectl!(
        lab,
        "get",
        "node",
        "worker-1",
        "-o",
        &jsonpath("{.status.addresses[?(@.type==\"InternalIP\")].address}")
    ));
    assert_eq!(host, internal);
    let get = ok(&kubectl!(lab, "get", "pod", "web"));
    let cols: Vec<&str> = get.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&cols[..4], ["web", "1/1", "Running", "0"], "{get}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pod_cidr_gives_failed_create_pod_sandbox() {
    let lab = fast_lab().await;
    // A /30 holds exactly one pod address (.2).
    if !apply(&lab, "node.yaml", &node_yaml("tiny", "10.244.9.0/30")).await {
        return;
    }
    let pod = |name: &str| {
        format!(
            "apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: tiny
  containers: [{{name: c, image: nginx:1.27}}]
"
        )
    };
    assert!(apply(&lab, "a.yaml", &pod("a")).await);
    ok(&kubectl!(
        lab,
        "wait",
        "--for=condition=Ready",
        "pod/a",
        "--timeout=30s"
    ));
    assert!(apply(&lab, "b.yaml", &pod("b")).await);
    let events = poll(&lab, &["get", "events"], 20, |t| {
        t.contains("FailedCreatePodSandBox")
    })
    .await;
    assert!(
        events.contains("no IP addresses available in range set: 10.244.9.1-10.244.9.2"),
        "{events}"
    );
    let phase = ok(&kubectl!(
        lab,
        "get",
        "pod",
        "b",
        "-o",
        &jsonpath("{.status.phase}")
    ));
    assert_eq!(phase, "Pending");
    // Freeing the address lets the retry (every 10 s simulated) succeed.
    ok(&kubectl!(
        lab,
        "delete",
        "pod",
        "a",
        "--grace-period=0",
        "--force"
    ));
    ok(&kubectl!(
        lab,
        "wait",
        "--for=condition=Ready",
        "pod/b",
        "--timeout=30s"
    ));
    let ip = ok(&kubectl!(
        lab,
        "get",
        "pod",
        "b",
        "-o",
        &jsonpath("{.status.podIP}")
    ));
    assert_eq!(ip, "10.244.9.2");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_readiness_probe_on_a_wrong_port_keeps_the_pod_unready() {
    let lab = fast_lab().await;
    if !apply(&lab, "node.yaml", &node_yaml("worker-1", "10.244.1.0/24")).await {
        return;
    }
    let pod = "apiVersion: v1
kind: Pod
metadata: {name: probed}
spec:
  nodeName: worker-1
  containers:
  - name: web
    image: nginx:1.27
    ports: [{containerPort: 80}]
    readinessProbe: {tcpSocket: {port: 8081}, periodSeconds: 2}
";
    assert!(apply(&lab, "pod.yaml", pod).await);
    let events = poll(&lab, &["get", "events"], 20, |t| t.contains("Unhealthy")).await;
    let ip = ok(&kubectl!(
        lab,
        "get",
        "pod",
        "probed",
        "-o",
        &jsonpath("{.status.podIP}")
    ));
    let message =
        format!("Readiness probe failed: dial tcp {ip}:8081: connect: connection refused");
    assert!(events.contains(&message), "{message} in {events}");
    let get = ok(&kubectl!(lab, "get", "pod", "probed"));
    let cols: Vec<&str> = get.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&cols[..4], ["probed", "0/1", "Running", "0"], "{get}");
    let uid = ok(&kubectl!(
        lab,
        "get",
        "pod",
        "probed",
        "-o",
        &jsonpath("{.metadata.uid}")
    ));
    let failed = lab.lab.control_plane.metrics.value(
        "prober_probe_total",
        &[
            ("container", "web"),
            ("namespace", "default"),
            ("pod", "probed"),
            ("pod_uid", &uid),
            ("probe_type", "Readiness"),
            ("result", "failed"),
        ],
    );
    assert!(failed.is_some_and(|n| n >= 1.0), "{failed:?}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_above_the_limit_is_oomkilled_then_crash_loops() {
    let lab = fast_lab().await;
    if !apply(&lab, "node.yaml", &node_yaml("worker-1", "10.244.1.0/24")).await {
        return;
    }
    // 20 MiB at rest + 10 MiB/s passes 64Mi about 4.4 s after each start.
    let pod = "apiVersion: v1
kind: Pod
metadata: {name: leaky}
spec:
  nodeName: worker-1
  containers:
  - name: web
    image: kdive/demo-web:1
    env: [{name: MEMORY_GROWTH_MB_PER_MIN, value: \"600\"}]
    resources: {limits: {memory: 64Mi}}
";
    assert!(apply(&lab, "pod.yaml", pod).await);
    let row = |t: &str| -> Vec<String> {
        t.lines()
            .nth(1)
            .unwrap_or("")
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    // Every status kubelet writes reaches a watch: the exit shows as OOMKilled (for one
    // simulated relist second) before the back-off shows as CrashLoopBackOff.
    let seen = watch_rows(&lab, &["get", "pod", "leaky", "-w"], 30, |rows| {
        let oom = rows.iter().position(|r| r.contains(" OOMKilled "));
        oom.is_some_and(|i| rows[i..].iter().any(|r| r.contains(" CrashLoopBackOff ")))
    })
    .await;
    assert!(seen[0].starts_with("NAME"), "{seen:?}");
    let first = poll(&lab, &["get", "pod", "leaky"], 30, |t| {
        row(t).get(2).is_some_and(|s| s == "CrashLoopBackOff")
    })
    .await;
    let restarts: i64 = row(&first)[3].parse().unwrap();
    assert!(restarts >= 1, "{first}");
    let last = ok(&kubectl!(
        lab,
        "get",
        "pod",
        "leaky",
        "-o",
        &jsonpath(
            "{.status.containerStatuses[0].lastState.terminated.reason} {.status.containerStatuses[0].lastState.terminated.exitCode}"
        )
    ));
    assert_eq!(last, "OOMKilled 137");
    // The back-off ends, it runs and is killed again: the count rises.
    poll(&lab, &["get", "pod", "leaky"], 30, |t| {
        row(t)
            .get(3)
            .and_then(|r| r.parse::<i64>().ok())
            .is_some_and(|r| r > restarts)
    })
    .await;
    let events = ok(&kubectl!(lab, "get", "events"));
    assert!(
        events.contains("Back-off restarting failed container web in pod leaky_default("),
        "{events}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_pods_terminate_within_their_grace_and_force_is_immediate() {
    let lab = fast_lab().await;
    if !apply(&lab, "node.yaml", &node_yaml("worker-1", "10.244.1.0/24")).await {
        return;
    }
    // Ignores SIGTERM: only the SIGKILL at the end of its 20 s grace stops it.
    let pods = "apiVersion: v1
kind: Pod
metadata: {name: stubborn}
spec:
  nodeName: worker-1
  terminationGracePeriodSeconds: 20
  containers:
  - name: web
    image: kdive/demo-web:1
    env: [{name: IGNORE_SIGTERM, value: \"true\"}]
---
apiVersion: v1
kind: Pod
metadata: {name: forced}
spec:
  nodeName: worker-1
  containers: [{name: web, image: nginx:1.27}]
";
    assert!(apply(&lab, "pods.yaml", pods).await);
    ok(&kubectl!(
        lab,
        "wait",
        "--for=condition=Ready",
        "pod/stubborn",
        "pod/forced",
        "--timeout=30s"
    ));
    let started = Instant::now();
    ok(&kubectl!(lab, "delete", "pod", "stubborn", "--wait=false"));
    let get = ok(&kubectl!(lab, "get", "pod", "stubborn"));
    assert!(get.contains("Terminating"), "{get}");
    let grace = ok(&kubectl!(
        lab,
        "get",
        "pod",
        "stubborn",
        "-o",
        &jsonpath("{.metadata.deletionGracePeriodSeconds}")
    ));
    assert_eq!(grace, "20");
    // Gone once the 20 s (2 s real at 10x) are up, not before.
    poll(&lab, &["get", "pods", "-o", "name"], 15, |t| {
        !t.contains("pod/stubborn")
    })
    .await;
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(1500), "gone after {took:?}");
    let events = ok(&kubectl!(lab, "get", "events"));
    assert!(events.contains("Stopping container web"), "{events}");
    // Forced: gone at once, no kubelet involved.
    ok(&kubectl!(
        lab,
        "delete",
        "pod",
        "forced",
        "--grace-period=0",
        "--force"
    ));
    let out = kubectl!(lab, "get", "pod", "forced");
    assert!(!out.status.success());
    assert!(
        common::stderr(&out).contains("pods \"forced\" not found"),
        "{}",
        common::stderr(&out)
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_with_running_pods_is_deleted_once_kubelets_finish_them() {
    let lab = fast_lab().await;
    if !apply(&lab, "node.yaml", &node_yaml("worker-1", "10.244.1.0/24")).await {
        return;
    }
    // 10 s of ignored SIGTERM: the namespace waits for the kubelet to kill it.
    let objects = "apiVersion: v1
kind: Namespace
metadata: {name: work}
---
apiVersion: v1
kind: Pod
metadata: {name: slow, namespace: work}
spec:
  nodeName: worker-1
  terminationGracePeriodSeconds: 10
  containers:
  - name: web
    image: kdive/demo-web:1
    env: [{name: IGNORE_SIGTERM, value: \"true\"}]
";
    assert!(apply(&lab, "ns.yaml", objects).await);
    ok(&kubectl!(
        lab,
        "wait",
        "-n",
        "work",
        "--for=condition=Ready",
        "pod/slow",
        "--timeout=30s"
    ));
    ok(&kubectl!(lab, "delete", "ns", "work", "--wait=false"));
    let pods = poll(&lab, &["get", "pods", "-n", "work"], 15, |t| {
        t.contains("Terminating")
    })
    .await;
    assert!(pods.contains("slow"), "{pods}");
    poll(&lab, &["get", "ns", "-o", "name"], 20, |t| {
        !t.contains("namespace/work")
    })
    .await;
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_of_a_container_not_started_yet_say_it_is_waiting() {
    // A slow clock: the 1 s sandbox creation takes 100 s, so the pod stays in
    // ContainerCreating for the whole test.
    let lab = TestLab::start_with(LabOptions {
        seed: 7,
        speed: 0.01,
        ..LabOptions::default()
    })
    .await;
    if !apply(&lab, "node.yaml", &node_yaml("worker-1", "10.244.1.0/24")).await {
        return;
    }
    let pod = "apiVersion: v1
kind: Pod
metadata: {name: web-1}
spec:
  nodeName: worker-1
  containers: [{name: web, image: nginx:1.27}]
";
    assert!(apply(&lab, "pod.yaml", pod).await);
    let reason = jsonpath("{.status.containerStatuses[0].state.waiting.reason}");
    poll(&lab, &["get", "pod", "web-1", "-o", &reason], 15, |t| {
        t == "ContainerCreating"
    })
    .await;
    let out = kubectl!(lab, "logs", "web-1");
    assert!(!out.status.success());
    assert!(
        common::stderr(&out)
            .contains("container \"web\" in pod \"web-1\" is waiting to start: ContainerCreating"),
        "{}",
        common::stderr(&out)
    );
    lab.stop().await;
}
