//! EndpointSlice controller tests. The demo namespace fixture (tests/fixtures/chain/demo.yaml)
//! documents what the real controller writes for its pods; expectations below are derived
//! from that comment and the rules in the module docs.

use super::*;
use crate::controllers::demo_fixture::{Demo, demo};

fn service(snap: &Demo, name: &str) -> Service {
    let mut s = snap
        .services
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some(name))
        .unwrap()
        .clone();
    s.metadata.uid = Some(format!("uid-{name}"));
    s
}

fn run(snap: &Demo, svc: &Service, slices: &[EndpointSlice]) -> EndpointSliceOutput {
    reconcile(&EndpointSliceInput {
        service: svc,
        pods: &snap.pods,
        nodes: &snap.nodes,
        slices,
    })
}

/// Creates applied as the API server would: name = generateName + a suffix.
fn apply(slices: &mut Vec<EndpointSlice>, out: &EndpointSliceOutput) {
    for (i, c) in out.changes.iter().enumerate() {
        match c {
            Change::Create(s) => {
                let mut s = s.clone();
                s.metadata.name =
                    Some(format!("{}x{i}", s.metadata.generate_name.clone().unwrap()));
                s.metadata.uid = Some(format!("slice-uid-{i}"));
                slices.push(s);
            }
            Change::Update(s) => {
                let i = slices
                    .iter()
                    .position(|o| o.metadata.name == s.metadata.name)
                    .unwrap();
                slices[i] = s.clone();
            }
            Change::Delete { name, .. } => {
                slices.retain(|o| o.metadata.name.as_ref() != Some(name))
            }
            Change::UpdateStatus(_) => panic!("slices have no status"),
        }
    }
}

/// (pod, ready, serving, terminating, node, zone) of every endpoint, sorted by pod.
fn summary(s: &EndpointSlice) -> Vec<(String, bool, bool, bool, String, String)> {
    let mut v: Vec<_> = s
        .endpoints
        .iter()
        .map(|e| {
            let c = e.conditions.clone().unwrap();
            (
                e.target_ref.as_ref().unwrap().name.clone().unwrap(),
                c.ready.unwrap(),
                c.serving.unwrap(),
                c.terminating.unwrap(),
                e.node_name.clone().unwrap_or_default(),
                e.zone.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

fn port_names(s: &EndpointSlice) -> Vec<(String, i32)> {
    s.ports
        .iter()
        .flatten()
        .map(|p| (p.name.clone().unwrap(), p.port.unwrap()))
        .collect()
}

fn created(out: &EndpointSliceOutput) -> Vec<EndpointSlice> {
    out.changes
        .iter()
        .map(|c| match c {
            Change::Create(s) => s.clone(),
            other => panic!("expected only creates, got {other:?}"),
        })
        .collect()
}

#[test]
fn web_slices_match_the_fixture() {
    let snap = demo();
    let svc = service(&snap, "web");
    let out = run(&snap, &svc, &[]);
    assert!(!out.retry);
    let mut slices = created(&out);
    // Two port sets: {http 8080, metrics 9090} for the four pods declaring "http", and
    // {metrics 9090} for web-legacy (its 8080 port is named "web").
    slices.sort_by_key(|s| std::cmp::Reverse(s.endpoints.len()));
    assert_eq!(slices.len(), 2);
    let (main, legacy) = (&slices[0], &slices[1]);
    assert_eq!(
        port_names(main),
        [("http".into(), 8080), ("metrics".into(), 9090)]
    );
    assert_eq!(port_names(legacy), [("metrics".into(), 9090)]);
    let t = |p: &str, r, s, te, n: &str, z: &str| {
        (p.to_string(), r, s, te, n.to_string(), z.to_string())
    };
    // demo.yaml: 4hx2k r/s/-, 8zq7n r/s/-, tm5rw -/-/-, lx9pd -/s/t (Ready but terminating:
    // serving stays true, ready goes false).
    assert_eq!(
        summary(main),
        [
            t(
                "web-6b5d9c7f48-lx9pd",
                false,
                true,
                true,
                "node-a",
                "eu-west-1a"
            ),
            t(
                "web-7d9f8b6c5d-4hx2k",
                true,
                true,
                false,
                "node-a",
                "eu-west-1a"
            ),
            t(
                "web-7d9f8b6c5d-8zq7n",
                true,
                true,
                false,
                "node-b",
                "eu-west-1b"
            ),
            t(
                "web-7d9f8b6c5d-tm5rw",
                false,
                false,
                false,
                "node-b",
                "eu-west-1b"
            ),
        ]
    );
    assert_eq!(
        summary(legacy),
        [t("web-legacy", true, true, false, "node-c", "eu-west-1c")]
    );
    // Metadata of a controller-written slice.
    for s in &slices {
        assert_eq!(s.metadata.generate_name.as_deref(), Some("web-"));
        assert_eq!(s.metadata.name, None);
        assert_eq!(s.address_type, "IPv4");
        let l = s.metadata.labels.as_ref().unwrap();
        assert_eq!(l[LABEL_SERVICE_NAME], "web");
        assert_eq!(l[LABEL_MANAGED_BY], "endpointslice-controller.k8s.io");
        // The Service's own labels are copied (upstream does; the fixture omits them).
        assert_eq!(l["app"], "web");
        assert!(!l.contains_key(LABEL_HEADLESS));
        let o = &s.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (o.kind.as_str(), o.name.as_str(), o.uid.as_str()),
            ("Service", "web", "uid-web")
        );
        assert_eq!(
            (o.controller, o.block_owner_deletion),
            (Some(true), Some(true))
        );
    }
    let e = &main
        .endpoints
        .iter()
        .find(|e| e.addresses == ["10.244.1.5"])
        .unwrap();
    assert_eq!(e.target_ref.as_ref().unwrap().kind.as_deref(), Some("Pod"));
    assert_eq!(
        e.target_ref.as_ref().unwrap().namespace.as_deref(),
        Some("demo")
    );
    assert_eq!(e.hostname, None);
}

#[test]
fn headless_postgres_slice_has_hostnames_and_label() {
    let snap = demo();
    let svc = service(&snap, "postgres");
    let slices = created(&run(&snap, &svc, &[]));
    assert_eq!(slices.len(), 1);
    let s = &slices[0];
    assert_eq!(s.metadata.labels.as_ref().unwrap()[LABEL_HEADLESS], "");
    assert_eq!(port_names(s), [("postgres".into(), 5432)]);
    // Pods postgres-0/1 have hostname = their name and subdomain "postgres" = the Service.
    let mut hosts: Vec<(String, String)> = s
        .endpoints
        .iter()
        .map(|e| (e.hostname.clone().unwrap(), e.addresses[0].clone()))
        .collect();
    hosts.sort();
    assert_eq!(
        hosts,
        [
            ("postgres-0".into(), "10.244.1.20".into()),
            ("postgres-1".into(), "10.244.3.21".into())
        ]
    );
}

#[test]
fn external_name_and_selectorless_services_are_left_alone() {
    let snap = demo();
    let billing = service(&snap, "billing");
    assert_eq!(run(&snap, &billing, &[]), EndpointSliceOutput::default());
    let mut web = service(&snap, "web");
    web.spec.as_mut().unwrap().selector = None;
    // A user-written slice for it stays.
    let user = snap.endpoint_slices[0].clone();
    assert_eq!(run(&snap, &web, &[user]).changes, vec![]);
}

#[test]
fn second_reconcile_is_a_no_op_and_pod_changes_update_in_place() {
    let snap = demo();
    let svc = service(&snap, "web");
    let mut slices = Vec::new();
    apply(&mut slices, &run(&snap, &svc, &[]));
    assert_eq!(run(&snap, &svc, &slices).changes, vec![]);

    // tm5rw becomes Ready: only the main slice is updated, in place (same name).
    let mut snap2 = snap.clone();
    let p = snap2
        .pods
        .iter_mut()
        .find(|p| p.metadata.name.as_deref() == Some("web-7d9f8b6c5d-tm5rw"))
        .unwrap();
    p.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status = "True".into();
    let out = run(&snap2, &svc, &slices);
    assert_eq!(out.changes.len(), 1);
    let Change::Update(u) = &out.changes[0] else {
        panic!("{:?}", out.changes)
    };
    let before = slices.iter().find(|s| s.endpoints.len() == 4).unwrap();
    assert_eq!(u.metadata.name, before.metadata.name);
    let e = u
        .endpoints
        .iter()
        .find(|e| e.addresses == ["10.244.2.8"])
        .unwrap();
    assert_eq!(e.conditions.as_ref().unwrap().ready, Some(true));
    assert_eq!(u.endpoints.len(), 4);
}

#[test]
fn scale_to_zero_leaves_one_placeholder_slice() {
    let snap = demo();
    let svc = service(&snap, "web");
    let mut slices = Vec::new();
    apply(&mut slices, &run(&snap, &svc, &[]));
    let mut none = snap.clone();
    none.pods.clear();
    let out = run(&none, &svc, &slices);
    // Two slices to delete and nothing to create: the placeholder create is turned into an
    // update of one of the deleted slices (upstream's finalize), the other is deleted.
    let kinds: Vec<&str> = out
        .changes
        .iter()
        .map(|c| match c {
            Change::Create(_) => "create",
            Change::Update(_) => "update",
            Change::Delete { .. } => "delete",
            Change::UpdateStatus(_) => "status",
        })
        .collect();
    assert_eq!(kinds, ["update", "delete"]);
    apply(&mut slices, &out);
    assert_eq!(slices.len(), 1);
    assert!(slices[0].endpoints.is_empty());
    assert_eq!(slices[0].ports.as_deref(), Some(&[][..]));
    // The placeholder is stable.
    assert_eq!(run(&none, &svc, &slices).changes, vec![]);
    // Pods come back: the placeholder is reused for them rather than deleted and created.
    let out = run(&snap, &svc, &slices);
    apply(&mut slices, &out);
    assert_eq!(slices.len(), 2);
    assert!(slices.iter().all(|s| !s.endpoints.is_empty()));
}

#[test]
fn publish_not_ready_addresses_marks_everyone_ready() {
    let snap = demo();
    let mut svc = service(&snap, "web");
    svc.spec.as_mut().unwrap().publish_not_ready_addresses = Some(true);
    let slices = created(&run(&snap, &svc, &[]));
    let main = slices.iter().find(|s| s.endpoints.len() == 4).unwrap();
    // ready = publishNotReadyAddresses || (serving && !terminating): all true; serving and
    // terminating keep their meaning (tm5rw still not serving, lx9pd still terminating).
    let s = summary(main);
    assert!(s.iter().all(|e| e.1));
    assert_eq!(s[0].0, "web-6b5d9c7f48-lx9pd");
    assert!(s[0].3);
    assert_eq!(s[3].0, "web-7d9f8b6c5d-tm5rw");
    assert!(!s[3].2);
}

#[test]
fn finished_ipless_and_nodeless_pods_are_skipped() {
    let mut snap = demo();
    let svc = service(&snap, "postgres");
    let names = |snap: &Demo| -> Vec<String> {
        let slices = created(&run(snap, &svc, &[]));
        let mut v: Vec<String> = slices
            .iter()
            .flat_map(|s| s.endpoints.iter())
            .map(|e| e.target_ref.as_ref().unwrap().name.clone().unwrap())
            .collect();
        v.sort();
        v
    };
    let idx = |snap: &Demo, n: &str| {
        snap.pods
            .iter()
            .position(|p| p.metadata.name.as_deref() == Some(n))
            .unwrap()
    };
    let i = idx(&snap, "postgres-0");
    snap.pods[i].status.as_mut().unwrap().phase = Some("Succeeded".into());
    assert_eq!(names(&snap), ["postgres-1"]);
    snap.pods[i].status.as_mut().unwrap().phase = Some("Running".into());
    snap.pods[i].status.as_mut().unwrap().pod_ip = None;
    assert_eq!(names(&snap), ["postgres-1"]);
    // A pod on an unknown Node: skipped and the Service retried.
    snap.pods[i].status.as_mut().unwrap().pod_ip = Some("10.244.1.20".into());
    snap.pods[i].spec.as_mut().unwrap().node_name = Some("node-z".into());
    assert_eq!(names(&snap), ["postgres-1"]);
    assert!(run(&snap, &svc, &[]).retry);
}

#[test]
fn more_than_100_endpoints_split_across_slices() {
    let snap = demo();
    let svc = service(&snap, "postgres");
    let template = snap
        .pods
        .iter()
        .find(|p| p.metadata.name.as_deref() == Some("postgres-1"))
        .unwrap();
    // 150 pods: one slice of 100 and one of 50.
    let pods: Vec<Pod> = (0..150)
        .map(|i| {
            let mut p = template.clone();
            p.metadata.name = Some(format!("pg-{i:03}"));
            p.spec.as_mut().unwrap().hostname = None;
            p.status.as_mut().unwrap().pod_ip = Some(format!("10.244.{}.{}", i / 100, i % 100));
            p
        })
        .collect();
    let input = EndpointSliceInput {
        service: &svc,
        pods: &pods,
        nodes: &snap.nodes,
        slices: &[],
    };
    let mut sizes: Vec<usize> = created(&reconcile(&input))
        .iter()
        .map(|s| s.endpoints.len())
        .collect();
    sizes.sort();
    assert_eq!(sizes, [50, 100]);
}

#[test]
fn slices_of_an_old_service_incarnation_are_replaced() {
    let snap = demo();
    let svc = service(&snap, "postgres");
    let mut slices = Vec::new();
    apply(&mut slices, &run(&snap, &svc, &[]));
    // Service deleted and recreated: new uid. The old slice (owned by the old uid) is not
    // reused (finalize only converts slices owned by this Service): create + delete.
    let mut svc2 = svc.clone();
    svc2.metadata.uid = Some("uid-new".into());
    let out = run(&snap, &svc2, &slices);
    assert!(matches!(out.changes[0], Change::Create(_)));
    assert!(matches!(out.changes[1], Change::Delete { .. }));
    assert_eq!(out.changes.len(), 2);
}

#[test]
fn address_types_follow_ip_families() {
    let snap = demo();
    let mut svc = service(&snap, "web");
    assert_eq!(address_types(&svc), ["IPv4"]);
    svc.spec.as_mut().unwrap().ip_families = Some(vec!["IPv6".into(), "IPv4".into()]);
    assert_eq!(address_types(&svc), ["IPv4", "IPv6"]);
    let mut headless = service(&snap, "postgres");
    headless.spec.as_mut().unwrap().ip_families = None;
    assert_eq!(address_types(&headless), ["IPv4", "IPv6"]);
}

#[test]
fn dual_stack_gets_one_slice_per_family() {
    let snap = demo();
    let mut svc = service(&snap, "postgres");
    svc.spec.as_mut().unwrap().ip_families = Some(vec!["IPv4".into(), "IPv6".into()]);
    let mut pods: Vec<Pod> = snap
        .pods
        .iter()
        .filter(|p| p.metadata.name.as_deref() == Some("postgres-0"))
        .cloned()
        .collect();
    pods[0].status.as_mut().unwrap().pod_ips = Some(
        ["10.244.1.20", "fd00:10:244:1::14"]
            .iter()
            .map(|ip| k8s_openapi::api::core::v1::PodIP { ip: ip.to_string() })
            .collect(),
    );
    let input = EndpointSliceInput {
        service: &svc,
        pods: &pods,
        nodes: &snap.nodes,
        slices: &[],
    };
    let slices = created(&reconcile(&input));
    // IPv4 slice with the v4 address, IPv6 slice with the v6 one, same pod.
    let got: Vec<(&str, &str)> = slices
        .iter()
        .map(|s| {
            (
                s.address_type.as_str(),
                s.endpoints[0].addresses[0].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [("IPv4", "10.244.1.20"), ("IPv6", "fd00:10:244:1::14")]
    );
}
