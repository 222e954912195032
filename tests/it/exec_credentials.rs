//! Kubeconfigs whose user is an `exec` credential plugin, as `aws eks get-token` writes
//! them (`client.authentication.k8s.io/v1beta1` and `v1`): against the lab, with a small
//! plugin that hands out the lab's token with an expiry and counts its runs. One run serves
//! a whole command; an expiring token is fetched again in a long session; a failing plugin
//! is named by its command and stderr, never by its environment.
use crate::support as common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::TestLab;
use kdive_lab::LabOptions;

const PLUGIN: &str = r#"#!/bin/sh
echo run >> "$KDIVE_TEST_COUNT"
if [ -n "$KDIVE_TEST_FAIL" ]; then
  echo "error: the SSO session associated with this profile has expired" >&2
  exit 255
fi
exp=$(date -u -d "+$KDIVE_TEST_LIFETIME seconds" +%Y-%m-%dT%H:%M:%SZ)
printf '{"apiVersion":"%s","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' \
  "$KDIVE_TEST_API" "$(cat "$KDIVE_TEST_TOKEN")" "$exp"
"#;

struct Plugin {
    kubeconfig: PathBuf,
    count: PathBuf,
}

impl Plugin {
    fn runs(&self) -> usize {
        std::fs::read_to_string(&self.count)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}

/// Writes the plugin and a kubeconfig whose user runs it; the lab's token goes in a file
/// only the plugin reads.
fn plugin(lab: &TestLab, api: &str, lifetime_secs: u64, fail: bool) -> Plugin {
    let dir = lab.dir.path();
    let lab_kc: serde_json::Value =
        serde_saphyr::from_str(&lab.lab.kubeconfig()).expect("lab kubeconfig");
    let token = lab_kc["users"][0]["user"]["token"]
        .as_str()
        .expect("token")
        .to_string();
    let cluster = &lab_kc["clusters"][0]["cluster"];
    let tag = format!("{}-{lifetime_secs}-{fail}", api.replace(['.', '/'], "-"));
    let script = dir.join(format!("plugin-{tag}.sh"));
    std::fs::write(&script, PLUGIN).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let token_file = dir.join(format!("token-{tag}"));
    std::fs::write(&token_file, token).unwrap();
    let count = dir.join(format!("count-{tag}"));
    let mut env = vec![
        serde_json::json!({"name": "KDIVE_TEST_COUNT", "value": count.display().to_string()}),
        serde_json::json!({"name": "KDIVE_TEST_TOKEN", "value": token_file.display().to_string()}),
        serde_json::json!({"name": "KDIVE_TEST_API", "value": api}),
        serde_json::json!({"name": "KDIVE_TEST_LIFETIME", "value": lifetime_secs.to_string()}),
    ];
    if fail {
        env.push(serde_json::json!({"name": "KDIVE_TEST_FAIL", "value": "1"}));
    }
    let kc = serde_json::json!({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "eks", "cluster": {"server": cluster["server"], "certificate-authority-data": cluster["certificate-authority-data"]}}],
        "users": [{"name": "eks", "user": {"exec": {"apiVersion": api, "command": script.display().to_string(),
            "args": ["--cluster-name", "lab"], "env": env, "interactiveMode": "Never"}}}],
        "contexts": [{"name": "eks", "context": {"cluster": "eks", "user": "eks", "namespace": "demo"}}],
        "current-context": "eks"
    });
    let kubeconfig = dir.join(format!("kubeconfig-{tag}"));
    std::fs::write(&kubeconfig, serde_json::to_string(&kc).unwrap()).unwrap();
    Plugin { kubeconfig, count }
}

async fn kdive(kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KDIVE_PROMETHEUS")
        .output()
        .await
        .expect("kdive runs")
}

async fn lab() -> TestLab {
    TestLab::start_with(LabOptions {
        seed: 51,
        scenario: Some(std::sync::Arc::new(kdive_lab::scenario::Scenario::demo())),
        simulate: false,
        ..LabOptions::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_run_with_an_exec_plugin_once_per_token() {
    let lab = lab().await;
    for api in [
        "client.authentication.k8s.io/v1beta1",
        "client.authentication.k8s.io/v1",
    ] {
        let p = plugin(&lab, api, 900, false);
        // Thirteen lists at once share one token until it expires: the runs are those of
        // building the client (kube-rs asks the plugin for a client certificate too), not
        // one per request.
        let out = kdive(&p.kubeconfig, &["triage", "-o", "json"]).await;
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "{api}: {}",
            common::stderr(&out)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(v["target"]["name"], "demo", "the context's namespace");
        let per_command = p.runs();
        assert!((1..=3).contains(&per_command), "{api}: {per_command} runs");
        let out = kdive(
            &p.kubeconfig,
            &["chain", "svc/web", "-n", "demo", "-o", "json"],
        )
        .await;
        assert!(out.status.success(), "{api}: {}", common::stderr(&out));
        assert_eq!(
            p.runs(),
            2 * per_command,
            "{api}: as many runs for a command of 7 lists"
        );
    }
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiring_token_is_fetched_again_in_a_long_session() {
    let lab = lab().await;
    // kube-rs renews a token within 60 s of its expiry: 61 s of life is one second of use.
    let p = plugin(&lab, "client.authentication.k8s.io/v1beta1", 61, false);
    let client = kdive::sources::connect(Some(&p.kubeconfig), None)
        .await
        .expect("client");
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::namespaced(client, "demo");
    pods.list(&Default::default()).await.expect("first list");
    let first = p.runs();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    pods.list(&Default::default())
        .await
        .expect("list after the token expired");
    assert_eq!(
        p.runs(),
        first + 1,
        "the plugin ran again for the expired token"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_plugin_is_named_with_its_stderr_and_without_its_environment() {
    let lab = lab().await;
    let p = plugin(&lab, "client.authentication.k8s.io/v1beta1", 900, true);
    let out = kdive(&p.kubeconfig, &["triage"]).await;
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("credential plugin: `"), "{err}");
    assert!(err.contains(".sh --cluster-name lab` failed (exit status: 255): error: the SSO session associated with this profile has expired"), "{err}");
    assert!(
        !err.contains("KDIVE_TEST_TOKEN") && !err.contains("token-"),
        "no environment: {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    lab.stop().await;
}

/// `KUBECONFIG=a:b` (which `--kubeconfig` takes when unset) is merged as kubectl merges it:
/// here the cluster and user in one file, the context in another, and a missing file
/// skipped; the same list works for kubectl.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kubeconfig_list_is_merged_as_kubectl_merges_it() {
    let lab = lab().await;
    let p = plugin(&lab, "client.authentication.k8s.io/v1", 900, false);
    let full: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p.kubeconfig).unwrap()).unwrap();
    let dir = lab.dir.path();
    let (creds, ctx) = (dir.join("creds.json"), dir.join("context.json"));
    let mut a = full.clone();
    a.as_object_mut().unwrap().remove("contexts");
    a.as_object_mut().unwrap().remove("current-context");
    std::fs::write(&creds, a.to_string()).unwrap();
    let b = serde_json::json!({"apiVersion": "v1", "kind": "Config", "contexts": full["contexts"], "current-context": "eks"});
    std::fs::write(&ctx, b.to_string()).unwrap();
    let list = format!(
        "{}:{}:{}",
        ctx.display(),
        dir.join("missing").display(),
        creds.display()
    );
    let out = kdive(Path::new(&list), &["triage", "-o", "json"]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON ({e}): {}", common::stderr(&out)));
    assert_eq!(
        v["target"]["name"], "demo",
        "the merged context's namespace"
    );
    if common::have("kubectl") {
        let k = tokio::process::Command::new("kubectl")
            .args(["get", "svc", "web", "-o", "name"])
            .env("KUBECONFIG", &list)
            .output()
            .await
            .expect("kubectl runs");
        assert_eq!(
            common::stdout(&k).trim(),
            "service/web",
            "{}",
            common::stderr(&k)
        );
    }
    // A list none of whose files exist says so.
    let out = kdive(
        Path::new(&format!("{0}/x:{0}/y", dir.display())),
        &["triage"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains("no kubeconfig file found"),
        "{}",
        common::stderr(&out)
    );
    lab.stop().await;
}
