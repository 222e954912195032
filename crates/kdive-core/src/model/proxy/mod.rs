//! kube-proxy rule rendering (iptables mode) and packet tracing.
//!
//! The rules follow `shared/research/kube-proxy-iptables.md` (the "spec"): the restore
//! input kube-proxy writes on a full sync, byte for byte, printed in the canonical order
//! of its §9. Everything here is pure: a [`Objects`] set and [`ProxyOptions`] in, plain data
//! out.
//!
//! Public API (stable; other models build on it):
//! - [`render`]: the whole [`Ruleset`] for one node and one IP family, and
//!   [`canonical_text`] / [`save::save_text`] to print it;
//! - [`service_rules`]: the canonical lines that belong to one Service;
//! - [`service_port_plans`]: endpoint selection per service port as plain data (which
//!   endpoints cluster and local traffic use, with their probabilities);
//! - [`trace::trace`]: follow a packet through the rendered rule text.

pub mod canonical;
pub mod config;
pub mod endpoints;
pub mod input;
pub mod ip;
pub mod naming;
pub mod render;
pub mod save;
pub mod trace;
mod trace_rule;

#[cfg(test)]
mod api_tests;
#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod trace_tests;

pub use canonical::{TableSel, canonical_text, restore_text};
pub use config::{ConfigError, KubeProxyConfig, LocalDetector, ProxyOptions};
pub use input::{Endpoint, ServicePortInfo};
pub use ip::IpFamily;
pub use naming::ChainNames;
pub use render::{Ruleset, Table};

use crate::model::Objects;

/// Renders kube-proxy's `filter` and `nat` restore input for the node and family of
/// `opts`, from the Services and EndpointSlices of `snapshot`.
pub fn render(snapshot: &Objects, opts: &ProxyOptions) -> Ruleset {
    let ports = input::service_ports(snapshot, opts.family, &opts.node_name);
    render::render_ports(&ports, opts)
}

/// The rules of one Service, in canonical order, split by table.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ServiceRules {
    /// Chains owned by this Service (KUBE-SVC/SVL/EXT/FW/SEP), sorted.
    pub chains: Vec<String>,
    /// `-A ...` lines of the filter table that mention this Service.
    pub filter: Vec<String>,
    /// `-A ...` lines of the nat table: the Service's jumps in the shared chains
    /// (KUBE-SERVICES, KUBE-NODEPORTS) and every rule of its own chains.
    pub nat: Vec<String>,
}

/// Picks the lines of Service `namespace/name` out of a rendered ruleset, in the
/// canonical order of §9. A rule belongs to the Service when it is in one of the
/// Service's own chains, or when its comment key (§9) is `namespace/name`.
pub fn service_rules(
    snapshot: &Objects,
    opts: &ProxyOptions,
    rules: &Ruleset,
    namespace: &str,
    name: &str,
) -> ServiceRules {
    let ports: Vec<ServicePortInfo> = input::service_ports(snapshot, opts.family, &opts.node_name)
        .into_iter()
        .filter(|p| p.namespace == namespace && p.service == name)
        .collect();
    let mut own: Vec<String> = Vec::new();
    for p in &ports {
        let c = &p.chains;
        own.extend([c.svc.clone(), c.svl.clone(), c.ext.clone(), c.fw.clone()]);
        own.extend(p.endpoints.iter().map(|e| e.sep_chain.clone()));
    }
    let key = format!("{namespace}/{name}");
    let pick = |table: &Table| -> (Vec<String>, Vec<String>) {
        let text = {
            let mut s = String::new();
            canonical::write_canonical_table(table, &mut s);
            s
        };
        let mut chains = Vec::new();
        let mut lines = Vec::new();
        for line in text.lines() {
            if let Some(chain) = line.strip_prefix(':') {
                let chain = chain.split(' ').next().unwrap_or("");
                if own.iter().any(|c| c == chain) {
                    chains.push(chain.to_string());
                }
            } else if line.starts_with("-A ") {
                let chain = canonical::rule_chain(line);
                if own.iter().any(|c| c == chain) || canonical::comment_key(line) == key {
                    lines.push(line.to_string());
                }
            }
        }
        (chains, lines)
    };
    let (_, filter) = pick(&rules.filter);
    let (chains, nat) = pick(&rules.nat);
    ServiceRules {
        chains,
        filter,
        nat,
    }
}

/// One endpoint as chosen for a traffic policy.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EndpointChoice {
    /// `ip:port` or `[ip]:port`.
    pub endpoint: String,
    pub node_name: Option<String>,
    pub sep_chain: String,
    /// The chance that a new connection goes to this endpoint (1/n).
    pub probability: f64,
    /// The text of this endpoint's `--probability` match; `None` for the last rule.
    pub rule_probability: Option<String>,
    pub ready: bool,
    pub serving: bool,
    pub terminating: bool,
    pub is_local: bool,
}

/// Endpoint selection for one service port (§6), as plain data.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ServicePortPlan {
    pub namespace: String,
    pub service: String,
    pub port_name: String,
    /// The service-port string N (`ns/svc:port`).
    pub name: String,
    pub protocol: String,
    pub port: i32,
    pub node_port: i32,
    pub chains: ChainNames,
    /// Some endpoint is usable: without one, traffic is rejected.
    pub has_endpoints: bool,
    /// Traffic to the cluster IP: the chain it goes to and the endpoints, in rule order.
    /// Empty when internalTrafficPolicy is Local and this node has no endpoint (DROP).
    pub internal_chain: String,
    pub internal: Vec<EndpointChoice>,
    /// External traffic (node port, external IPs, load balancer): same shape.
    pub external_chain: String,
    pub external: Vec<EndpointChoice>,
    /// KUBE-SVC endpoints (cluster policy) and KUBE-SVL endpoints (local policy).
    pub cluster: Vec<EndpointChoice>,
    pub local: Vec<EndpointChoice>,
    /// Local terminating endpoints stand in because no local endpoint is ready.
    pub local_fallback: bool,
    pub session_affinity_seconds: Option<i32>,
}

/// Endpoint selection of every service port of `snapshot` (sorted by N, protocol).
pub fn service_port_plans(snapshot: &Objects, opts: &ProxyOptions) -> Vec<ServicePortPlan> {
    input::service_ports(snapshot, opts.family, &opts.node_name)
        .iter()
        .map(|sp| plan(sp, opts))
        .collect()
}

fn plan(sp: &ServicePortInfo, opts: &ProxyOptions) -> ServicePortPlan {
    let sel = endpoints::select(sp, opts);
    let choices = |list: &[usize]| -> Vec<EndpointChoice> {
        let n = list.len();
        list.iter()
            .enumerate()
            .map(|(k, &i)| {
                let ep = &sp.endpoints[i];
                EndpointChoice {
                    endpoint: ep.endpoint.clone(),
                    node_name: ep.node_name.clone(),
                    sep_chain: ep.sep_chain.clone(),
                    probability: 1.0 / n as f64,
                    rule_probability: (k + 1 < n).then(|| naming::probability_text(k, n)),
                    ready: ep.ready,
                    serving: ep.serving,
                    terminating: ep.terminating,
                    is_local: ep.is_local,
                }
            })
            .collect()
    };
    let cluster = if sp.uses_cluster_endpoints() {
        choices(&sel.cluster)
    } else {
        Vec::new()
    };
    let local = if sp.uses_local_endpoints() {
        choices(&sel.local)
    } else {
        Vec::new()
    };
    let pick = |policy_local: bool| {
        if policy_local {
            (sp.chains.svl.clone(), local.clone())
        } else {
            (sp.chains.svc.clone(), cluster.clone())
        }
    };
    let (internal_chain, internal) = pick(sp.internal_policy_local);
    let (external_chain, external) = pick(sp.external_policy_local);
    ServicePortPlan {
        namespace: sp.namespace.clone(),
        service: sp.service.clone(),
        port_name: sp.port_name.clone(),
        name: sp.name.clone(),
        protocol: sp.protocol.clone(),
        port: sp.port,
        node_port: sp.node_port,
        chains: sp.chains.clone(),
        has_endpoints: sel.has_endpoints,
        internal_chain,
        internal,
        external_chain,
        external,
        cluster,
        local,
        local_fallback: sel.local_fallback,
        session_affinity_seconds: sp.affinity_seconds,
    }
}
