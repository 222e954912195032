//! DNS as a pod sees it: kubelet's resolv.conf, the resolver's search-list expansion, and
//! CoreDNS's answers for the cluster zone.
//!
//! `kdive dns -o json` prints a [`DnsLookup`] (snake_case keys):
//!
//! ```text
//! {
//!   "query": {"name": "postgres-0.postgres", "type": "A"},
//!   "client": {"pod": "web-…" | null, "namespace": "demo", "node": "node-a" | null,
//!              "host_network": false, "dns_policy": "ClusterFirst",
//!              "mode": "cluster" | "node" | "none", "notes": ["…"]},
//!   "resolv_conf": {"search": [..], "nameservers": [..], "options": ["ndots:5"],
//!                   "ndots": 5, "text": "search …\nnameserver …\noptions ndots:5\n",
//!                   "node_part_unknown": false},
//!   "server": {"kind": "coredns" | "upstream", "address": "10.96.0.10",
//!              "service": "kube-system/kube-dns" | null,
//!              "endpoints": ["10.244.1.2", …]},          // ready CoreDNS endpoints
//!   "candidates": [{"name": "postgres-0.postgres.demo.svc.cluster.local.",
//!                   "via": "search demo.svc.cluster.local", "tried": true,
//!                   "answer": Answer}],                    // in the order the resolver tries them
//!   "result": {"status": "answered" | "nxdomain" | "nodata" | "unknown",
//!              "candidate": 0 | null,                      // index into candidates
//!              "records": [Record]},
//!   "service": "demo/web" | null,     // the ClusterIP Service the answer points at
//!   "dnat": null | {"status": "rendered",          // kube-proxy on the client's node
//!            "node": {"name": "node-a", "family": "IPv4", "config": "defaults", "notes": []},
//!            "ports": [{"name": "demo/web:http", "port": 80, "protocol": "tcp",
//!                       "verdict": "DNAT" | "REJECT" | "DROP", "chain": "KUBE-SVC-…",
//!                       "endpoints": [{"endpoint": "10.244.1.5:8080", "node_name": "node-a",
//!                                      "probability": 0.5}]}]}
//! }
//! Answer = {"server": "coredns" | "upstream", "rcode": "NOERROR" | "NXDOMAIN" | "UNKNOWN",
//!           "records": [Record], "explanation": "ClusterIP Service demo/web"}
//! Record = {"name": "web.demo.svc.cluster.local.", "ttl": 30,
//!           "type": "A" | "AAAA" | "CNAME" | "SRV",
//!           "data": "10.96.120.15" | "billing.example.com." | "0 50 5432 postgres-0.postgres.demo.svc.cluster.local."}
//! ```
//! `UNKNOWN` means the query leaves the cluster (forwarded upstream, or the nameserver is
//! not the cluster DNS), where kdive cannot know the answer. `dnat` is the kube-proxy
//! step for a ClusterIP answer, from `model::proxy` (endpoint selection is not re-derived).

pub mod coredns;
pub mod resolv;

use std::net::IpAddr;

use serde::Serialize;

pub use resolv::{KubeletMode, PodResolv, ResolvConf};

use crate::model::Objects;
use crate::model::chain::proxy as chain_proxy;
use crate::model::chain::{capped, ns_of, service_slices};
use crate::model::proxy::IpFamily;
use crate::model::service;

/// CoreDNS's TTL in the kubeadm default Corefile (`ttl 30`).
pub const DEFAULT_TTL: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum QType {
    A,
    #[serde(rename = "AAAA")]
    Aaaa,
    #[serde(rename = "SRV")]
    Srv,
}

impl QType {
    pub fn as_str(self) -> &'static str {
        match self {
            QType::A => "A",
            QType::Aaaa => "AAAA",
            QType::Srv => "SRV",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Rcode {
    #[serde(rename = "NOERROR")]
    NoError,
    #[serde(rename = "NXDOMAIN")]
    NxDomain,
    #[serde(rename = "UNKNOWN")]
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Server {
    Coredns,
    Upstream,
}

/// One resource record in zone-file presentation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub name: String,
    pub ttl: u32,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub data: String,
}

impl Record {
    fn fqdn(n: &str) -> String {
        format!("{}.", n.trim_end_matches('.'))
    }
    pub fn address(name: &str, ttl: u32, ip: IpAddr) -> Record {
        Record {
            name: Self::fqdn(name),
            ttl,
            type_: if ip.is_ipv6() { "AAAA" } else { "A" },
            data: ip.to_string(),
        }
    }
    pub fn cname(name: &str, ttl: u32, target: &str) -> Record {
        Record {
            name: Self::fqdn(name),
            ttl,
            type_: "CNAME",
            data: Self::fqdn(target),
        }
    }
    pub fn srv(name: &str, ttl: u32, prio: u16, weight: u16, port: i32, target: &str) -> Record {
        Record {
            name: Self::fqdn(name),
            ttl,
            type_: "SRV",
            data: format!("{prio} {weight} {port} {}", Self::fqdn(target)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    pub server: Server,
    pub rcode: Rcode,
    pub records: Vec<Record>,
    pub explanation: String,
}

impl Answer {
    fn coredns(rcode: Rcode, records: Vec<Record>, why: &str) -> Answer {
        Answer {
            server: Server::Coredns,
            rcode,
            records,
            explanation: why.to_string(),
        }
    }
    fn forwarded(qname: &str) -> Answer {
        Answer {
            server: Server::Upstream,
            rcode: Rcode::Unknown,
            records: Vec::new(),
            explanation: format!(
                "{qname} is outside the cluster zone: CoreDNS forwards it upstream (answer not visible to kdive)"
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Query {
    pub name: String,
    #[serde(rename = "type")]
    pub qtype: QType,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Client {
    pub pod: Option<String>,
    pub namespace: String,
    pub node: Option<String>,
    pub host_network: bool,
    pub dns_policy: String,
    pub mode: KubeletMode,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvView {
    pub search: Vec<String>,
    pub nameservers: Vec<String>,
    pub options: Vec<String>,
    /// The `ndots` the resolver uses (1 when no option sets it).
    pub ndots: usize,
    pub text: String,
    pub node_part_unknown: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServerView {
    pub kind: Server,
    pub address: Option<String>,
    pub service: Option<String>,
    pub endpoints: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateView {
    pub name: String,
    pub via: String,
    pub tried: bool,
    pub answer: Answer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Answered,
    Nxdomain,
    Nodata,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub status: Status,
    pub candidate: Option<usize>,
    pub records: Vec<Record>,
}

/// The kube-proxy step after a ClusterIP answer, from `model::proxy` on the client's node.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Dnat {
    Rendered {
        node: crate::model::chain::ProxyNode,
        ports: Vec<DnatPort>,
    },
}

/// Where kube-proxy sends a new connection to one port of the Service's cluster IP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnatPort {
    /// The service-port string, `ns/svc:port`.
    pub name: String,
    pub port: i32,
    pub protocol: String,
    /// `"DNAT"`, `"REJECT"` (no endpoints) or `"DROP"` (internalTrafficPolicy Local and
    /// no endpoint on this node).
    pub verdict: &'static str,
    pub chain: String,
    pub endpoints: Vec<DnatTarget>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnatTarget {
    pub endpoint: String,
    pub node_name: Option<String>,
    pub probability: f64,
}

/// One resolution from a pod's point of view; the public `kdive dns -o json` shape.
/// Field by field JSON shape: see the module documentation above.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsLookup {
    pub query: Query,
    pub client: Client,
    pub resolv_conf: ResolvView,
    pub server: ServerView,
    pub candidates: Vec<CandidateView>,
    pub result: Outcome,
    pub service: Option<String>,
    pub dnat: Option<Dnat>,
}

/// What to resolve, from where.
#[derive(Debug, Clone)]
pub struct DnsRequest {
    pub name: String,
    pub qtype: QType,
    pub namespace: String,
    /// The pod whose resolver is used; `None` means a plain ClusterFirst pod in `namespace`.
    pub from_pod: Option<String>,
    pub cluster_domain: String,
    /// kubelet's clusterDNS; `None` means the kube-system/kube-dns Service's cluster IPs.
    pub cluster_dns: Option<Vec<String>>,
    /// The node's resolv.conf, when the user supplies it.
    pub node_resolv: Option<ResolvConf>,
    pub ttl: u32,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DnsError {
    #[error("pod {namespace}/{name} not found{}", known_hint(.known))]
    UnknownPod {
        namespace: String,
        name: String,
        known: Vec<String>,
    },
    #[error("{name:?} is not a valid DNS name: {why}")]
    InvalidName { name: String, why: String },
}

fn known_hint(known: &[String]) -> String {
    if known.is_empty() {
        " (no pods in that namespace)".into()
    } else {
        format!(" (pods there: {})", capped(known))
    }
}

fn validate_name(name: &str) -> Result<(), DnsError> {
    let bad = |why: &str| DnsError::InvalidName {
        name: name.into(),
        why: why.into(),
    };
    let body = name.strip_suffix('.').unwrap_or(name);
    if body.is_empty() {
        return Err(bad("empty name"));
    }
    if body.len() > 253 {
        return Err(bad("longer than 253 characters"));
    }
    for label in body.split('.') {
        if label.is_empty() {
            return Err(bad("empty label (two dots in a row)"));
        }
        if label.len() > 63 {
            return Err(bad("a label is longer than 63 characters"));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(bad("only letters, digits, '-' and '_' are allowed"));
        }
    }
    Ok(())
}

/// kubelet's clusterDNS as the cluster shows it: the kube-system/kube-dns Service IPs.
pub fn kube_dns_ips(snap: &Objects) -> Vec<String> {
    snap.services
        .iter()
        .find(|s| {
            ns_of(&s.metadata) == "kube-system" && s.metadata.name.as_deref() == Some("kube-dns")
        })
        .map(|s| coredns::cluster_ips(s))
        .unwrap_or_default()
}

/// Resolves `req.name` as the pod's resolver and CoreDNS would.
pub fn lookup(snap: &Objects, req: &DnsRequest) -> Result<DnsLookup, DnsError> {
    validate_name(&req.name)?;
    let pod = match &req.from_pod {
        None => None,
        Some(name) => Some(
            snap.pods
                .iter()
                .find(|p| {
                    ns_of(&p.metadata) == req.namespace && p.metadata.name.as_deref() == Some(name)
                })
                .ok_or_else(|| DnsError::UnknownPod {
                    namespace: req.namespace.clone(),
                    name: name.clone(),
                    known: snap
                        .pods
                        .iter()
                        .filter(|p| ns_of(&p.metadata) == req.namespace)
                        .filter_map(|p| p.metadata.name.clone())
                        .collect(),
                })?
                .pod(),
        ),
    };
    let spec = pod.as_ref().and_then(|p| p.spec.as_ref());
    let cluster_dns = req
        .cluster_dns
        .clone()
        .unwrap_or_else(|| kube_dns_ips(snap));
    let host_network = spec.and_then(|s| s.host_network).unwrap_or(false);
    let dns_policy = spec.and_then(|s| s.dns_policy.as_deref());
    let pr = resolv::pod_resolv(&resolv::PodDnsInput {
        namespace: &req.namespace,
        dns_policy,
        host_network,
        dns_config: spec.and_then(|s| s.dns_config.as_ref()),
        cluster_dns: &cluster_dns,
        cluster_domain: &req.cluster_domain,
        node_resolv: req.node_resolv.as_ref(),
    });
    let server = server_view(snap, &pr.resolv_conf, &cluster_dns);
    let zone = req
        .cluster_domain
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let mut candidates = Vec::new();
    let mut decided: Option<(Status, usize)> = None;
    let mut saw_nodata = false;
    for (i, c) in resolv::candidates(&req.name, &pr.resolv_conf)
        .into_iter()
        .enumerate()
    {
        let qname = c.name.trim_end_matches('.');
        let answer = match server.kind {
            Server::Coredns => coredns::answer(snap, &zone, qname, req.qtype, req.ttl),
            Server::Upstream => Answer {
                server: Server::Upstream,
                rcode: Rcode::Unknown,
                records: Vec::new(),
                explanation: "the nameserver is not the cluster DNS: answer not visible to kdive"
                    .into(),
            },
        };
        let tried = decided.is_none();
        if tried {
            match (answer.rcode, answer.records.is_empty()) {
                (Rcode::NoError, false) => decided = Some((Status::Answered, i)),
                (Rcode::Unknown, _) => decided = Some((Status::Unknown, i)),
                (Rcode::NoError, true) => saw_nodata = true,
                (Rcode::NxDomain, _) => {}
            }
        }
        candidates.push(CandidateView {
            name: c.name,
            via: c.via,
            tried,
            answer,
        });
    }
    let result = match decided {
        Some((status, i)) => Outcome {
            status,
            candidate: Some(i),
            records: candidates[i].answer.records.clone(),
        },
        None => Outcome {
            status: if saw_nodata {
                Status::Nodata
            } else {
                Status::Nxdomain
            },
            candidate: None,
            records: Vec::new(),
        },
    };
    let service = result
        .candidate
        .filter(|_| result.status == Status::Answered)
        .and_then(|i| clusterip_service(snap, &zone, &candidates[i].name));
    let dnat = service.as_ref().and_then(|svc| {
        let (ns, name) = svc.split_once('/')?;
        let ip = result.records.first()?.data.parse::<IpAddr>().ok()?;
        Some(dnat_for(
            snap,
            spec.and_then(|s| s.node_name.as_deref()),
            IpFamily::of(&ip),
            ns,
            name,
        ))
    });
    let rc = &pr.resolv_conf;
    Ok(DnsLookup {
        query: Query {
            name: req.name.clone(),
            qtype: req.qtype,
        },
        client: Client {
            pod: req.from_pod.clone(),
            namespace: req.namespace.clone(),
            node: spec.and_then(|s| s.node_name.clone()),
            host_network,
            dns_policy: dns_policy.unwrap_or("ClusterFirst").to_string(),
            mode: pr.mode,
            notes: pr.notes.clone(),
        },
        resolv_conf: ResolvView {
            search: rc.search.clone(),
            nameservers: rc.nameservers.clone(),
            options: rc.options.clone(),
            ndots: rc.ndots(),
            text: rc.text(),
            node_part_unknown: pr.node_part_unknown,
        },
        server,
        candidates,
        result,
        service,
        dnat,
    })
}

fn dnat_for(snap: &Objects, node: Option<&str>, family: IpFamily, ns: &str, name: &str) -> Dnat {
    let (opts, node) = chain_proxy::options_for(snap, node, family);
    let (plans, _) = chain_proxy::service_proxy(snap, &opts, ns, name);
    let ports = plans
        .into_iter()
        .map(|p| DnatPort {
            verdict: if !p.has_endpoints {
                "REJECT"
            } else if p.internal.is_empty() {
                "DROP"
            } else {
                "DNAT"
            },
            name: p.name,
            port: p.port,
            protocol: p.protocol,
            chain: p.internal_chain,
            endpoints: p
                .internal
                .into_iter()
                .map(|c| DnatTarget {
                    endpoint: c.endpoint,
                    node_name: c.node_name,
                    probability: c.probability,
                })
                .collect(),
        })
        .collect();
    Dnat::Rendered { node, ports }
}

fn server_view(snap: &Objects, rc: &ResolvConf, cluster_dns: &[String]) -> ServerView {
    let Some(first) = rc.nameservers.first() else {
        return ServerView {
            kind: Server::Upstream,
            address: None,
            service: None,
            endpoints: Vec::new(),
        };
    };
    if !cluster_dns.contains(first) {
        return ServerView {
            kind: Server::Upstream,
            address: Some(first.clone()),
            service: None,
            endpoints: Vec::new(),
        };
    }
    // The Service that owns the IP, and its ready endpoints: the CoreDNS pods that answer.
    let svc = snap
        .services
        .iter()
        .find(|s| coredns::cluster_ips(s).contains(first));
    let (service, endpoints) = match svc {
        Some(s) => {
            let ns = ns_of(&s.metadata);
            let name = s.metadata.name.clone().unwrap_or_default();
            let mut eps: Vec<String> = service_slices(snap, ns, &name)
                .flat_map(|sl| sl.endpoints.iter())
                .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
                .filter_map(|e| e.addresses.first().cloned())
                .collect();
            eps.sort();
            eps.dedup();
            (Some(format!("{ns}/{name}")), eps)
        }
        None => (None, Vec::new()),
    };
    ServerView {
        kind: Server::Coredns,
        address: Some(first.clone()),
        service,
        endpoints,
    }
}

/// `ns/name` when `fqdn` is `<svc>.<ns>.svc.<zone>.` of a ClusterIP (non-headless) Service.
fn clusterip_service(snap: &Objects, zone: &str, fqdn: &str) -> Option<String> {
    let base = fqdn
        .trim_end_matches('.')
        .strip_suffix(zone)?
        .strip_suffix(".svc.")?;
    let (name, ns) = base.split_once('.')?;
    let svc = snap
        .services
        .iter()
        .find(|s| ns_of(&s.metadata) == ns && s.metadata.name.as_deref() == Some(name))?;
    let t = svc.spec.as_ref().and_then(|s| s.type_.as_deref());
    (t != Some("ExternalName") && !service::is_headless(svc)).then(|| format!("{ns}/{name}"))
}

/// A name a Service answers to, with CoreDNS's answer (used by the chain view).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DnsName {
    pub name: String,
    #[serde(rename = "type")]
    pub qtype: QType,
    pub rcode: Rcode,
    pub records: Vec<Record>,
}

/// The names CoreDNS serves for a Service: the Service name (A, and AAAA when it has an
/// IPv6 address), SRV for each named port, and each ready endpoint's own name.
pub fn service_names(snap: &Objects, ns: &str, name: &str, zone: &str, ttl: u32) -> Vec<DnsName> {
    let zone = zone.trim_end_matches('.').to_ascii_lowercase();
    let Some(svc) = snap
        .services
        .iter()
        .find(|s| ns_of(&s.metadata) == ns && s.metadata.name.as_deref() == Some(name))
    else {
        return Vec::new();
    };
    let base = format!("{name}.{ns}.svc.{zone}");
    let mut queries: Vec<(String, QType)> = Vec::new();
    let external = svc.spec.as_ref().and_then(|s| s.type_.as_deref()) == Some("ExternalName");
    queries.push((base.clone(), QType::A));
    if coredns::cluster_ips(svc).iter().any(|ip| ip.contains(':')) {
        queries.push((base.clone(), QType::Aaaa));
    }
    if !external {
        for p in svc.spec.iter().flat_map(|s| s.ports.iter().flatten()) {
            if let Some(pn) = p.name.as_deref().filter(|n| !n.is_empty()) {
                let proto = p.protocol.as_deref().unwrap_or("TCP").to_ascii_lowercase();
                queries.push((format!("_{pn}._{proto}.{base}"), QType::Srv));
            }
        }
        // Every ready endpoint has a name; for a ClusterIP Service list only those with a
        // real `hostname`, as the dashed-IP names of its pods are rarely what anyone wants.
        let headless = service::is_headless(svc);
        let mut hosts: Vec<String> = service_slices(snap, ns, name)
            .filter(|s| s.address_type != "FQDN")
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) != Some(false))
            .filter(|e| headless || e.hostname.as_deref().is_some_and(|h| !h.is_empty()))
            .filter_map(|e| {
                e.addresses
                    .first()
                    .map(|ip| coredns::endpoint_hostname(e.hostname.as_deref(), ip))
            })
            .collect();
        hosts.sort();
        hosts.dedup();
        for h in hosts {
            queries.push((format!("{h}.{base}"), QType::A));
        }
    }
    queries
        .into_iter()
        .map(|(q, t)| {
            let a = coredns::answer(snap, &zone, &q, t, ttl);
            DnsName {
                name: format!("{q}."),
                qtype: t,
                rcode: a.rcode,
                records: a.records,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
