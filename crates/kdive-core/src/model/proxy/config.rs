//! Proxier parameters ([`ProxyOptions`]) and the parsing of a real
//! `KubeProxyConfiguration` (kubeproxy.config.k8s.io/v1alpha1) into them.

use std::net::IpAddr;

use serde_json::Value;

use super::ip::{Cidr, IpFamily};
use super::naming::go_mark;

/// How kube-proxy decides that a packet comes from a local pod (§5.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LocalDetector {
    /// No detector: the "is local" rules are not written.
    #[default]
    None,
    /// `ClusterCIDR` or `NodeCIDR` mode: match the source address.
    Cidr(Cidr),
    /// `BridgeInterface` mode: match the input interface.
    BridgeInterface(String),
    /// `InterfaceNamePrefix` mode: match `PREFIX+`.
    InterfaceNamePrefix(String),
}

impl LocalDetector {
    /// Arguments that match local-pod traffic, or `None` when there is no detector.
    pub fn if_local(&self) -> Option<Vec<String>> {
        match self {
            LocalDetector::None => None,
            LocalDetector::Cidr(c) => Some(vec!["-s".into(), c.to_string()]),
            LocalDetector::BridgeInterface(i) => Some(vec!["-i".into(), i.clone()]),
            LocalDetector::InterfaceNamePrefix(p) => Some(vec!["-i".into(), format!("{p}+")]),
        }
    }

    /// Arguments that match traffic that is not from a local pod.
    pub fn if_not_local(&self) -> Option<Vec<String>> {
        let mut args = self.if_local()?;
        args.insert(0, "!".into());
        Some(args)
    }
}

/// Everything one proxier (one node, one IP family) needs besides the objects.
#[derive(Debug, Clone)]
pub struct ProxyOptions {
    pub family: IpFamily,
    /// The node this kube-proxy runs on; endpoints with this `nodeName` are local.
    pub node_name: String,
    /// The node's addresses; the first one is the primary node IP.
    pub node_ips: Vec<IpAddr>,
    /// The node's `topology.kubernetes.io/zone` label, for topology hints.
    pub node_zone: Option<String>,
    /// The literal mark text (`0x00004000` by default; upstream unit tests use `0x4000`).
    pub masquerade_mark: String,
    pub masquerade_all: bool,
    pub local_detector: LocalDetector,
    pub localhost_node_ports: bool,
    /// `nodePortAddresses`: CIDRs, or `primary`. Empty means every local address.
    pub node_port_addresses: Vec<String>,
    /// `conntrack.tcpBeLiberal`; when false KUBE-FORWARD drops INVALID packets.
    pub conntrack_tcp_be_liberal: bool,
    /// The iptables binary supports `--random-fully`.
    pub random_fully: bool,
    /// The nfacct counters (`localhost_nps_accepted_pkts`, `ct_state_invalid_dropped_pkts`).
    pub nfacct: bool,
    /// The `PreferSameTrafficDistribution` feature gate (node hints).
    pub prefer_same_traffic_distribution: bool,
    /// Service chains already in the nat table; the ones not rewritten are deleted (§7.3).
    pub existing_nat_chains: Vec<String>,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        Self {
            family: IpFamily::IPv4,
            node_name: String::new(),
            node_ips: Vec::new(),
            node_zone: None,
            masquerade_mark: go_mark(14),
            masquerade_all: false,
            local_detector: LocalDetector::None,
            localhost_node_ports: true,
            node_port_addresses: Vec::new(),
            conntrack_tcp_be_liberal: false,
            random_fully: false,
            nfacct: true,
            prefer_same_traffic_distribution: true,
            existing_nat_chains: Vec::new(),
        }
    }
}

impl ProxyOptions {
    /// The node-port address CIDRs of this family (`primary` becomes the primary node IP).
    pub fn node_port_cidrs(&self) -> Vec<Cidr> {
        let mut out = Vec::new();
        for entry in &self.node_port_addresses {
            if entry == "primary" {
                if let Some(ip) = self.primary_ip() {
                    out.push(Cidr::new(ip, self.family.max_prefix()));
                }
            } else if let Some(c) = Cidr::parse_sloppy(entry.trim())
                && c.family() == self.family
            {
                out.push(c);
            }
        }
        out
    }

    /// True when node ports are accepted on every local address.
    pub fn node_ports_match_all(&self) -> bool {
        let cidrs = self.node_port_cidrs();
        cidrs.is_empty() || cidrs.iter().any(Cidr::is_zero)
    }

    /// The localhost node-port rules are written only for IPv4, and only when the node-port
    /// addresses include loopback (kube-proxy turns the option off otherwise).
    pub fn localhost_node_ports_effective(&self) -> bool {
        if !self.localhost_node_ports || self.family != IpFamily::IPv4 {
            return false;
        }
        let loopback: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        self.node_ports_match_all() || self.node_port_cidrs().iter().any(|c| c.contains(&loopback))
    }

    pub fn primary_ip(&self) -> Option<IpAddr> {
        self.node_ips
            .iter()
            .find(|ip| IpFamily::of(ip) == self.family)
            .copied()
    }
}

/// The fields of a `KubeProxyConfiguration` that change the iptables rules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KubeProxyConfig {
    /// `clusterCIDR`, split on commas.
    pub cluster_cidrs: Vec<String>,
    /// `detectLocalMode` (`ClusterCIDR` when empty).
    pub detect_local_mode: String,
    pub bridge_interface: String,
    pub interface_name_prefix: String,
    pub masquerade_all: bool,
    pub masquerade_bit: u32,
    pub localhost_node_ports: bool,
    pub node_port_addresses: Vec<String>,
    pub tcp_be_liberal: bool,
    /// `hostnameOverride`, the node name kube-proxy uses.
    pub hostname_override: String,
    /// `mode`; only `iptables` (or empty) is rendered.
    pub mode: String,
}

/// Why a KubeProxyConfiguration could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("not a KubeProxyConfiguration (kind {kind:?}, apiVersion {api_version:?})")]
    WrongKind { kind: String, api_version: String },
    #[error("{field}: {message}")]
    Field { field: String, message: String },
}

fn field_err(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field: field.to_string(),
        message: message.into(),
    }
}

impl KubeProxyConfig {
    /// Reads the decoded document (YAML or JSON, as a serde value). Missing fields take
    /// kube-proxy's defaults: masqueradeBit 14, localhostNodePorts true.
    pub fn from_value(doc: &Value) -> Result<Self, ConfigError> {
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
        let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if kind != "KubeProxyConfiguration" || !api_version.starts_with("kubeproxy.config.k8s.io/")
        {
            return Err(ConfigError::WrongKind {
                kind: kind.into(),
                api_version: api_version.into(),
            });
        }
        let string = |path: &str| -> Result<String, ConfigError> {
            match doc.pointer(path) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(field_err(&dotted(path), "expected a string")),
            }
        };
        let boolean = |path: &str, default: bool| -> Result<bool, ConfigError> {
            match doc.pointer(path) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(field_err(&dotted(path), "expected true or false")),
            }
        };
        let masquerade_bit =
            match doc.pointer("/iptables/masqueradeBit") {
                None | Some(Value::Null) => 14,
                Some(v) => v.as_u64().filter(|b| *b <= 31).ok_or_else(|| {
                    field_err("iptables.masqueradeBit", "expected an integer 0..31")
                })? as u32,
            };
        let node_port_addresses = match doc.get("nodePortAddresses") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    let s = v.as_str().ok_or_else(|| {
                        field_err("nodePortAddresses", "expected a list of strings")
                    })?;
                    if s != "primary" && Cidr::parse_sloppy(s.trim()).is_none() {
                        return Err(field_err(
                            "nodePortAddresses",
                            format!("{s:?} is not a CIDR or \"primary\""),
                        ));
                    }
                    Ok(s.to_string())
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(field_err("nodePortAddresses", "expected a list")),
        };
        let cluster_cidrs: Vec<String> = string("/clusterCIDR")?
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        for c in &cluster_cidrs {
            if Cidr::parse_sloppy(c).is_none() {
                return Err(field_err("clusterCIDR", format!("{c:?} is not a CIDR")));
            }
        }
        let detect_local_mode = string("/detectLocalMode")?;
        if !matches!(
            detect_local_mode.as_str(),
            "" | "ClusterCIDR" | "NodeCIDR" | "BridgeInterface" | "InterfaceNamePrefix"
        ) {
            return Err(field_err(
                "detectLocalMode",
                format!("unknown mode {detect_local_mode:?}"),
            ));
        }
        Ok(Self {
            cluster_cidrs,
            detect_local_mode,
            bridge_interface: string("/detectLocal/bridgeInterface")?,
            interface_name_prefix: string("/detectLocal/interfaceNamePrefix")?,
            masquerade_all: boolean("/iptables/masqueradeAll", false)?,
            masquerade_bit,
            localhost_node_ports: boolean("/iptables/localhostNodePorts", true)?,
            node_port_addresses,
            tcp_be_liberal: boolean("/conntrack/tcpBeLiberal", false)?,
            hostname_override: string("/hostnameOverride")?,
            mode: string("/mode")?,
        })
    }

    /// Applies the configuration to `opts` for `opts.family`. `node_pod_cidrs` are the
    /// Node's `spec.podCIDRs`, used by `detectLocalMode: NodeCIDR`.
    pub fn apply(&self, opts: &mut ProxyOptions, node_pod_cidrs: &[String]) {
        let family = opts.family;
        let pick = |list: &[String]| {
            list.iter()
                .filter_map(|c| Cidr::parse_sloppy(c.trim()))
                .find(|c| c.family() == family)
        };
        opts.local_detector = match self.detect_local_mode.as_str() {
            "NodeCIDR" => pick(node_pod_cidrs).map_or(LocalDetector::None, LocalDetector::Cidr),
            "BridgeInterface" if !self.bridge_interface.is_empty() => {
                LocalDetector::BridgeInterface(self.bridge_interface.clone())
            }
            "InterfaceNamePrefix" if !self.interface_name_prefix.is_empty() => {
                LocalDetector::InterfaceNamePrefix(self.interface_name_prefix.clone())
            }
            "BridgeInterface" | "InterfaceNamePrefix" => LocalDetector::None,
            _ => pick(&self.cluster_cidrs).map_or(LocalDetector::None, LocalDetector::Cidr),
        };
        opts.masquerade_all = self.masquerade_all;
        opts.masquerade_mark = go_mark(self.masquerade_bit);
        opts.localhost_node_ports = self.localhost_node_ports;
        opts.node_port_addresses = self.node_port_addresses.clone();
        opts.conntrack_tcp_be_liberal = self.tcp_be_liberal;
        if !self.hostname_override.is_empty() && opts.node_name.is_empty() {
            opts.node_name = self.hostname_override.clone();
        }
    }
}

fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(json: &str) -> Result<KubeProxyConfig, ConfigError> {
        KubeProxyConfig::from_value(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn defaults_and_fields() {
        let c = cfg(
            r#"{"apiVersion":"kubeproxy.config.k8s.io/v1alpha1","kind":"KubeProxyConfiguration"}"#,
        )
        .unwrap();
        assert_eq!(c.masquerade_bit, 14);
        assert!(c.localhost_node_ports);
        let c = cfg(r#"{"apiVersion":"kubeproxy.config.k8s.io/v1alpha1","kind":"KubeProxyConfiguration",
            "clusterCIDR":"10.0.0.0/8,fd00:10::/64","iptables":{"masqueradeAll":true,"masqueradeBit":15,
            "localhostNodePorts":false},"conntrack":{"tcpBeLiberal":true},"nodePortAddresses":["192.168.0.0/16"]}"#)
            .unwrap();
        let mut o = ProxyOptions::default();
        c.apply(&mut o, &[]);
        assert_eq!(o.masquerade_mark, "0x00008000");
        assert!(o.masquerade_all && o.conntrack_tcp_be_liberal && !o.localhost_node_ports);
        assert_eq!(
            o.local_detector.if_not_local().unwrap().join(" "),
            "! -s 10.0.0.0/8"
        );
        o.family = IpFamily::IPv6;
        c.apply(&mut o, &[]);
        assert_eq!(
            o.local_detector.if_local().unwrap().join(" "),
            "-s fd00:10::/64"
        );
    }

    #[test]
    fn errors_name_the_field() {
        let e = cfg(
            r#"{"apiVersion":"kubeproxy.config.k8s.io/v1alpha1","kind":"KubeProxyConfiguration",
            "iptables":{"masqueradeBit":40}}"#,
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "iptables.masqueradeBit: expected an integer 0..31"
        );
        let e = cfg(r#"{"apiVersion":"v1","kind":"ConfigMap"}"#).unwrap_err();
        assert!(matches!(e, ConfigError::WrongKind { .. }));
        let e = cfg(
            r#"{"apiVersion":"kubeproxy.config.k8s.io/v1alpha1","kind":"KubeProxyConfiguration",
            "clusterCIDR":"10.0.0.0/99"}"#,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("clusterCIDR:"), "{e}");
    }
}
