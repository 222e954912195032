//! Endpoints controller tests on the demo fixture (tests/fixtures/chain/demo.yaml).

use super::*;
use crate::controllers::demo_fixture::{Demo, demo};

fn service(snap: &Demo, name: &str) -> Service {
    snap.services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(name))
        .unwrap()
        .clone()
}

fn ips(a: &Option<Vec<EndpointAddress>>) -> Vec<&str> {
    a.iter().flatten().map(|a| a.ip.as_str()).collect()
}

fn ports(s: &EndpointSubset) -> Vec<(&str, i32)> {
    s.ports
        .iter()
        .flatten()
        .map(|p| (p.name.as_deref().unwrap_or(""), p.port))
        .collect()
}

#[test]
fn web_endpoints_group_ports_by_address_set() {
    let snap = demo();
    let svc = service(&snap, "web");
    let Some(Change::Create(e)) = reconcile(&EndpointsInput {
        service: &svc,
        pods: &snap.pods,
        current: None,
    }) else {
        panic!("expected a create")
    };
    assert_eq!(e.metadata.name.as_deref(), Some("web"));
    let l = e.metadata.labels.as_ref().unwrap();
    assert_eq!(l["app"], "web");
    assert_eq!(l[LABEL_SKIP_MIRROR], "true");
    // Port http (named targetPort) resolves on the three pods declaring "http"; the
    // terminating lx9pd is left out (Endpoints drop terminating pods unless
    // publishNotReadyAddresses); tm5rw is not Ready. Port metrics (9090) is also served by
    // web-legacy (10.244.3.4). Different address sets, so two subsets:
    //   http 8080:    ready .1.5 .2.7, not ready .2.8
    //   metrics 9090: ready .1.5 .2.7 .3.4, not ready .2.8
    let subsets = e.subsets.unwrap();
    assert_eq!(subsets.len(), 2);
    let http = subsets
        .iter()
        .find(|s| ports(s) == [("http", 8080)])
        .unwrap();
    assert_eq!(ips(&http.addresses), ["10.244.1.5", "10.244.2.7"]);
    assert_eq!(ips(&http.not_ready_addresses), ["10.244.2.8"]);
    let metrics = subsets
        .iter()
        .find(|s| ports(s) == [("metrics", 9090)])
        .unwrap();
    assert_eq!(
        ips(&metrics.addresses),
        ["10.244.1.5", "10.244.2.7", "10.244.3.4"]
    );
    assert_eq!(ips(&metrics.not_ready_addresses), ["10.244.2.8"]);
    let a = &metrics.addresses.as_ref().unwrap()[2];
    assert_eq!(a.node_name.as_deref(), Some("node-c"));
    assert_eq!(
        a.target_ref.as_ref().unwrap().name.as_deref(),
        Some("web-legacy")
    );
}

#[test]
fn same_address_set_shares_one_subset_and_unchanged_is_a_no_op() {
    let snap = demo();
    let svc = service(&snap, "postgres");
    let input = EndpointsInput {
        service: &svc,
        pods: &snap.pods,
        current: None,
    };
    let Some(Change::Create(e)) = reconcile(&input) else {
        panic!()
    };
    let subsets = e.subsets.clone().unwrap();
    assert_eq!(subsets.len(), 1);
    assert_eq!(ips(&subsets[0].addresses), ["10.244.1.20", "10.244.3.21"]);
    // Headless: the marker label, and hostnames for pods whose subdomain is the Service.
    assert_eq!(
        e.metadata.labels.as_ref().unwrap()["service.kubernetes.io/headless"],
        ""
    );
    assert_eq!(
        subsets[0].addresses.as_ref().unwrap()[0]
            .hostname
            .as_deref(),
        Some("postgres-0")
    );
    let again = EndpointsInput {
        service: &svc,
        pods: &snap.pods,
        current: Some(&e),
    };
    assert_eq!(reconcile(&again), None);
}

#[test]
fn publish_not_ready_addresses_lists_everyone_as_ready() {
    let snap = demo();
    let mut svc = service(&snap, "web");
    svc.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
    let subsets = subsets(&svc, &snap.pods);
    // Now lx9pd (terminating, 10.244.1.9) and tm5rw (.2.8) are in, all as ready.
    let http = subsets
        .iter()
        .find(|s| ports(s) == [("http", 8080)])
        .unwrap();
    assert_eq!(
        ips(&http.addresses),
        ["10.244.1.5", "10.244.1.9", "10.244.2.7", "10.244.2.8"]
    );
    assert_eq!(http.not_ready_addresses, None);
}

#[test]
fn selectorless_services_are_left_alone_and_orphans_deleted() {
    let snap = demo();
    let mut svc = service(&snap, "web");
    svc.spec.as_mut().unwrap().selector = None;
    assert_eq!(
        reconcile(&EndpointsInput {
            service: &svc,
            pods: &snap.pods,
            current: None
        }),
        None
    );
    let orphan = Endpoints {
        metadata: ObjectMeta {
            name: Some("gone".into()),
            namespace: Some("demo".into()),
            ..Default::default()
        },
        subsets: None,
    };
    let mut leader = orphan.clone();
    leader.metadata.name = Some("lock".into());
    leader.metadata.annotations = Some([(LEADER_ANNOTATION.to_string(), "{}".to_string())].into());
    let mut kept = orphan.clone();
    kept.metadata.name = Some("web".into());
    let deletes = orphaned(&[orphan, leader, kept], &snap.services);
    assert_eq!(
        deletes,
        [Change::Delete {
            namespace: "demo".into(),
            name: "gone".into(),
            uid: None
        }]
    );
}

fn addrs(prefix: &str, n: usize) -> Option<Vec<EndpointAddress>> {
    Some(
        (0..n)
            .map(|i| EndpointAddress {
                ip: format!("{prefix}.{i}"),
                ..Default::default()
            })
            .collect(),
    )
}

#[test]
fn over_capacity_truncates_not_ready_first_in_proportion() {
    // 600 ready + 600 not ready in two subsets (300/300 not ready): 1000 - 600 = 400 not
    // ready fit, 300/600*400 = 200 per subset. Ready ones are untouched.
    let mut s = vec![
        EndpointSubset {
            addresses: addrs("a", 600),
            not_ready_addresses: addrs("b", 300),
            ports: None,
        },
        EndpointSubset {
            addresses: None,
            not_ready_addresses: addrs("c", 300),
            ports: None,
        },
    ];
    assert!(truncate(&mut s));
    let n = |v: &Option<Vec<EndpointAddress>>| v.as_ref().map_or(0, Vec::len);
    assert_eq!(
        (n(&s[0].addresses), n(&s[0].not_ready_addresses)),
        (600, 200)
    );
    assert_eq!((n(&s[1].addresses), n(&s[1].not_ready_addresses)), (0, 200));
    // 1100 ready over 3 subsets 500/500/100: ceil(500/1100*1000) = 455, 455, then only 90
    // left of the 1000 (ceil gives 91). All not-ready addresses go.
    let mut s = vec![
        EndpointSubset {
            addresses: addrs("a", 500),
            not_ready_addresses: addrs("x", 5),
            ports: None,
        },
        EndpointSubset {
            addresses: addrs("b", 500),
            not_ready_addresses: None,
            ports: None,
        },
        EndpointSubset {
            addresses: addrs("c", 100),
            not_ready_addresses: None,
            ports: None,
        },
    ];
    assert!(truncate(&mut s));
    let sizes: Vec<(usize, usize)> = s
        .iter()
        .map(|s| (n(&s.addresses), n(&s.not_ready_addresses)))
        .collect();
    assert_eq!(sizes, [(455, 0), (455, 0), (90, 0)]);
    // At capacity exactly: untouched.
    let mut s = vec![EndpointSubset {
        addresses: addrs("a", 1000),
        not_ready_addresses: None,
        ports: None,
    }];
    assert!(!truncate(&mut s));
}
