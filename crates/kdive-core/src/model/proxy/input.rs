//! From Services and EndpointSlices to kube-proxy's service ports and endpoints
//! (§2 and §3 of the spec).

use std::collections::HashMap;

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::ip::{Cidr, IpFamily, join_host_port, parse_ip_sloppy};
use super::naming::{ChainNames, sep_chain};
use crate::model::Objects;

/// One entry of a Service's `spec.ports`, as the proxier sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServicePortInfo {
    pub namespace: String,
    pub service: String,
    pub port_name: String,
    /// The string N: `ns/name` or `ns/name:port` (§2.3).
    pub name: String,
    /// Lower-case protocol (`tcp`, `udp`, `sctp`).
    pub protocol: String,
    pub cluster_ip: IpAddr,
    pub port: i32,
    pub node_port: i32,
    pub external_ips: Vec<IpAddr>,
    pub load_balancer_vips: Vec<IpAddr>,
    pub source_ranges: Vec<Cidr>,
    /// Sticky time in seconds when sessionAffinity is ClientIP.
    pub affinity_seconds: Option<i32>,
    pub external_policy_local: bool,
    pub internal_policy_local: bool,
    pub health_check_node_port: i32,
    pub chains: ChainNames,
    /// Endpoints sorted by their endpoint string in byte order (§3).
    pub endpoints: Vec<Endpoint>,
}

impl ServicePortInfo {
    pub fn externally_accessible(&self) -> bool {
        self.node_port != 0 || !self.load_balancer_vips.is_empty() || !self.external_ips.is_empty()
    }

    pub fn uses_cluster_endpoints(&self) -> bool {
        !self.internal_policy_local || self.externally_accessible()
    }

    pub fn uses_local_endpoints(&self) -> bool {
        self.internal_policy_local || (self.external_policy_local && self.externally_accessible())
    }
}

/// One endpoint of a service port.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: i32,
    /// `ip:port` or `[ip]:port`.
    pub endpoint: String,
    /// `KUBE-SEP-...` chain of this endpoint.
    pub sep_chain: String,
    pub node_name: Option<String>,
    pub is_local: bool,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    pub zone_hints: Option<Vec<String>>,
    pub node_hints: Option<Vec<String>>,
}

impl Serialize for Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}
use serde::Serialize;

/// The cluster IP of `family`, or `None` when the Service is skipped (§2.1).
fn family_cluster_ip(svc: &Service, family: IpFamily) -> Option<IpAddr> {
    let spec = svc.spec.as_ref()?;
    if spec.type_.as_deref() == Some("ExternalName") {
        return None;
    }
    let primary = spec.cluster_ip.as_deref().unwrap_or("");
    if !crate::model::service::is_cluster_ip_set(primary) {
        return None;
    }
    let families = spec.ip_families.as_deref().unwrap_or(&[]);
    let text = if families.is_empty() {
        let ip = parse_ip_sloppy(primary)?;
        return (IpFamily::of(&ip) == family).then_some(ip);
    } else {
        let idx = families.iter().position(|f| f == family.as_str())?;
        let ips = spec.cluster_ips.as_deref().unwrap_or(&[]);
        match ips.get(idx) {
            Some(ip) => ip.as_str(),
            None if idx == 0 => primary,
            None => return None,
        }
    };
    parse_ip_sloppy(text).filter(|ip| IpFamily::of(ip) == family)
}

/// A word-at-a-time hash (FxHash rounds, then a murmur3 finaliser so the low bits the
/// table indexes with are mixed too). Chain names and keys are short and trusted, and
/// SipHash, then byte-wise FNV, dominated large renders.
#[derive(Default)]
struct FastHasher(u64);

impl FastHasher {
    fn round(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        word[..bytes.len()].copy_from_slice(bytes);
        self.0 =
            (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517cc1b727220a95);
    }
}

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51afd7ed558ccd);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        // The length keeps zero padding from making "a" and "a\0" collide.
        self.round(&(bytes.len() as u64).to_le_bytes());
        for chunk in bytes.chunks(8) {
            self.round(chunk);
        }
    }
}

type FastBuild = std::hash::BuildHasherDefault<FastHasher>;

/// Namespace, service, port name, protocol: borrowed from the snapshot.
type PortKey<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Builds every service port of `family`, with its endpoints, sorted by N then protocol.
pub fn service_ports(
    snapshot: &Objects,
    family: IpFamily,
    node_name: &str,
) -> Vec<ServicePortInfo> {
    let mut endpoints = collect_endpoints(snapshot, family, node_name);
    let port_count = snapshot
        .services
        .iter()
        .map(|s| service_port_count(s))
        .sum();
    let mut out = Vec::with_capacity(port_count);
    for svc in &snapshot.services {
        let Some(cluster_ip) = family_cluster_ip(svc, family) else {
            continue;
        };
        let Some(spec) = svc.spec.as_ref() else {
            continue;
        };
        let namespace = svc.metadata.namespace.as_deref().unwrap_or("default");
        let service = svc.metadata.name.as_deref().unwrap_or_default();
        let svc_type = spec.type_.as_deref().unwrap_or("");
        let of_family = |list: &Option<Vec<String>>| -> Vec<IpAddr> {
            list.iter()
                .flatten()
                .filter_map(|s| parse_ip_sloppy(s))
                .filter(|ip| IpFamily::of(ip) == family)
                .collect()
        };
        let external_ips = of_family(&spec.external_ips);
        let load_balancer_vips: Vec<IpAddr> = svc
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter(|ing| ing.ip_mode.as_deref().is_none_or(|m| m == "VIP"))
            .filter_map(|ing| ing.ip.as_deref().filter(|ip| !ip.is_empty()))
            .filter_map(parse_ip_sloppy)
            .filter(|ip| IpFamily::of(ip) == family)
            .collect();
        let source_ranges: Vec<Cidr> = spec
            .load_balancer_source_ranges
            .iter()
            .flatten()
            .filter_map(|s| Cidr::parse_sloppy(s.trim()))
            .filter(|c| c.family() == family)
            .collect();
        let affinity_seconds = (spec.session_affinity.as_deref() == Some("ClientIP")).then(|| {
            spec.session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds)
                .unwrap_or(10800)
        });
        let api_external = matches!(svc_type, "LoadBalancer" | "NodePort")
            || (svc_type == "ClusterIP" && !spec.external_ips.as_deref().unwrap_or(&[]).is_empty());
        let external_policy_local =
            api_external && spec.external_traffic_policy.as_deref() == Some("Local");
        let internal_policy_local = spec.internal_traffic_policy.as_deref() == Some("Local");
        let health_check_node_port = if svc_type == "LoadBalancer" && external_policy_local {
            spec.health_check_node_port.unwrap_or(0)
        } else {
            0
        };
        for port in spec.ports.iter().flatten() {
            let port_name = port.name.as_deref().unwrap_or_default();
            let protocol_upper = port.protocol.as_deref().unwrap_or("TCP");
            let protocol = protocol_upper.to_ascii_lowercase();
            let name = if port_name.is_empty() {
                format!("{namespace}/{service}")
            } else {
                format!("{namespace}/{service}:{port_name}")
            };
            // Each (service, port name, protocol) group belongs to one service port.
            let key = (namespace, service, port_name, protocol_upper);
            let mut eps: Vec<Endpoint> = endpoints.remove(&key).unwrap_or_default();
            for ep in &mut eps {
                ep.sep_chain = sep_chain(&name, &protocol, &ep.endpoint);
            }
            out.push(ServicePortInfo {
                chains: ChainNames::new(&name, &protocol),
                namespace: namespace.to_string(),
                service: service.to_string(),
                port_name: port_name.to_string(),
                name,
                protocol,
                cluster_ip,
                port: port.port,
                node_port: port.node_port.unwrap_or(0),
                external_ips: external_ips.clone(),
                load_balancer_vips: load_balancer_vips.clone(),
                source_ranges: source_ranges.clone(),
                affinity_seconds,
                external_policy_local,
                internal_policy_local,
                health_check_node_port,
                endpoints: eps,
            });
        }
    }
    sort_large(&mut out, |a, b| {
        (&a.name, &a.protocol).cmp(&(&b.name, &b.protocol))
    });
    out
}

fn service_port_count(svc: &Service) -> usize {
    svc.spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .map_or(0, Vec::len)
}

/// A stable sort for large structs: sort indexes, then swap each struct straight to its
/// place (no second vector, so no fresh pages to fault in).
fn sort_large<T>(items: &mut [T], cmp: impl Fn(&T, &T) -> std::cmp::Ordering) {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by(|&a, &b| cmp(&items[a], &items[b]));
    // dest[i]: where the item now at i belongs.
    let mut dest = vec![0; items.len()];
    for (to, &from) in order.iter().enumerate() {
        dest[from] = to;
    }
    for i in 0..items.len() {
        while dest[i] != i {
            let d = dest[i];
            items.swap(i, d);
            dest.swap(i, d);
        }
    }
}

/// Endpoints per (namespace, service, port name, protocol), sorted by the endpoint
/// string; of duplicates, a later one replaces an earlier one unless it is terminating
/// (§3).
fn collect_endpoints<'a>(
    snapshot: &'a Objects,
    family: IpFamily,
    node_name: &str,
) -> HashMap<PortKey<'a>, Vec<Endpoint>, FastBuild> {
    let mut out: HashMap<PortKey<'a>, Vec<Endpoint>, FastBuild> = HashMap::default();
    for slice in &snapshot.endpoint_slices {
        if let Some((key_base, slice)) = usable_slice(slice, family) {
            for port in slice.ports.iter().flatten() {
                let (Some(port_name), Some(number)) = (port.name.as_ref(), port.port) else {
                    continue;
                };
                if number == 0 {
                    continue;
                }
                let protocol = port.protocol.as_deref().unwrap_or("TCP");
                let key = (key_base.0, key_base.1, port_name.as_str(), protocol);
                let group = out.entry(key).or_default();
                group.reserve(slice.endpoints.len());
                for ep in &slice.endpoints {
                    let Some(ip) = ep.addresses.first().and_then(|a| parse_ip_sloppy(a)) else {
                        continue;
                    };
                    let cond = ep.conditions.as_ref();
                    let endpoint = join_host_port(&ip, number);
                    group.push(Endpoint {
                        ip,
                        port: number,
                        endpoint,
                        sep_chain: String::new(),
                        node_name: ep.node_name.clone(),
                        is_local: ep.node_name.as_deref().is_some_and(|n| n == node_name),
                        ready: cond.and_then(|c| c.ready).unwrap_or(true),
                        serving: cond.and_then(|c| c.serving).unwrap_or(true),
                        terminating: cond.and_then(|c| c.terminating).unwrap_or(false),
                        zone_hints: ep.hints.as_ref().and_then(|h| {
                            h.for_zones
                                .as_ref()
                                .map(|z| z.iter().map(|z| z.name.clone()).collect())
                        }),
                        node_hints: ep.hints.as_ref().and_then(|h| {
                            h.for_nodes
                                .as_ref()
                                .map(|z| z.iter().map(|z| z.name.clone()).collect())
                        }),
                    });
                }
            }
        }
    }
    for group in out.values_mut() {
        // Stable, so duplicates keep their slice order; then a later copy replaces the
        // kept one unless it is terminating.
        group.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
        group.dedup_by(|later, kept| {
            if later.endpoint != kept.endpoint {
                return false;
            }
            if !later.terminating {
                std::mem::swap(later, kept);
            }
            true
        });
    }
    out
}

fn usable_slice(slice: &EndpointSlice, family: IpFamily) -> Option<((&str, &str), &EndpointSlice)> {
    if slice.address_type != family.as_str() {
        return None;
    }
    let namespace = slice.metadata.namespace.as_deref().unwrap_or("default");
    slice.metadata.name.as_ref()?;
    let service = slice
        .metadata
        .labels
        .as_ref()?
        .get("kubernetes.io/service-name")?;
    Some(((namespace, service.as_str()), slice))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fast_hasher_tells_apart_names_that_differ_late() {
        use std::hash::BuildHasher;
        let b = super::FastBuild::default();
        let h = |s: &str| b.hash_one(s);
        assert_ne!(
            h("KUBE-SEP-AAAAAAAAAAAAAAAA"),
            h("KUBE-SEP-AAAAAAAAAAAAAAAB")
        );
        assert_ne!(h("KUBE-SEP-AAAAAAAA"), h("KUBE-SEP-AAAAAAAA\0"));
        assert_eq!(h("KUBE-SVC-X"), h("KUBE-SVC-X"));
    }

    #[test]
    fn sort_large_is_a_stable_sort() {
        let mut items = vec![(3, 'a'), (1, 'b'), (2, 'c'), (1, 'd'), (0, 'e'), (3, 'f')];
        super::sort_large(&mut items, |a, b| a.0.cmp(&b.0));
        assert_eq!(
            items,
            vec![(0, 'e'), (1, 'b'), (1, 'd'), (2, 'c'), (3, 'a'), (3, 'f')]
        );
    }
}
