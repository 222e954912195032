//! Service → ports → EndpointSlices → endpoints → pods → nodes.
//!
//! [`build`] follows one Service through everything that decides where its traffic goes,
//! and says why a pod that looks like it should get traffic does not.
//!
//! `kdive chain -o json` prints a [`ServiceChain`]; the TUI reads the same struct. Keys are
//! snake_case; optional values are `null`, never omitted:
//!
//! ```text
//! {
//!   "service": {"namespace": "demo", "name": "web", "type": "ClusterIP",
//!               "cluster_ips": ["10.96.120.15"], "headless": false,
//!               "external_name": null, "selector": {"app": "web"} | null,
//!               "session_affinity": "None", "internal_traffic_policy": "Cluster" | null,
//!               "external_traffic_policy": null, "publish_not_ready_addresses": false},
//!   "ports": [PortChain],
//!   "endpoint_slices": [{"name": "web-abc12", "address_type": "IPv4",
//!                        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
//!                        "endpoints": 4, "managed_by": "endpointslice-controller.k8s.io"}],
//!   "pods": [PodView],          // selected pods and pods named by endpoints, by name
//!   "nodes": [NodeView],        // nodes those pods and endpoints run on, by name
//!   "dns_names": [{"name": "web.demo.svc.cluster.local.", "type": "A", "rcode": "NOERROR",
//!                  "records": [Record]}],          // see model::dns
//!   "proxy": {"status": "unavailable", "reason": "…"}
//!          | {"status": "rendered",
//!             "node": {"name": "node-a", "family": "IPv4",
//!                      "config": "defaults" | "configmap kube-system/kube-proxy",
//!                      "notes": ["…"]},
//!             "ports": [ServicePortPlan],   // model::proxy: internal/external endpoint
//!                                           // choices with probability, chains, has_endpoints
//!             "rules": {"chains": [..], "filter": ["-A …"], "nat": ["-A …"]}},
//!   "warnings": ["…"]
//! }
//! PortChain = {
//!   "name": "http" | null, "protocol": "TCP", "port": 80, "node_port": null,
//!   "target_port": 8080 | "http",                  // as written in the Service
//!   "app_protocol": null,
//!   "target_ports": [{"pod": "web-…", "port": 8080 | null, "container": "web" | null,
//!                     "problem": "no container port named \"http\"" | null}],
//!   "endpoints": [EndpointView],   // sorted by "ip:port" in byte order, as kube-proxy sorts
//!   "excluded": [{"pod": "web-legacy", "reason": "named_port_not_found" | "no_pod_ip" |
//!                 "terminal_phase" | "in_slice_without_port" | "not_in_slices",
//!                 "detail": "…"}]  // pods the selector matches that have no endpoint here
//! }
//! EndpointView = {
//!   "address": "10.244.1.5", "port": 8080, "endpoint": "10.244.1.5:8080",
//!   "slice": "web-abc12", "ready": true, "serving": true, "terminating": false,
//!   "node_name": "node-a" | null, "zone": "eu-west-1a" | null, "hostname": null,
//!   "target_ref": {"kind": "Pod", "namespace": "demo", "name": "web-…"} | null,
//!   "pod_found": true,
//!   "why": "pod not ready: …" | null,        // why ready is false, from the pod
//!   "probability": 0.5 | null                // from proxy.ports[].internal; null = unused
//! }
//! PodView = {
//!   "name", "phase", "ready": bool, "pod_ip", "node_name", "terminating": bool,
//!   "deletion_timestamp": "…" | null, "restarts": total, "matches_selector": bool,
//!   "is_endpoint": bool, "hostname": null, "subdomain": null,
//!   "not_ready_reason": "…" | null, "containers": [ContainerSummary]   // see model::probes
//! }
//! NodeView = {"name", "found": bool, "zone": "…" | null, "ready": true | null,
//!             "internal_ip": "…" | null, "pods": ["…"]}
//! ```
//! Conditions are read as kube-proxy reads them: a missing `ready` or `serving` is true,
//! a missing `terminating` is false. Which endpoints kube-proxy uses, and with what
//! probability, comes from `model::proxy` (not re-derived here).

mod build;
pub mod changes;
pub mod proxy;

use std::collections::BTreeMap;

use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

pub use build::build;

use crate::model::Objects;
use crate::model::dns::DnsName;
use crate::model::probes::ContainerSummary;
use crate::model::proxy::{ServicePortPlan, ServiceRules};
pub use proxy::ProxyNode;

/// Label that ties an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Namespace of an object; objects from files without one count as `default`, as
/// `kubectl apply -f` would place them.
pub fn ns_of(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("default")
}

/// A namespace exists if a Namespace object says so, or, when the snapshot carries no
/// Namespace objects (typical for `-f` files), if anything lives in it.
pub fn namespace_exists(snap: &Objects, ns: &str) -> bool {
    if !snap.namespaces.is_empty() {
        return snap
            .namespaces
            .iter()
            .any(|n| n.metadata.name.as_deref() == Some(ns));
    }
    snap.services.iter().any(|s| ns_of(&s.metadata) == ns)
        || snap.pods.iter().any(|p| ns_of(&p.metadata) == ns)
        || snap
            .endpoint_slices
            .iter()
            .any(|e| ns_of(&e.metadata) == ns)
}

/// The EndpointSlices of Service `ns/name`, by the service-name label.
pub fn service_slices<'a>(
    snap: &'a Objects,
    ns: &'a str,
    name: &'a str,
) -> impl Iterator<Item = &'a EndpointSlice> + 'a {
    snap.endpoint_slices.iter().map(|s| &**s).filter(move |s| {
        ns_of(&s.metadata) == ns
            && s.metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
                .is_some_and(|v| v == name)
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceView {
    pub namespace: String,
    pub name: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub cluster_ips: Vec<String>,
    pub headless: bool,
    pub external_name: Option<String>,
    pub selector: Option<BTreeMap<String, String>>,
    pub session_affinity: String,
    pub internal_traffic_policy: Option<String>,
    pub external_traffic_policy: Option<String>,
    pub publish_not_ready_addresses: bool,
}

/// `targetPort` as written: a number or a port name.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TargetPort {
    Number(i32),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetPortResolution {
    pub pod: String,
    pub port: Option<i32>,
    pub container: Option<String>,
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

/// One slice endpoint under one Service port (JSON: `EndpointView` in the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EndpointView {
    pub address: String,
    pub port: i32,
    pub endpoint: String,
    pub slice: String,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    pub node_name: Option<String>,
    pub zone: Option<String>,
    pub hostname: Option<String>,
    pub target_ref: Option<ObjectRef>,
    pub pod_found: bool,
    pub why: Option<String>,
    /// Share of new connections to the cluster IP that kube-proxy (on the node shown under
    /// `proxy`) sends here; `None` when it does not use this endpoint or shows no rules.
    pub probability: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExclusionReason {
    /// Phase Succeeded or Failed: the EndpointSlice controller drops the pod.
    TerminalPhase,
    /// No IP yet (not scheduled, or sandbox not up): nothing to put in a slice.
    NoPodIp,
    /// A named targetPort the pod does not declare: the controller skips this port.
    NamedPortNotFound,
    /// Listed in one of the Service's slices, but not under this port.
    InSliceWithoutPort,
    /// In no slice at all: the controller has not caught up, or slices are hand-made.
    NotInSlices,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exclusion {
    pub pod: String,
    pub reason: ExclusionReason,
    pub detail: String,
}

/// One Service port: its targetPort per pod, the endpoints under it, the selected pods
/// that are not (JSON: `PortChain` in the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortChain {
    pub name: Option<String>,
    pub protocol: String,
    pub port: i32,
    pub node_port: Option<i32>,
    pub target_port: TargetPort,
    pub app_protocol: Option<String>,
    pub target_ports: Vec<TargetPortResolution>,
    pub endpoints: Vec<EndpointView>,
    pub excluded: Vec<Exclusion>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlicePort {
    pub name: Option<String>,
    pub port: Option<i32>,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SliceView {
    pub name: String,
    pub address_type: String,
    pub ports: Vec<SlicePort>,
    pub endpoints: usize,
    pub managed_by: Option<String>,
}

/// A pod the Service selects or an endpoint names (JSON: `PodView` in the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodView {
    pub name: String,
    pub phase: String,
    pub ready: bool,
    pub pod_ip: Option<String>,
    pub node_name: Option<String>,
    pub terminating: bool,
    pub deletion_timestamp: Option<String>,
    pub restarts: i32,
    pub matches_selector: bool,
    pub is_endpoint: bool,
    pub hostname: Option<String>,
    pub subdomain: Option<String>,
    pub not_ready_reason: Option<String>,
    pub containers: Vec<ContainerSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeView {
    pub name: String,
    pub found: bool,
    pub zone: Option<String>,
    pub ready: Option<bool>,
    pub internal_ip: Option<String>,
    pub pods: Vec<String>,
}

/// The Service's kube-proxy rules and per-endpoint probabilities, from `model::proxy`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ProxyView {
    /// No rules (headless, ExternalName, no cluster IP); `reason` says why.
    Unavailable { reason: String },
    /// One node's kube-proxy: endpoint selection per service port, and the Service's lines.
    Rendered {
        node: ProxyNode,
        ports: Vec<ServicePortPlan>,
        rules: ServiceRules,
    },
}

/// One Service's whole chain; the public `kdive chain -o json` shape and the TUI's input.
/// Field by field JSON shape: see the module documentation above.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceChain {
    pub service: ServiceView,
    pub ports: Vec<PortChain>,
    pub endpoint_slices: Vec<SliceView>,
    pub pods: Vec<PodView>,
    pub nodes: Vec<NodeView>,
    pub dns_names: Vec<DnsName>,
    pub proxy: ProxyView,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ChainOptions {
    pub cluster_domain: String,
    pub ttl: u32,
    /// Whose kube-proxy to show; `None` picks the first Node by name.
    pub node: Option<String>,
}

impl Default for ChainOptions {
    fn default() -> Self {
        Self {
            cluster_domain: "cluster.local".into(),
            ttl: crate::model::dns::DEFAULT_TTL,
            node: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChainError {
    #[error("Service {namespace}/{name} not found{}", hint(.known))]
    UnknownService {
        namespace: String,
        name: String,
        known: Vec<String>,
    },
}

fn hint(known: &[String]) -> String {
    if known.is_empty() {
        " (no Services in that namespace)".into()
    } else {
        format!(" (Services there: {})", capped(known))
    }
}

/// A list for an error message, at most 10 names.
pub(crate) fn capped(names: &[String]) -> String {
    const MAX: usize = 10;
    if names.len() <= MAX {
        names.join(", ")
    } else {
        format!(
            "{}, … and {} more",
            names[..MAX].join(", "),
            names.len() - MAX
        )
    }
}

#[cfg(test)]
pub(crate) mod tests;
