//! The SLO path end to end with the real Prometheus (Debian's package): the demo lab at 10×
//! speed, Prometheus scraping it every second, the demo web pods broken through their
//! ERROR_RATE knob with the real kubectl, and `kdive slo -o json` (which finds Prometheus
//! through the kubeconfig) compared with the ratio the test reads straight from
//! Prometheus's HTTP API at the same instant.

use crate::support as common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kdive_lab::prometheus::{PrometheusOptions, start_prometheus_for};
use serde_json::Value;

use common::{TestLab, have, ok};

const SPEC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/slo/demo-web.yaml");
/// The demo SLO's error ratio over 5m, written independently of kdive's query builder.
const RATIO_5M: &str = r#"sum(rate(http_requests_total{namespace="demo",service="web",code=~"5.."}[5m])) / sum(rate(http_requests_total{namespace="demo",service="web"}[5m]))"#;

/// GET over a plain TCP connection (HTTP/1.0), so the test's view of Prometheus does not go
/// through kdive's client. Returns the status code and body.
fn http_get(base: &str, path_and_query: &str) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).expect("connect to Prometheus");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path_and_query} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}

/// An instant query's first value at `time`, straight from `/api/v1/query`.
fn query_value(base: &str, query: &str, time: i64) -> Option<f64> {
    let qs: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("query", query)
        .append_pair("time", &time.to_string())
        .finish();
    let (status, body) = http_get(base, &format!("/api/v1/query?{qs}"));
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["data"]["result"][0]["value"][1]
        .as_str()
        .and_then(|s| s.parse().ok())
}

fn kdive_slo(kubeconfig: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kdive"))
        .arg("slo")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("KDIVE_PROMETHEUS")
        .output()
        .expect("kdive slo runs")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn burn_rate_rises_when_web_fails_and_matches_prometheus() {
    if !have("prometheus") || !have("kubectl") {
        return;
    }
    let _heavy = common::heavy_permit();
    let started = Instant::now();
    let lab = TestLab::demo(5).await;
    let prom = start_prometheus_for(&lab.lab, &PrometheusOptions::default())
        .await
        .expect("prometheus starts");
    let base = prom.url.clone();
    // The kubeconfig `kdive lab` would write: kdive slo finds Prometheus through it.
    let kubeconfig = lab.dir.path().join("kubeconfig-prom");
    kdive_lab::kubeconfig::write(
        &kubeconfig,
        &kdive_lab::kubeconfig::render_with_prometheus(
            &lab.lab.url,
            &lab.lab.ca_pem,
            &lab.lab.token,
            Some(&base),
        ),
    )
    .unwrap();

    // Healthy first: the demo SLO has traffic in Prometheus.
    let deadline = Instant::now() + Duration::from_secs(40);
    while query_value(&base, RATIO_5M, now()).is_none() {
        assert!(Instant::now() < deadline, "no web traffic in Prometheus");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Every request to the app answers 500 from now on (the rollout takes a few seconds).
    let out = lab
        .kubectl(&["-n", "demo", "set", "env", "deployment/web", "ERROR_RATE=1"])
        .await
        .unwrap();
    ok(&out);

    let deadline = Instant::now() + Duration::from_secs(60);
    let (report, at) = loop {
        // An instant a second back, so no scrape up to it is still in flight; both sides
        // evaluate at exactly this instant.
        let at = now() - 1;
        let out = kdive_slo(
            &kubeconfig,
            &["--slo", SPEC, "-o", "json", "--time", &at.to_string()],
        );
        let v: Value = serde_json::from_str(&ok(&out)).expect("JSON");
        let burn = v["slos"][0]["windows"]["5m"]["burn_rate"].as_f64();
        if burn.is_some_and(|b| b > 14.4) {
            break (v, at);
        }
        assert!(
            Instant::now() < deadline,
            "the 5m burn rate never rose above 14.4: {v:#}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let slo = &report["slos"][0];
    assert_eq!(slo["name"], "requests-availability");
    assert_eq!(slo["service"], "demo/web");
    assert_eq!(slo["objective"], 99.9);
    assert_eq!(slo["period"], "30d");
    let kdive_burn = slo["windows"]["5m"]["burn_rate"].as_f64().unwrap();
    let direct = query_value(&base, RATIO_5M, at).expect("ratio from Prometheus") / 0.001;
    assert!(
        (kdive_burn - direct).abs() <= 0.05 * direct,
        "kdive says {kdive_burn}, Prometheus says {direct}"
    );
    eprintln!("5m burn: kdive {kdive_burn:.3}, Prometheus {direct:.3}");
    // The 1h window holds the same few minutes of data, so it burns as fast: page.
    assert_eq!(slo["alerts"]["page"], true, "{slo:#}");
    assert_eq!(slo["state"], "page");
    // Seconds of data in a 30d period are said, not hidden.
    let notes = slo["notes"].to_string();
    assert!(notes.contains("of 30d"), "{notes}");

    // The TUI's poller: the same numbers, range data for the chart, and cAdvisor numbers
    // for the Service's namespace.
    let client =
        kdive::sources::prometheus::Prometheus::new(&kdive::sources::prometheus::PromOptions {
            url: base.clone(),
            ..Default::default()
        })
        .unwrap();
    let period = kdive_core::metrics::Period::thirty_days();
    let spec = kdive::cli::slo::load_spec(std::path::Path::new(SPEC)).unwrap();
    let cfg = kdive::sources::slo_poll::PollConfig {
        slos: kdive_core::metrics::SloDef::from_spec(&spec, &period),
        discover: true,
        interval: Duration::from_secs(5),
        range_seconds: 120.0,
        width: 60,
    };
    let frame = kdive::sources::slo_poll::poll_once(&client, &cfg, at)
        .await
        .expect("poll");
    assert_eq!(
        frame.slos.len(),
        1,
        "the discovered Sloth SLO is the same one"
    );
    let f = &frame.slos[0];
    let frame_burn = f
        .burn
        .window(kdive_core::metrics::Window::M5)
        .unwrap()
        .burn_rate
        .unwrap();
    assert!(
        (frame_burn - kdive_burn).abs() <= 1e-9 * kdive_burn,
        "{frame_burn} vs {kdive_burn}"
    );
    // 120s over 60 cells: a point every 1s (the minimum step) up to `at`.
    let last = f.burn_short.last().expect("5m burn points");
    assert_eq!(last.0, at as f64);
    assert!((last.1 - kdive_burn).abs() <= 0.05 * kdive_burn, "{last:?}");
    assert!(
        frame.resources.contains_key("demo"),
        "{:?}",
        frame.resources
    );

    // Without --slo, the SLO comes from the Sloth rules the lab's Prometheus records.
    let out = kdive_slo(&kubeconfig, &["-o", "json"]);
    let v: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(v["slos"][0]["engine"], "sloth", "{v:#}");
    assert_eq!(v["slos"][0]["service"], "demo/web");

    // A query Prometheus cannot parse: exit 2, the file, line and field, Prometheus's words.
    let bad = lab.write_file(
        "bad.yaml",
        &std::fs::read_to_string(SPEC).unwrap().replace(
            "sum(rate(http_requests_total{namespace=\"demo\",service=\"web\",code",
            "sum(rate(http_requests_total{namespace=\"demo\",service=\"web\" code",
        ),
    );
    let out = kdive_slo(&kubeconfig, &["--slo", bad.to_str().unwrap()]);
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "bad.yaml:21: slos[0].sli.events.error_query: bad_data: invalid parameter \"query\": "
        ),
        "{err}"
    );
    assert!(err.contains("parse error"), "{err}");

    prom.stop().await;
    lab.stop().await;
    eprintln!("wall time {:?}", started.elapsed());
}

/// `kdive lab` as a user runs it: Prometheus beside it, in the kubeconfig, gone after SIGTERM.
#[test]
fn kdive_lab_runs_prometheus_and_stops_it() {
    if !have("prometheus") {
        return;
    }
    let _heavy = common::heavy_permit();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kdive"))
        .args(["lab", "--speed", "10", "--kubeconfig-out"])
        .arg(&kubeconfig)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..6 {
        let mut l = String::new();
        reader.read_line(&mut l).unwrap();
        lines.push(l.trim_end().to_string());
    }
    let line = &lines[4];
    assert!(line.starts_with("Prometheus ("), "{lines:?}");
    let url = line
        .split(" at ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap()
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{line}");
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    let kc = kube::config::Kubeconfig::from_yaml(&text).unwrap();
    assert_eq!(
        kdive::sources::prometheus::url_from_kubeconfig(&kc, None).as_deref(),
        Some(url.as_str())
    );
    assert_eq!(http_get(&url, "/-/ready").0, 200);
    // kubectl still reads the kubeconfig with the extension in it.
    if have("kubectl") {
        let out = Command::new("kubectl")
            .args(["config", "view", "-o", "json"])
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap();
        let v: Value = serde_json::from_str(&ok(&out)).unwrap();
        assert_eq!(v["clusters"][0]["name"], "kdive-lab");
    }
    let ok_kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok_kill.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "kdive lab did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    // Prometheus is gone with it: nothing listens on its port any more.
    let host = url.trim_start_matches("http://");
    assert!(
        std::net::TcpStream::connect(host).is_err(),
        "Prometheus still listens on {host}"
    );
}
