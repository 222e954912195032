//! The EndpointSlice controller (`endpointslice-controller.k8s.io`), as upstream's controller
//! and reconciler decide: one Service in, the slice writes out.
//!
//! A loop calls [`reconcile`] for a Service whenever the Service, a pod in its namespace, a
//! Node (zone labels) or one of its slices changes. Slices of a deleted Service are not
//! deleted here: they carry an ownerReference to it and the garbage collector removes them,
//! as in a real cluster.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, ObjectReference, Pod, Service};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointConditions, EndpointPort, EndpointSlice};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kdive_core::model::service::{find_port, is_cluster_ip_set, is_headless};

use super::Change;
use super::endpoints::{pod_ips, selected_pods, should_set_hostname};

pub const CONTROLLER_NAME: &str = "endpointslice-controller.k8s.io";
pub const LABEL_SERVICE_NAME: &str = "kubernetes.io/service-name";
pub const LABEL_MANAGED_BY: &str = "endpointslice.kubernetes.io/managed-by";
pub const LABEL_HEADLESS: &str = "service.kubernetes.io/headless";
pub const LABEL_ZONE: &str = "topology.kubernetes.io/zone";
pub const MAX_ENDPOINTS_PER_SLICE: usize = 100;

/// What the controller reads for one Service.
pub struct EndpointSliceInput<'a> {
    pub service: &'a Service,
    /// Pods of the Service's namespace (the selector is applied here).
    pub pods: &'a [Pod],
    pub nodes: &'a [Node],
    /// Slices in the namespace labelled with the Service's name; slices of other managers
    /// are ignored.
    pub slices: &'a [EndpointSlice],
}

#[derive(Debug, Default, PartialEq)]
pub struct EndpointSliceOutput {
    /// Creates carry `generateName: <svc>-` and no name.
    pub changes: Vec<Change<EndpointSlice>>,
    /// Pods left out because their Node is not (yet) known; upstream returns an error so
    /// the Service is retried with back-off. The loop should reconcile again later.
    pub retry: bool,
}

/// The desired port set of an endpoint: its key is order-independent, as upstream hashes a
/// sorted copy.
type PortKey = Vec<(String, i32, String, Option<String>)>;

fn port_key(ports: &[EndpointPort]) -> PortKey {
    let mut k: PortKey = ports
        .iter()
        .map(|p| {
            (
                p.name.clone().unwrap_or_default(),
                p.port.unwrap_or(0),
                p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                p.app_protocol.clone(),
            )
        })
        .collect();
    k.sort();
    k
}

/// Upstream identifies an endpoint by addresses, hostname and targetRef namespace/name; the
/// rest (conditions, zone, node) is compared to decide whether it needs an update.
fn endpoint_id(e: &Endpoint) -> (Vec<String>, String, String, String) {
    let mut a = e.addresses.clone();
    a.sort();
    let r = e.target_ref.as_ref();
    (
        a,
        e.hostname.clone().unwrap_or_default(),
        r.and_then(|r| r.namespace.clone()).unwrap_or_default(),
        r.and_then(|r| r.name.clone()).unwrap_or_default(),
    )
}

/// Address types the Service's IP families call for: spec.ipFamilies, else the family of
/// the clusterIP, else (headless without families) both, as upstream does.
pub fn address_types(svc: &Service) -> Vec<&'static str> {
    let spec = svc.spec.as_ref();
    let fams: Vec<&str> = spec
        .and_then(|s| s.ip_families.as_ref())
        .map(|f| f.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    if fams.contains(&"IPv4") {
        out.push("IPv4");
    }
    if fams.contains(&"IPv6") {
        out.push("IPv6");
    }
    if !out.is_empty() {
        return out;
    }
    match spec.and_then(|s| s.cluster_ip.as_deref()) {
        Some(ip) if ip.contains(':') => vec!["IPv6"],
        Some(ip) if is_cluster_ip_set(ip) => vec!["IPv4"],
        _ => vec!["IPv4", "IPv6"],
    }
}

fn is_ipv6(ip: &str) -> bool {
    ip.contains(':')
}

/// Labels a managed slice carries: the Service's own labels (minus the reserved ones), the
/// headless marker for clusterIP None, the service name and the manager.
fn slice_labels(svc: &Service) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = svc
        .metadata
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| k != LABEL_SERVICE_NAME && k != LABEL_MANAGED_BY && k != LABEL_HEADLESS)
        .collect();
    if is_headless(svc) {
        l.insert(LABEL_HEADLESS.into(), String::new());
    }
    l.insert(
        LABEL_SERVICE_NAME.into(),
        svc.metadata.name.clone().unwrap_or_default(),
    );
    l.insert(LABEL_MANAGED_BY.into(), CONTROLLER_NAME.into());
    l
}

fn owner_ref(svc: &Service) -> OwnerReference {
    OwnerReference {
        api_version: "v1".into(),
        kind: "Service".into(),
        name: svc.metadata.name.clone().unwrap_or_default(),
        uid: svc.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn owned_by(slice: &EndpointSlice, svc: &Service) -> bool {
    let uid = svc.metadata.uid.clone().unwrap_or_default();
    slice
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.kind == "Service" && o.uid == uid)
}

fn new_slice(svc: &Service, ports: Vec<EndpointPort>, address_type: &str) -> EndpointSlice {
    EndpointSlice {
        metadata: ObjectMeta {
            generate_name: Some(format!(
                "{}-",
                svc.metadata.name.clone().unwrap_or_default()
            )),
            namespace: svc.metadata.namespace.clone(),
            labels: Some(slice_labels(svc)),
            owner_references: Some(vec![owner_ref(svc)]),
            ..Default::default()
        },
        address_type: address_type.into(),
        endpoints: Vec::new(),
        ports: Some(ports),
    }
}

/// The endpoint upstream's `podToEndpoint` builds.
fn pod_to_endpoint(pod: &Pod, node: &Node, svc: &Service, address_type: &str) -> Endpoint {
    let spec = svc.spec.as_ref();
    let serving = kdive_core::model::pod_readiness::pod_ready(pod);
    let terminating = pod.metadata.deletion_timestamp.is_some();
    // Never ready while terminating, unless the Service publishes not-ready addresses.
    let ready =
        spec.and_then(|s| s.publish_not_ready_addresses) == Some(true) || (serving && !terminating);
    let node_name = pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.clone())
        .filter(|n| !n.is_empty());
    Endpoint {
        addresses: pod_ips(pod)
            .into_iter()
            .filter(|ip| is_ipv6(ip) == (address_type == "IPv6"))
            .collect(),
        conditions: Some(EndpointConditions {
            ready: Some(ready),
            serving: Some(serving),
            terminating: Some(terminating),
        }),
        hostname: should_set_hostname(pod, svc)
            .then(|| pod.spec.as_ref().and_then(|s| s.hostname.clone()))
            .flatten(),
        node_name,
        zone: node
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(LABEL_ZONE))
            .filter(|z| !z.is_empty())
            .cloned(),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The ports of the Service this pod serves: a named targetPort the pod does not declare is
/// skipped for this pod only, so the pod lands in a slice of the ports it does have.
fn endpoint_ports(svc: &Service, pod: &Pod) -> Vec<EndpointPort> {
    let ports = svc.spec.as_ref().and_then(|s| s.ports.as_ref());
    ports
        .into_iter()
        .flatten()
        .filter_map(|sp| {
            find_port(pod, sp).map(|n| EndpointPort {
                name: Some(sp.name.clone().unwrap_or_default()),
                port: Some(n),
                protocol: Some(sp.protocol.clone().unwrap_or_else(|| "TCP".into())),
                app_protocol: sp.app_protocol.clone(),
            })
        })
        .collect()
}

/// Reconciles the slices of one Service.
pub fn reconcile(input: &EndpointSliceInput) -> EndpointSliceOutput {
    let svc = input.service;
    let mut out = EndpointSliceOutput::default();
    let spec = match svc.spec.as_ref() {
        Some(s) => s,
        None => return out,
    };
    // ExternalName Services get no endpoints; Services without a selector have slices
    // written by someone else. An empty selector is treated as none: the API server drops
    // empty maps when storing, so upstream sees nil.
    if spec.type_.as_deref() == Some("ExternalName")
        || kdive_core::selector::service_selector(Some(spec)).is_none()
    {
        return out;
    }
    let name = svc.metadata.name.clone().unwrap_or_default();
    let managed: Vec<&EndpointSlice> = input
        .slices
        .iter()
        .filter(|s| {
            let l = s.metadata.labels.as_ref();
            l.and_then(|l| l.get(LABEL_SERVICE_NAME)) == Some(&name)
                && l.and_then(|l| l.get(LABEL_MANAGED_BY)).map(String::as_str)
                    == Some(CONTROLLER_NAME)
                && s.metadata.namespace == svc.metadata.namespace
        })
        .collect();
    let types = address_types(svc);
    let nodes: BTreeMap<&str, &Node> = input
        .nodes
        .iter()
        .filter_map(|n| n.metadata.name.as_deref().map(|k| (k, n)))
        .collect();

    let mut creates = Vec::new();
    let mut updates = Vec::new();
    let mut deletes: Vec<EndpointSlice> = Vec::new();
    // Slices of another incarnation of the Service, or of an address type it no longer
    // has, are deleted.
    for s in &managed {
        if !owned_by(s, svc) || !types.contains(&s.address_type.as_str()) {
            deletes.push((*s).clone());
        }
    }
    for at in &types {
        // Desired endpoints grouped by port set (in the Service's port order).
        let mut desired: BTreeMap<PortKey, (Vec<EndpointPort>, Vec<Endpoint>)> = BTreeMap::new();
        for pod in selected_pods(svc, input.pods, true) {
            let node_name = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
            let Some(node) = node_name.and_then(|n| nodes.get(n)) else {
                out.retry = true;
                continue;
            };
            let ep = pod_to_endpoint(pod, node, svc, at);
            if ep.addresses.is_empty() {
                continue;
            }
            let ports = endpoint_ports(svc, pod);
            desired
                .entry(port_key(&ports))
                .or_insert_with(|| (ports, Vec::new()))
                .1
                .push(ep);
        }
        let existing: Vec<&EndpointSlice> = managed
            .iter()
            .copied()
            .filter(|s| owned_by(s, svc) && s.address_type == *at)
            .collect();
        let mut keys: BTreeSet<PortKey> = desired.keys().cloned().collect();
        keys.extend(
            existing
                .iter()
                .map(|s| port_key(s.ports.as_deref().unwrap_or(&[]))),
        );
        let (mut c, mut u, mut d) = (Vec::new(), Vec::new(), Vec::new());
        for key in keys {
            let group: Vec<&EndpointSlice> = existing
                .iter()
                .copied()
                .filter(|s| port_key(s.ports.as_deref().unwrap_or(&[])) == key)
                .collect();
            match desired.remove(&key) {
                Some((ports, eps)) => {
                    by_port_mapping(svc, at, ports, eps, &group, &mut c, &mut u, &mut d)
                }
                // A port set no pod has any more: its slices go.
                None => d.extend(group.into_iter().cloned()),
            }
        }
        // No slice would exist: keep (or create) an empty placeholder, so the Service always
        // shows one slice.
        if existing.len() == d.len() && c.is_empty() {
            let placeholder = new_slice(svc, Vec::new(), at);
            let reusable = d.len() == 1
                && d[0].endpoints.is_empty()
                && d[0].ports.as_deref().unwrap_or(&[]).is_empty()
                && d[0].metadata.labels == placeholder.metadata.labels;
            if reusable {
                d.clear();
            } else {
                c.push(placeholder);
            }
        }
        creates.extend(c);
        updates.extend(u);
        deletes.extend(d);
    }
    // A create paired with a delete of the same address type becomes an update of the slice
    // that would have been deleted (upstream's finalize), to save churn.
    let mut i = 0;
    while i < deletes.len() && !creates.is_empty() {
        let last = creates.len() - 1;
        if deletes[i].address_type == creates[last].address_type && owned_by(&deletes[i], svc) {
            let mut s = creates.remove(last);
            let old = deletes.remove(i);
            // Keep the old slice's identity (name, uid, resourceVersion, creation time).
            s.metadata = ObjectMeta {
                labels: s.metadata.labels,
                owner_references: s.metadata.owner_references,
                ..old.metadata
            };
            updates.push(s);
        } else {
            i += 1;
        }
    }
    out.changes.extend(creates.into_iter().map(Change::Create));
    out.changes.extend(updates.into_iter().map(Change::Update));
    out.changes
        .extend(deletes.into_iter().map(|s| Change::Delete {
            namespace: s.metadata.namespace.unwrap_or_default(),
            name: s.metadata.name.unwrap_or_default(),
            uid: s.metadata.uid,
        }));
    out
}

/// Upstream's `reconcileByPortMapping`: keep endpoints in the slices that already hold
/// them, drop the ones no longer desired, then fill slices already being updated, then one
/// untouched slice with room for all the rest, then new slices.
#[allow(clippy::too_many_arguments)]
fn by_port_mapping(
    svc: &Service,
    address_type: &str,
    ports: Vec<EndpointPort>,
    desired: Vec<Endpoint>,
    existing: &[&EndpointSlice],
    creates: &mut Vec<EndpointSlice>,
    updates: &mut Vec<EndpointSlice>,
    deletes: &mut Vec<EndpointSlice>,
) {
    let labels = slice_labels(svc);
    let mut remaining: Vec<Endpoint> = desired;
    let mut to_update: Vec<EndpointSlice> = Vec::new();
    let mut unchanged: Vec<EndpointSlice> = Vec::new();
    for s in existing {
        let mut changed = false;
        let mut kept = Vec::new();
        for got in &s.endpoints {
            let id = endpoint_id(got);
            match remaining.iter().position(|e| endpoint_id(e) == id) {
                Some(i) => {
                    let want = remaining.remove(i);
                    changed |= want != *got;
                    kept.push(want);
                }
                None => changed = true,
            }
        }
        let labels_changed = s.metadata.labels.as_ref() != Some(&labels);
        if kept.is_empty() && changed {
            deletes.push((*s).clone());
        } else if changed || labels_changed {
            let mut u = (*s).clone();
            u.endpoints = kept;
            u.metadata.labels = Some(labels.clone());
            to_update.push(u);
        } else {
            unchanged.push((*s).clone());
        }
    }
    // Fill the fullest slices being updated first, to pack tightly.
    to_update.sort_by_key(|s| std::cmp::Reverse(s.endpoints.len()));
    for s in &mut to_update {
        while s.endpoints.len() < MAX_ENDPOINTS_PER_SLICE && !remaining.is_empty() {
            s.endpoints.push(remaining.remove(0));
        }
    }
    while !remaining.is_empty() {
        // The fullest untouched slice that still fits all the rest.
        let fill = (remaining.len() < MAX_ENDPOINTS_PER_SLICE)
            .then(|| {
                unchanged
                    .iter()
                    .enumerate()
                    .filter(|(_, s)| s.endpoints.len() + remaining.len() <= MAX_ENDPOINTS_PER_SLICE)
                    .max_by_key(|(i, s)| (s.endpoints.len(), std::cmp::Reverse(*i)))
                    .map(|(i, _)| i)
            })
            .flatten();
        let mut s = match fill {
            Some(i) => unchanged.remove(i),
            None => new_slice(svc, ports.clone(), address_type),
        };
        while s.endpoints.len() < MAX_ENDPOINTS_PER_SLICE && !remaining.is_empty() {
            s.endpoints.push(remaining.remove(0));
        }
        if s.metadata.name.is_some() {
            to_update.push(s);
        } else {
            creates.push(s);
        }
    }
    updates.extend(to_update);
}

#[cfg(test)]
#[path = "endpointslice_tests.rs"]
mod tests;
