//! Traffic and metrics against a running lab over HTTPS: objects are created through the
//! API as the controllers and kubelets would write them, traffic runs through the nodes'
//! kube-proxies, and `/metrics` is scraped with the lab's token.

use crate::support as common;

use std::sync::Arc;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kdive_lab::LabOptions;
use kdive_lab::network::traffic::TrafficSpec;
use kdive_lab::scenario::Scenario;
use kdive_lab::store::format_time;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use common::{TestLab, have, ok};

const IPS: [&str; 2] = ["10.244.1.5", "10.244.1.6"];

async fn scrape(client: &kube::Client) -> String {
    let req = http::Request::get("/metrics").body(Vec::new()).unwrap();
    client.request_text(req).await.expect("GET /metrics")
}

/// Sums `http_requests_total` samples whose labels include every `want` pair.
fn requests(text: &str, want: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with("http_requests_total{"))
        .filter(|l| {
            want.iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Scrapes until `cond` holds, failing after a deadline.
async fn scrape_until(client: &kube::Client, what: &str, cond: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = scrape(client).await;
        if cond(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create<K>(api: &Api<K>, v: Value) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let obj: K = serde_json::from_value(v).unwrap();
    api.create(&PostParams::default(), &obj)
        .await
        .expect("create")
}

/// A lab at 10× speed sending 10 requests per simulated second to demo/web, with two
/// running pods behind it.
async fn lab_with_web() -> (TestLab, kube::Client) {
    let spec = TrafficSpec::from_value(&json!({
        "apiVersion": "lab.kdive.dev/v1alpha1", "kind": "Traffic",
        "metadata": {"name": "clients", "namespace": "demo"},
        "spec": {"service": "web", "port": "http", "ratePerSecond": 10}
    }))
    .unwrap();
    let lab = TestLab::start_with(LabOptions {
        seed: 11,
        speed: 10.0,
        scenario: Some(Arc::new(Scenario {
            traffic: vec![spec],
            ..Scenario::default()
        })),
        ..LabOptions::default()
    })
    .await;
    let client = lab.client().await;
    let ns: Api<Namespace> = Api::all(client.clone());
    create(
        &ns,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}),
    )
    .await;
    let nodes: Api<Node> = Api::all(client.clone());
    create(
        &nodes,
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"}}),
    )
    .await;
    let services: Api<Service> = Api::namespaced(client.clone(), "demo");
    create(
        &services,
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"},
                 "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "demo");
    // Started a minute ago in lab time: past demo-web's 2 s start-up.
    let started = format_time(lab.lab.store.now() - chrono::Duration::seconds(60));
    for (i, ip) in IPS.iter().enumerate() {
        let name = format!("web-{}", i + 1);
        create(&pods, json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "web"}},
            "spec": {"nodeName": "node-a", "containers": [{"name": "app",
                "image": "kdive/demo-web:1.0", "ports": [{"name": "http", "containerPort": 8080}]}]}}))
        .await;
        let status = json!({"status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
            "conditions": [{"type": "Ready", "status": "True"}],
            "containerStatuses": [{"name": "app", "ready": true, "restartCount": 0,
                "image": "kdive/demo-web:1.0", "imageID": "", "started": true,
                "state": {"running": {"startedAt": started}}}]}});
        pods.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("patch status");
    }
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "demo");
    let endpoints: Vec<Value> = IPS
        .iter()
        .map(|ip| {
            json!({"addresses": [ip], "nodeName": "node-a",
                         "conditions": {"ready": true, "serving": true, "terminating": false}})
        })
        .collect();
    create(
        &slices,
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abcde", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": endpoints}),
    )
    .await;
    (lab, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_move_and_killed_pods_give_errors() {
    let (lab, client) = lab_with_web().await;
    let ok200 = [
        ("code", "200"),
        ("service", "web"),
        ("job", "web"),
        ("method", "GET"),
    ];
    let first = scrape_until(&client, "200s", |t| requests(t, &ok200) > 0.0).await;
    let before = requests(&first, &ok200);
    let second = scrape_until(&client, "more 200s", |t| requests(t, &ok200) > before).await;
    // Both pods serve (uniform pick over two endpoints).
    for pod in ["web-1", "web-2"] {
        assert!(
            requests(&second, &[("code", "200"), ("pod", pod)]) > 0.0,
            "{pod}:\n{second}"
        );
    }
    // Traffic runs from the lab's start, so requests sent before the slice and the rules
    // existed were rejected; once pods answer, none is.
    assert_eq!(
        requests(&second, &[("code", "503")]),
        requests(&first, &[("code", "503")]),
        "{second}"
    );
    assert!(
        second
            .contains("kube_pod_info{job=\"kube-state-metrics\",namespace=\"demo\",pod=\"web-1\"")
    );
    assert!(second.contains("container_cpu_usage_seconds_total{container=\"app\",cpu=\"total\""));
    assert!(second.contains("# TYPE http_request_duration_seconds histogram"));
    // Node "node-a" has rules for the Service.
    let (_, rules) = lab.lab.network.rules("node-a").expect("node-a synced");
    assert!(
        rules.contains("--to-destination 10.244.1.6:8080"),
        "{rules}"
    );

    // Kill every ready pod at once; the EndpointSlice is not updated (no controller), so
    // the rules still send to the dead IPs and nothing answers: 504 with no upstream pod.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "demo");
    let force = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::default()
    };
    match lab
        .kubectl(&[
            "-n",
            "demo",
            "delete",
            "pod",
            "web-1",
            "web-2",
            "--grace-period=0",
            "--force",
        ])
        .await
    {
        Some(out) => {
            ok(&out);
        }
        None => {
            for name in ["web-1", "web-2"] {
                pods.delete(name, &force).await.expect("delete pod");
            }
        }
    }
    let timeouts = [("code", "504"), ("pod", ""), ("service", "web")];
    scrape_until(&client, "504s", |t| requests(t, &timeouts) > 0.0).await;

    // The slice empties (as the endpointslice controller would): after kube-proxy's next
    // sync the Service rejects, 503 with no upstream pod.
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "demo");
    slices
        .patch(
            "web-abcde",
            &PatchParams::default(),
            &Patch::Merge(&json!({"endpoints": []})),
        )
        .await
        .expect("empty the slice");
    let rejects = [("code", "503"), ("pod", ""), ("service", "web")];
    let last = scrape_until(&client, "503s", |t| requests(t, &rejects) > 0.0).await;
    let (_, rules) = lab.lab.network.rules("node-a").unwrap();
    assert!(rules.contains("has no endpoints"), "{rules}");
    promtool_accepts(&last);
    lab.stop().await;
}

/// `promtool check metrics` parses and lints the text (exit 0: no problems).
fn promtool_accepts(text: &str) {
    if !have("promtool") {
        return;
    }
    use std::io::Write;
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_need_the_token_and_kubectl_reads_them() {
    let lab = TestLab::start().await;
    // kubectl's raw GET goes through the same bearer-token check.
    if let Some(out) = lab.kubectl(&["get", "--raw", "/metrics"]).await {
        let text = ok(&out);
        promtool_accepts(&text);
    }
    let kc = kube::config::Kubeconfig::from_yaml(&lab.lab.kubeconfig()).unwrap();
    let mut cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    cfg.auth_info.token = Some("wrong".to_string().into());
    let bad = kube::Client::try_from(cfg).unwrap();
    let req = http::Request::get("/metrics").body(Vec::new()).unwrap();
    let err = bad
        .request_text(req)
        .await
        .expect_err("401 without the token");
    assert!(format!("{err:?}").contains("401"), "{err:?}");
    lab.stop().await;
}
