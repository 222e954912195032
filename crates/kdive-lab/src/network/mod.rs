//! The lab's data plane: a kube-proxy per Node, simulated client traffic routed the way
//! those proxies' rules route it, and the metrics a Prometheus would scrape.
//!
//! Each node's proxy keeps the routing table of its last sync ([`proxy`]), so between an
//! EndpointSlice change and the next sync traffic still goes to the old endpoints: a pod
//! that stops serving before its endpoint is removed produces errors, as on a real cluster.
//!
//! Requests are reported as a mesh sidecar or ingress in front of the app would report
//! them (`http_requests_total`, `http_request_duration_seconds`): the app's own status
//! when it answers; `503` when the connection is refused, reset without an answer, or the
//! Service has no endpoints (kube-proxy's REJECT); `504` when nothing answers within
//! `timeoutSeconds` (dropped by a Local policy, sent to an IP no pod owns any more, or an
//! app slower than the timeout). `pod` is the upstream pod when one was picked, else `""`.
//! `job` is the Service name, as the ServiceMonitor relabelling of kube-prometheus-stack
//! sets it.
//!
//! Simplifications: every node's proxy syncs at the same moment (they see the same changes
//! and share one configuration); the `kube-proxy` ConfigMap is re-read at each sync (a real
//! kube-proxy reads it at start); only TCP service ports are routed; a headless Service has
//! no rules, so its traffic counts as "no endpoints" (real clients would dial the pod IPs
//! DNS returns); preStop hooks are not simulated (SIGTERM at the delete request).

pub mod pods;
pub mod proxy;
pub mod scrape;
mod scrape_ksm;
pub mod traffic;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_scrape;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

use crate::controllers::ControlPlane;
use crate::resources::{ResourceId, lookup};
use crate::sim::process::unit_random;
use crate::store::{Event, EventType, Store};
use kdive_core::model::Objects;
use pods::PodCache;
use proxy::{NodeProxy, Pick, ProxySettings, SyncSchedule};
use traffic::{Answer, RateAccumulator, RequestLabels, TrafficSpec};

/// How often (wall clock) traffic tasks send their batch.
const TICK: Duration = Duration::from_millis(100);

/// The data plane's shared state.
pub struct Network {
    pub cp: Arc<ControlPlane>,
    proxies: RwLock<BTreeMap<String, Arc<NodeProxy>>>,
    pods: Mutex<PodCache>,
    scrape: scrape::ScrapeState,
}

fn res(group: &str, plural: &str) -> Option<ResourceId> {
    lookup(group, "v1", plural)
}

fn list_typed<T: serde::de::DeserializeOwned>(store: &Store, r: Option<ResourceId>) -> Vec<T> {
    let Some(r) = r else { return Vec::new() };
    store
        .list(r, None)
        .1
        .iter()
        .filter_map(|s| serde_json::from_slice(&s.json).ok())
        .collect()
}

fn shared<T>(items: Vec<T>) -> Vec<Arc<T>> {
    items.into_iter().map(Arc::new).collect()
}

impl Network {
    pub fn new(cp: Arc<ControlPlane>) -> Arc<Network> {
        Arc::new(Network {
            cp,
            proxies: RwLock::new(BTreeMap::new()),
            pods: Mutex::new(PodCache::default()),
            scrape: scrape::ScrapeState::default(),
        })
    }

    /// A node's kube-proxy as of its last sync.
    pub fn node_proxy(&self, node: &str) -> Option<Arc<NodeProxy>> {
        self.proxies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(node)
            .cloned()
    }

    /// "Rules on node X as of T": the iptables-save text of the node's last sync.
    pub fn rules(&self, node: &str) -> Option<(DateTime<Utc>, String)> {
        let p = self.node_proxy(node)?;
        Some((p.synced_at, p.iptables_save().to_string()))
    }

    /// The `/metrics` text as of now.
    pub fn metrics_text(&self) -> String {
        let cp = &self.cp;
        scrape::render(&cp.store, &cp.metrics, &cp.catalog, cp.seed, &self.scrape)
    }

    /// The kube-proxy settings from `kube-system/kube-proxy`; defaults when absent or
    /// unreadable (a real kube-proxy would refuse to start; the lab keeps routing).
    pub fn settings(&self) -> ProxySettings {
        let store = &self.cp.store;
        let Some(cm) =
            res("", "configmaps").and_then(|r| store.get(r, "kube-system", "kube-proxy"))
        else {
            return ProxySettings::default();
        };
        ProxySettings::from_config_map(&cm.value()).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "kube-system/kube-proxy ConfigMap ignored");
            ProxySettings::default()
        })
    }

    /// Syncs every node's proxy from the store as it is now.
    pub fn sync_all(&self, settings: &ProxySettings, at: DateTime<Utc>) {
        let store = &self.cp.store;
        let snapshot = Arc::new(Objects {
            services: shared(list_typed::<Service>(store, res("", "services"))),
            endpoint_slices: shared(list_typed::<EndpointSlice>(
                store,
                res("discovery.k8s.io", "endpointslices"),
            )),
            ..Objects::default()
        });
        let nodes: Vec<Node> = list_typed(store, res("", "nodes"));
        let synced: BTreeMap<String, Arc<NodeProxy>> = nodes
            .iter()
            .map(|n| {
                let p = NodeProxy::sync(&snapshot, n, settings.config.as_ref(), at);
                (p.node.clone(), Arc::new(p))
            })
            .collect();
        *self.proxies.write().unwrap_or_else(|p| p.into_inner()) = synced;
    }

    /// Sends `count` requests of `spec` at `now` and records them. `next_key` numbers
    /// requests (routing and error-rate draws are functions of it).
    pub fn send_batch(&self, run: &mut TrafficRun, count: u64, now: DateTime<Utc>) {
        let spec = &run.spec.clone();
        let proxies = self
            .proxies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let sources: Vec<&Arc<NodeProxy>> = match &spec.from_node {
            Some(n) => proxies.get(n).into_iter().collect(),
            None => proxies.values().collect(),
        };
        if sources.is_empty() {
            return;
        }
        let mut pods = self.pods.lock().unwrap_or_else(|p| p.into_inner());
        pods.refresh(&self.cp.store);
        let mut tally: HashMap<(String, String, AnswerKey), (Answer, u64)> = HashMap::new();
        for _ in 0..count {
            let key = run.next_key;
            run.next_key += 1;
            let u_node = unit_random(run.seed, key.wrapping_mul(3));
            let node = sources[((u_node * sources.len() as f64) as usize).min(sources.len() - 1)];
            let (answer, pod, container) =
                match node
                    .table
                    .route(&spec.namespace, &spec.service, spec.port.as_ref())
                {
                    None => (Answer::NoEndpoints, String::new(), String::new()),
                    Some(route) => {
                        let sticky = run.affinity(&node.node, route, now);
                        let pick = match sticky {
                            Some(i) => Pick::Endpoint(&route.targets[i]),
                            None => route.pick(unit_random(run.seed, key.wrapping_mul(3) + 1)),
                        };
                        match pick {
                            Pick::NoEndpoints => {
                                (Answer::NoEndpoints, String::new(), String::new())
                            }
                            Pick::Dropped => (Answer::Timeout, String::new(), String::new()),
                            Pick::Endpoint(t) => {
                                run.remember(&node.node, route, t, now);
                                let pod = pods.by_ip(&t.ip);
                                let (answer, container) = traffic::ask_pod(
                                    pod.as_deref(),
                                    t.port,
                                    spec,
                                    &self.cp.catalog,
                                    self.cp.seed,
                                    key,
                                    now,
                                );
                                let name = pod.map(|p| p.name.clone()).unwrap_or_default();
                                (answer, name, container)
                            }
                        }
                    }
                };
            tally
                .entry((pod, container, AnswerKey::of(&answer)))
                .or_insert((answer, 0))
                .1 += 1;
        }
        drop(pods);
        for ((pod, container, _), (answer, n)) in tally {
            let labels = RequestLabels {
                spec,
                pod: &pod,
                container: &container,
            };
            traffic::record(&self.cp.metrics, &labels, &answer, n);
        }
    }
}

/// Groups equal answers (latencies compared bit for bit).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct AnswerKey(u16, u64);

impl AnswerKey {
    fn of(a: &Answer) -> AnswerKey {
        let (code, d) = a.code_and_duration(0.0);
        let variant = match a {
            Answer::Status { .. } => 0,
            Answer::Refused => 1,
            Answer::Reset => 2,
            Answer::NoEndpoints => 3,
            Answer::Timeout => 4,
        };
        AnswerKey(code * 8 + variant, d.to_bits())
    }
}

/// The running state of one traffic spec.
pub struct TrafficRun {
    pub spec: TrafficSpec,
    pub seed: u64,
    pub next_key: u64,
    pub rate: RateAccumulator,
    /// sessionAffinity ClientIP: one client per source node; (node, service port) →
    /// (endpoint ip, port, last used).
    sticky: HashMap<StickyKey, (String, i32, DateTime<Utc>)>,
}

/// Source node, `namespace/service`, service port.
type StickyKey = (String, String, i32);

impl TrafficRun {
    pub fn new(spec: TrafficSpec, lab_seed: u64) -> TrafficRun {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in spec
            .namespace
            .bytes()
            .chain([b'/'])
            .chain(spec.name.bytes())
        {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        TrafficRun {
            rate: RateAccumulator::new(spec.rate_per_second),
            spec,
            seed: lab_seed ^ h,
            next_key: 0,
            sticky: HashMap::new(),
        }
    }

    fn sticky_key(node: &str, route: &proxy::Route) -> StickyKey {
        (
            node.to_string(),
            format!("{}/{}", route.namespace, route.service),
            route.port,
        )
    }

    /// The remembered endpoint under ClientIP affinity, if still routed and not expired.
    fn affinity(&self, node: &str, route: &proxy::Route, now: DateTime<Utc>) -> Option<usize> {
        let secs = route.affinity_seconds?;
        let (ip, port, last) = self.sticky.get(&Self::sticky_key(node, route))?;
        if now - *last > chrono::Duration::seconds(i64::from(secs)) {
            return None;
        }
        route
            .targets
            .iter()
            .position(|t| &t.ip == ip && t.port == *port)
    }

    fn remember(
        &mut self,
        node: &str,
        route: &proxy::Route,
        t: &proxy::Target,
        now: DateTime<Utc>,
    ) {
        if route.affinity_seconds.is_some() {
            self.sticky
                .insert(Self::sticky_key(node, route), (t.ip.clone(), t.port, now));
        }
    }
}

/// Whether a store event can change what kube-proxy renders.
fn proxy_relevant(e: &Event) -> bool {
    let is = |r: Option<ResourceId>| r == Some(e.resource);
    if is(res("", "services")) || is(res("discovery.k8s.io", "endpointslices")) {
        return true;
    }
    if is(res("", "nodes")) {
        // Heartbeats change only status; names, addresses and zone labels matter.
        return e.kind != EventType::Modified
            || e.prev.as_ref().is_none_or(|p| p.labels != e.object.labels);
    }
    is(res("", "configmaps")) && e.namespace == "kube-system" && e.name == "kube-proxy"
}

/// Starts the data plane: kube-proxies and one task per traffic spec. They stop when
/// `stop` changes.
pub fn start(
    cp: &Arc<ControlPlane>,
    traffic: Vec<TrafficSpec>,
    stop: &watch::Sender<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    start_network(cp, traffic, stop).1
}

/// [`start`], also returning the shared state (rules per node, metrics text).
pub fn start_network(
    cp: &Arc<ControlPlane>,
    traffic: Vec<TrafficSpec>,
    stop: &watch::Sender<bool>,
) -> (Arc<Network>, Vec<tokio::task::JoinHandle<()>>) {
    let net = Network::new(cp.clone());
    let mut tasks = vec![tokio::spawn(run_proxies(net.clone(), stop.subscribe()))];
    for spec in traffic {
        let run = TrafficRun::new(spec, cp.seed);
        tasks.push(tokio::spawn(run_traffic(
            net.clone(),
            run,
            stop.subscribe(),
        )));
    }
    (net, tasks)
}

async fn run_proxies(net: Arc<Network>, mut stop: watch::Receiver<bool>) {
    let store = net.cp.store.clone();
    let (_, mut events) = store.subscribe();
    let mut schedule = SyncSchedule::default();
    let mut settings = net.settings();
    loop {
        let wait = store.clock().real_until(schedule.next(&settings));
        tokio::select! {
            received = events.recv() => match received {
                Ok(e) if proxy_relevant(&e) => schedule.changed(),
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => schedule.changed(),
                Err(RecvError::Closed) => return,
            },
            _ = tokio::time::sleep(wait) => {
                settings = net.settings();
                let now = store.now();
                // Rendering plans for every node is the heaviest step: off the runtime.
                let (n, s) = (net.clone(), settings.clone());
                let _ = tokio::task::spawn_blocking(move || n.sync_all(&s, now)).await;
                schedule.synced(now);
            }
            _ = stop.changed() => return,
        }
    }
}

async fn run_traffic(net: Arc<Network>, mut run: TrafficRun, mut stop: watch::Receiver<bool>) {
    let store = net.cp.store.clone();
    let mut last = store.now();
    // At most five seconds of requests per tick, so a stalled task does not burst.
    let cap = (run.spec.rate_per_second * 5.0).ceil() as u64 + 1;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => return,
        }
        let now = store.now();
        let elapsed = (now - last).num_microseconds().unwrap_or(0) as f64 / 1e6;
        last = now;
        let due = run.rate.due(elapsed, cap);
        if due > 0 {
            net.send_batch(&mut run, due, now);
        }
    }
}
