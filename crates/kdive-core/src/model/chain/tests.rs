//! Chain model tests on the demo fixtures (tests/fixtures/chain/). Expected values are
//! derived by hand in the comments from the fixture and the rules in the module docs.

use super::*;

/// The demo cluster: cluster.yaml + demo.yaml + dns-pods.yaml.
pub(crate) fn demo() -> Objects {
    crate::fixtures::chain_demo()
}

fn web() -> ServiceChain {
    build(&demo(), "demo", "web", &ChainOptions::default()).unwrap()
}

fn pod_yaml(name: &str, extra_status: &str) -> serde_json::Value {
    let y = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: demo, labels: {{app: web}}}}\n\
         spec:\n  containers:\n  - name: web\n    ports: [{{name: http, containerPort: 8080}}]\n\
         status:\n{extra_status}"
    );
    serde_saphyr::from_str(&y).unwrap()
}

#[test]
fn web_http_endpoints_sorted_with_conditions() {
    let c = web();
    let http = &c.ports[0];
    assert_eq!(http.name.as_deref(), Some("http"));
    assert_eq!(http.target_port, TargetPort::Name("http".into()));
    // Slice web-5k2ps lists .1.5, .2.7, .2.8, .1.9 on port 8080; kube-proxy's byte order
    // of "ip:port" puts 10.244.1.* before 10.244.2.*.
    let eps: Vec<(&str, bool, bool, bool)> = http
        .endpoints
        .iter()
        .map(|e| (e.endpoint.as_str(), e.ready, e.serving, e.terminating))
        .collect();
    assert_eq!(
        eps,
        [
            ("10.244.1.5:8080", true, true, false),
            ("10.244.1.9:8080", false, true, true),
            ("10.244.2.7:8080", true, true, false),
            ("10.244.2.8:8080", false, false, false),
        ]
    );
    assert_eq!(http.endpoints[0].zone.as_deref(), Some("eu-west-1a"));
    assert_eq!(http.endpoints[0].slice, "web-5k2ps");
}

#[test]
fn named_target_port_resolved_per_pod() {
    let c = web();
    let tp: Vec<(&str, Option<i32>)> = c.ports[0]
        .target_ports
        .iter()
        .map(|r| (r.pod.as_str(), r.port))
        .collect();
    // Every web-* pod names 8080 "http"; web-legacy calls it "web".
    assert_eq!(
        tp,
        [
            ("web-6b5d9c7f48-lx9pd", Some(8080)),
            ("web-7d9f8b6c5d-4hx2k", Some(8080)),
            ("web-7d9f8b6c5d-8zq7n", Some(8080)),
            ("web-7d9f8b6c5d-tm5rw", Some(8080)),
            ("web-legacy", None),
        ]
    );
    let legacy = &c.ports[0].target_ports[4];
    assert!(legacy.problem.as_deref().unwrap().contains("web/TCP"));
    // The numeric metrics port resolves for every pod, web-legacy included.
    assert!(c.ports[1].target_ports.iter().all(|r| r.port == Some(9090)));
}

#[test]
fn wrong_port_pod_is_excluded_with_reason() {
    let c = web();
    let x = &c.ports[0].excluded;
    assert_eq!(x.len(), 1);
    assert_eq!(x[0].pod, "web-legacy");
    assert_eq!(x[0].reason, ExclusionReason::NamedPortNotFound);
    assert!(x[0].detail.contains("slice web-9x7fd"), "{}", x[0].detail);
    // On the metrics port it is an endpoint (slice web-9x7fd), so nothing is excluded.
    assert!(c.ports[1].excluded.is_empty());
    assert_eq!(c.ports[1].endpoints.len(), 5);
    assert_eq!(c.ports[1].endpoints[4].endpoint, "10.244.3.4:9090");
}

#[test]
fn reasons_for_not_ready_and_terminating() {
    let c = web();
    let by = |ep: &str| {
        c.ports[0]
            .endpoints
            .iter()
            .find(|e| e.endpoint == ep)
            .unwrap()
    };
    let nr = by("10.244.2.8:8080").why.clone().unwrap();
    assert!(nr.contains("readiness probe failing"), "{nr}");
    assert!(nr.contains("http-get http://:http/ready"), "{nr}");
    let term = by("10.244.1.9:8080").why.clone().unwrap();
    assert!(term.contains("terminating"), "{term}");
    assert!(by("10.244.1.5:8080").why.is_none());
}

#[test]
fn probabilities_come_from_kube_proxy_selection() {
    let c = web();
    // §6: cluster endpoints are the ready ones (no hints, so no topology): http has two
    // ready endpoints → 1/2 each; metrics has three (web-legacy too) → 1/3 each. The
    // not-ready and the terminating endpoint are unused while ready ones exist.
    let probs = |i: usize| -> Vec<Option<f64>> {
        c.ports[i].endpoints.iter().map(|e| e.probability).collect()
    };
    assert_eq!(probs(0), [Some(0.5), None, Some(0.5), None]);
    let third = Some(1.0 / 3.0);
    assert_eq!(probs(1), [third, None, third, None, third]);
    let ProxyView::Rendered { node, ports, rules } = &c.proxy else {
        panic!("expected rules for a ClusterIP Service");
    };
    assert_eq!(node.name, "node-a");
    assert_eq!(ports.len(), 2);
    assert!(
        rules
            .nat
            .iter()
            .any(|l| l.contains("-d 10.96.120.15 --dport 80"))
    );
}

#[test]
fn pods_and_nodes() {
    let c = web();
    let names: Vec<&str> = c.pods.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "web-6b5d9c7f48-lx9pd",
            "web-7d9f8b6c5d-4hx2k",
            "web-7d9f8b6c5d-8zq7n",
            "web-7d9f8b6c5d-tm5rw",
            "web-legacy"
        ]
    );
    assert!(c.pods.iter().all(|p| p.matches_selector && p.is_endpoint));
    assert!(c.pods[0].terminating);
    assert_eq!(c.pods[2].restarts, 1);
    assert!(!c.pods[3].ready);
    let nodes: Vec<(&str, Option<&str>, usize)> = c
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.zone.as_deref(), n.pods.len()))
        .collect();
    assert_eq!(
        nodes,
        [
            ("node-a", Some("eu-west-1a"), 2),
            ("node-b", Some("eu-west-1b"), 2),
            ("node-c", Some("eu-west-1c"), 1)
        ]
    );
    assert_eq!(c.nodes[1].internal_ip.as_deref(), Some("192.168.10.12"));
}

#[test]
fn dns_names_of_web() {
    let c = web();
    let names: Vec<(String, Vec<String>)> = c
        .dns_names
        .iter()
        .map(|d| {
            (
                d.name.clone(),
                d.records.iter().map(|r| r.data.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (
                "web.demo.svc.cluster.local.".to_string(),
                vec!["10.96.120.15".to_string()]
            ),
            (
                "_http._tcp.web.demo.svc.cluster.local.".into(),
                vec!["0 100 80 web.demo.svc.cluster.local.".into()]
            ),
            (
                "_metrics._tcp.web.demo.svc.cluster.local.".into(),
                vec!["0 100 9090 web.demo.svc.cluster.local.".into()]
            ),
        ]
    );
}

#[test]
fn headless_postgres_has_pod_names_and_no_rules() {
    let c = build(&demo(), "demo", "postgres", &ChainOptions::default()).unwrap();
    assert!(c.service.headless);
    assert!(matches!(c.proxy, ProxyView::Unavailable { .. }));
    let find = |n: &str| c.dns_names.iter().find(|d| d.name == n).unwrap();
    assert_eq!(
        find("postgres-0.postgres.demo.svc.cluster.local.").records[0].data,
        "10.244.1.20"
    );
    assert_eq!(find("postgres.demo.svc.cluster.local.").records.len(), 2);
    // SRV: two entries → weight floor(100 / 2) = 50 each, target = the pod's own name.
    assert_eq!(
        find("_postgres._tcp.postgres.demo.svc.cluster.local.").records[1].data,
        "0 50 5432 postgres-1.postgres.demo.svc.cluster.local."
    );
}

#[test]
fn unknown_service_lists_known_ones() {
    let err = build(&demo(), "demo", "nope", &ChainOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Service demo/nope not found (Services there: billing, postgres, web)"
    );
}

#[test]
fn exclusion_reasons_for_other_pod_states() {
    let mut snap = demo();
    for pod in [
        pod_yaml("web-pending", "  phase: Pending\n"),
        pod_yaml("web-done", "  phase: Succeeded\n  podIP: 10.244.3.50\n"),
        pod_yaml("web-new", "  phase: Running\n  podIP: 10.244.3.51\n"),
    ] {
        snap.add_value(pod, crate::model::OtherKinds::Refuse)
            .unwrap();
    }
    let c = build(&snap, "demo", "web", &ChainOptions::default()).unwrap();
    let reason = |p: &str| {
        c.ports[0]
            .excluded
            .iter()
            .find(|x| x.pod == p)
            .map(|x| x.reason)
    };
    assert_eq!(reason("web-pending"), Some(ExclusionReason::NoPodIp));
    assert_eq!(reason("web-done"), Some(ExclusionReason::TerminalPhase));
    assert_eq!(reason("web-new"), Some(ExclusionReason::NotInSlices));
}

#[test]
fn publish_not_ready_addresses_is_explained() {
    let mut snap = demo();
    // The controller writes ready=true for a not-Ready pod when the Service publishes
    // not-ready addresses; make web's slice say so for tm5rw.
    let svc = snap
        .services
        .iter_mut()
        .find(|s| s.metadata.name.as_deref() == Some("web"))
        .unwrap();
    let svc = std::sync::Arc::make_mut(svc);
    svc.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
    let slice = snap
        .endpoint_slices
        .iter_mut()
        .find(|s| s.metadata.name.as_deref() == Some("web-5k2ps"))
        .unwrap();
    let slice = std::sync::Arc::make_mut(slice);
    slice.endpoints[2].conditions.as_mut().unwrap().ready = Some(true);
    let c = build(&snap, "demo", "web", &ChainOptions::default()).unwrap();
    let e = c.ports[0]
        .endpoints
        .iter()
        .find(|e| e.endpoint == "10.244.2.8:8080")
        .unwrap();
    assert!(e.ready);
    assert!(
        e.why
            .as_deref()
            .unwrap()
            .contains("publishNotReadyAddresses")
    );
    // kube-proxy now uses it too: three ready endpoints → 1/3 each.
    assert_eq!(e.probability, Some(1.0 / 3.0));
}

#[test]
fn selectorless_service_warns() {
    let c = build(&demo(), "demo", "billing", &ChainOptions::default()).unwrap();
    assert!(
        c.warnings.is_empty(),
        "ExternalName needs no selector: {:?}",
        c.warnings
    );
    let mut snap = demo();
    let svc = snap
        .services
        .iter_mut()
        .find(|s| s.metadata.name.as_deref() == Some("web"))
        .unwrap();
    let svc = std::sync::Arc::make_mut(svc);
    svc.spec.as_mut().unwrap().selector = None;
    let c = build(&snap, "demo", "web", &ChainOptions::default()).unwrap();
    assert!(c.warnings.iter().any(|w| w.contains("no selector")));
    // The slices still make endpoints; pods are those the endpoints name.
    assert_eq!(c.ports[0].endpoints.len(), 4);
    assert!(c.pods.iter().all(|p| !p.matches_selector));
}

#[test]
fn json_shape_is_stable() {
    let v = serde_json::to_value(web()).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "service",
            "ports",
            "endpoint_slices",
            "pods",
            "nodes",
            "dns_names",
            "proxy",
            "warnings"
        ]
    );
    assert_eq!(v["service"]["type"], "ClusterIP");
    assert_eq!(v["ports"][0]["target_port"], "http");
    assert_eq!(v["ports"][1]["target_port"], 9090);
    assert_eq!(
        v["ports"][0]["excluded"][0]["reason"],
        "named_port_not_found"
    );
    assert_eq!(v["proxy"]["status"], "rendered");
    assert_eq!(
        v["ports"][0]["endpoints"][1]["probability"],
        serde_json::Value::Null
    );
}
