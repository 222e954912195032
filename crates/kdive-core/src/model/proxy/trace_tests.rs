//! Packet traces through the rendered rules of the golden fixtures. Expected outcomes
//! are worked out by hand from the rules in each fixture's expected.txt.

use super::fixture_tests::load_case;
use super::ip::Cidr;
use super::trace::{Packet, SourceKind, TraceResult, Verdict, trace};
use super::*;

fn run(case: &str, src: &str, dst: &str) -> TraceResult {
    let (snapshot, opts, _) = load_case(case);
    let rules = render(&snapshot, &opts);
    let packet = Packet::parse(src, dst).unwrap();
    let pods = [Cidr::parse_sloppy("10.0.0.0/8").unwrap()];
    trace(&rules, &opts, &packet, &pods).unwrap()
}

fn targets(r: &TraceResult) -> Vec<(String, f64)> {
    r.targets
        .iter()
        .map(|t| (t.endpoint.clone(), t.probability))
        .collect()
}

#[test]
fn pod_to_cluster_ip_is_not_masqueraded() {
    // KUBE-SERVICES "ns1/svc1:p80 cluster IP" -> KUBE-SVC-XPGD..; the masquerade rule has
    // ! -s 10.0.0.0/8, which a pod source does not match.
    let r = run("overall", "10.0.0.2", "172.30.0.41:80");
    assert_eq!(r.source, SourceKind::Pod);
    assert_eq!(r.verdict, Verdict::Dnat);
    assert_eq!(targets(&r), vec![("10.180.0.1:80".to_string(), 1.0)]);
    assert!(!r.masquerade);
    assert_eq!(
        r.path,
        [
            "KUBE-SERVICES",
            "KUBE-SVC-XPGD46QRK7WJZT7O",
            "KUBE-SEP-SXIVWICOYRO3J4NJ"
        ]
    );
}

#[test]
fn external_to_cluster_ip_is_masqueraded() {
    let r = run("overall", "203.0.113.9", "172.30.0.41:80");
    assert_eq!(r.source, SourceKind::External);
    assert_eq!(targets(&r), vec![("10.180.0.1:80".to_string(), 1.0)]);
    assert!(r.masquerade);
    assert!(r.path.contains(&"KUBE-MARK-MASQ".to_string()));
}

#[test]
fn node_to_its_own_node_port() {
    // nat: last KUBE-SERVICES rule (dst-type LOCAL) -> KUBE-NODEPORTS --dport 3003 ->
    // KUBE-EXT-X27L.. (masquerade, eTP Cluster) -> KUBE-SVC-X27L.. -> 10.180.0.3:80.
    let r = run("overall", "192.168.0.2", "192.168.0.2:3003");
    assert_eq!(r.source, SourceKind::Node);
    assert_eq!(targets(&r), vec![("10.180.0.3:80".to_string(), 1.0)]);
    assert!(r.masquerade);
    assert_eq!(
        r.path,
        [
            "KUBE-SERVICES",
            "KUBE-NODEPORTS",
            "KUBE-EXT-X27LE4BHSL4DOUIK",
            "KUBE-MARK-MASQ",
            "KUBE-SVC-X27LE4BHSL4DOUIK",
            "KUBE-SEP-OYPFS5VJICHGATKP"
        ]
    );
}

#[test]
fn localhost_node_port_goes_through_the_nfacct_rule() {
    let r = run("overall", "127.0.0.1", "127.0.0.1:3003");
    assert_eq!(r.source, SourceKind::Localhost);
    assert_eq!(targets(&r), vec![("10.180.0.3:80".to_string(), 1.0)]);
    assert!(r.masquerade);
    assert!(
        r.steps[1]
            .rule
            .contains("-d 127.0.0.0/8 --dport 3003 -m nfacct"),
        "{:?}",
        r.steps
    );
}

#[test]
fn etp_local_without_local_endpoints_drops_external_traffic() {
    // svc2 (eTP Local) has no endpoint on test-node: KUBE-EXT-GNZB.. has no final jump,
    // so nat does nothing and filter KUBE-EXTERNAL-SERVICES drops the node port.
    let r = run("overall", "203.0.113.9", "192.168.0.2:3001");
    assert_eq!(r.verdict, Verdict::Drop);
    assert!(r.targets.is_empty());
    let rule = r.verdict_rule.unwrap();
    assert!(
        rule.contains("has no local endpoints") && rule.contains("--dport 3001"),
        "{rule}"
    );
}

#[test]
fn pod_traffic_to_etp_local_node_port_is_short_circuited() {
    // "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -> KUBE-SVC.
    let r = run("overall", "10.0.0.2", "192.168.0.2:3001");
    assert_eq!(targets(&r), vec![("10.180.0.2:80".to_string(), 1.0)]);
    assert!(!r.masquerade);
}

#[test]
fn node_to_etp_local_load_balancer_is_masqueraded_and_routed() {
    let r = run("overall", "192.168.0.2", "1.2.3.4:80");
    assert_eq!(targets(&r), vec![("10.180.0.2:80".to_string(), 1.0)]);
    assert!(r.masquerade);
}

#[test]
fn no_endpoints_rejects() {
    let r = run("overall", "10.0.0.2", "172.30.0.46:80");
    assert_eq!(r.verdict, Verdict::Reject);
    assert!(
        r.verdict_rule
            .unwrap()
            .contains("ns6/svc6:p80 has no endpoints")
    );
    assert_eq!(r.path, ["KUBE-SERVICES", "filter:KUBE-SERVICES"]);
}

#[test]
fn load_balancer_source_ranges() {
    // Allowed source: KUBE-FW -> KUBE-EXT (masquerade) -> KUBE-SVC; ClientIP affinity's
    // --rcheck rule does not match a new client.
    let r = run("overall", "203.0.113.5", "5.6.7.8:80");
    assert_eq!(targets(&r), vec![("10.180.0.3:80".to_string(), 1.0)]);
    assert!(r.masquerade);
    // Other sources fall through KUBE-FW and are dropped by filter KUBE-PROXY-FIREWALL.
    let r = run("overall", "198.51.100.1", "5.6.7.8:80");
    assert_eq!(r.verdict, Verdict::Drop);
    assert!(
        r.verdict_rule
            .unwrap()
            .starts_with("-A KUBE-PROXY-FIREWALL")
    );
}

#[test]
fn health_check_port_is_accepted_and_unknown_traffic_is_left_alone() {
    let r = run("overall", "203.0.113.9", "192.168.0.2:30000");
    assert_eq!(r.verdict, Verdict::Accept);
    let r = run("overall", "10.0.0.2", "8.8.8.8:53/udp");
    assert_eq!(r.verdict, Verdict::None);
    assert!(r.targets.is_empty() && !r.masquerade);
}

#[test]
fn three_endpoints_in_rule_order_with_equal_chances() {
    // 0.3333333333, then (1 - 0.3333333333) * 0.5, then the rest: 1/3 each to 6 places.
    let r = run("clusterip-three-endpoints", "10.0.0.2", "172.30.0.41:80");
    assert_eq!(
        targets(&r),
        vec![
            ("10.1.1.11:80".to_string(), 0.333333),
            ("10.1.1.1:80".to_string(), 0.333333),
            ("10.1.1.2:80".to_string(), 0.333333)
        ]
    );
}

#[test]
fn hairpin_branch_is_masqueraded() {
    // The endpoint 10.1.1.1 reaching itself matches "-s 10.1.1.1 -j KUBE-MARK-MASQ".
    let r = run("clusterip-three-endpoints", "10.1.1.1", "172.30.0.41:80");
    let masq: Vec<(String, bool)> = r
        .targets
        .iter()
        .map(|t| (t.endpoint.clone(), t.masquerade))
        .collect();
    assert_eq!(
        masq,
        vec![
            ("10.1.1.11:80".to_string(), false),
            ("10.1.1.1:80".to_string(), true),
            ("10.1.1.2:80".to_string(), false)
        ]
    );
    assert!(r.masquerade);
}

#[test]
fn external_traffic_policy_local_keeps_the_source() {
    // Allowed by the 203.0.113.0/25 range, then KUBE-EXT ends in KUBE-SVL: only the local
    // endpoint, and no masquerade, so the client address is preserved.
    let r = run("etp-local-loadbalancer", "203.0.113.7", "5.6.7.8:80");
    assert_eq!(targets(&r), vec![("10.3.0.1:8080".to_string(), 1.0)]);
    assert!(!r.masquerade);
    let r = run(
        "etp-local-loadbalancer",
        "198.51.100.1",
        "192.168.0.10:30080",
    );
    assert_eq!(targets(&r), vec![("10.3.0.1:8080".to_string(), 1.0)]);
    assert!(!r.masquerade);
    // Cluster-IP traffic still uses both endpoints.
    let r = run("etp-local-loadbalancer", "10.0.0.9", "172.30.0.60:80");
    assert_eq!(r.targets.len(), 2);
}

#[test]
fn internal_traffic_policy_local_without_local_endpoint_drops() {
    let r = run("itp-local", "10.0.0.2", "172.30.1.2:80");
    assert_eq!(r.verdict, Verdict::Drop);
    let r = run("itp-local", "10.0.0.2", "172.30.1.1:80");
    assert_eq!(targets(&r), vec![("10.5.0.1:80".to_string(), 1.0)]);
}

#[test]
fn ipv6_trace() {
    let (snapshot, opts, _) = load_case("ipv6-dual-stack");
    let rules = render(&snapshot, &opts);
    let packet = Packet::parse("fd00:10::5", "[fd00:172:30::41]:80").unwrap();
    let r = trace(&rules, &opts, &packet, &[]).unwrap();
    assert_eq!(r.source, SourceKind::Pod);
    assert_eq!(
        targets(&r),
        vec![
            ("[fd00:10::1]:80".to_string(), 0.5),
            ("[fd00:10::2]:80".to_string(), 0.5)
        ]
    );
    assert!(!r.masquerade);
}

#[test]
fn tracer_reads_the_rule_text() {
    // Edit the rendered text: the trace must follow the edited probability.
    let (snapshot, opts, _) = load_case("overall");
    let mut rules = render(&snapshot, &opts);
    for r in &mut rules.nat.rules {
        *r = r.replace("--probability 0.5000000000", "--probability 0.2500000000");
    }
    let packet = Packet::parse("10.0.0.2", "172.30.0.44:80").unwrap();
    let r = trace(&rules, &opts, &packet, &[]).unwrap();
    assert_eq!(
        targets(&r),
        vec![
            ("10.180.0.4:80".to_string(), 0.25),
            ("10.180.0.5:80".to_string(), 0.75)
        ]
    );
    // And a rule it does not understand is an error, not a silent skip.
    rules
        .nat
        .rules
        .push("-A KUBE-SERVICES -m frob --frob 1 -j DROP".into());
    assert!(trace(&rules, &opts, &packet, &[]).is_err());
}

#[test]
fn bad_trace_input() {
    assert!(Packet::parse("10.0.0.300", "1.2.3.4:80").is_err());
    assert!(Packet::parse("10.0.0.1", "1.2.3.4").is_err());
    assert!(Packet::parse("10.0.0.1", "1.2.3.4:0").is_err());
    assert!(Packet::parse("10.0.0.1", "1.2.3.4:70000").is_err());
    assert!(Packet::parse("10.0.0.1", "1.2.3.4:80/icmp").is_err());
    assert!(Packet::parse("10.0.0.1", "[fd00::1]:80").is_err());
    let p = Packet::parse("fd00::2", "[fd00::1]:53/UDP").unwrap();
    assert_eq!((p.port, p.protocol.as_str()), (53, "udp"));
}
