//! Hand-derived routing, sync timing, rate accounting and request outcomes.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use k8s_openapi::api::core::v1::{Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::json;

use super::pods::PodView;
use super::proxy::{
    NodeProxy, Pick, PortRef, ProxySettings, RoutingTable, SyncSchedule, parse_go_duration,
};
use super::traffic::{Answer, RateAccumulator, TrafficSpec, ask_pod};
use crate::metrics::Registry;
use crate::sim::catalog::Catalog;
use kdive_core::model::Objects;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn yaml<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_saphyr::from_str(text).unwrap()
}

fn service(policy: &str) -> Service {
    yaml(&format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: demo}}\n\
         spec:\n  type: ClusterIP\n  clusterIP: 10.96.0.20\n  clusterIPs: [10.96.0.20]\n  \
         internalTrafficPolicy: {policy}\n  \
         ports: [{{name: http, port: 80, targetPort: 8080, protocol: TCP}}]\n"
    ))
}

/// One endpoint: (ip, node, ready, serving, terminating).
fn slice(eps: &[(&str, &str, bool, bool, bool)]) -> EndpointSlice {
    let endpoints: Vec<_> = eps
        .iter()
        .map(|(ip, node, r, s, t)| {
            json!({"addresses": [ip], "nodeName": node,
                   "conditions": {"ready": r, "serving": s, "terminating": t}})
        })
        .collect();
    serde_json::from_value(json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abcde", "namespace": "demo",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": endpoints,
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]
    }))
    .unwrap()
}

fn node(name: &str, ip: &str) -> Node {
    yaml(&format!(
        "apiVersion: v1\nkind: Node\nmetadata: {{name: {name}}}\n\
         status: {{addresses: [{{type: InternalIP, address: {ip}}}]}}\n"
    ))
}

fn sync(svc: Service, sl: EndpointSlice, node_name: &str) -> NodeProxy {
    let snap = Arc::new(Objects {
        services: vec![svc.into()],
        endpoint_slices: vec![sl.into()],
        ..Objects::default()
    });
    NodeProxy::sync(&snap, &node(node_name, "172.18.0.2"), None, t0())
}

fn ips(table: &RoutingTable) -> Vec<String> {
    table
        .route("demo", "web", None)
        .unwrap()
        .targets
        .iter()
        .map(|t| format!("{}:{}", t.ip, t.port))
        .collect()
}

#[test]
fn routes_only_to_ready_endpoints() {
    let p = sync(
        service("Cluster"),
        slice(&[
            ("10.244.2.7", "node-b", true, true, false),
            ("10.244.1.5", "node-a", true, true, false),
            ("10.244.1.9", "node-a", false, false, false),
        ]),
        "node-a",
    );
    // Sorted by endpoint string, the not-ready one left out.
    assert_eq!(ips(&p.table), ["10.244.1.5:8080", "10.244.2.7:8080"]);
    let r = p
        .table
        .route("demo", "web", Some(&PortRef::Number(80)))
        .unwrap();
    assert!(r.chain.starts_with("KUBE-SVC-"));
    assert_eq!(r.port_name, "http");
    assert_eq!(
        p.table
            .route("demo", "web", Some(&PortRef::Name("http".into()))),
        Some(r)
    );
    assert_eq!(
        p.table.route("demo", "web", Some(&PortRef::Number(81))),
        None
    );
    // Uniform pick: the lower half of [0, 1) goes to the first rule, the upper to the second.
    assert!(matches!(r.pick(0.49), Pick::Endpoint(t) if t.ip == "10.244.1.5"));
    assert!(matches!(r.pick(0.5), Pick::Endpoint(t) if t.ip == "10.244.2.7"));
    assert!(matches!(r.pick(0.999_999), Pick::Endpoint(t) if t.ip == "10.244.2.7"));
    // The rules on the node say the same.
    let text = p.iptables_save();
    assert!(text.contains("-A KUBE-SERVICES -d 10.96.0.20/32 -p tcp -m comment --comment \"demo/web:http cluster IP\""), "{text}");
    assert!(text.contains("--to-destination 10.244.2.7:8080"));
    assert!(!text.contains("10.244.1.9"));
}

#[test]
fn terminating_serving_endpoints_stand_in_when_none_is_ready() {
    let p = sync(
        service("Cluster"),
        slice(&[
            ("10.244.1.5", "node-a", false, true, true),
            ("10.244.2.7", "node-b", false, false, true),
        ]),
        "node-a",
    );
    assert_eq!(ips(&p.table), ["10.244.1.5:8080"]);
    // Nothing serving at all: REJECT, the client is refused.
    let p = sync(
        service("Cluster"),
        slice(&[("10.244.2.7", "node-b", false, false, true)]),
        "node-a",
    );
    let r = p.table.route("demo", "web", None).unwrap();
    assert!(!r.has_endpoints);
    assert_eq!(r.pick(0.3), Pick::NoEndpoints);
}

#[test]
fn local_policy_uses_node_local_endpoints_and_drops_without_one() {
    let eps = [
        ("10.244.1.5", "node-a", true, true, false),
        ("10.244.2.7", "node-b", true, true, false),
    ];
    let a = sync(service("Local"), slice(&eps), "node-a");
    assert_eq!(ips(&a.table), ["10.244.1.5:8080"]);
    assert!(
        a.table
            .route("demo", "web", None)
            .unwrap()
            .chain
            .starts_with("KUBE-SVL-")
    );
    let c = sync(service("Local"), slice(&eps), "node-c");
    let r = c.table.route("demo", "web", None).unwrap();
    assert!(r.has_endpoints && r.targets.is_empty());
    assert_eq!(r.pick(0.1), Pick::Dropped);
}

#[test]
fn sync_waits_min_sync_period_after_the_last_and_resyncs_periodically() {
    let settings = ProxySettings::default();
    let mut s = SyncSchedule::default();
    assert!(s.next(&settings) < t0(), "the first sync runs at once");
    s.synced(t0());
    assert_eq!(s.next(&settings), t0() + chrono::Duration::seconds(30));
    s.changed();
    assert_eq!(s.next(&settings), t0() + chrono::Duration::seconds(1));
    s.synced(t0() + chrono::Duration::seconds(4));
    assert_eq!(s.next(&settings), t0() + chrono::Duration::seconds(34));
}

#[test]
fn settings_come_from_the_kube_proxy_config_map() {
    let cm = json!({"data": {"config.conf":
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n\
         mode: iptables\niptables:\n  minSyncPeriod: 5s\n  syncPeriod: 1m30s\n"}});
    let s = ProxySettings::from_config_map(&cm).unwrap();
    assert_eq!(s.min_sync, Duration::from_secs(5));
    assert_eq!(s.sync, Duration::from_secs(90));
    assert_eq!(s.config.unwrap().mode, "iptables");
    // No config.conf: defaults.
    assert_eq!(
        ProxySettings::from_config_map(&json!({"data": {}})).unwrap(),
        ProxySettings::default()
    );
    let bad = json!({"data": {"config.conf":
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n\
         iptables: {minSyncPeriod: soon}\n"}});
    assert_eq!(
        ProxySettings::from_config_map(&bad).unwrap_err(),
        "config.conf: iptables.minSyncPeriod: \"soon\" is not a duration like \"1s\""
    );
}

#[test]
fn go_durations() {
    assert_eq!(parse_go_duration("1s"), Some(Duration::from_secs(1)));
    assert_eq!(parse_go_duration("1m0s"), Some(Duration::from_secs(60)));
    assert_eq!(parse_go_duration("1h2m3s"), Some(Duration::from_secs(3723)));
    assert_eq!(parse_go_duration("250ms"), Some(Duration::from_millis(250)));
    assert_eq!(parse_go_duration("1.5s"), Some(Duration::from_millis(1500)));
    assert_eq!(parse_go_duration("0"), Some(Duration::ZERO));
    for bad in ["", "5", "s", "5x", "-1s"] {
        assert_eq!(parse_go_duration(bad), None, "{bad}");
    }
}

#[test]
fn rate_accumulates_fractions_across_ticks() {
    // 2.5/s in ticks of 0.3 s: 0.75 → 0 (carry .75), 1.5 → 1 (.5), 1.25 → 1 (.25), 1.0 → 1.
    let mut r = RateAccumulator::new(2.5);
    let got: Vec<u64> = (0..4).map(|_| r.due(0.3, 100)).collect();
    assert_eq!(got, [0, 1, 1, 1]);
    // 1.2 s at 2.5/s is 3 requests, none lost.
    assert_eq!(got.iter().sum::<u64>(), 3);
    // A stall is capped, not burst.
    assert_eq!(RateAccumulator::new(100.0).due(60.0, 501), 501);
}

fn doc(spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "lab.kdive.dev/v1alpha1", "kind": "Traffic",
           "metadata": {"name": "clients", "namespace": "demo"}, "spec": spec})
}

#[test]
fn traffic_spec_reads_fields_and_defaults() {
    let s = TrafficSpec::from_value(&doc(json!({"service": "web", "ratePerSecond": 20}))).unwrap();
    assert_eq!(
        s,
        TrafficSpec {
            name: "clients".into(),
            namespace: "demo".into(),
            service: "web".into(),
            port: None,
            rate_per_second: 20.0,
            path: "/".into(),
            method: "GET".into(),
            from_node: None,
            timeout_seconds: 1.0,
        }
    );
    let s = TrafficSpec::from_value(&doc(json!({"service": "web", "ratePerSecond": 0.5,
        "port": "http", "path": "/api", "method": "POST", "fromNode": "node-a",
        "timeoutSeconds": 2.5})))
    .unwrap();
    assert_eq!(s.port, Some(PortRef::Name("http".into())));
    assert_eq!((s.path.as_str(), s.method.as_str()), ("/api", "POST"));
    assert_eq!(s.from_node.as_deref(), Some("node-a"));
    assert_eq!(s.timeout_seconds, 2.5);
    let s = TrafficSpec::from_value(&doc(
        json!({"service": "web", "ratePerSecond": 1, "port": 80}),
    ));
    assert_eq!(s.unwrap().port, Some(PortRef::Number(80)));
}

#[test]
fn traffic_spec_errors_name_the_field() {
    let err = |spec| TrafficSpec::from_value(&doc(spec)).unwrap_err();
    assert_eq!(err(json!({"ratePerSecond": 1})), "spec.service: required");
    assert_eq!(
        err(json!({"service": "web"})),
        "spec.ratePerSecond: required"
    );
    assert_eq!(
        err(json!({"service": "web", "ratePerSecond": "fast"})),
        "spec.ratePerSecond: expected a number"
    );
    assert!(err(json!({"service": "web", "ratePerSecond": 0})).starts_with("spec.ratePerSecond:"));
    assert!(
        err(json!({"service": "web", "ratePerSecond": 1, "port": 70000})).starts_with("spec.port:")
    );
    assert!(
        err(json!({"service": "web", "ratePerSecond": 1, "path": "api"})).starts_with("spec.path:")
    );
    assert!(
        err(json!({"service": "web", "ratePerSecond": 1, "method": "FETCH"}))
            .starts_with("spec.method:")
    );
    assert!(
        err(json!({"service": "web", "ratePerSecond": 1, "timeoutSeconds": -1}))
            .starts_with("spec.timeoutSeconds:")
    );
    let no_name = json!({"apiVersion": "lab.kdive.dev/v1alpha1", "kind": "Traffic",
        "spec": {"service": "web", "ratePerSecond": 1}});
    assert_eq!(
        TrafficSpec::from_value(&no_name).unwrap_err(),
        "metadata.name: required"
    );
    assert!(TrafficSpec::from_value(&json!({"apiVersion": "v1", "kind": "Pod"})).is_err());
}

/// A demo-web pod whose container started at T0 (starts serving at T0 + 2 s).
fn web_pod(env: &str, deletion: Option<(i64, i64)>) -> PodView {
    let mut pod: Pod = yaml(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web-1, namespace: demo, uid: u1}}\n\
         spec:\n  containers:\n  - name: app\n    image: kdive/demo-web:1.0\n    \
         ports: [{{containerPort: 8080}}]\n    env: [{env}]\n\
         status:\n  podIP: 10.244.1.5\n  containerStatuses:\n  - name: app\n    ready: true\n    \
         restartCount: 0\n    image: kdive/demo-web:1.0\n    imageID: ''\n    \
         state: {{running: {{startedAt: '2026-01-01T00:00:00Z'}}}}\n"
    ));
    if let Some((at, grace)) = deletion {
        let ts = (t0() + chrono::Duration::seconds(at + grace)).timestamp();
        pod.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::from_second(ts).unwrap(),
            ));
        pod.metadata.deletion_grace_period_seconds = Some(grace);
    }
    PodView::from_pod(&pod)
}

fn spec(path: &str) -> TrafficSpec {
    TrafficSpec::from_value(&doc(
        json!({"service": "web", "ratePerSecond": 1, "path": path}),
    ))
    .unwrap()
}

fn ask(pod: Option<&PodView>, port: i32, at_secs: f64) -> (Answer, String) {
    let cat = Catalog::builtin();
    let now = t0() + chrono::Duration::milliseconds((at_secs * 1000.0) as i64);
    ask_pod(pod, port, &spec("/"), &cat, 1, 0, now)
}

#[test]
fn request_outcome_follows_the_pods_process() {
    let pod = web_pod("", None);
    let ok = Answer::Status {
        code: 200,
        latency: super::traffic::NETWORK_RTT,
    };
    assert_eq!(ask(Some(&pod), 8080, 10.0), (ok.clone(), "app".into()));
    // Still starting (startupSeconds 2): nothing listens yet.
    assert_eq!(ask(Some(&pod), 8080, 1.0), (Answer::Refused, "app".into()));
    // A port nobody declares or listens on.
    assert_eq!(
        ask(Some(&pod), 9090, 10.0),
        (Answer::Refused, String::new())
    );
    // An IP no pod owns any more.
    assert_eq!(ask(None, 8080, 10.0), (Answer::Timeout, String::new()));
    // Deleted at T0+10 s with 30 s grace: demo-web exits 1 s after SIGTERM.
    let deleting = web_pod("", Some((10, 30)));
    assert_eq!(ask(Some(&deleting), 8080, 10.5), (ok, "app".into()));
    assert_eq!(
        ask(Some(&deleting), 8080, 11.0),
        (Answer::Refused, "app".into())
    );
    // IGNORE_SIGTERM: serves until SIGKILL at the end of the grace period.
    let stubborn = web_pod("{name: IGNORE_SIGTERM, value: 'true'}", Some((10, 30)));
    assert!(matches!(
        ask(Some(&stubborn), 8080, 39.0).0,
        Answer::Status { code: 200, .. }
    ));
    assert_eq!(ask(Some(&stubborn), 8080, 40.0).0, Answer::Refused);
    // App knobs: every request fails; a latency above the timeout times out.
    let failing = web_pod("{name: ERROR_RATE, value: '1'}", None);
    assert!(matches!(
        ask(Some(&failing), 8080, 10.0).0,
        Answer::Status { code: 500, .. }
    ));
    let slow = web_pod("{name: LATENCY_MS, value: '1500'}", None);
    assert_eq!(ask(Some(&slow), 8080, 10.0).0, Answer::Timeout);
    let slowish = web_pod("{name: LATENCY_MS, value: '200'}", None);
    assert_eq!(
        ask(Some(&slowish), 8080, 10.0).0,
        Answer::Status {
            code: 200,
            latency: 0.2 + super::traffic::NETWORK_RTT
        }
    );
}

#[test]
fn answers_map_to_sidecar_codes() {
    use Answer::*;
    assert_eq!(
        Status {
            code: 404,
            latency: 0.01
        }
        .code_and_duration(1.0),
        (404, 0.01)
    );
    for a in [Refused, Reset, NoEndpoints] {
        assert_eq!(a.code_and_duration(1.0).0, 503);
    }
    assert_eq!(Timeout.code_and_duration(2.0), (504, 2.0));
}

#[test]
fn recorded_requests_fill_counter_and_histogram() {
    let r = Registry::new();
    let s = spec("/api");
    let labels = super::traffic::RequestLabels {
        spec: &s,
        pod: "web-1",
        container: "app",
    };
    super::traffic::record(
        &r,
        &labels,
        &Answer::Status {
            code: 200,
            latency: 0.03,
        },
        4,
    );
    super::traffic::record(&r, &labels, &Answer::Timeout, 1);
    let want = |code: &'static str| {
        [
            ("namespace", "demo"),
            ("service", "web"),
            ("job", "web"),
            ("pod", "web-1"),
            ("container", "app"),
            ("code", code),
            ("method", "GET"),
            ("route", "/api"),
        ]
    };
    assert_eq!(r.value("http_requests_total", &want("200")), Some(4.0));
    assert_eq!(r.value("http_requests_total", &want("504")), Some(1.0));
    let mut out = String::new();
    r.render(&mut out);
    // 0.03 s falls in le=0.05 and above, not in le=0.025.
    let series = "namespace=\"demo\",service=\"web\",job=\"web\",pod=\"web-1\",container=\"app\",code=\"200\",method=\"GET\",route=\"/api\"";
    assert!(
        out.contains(&format!(
            "http_request_duration_seconds_bucket{{{series},le=\"0.025\"}} 0\n"
        )),
        "{out}"
    );
    assert!(out.contains(&format!(
        "http_request_duration_seconds_bucket{{{series},le=\"0.05\"}} 4\n"
    )));
    assert!(out.contains(&format!(
        "http_request_duration_seconds_sum{{{series}}} 0.12\n"
    )));
}
