//! `kdive chain`, `kdive dns` and `kdive iptables` read live from the lab: the demo fixtures
//! are created through the lab's API (with their status written through `/status`, and the
//! terminating pod really being deleted behind a finalizer), and the live output must equal
//! the output from the same files.

use crate::support as common;

use std::path::Path;
use std::process::Command;

use common::TestLab;
use http::Request;
use http_body_util::BodyExt;
use kdive_core::manifest::parse_documents;
use kdive_lab::resources::lookup_kind;
use serde_json::{Value, json};

const FIXTURES: &[&str] = &[
    "tests/fixtures/chain/cluster.yaml",
    "tests/fixtures/chain/demo.yaml",
    "tests/fixtures/chain/dns-pods.yaml",
];

async fn call(client: &kube::Client, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", "application/json")
        .body(serde_json::to_vec(body).unwrap().into())
        .unwrap();
    let resp = client.send(req).await.unwrap();
    let code = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn items(doc: Value) -> Vec<Value> {
    if doc["kind"] == "List" {
        doc["items"].as_array().cloned().unwrap_or_default()
    } else {
        vec![doc]
    }
}

/// Creates every fixture object through the API, as a controller or kubelet would have.
async fn load(lab: &TestLab) {
    let client = lab.client().await;
    for file in FIXTURES {
        let text = std::fs::read_to_string(file).unwrap();
        for (_, doc) in parse_documents(file, &text).unwrap() {
            for mut obj in items(doc) {
                let api_version = obj["apiVersion"].as_str().unwrap().to_string();
                let kind = obj["kind"].as_str().unwrap().to_string();
                let res = lookup_kind(&api_version, &kind)
                    .expect("a served kind")
                    .info();
                let name = obj["metadata"]["name"].as_str().unwrap().to_string();
                let ns = obj["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("default")
                    .to_string();
                let prefix = if res.group.is_empty() {
                    "/api/v1".to_string()
                } else {
                    format!("/apis/{}", res.api_version())
                };
                let collection = if res.namespaced {
                    format!("{prefix}/namespaces/{ns}/{}", res.plural)
                } else {
                    format!("{prefix}/{}", res.plural)
                };
                let item = format!("{collection}/{name}");
                let terminating = obj["metadata"].get("deletionTimestamp").is_some();
                if terminating {
                    obj["metadata"]["finalizers"] = json!(["kdive.dev/test-hold"]);
                }
                let (code, body) = call(&client, "POST", &collection, &obj).await;
                if code == 409 && kind == "Namespace" {
                    continue;
                }
                assert_eq!(code, 201, "create {kind} {name}: {body}");
                if res.status && obj.get("status").is_some() {
                    let mut with_status = body.clone();
                    with_status["status"] = obj["status"].clone();
                    let (code, body) =
                        call(&client, "PUT", &format!("{item}/status"), &with_status).await;
                    assert_eq!(code, 200, "status of {kind} {name}: {body}");
                }
                if terminating {
                    let (code, body) = call(&client, "DELETE", &item, &json!({})).await;
                    assert_eq!(code, 200, "delete {name}: {body}");
                    assert!(
                        body["metadata"]["deletionTimestamp"].is_string(),
                        "pending deletion: {body}"
                    );
                }
            }
        }
    }
}

fn kdive(args: &[&str], kubeconfig: Option<&Path>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kdive"));
    cmd.args(args);
    match kubeconfig {
        Some(k) => cmd.arg("--kubeconfig").arg(k),
        None => cmd.env_remove("KUBECONFIG"),
    };
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn with_files(args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    for f in FIXTURES {
        v.push("-f".into());
        v.push(f.to_string());
    }
    v
}

/// Timestamps the server owns (creation, deletion) differ between the files and the lab.
fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let is_ts = i + 20 <= b.len()
            && b[i..i + 4].iter().all(u8::is_ascii_digit)
            && b[i + 4] == b'-'
            && b[i + 10] == b'T'
            && b[i + 19] == b'Z';
        if is_ts {
            out.push_str("<time>");
            i += 20;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

async fn compare(lab: &TestLab, args: &[&str]) -> String {
    let file_args = with_files(args);
    let file_args: Vec<&str> = file_args.iter().map(String::as_str).collect();
    let (code_f, from_files, err_f) = kdive(&file_args, None);
    assert_eq!(code_f, 0, "from files: {err_f}");
    let (code_l, live, err_l) = kdive(args, Some(&lab.kubeconfig));
    assert_eq!(code_l, 0, "live: {err_l}");
    assert_eq!(
        normalize(&live),
        normalize(&from_files),
        "live and file output differ for {args:?}"
    );
    live
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chain_dns_and_iptables_live_equal_files() {
    // A static API server: the fixtures (with their hand-written EndpointSlices and pod
    // statuses) must come back exactly as written, not as controllers would rewrite them.
    let lab = TestLab::start_with(kdive_lab::LabOptions {
        seed: 7,
        simulate: false,
        ..kdive_lab::LabOptions::default()
    })
    .await;
    load(&lab).await;

    let json = compare(&lab, &["chain", "svc/web", "-n", "demo", "-o", "json"]).await;
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["service"]["cluster_ips"][0], "10.96.120.15", "{v}");
    let text = compare(&lab, &["chain", "svc/web", "-n", "demo"]).await;
    assert!(text.contains("readiness probe failing"), "{text}");
    assert!(text.contains("terminating"), "{text}");

    let text = compare(
        &lab,
        &[
            "dns",
            "postgres-0.postgres",
            "--from",
            "pod/web-7d9f8b6c5d-4hx2k",
            "-n",
            "demo",
        ],
    )
    .await;
    assert!(
        text.contains("postgres-0.postgres.demo.svc.cluster.local"),
        "{text}"
    );
    compare(
        &lab,
        &[
            "dns",
            "kube-dns.kube-system",
            "--from",
            "pod/web-7d9f8b6c5d-4hx2k",
            "-n",
            "demo",
            "-o",
            "json",
        ],
    )
    .await;
    let text = compare(
        &lab,
        &[
            "dns",
            "nope",
            "--from",
            "pod/web-7d9f8b6c5d-4hx2k",
            "-n",
            "demo",
        ],
    )
    .await;
    assert!(text.contains("NXDOMAIN"), "{text}");

    // The lab also has the `kubernetes` Service, which the files do not: compare per Service.
    let rules = compare(
        &lab,
        &["iptables", "--node-name", "node-a", "--service", "demo/web"],
    )
    .await;
    assert!(rules.contains("KUBE-SVC-XRY76EGRC3BSCIIJ"), "{rules}");
    compare(
        &lab,
        &[
            "iptables",
            "--node-name",
            "node-a",
            "--service",
            "kube-system/kube-dns",
            "--format",
            "save",
        ],
    )
    .await;
    let (code, all, err) = kdive(
        &["iptables", "--node-name", "node-a"],
        Some(&lab.kubeconfig),
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        all.contains(
            "\"default/kubernetes:https cluster IP\" -m tcp -p tcp -d 10.96.0.1 --dport 443"
        ),
        "{all}"
    );
    let trace = compare(
        &lab,
        &[
            "iptables",
            "--node-name",
            "node-a",
            "--trace",
            "10.244.1.5",
            "10.96.120.15:80/tcp",
            "-o",
            "json",
        ],
    )
    .await;
    let t: Value = serde_json::from_str(&trace).unwrap();
    assert_eq!(t["verdict"], "DNAT", "{t}");
    assert_eq!(t["targets"].as_array().unwrap().len(), 2, "{t}");

    // An unknown Service live is exit 2 with a message, as from files.
    let (code, _, err) = kdive(&["chain", "svc/nope", "-n", "demo"], Some(&lab.kubeconfig));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nope"), "{err}");
    lab.stop().await;
}
