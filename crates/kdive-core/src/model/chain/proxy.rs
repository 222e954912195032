//! The kube-proxy part of a chain: options for one node, then the Service's own rules
//! and endpoint selection, both from `model::proxy` (never re-derived here).

use std::net::IpAddr;

use serde::Serialize;

use crate::model::Objects;
use crate::model::proxy::{
    self, IpFamily, KubeProxyConfig, ProxyOptions, ServicePortPlan, ServiceRules,
};

/// The node whose kube-proxy is shown, and how its options were found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProxyNode {
    /// `""` when the snapshot has no Node: every endpoint then counts as remote.
    pub name: String,
    pub family: IpFamily,
    /// `"configmap kube-system/kube-proxy"` or `"defaults"`.
    pub config: String,
    pub notes: Vec<String>,
}

/// kube-proxy's options for `node` (default: the first Node by name) and `family`,
/// from the Node object and the kube-proxy ConfigMap when the snapshot has them.
pub fn options_for(
    snap: &Objects,
    node: Option<&str>,
    family: IpFamily,
) -> (ProxyOptions, ProxyNode) {
    let mut notes = Vec::new();
    let mut names: Vec<&str> = snap
        .nodes
        .iter()
        .filter_map(|n| n.metadata.name.as_deref())
        .collect();
    names.sort();
    let name = match node {
        Some(n) => {
            if !names.contains(&n) {
                notes.push(format!(
                    "node {n} is not in the snapshot: its IPs and zone are unknown"
                ));
            }
            n.to_string()
        }
        None => match names.first() {
            Some(n) => {
                notes.push(format!(
                    "showing node {n}'s kube-proxy (pass a node to choose another)"
                ));
                n.to_string()
            }
            None => {
                notes.push("no Node objects: every endpoint counts as remote".into());
                String::new()
            }
        },
    };
    let node_obj = snap
        .nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(name.as_str()));
    let node_ips: Vec<IpAddr> = node_obj
        .and_then(|n| n.status.as_ref())
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
        .filter(|a| a.type_ == "InternalIP" || a.type_ == "ExternalIP")
        .filter_map(|a| a.address.parse().ok())
        .collect();
    let pod_cidrs: Vec<String> = node_obj
        .and_then(|n| n.spec.as_ref())
        .map(|s| {
            s.pod_cidrs
                .clone()
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| s.pod_cidr.iter().cloned().collect())
        })
        .unwrap_or_default();
    let mut opts = ProxyOptions {
        family,
        node_name: name.clone(),
        node_ips,
        node_zone: node_obj
            .and_then(|n| n.metadata.labels.as_ref())
            .and_then(|l| l.get("topology.kubernetes.io/zone").cloned()),
        ..ProxyOptions::default()
    };
    let mut config = "defaults".to_string();
    let cm = snap.config_maps.iter().find(|c| {
        c.metadata.namespace.as_deref() == Some("kube-system")
            && c.metadata.name.as_deref() == Some("kube-proxy")
    });
    if let Some(text) = cm
        .and_then(|c| c.data.as_ref())
        .and_then(|d| d.get("config.conf"))
    {
        let parsed = serde_saphyr::from_str::<serde_json::Value>(text)
            .map_err(|e| e.to_string())
            .and_then(|v| KubeProxyConfig::from_value(&v).map_err(|e| e.to_string()));
        match parsed {
            Ok(cfg) => {
                cfg.apply(&mut opts, &pod_cidrs);
                config = "configmap kube-system/kube-proxy".into();
            }
            Err(e) => notes.push(format!(
                "ConfigMap kube-system/kube-proxy config.conf is not usable ({e}); using kube-proxy defaults"
            )),
        }
    }
    (
        opts,
        ProxyNode {
            name,
            family,
            config,
            notes,
        },
    )
}

/// The family a Service's rules are shown for: its first cluster IP's.
pub fn family_of(cluster_ips: &[String]) -> IpFamily {
    cluster_ips
        .first()
        .and_then(|ip| ip.parse::<IpAddr>().ok())
        .map_or(IpFamily::IPv4, |ip| IpFamily::of(&ip))
}

/// Endpoint selection and rules of Service `ns/name` on the chosen node.
pub fn service_proxy(
    snap: &Objects,
    opts: &ProxyOptions,
    ns: &str,
    name: &str,
) -> (Vec<ServicePortPlan>, ServiceRules) {
    let plans: Vec<ServicePortPlan> = proxy::service_port_plans(snap, opts)
        .into_iter()
        .filter(|p| p.namespace == ns && p.service == name)
        .collect();
    let rules = proxy::render(snap, opts);
    let mine = proxy::service_rules(snap, opts, &rules, ns, name);
    (plans, mine)
}
