//! `kdive lab` as a user runs it: what it prints, the kubeconfig it writes, and a clean stop
//! on SIGTERM and Ctrl-C.

use crate::support as common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn start_lab(kubeconfig: &std::path::Path) -> (std::process::Child, Vec<String>) {
    start_with(&["lab"], kubeconfig)
}

/// Starts `kdive ARGS --kubeconfig-out PATH` and reads its announcement (five lines).
fn start_with(args: &[&str], kubeconfig: &std::path::Path) -> (std::process::Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(args)
        .arg("--kubeconfig-out")
        .arg(kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kdive lab starts");
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    for _ in 0..5 {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        lines.push(line.trim_end().to_string());
    }
    (child, lines)
}

fn wait_exit(child: &mut std::process::Child, within: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(
            start.elapsed() < within,
            "kdive lab did not stop within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(child: &std::process::Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn prints_url_and_kubeconfig_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("kubeconfig");
    let (mut child, lines) = start_lab(&path);
    assert!(
        lines[0].starts_with("kdive lab is serving the Kubernetes API at https://127.0.0.1:"),
        "{lines:?}"
    );
    assert_eq!(lines[1], format!("kubeconfig: {}", path.display()));
    assert_eq!(lines[2], format!("export KUBECONFIG={}", path.display()));
    let demo = kdive_lab::scenario::Scenario::demo();
    assert_eq!(
        lines[3],
        format!(
            "scenario: the demo cluster ({} objects, {} traffic source); clock speed 1x",
            demo.objects.len(),
            demo.traffic.len()
        )
    );

    let text = std::fs::read_to_string(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the kubeconfig holds a token: owner-only");
    let kc = kube::config::Kubeconfig::from_yaml(&text).unwrap();
    assert_eq!(kc.current_context.as_deref(), Some("kdive-lab"));
    assert_eq!(kc.clusters[0].name, "kdive-lab");
    assert_eq!(kc.auth_infos[0].name, "kdive-lab");
    let cluster = kc.clusters[0].cluster.as_ref().unwrap();
    assert!(
        cluster
            .server
            .as_deref()
            .unwrap()
            .starts_with("https://127.0.0.1:")
    );
    assert!(cluster.certificate_authority_data.is_some());

    if common::have("kubectl") {
        let out = Command::new("kubectl")
            .args(["version", "-o", "json"])
            .env("KUBECONFIG", &path)
            .env("KUBECACHEDIR", dir.path().join("cache"))
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        assert_eq!(
            v["serverVersion"]["minor"],
            "32",
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    signal(&child, "-TERM");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "clean exit on SIGTERM: {status}");
}

#[test]
fn stops_on_ctrl_c_with_an_open_watch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let (mut child, _) = start_lab(&path);
    let watcher = if common::have("kubectl") {
        Some(
            Command::new("kubectl")
                .args(["get", "pods", "-A", "-w"])
                .env("KUBECONFIG", &path)
                .env("KUBECACHEDIR", dir.path().join("cache"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    } else {
        None
    };
    std::thread::sleep(Duration::from_millis(800));
    signal(&child, "-INT");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert!(status.success(), "clean exit on Ctrl-C: {status}");
    if let Some(mut w) = watcher {
        // The watch connection was closed by the server, so kubectl ends too.
        let _ = wait_exit(&mut w, Duration::from_secs(30));
    }
}

#[test]
fn refuses_a_non_loopback_address() {
    let out = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args([
            "lab",
            "--addr",
            "0.0.0.0:0",
            "--kubeconfig-out",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("only listens on loopback"), "{err}");
}

#[test]
fn top_level_lab_flag_runs_the_lab() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(["--lab", "--kubeconfig-out"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "kubeconfig written"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}

/// `kdive --lab` takes the options of `kdive lab` (here without a terminal, so it runs the lab
/// alone and announces it the same way); given without `--lab` they are an error.
#[test]
fn top_level_lab_takes_the_lab_options() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let (mut child, lines) = start_with(
        &[
            "--lab",
            "--empty",
            "--no-prometheus",
            "--seed",
            "3",
            "--speed",
            "2",
        ],
        &path,
    );
    let text = lines.join("\n");
    assert!(
        text.contains("scenario: an empty cluster; clock speed 2x"),
        "{text}"
    );
    assert!(
        text.contains("Prometheus: not started (--no-prometheus)"),
        "{text}"
    );
    let kubeconfig = std::fs::read_to_string(&path).unwrap();
    assert!(!kubeconfig.contains("kdive.dev/prometheus"), "{kubeconfig}");
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());

    let out = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(["--seed", "3", "--no-prometheus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--seed, --no-prometheus need --lab (or the `kdive lab` command)"),
        "{err}"
    );
}

#[test]
fn a_bad_scenario_file_is_refused_with_its_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("broken.yaml");
    std::fs::write(
        &scenario,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: v1\nkind: Widget\nmetadata: {name: w}\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(["lab", "--kubeconfig-out", "/dev/null", "--scenario"])
        .arg(&scenario)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "{}:5: the lab does not serve Widget in v1",
        scenario.display()
    );
    assert!(err.contains(&expected), "{err}");

    let out = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(["lab", "--speed", "0", "--kubeconfig-out", "/dev/null"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a speed"), "{err}");
}

/// `--max-pods` caps the lab's pods: one more is refused as ResourceQuota admission words it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_pods_refuses_the_pod_beyond_it() {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, PostParams};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    let (mut child, _) = start_with(
        &["lab", "--empty", "--no-prometheus", "--max-pods", "1"],
        &path,
    );
    let kc = kube::config::Kubeconfig::read_from(&path).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let pods: Api<Pod> = Api::namespaced(kube::Client::try_from(config).unwrap(), "default");
    let pod = |name: &str| -> Pod {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]},
        }))
        .unwrap()
    };
    pods.create(&PostParams::default(), &pod("a"))
        .await
        .expect("under the cap");
    let err = pods
        .create(&PostParams::default(), &pod("b"))
        .await
        .expect_err("over the cap");
    let kube::Error::Api(status) = err else {
        panic!("not a Status: {err}");
    };
    assert_eq!(status.code, 403);
    assert_eq!(
        status.message,
        "pods \"b\" is forbidden: exceeded quota: kdive-lab-max-pods, requested: pods=1, used: pods=1, limited: pods=1"
    );
    signal(&child, "-TERM");
    assert!(wait_exit(&mut child, Duration::from_secs(10)).success());
}
