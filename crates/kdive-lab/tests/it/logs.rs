//! `kubectl logs` against simulated containers: each run's own log, `-p`, `--tail`,
//! `--since`, `--timestamps`, `--limit-bytes`, `-c` and `-f` ending with the container.

use crate::support as common;

use std::time::Duration;

use common::{TestLab, ok, stderr};

use crate::kubelet::{apply, fast_lab, jsonpath, node_yaml, poll};

macro_rules! kubectl {
    ($lab:expr, $($arg:expr),+ $(,)?) => {
        match $lab.kubectl(&[$($arg),+]).await {
            Some(out) => out,
            None => return,
        }
    };
}

const PODS: &str = "apiVersion: v1
kind: Pod
metadata: {name: crash}
spec:
  nodeName: worker-1
  containers:
  - name: app
    image: kdive/demo-web:1.4
    env: [{name: CRASH_AFTER_SECONDS, value: \"4\"}, {name: EXIT_CODE, value: \"2\"}]
    livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: oom}
spec:
  nodeName: worker-1
  containers:
  - name: app
    image: kdive/demo-web:1.4
    env: [{name: MEMORY_GROWTH_MB_PER_MIN, value: \"600\"}]
    resources: {limits: {memory: 64Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  nodeName: worker-1
  terminationGracePeriodSeconds: 5
  containers:
  - name: web
    image: nginx:1.27
    readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 2}
  - name: side
    image: busybox:1.36
    command: [sh, -c, \"echo hello from side; sleep 3600\"]
";

async fn lab_with_pods() -> Option<TestLab> {
    let lab = fast_lab().await;
    if !apply(&lab, "node.yaml", &node_yaml("worker-1", "10.244.1.0/24")).await {
        return None;
    }
    assert!(apply(&lab, "pods.yaml", PODS).await);
    Some(lab)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_run_has_its_own_log_and_previous_is_the_last_one_that_ended() {
    let Some(lab) = lab_with_pods().await else {
        return;
    };
    let restarts = jsonpath("{.status.containerStatuses[0].restartCount}");
    poll(&lab, &["get", "pod", "crash", "-o", &restarts], 30, |t| {
        t.parse::<i32>().is_ok_and(|n| n >= 1)
    })
    .await;
    let prev = ok(&kubectl!(lab, "logs", "crash", "-p"));
    assert!(
        prev.contains("msg=\"starting server\" image=kdive/demo-web:1.4"),
        "{prev}"
    );
    assert!(prev.contains("msg=listening addr=:8080"), "{prev}");
    // Liveness probes are requests the server logs.
    assert!(prev.contains("path=/healthz status=200"), "{prev}");
    let last = ok(&kubectl!(lab, "logs", "crash", "-p", "--tail=1"));
    assert_eq!(last.lines().count(), 1, "{last}");
    assert!(
        last.contains("msg=\"fatal error, exiting\" exit_code=2"),
        "{last}"
    );
    let stamped = ok(&kubectl!(
        lab,
        "logs",
        "crash",
        "-p",
        "--tail=2",
        "--timestamps"
    ));
    for line in stamped.lines() {
        let (ts, _) = line.split_once(' ').expect("a timestamp, then the line");
        assert!(
            chrono::DateTime::parse_from_rfc3339(ts).is_ok(),
            "{ts} in {stamped}"
        );
    }
    let limited = ok(&kubectl!(lab, "logs", "crash", "-p", "--limit-bytes=12"));
    assert_eq!(limited.len(), 12, "{limited:?}");

    let oom = jsonpath("{.status.containerStatuses[0].lastState.terminated.reason}");
    poll(&lab, &["get", "pod", "oom", "-o", &oom], 30, |t| {
        t == "OOMKilled"
    })
    .await;
    let prev = ok(&kubectl!(lab, "logs", "oom", "-p", "--tail=1"));
    assert!(
        prev.contains("msg=\"memory in use is near the limit\"") && prev.contains("limit_mib=64"),
        "{prev}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_containers_and_since_are_the_real_ones() {
    let Some(lab) = lab_with_pods().await else {
        return;
    };
    let ready = jsonpath("{.status.containerStatuses[*].ready}");
    poll(&lab, &["get", "pod", "two", "-o", &ready], 30, |t| {
        t == "true true"
    })
    .await;
    // kubelet's validateContainerLogStatus (pkg/kubelet/kubelet_pods.go):
    // "previous terminated container %q in pod %q not found".
    let out = kubectl!(lab, "logs", "two", "-c", "web", "-p");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("previous terminated container \"web\" in pod \"two\" not found"),
        "{}",
        stderr(&out)
    );
    let side = ok(&kubectl!(lab, "logs", "two", "-c", "side"));
    assert_eq!(side, "hello from side\n");
    let web = ok(&kubectl!(lab, "logs", "two", "-c", "web"));
    assert!(
        web.contains("[notice] 1#1: start worker processes"),
        "{web}"
    );
    poll(&lab, &["logs", "two", "-c", "web"], 30, |t| {
        t.contains("\"GET / HTTP/1.1\" 200 615 \"-\" \"kube-probe/1.32\"")
    })
    .await;
    // Lines are in time order, so --since keeps a suffix of the log.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let recent = ok(&kubectl!(lab, "logs", "two", "-c", "web", "--since=3s"));
    let all = ok(&kubectl!(lab, "logs", "two", "-c", "web"));
    assert!(
        recent.lines().count() < all.lines().count() && recent.lines().all(|l| all.contains(l)),
        "{recent}\n--\n{all}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_streams_new_lines_and_ends_when_the_container_stops() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let Some(lab) = lab_with_pods().await else {
        return;
    };
    let ready = jsonpath("{.status.containerStatuses[0].ready}");
    poll(&lab, &["get", "pod", "two", "-o", &ready], 30, |t| {
        t == "true"
    })
    .await;
    let mut child = tokio::process::Command::new("kubectl")
        .args(["logs", "-f", "two", "-c", "web", "--tail=1"])
        .env("KUBECONFIG", &lab.kubeconfig)
        .env("KUBECACHEDIR", lab.dir.path().join("cache"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("kubectl spawns");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut seen = Vec::new();
    // Readiness probes every 2 s (0.2 s at 10x): new lines arrive while following.
    while seen.len() < 4 {
        match tokio::time::timeout(Duration::from_secs(20), lines.next_line()).await {
            Ok(Ok(Some(line))) => seen.push(line),
            other => panic!("follow ended early ({other:?}): {seen:#?}"),
        }
    }
    assert!(
        seen[1..].iter().all(|l| l.contains("kube-probe/1.32")),
        "{seen:#?}"
    );
    ok(&kubectl!(lab, "delete", "pod", "two", "--wait=false"));
    let rest = tokio::time::timeout(Duration::from_secs(20), async {
        let mut rest = Vec::new();
        while let Ok(Some(line)) = lines.next_line().await {
            rest.push(line);
        }
        rest
    })
    .await
    .expect("the follow ends when the container stops");
    let tail = rest.join("\n");
    assert!(
        tail.contains("signal 3 (SIGQUIT) received, shutting down"),
        "{tail}"
    );
    assert!(tail.ends_with("[notice] 1#1: exit"), "{tail}");
    let _ = child.wait().await;
    lab.stop().await;
}
