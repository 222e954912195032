//! Golden tests over `tests/fixtures/iptables/<case>/`: `objects.yaml` (Services and
//! EndpointSlices), `case.yaml` (node and proxier parameters) and the expected outputs
//! `expected.txt` (canonical restore input) and, when present, `expected-save.txt`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::manifest::parse_documents;

pub(crate) fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/iptables")
}

pub(crate) fn load_case(name: &str) -> (Objects, ProxyOptions, TableSel) {
    let dir = fixture_dir().join(name);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let mut snapshot = Objects::default();
    for (_, doc) in parse_documents("objects.yaml", &read("objects.yaml")).unwrap() {
        snapshot
            .add_value(doc, crate::model::OtherKinds::Refuse)
            .unwrap();
    }
    let case = parse_documents("case.yaml", &read("case.yaml")).unwrap();
    let case = case
        .into_iter()
        .next()
        .map(|(_, v)| v)
        .unwrap_or(Value::Null);
    let mut opts = ProxyOptions {
        node_name: case["nodeName"].as_str().unwrap_or("").to_string(),
        ..ProxyOptions::default()
    };
    for ip in case["nodeIPs"].as_array().into_iter().flatten() {
        opts.node_ips.push(ip.as_str().unwrap().parse().unwrap());
    }
    if let Some(first) = opts.node_ips.first() {
        opts.family = IpFamily::of(first);
    }
    opts.node_zone = case["nodeZone"].as_str().map(str::to_string);
    if !case["proxyConfig"].is_null() {
        KubeProxyConfig::from_value(&case["proxyConfig"])
            .unwrap()
            .apply(&mut opts, &[]);
    }
    if let Some(mark) = case["mark"].as_str() {
        opts.masquerade_mark = mark.to_string();
    }
    opts.random_fully = case["randomFully"].as_bool().unwrap_or(false);
    opts.nfacct = !case["noNfacct"].as_bool().unwrap_or(false);
    for c in case["existingNatChains"].as_array().into_iter().flatten() {
        opts.existing_nat_chains
            .push(c.as_str().unwrap().to_string());
    }
    let table = match case["table"].as_str().unwrap_or("all") {
        "nat" => TableSel::Nat,
        "filter" => TableSel::Filter,
        _ => TableSel::All,
    };
    (snapshot, opts, table)
}

fn check(name: &str) {
    let (snapshot, opts, table) = load_case(name);
    let rules = render(&snapshot, &opts);
    let got = canonical_text(&rules, table);
    let dir = fixture_dir().join(name);
    let expected = std::fs::read_to_string(dir.join("expected.txt")).unwrap();
    if got != expected {
        let _ = std::fs::write(
            std::env::temp_dir().join(format!("kdive-{name}-actual.txt")),
            &got,
        );
    }
    assert_eq!(got, expected, "case {name}: canonical output differs");
    if let Ok(expected) = std::fs::read_to_string(dir.join("expected-save.txt")) {
        let got = save::save_text(&rules, table, &opts);
        if got != expected {
            let _ = std::fs::write(
                std::env::temp_dir().join(format!("kdive-{name}-actual-save.txt")),
                &got,
            );
        }
        assert_eq!(got, expected, "case {name}: save output differs");
    }
}

macro_rules! golden {
    ($($test:ident => $case:literal),* $(,)?) => {
        $(#[test] fn $test() { check($case); })*
    };
}

golden! {
    overall => "overall",
    sync_initial_two_clusterip => "sync-initial-two-clusterip",
    clusterip_three_endpoints => "clusterip-three-endpoints",
    session_affinity => "session-affinity",
    etp_local_loadbalancer => "etp-local-loadbalancer",
    itp_local => "itp-local",
    terminating => "terminating",
    no_endpoints => "no-endpoints",
    multiport => "multiport",
    ipv6_dual_stack => "ipv6-dual-stack",
    proxy_options => "proxy-options",
    no_services_random_fully => "no-services-random-fully",
    bad_ips_and_skipped => "bad-ips-and-skipped",
}
