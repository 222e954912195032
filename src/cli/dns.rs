//! `kdive dns NAME`: resolve a name as a pod's resolver and CoreDNS would.
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::chain::{Output, origin, snapshot};
use super::{ClusterArgs, InputError};
use kdive_core::model::dns::{
    self, Dnat, DnsLookup, DnsRequest, KubeletMode, QType, ResolvConf, Server, Status,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RecordType {
    #[value(name = "A")]
    A,
    #[value(name = "AAAA")]
    Aaaa,
    #[value(name = "SRV")]
    Srv,
}

#[derive(Debug, Args)]
pub struct DnsArgs {
    /// The name to resolve, as an application would pass it (e.g. web, web.demo,
    /// _http._tcp.web, postgres-0.postgres)
    pub name: String,
    /// Resolve from this pod's resolv.conf (default: a ClusterFirst pod in the namespace)
    #[arg(long, value_name = "pod/NAME")]
    pub from: Option<String>,
    /// Namespace of the pod (or of the hypothetical client pod)
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Record type to ask for
    #[arg(long = "type", value_name = "TYPE", value_enum, default_value_t = RecordType::A, ignore_case = true)]
    pub qtype: RecordType,
    /// Read objects from these YAML/JSON files instead of the cluster
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// The cluster's DNS domain
    #[arg(long, default_value = "cluster.local", value_name = "DOMAIN")]
    pub cluster_domain: String,
    /// kubelet's clusterDNS (default: the kube-system/kube-dns Service IP)
    #[arg(long, value_name = "IP")]
    pub cluster_dns: Vec<String>,
    /// The node's /etc/resolv.conf, which kubelet uses for dnsPolicy Default and appends
    /// search domains from for ClusterFirst (not visible through the API)
    #[arg(long, value_name = "FILE")]
    pub node_resolv_conf: Option<PathBuf>,
}

pub async fn run(cluster: &ClusterArgs, args: DnsArgs) -> color_eyre::Result<ExitCode> {
    let from_pod = match args.from.as_deref() {
        None => None,
        Some(f) => Some(match f.split_once('/') {
            Some(("pod" | "pods" | "po", n)) if !n.is_empty() => n.to_string(),
            Some(_) => {
                return Err(InputError::new(format!("--from {f:?}: expected pod/NAME")).into());
            }
            None if !f.is_empty() => f.to_string(),
            None => return Err(InputError::new("--from: the pod name is empty").into()),
        }),
    };
    for ip in &args.cluster_dns {
        if ip.parse::<std::net::IpAddr>().is_err() {
            return Err(InputError::new(format!("--cluster-dns {ip:?}: not an IP address")).into());
        }
    }
    let node_resolv = match &args.node_resolv_conf {
        None => None,
        Some(path) => Some(ResolvConf::parse(&std::fs::read_to_string(path).map_err(
            |e| InputError::new(format!("{}: cannot read: {e}", path.display())),
        )?)),
    };
    let snap = snapshot(cluster, &args.files).await?;
    let req = DnsRequest {
        name: args.name.clone(),
        qtype: match args.qtype {
            RecordType::A => QType::A,
            RecordType::Aaaa => QType::Aaaa,
            RecordType::Srv => QType::Srv,
        },
        namespace: args.namespace.clone(),
        from_pod,
        cluster_domain: args.cluster_domain.clone(),
        cluster_dns: (!args.cluster_dns.is_empty()).then(|| args.cluster_dns.clone()),
        node_resolv,
        ttl: dns::DEFAULT_TTL,
    };
    let lookup = dns::lookup(&snap, &req)
        .map_err(|e| InputError::new(format!("{e}{}", origin(&args.files))))?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&lookup)?),
        Output::Text => print!("{}", render(&lookup)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The human-readable walk: resolv.conf, candidates in order, answer, kube-proxy.
pub fn render(l: &DnsLookup) -> String {
    let mut o = String::new();
    let c = &l.client;
    let who = match &c.pod {
        Some(p) => format!(
            "pod {}/{p}{}",
            c.namespace,
            c.node
                .as_ref()
                .map(|n| format!(" on {n}"))
                .unwrap_or_default()
        ),
        None => format!("a ClusterFirst pod in namespace {}", c.namespace),
    };
    let _ = writeln!(
        o,
        "Resolving {:?} ({}) from {who}",
        l.query.name,
        l.query.qtype.as_str()
    );
    let mode = match c.mode {
        KubeletMode::Cluster => "cluster DNS",
        KubeletMode::Node => "the node's resolv.conf",
        KubeletMode::None => "only the pod's dnsConfig",
    };
    let _ = writeln!(
        o,
        "dnsPolicy {}{} → kubelet writes {mode}",
        c.dns_policy,
        if c.host_network { " + hostNetwork" } else { "" }
    );
    for n in &c.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    let _ = writeln!(o, "\n/etc/resolv.conf");
    if l.resolv_conf.text.is_empty() {
        let _ = writeln!(o, "  (empty)");
    }
    for line in l.resolv_conf.text.lines() {
        let _ = writeln!(o, "  {line}");
    }
    if l.resolv_conf.node_part_unknown {
        let _ = writeln!(
            o,
            "  (plus what the node's own resolv.conf contributes: not visible through the API; pass --node-resolv-conf FILE)"
        );
    }
    let _ = writeln!(o);
    match (&l.server.kind, &l.server.address) {
        (_, None) if l.resolv_conf.node_part_unknown => {
            let _ = writeln!(
                o,
                "nameserver: the node's (not visible to kdive, nor are its answers)"
            );
        }
        (_, None) => {
            let _ = writeln!(
                o,
                "no nameserver: the resolver falls back to 127.0.0.1 (answers not visible to kdive)"
            );
        }
        (Server::Coredns, Some(a)) => {
            let svc = l.server.service.as_deref().unwrap_or("the cluster DNS");
            let eps = if l.server.endpoints.is_empty() {
                "no ready endpoints!".to_string()
            } else {
                format!("CoreDNS {}", l.server.endpoints.join(", "))
            };
            let _ = writeln!(o, "nameserver {a} = Service {svc} → {eps}");
        }
        (Server::Upstream, Some(a)) => {
            let _ = writeln!(
                o,
                "nameserver {a} is not the cluster DNS: its answers are not visible to kdive"
            );
        }
    }
    let name = &l.query.name;
    let dots = name.trim_end_matches('.').matches('.').count();
    let nd = l.resolv_conf.ndots;
    let order = if name.ends_with('.') {
        "an absolute name: tried as is, no search list".to_string()
    } else if dots >= nd {
        format!("{dots} dot(s) ≥ ndots {nd}: tried as given first, then the search list")
    } else {
        format!("{dots} dot(s) < ndots {nd}: search list first, the name as given last")
    };
    let assumed = if l.resolv_conf.node_part_unknown && c.mode == KubeletMode::Node {
        " (assuming the node's file sets no ndots and no search)"
    } else {
        ""
    };
    let _ = writeln!(o, "{order}{assumed}");
    for (i, cand) in l.candidates.iter().enumerate() {
        let _ = writeln!(o, "  {}. {}  ({})", i + 1, cand.name, cand.via);
        if !cand.tried {
            let _ = writeln!(o, "     not tried");
            continue;
        }
        let a = &cand.answer;
        let rcode = match (a.rcode, a.records.is_empty()) {
            (dns::Rcode::NoError, true) => "NOERROR, no records (NODATA)",
            (dns::Rcode::NoError, false) => "NOERROR",
            (dns::Rcode::NxDomain, _) => "NXDOMAIN",
            (dns::Rcode::Unknown, _) => "unknown",
        };
        let _ = writeln!(o, "     {rcode}: {}", a.explanation);
        for r in &a.records {
            let _ = writeln!(o, "       {} {} IN {} {}", r.name, r.ttl, r.type_, r.data);
        }
    }
    let _ = writeln!(o);
    match l.result.status {
        Status::Answered => {
            let i = l.result.candidate.unwrap_or(0);
            let data: Vec<String> = l
                .result
                .records
                .iter()
                .map(|r| {
                    if r.type_ == l.query.qtype.as_str() {
                        r.data.clone()
                    } else {
                        format!("{} {}", r.type_, r.data)
                    }
                })
                .collect();
            let _ = writeln!(o, "Answer (candidate {}): {}", i + 1, data.join(", "));
        }
        Status::Nxdomain => {
            let _ = writeln!(o, "Answer: NXDOMAIN (every candidate failed)");
        }
        Status::Nodata => {
            let _ = writeln!(o, "Answer: no {} record (NODATA)", l.query.qtype.as_str());
        }
        Status::Unknown => {
            let i = l.result.candidate.unwrap_or(0);
            let more = if i + 1 < l.candidates.len() {
                "; if that is NXDOMAIN the resolver goes on down the list"
            } else {
                ""
            };
            let _ = writeln!(
                o,
                "Answer: decided outside the cluster (candidate {}), not visible to kdive{more}",
                i + 1
            );
        }
    }
    if let (Some(svc), Some(Dnat::Rendered { node, ports })) = (&l.service, &l.dnat) {
        let _ = writeln!(
            o,
            "\nThen kube-proxy on {} sends connections to Service {svc}'s cluster IP:",
            if node.name.is_empty() {
                "(no node)"
            } else {
                &node.name
            }
        );
        for p in ports {
            let eps: Vec<String> = p
                .endpoints
                .iter()
                .map(|e| {
                    format!(
                        "{} ({:.1}%{})",
                        e.endpoint,
                        e.probability * 100.0,
                        e.node_name
                            .as_ref()
                            .map(|n| format!(", {n}"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            let target = if p.verdict == "DNAT" {
                format!("DNAT via {} → {}", p.chain, eps.join(", "))
            } else {
                p.verdict.to_string()
            };
            let _ = writeln!(o, "  {} {}/{}: {target}", p.name, p.port, p.protocol);
        }
    }
    o
}
