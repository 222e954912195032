//! Scrape-time metrics from hand-made objects, and one batch of traffic end to end over a
//! store (no HTTP).

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod};
use serde_json::{Value, json};

use super::scrape::{self, ScrapeState};
use super::scrape_ksm;
use super::{Network, TrafficRun};
use crate::clock::LabClock;
use crate::controllers::ControlPlane;
use crate::metrics::{FamilySet, Labels};
use crate::resources::lookup;
use crate::sim::catalog::Catalog;
use crate::store::{DeleteOptions, Store, UpdateScope, WriteOptions, format_time};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn yaml<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_saphyr::from_str(text).unwrap()
}

/// The value of the sample whose labels include all of `want`.
fn value(f: &FamilySet, name: &str, want: &[(&str, &str)]) -> Option<f64> {
    let matches = |l: &Labels| {
        want.iter()
            .all(|(k, v)| l.iter().any(|(k2, v2)| k2 == k && v2 == v))
    };
    let hits: Vec<f64> = f
        .samples(name)
        .iter()
        .filter(|(l, _)| matches(l))
        .map(|(_, v)| *v)
        .collect();
    assert!(
        hits.len() <= 1,
        "{name} {want:?} matches {} series",
        hits.len()
    );
    hits.first().copied()
}

const POD: &str = "apiVersion: v1
kind: Pod
metadata:
  name: web-1
  namespace: demo
  uid: u1
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-7d4b9c, uid: rs1, controller: true}]
spec:
  nodeName: node-a
  containers:
  - name: app
    image: kdive/demo-web:1.0
    resources:
      requests: {cpu: 250m, memory: 64Mi}
      limits: {cpu: 5m, memory: 64Mi}
  - name: sidecar
    image: busybox
status:
  phase: Running
  hostIP: 172.18.0.2
  podIP: 10.244.1.5
  qosClass: Burstable
  conditions: [{type: Ready, status: 'False'}]
  containerStatuses:
  - name: app
    ready: true
    restartCount: 2
    image: kdive/demo-web:1.0
    imageID: ''
    containerID: containerd://abc
    state: {running: {startedAt: '2026-01-01T00:00:00Z'}}
    lastState: {terminated: {exitCode: 137, reason: OOMKilled, containerID: containerd://old}}
  - name: sidecar
    ready: false
    restartCount: 5
    image: busybox
    imageID: ''
    state: {waiting: {reason: CrashLoopBackOff}}
";

#[test]
fn kube_state_metrics_of_a_pod() {
    let pod: Pod = yaml(POD);
    let mut f = FamilySet::new();
    scrape_ksm::pods(&mut f, &[pod]);
    let info = &f.samples("kube_pod_info")[0].0;
    assert_eq!(
        info.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        "job=kube-state-metrics,namespace=demo,pod=web-1,uid=u1,host_ip=172.18.0.2,pod_ip=10.244.1.5,\
         node=node-a,created_by_kind=ReplicaSet,created_by_name=web-7d4b9c,priority_class=,host_network=false"
    );
    assert_eq!(
        value(&f, "kube_pod_status_phase", &[("phase", "Running")]),
        Some(1.0)
    );
    assert_eq!(
        value(&f, "kube_pod_status_phase", &[("phase", "Pending")]),
        Some(0.0)
    );
    assert_eq!(f.samples("kube_pod_status_phase").len(), 5);
    assert_eq!(
        value(&f, "kube_pod_status_ready", &[("condition", "false")]),
        Some(1.0)
    );
    assert_eq!(
        value(&f, "kube_pod_status_ready", &[("condition", "true")]),
        Some(0.0)
    );
    let app = ("container", "app");
    let sidecar = ("container", "sidecar");
    assert_eq!(
        value(&f, "kube_pod_container_status_ready", &[app]),
        Some(1.0)
    );
    assert_eq!(
        value(&f, "kube_pod_container_status_running", &[sidecar]),
        Some(0.0)
    );
    assert_eq!(
        value(&f, "kube_pod_container_status_restarts_total", &[sidecar]),
        Some(5.0)
    );
    assert_eq!(
        value(
            &f,
            "kube_pod_container_status_waiting_reason",
            &[sidecar, ("reason", "CrashLoopBackOff")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &f,
            "kube_pod_container_status_last_terminated_reason",
            &[app, ("reason", "OOMKilled")]
        ),
        Some(1.0)
    );
    // 250m is 0.25 cores; 64Mi is 64·2^20 bytes.
    assert_eq!(
        value(
            &f,
            "kube_pod_container_resource_requests",
            &[app, ("resource", "cpu"), ("unit", "core")]
        ),
        Some(0.25)
    );
    assert_eq!(
        value(
            &f,
            "kube_pod_container_resource_limits",
            &[
                app,
                ("resource", "memory"),
                ("unit", "byte"),
                ("node", "node-a")
            ]
        ),
        Some(67_108_864.0)
    );
}

#[test]
fn kube_state_metrics_of_deployments_endpoints_and_nodes() {
    let d: Deployment = yaml(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: demo, generation: 3}\n\
         spec: {replicas: 3, selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}}}\n\
         status: {replicas: 3, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1, updatedReplicas: 3, observedGeneration: 3,\n  \
         conditions: [{type: Available, status: 'False', reason: MinimumReplicasUnavailable}]}\n",
    );
    let e: Endpoints = yaml(
        "apiVersion: v1\nkind: Endpoints\nmetadata: {name: web, namespace: demo}\n\
         subsets: [{addresses: [{ip: 10.244.1.5}], notReadyAddresses: [{ip: 10.244.2.7}], ports: [{name: http, port: 8080, protocol: TCP}]}]\n",
    );
    let n: Node = yaml(
        "apiVersion: v1\nkind: Node\nmetadata: {name: node-a}\nspec: {podCIDR: 10.244.1.0/24}\n\
         status: {allocatable: {cpu: '2', memory: 4Gi, pods: '110'}, conditions: [{type: Ready, status: 'True'}],\n  \
         addresses: [{type: InternalIP, address: 172.18.0.2}], nodeInfo: {kubeletVersion: v1.33.1, kernelVersion: '6.1', osImage: Debian,\n  \
         containerRuntimeVersion: containerd://1.7, kubeProxyVersion: v1.33.1, machineID: m, systemUUID: s, bootID: b, architecture: amd64, operatingSystem: linux}}\n",
    );
    let mut f = FamilySet::new();
    scrape_ksm::deployments(&mut f, &[d]);
    scrape_ksm::endpoints(&mut f, &[e]);
    scrape_ksm::nodes(&mut f, &[n]);
    assert_eq!(
        value(
            &f,
            "kube_deployment_spec_replicas",
            &[("deployment", "web")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(&f, "kube_deployment_status_replicas_unavailable", &[]),
        Some(1.0)
    );
    assert_eq!(
        value(&f, "kube_deployment_metadata_generation", &[]),
        Some(3.0)
    );
    assert_eq!(
        value(
            &f,
            "kube_deployment_status_condition",
            &[
                ("condition", "Available"),
                ("status", "false"),
                ("reason", "MinimumReplicasUnavailable")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &f,
            "kube_endpoint_address",
            &[
                ("ip", "10.244.2.7"),
                ("ready", "false"),
                ("port_number", "8080")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &f,
            "kube_endpoint_address",
            &[
                ("ip", "10.244.1.5"),
                ("ready", "true"),
                ("port_name", "http")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &f,
            "kube_node_status_allocatable",
            &[("resource", "memory"), ("unit", "byte")]
        ),
        Some(4_294_967_296.0)
    );
    assert_eq!(
        value(
            &f,
            "kube_node_status_allocatable",
            &[("resource", "pods"), ("unit", "integer")]
        ),
        Some(110.0)
    );
    assert_eq!(
        value(
            &f,
            "kube_node_status_condition",
            &[("condition", "Ready"), ("status", "true")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &f,
            "kube_node_info",
            &[
                ("kubelet_version", "v1.33.1"),
                ("internal_ip", "172.18.0.2")
            ]
        ),
        Some(1.0)
    );
}

#[test]
fn cadvisor_series_follow_the_process_model() {
    let pod: Pod = yaml(POD);
    let state = ScrapeState::default();
    state.note_ooms(std::slice::from_ref(&pod));
    let mut f = FamilySet::new();
    // 100 s after start: demo-web wants 10m but is limited to 5m, so it runs at 5m and every
    // 100 ms CFS period is throttled.
    scrape::cadvisor(
        &mut f,
        &[pod],
        &Catalog::builtin(),
        1,
        t0() + chrono::Duration::seconds(100),
        &state,
    );
    let app = [
        ("container", "app"),
        ("job", "kubelet"),
        ("metrics_path", "/metrics/cadvisor"),
    ];
    assert_eq!(
        value(
            &f,
            "container_cpu_usage_seconds_total",
            &[app[0], ("cpu", "total")]
        ),
        Some(0.5)
    );
    assert_eq!(
        value(&f, "container_cpu_cfs_periods_total", &app),
        Some(1000.0)
    );
    assert_eq!(
        value(&f, "container_cpu_cfs_throttled_periods_total", &app),
        Some(1000.0)
    );
    // 20 MiB at rest; 64 MiB limit.
    assert_eq!(
        value(&f, "container_memory_working_set_bytes", &app),
        Some(20_971_520.0)
    );
    assert_eq!(
        value(&f, "container_spec_memory_limit_bytes", &app),
        Some(67_108_864.0)
    );
    assert_eq!(value(&f, "container_oom_events_total", &app), Some(1.0));
    let id = "/kubepods/burstable/podu1/abc";
    assert_eq!(
        value(
            &f,
            "container_memory_working_set_bytes",
            &[("id", id), ("name", "abc"), ("node", "node-a")]
        ),
        Some(20_971_520.0)
    );
    // The pod-level series (container=""): the sidecar is not running, so the pod cgroup
    // has no quota of its own and its usage is the app's.
    let pod_level = [
        ("container", ""),
        ("image", ""),
        ("id", "/kubepods/burstable/podu1"),
    ];
    assert_eq!(
        value(&f, "container_memory_working_set_bytes", &pod_level),
        Some(20_971_520.0)
    );
    assert_eq!(
        value(&f, "container_spec_memory_limit_bytes", &pod_level),
        Some(0.0)
    );
    assert_eq!(
        value(&f, "container_cpu_cfs_periods_total", &pod_level),
        None
    );
    assert_eq!(
        value(&f, "container_oom_events_total", &pod_level),
        Some(1.0)
    );
    // The sidecar does not run: no series of its own.
    assert_eq!(
        value(
            &f,
            "container_memory_working_set_bytes",
            &[("container", "sidecar")]
        ),
        None
    );
}

#[test]
fn oom_counts_only_grow_while_the_pod_exists() {
    let state = ScrapeState::default();
    let mut pod: Pod = yaml(POD);
    state.note_ooms(std::slice::from_ref(&pod));
    // A later crash replaces lastState; the earlier OOM kill stays counted.
    let mut v = serde_json::to_value(&pod).unwrap();
    v["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "containerID": "containerd://old2"}});
    pod = serde_json::from_value(v).unwrap();
    state.note_ooms(std::slice::from_ref(&pod));
    let mut f = FamilySet::new();
    scrape::cadvisor(
        &mut f,
        &[pod],
        &Catalog::builtin(),
        1,
        t0() + chrono::Duration::seconds(5),
        &state,
    );
    assert_eq!(
        value(&f, "container_oom_events_total", &[("container", "app")]),
        Some(1.0)
    );
    state.note_ooms(&[]);
    let mut f = FamilySet::new();
    scrape::cadvisor(
        &mut f,
        &[yaml(POD)],
        &Catalog::builtin(),
        1,
        t0() + chrono::Duration::seconds(5),
        &ScrapeState::default(),
    );
    assert_eq!(
        value(&f, "container_oom_events_total", &[("container", "app")]),
        Some(0.0)
    );
}

fn create(store: &Store, group: &str, plural: &str, ns: &str, obj: Value) {
    let r = lookup(group, "v1", plural).unwrap();
    store.create(r, ns, obj, &WriteOptions::default()).unwrap();
}

/// A lab store with node-a, Service demo/web and one running demo-web pod behind it.
fn lab() -> (Arc<Network>, Arc<Store>) {
    let store = Arc::new(Store::new(Arc::new(LabClock::new(1.0)), 3));
    create(
        &store,
        "",
        "namespaces",
        "",
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}),
    );
    create(
        &store,
        "",
        "nodes",
        "",
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-a"},
        "status": {"addresses": [{"type": "InternalIP", "address": "172.18.0.2"}]}}),
    );
    create(
        &store,
        "",
        "services",
        "demo",
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
    );
    create(
        &store,
        "discovery.k8s.io",
        "endpointslices",
        "demo",
        json!({"apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice", "metadata": {"name": "web-x", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [{"addresses": ["10.244.1.5"], "nodeName": "node-a", "conditions": {"ready": true}}]}),
    );
    create(
        &store,
        "",
        "pods",
        "demo",
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1"},
        "spec": {"nodeName": "node-a", "containers": [{"name": "app", "image": "kdive/demo-web:1.0",
            "ports": [{"containerPort": 8080}]}]}}),
    );
    let started = format_time(store.now() - chrono::Duration::seconds(60));
    let pods = lookup("", "v1", "pods").unwrap();
    store
        .update_with(pods, "demo", "web-1", UpdateScope::Status, &WriteOptions::default(), |old| {
            let mut v = old.clone();
            v["status"] = json!({"phase": "Running", "podIP": "10.244.1.5", "containerStatuses": [{
                "name": "app", "ready": true, "restartCount": 0, "image": "kdive/demo-web:1.0", "imageID": "",
                "state": {"running": {"startedAt": started}}}]});
            Ok(v)
        })
        .unwrap();
    let cp = Arc::new(ControlPlane::new(store.clone(), 3));
    (Network::new(cp), store)
}

#[test]
fn traffic_goes_where_the_synced_rules_send_it() {
    let (net, store) = lab();
    let spec =
        super::traffic::TrafficSpec::from_value(&json!({"apiVersion": "lab.kdive.dev/v1alpha1",
        "kind": "Traffic", "metadata": {"name": "c", "namespace": "demo"},
        "spec": {"service": "web", "ratePerSecond": 10}}))
        .unwrap();
    let mut run = TrafficRun::new(spec, 3);
    // Before any sync there is no proxy on any node: no client sends.
    net.send_batch(&mut run, 5, store.now());
    let series = |code: &str, pod: &str| {
        net.cp.metrics.value(
            "http_requests_total",
            &[
                ("namespace", "demo"),
                ("service", "web"),
                ("job", "web"),
                ("pod", pod),
                ("container", if pod.is_empty() { "" } else { "app" }),
                ("code", code),
                ("method", "GET"),
                ("route", "/"),
            ],
        )
    };
    assert_eq!(series("200", "web-1"), None);
    net.sync_all(&net.settings(), store.now());
    net.send_batch(&mut run, 40, store.now());
    assert_eq!(series("200", "web-1"), Some(40.0));
    assert!(net.rules("node-a").unwrap().1.contains("10.244.1.5:8080"));
    // The pod is force-deleted; the rules still send to its IP until the next sync.
    let pods = lookup("", "v1", "pods").unwrap();
    store
        .delete(
            pods,
            "demo",
            "web-1",
            &DeleteOptions {
                grace_period_seconds: Some(0),
                ..Default::default()
            },
        )
        .unwrap();
    net.send_batch(&mut run, 7, store.now());
    assert_eq!(series("504", ""), Some(7.0));
    // The EndpointSlice empties; after the sync the Service has no endpoints: REJECT.
    let slices = lookup("discovery.k8s.io", "v1", "endpointslices").unwrap();
    store
        .delete(slices, "demo", "web-x", &DeleteOptions::default())
        .unwrap();
    net.sync_all(&net.settings(), store.now());
    net.send_batch(&mut run, 3, store.now());
    assert_eq!(series("503", ""), Some(3.0));
    // The whole text: the registry families, with kube-state-metrics and the node.
    let text = net.metrics_text();
    assert!(text.contains("# TYPE http_requests_total counter\n"));
    assert!(
        text.contains("kube_node_info{job=\"kube-state-metrics\",node=\"node-a\""),
        "{text}"
    );
}
