//! What CoreDNS's `kubernetes` plugin answers for a name in the cluster zone.
//!
//! Follows the plugin's request parsing (`[_port._proto.|endpoint.]service.namespace.svc.zone`,
//! `ip-dashed.namespace.pod.zone` with `pods insecure`) and its record building:
//! ClusterIP Services answer with their cluster IPs (one record per matching port, then
//! de-duplicated); headless Services and endpoint names answer with the *ready* addresses
//! of the Service's EndpointSlices (CoreDNS skips endpoints whose `ready` is false;
//! `publishNotReadyAddresses` works because the EndpointSlice controller then writes
//! `ready: true`); ExternalName answers with a CNAME. A name that matches nothing, a
//! namespace that does not exist, or a name with too many labels is NXDOMAIN; a name that
//! exists with no record of the asked type is NOERROR with no records (NODATA).

use std::net::IpAddr;

use k8s_openapi::api::core::v1::Service;

use super::{Answer, QType, Rcode, Record};
use crate::model::Objects;
use crate::model::chain::{namespace_exists, ns_of, service_slices};
use crate::model::service::{is_cluster_ip_set, is_headless};

/// One backend entry before it becomes a record (CoreDNS's `msg.Service`).
struct Entry {
    /// The IP, or a host name for ExternalName.
    host: String,
    /// -1 when the endpoint has no ports (CoreDNS's sentinel: no SRV for it).
    port: i32,
    /// The owner name SRV targets use: the Service name or `endpoint.service` name.
    target: String,
}

/// Answers `qname` (absolute, lower case, no trailing dot) inside `zone`.
pub(super) fn answer(snap: &Objects, zone: &str, qname: &str, qtype: QType, ttl: u32) -> Answer {
    let base = if qname == zone {
        ""
    } else {
        match qname.strip_suffix(zone).and_then(|b| b.strip_suffix('.')) {
            Some(b) => b,
            None => {
                return Answer::forwarded(qname);
            }
        }
    };
    if base.is_empty() || base == "svc" || base == "pod" {
        return Answer::coredns(Rcode::NoError, Vec::new(), "zone structure name: NODATA");
    }
    let segs: Vec<&str> = base.split('.').collect();
    let i = segs.len() - 1;
    let kind = segs[i];
    if kind != "svc" && kind != "pod" {
        return nx(format!("{kind:?} is neither \"svc\" nor \"pod\""));
    }
    // Label count first, as CoreDNS's request parsing rejects long names before any lookup.
    let Some(namespace) = i.checked_sub(1).map(|j| segs[j]) else {
        return nx("no namespace label".into());
    };
    let rest = i.saturating_sub(2);
    if i >= 2 && rest > 2 {
        return nx("too many labels for a service name".into());
    }
    if !namespace_exists(snap, namespace) {
        return nx(format!("namespace {namespace:?} does not exist"));
    }
    if i == 1 {
        return Answer::coredns(Rcode::NoError, Vec::new(), "namespace name: NODATA");
    }
    let name = segs[rest];
    let (endpoint, port, proto) = match rest {
        0 => (None, None, None),
        1 => (Some(segs[0]), None, None),
        _ => (None, Some(strip_us(segs[0])), Some(strip_us(segs[1]))),
    };
    if kind == "pod" {
        return pod_answer(qname, name, qtype, ttl);
    }
    let Some(svc) = snap
        .services
        .iter()
        .find(|s| ns_of(&s.metadata) == namespace && s.metadata.name.as_deref() == Some(name))
    else {
        // A pod's hostname.subdomain name exists only through a headless Service named
        // like the subdomain; say so when a pod expects it.
        let expecting = endpoint.and_then(|host| {
            let in_ns = snap.pods.iter().filter(|p| ns_of(&p.metadata) == namespace);
            in_ns.map(|p| p.pod()).find(|p| {
                p.spec.as_ref().is_some_and(|s| {
                    s.hostname.as_deref() == Some(host) && s.subdomain.as_deref() == Some(name)
                })
            })
        });
        return nx(match expecting {
            Some(p) => format!(
                "no Service {namespace}/{name}: pod {} sets hostname/subdomain for this name, but it exists only with a headless Service named {name:?}",
                p.metadata.name.as_deref().unwrap_or("?")
            ),
            None => format!("no Service {namespace}/{name}"),
        });
    };
    let spec = svc.spec.clone().unwrap_or_default();
    let svc_target = format!("{name}.{namespace}.svc.{zone}");
    if spec.type_.as_deref() == Some("ExternalName") {
        if endpoint.is_some() {
            return nx("an ExternalName Service has no endpoint names".into());
        }
        let target = spec.external_name.unwrap_or_default();
        let target = target.trim_end_matches('.').to_ascii_lowercase();
        let rec = match qtype {
            QType::Srv => Record::srv(qname, ttl, 0, 100, 0, &target),
            _ => Record::cname(qname, ttl, &target),
        };
        return Answer::coredns(
            Rcode::NoError,
            vec![rec],
            &format!(
                "ExternalName Service {namespace}/{name}: CNAME; CoreDNS resolves {target} upstream (not visible to kdive)"
            ),
        );
    }
    let headless = is_headless(svc);
    let mut entries = Vec::new();
    let source;
    if headless || endpoint.is_some() {
        let pnra = if spec.publish_not_ready_addresses == Some(true) {
            " (publishNotReadyAddresses: the controller marks every pod's endpoint ready)"
        } else {
            ""
        };
        source = format!(
            "{} Service {namespace}/{name}: ready endpoints{pnra}",
            if headless { "headless" } else { "endpoint of" }
        );
        for slice in service_slices(snap, namespace, name) {
            if slice.address_type == "FQDN" {
                continue;
            }
            let ports: Vec<(i32, String, String)> = match slice.ports.as_deref() {
                Some(ps) if !ps.is_empty() => ps
                    .iter()
                    .map(|p| {
                        (
                            p.port.unwrap_or(-1),
                            p.name.clone().unwrap_or_default(),
                            p.protocol.clone().unwrap_or_else(|| "TCP".into()),
                        )
                    })
                    .collect(),
                _ => vec![(-1, String::new(), String::new())],
            };
            for ep in &slice.endpoints {
                if ep.conditions.as_ref().and_then(|c| c.ready) == Some(false) {
                    continue;
                }
                for ip in &ep.addresses {
                    let host = endpoint_hostname(ep.hostname.as_deref(), ip);
                    if let Some(want) = endpoint
                        && !want.eq_ignore_ascii_case(&host)
                    {
                        continue;
                    }
                    for (p, pname, pproto) in &ports {
                        if !port_matches(port, pname, proto, pproto) {
                            continue;
                        }
                        entries.push(Entry {
                            host: ip.clone(),
                            port: *p,
                            target: format!("{host}.{svc_target}"),
                        });
                    }
                }
            }
        }
    } else {
        source = format!("ClusterIP Service {namespace}/{name}");
        let ips = cluster_ips(svc);
        for p in spec.ports.iter().flatten() {
            let pname = p.name.clone().unwrap_or_default();
            let pproto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
            if !port_matches(port, &pname, proto, &pproto) {
                continue;
            }
            for ip in &ips {
                entries.push(Entry {
                    host: ip.clone(),
                    port: p.port,
                    target: svc_target.clone(),
                });
            }
        }
    }
    if entries.is_empty() {
        let why = if headless || endpoint.is_some() {
            "no ready endpoint matches"
        } else {
            "no Service port matches"
        };
        return nx(format!("{source}: {why}"));
    }
    let records = build_records(qname, qtype, ttl, &entries);
    let note = if records.is_empty() {
        format!("{source}: no {} record (NODATA)", qtype.as_str())
    } else {
        source
    };
    Answer::coredns(Rcode::NoError, records, &note)
}

fn build_records(qname: &str, qtype: QType, ttl: u32, entries: &[Entry]) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::new();
    match qtype {
        QType::A | QType::Aaaa => {
            let want_v6 = qtype == QType::Aaaa;
            for e in entries {
                let Ok(ip) = e.host.parse::<IpAddr>() else {
                    continue;
                };
                if ip.is_ipv6() != want_v6 {
                    continue;
                }
                let rec = Record::address(qname, ttl, ip);
                if !out.contains(&rec) {
                    out.push(rec);
                }
            }
        }
        QType::Srv => {
            // CoreDNS weights: 100 / (100 × number of entries) × 100, floored, counted
            // before duplicates are dropped; entries without a port give no SRV.
            let weight = ((100.0 / (100.0 * entries.len() as f64)) * 100.0).floor() as u16;
            let weight = weight.max(1);
            for e in entries.iter().filter(|e| e.port >= 0) {
                let rec = Record::srv(qname, ttl, 0, weight, e.port, &e.target);
                if !out.contains(&rec) {
                    out.push(rec);
                }
            }
        }
    }
    out
}

fn pod_answer(qname: &str, label: &str, qtype: QType, ttl: u32) -> Answer {
    // `pods insecure`: any dashed IP in an existing namespace answers with that IP.
    let text = if label.matches('-').count() == 3 && !label.contains("--") {
        label.replace('-', ".")
    } else {
        label.replace('-', ":")
    };
    let Ok(ip) = text.parse::<IpAddr>() else {
        return nx(format!("{label:?} is not a dashed IP address"));
    };
    let records = match qtype {
        QType::A if ip.is_ipv4() => vec![Record::address(qname, ttl, ip)],
        QType::Aaaa if ip.is_ipv6() => vec![Record::address(qname, ttl, ip)],
        _ => Vec::new(),
    };
    Answer::coredns(
        Rcode::NoError,
        records,
        "pod name (pods insecure): the IP in the name",
    )
}

fn nx(why: String) -> Answer {
    Answer::coredns(Rcode::NxDomain, Vec::new(), &why)
}

fn strip_us(s: &str) -> &str {
    s.strip_prefix('_').unwrap_or(s)
}

/// CoreDNS's port/protocol match: an empty request part matches anything.
fn port_matches(
    want_port: Option<&str>,
    port: &str,
    want_proto: Option<&str>,
    proto: &str,
) -> bool {
    let p = want_port.is_none_or(|w| w.is_empty() || w.eq_ignore_ascii_case(port));
    let q = want_proto.is_none_or(|w| w.is_empty() || w.eq_ignore_ascii_case(proto));
    p && q
}

/// The label CoreDNS gives an endpoint: its `hostname`, else its IP with dashes.
pub fn endpoint_hostname(hostname: Option<&str>, ip: &str) -> String {
    match hostname.filter(|h| !h.is_empty()) {
        Some(h) => h.to_string(),
        None => ip.replace(['.', ':'], "-"),
    }
}

/// `spec.clusterIPs`, falling back to `spec.clusterIP` (older objects and hand-written files).
pub fn cluster_ips(svc: &Service) -> Vec<String> {
    let Some(spec) = &svc.spec else {
        return Vec::new();
    };
    let ips: Vec<String> = match &spec.cluster_ips {
        Some(ips) if !ips.is_empty() => ips.clone(),
        _ => spec.cluster_ip.iter().cloned().collect(),
    };
    ips.into_iter().filter(|ip| is_cluster_ip_set(ip)).collect()
}
