//! Builds a [`ServiceChain`] from a snapshot.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Node, Pod, Service, ServicePort};
use k8s_openapi::api::discovery::v1::{Endpoint, EndpointSlice};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::model::dns;
use crate::model::service;
use crate::model::{pod_readiness, probes};

const ZONE_LABEL: &str = "topology.kubernetes.io/zone";

/// Follows Service `ns/name` through its slices, pods and nodes.
pub fn build(
    snap: &Objects,
    ns: &str,
    name: &str,
    opts: &ChainOptions,
) -> Result<ServiceChain, ChainError> {
    let svc = snap
        .services
        .iter()
        .find(|s| ns_of(&s.metadata) == ns && s.metadata.name.as_deref() == Some(name))
        .ok_or_else(|| ChainError::UnknownService {
            namespace: ns.into(),
            name: name.into(),
            known: {
                let mut k: Vec<String> = snap
                    .services
                    .iter()
                    .filter(|s| ns_of(&s.metadata) == ns)
                    .filter_map(|s| s.metadata.name.clone())
                    .collect();
                k.sort();
                k
            },
        })?;
    let spec = svc.spec.clone().unwrap_or_default();
    let mut warnings = Vec::new();
    let service = service_view(svc, ns, name);

    let mut slices: Vec<&EndpointSlice> = service_slices(snap, ns, name).collect();
    slices.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for s in slices.iter().filter(|s| s.address_type == "FQDN") {
        warnings.push(format!(
            "EndpointSlice {} has addressType FQDN: kube-proxy and CoreDNS ignore it",
            s.metadata.name.as_deref().unwrap_or("?")
        ));
    }

    // Decoded from their compact form: the chain reads ports, probes and conditions.
    let ns_pods: Vec<Pod> = snap
        .pods
        .iter()
        .filter(|p| ns_of(&p.metadata) == ns)
        .map(|p| p.pod())
        .collect();
    let ns_pods: Vec<&Pod> = ns_pods.iter().collect();
    let selector = spec.selector.clone().filter(|s| !s.is_empty());
    let selected: Vec<&Pod> = match &selector {
        Some(sel) => ns_pods
            .iter()
            .copied()
            .filter(|p| matches(sel, p))
            .collect(),
        None => Vec::new(),
    };
    if selector.is_none() && spec.type_.as_deref() != Some("ExternalName") {
        warnings.push(
            "the Service has no selector: its EndpointSlices are written by someone else, not the EndpointSlice controller"
                .into(),
        );
    } else if selector.is_some() && selected.is_empty() {
        warnings.push(format!(
            "the selector {} matches no pod in namespace {ns}",
            selector_text(selector.as_ref())
        ));
    }

    // Pods named by any endpoint of the Service (by targetRef), whether selected or not.
    let referenced: BTreeSet<String> = slices
        .iter()
        .flat_map(|s| s.endpoints.iter())
        .filter_map(|e| e.target_ref.as_ref())
        .filter(|r| r.kind.as_deref() == Some("Pod"))
        .filter_map(|r| r.name.clone())
        .collect();
    let mut chain_pods: Vec<&Pod> = ns_pods
        .iter()
        .copied()
        .filter(|p| {
            selected.iter().any(|s| std::ptr::eq(*s, *p))
                || p.metadata
                    .name
                    .as_ref()
                    .is_some_and(|n| referenced.contains(n))
        })
        .collect();
    chain_pods.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    for r in &referenced {
        if !ns_pods.iter().any(|p| p.metadata.name.as_ref() == Some(r)) {
            warnings.push(format!(
                "an endpoint names pod {ns}/{r}, which is not in the snapshot"
            ));
        }
    }

    let mut ports: Vec<PortChain> = spec
        .ports
        .iter()
        .flatten()
        .map(|p| port_chain(p, &service, &slices, &chain_pods, &selected))
        .collect();

    let pods: Vec<PodView> = chain_pods
        .iter()
        .map(|p| pod_view(p, &selected, &slices))
        .collect();
    for p in pods.iter().filter(|p| p.is_endpoint && !p.matches_selector) {
        if selector.is_some() {
            warnings.push(format!(
                "pod {} is an endpoint but does not match the selector (stale or hand-written slice)",
                p.name
            ));
        }
    }

    let nodes = node_views(snap, &pods, &ports);
    let dns_names = dns::service_names(snap, ns, name, &opts.cluster_domain, opts.ttl);
    let is_external_name = spec.type_.as_deref() == Some("ExternalName");
    let proxy = if is_external_name {
        ProxyView::Unavailable {
            reason: "ExternalName Service: kube-proxy writes no rules for it".into(),
        }
    } else if service.headless {
        ProxyView::Unavailable {
            reason: "headless Service: kube-proxy writes no rules; clients connect to the pod IPs DNS returns".into(),
        }
    } else if service.cluster_ips.is_empty() {
        ProxyView::Unavailable {
            reason: "the Service has no cluster IP: kube-proxy skips it".into(),
        }
    } else {
        let family = proxy::family_of(&service.cluster_ips);
        let (popts, node) = proxy::options_for(snap, opts.node.as_deref(), family);
        let (plans, rules) = proxy::service_proxy(snap, &popts, ns, name);
        for port in &mut ports {
            let pname = port.name.clone().unwrap_or_default();
            let proto = port.protocol.to_ascii_lowercase();
            let Some(plan) = plans
                .iter()
                .find(|p| p.port_name == pname && p.protocol == proto)
            else {
                continue;
            };
            for e in &mut port.endpoints {
                e.probability = plan
                    .internal
                    .iter()
                    .find(|c| c.endpoint == e.endpoint)
                    .map(|c| c.probability);
            }
        }
        ProxyView::Rendered {
            node,
            ports: plans,
            rules,
        }
    };
    Ok(ServiceChain {
        service,
        ports,
        endpoint_slices: slices.iter().map(|s| slice_view(s)).collect(),
        pods,
        nodes,
        dns_names,
        proxy,
        warnings,
    })
}

fn service_view(svc: &Service, ns: &str, name: &str) -> ServiceView {
    let spec = svc.spec.clone().unwrap_or_default();
    ServiceView {
        namespace: ns.into(),
        name: name.into(),
        type_: spec.type_.clone().unwrap_or_else(|| "ClusterIP".into()),
        cluster_ips: dns::coredns::cluster_ips(svc),
        headless: service::is_headless(svc),
        external_name: spec.external_name.clone(),
        selector: spec.selector.clone().filter(|s| !s.is_empty()),
        session_affinity: spec
            .session_affinity
            .clone()
            .unwrap_or_else(|| "None".into()),
        internal_traffic_policy: spec.internal_traffic_policy.clone(),
        external_traffic_policy: spec.external_traffic_policy.clone(),
        publish_not_ready_addresses: spec.publish_not_ready_addresses.unwrap_or(false),
    }
}

fn matches(sel: &BTreeMap<String, String>, pod: &Pod) -> bool {
    crate::selector::set_matches_labels(sel, pod.metadata.labels.as_ref())
}

fn selector_text(sel: Option<&BTreeMap<String, String>>) -> String {
    sel.map(|s| {
        s.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    })
    .unwrap_or_default()
}

fn pod_name(p: &Pod) -> String {
    p.metadata.name.clone().unwrap_or_default()
}

fn pod_ip(p: &Pod) -> Option<String> {
    p.status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .filter(|ip| !ip.is_empty())
}

fn phase(p: &Pod) -> String {
    p.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_else(|| "Unknown".into())
}

/// Does this slice endpoint stand for this pod (by targetRef, else by IP)?
fn is_pod(e: &Endpoint, p: &Pod) -> bool {
    match e.target_ref.as_ref() {
        Some(r) if r.kind.as_deref() == Some("Pod") => r.name == p.metadata.name,
        _ => pod_ip(p).is_some_and(|ip| e.addresses.first() == Some(&ip)),
    }
}

/// The container port a Service port's targetPort selects in a pod, as the EndpointSlice
/// controller resolves it (`service::find_port`), with the container declaring it and, for
/// a name no container declares, what the pod does declare.
fn resolve_target(sp: &ServicePort, pod: &Pod) -> TargetPortResolution {
    let port = service::find_port(pod, sp);
    let problem = match (port, service::target_port(sp)) {
        (None, IntOrString::String(name)) => {
            let names: Vec<String> = service::serving_containers(pod)
                .flat_map(probes::container_ports)
                .filter_map(|p| p.name.map(|n| format!("{n}/{}", p.protocol)))
                .collect();
            Some(format!(
                "no container port named {name:?} with protocol {} (the pod declares: {})",
                service::protocol(sp),
                if names.is_empty() {
                    "no named ports".into()
                } else {
                    names.join(", ")
                }
            ))
        }
        _ => None,
    };
    TargetPortResolution {
        pod: pod_name(pod),
        port,
        container: service::declaring_container(pod, sp).map(|c| c.name.clone()),
        problem,
    }
}

fn port_chain(
    sp: &ServicePort,
    service: &ServiceView,
    slices: &[&EndpointSlice],
    chain_pods: &[&Pod],
    selected: &[&Pod],
) -> PortChain {
    let pname = sp.name.clone().unwrap_or_default();
    let proto = sp.protocol.clone().unwrap_or_else(|| "TCP".into());
    let port_label = if pname.is_empty() {
        sp.port.to_string()
    } else {
        pname.clone()
    };

    // Endpoints grouped under this port the way kube-proxy groups them: slice port with the
    // same name and protocol, a non-zero port number, an IP address type.
    let mut endpoints: Vec<EndpointView> = Vec::new();
    for slice in slices.iter().filter(|s| s.address_type != "FQDN") {
        let slice_name = slice.metadata.name.clone().unwrap_or_default();
        for sport in slice.ports.iter().flatten() {
            let same = sport.name.as_deref() == Some(pname.as_str())
                && sport.protocol.as_deref().unwrap_or("TCP") == proto;
            let Some(num) = sport.port.filter(|n| *n != 0) else {
                continue;
            };
            if !same {
                continue;
            }
            for e in &slice.endpoints {
                let Some(addr) = e.addresses.first() else {
                    continue;
                };
                let view = endpoint_view(e, addr, num, &slice_name, chain_pods, service);
                // Same ip:port in two slices: a non-terminating copy wins (kube-proxy's merge).
                match endpoints.iter().position(|x| x.endpoint == view.endpoint) {
                    Some(i) if !view.terminating => endpoints[i] = view,
                    Some(_) => {}
                    None => endpoints.push(view),
                }
            }
        }
    }
    endpoints.sort_by(|a, b| a.endpoint.as_bytes().cmp(b.endpoint.as_bytes()));

    let target_ports: Vec<TargetPortResolution> =
        chain_pods.iter().map(|p| resolve_target(sp, p)).collect();

    let mut excluded = Vec::new();
    for pod in selected {
        let name = pod_name(pod);
        let here = endpoints.iter().any(|e| {
            e.target_ref.as_ref().map(|r| &r.name) == Some(&name)
                || (e.target_ref.is_none() && pod_ip(pod).as_deref() == Some(e.address.as_str()))
        });
        if here {
            continue;
        }
        let other_slice = slices
            .iter()
            .find(|s| s.endpoints.iter().any(|e| is_pod(e, pod)))
            .and_then(|s| s.metadata.name.clone());
        let resolution = resolve_target(sp, pod);
        let ph = phase(pod);
        let (reason, detail) = if ph == "Succeeded" || ph == "Failed" {
            (
                ExclusionReason::TerminalPhase,
                format!("pod phase is {ph}: the EndpointSlice controller drops finished pods"),
            )
        } else if pod_ip(pod).is_none() {
            (
                ExclusionReason::NoPodIp,
                format!(
                    "pod has no IP yet (phase {ph}{}): nothing to put in a slice",
                    match pod.spec.as_ref().and_then(|s| s.node_name.as_ref()) {
                        Some(n) => format!(", on {n}"),
                        None => ", not scheduled".into(),
                    }
                ),
            )
        } else if let Some(problem) = resolution.problem {
            let also = other_slice
                .as_ref()
                .map(|s| format!("; it is listed in slice {s} for the Service's other ports"))
                .unwrap_or_default();
            (
                ExclusionReason::NamedPortNotFound,
                format!(
                    "targetPort {:?}: {problem}, so the EndpointSlice controller leaves it out of port {port_label}{also}",
                    target_text(sp)
                ),
            )
        } else if let Some(s) = other_slice {
            (
                ExclusionReason::InSliceWithoutPort,
                format!("listed in slice {s}, which has no port {port_label}/{proto}"),
            )
        } else {
            (
                ExclusionReason::NotInSlices,
                "in no EndpointSlice of the Service: the EndpointSlice controller has not caught up, or the slices are not managed by it".into(),
            )
        };
        excluded.push(Exclusion {
            pod: name,
            reason,
            detail,
        });
    }

    PortChain {
        name: sp.name.clone().filter(|n| !n.is_empty()),
        protocol: proto,
        port: sp.port,
        node_port: sp.node_port,
        target_port: match service::target_port(sp) {
            IntOrString::String(s) => TargetPort::Name(s),
            IntOrString::Int(n) => TargetPort::Number(n),
        },
        app_protocol: sp.app_protocol.clone(),
        target_ports,
        endpoints,
        excluded,
    }
}

fn target_text(sp: &ServicePort) -> String {
    match service::target_port(sp) {
        IntOrString::String(s) => s,
        IntOrString::Int(n) => n.to_string(),
    }
}

fn endpoint_view(
    e: &Endpoint,
    addr: &str,
    port: i32,
    slice: &str,
    chain_pods: &[&Pod],
    service: &ServiceView,
) -> EndpointView {
    let c = e.conditions.as_ref();
    let ready = c.and_then(|c| c.ready).unwrap_or(true);
    let serving = c.and_then(|c| c.serving).unwrap_or(true);
    let terminating = c.and_then(|c| c.terminating).unwrap_or(false);
    let target_ref = e.target_ref.as_ref().map(|r| ObjectRef {
        kind: r.kind.clone().unwrap_or_default(),
        namespace: r.namespace.clone(),
        name: r.name.clone().unwrap_or_default(),
    });
    let pod = chain_pods.iter().find(|p| is_pod(e, p));
    let why = match pod {
        None if !ready => Some("not ready (no pod in the snapshot to say why)".to_string()),
        None => None,
        Some(p) => {
            let pod_ready = pod_readiness::pod_ready(p);
            if !ready && p.metadata.deletion_timestamp.is_some() {
                let when = p
                    .metadata
                    .deletion_timestamp
                    .as_ref()
                    .map(|t| t.0.to_string())
                    .unwrap_or_default();
                Some(format!(
                    "pod is terminating (deletionTimestamp {when}): never ready while shutting down; serving = {}",
                    if serving {
                        "still passing readiness"
                    } else {
                        "no longer passing readiness"
                    }
                ))
            } else if !ready {
                Some(match probes::not_ready_reason(p) {
                    Some(r) => format!("pod not ready: {r}"),
                    None => "pod is Ready now; the slice has not caught up".into(),
                })
            } else if !pod_ready && service.publish_not_ready_addresses {
                Some("ready only because the Service sets publishNotReadyAddresses; the pod is not Ready".into())
            } else if !pod_ready {
                Some("the pod is not Ready; the slice has not caught up".into())
            } else {
                None
            }
        }
    };
    let endpoint = if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    };
    EndpointView {
        address: addr.into(),
        port,
        endpoint,
        slice: slice.into(),
        ready,
        serving,
        terminating,
        node_name: e.node_name.clone(),
        zone: e.zone.clone(),
        hostname: e.hostname.clone(),
        target_ref,
        pod_found: pod.is_some(),
        why,
        probability: None,
    }
}

fn pod_view(p: &Pod, selected: &[&Pod], slices: &[&EndpointSlice]) -> PodView {
    let spec = p.spec.as_ref();
    let containers = probes::containers(p);
    PodView {
        name: pod_name(p),
        phase: phase(p),
        ready: pod_readiness::pod_ready(p),
        pod_ip: pod_ip(p),
        node_name: spec.and_then(|s| s.node_name.clone()),
        terminating: p.metadata.deletion_timestamp.is_some(),
        deletion_timestamp: p
            .metadata
            .deletion_timestamp
            .as_ref()
            .map(|t| t.0.to_string()),
        restarts: containers.iter().map(|c| c.restarts).sum(),
        matches_selector: selected.iter().any(|s| std::ptr::eq(*s, p)),
        is_endpoint: slices
            .iter()
            .any(|s| s.endpoints.iter().any(|e| is_pod(e, p))),
        hostname: spec.and_then(|s| s.hostname.clone()),
        subdomain: spec.and_then(|s| s.subdomain.clone()),
        not_ready_reason: probes::not_ready_reason(p),
        containers,
    }
}

fn slice_view(s: &EndpointSlice) -> SliceView {
    SliceView {
        name: s.metadata.name.clone().unwrap_or_default(),
        address_type: s.address_type.clone(),
        ports: s
            .ports
            .iter()
            .flatten()
            .map(|p| SlicePort {
                name: p.name.clone(),
                port: p.port,
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
            })
            .collect(),
        endpoints: s.endpoints.len(),
        managed_by: s
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("endpointslice.kubernetes.io/managed-by").cloned()),
    }
}

fn node_views(snap: &Objects, pods: &[PodView], ports: &[PortChain]) -> Vec<NodeView> {
    let mut names: BTreeSet<String> = pods.iter().filter_map(|p| p.node_name.clone()).collect();
    names.extend(
        ports
            .iter()
            .flat_map(|p| p.endpoints.iter())
            .filter_map(|e| e.node_name.clone()),
    );
    names
        .into_iter()
        .map(|name| {
            let node: Option<&Node> = snap
                .nodes
                .iter()
                .find(|n| n.metadata.name.as_deref() == Some(name.as_str()))
                .map(|n| &**n);
            let status = node.and_then(|n| n.status.as_ref());
            NodeView {
                found: node.is_some(),
                zone: node
                    .and_then(|n| n.metadata.labels.as_ref())
                    .and_then(|l| l.get(ZONE_LABEL).cloned()),
                ready: node
                    .and_then(crate::model::node::ready_condition)
                    .map(|c| c.status == "True"),
                internal_ip: status
                    .and_then(|s| s.addresses.as_ref())
                    .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
                    .map(|a| a.address.clone()),
                pods: pods
                    .iter()
                    .filter(|p| p.node_name.as_deref() == Some(name.as_str()))
                    .map(|p| p.name.clone())
                    .collect(),
                name,
            }
        })
        .collect()
}
