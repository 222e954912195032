//! The legacy Endpoints controller (`endpoint-controller`): one Endpoints object per Service
//! with a selector, named like the Service, with ready pods under `addresses` and the rest
//! under `notReadyAddresses`, subsets grouped by port set.
//!
//! A loop calls [`reconcile`] for a Service whenever it or a pod in its namespace changes,
//! and [`orphaned`] when a Service is deleted (Endpoints carry no ownerReference: the
//! controller deletes them itself).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    EndpointAddress, EndpointPort, EndpointSubset, Endpoints, ObjectReference, Pod, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kdive_core::model::service::{find_port, is_cluster_ip_set, is_headless};

use kdive_core::selector::{service_selector, set_matches_labels};

use super::Change;

pub const LABEL_SKIP_MIRROR: &str = "endpointslice.kubernetes.io/skip-mirror";
pub const ANNOTATION_OVER_CAPACITY: &str = "endpoints.kubernetes.io/over-capacity";
/// Endpoints objects hold at most this many addresses.
pub const MAX_CAPACITY: usize = 1000;
/// Annotation the control plane uses for leader election on Endpoints; such objects are
/// never garbage of this controller.
const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

pub struct EndpointsInput<'a> {
    pub service: &'a Service,
    /// Pods of the Service's namespace (the selector is applied here).
    pub pods: &'a [Pod],
    /// The Endpoints object named like the Service, if any.
    pub current: Option<&'a Endpoints>,
}

/// The pod's IPs (`status.podIPs`, else `status.podIP`).
pub fn pod_ips(pod: &Pod) -> Vec<String> {
    let st = pod.status.as_ref();
    let ips: Vec<String> = st
        .and_then(|s| s.pod_ips.as_ref())
        .map(|v| {
            v.iter()
                .map(|i| i.ip.clone())
                .filter(|i| !i.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if !ips.is_empty() {
        return ips;
    }
    st.and_then(|s| s.pod_ip.clone())
        .filter(|i| !i.is_empty())
        .into_iter()
        .collect()
}

/// Upstream's `ShouldPodBeInEndpoints`: finished pods (Succeeded/Failed) and pods without
/// an IP never are; terminating pods only when `include_terminating`.
fn should_be_in_endpoints(pod: &Pod, include_terminating: bool) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded") | Some("Failed")) || pod_ips(pod).is_empty() {
        return false;
    }
    include_terminating || pod.metadata.deletion_timestamp.is_none()
}

/// Pods of the Service's namespace matching its selector that belong in endpoints, by name.
pub fn selected_pods<'a>(
    svc: &Service,
    pods: &'a [Pod],
    include_terminating: bool,
) -> Vec<&'a Pod> {
    let selector = svc
        .spec
        .as_ref()
        .and_then(|s| s.selector.clone())
        .unwrap_or_default();
    let mut out: Vec<&Pod> = pods
        .iter()
        .filter(|p| p.metadata.namespace == svc.metadata.namespace)
        .filter(|p| set_matches_labels(&selector, p.metadata.labels.as_ref()))
        .filter(|p| should_be_in_endpoints(p, include_terminating))
        .collect();
    out.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    out
}

/// A pod's hostname is published when its subdomain names this Service (StatefulSet pods
/// behind their governing headless Service).
pub fn should_set_hostname(pod: &Pod, svc: &Service) -> bool {
    let spec = pod.spec.as_ref();
    spec.and_then(|s| s.hostname.as_deref())
        .is_some_and(|h| !h.is_empty())
        && spec.and_then(|s| s.subdomain.as_deref()) == svc.metadata.name.as_deref()
        && pod.metadata.namespace == svc.metadata.namespace
}

/// The address of a pod: the IP of the Service's primary family.
fn address(pod: &Pod, svc: &Service) -> Option<EndpointAddress> {
    let want_v6 = svc
        .spec
        .as_ref()
        .and_then(|s| s.ip_families.as_ref())
        .and_then(|f| f.first())
        .map(|f| f == "IPv6")
        .or_else(|| {
            let ip = svc.spec.as_ref()?.cluster_ip.as_deref()?;
            is_cluster_ip_set(ip).then(|| ip.contains(':'))
        });
    let ips = pod_ips(pod);
    let ip = match want_v6 {
        Some(v6) => ips.into_iter().find(|i| i.contains(':') == v6)?,
        // Headless without families: the pod's primary IP.
        None => ips.into_iter().next()?,
    };
    Some(EndpointAddress {
        ip,
        hostname: should_set_hostname(pod, svc)
            .then(|| pod.spec.as_ref().and_then(|s| s.hostname.clone()))
            .flatten(),
        node_name: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        target_ref: Some(ObjectReference {
            kind: Some("Pod".into()),
            namespace: pod.metadata.namespace.clone(),
            name: pod.metadata.name.clone(),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        }),
    })
}

type PortId = (String, i32, String, Option<String>);
/// (ip, pod uid, ready) of every address serving a port.
type AddressSet = BTreeSet<(String, String, bool)>;

/// The subsets upstream computes and then repacks: every port maps to the set of
/// (address, ready) it is served on; ports with identical sets share a subset.
pub fn subsets(svc: &Service, pods: &[Pod]) -> Vec<EndpointSubset> {
    let spec = svc.spec.as_ref();
    let tolerate_unready = spec.and_then(|s| s.publish_not_ready_addresses) == Some(true);
    let svc_ports = spec.and_then(|s| s.ports.clone()).unwrap_or_default();
    let mut by_port: BTreeMap<Option<PortId>, AddressSet> = BTreeMap::new();
    let mut addrs: BTreeMap<(String, String), EndpointAddress> = BTreeMap::new();
    for pod in selected_pods(svc, pods, tolerate_unready) {
        let Some(a) = address(pod, svc) else { continue };
        let ready = tolerate_unready || kdive_core::model::pod_readiness::pod_ready(pod);
        let key = (a.ip.clone(), pod.metadata.uid.clone().unwrap_or_default());
        let mut add = |port: Option<PortId>| {
            by_port
                .entry(port)
                .or_default()
                .insert((key.0.clone(), key.1.clone(), ready));
        };
        if svc_ports.is_empty() {
            // Only headless Services may have no ports; they list addresses without ports.
            if is_headless(svc) {
                add(None);
            }
        } else {
            for sp in &svc_ports {
                if let Some(n) = find_port(pod, sp) {
                    add(Some((
                        sp.name.clone().unwrap_or_default(),
                        n,
                        sp.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        sp.app_protocol.clone(),
                    )));
                }
            }
        }
        addrs.insert(key, a);
    }
    let mut groups: BTreeMap<AddressSet, Vec<Option<PortId>>> = BTreeMap::new();
    for (port, set) in by_port {
        groups.entry(set).or_default().push(port);
    }
    groups
        .into_iter()
        .map(|(set, ports)| {
            let pick = |ready: bool| -> Option<Vec<EndpointAddress>> {
                let v: Vec<EndpointAddress> = set
                    .iter()
                    .filter(|(_, _, r)| *r == ready)
                    .filter_map(|(ip, uid, _)| addrs.get(&(ip.clone(), uid.clone())).cloned())
                    .collect();
                (!v.is_empty()).then_some(v)
            };
            let ports: Vec<EndpointPort> = ports
                .into_iter()
                .flatten()
                .map(|(name, port, protocol, app_protocol)| EndpointPort {
                    name: (!name.is_empty()).then_some(name),
                    port,
                    protocol: Some(protocol),
                    app_protocol,
                })
                .collect();
            EndpointSubset {
                addresses: pick(true),
                not_ready_addresses: pick(false),
                ports: (!ports.is_empty()).then_some(ports),
            }
        })
        .collect()
}

fn labels(svc: &Service) -> BTreeMap<String, String> {
    let mut l = svc.metadata.labels.clone().unwrap_or_default();
    l.insert(LABEL_SKIP_MIRROR.into(), "true".into());
    if is_headless(svc) {
        l.insert(super::endpointslice::LABEL_HEADLESS.into(), String::new());
    } else {
        l.remove(super::endpointslice::LABEL_HEADLESS);
    }
    l
}

/// The write (if any) that makes the Service's Endpoints match its pods.
pub fn reconcile(input: &EndpointsInput) -> Option<Change<Endpoints>> {
    let svc = input.service;
    let spec = svc.spec.as_ref()?;
    // Same rules as the EndpointSlice controller: nothing for ExternalName Services or
    // Services without a selector (their Endpoints are the user's).
    if spec.type_.as_deref() == Some("ExternalName") || service_selector(Some(spec)).is_none() {
        return None;
    }
    let mut subsets = subsets(svc, input.pods);
    let truncated = truncate(&mut subsets);
    let labels = labels(svc);
    let mut annotations = input
        .current
        .and_then(|c| c.metadata.annotations.clone())
        .unwrap_or_default();
    if truncated {
        annotations.insert(ANNOTATION_OVER_CAPACITY.into(), "truncated".into());
    } else {
        annotations.remove(ANNOTATION_OVER_CAPACITY);
    }
    let annotations = (!annotations.is_empty()).then_some(annotations);
    match input.current {
        Some(cur) => {
            if cur.subsets.clone().unwrap_or_default() == subsets
                && cur.metadata.labels.as_ref() == Some(&labels)
                && cur.metadata.annotations == annotations
            {
                return None;
            }
            let mut e = cur.clone();
            e.subsets = (!subsets.is_empty()).then_some(subsets);
            e.metadata.labels = Some(labels);
            e.metadata.annotations = annotations;
            Some(Change::Update(e))
        }
        None => Some(Change::Create(Endpoints {
            metadata: ObjectMeta {
                name: svc.metadata.name.clone(),
                namespace: svc.metadata.namespace.clone(),
                labels: Some(labels),
                annotations,
                ..Default::default()
            },
            subsets: (!subsets.is_empty()).then_some(subsets),
        })),
    }
}

/// Upstream's `truncateEndpoints`: above 1000 addresses, keep ready ones first, each subset
/// getting its proportional share rounded up (so the last may get fewer). True when it cut.
pub fn truncate(subsets: &mut [EndpointSubset]) -> bool {
    let count = |v: &Option<Vec<EndpointAddress>>| v.as_ref().map_or(0, Vec::len);
    let ready: usize = subsets.iter().map(|s| count(&s.addresses)).sum();
    let not_ready: usize = subsets.iter().map(|s| count(&s.not_ready_addresses)).sum();
    if ready + not_ready <= MAX_CAPACITY {
        return false;
    }
    let cut_ready = ready > MAX_CAPACITY;
    let (max, total) = if cut_ready {
        (MAX_CAPACITY, ready)
    } else {
        (MAX_CAPACITY - ready, not_ready)
    };
    let mut room = max;
    for s in subsets.iter_mut() {
        let list = if cut_ready {
            s.not_ready_addresses = None;
            &mut s.addresses
        } else {
            &mut s.not_ready_addresses
        };
        let n = count(list);
        let share = ((n * max) as f64 / total as f64).ceil() as usize;
        let keep = share.min(room).min(n);
        if let Some(v) = list.as_mut() {
            v.truncate(keep);
        }
        if keep == 0 {
            *list = None;
        }
        room -= keep;
    }
    true
}

/// Endpoints whose Service is gone are deleted (leader-election objects excepted).
pub fn orphaned(endpoints: &[Endpoints], services: &[Service]) -> Vec<Change<Endpoints>> {
    endpoints
        .iter()
        .filter(|e| {
            !e.metadata
                .annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(LEADER_ANNOTATION))
        })
        .filter(|e| {
            !services.iter().any(|s| {
                s.metadata.name == e.metadata.name && s.metadata.namespace == e.metadata.namespace
            })
        })
        .map(|e| Change::Delete {
            namespace: e.metadata.namespace.clone().unwrap_or_default(),
            name: e.metadata.name.clone().unwrap_or_default(),
            uid: e.metadata.uid.clone(),
        })
        .collect()
}

#[cfg(test)]
#[path = "endpoints_tests.rs"]
mod tests;
