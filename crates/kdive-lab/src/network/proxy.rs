//! kube-proxy, one per Node: the routing table its iptables rules encode as of its last sync.
//!
//! The table is derived from the same endpoint selection the iptables renderer uses
//! ([`service_port_plans`]), so simulated traffic goes exactly where the rules send it:
//! ready endpoints, serving-terminating ones when none is ready, node-local endpoints for
//! `internalTrafficPolicy: Local`, topology hints. Syncs follow kube-proxy's
//! BoundedFrequencyRunner: a change triggers a sync, but no sooner than `minSyncPeriod`
//! after the previous one, and a full resync runs every `syncPeriod` regardless.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Node;
use serde_json::Value;

use kdive_core::model::Objects;
use kdive_core::model::proxy::{
    self, KubeProxyConfig, ProxyOptions, ServicePortPlan, TableSel, service_port_plans,
};

/// kube-proxy's defaults (`iptables.minSyncPeriod`, `iptables.syncPeriod`).
pub const DEFAULT_MIN_SYNC: Duration = Duration::from_secs(1);
pub const DEFAULT_SYNC: Duration = Duration::from_secs(30);

/// What the `kube-system/kube-proxy` ConfigMap (key `config.conf`) says.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxySettings {
    pub config: Option<KubeProxyConfig>,
    pub min_sync: Duration,
    pub sync: Duration,
}

impl Default for ProxySettings {
    fn default() -> Self {
        ProxySettings {
            config: None,
            min_sync: DEFAULT_MIN_SYNC,
            sync: DEFAULT_SYNC,
        }
    }
}

impl ProxySettings {
    /// Reads the ConfigMap object; errors name the field (`config.conf: iptables.syncPeriod: …`).
    pub fn from_config_map(cm: &Value) -> Result<ProxySettings, String> {
        let Some(text) = cm.pointer("/data/config.conf").and_then(Value::as_str) else {
            return Ok(ProxySettings::default());
        };
        let doc: Value = serde_saphyr::from_str(text)
            .map_err(|e| format!("config.conf: not a YAML document: {e}"))?;
        let config = KubeProxyConfig::from_value(&doc).map_err(|e| format!("config.conf: {e}"))?;
        let period = |key: &str, default: Duration| -> Result<Duration, String> {
            match doc.pointer(&format!("/iptables/{key}")) {
                None | Some(Value::Null) => Ok(default),
                Some(Value::String(s)) => parse_go_duration(s).ok_or_else(|| {
                    format!("config.conf: iptables.{key}: {s:?} is not a duration like \"1s\"")
                }),
                Some(_) => Err(format!(
                    "config.conf: iptables.{key}: expected a duration string"
                )),
            }
        };
        let sync = period("syncPeriod", DEFAULT_SYNC)?;
        let min_sync = period("minSyncPeriod", DEFAULT_MIN_SYNC)?;
        Ok(ProxySettings {
            config: Some(config),
            min_sync,
            // A zero syncPeriod is rejected by kube-proxy's validation; keep the default.
            sync: if sync.is_zero() { DEFAULT_SYNC } else { sync },
        })
    }
}

/// Go's `time.ParseDuration` for the units a config uses (`h`, `m`, `s`, `ms`, `us`, `ns`).
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    if s == "0" {
        return Some(Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0.0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_len == 0 {
            return None;
        }
        let n: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "us" | "µs" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += n * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).ok()
}

/// When the next sync is due (one schedule for every node: they all watch the same objects
/// and share the configuration, so they sync together).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncSchedule {
    pub last: Option<DateTime<Utc>>,
    /// A change arrived since the last sync.
    pub pending: bool,
}

impl SyncSchedule {
    pub fn changed(&mut self) {
        self.pending = true;
    }

    pub fn synced(&mut self, at: DateTime<Utc>) {
        self.last = Some(at);
        self.pending = false;
    }

    /// The simulated time of the next sync: at once for the first, `minSyncPeriod` after
    /// the last for a change, `syncPeriod` after the last otherwise.
    pub fn next(&self, settings: &ProxySettings) -> DateTime<Utc> {
        let Some(last) = self.last else {
            return DateTime::<Utc>::MIN_UTC;
        };
        let after = if self.pending {
            settings.min_sync
        } else {
            settings.sync
        };
        last + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX)
    }
}

/// One endpoint a service port sends to.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub ip: String,
    pub port: i32,
    pub node: Option<String>,
    /// The KUBE-SEP chain that DNATs to it.
    pub sep_chain: String,
}

/// One service port as this node's rules route cluster-IP traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub namespace: String,
    pub service: String,
    pub port_name: String,
    pub port: i32,
    /// Lower-case (`tcp`).
    pub protocol: String,
    /// False: KUBE-SERVICES rejects ("has no endpoints").
    pub has_endpoints: bool,
    /// KUBE-SVC or KUBE-SVL chain of cluster-IP traffic.
    pub chain: String,
    /// In rule order; empty with `has_endpoints` means DROP (Local policy, none local).
    pub targets: Vec<Target>,
    pub affinity_seconds: Option<i32>,
}

/// Where a new connection to a service port goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Pick<'a> {
    Endpoint(&'a Target),
    /// REJECT: the client sees connection refused at once.
    NoEndpoints,
    /// DROP: nothing answers; the client times out.
    Dropped,
}

impl Route {
    fn from_plan(p: &ServicePortPlan) -> Route {
        Route {
            namespace: p.namespace.clone(),
            service: p.service.clone(),
            port_name: p.port_name.clone(),
            port: p.port,
            protocol: p.protocol.clone(),
            has_endpoints: p.has_endpoints,
            chain: p.internal_chain.clone(),
            targets: p
                .internal
                .iter()
                .filter_map(|c| {
                    let (ip, port) = split_endpoint(&c.endpoint)?;
                    Some(Target {
                        ip,
                        port,
                        node: c.node_name.clone(),
                        sep_chain: c.sep_chain.clone(),
                    })
                })
                .collect(),
            affinity_seconds: p.session_affinity_seconds,
        }
    }

    /// The rules' choice for a uniform draw `u` in [0, 1): rule k matches with probability
    /// 1/(n-k) given the earlier ones did not, which is a uniform pick overall.
    pub fn pick(&self, u: f64) -> Pick<'_> {
        if !self.has_endpoints {
            return Pick::NoEndpoints;
        }
        let n = self.targets.len();
        if n == 0 {
            return Pick::Dropped;
        }
        let i = ((u.clamp(0.0, 1.0) * n as f64) as usize).min(n - 1);
        Pick::Endpoint(&self.targets[i])
    }
}

/// `ip:port` or `[ip]:port` into its parts.
fn split_endpoint(ep: &str) -> Option<(String, i32)> {
    let (ip, port) = ep.rsplit_once(':')?;
    let ip = ip.trim_start_matches('[').trim_end_matches(']');
    Some((ip.to_string(), port.parse().ok()?))
}

/// A port of a Service as a client names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortRef {
    Number(i32),
    Name(String),
}

/// A node's routing table: service ports keyed by namespace and Service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoutingTable {
    pub routes: BTreeMap<(String, String), Vec<Route>>,
}

impl RoutingTable {
    pub fn from_plans(plans: &[ServicePortPlan]) -> RoutingTable {
        let mut routes: BTreeMap<(String, String), Vec<Route>> = BTreeMap::new();
        for p in plans.iter().filter(|p| p.protocol == "tcp") {
            routes
                .entry((p.namespace.clone(), p.service.clone()))
                .or_default()
                .push(Route::from_plan(p));
        }
        RoutingTable { routes }
    }

    /// The route of a service port; `None` port means the Service's first port.
    pub fn route(&self, namespace: &str, service: &str, port: Option<&PortRef>) -> Option<&Route> {
        let list = self
            .routes
            .get(&(namespace.to_string(), service.to_string()))?;
        match port {
            None => list.first(),
            Some(PortRef::Number(n)) => list.iter().find(|r| r.port == *n),
            Some(PortRef::Name(name)) => list.iter().find(|r| &r.port_name == name),
        }
    }
}

/// One node's kube-proxy as of its last sync.
#[derive(Debug)]
pub struct NodeProxy {
    pub node: String,
    pub synced_at: DateTime<Utc>,
    pub table: RoutingTable,
    snapshot: Arc<Objects>,
    opts: ProxyOptions,
    rules: OnceLock<String>,
}

impl NodeProxy {
    /// Syncs a node's proxy from the Services and EndpointSlices of `snapshot`.
    pub fn sync(
        snapshot: &Arc<Objects>,
        node: &Node,
        config: Option<&KubeProxyConfig>,
        at: DateTime<Utc>,
    ) -> NodeProxy {
        let opts = node_options(node, config);
        let plans = service_port_plans(snapshot, &opts);
        NodeProxy {
            node: opts.node_name.clone(),
            synced_at: at,
            table: RoutingTable::from_plans(&plans),
            snapshot: snapshot.clone(),
            opts,
            rules: OnceLock::new(),
        }
    }

    /// What `iptables-save` on this node printed after the last sync (rendered on first
    /// use: most syncs are never looked at).
    pub fn iptables_save(&self) -> &str {
        self.rules.get_or_init(|| {
            let rules = proxy::render(&self.snapshot, &self.opts);
            proxy::save::save_text(&rules, TableSel::All, &self.opts)
        })
    }
}

/// The proxier options of one node: its name, InternalIP, zone and podCIDRs, plus the
/// configuration.
pub fn node_options(node: &Node, config: Option<&KubeProxyConfig>) -> ProxyOptions {
    let name = node.metadata.name.clone().unwrap_or_default();
    let node_ips: Vec<IpAddr> = node
        .status
        .as_ref()
        .and_then(|s| s.addresses.as_ref())
        .into_iter()
        .flatten()
        .filter(|a| a.type_ == "InternalIP")
        .filter_map(|a| a.address.parse().ok())
        .collect();
    let zone = node
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get("topology.kubernetes.io/zone"))
        .cloned();
    let mut opts = ProxyOptions {
        node_name: name,
        node_ips,
        node_zone: zone,
        ..ProxyOptions::default()
    };
    if let Some(c) = config {
        let cidrs: Vec<String> = node
            .spec
            .as_ref()
            .and_then(|s| {
                s.pod_cidrs
                    .clone()
                    .or_else(|| s.pod_cidr.clone().map(|c| vec![c]))
            })
            .unwrap_or_default();
        c.apply(&mut opts, &cidrs);
    }
    opts
}
