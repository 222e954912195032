//! DNS model tests on the demo fixtures. Each case derives the expected candidates and
//! answers by hand: kubelet's file (resolv.rs), the resolver's order, CoreDNS's rules
//! (coredns.rs).

use super::*;
use crate::model::chain::tests::demo;

const WEB_POD: &str = "web-7d9f8b6c5d-4hx2k";

fn req(name: &str, from: Option<&str>, qtype: QType) -> DnsRequest {
    DnsRequest {
        name: name.into(),
        qtype,
        namespace: "demo".into(),
        from_pod: from.map(str::to_string),
        cluster_domain: "cluster.local".into(),
        cluster_dns: None,
        node_resolv: None,
        ttl: DEFAULT_TTL,
    }
}

fn run(name: &str, from: Option<&str>, qtype: QType) -> DnsLookup {
    lookup(&demo(), &req(name, from, qtype)).unwrap()
}

fn names(l: &DnsLookup) -> Vec<&str> {
    l.candidates.iter().map(|c| c.name.as_str()).collect()
}

fn rcodes(l: &DnsLookup) -> Vec<Rcode> {
    l.candidates.iter().map(|c| c.answer.rcode).collect()
}

#[test]
fn statefulset_pod_from_web_pod() {
    // "postgres-0.postgres" has 1 dot < ndots 5 → search list first. The first candidate
    // postgres-0.postgres.demo.svc.cluster.local is endpoint "postgres-0" of headless
    // Service demo/postgres: its slice has hostname postgres-0 at 10.244.1.20.
    let l = run("postgres-0.postgres", Some(WEB_POD), QType::A);
    assert_eq!(
        names(&l),
        [
            "postgres-0.postgres.demo.svc.cluster.local.",
            "postgres-0.postgres.svc.cluster.local.",
            "postgres-0.postgres.cluster.local.",
            "postgres-0.postgres.",
        ]
    );
    assert_eq!(l.result.status, Status::Answered);
    assert_eq!(l.result.candidate, Some(0));
    assert_eq!(l.result.records[0].data, "10.244.1.20");
    let tried: Vec<bool> = l.candidates.iter().map(|c| c.tried).collect();
    assert_eq!(tried, [true, false, false, false]);
    assert_eq!(l.client.node.as_deref(), Some("node-a"));
    assert_eq!(l.server.service.as_deref(), Some("kube-system/kube-dns"));
    assert_eq!(l.server.endpoints, ["10.244.1.2", "10.244.2.2"]);
    // Headless: no cluster IP, so no kube-proxy step.
    assert!(l.service.is_none() && l.dnat.is_none());
}

#[test]
fn name_that_needs_the_second_search_domain() {
    // kube-dns.kube-system from demo: the first candidate reads as endpoint "kube-dns" of
    // Service demo/kube-system, which does not exist → NXDOMAIN; the second,
    // kube-dns.kube-system.svc.cluster.local, is the kube-dns Service → 10.96.0.10.
    let l = run("kube-dns.kube-system", None, QType::A);
    assert_eq!(rcodes(&l)[..2], [Rcode::NxDomain, Rcode::NoError]);
    assert_eq!(l.result.candidate, Some(1));
    assert_eq!(l.result.records[0].data, "10.96.0.10");
    assert_eq!(l.service.as_deref(), Some("kube-system/kube-dns"));
    // DNAT from model::proxy: two ready CoreDNS endpoints → 1/2 each, per port.
    let Some(Dnat::Rendered { ports, .. }) = &l.dnat else {
        panic!("expected a DNAT step");
    };
    let dns_udp = ports
        .iter()
        .find(|p| p.name == "kube-system/kube-dns:dns")
        .unwrap();
    assert_eq!(dns_udp.verdict, "DNAT");
    assert_eq!(dns_udp.chain, "KUBE-SVC-TCOU7JCQXEZGVUNU");
    let eps: Vec<(&str, f64)> = dns_udp
        .endpoints
        .iter()
        .map(|e| (e.endpoint.as_str(), e.probability))
        .collect();
    assert_eq!(eps, [("10.244.1.2:53", 0.5), ("10.244.2.2:53", 0.5)]);
}

#[test]
fn nxdomain_everywhere() {
    // 4 dots < 5: the three search expansions first, then the name itself.
    // 1: …cluster.local.demo.svc.cluster.local → 4 labels left of "local.demo.svc": too long.
    // 2: …cluster.local.svc.cluster.local → 3 labels left of "cluster.local.svc": too long.
    // 3: …cluster.local.cluster.local → last label "local" is not svc/pod.
    // 4: nosuch.demo.svc.cluster.local → no Service demo/nosuch.
    let l = run("nosuch.demo.svc.cluster.local", None, QType::A);
    assert_eq!(rcodes(&l), [Rcode::NxDomain; 4]);
    assert_eq!(l.result.status, Status::Nxdomain);
    assert!(
        l.candidates[3]
            .answer
            .explanation
            .contains("no Service demo/nosuch")
    );
}

#[test]
fn short_unknown_name_ends_upstream() {
    // "nosuch" fails in all three cluster domains, then "nosuch." leaves the zone.
    let l = run("nosuch", None, QType::A);
    assert_eq!(
        rcodes(&l),
        [
            Rcode::NxDomain,
            Rcode::NxDomain,
            Rcode::NxDomain,
            Rcode::Unknown
        ]
    );
    assert_eq!(l.result.status, Status::Unknown);
    assert_eq!(l.candidates[3].answer.server, Server::Upstream);
}

#[test]
fn srv_for_named_ports() {
    // ClusterIP: one entry → weight 100, target the Service name, port = Service port.
    let l = run("_http._tcp.web", None, QType::Srv);
    assert_eq!(
        l.result.records[0].data,
        "0 100 80 web.demo.svc.cluster.local."
    );
    // Headless: one entry per ready endpoint → weight floor(100 / 2) = 50, target the
    // endpoint's own name, port = the slice's port.
    let l = run("_postgres._tcp.postgres", None, QType::Srv);
    let data: Vec<String> = l.result.records.iter().map(|r| r.data.clone()).collect();
    assert_eq!(
        data,
        [
            "0 50 5432 postgres-0.postgres.demo.svc.cluster.local.",
            "0 50 5432 postgres-1.postgres.demo.svc.cluster.local."
        ]
    );
    // A port name the Service does not have: nothing matches → NXDOMAIN.
    let l = run("_nope._tcp.web.demo.svc.cluster.local.", None, QType::Srv);
    assert_eq!(l.result.status, Status::Nxdomain);
}

#[test]
fn dns_policy_none_uses_only_dns_config() {
    let l = run("web", Some("tools-none"), QType::A);
    assert_eq!(l.client.mode, KubeletMode::None);
    assert_eq!(
        l.resolv_conf.text,
        "search demo.svc.cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:2 timeout:2\n"
    );
    assert!(!l.resolv_conf.node_part_unknown);
    // 0 dots < 2: web.demo.svc.cluster.local first, and it is the web Service.
    assert_eq!(l.result.candidate, Some(0));
    assert_eq!(l.result.records[0].data, "10.96.120.15");
}

#[test]
fn dns_policy_default_uses_the_node_file() {
    let mut r = req("web", Some("tools-default"), QType::A);
    let l = lookup(&demo(), &r).unwrap();
    assert_eq!(l.client.mode, KubeletMode::Node);
    assert!(l.resolv_conf.node_part_unknown);
    assert_eq!(l.result.status, Status::Unknown);
    r.node_resolv = Some(ResolvConf::parse(
        "nameserver 192.168.10.2\nsearch eu-west-1.compute.internal\n",
    ));
    let l = lookup(&demo(), &r).unwrap();
    assert_eq!(
        l.resolv_conf.text,
        "search eu-west-1.compute.internal\nnameserver 192.168.10.2\n"
    );
    assert_eq!(l.server.kind, Server::Upstream);
    // ndots 1 (glibc default), 0 dots → the search domain first.
    assert_eq!(names(&l), ["web.eu-west-1.compute.internal.", "web."]);
}

#[test]
fn host_network_pods() {
    let l = run("web", Some("node-agent"), QType::A);
    assert!(l.client.host_network);
    assert_eq!(l.client.mode, KubeletMode::Cluster);
    assert_eq!(l.resolv_conf.nameservers, ["10.96.0.10"]);
    assert_eq!(l.result.records[0].data, "10.96.120.15");
    // The DNAT step is computed for the pod's own node.
    let Some(Dnat::Rendered { node, .. }) = &l.dnat else {
        panic!("expected a DNAT step");
    };
    assert_eq!(node.name, "node-b");
    let l = run("web", Some("hostnet-plain"), QType::A);
    assert_eq!(l.client.mode, KubeletMode::Node);
    assert!(l.client.notes[0].contains("ClusterFirstWithHostNet"));
}

#[test]
fn external_name_is_a_cname() {
    let l = run("billing", None, QType::A);
    let r = &l.result.records[0];
    assert_eq!(
        (r.type_, r.data.as_str()),
        ("CNAME", "billing.example.com.")
    );
    assert!(l.service.is_none());
}

#[test]
fn aaaa_for_an_ipv4_service_is_nodata() {
    let l = run("web.demo.svc.cluster.local.", None, QType::Aaaa);
    assert_eq!(l.result.status, Status::Nodata);
}

#[test]
fn pod_name_with_pods_insecure() {
    let l = run("10-244-1-5.demo.pod.cluster.local.", None, QType::A);
    assert_eq!(l.result.records[0].data, "10.244.1.5");
}

#[test]
fn not_ready_endpoints_are_not_published_unless_the_slice_says_ready() {
    // postgres-1 not ready: the controller writes ready=false, CoreDNS skips it.
    let mut snap = demo();
    let slice = snap
        .endpoint_slices
        .iter_mut()
        .find(|s| s.metadata.name.as_deref() == Some("postgres-q8w2c"))
        .unwrap();
    let slice = std::sync::Arc::make_mut(slice);
    slice.endpoints[1].conditions.as_mut().unwrap().ready = Some(false);
    let l = lookup(&snap, &req("postgres", None, QType::A)).unwrap();
    assert_eq!(l.result.records.len(), 1);
    let l = lookup(&snap, &req("postgres-1.postgres", None, QType::A)).unwrap();
    assert_eq!(l.candidates[0].answer.rcode, Rcode::NxDomain);
}

#[test]
fn bad_requests() {
    let err = lookup(&demo(), &req("web..demo", None, QType::A)).unwrap_err();
    assert!(matches!(err, DnsError::InvalidName { .. }), "{err}");
    let err = lookup(&demo(), &req("web", Some("ghost"), QType::A)).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("pod demo/ghost not found (pods there: "),
        "{err}"
    );
}

#[test]
fn without_kube_dns_kubelet_falls_back() {
    let mut snap = demo();
    snap.services
        .retain(|s| s.metadata.name.as_deref() != Some("kube-dns"));
    let l = lookup(&snap, &req("web", None, QType::A)).unwrap();
    assert_eq!(l.client.mode, KubeletMode::Node);
    assert!(l.client.notes[0].contains("no clusterDNS"));
}

#[test]
fn json_shape_is_stable() {
    let v = serde_json::to_value(run("web", Some(WEB_POD), QType::A)).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "query",
            "client",
            "resolv_conf",
            "server",
            "candidates",
            "result",
            "service",
            "dnat"
        ]
    );
    assert_eq!(v["query"]["type"], "A");
    assert_eq!(v["client"]["mode"], "cluster");
    assert_eq!(v["candidates"][0]["answer"]["rcode"], "NOERROR");
    assert_eq!(v["result"]["status"], "answered");
    assert_eq!(v["dnat"]["status"], "rendered");
}

#[test]
fn dual_stack_service_answers_a_and_aaaa() {
    let mut snap = demo();
    let svc = snap
        .services
        .iter_mut()
        .find(|s| s.metadata.name.as_deref() == Some("web"))
        .unwrap();
    let svc = std::sync::Arc::make_mut(svc);
    let spec = svc.spec.as_mut().unwrap();
    spec.cluster_ips = Some(vec!["10.96.120.15".into(), "fd00:10:96::1f".into()]);
    let fqdn = "web.demo.svc.cluster.local.";
    let l = lookup(&snap, &req(fqdn, None, QType::Aaaa)).unwrap();
    assert_eq!(l.result.records[0].data, "fd00:10:96::1f");
    assert_eq!(l.result.records[0].type_, "AAAA");
    let l = lookup(&snap, &req(fqdn, None, QType::A)).unwrap();
    assert_eq!(l.result.records.len(), 1);
    // SRV: one entry per (port, cluster IP) = 2 → weight 50, the duplicate target dropped.
    let l = lookup(&snap, &req("_http._tcp.web", None, QType::Srv)).unwrap();
    let data: Vec<&str> = l.result.records.iter().map(|r| r.data.as_str()).collect();
    assert_eq!(data, ["0 50 80 web.demo.svc.cluster.local."]);
    // The chain lists the AAAA name too.
    let names = service_names(&snap, "demo", "web", "cluster.local", DEFAULT_TTL);
    assert!(
        names
            .iter()
            .any(|n| n.qtype == QType::Aaaa && n.records.len() == 1)
    );
}

#[test]
fn publish_not_ready_addresses_shows_in_the_answer() {
    // The controller writes ready=true for every pod of a Service that publishes
    // not-ready addresses; CoreDNS then answers with it. The slice in the fixture already
    // says ready for both, so only the explanation changes.
    let mut snap = demo();
    let svc = snap
        .services
        .iter_mut()
        .find(|s| s.metadata.name.as_deref() == Some("postgres"))
        .unwrap();
    let svc = std::sync::Arc::make_mut(svc);
    svc.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
    let l = lookup(&snap, &req("postgres", None, QType::A)).unwrap();
    assert_eq!(l.result.records.len(), 2);
    let why = &l.candidates[0].answer.explanation;
    assert!(why.contains("publishNotReadyAddresses"), "{why}");
}

#[test]
fn missing_headless_service_is_explained() {
    let mut snap = demo();
    snap.services
        .retain(|s| s.metadata.name.as_deref() != Some("postgres"));
    let l = lookup(&snap, &req("postgres-0.postgres", None, QType::A)).unwrap();
    let why = &l.candidates[0].answer.explanation;
    assert_eq!(l.candidates[0].answer.rcode, Rcode::NxDomain);
    assert!(
        why.contains("pod postgres-0 sets hostname/subdomain"),
        "{why}"
    );
}
