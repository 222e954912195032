//! `kdive triage` on the lab, as an on-call engineer meets it: a healthy app gives no
//! critical finding; each app broken the way a person breaks one with kubectl gives the
//! cause at rank 1, on the right object. Every scenario runs in its own namespace of one
//! lab, at the same time (the lab runs at real speed: triage reads ages against the
//! local clock, as kubectl's AGE does).
use crate::support as common;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use common::TestLab;
use kdive_lab::LabOptions;
use serde_json::Value;

const KDIVE: &str = env!("CARGO_BIN_EXE_kdive");

async fn triage(kubeconfig: &Path, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(KDIVE)
        .arg("triage")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KDIVE_PROMETHEUS")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap_or_else(|_| panic!("kdive triage {args:?} finished within 60s"))
        .expect("kdive runs")
}

async fn report(kubeconfig: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    let out = triage(kubeconfig, &all).await;
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "triage {args:?} prints JSON ({e}): {}\n{}",
            common::stdout(&out),
            common::stderr(&out)
        )
    });
    (out.status.code(), v)
}

/// An app as people deploy it: two replicas of the demo server with probes, a memory
/// limit, and a Service in front.
fn app(ns: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app, namespace: {ns}}}
spec:
  replicas: 2
  progressDeadlineSeconds: 40
  selector: {{matchLabels: {{app: app}}}}
  template:
    metadata: {{labels: {{app: app}}}}
    spec:
      containers:
      - name: app
        image: kdive/demo-web:1.4
        ports: [{{name: http, containerPort: 8080}}]
        env: [{{name: MODE, value: normal}}]
        resources: {{limits: {{memory: 64Mi}}, requests: {{cpu: 10m, memory: 32Mi}}}}
        readinessProbe: {{httpGet: {{path: /ready, port: http}}, periodSeconds: 2, failureThreshold: 2}}
        livenessProbe: {{httpGet: {{path: /healthz, port: http}}, periodSeconds: 2, failureThreshold: 2}}
---
apiVersion: v1
kind: Service
metadata: {{name: app, namespace: {ns}}}
spec:
  selector: {{app: app}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"#
    )
}

/// One way to break the app, and what triage must name first.
struct Breakage {
    ns: &'static str,
    /// kubectl argument lists, run in order.
    steps: Vec<Vec<String>>,
    /// A manifest applied as the first step of breaking it.
    manifest: &'static str,
    cause: &'static str,
    kind: &'static str,
    /// Causes that must appear too (linked to the first).
    also: &'static [&'static str],
}

fn kubectl(ns: &str, args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    v.extend(["-n".to_string(), ns.to_string()]);
    v
}

fn breakages() -> Vec<Breakage> {
    let b = |ns: &'static str, steps: Vec<Vec<String>>, cause, kind, also| Breakage {
        ns,
        steps,
        manifest: "",
        cause,
        kind,
        also,
    };
    vec![
        b(
            "t-selector",
            vec![kubectl(
                "t-selector",
                &[
                    "patch",
                    "service",
                    "app",
                    "-p",
                    r#"{"spec":{"selector":{"app":"ap"}}}"#,
                ],
            )],
            "selector-matches-nothing",
            "Service",
            &["endpoints-not-ready"],
        ),
        b(
            "t-zero",
            vec![kubectl(
                "t-zero",
                &["scale", "deployment", "app", "--replicas=0"],
            )],
            "scaled-to-zero",
            "Deployment",
            &["endpoints-not-ready"],
        ),
        b(
            "t-port",
            vec![kubectl(
                "t-port",
                &[
                    "patch",
                    "service",
                    "app",
                    "--type=json",
                    "-p",
                    r#"[{"op":"replace","path":"/spec/ports/0/targetPort","value":"htttp"}]"#,
                ],
            )],
            "target-port-mismatch",
            "Service",
            &[],
        ),
        b(
            "t-ready",
            vec![kubectl(
                "t-ready",
                &["set", "env", "deployment/app", "FAIL_READINESS=true"],
            )],
            "readiness-failing",
            "Pod",
            &["rollout-stuck"],
        ),
        b(
            "t-live",
            vec![kubectl(
                "t-live",
                &["set", "env", "deployment/app", "FAIL_LIVENESS=true"],
            )],
            "liveness-restarts",
            "Pod",
            &[],
        ),
        b(
            "t-crash",
            vec![kubectl(
                "t-crash",
                &[
                    "set",
                    "env",
                    "deployment/app",
                    "CRASH_AFTER_SECONDS=1",
                    "EXIT_CODE=3",
                ],
            )],
            "crash-loop",
            "Pod",
            &[],
        ),
        b(
            "t-oom",
            vec![kubectl(
                "t-oom",
                &[
                    "set",
                    "env",
                    "deployment/app",
                    "MEMORY_GROWTH_MB_PER_MIN=6000",
                ],
            )],
            "oom-killed",
            "Pod",
            &[],
        ),
        b(
            "t-sched",
            vec![kubectl(
                "t-sched",
                &["set", "resources", "deployment/app", "--requests=cpu=64"],
            )],
            "unschedulable",
            "Pod",
            &[],
        ),
        Breakage {
            ns: "t-pvc",
            manifest: "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: t-pvc}\nspec:\n  accessModes: [ReadWriteOnce]\n  storageClassName: nope\n  resources: {requests: {storage: 1Gi}}\n",
            steps: vec![kubectl(
                "t-pvc",
                &[
                    "patch",
                    "deployment",
                    "app",
                    "-p",
                    r#"{"spec":{"template":{"spec":{"volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"data"}}]}}}}"#,
                ],
            )],
            cause: "pvc-pending",
            kind: "PersistentVolumeClaim",
            also: &["unschedulable"],
        },
    ]
}

async fn until<F, Fut>(secs: u64, mut probe: F) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match probe().await {
            Ok(()) => return Ok(()),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(1500)).await,
        }
    }
}

fn causes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "{}:{}/{}",
                f["cause"].as_str().unwrap_or("?"),
                f["object"]["kind"].as_str().unwrap_or("?"),
                f["object"]["name"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// Deploys, waits for a healthy verdict, breaks, and waits for the cause at rank 1.
async fn scenario(lab: &TestLab, b: Breakage) -> Result<(), String> {
    let kc = lab.kubeconfig.clone();
    let applied = lab
        .kubectl_stdin(&["apply", "-f", "-"], Some(&app(b.ns)))
        .await
        .expect("kubectl");
    common::ok(&applied);
    until(90, || async {
        let (code, v) = report(&kc, &["-n", b.ns]).await;
        let critical = v["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["severity"] == "critical");
        if v["verdict"] == "healthy" && code == Some(0) && !critical {
            Ok(())
        } else {
            Err(format!("{}: not healthy yet: exit {code:?}, {}", b.ns, v))
        }
    })
    .await?;
    if !b.manifest.is_empty() {
        let out = lab
            .kubectl_stdin(&["apply", "-f", "-"], Some(b.manifest))
            .await
            .expect("kubectl");
        common::ok(&out);
    }
    for step in &b.steps {
        let args: Vec<&str> = step.iter().map(String::as_str).collect();
        let out = lab.kubectl(&args).await.expect("kubectl");
        common::ok(&out);
    }
    until(150, || async {
        let (code, v) = report(&kc, &["-n", b.ns]).await;
        let first = &v["findings"][0];
        let got = causes(&v);
        let ok = first["cause"] == b.cause
            && first["object"]["kind"] == b.kind
            && first["rank"] == 1
            && b.also
                .iter()
                .all(|c| got.iter().any(|g| g.starts_with(&format!("{c}:"))));
        if !ok {
            return Err(format!(
                "{}: want {} on a {} first (with {:?}); got {got:?}",
                b.ns, b.cause, b.kind, b.also
            ));
        }
        // Exit 1 exactly when something is critical.
        let critical = v["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["severity"] == "critical");
        if code != Some(if critical { 1 } else { 0 }) {
            return Err(format!("{}: exit {code:?} with critical={critical}", b.ns));
        }
        Ok(())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_breakage_is_named_at_rank_one() {
    if !common::have("kubectl") {
        return;
    }
    let _heavy = common::heavy_permit();
    let lab = TestLab::start_with(LabOptions {
        seed: 41,
        scenario: Some(std::sync::Arc::new(kdive_lab::scenario::Scenario::demo())),
        ..LabOptions::default()
    })
    .await;
    let results =
        futures::future::join_all(breakages().into_iter().map(|b| scenario(&lab, b))).await;
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The text form says the same, with the next command.
    let out = triage(&lab.kubeconfig, &["svc/app", "-n", "t-selector"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    assert!(text.starts_with("Service t-selector/app: DOWN\n"), "{text}");
    assert!(
        text.contains("1. CRITICAL selector-matches-nothing  Service t-selector/app"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"$ kubectl patch service app -n t-selector -p '{"spec":{"selector":{"app":"app"}}}'"#
        ),
        "{text}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_dns_scaled_away_is_named_with_all_namespaces() {
    if !common::have("kubectl") {
        return;
    }
    let _heavy = common::heavy_permit();
    let lab = TestLab::start_with(LabOptions {
        seed: 42,
        scenario: Some(std::sync::Arc::new(kdive_lab::scenario::Scenario::demo())),
        ..LabOptions::default()
    })
    .await;
    let kc = lab.kubeconfig.clone();
    until(90, || async {
        let (_, v) = report(&kc, &["-A"]).await;
        if v["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|f| f["severity"] == "critical")
        {
            Err(format!("demo not settled: {:?}", causes(&v)))
        } else {
            Ok(())
        }
    })
    .await
    .expect("the demo settles with nothing critical");
    let scaled = lab
        .kubectl(&[
            "scale",
            "deployment",
            "coredns",
            "-n",
            "kube-system",
            "--replicas=0",
        ])
        .await
        .expect("kubectl");
    common::ok(&scaled);
    until(90, || async {
        let (code, v) = report(&kc, &["-A"]).await;
        let got = causes(&v);
        if got.first().map(String::as_str) == Some("dns-unavailable:Service/kube-dns")
            && code == Some(1)
        {
            Ok(())
        } else {
            Err(format!(
                "want dns-unavailable first, exit 1; got {got:?}, exit {code:?}"
            ))
        }
    })
    .await
    .expect("DNS named");
    // A namespace's own triage does not blame DNS.
    let (_, v) = report(&kc, &["-n", "demo"]).await;
    assert!(
        !causes(&v).iter().any(|c| c.starts_with("dns-unavailable")),
        "{v}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_targets_exit_2_naming_what_exists() {
    let lab = TestLab::start_with(LabOptions {
        seed: 43,
        scenario: Some(std::sync::Arc::new(kdive_lab::scenario::Scenario::demo())),
        simulate: false,
        ..LabOptions::default()
    })
    .await;
    for (args, needle) in [
        (
            vec!["svc/wbe", "-n", "demo"],
            "svc/wbe not found in namespace demo (Services in demo: postgres, web)",
        ),
        (vec!["cm/web", "-n", "demo"], "unknown kind \"cm\""),
        (vec!["web"], "expected KIND/NAME"),
        (
            vec!["svc/web", "-A"],
            "cannot be retrieved by name across all namespaces",
        ),
        (vec!["-n", "nope"], "namespace \"nope\" not found"),
        (vec!["--since", "soon"], "--since soon"),
    ] {
        let out = triage(&lab.kubeconfig, &args).await;
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: want {needle:?} in {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    lab.stop().await;
}
