//! What the data plane needs to know about a pod: its IP, and for each container the spec
//! and when the running incarnation started, plus when deletion stops it. Parsed once per
//! pod version and indexed by IP.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::resources::{ResourceId, lookup};
use crate::sim::catalog::Catalog;
use crate::sim::process::Process;
use crate::store::Store;

/// kubelet gives at least this grace (see `sim::kubelet`).
const MIN_GRACE_SECONDS: i64 = 2;

/// One container as the data plane sees it.
#[derive(Debug, Clone)]
pub struct ContainerView {
    pub spec: Container,
    /// `state.running.startedAt`; `None` when not running.
    pub started_at: Option<DateTime<Utc>>,
    pub restart_count: i32,
}

/// A pod's data-plane view.
#[derive(Debug, Clone)]
pub struct PodView {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub ip: String,
    /// When kubelet sent SIGTERM and when the grace period ends, for a pod being deleted.
    pub deletion: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub containers: Vec<ContainerView>,
}

impl PodView {
    pub fn from_pod(pod: &Pod) -> PodView {
        let status = pod.status.as_ref();
        let statuses = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[]);
        let containers = pod
            .spec
            .as_ref()
            .map(|s| s.containers.as_slice())
            .unwrap_or(&[])
            .iter()
            .map(|c| {
                let st = statuses.iter().find(|s| s.name == c.name);
                ContainerView {
                    spec: c.clone(),
                    started_at: st
                        .and_then(|s| s.state.as_ref()?.running.as_ref()?.started_at.as_ref())
                        .map(chrono_time),
                    restart_count: st.map_or(0, |s| s.restart_count),
                }
            })
            .collect();
        // The delete request came `deletionGracePeriodSeconds` before `deletionTimestamp`;
        // kubelet sends SIGTERM then (preStop hooks are not simulated).
        let deletion = pod.metadata.deletion_timestamp.as_ref().map(|ts| {
            let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0);
            let sigterm = chrono_time(ts) - chrono::Duration::seconds(grace);
            let kill = sigterm + chrono::Duration::seconds(grace.max(MIN_GRACE_SECONDS));
            (sigterm, kill)
        });
        PodView {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod.metadata.name.clone().unwrap_or_default(),
            uid: pod.metadata.uid.clone().unwrap_or_default(),
            ip: status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
            deletion,
            containers,
        }
    }

    /// The simulated process of a running container, with the seconds it has run at `now`;
    /// `None` if it is not running or deletion has stopped it by `now`.
    pub fn process<'c>(
        &self,
        c: &ContainerView,
        catalog: &'c Catalog,
        seed: u64,
        now: DateTime<Utc>,
    ) -> Option<(Process<'c>, f64)> {
        let started = c.started_at?;
        let image = catalog.lookup(c.spec.image.as_deref().unwrap_or(""));
        let process = Process::new(
            image,
            &c.spec,
            incarnation_seed(seed, &self.uid, &c.spec.name, c.restart_count),
        );
        if let Some((sigterm, kill)) = self.deletion {
            let exit = match process.on_sigterm() {
                Some((delay, _)) => {
                    let at = sigterm + chrono::Duration::milliseconds((delay * 1000.0) as i64);
                    at.min(kill)
                }
                None => kill,
            };
            if now >= exit {
                return None;
            }
        }
        let t = (now - started).num_milliseconds() as f64 / 1000.0;
        (t >= 0.0).then_some((process, t))
    }
}

/// An API timestamp as the lab clock's type.
pub fn chrono_time(t: &Time) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.0.as_millisecond()).unwrap_or_default()
}

/// A per-incarnation seed, so ERROR_RATE draws differ between pods and restarts.
pub fn incarnation_seed(seed: u64, uid: &str, container: &str, restart: i32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in uid
        .bytes()
        .chain([0])
        .chain(container.bytes())
        .chain(restart.to_le_bytes())
    {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    seed ^ h
}

/// Pods by IP, re-parsed only when a pod's resourceVersion changes.
#[derive(Default)]
pub struct PodCache {
    rv: u64,
    by_key: HashMap<(String, String), (u64, Arc<PodView>)>,
    by_ip: HashMap<String, Vec<Arc<PodView>>>,
}

fn pods_resource() -> Option<ResourceId> {
    lookup("", "v1", "pods")
}

impl PodCache {
    /// Brings the cache up to the store's current state.
    pub fn refresh(&mut self, store: &Store) {
        let Some(res) = pods_resource() else { return };
        let (rv, items) = store.list(res, None);
        if rv == self.rv {
            return;
        }
        self.rv = rv;
        let mut by_key = HashMap::with_capacity(items.len());
        for s in &items {
            let key = (s.namespace.clone(), s.name.clone());
            let view = match self.by_key.remove(&key) {
                Some((old_rv, v)) if old_rv == s.rv => v,
                _ => match serde_json::from_slice::<Pod>(&s.json) {
                    Ok(pod) => Arc::new(PodView::from_pod(&pod)),
                    Err(_) => continue,
                },
            };
            by_key.insert(key, (s.rv, view));
        }
        let mut by_ip: HashMap<String, Vec<Arc<PodView>>> = HashMap::new();
        for (_, v) in by_key.values() {
            if !v.ip.is_empty() {
                by_ip.entry(v.ip.clone()).or_default().push(v.clone());
            }
        }
        self.by_key = by_key;
        self.by_ip = by_ip;
    }

    /// The pod that owns `ip` now; a pod not being deleted wins over one that is.
    pub fn by_ip(&self, ip: &str) -> Option<Arc<PodView>> {
        let list = self.by_ip.get(ip)?;
        list.iter()
            .find(|p| p.deletion.is_none())
            .or_else(|| list.first())
            .cloned()
    }
}
