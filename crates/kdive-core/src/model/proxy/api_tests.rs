//! Tests of the public API: per-Service rules, endpoint plans, large-cluster mode,
//! topology hints and endpoint de-duplication.

use serde_json::json;

use super::fixture_tests::load_case;
use super::*;

fn snapshot(docs: Vec<serde_json::Value>) -> Objects {
    let mut s = Objects::default();
    for d in docs {
        s.add_value(d, crate::model::OtherKinds::Refuse).unwrap();
    }
    s
}

fn service(name: &str, ip: &str) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"clusterIP": ip, "ports": [{"name": "p", "port": 80, "protocol": "TCP"}]}})
}

fn slice(name: &str, svc: &str, endpoints: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": "ns",
            "labels": {"kubernetes.io/service-name": svc}},
        "addressType": "IPv4", "endpoints": endpoints,
        "ports": [{"name": "p", "port": 8080, "protocol": "TCP"}]})
}

fn node_a() -> ProxyOptions {
    ProxyOptions {
        node_name: "node-a".into(),
        node_ips: vec!["192.168.0.10".parse().unwrap()],
        node_zone: Some("zone-a".into()),
        ..ProxyOptions::default()
    }
}

#[test]
fn service_rules_pick_one_service() {
    let (snap, opts, _) = load_case("overall");
    let rules = render(&snap, &opts);
    let r = service_rules(&snap, &opts, &rules, "ns2", "svc2");
    assert_eq!(
        r.chains,
        [
            "KUBE-EXT-GNZBNJ2PO5MGZ6GT",
            "KUBE-SEP-RS4RBKLTHTF2IUXJ",
            "KUBE-SVC-GNZBNJ2PO5MGZ6GT"
        ]
    );
    // Health check, then the three "has no local endpoints" drops (§9 order).
    assert_eq!(r.filter.len(), 4);
    assert!(r.filter[0].contains("health check node port"));
    assert!(
        r.filter[1..]
            .iter()
            .all(|l| l.contains("has no local endpoints"))
    );
    // 2 KUBE-NODEPORTS + 3 KUBE-SERVICES + 3 EXT + 2 SEP + 2 SVC rules.
    assert_eq!(r.nat.len(), 12, "{:#?}", r.nat);
    assert!(r.nat.iter().all(|l| l.contains("ns2/svc2")));
    assert!(!r.nat.iter().any(|l| l.contains("must be the last rule")));
}

#[test]
fn port_plans_show_cluster_and_local_choices() {
    let (snap, opts, _) = load_case("etp-local-loadbalancer");
    let plans = service_port_plans(&snap, &opts);
    assert_eq!(plans.len(), 1);
    let p = &plans[0];
    assert_eq!(p.name, "ns2/web:http");
    assert_eq!(p.internal_chain, "KUBE-SVC-7UQ5MBLAVSKMG6DI");
    assert_eq!(p.external_chain, "KUBE-SVL-7UQ5MBLAVSKMG6DI");
    let internal: Vec<_> = p
        .internal
        .iter()
        .map(|e| {
            (
                e.endpoint.as_str(),
                e.probability,
                e.rule_probability.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        internal,
        [
            ("10.3.0.1:8080", 0.5, Some("0.5000000000")),
            ("10.3.0.2:8080", 0.5, None)
        ]
    );
    assert_eq!(p.external.len(), 1);
    assert_eq!(p.external[0].endpoint, "10.3.0.1:8080");
    assert!(p.external[0].is_local);
    assert_eq!(p.external[0].probability, 1.0);
}

#[test]
fn terminating_fallback_is_reported() {
    let (snap, opts, _) = load_case("terminating");
    let plans = service_port_plans(&snap, &opts);
    let local = plans.iter().find(|p| p.service == "term-local").unwrap();
    assert!(local.local_fallback);
    assert_eq!(local.external[0].endpoint, "10.6.1.2:80");
    assert!(local.external[0].terminating);
    let term = plans.iter().find(|p| p.service == "term").unwrap();
    let eps: Vec<_> = term.internal.iter().map(|e| e.endpoint.as_str()).collect();
    assert_eq!(eps, ["10.6.0.1:80", "10.6.0.2:80"]);
}

#[test]
fn large_cluster_mode_drops_endpoint_comments() {
    // 1001 endpoints > 1000 (§7.2): SEP and endpoint-jump rules lose their comments.
    let eps: Vec<_> = (0..1001)
        .map(|i| json!({"addresses": [format!("10.{}.{}.{}", 1 + i / 65536, (i / 256) % 256, i % 256)]}))
        .collect();
    let snap = snapshot(vec![
        service("big", "172.30.0.10"),
        slice("big-1", "big", json!(eps)),
    ]);
    let rules = render(&snap, &node_a());
    assert!(rules.large_cluster);
    let sep = rules
        .nat
        .rules
        .iter()
        .find(|r| r.starts_with("-A KUBE-SEP-") && r.contains("DNAT"))
        .unwrap();
    assert!(!sep.contains("--comment"), "{sep}");
    assert!(
        sep.ends_with("-m tcp -p tcp -j DNAT --to-destination 10.1.0.0:8080"),
        "{sep}"
    );
    let jump = rules
        .nat
        .rules
        .iter()
        .find(|r| r.starts_with("-A KUBE-SVC-") && r.contains("statistic"))
        .unwrap();
    assert!(!jump.contains("--comment"), "{jump}");
    assert!(jump.contains("--probability 0.0009990010"), "{jump}");
    // The KUBE-SERVICES and masquerade rules keep theirs.
    assert!(
        rules
            .nat
            .rules
            .iter()
            .any(|r| r.contains("\"ns/big:p cluster IP\""))
    );

    let eps: Vec<_> = (0..1000)
        .map(|i| json!({"addresses": [format!("10.9.{}.{}", i / 256, i % 256)]}))
        .collect();
    let snap = snapshot(vec![
        service("big", "172.30.0.10"),
        slice("big-1", "big", json!(eps)),
    ]);
    assert!(!render(&snap, &node_a()).large_cluster);
}

#[test]
fn zone_hints_narrow_cluster_endpoints() {
    let hinted =
        |ip: &str, zone: &str| json!({"addresses": [ip], "hints": {"forZones": [{"name": zone}]}});
    let snap = snapshot(vec![
        service("z", "172.30.0.11"),
        slice(
            "z-1",
            "z",
            json!([hinted("10.0.0.1", "zone-a"), hinted("10.0.0.2", "zone-b")]),
        ),
    ]);
    let plan = &service_port_plans(&snap, &node_a())[0];
    let eps: Vec<_> = plan.cluster.iter().map(|e| e.endpoint.as_str()).collect();
    assert_eq!(eps, ["10.0.0.1:8080"]);
    // One ready endpoint without hints turns topology off.
    let snap = snapshot(vec![
        service("z", "172.30.0.11"),
        slice(
            "z-1",
            "z",
            json!([hinted("10.0.0.1", "zone-a"), {"addresses": ["10.0.0.2"]}]),
        ),
    ]);
    assert_eq!(service_port_plans(&snap, &node_a())[0].cluster.len(), 2);
    // Node hints win over zone hints (PreferSameNode).
    let both = |ip: &str, node: &str| {
        json!({"addresses": [ip],
        "hints": {"forZones": [{"name": "zone-a"}], "forNodes": [{"name": node}]}})
    };
    let snap = snapshot(vec![
        service("z", "172.30.0.11"),
        slice(
            "z-1",
            "z",
            json!([both("10.0.0.1", "node-b"), both("10.0.0.2", "node-a")]),
        ),
    ]);
    let eps: Vec<_> = service_port_plans(&snap, &node_a())[0]
        .cluster
        .iter()
        .map(|e| e.endpoint.clone())
        .collect();
    assert_eq!(eps, ["10.0.0.2:8080"]);
}

#[test]
fn duplicate_endpoints_prefer_the_non_terminating_copy() {
    let ready = json!({"addresses": ["10.0.0.1"], "conditions": {"ready": true}});
    let term = json!({"addresses": ["10.0.0.1"],
        "conditions": {"ready": false, "serving": true, "terminating": true}});
    for order in [[ready.clone(), term.clone()], [term, ready]] {
        let snap = snapshot(vec![
            service("d", "172.30.0.12"),
            slice("d-1", "d", json!([order[0]])),
            slice("d-2", "d", json!([order[1]])),
        ]);
        let plan = &service_port_plans(&snap, &node_a())[0];
        assert_eq!(plan.cluster.len(), 1);
        assert!(plan.cluster[0].ready, "{order:?}");
    }
}
