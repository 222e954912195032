//! One node's kubelet: posts the Node's status with a heartbeat, and runs every pod bound
//! to the node through the pure simulation (`sim::kubelet::step`), waking on pod changes
//! and on the timers the simulation asks for.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;
use tokio::sync::{mpsc, watch};

use super::ipam::Ipam;
use super::{bound_to, node_status, nodes, pods};
use crate::controllers::runtime::BATCH;
use crate::controllers::{ControlPlane, EventRecord, object_ref};
use crate::deadlines::Deadlines;
use crate::sim::kubelet::{self as simk, PodSim};
use crate::store::{DeleteOptions, StoreError, UpdateScope, WriteOptions};

/// kubelet's node status heartbeat period (simulated).
pub const HEARTBEAT_SECONDS: i64 = 10;
/// How long kubelet waits before retrying a pod sandbox it could not create.
const SANDBOX_RETRY_SECONDS: i64 = 10;

const PROBE_HELP: &str =
    "Cumulative number of a liveness, readiness or startup probe for a container by result.";

/// What the supervisor tells a kubelet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// This node's object changed.
    Node,
    /// A pod bound to this node changed (or went).
    Pod((String, String)),
    /// Events were missed: look at everything again.
    Resync,
}

struct PodEntry {
    uid: String,
    /// None until the sandbox has an address.
    ip: Option<String>,
    sim: PodSim,
    /// The last status written and the resourceVersion it produced.
    written: Option<(u64, Value)>,
}

struct Kubelet {
    cp: Arc<ControlPlane>,
    name: String,
    host_ip: String,
    ipam: Ipam,
    pods: HashMap<(String, String), PodEntry>,
    /// When each pod's simulation asked to be stepped again.
    wakes: Deadlines<(String, String), DateTime<Utc>>,
    /// Pods to sync, worked through in batches.
    pending: BTreeSet<(String, String)>,
    next_heartbeat: DateTime<Utc>,
}

pub fn spawn(
    cp: Arc<ControlPlane>,
    name: String,
    host_ip: String,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let now = cp.store.now();
        let mut k = Kubelet {
            cp,
            name,
            host_ip,
            ipam: Ipam::new(None),
            pods: HashMap::new(),
            wakes: Deadlines::new(),
            pending: BTreeSet::new(),
            next_heartbeat: now,
        };
        k.resync();
        loop {
            // Messages first (cheap, and they coalesce: each pod is synced once), then a
            // bounded batch of pods, then a yield so the API server is not starved.
            for _ in 0..BATCH {
                match rx.try_recv() {
                    Ok(m) => k.note(m),
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            }
            if k.sync_batch() {
                tokio::task::yield_now().await;
                if stop.has_changed().unwrap_or(true) {
                    return;
                }
                continue;
            }
            let due = k.next_due();
            let wait = k.cp.store.clock().real_until(due);
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(m) => k.note(m),
                    None => return,
                },
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

impl Kubelet {
    fn next_due(&mut self) -> DateTime<Utc> {
        match self.wakes.earliest() {
            Some(w) if w < self.next_heartbeat => w,
            _ => self.next_heartbeat,
        }
    }

    fn note(&mut self, msg: Msg) {
        match msg {
            Msg::Node => self.sync_node(false),
            Msg::Pod(key) => {
                self.pending.insert(key);
            }
            Msg::Resync => self.resync(),
        }
    }

    /// Heartbeat if due, then syncs up to a batch of pods (pending or due). Returns whether
    /// it did any pod work.
    fn sync_batch(&mut self) -> bool {
        let now = self.cp.store.now();
        if self.next_heartbeat <= now {
            self.sync_node(true);
        }
        if self.pending.len() < BATCH {
            let room = BATCH - self.pending.len();
            self.pending.extend(self.wakes.pop_due(now, room));
        }
        if self.pending.is_empty() {
            return false;
        }
        let started = std::time::Instant::now();
        for _ in 0..BATCH {
            let Some(key) = self.pending.pop_first() else {
                break;
            };
            self.sync_pod(&key);
            if started.elapsed() >= std::time::Duration::from_millis(5) {
                break;
            }
        }
        true
    }

    fn resync(&mut self) {
        self.sync_node(false);
        let (_, all) = self.cp.store.list(pods(), None);
        let mine: BTreeSet<(String, String)> = all
            .iter()
            .filter(|p| bound_to(&p.json, &self.name))
            .map(|p| (p.namespace.clone(), p.name.clone()))
            .collect();
        let gone: Vec<(String, String)> = self
            .pods
            .keys()
            .filter(|k| !mine.contains(*k))
            .cloned()
            .collect();
        for key in gone {
            self.forget(&key);
        }
        self.pending.extend(mine);
    }

    /// Posts the node status if it differs; a heartbeat stamps it even if not.
    fn sync_node(&mut self, heartbeat: bool) {
        let store = &self.cp.store;
        let Some(stored) = store.get(nodes(), "", &self.name) else {
            return;
        };
        let node = stored.value();
        self.ipam
            .set_cidr(node.pointer("/spec/podCIDR").and_then(Value::as_str));
        if let Some(ip) = node_status::internal_ip(&node) {
            self.host_ip = ip;
        }
        let now = store.now();
        // First sight of the node posts a full status with a heartbeat.
        let first = node.pointer("/status/nodeInfo/kubeletVersion").is_none();
        let status = node_status::desired(&node, &self.host_ip, now, heartbeat || first);
        if heartbeat || first {
            self.next_heartbeat = now + chrono::Duration::seconds(HEARTBEAT_SECONDS);
        }
        if node.get("status") == Some(&status) {
            return;
        }
        let written = store.update_with(
            nodes(),
            "",
            &self.name,
            UpdateScope::Status,
            &WriteOptions::default(),
            |cur| {
                let mut next = cur.clone();
                next["status"] = status.clone();
                Ok(next)
            },
        );
        if let Err(e) = written {
            tracing::debug!(node = %self.name, error = %e, "node status not posted");
        }
    }

    fn forget(&mut self, key: &(String, String)) {
        self.wakes.remove(key);
        if let Some(entry) = self.pods.remove(key) {
            self.ipam.release(&entry.uid);
        }
    }

    fn sync_pod(&mut self, key: &(String, String)) {
        let store = self.cp.store.clone();
        let Some(stored) = store.get(pods(), &key.0, &key.1) else {
            self.forget(key);
            return;
        };
        if !bound_to(&stored.json, &self.name) {
            self.forget(key);
            return;
        }
        let Ok(pod) = serde_json::from_slice::<Pod>(&stored.json) else {
            self.forget(key);
            return;
        };
        let mut entry = match self.pods.remove(key) {
            Some(e) if e.uid == stored.uid => e,
            other => {
                // Same name, new pod (deleted and re-created): start afresh.
                if let Some(old) = other {
                    self.ipam.release(&old.uid);
                }
                PodEntry {
                    uid: stored.uid.clone(),
                    ip: None,
                    sim: PodSim::default(),
                    written: None,
                }
            }
        };
        let now = store.now();
        if entry.ip.is_none() {
            let host_network = pod
                .spec
                .as_ref()
                .and_then(|s| s.host_network)
                .unwrap_or(false);
            let allocated = if host_network {
                Ok(self.host_ip.clone())
            } else {
                self.ipam.allocate(&stored.uid).map(|ip| ip.to_string())
            };
            match allocated {
                Ok(ip) => entry.ip = Some(ip),
                Err(e) => {
                    let event = sandbox_failed(&pod, &self.name, &e.to_string(), now);
                    self.cp.events.record(&event);
                    let retry = now + chrono::Duration::seconds(SANDBOX_RETRY_SECONDS);
                    self.wakes.schedule(key.clone(), retry);
                    self.pods.insert(key.clone(), entry);
                    return;
                }
            }
        }
        let ip = entry.ip.clone().unwrap_or_default();
        let input = simk::Input {
            pod: &pod,
            catalog: &self.cp.catalog,
            node_name: &self.name,
            host_ip: &self.host_ip,
            pod_ip: &ip,
            seed: self.cp.seed ^ fnv(&stored.uid),
            now,
        };
        let (sim, out) = simk::step(&entry.sim, &input);
        entry.sim = sim;
        match out.next_wakeup {
            Some(at) => self.wakes.schedule(key.clone(), at),
            None => self.wakes.remove(key),
        }
        self.cp.events.record_all(&out.events);
        for run in &out.probes {
            self.cp.metrics.inc(
                "prober_probe_total",
                PROBE_HELP,
                vec![
                    ("container", run.container.clone()),
                    ("namespace", key.0.clone()),
                    ("pod", key.1.clone()),
                    ("pod_uid", stored.uid.clone()),
                    ("probe_type", run.kind.title().to_string()),
                    ("result", run.result.as_str().to_string()),
                ],
                1.0,
            );
        }
        let status = serde_json::to_value(&out.status).unwrap_or(Value::Null);
        let current = stored.value().get("status").cloned().unwrap_or(Value::Null);
        let unchanged_since_ours = entry
            .written
            .as_ref()
            .is_some_and(|(rv, s)| *rv == stored.rv && *s == status);
        if status != current && !unchanged_since_ours && !status.is_null() {
            let uid = stored.uid.clone();
            let written = store.update_with(
                pods(),
                &key.0,
                &key.1,
                UpdateScope::Status,
                &WriteOptions::default(),
                |cur| {
                    if cur.pointer("/metadata/uid").and_then(Value::as_str) != Some(&uid) {
                        return Err(StoreError::Conflict(key.1.clone()));
                    }
                    let mut next = cur.clone();
                    next["status"] = status.clone();
                    Ok(next)
                },
            );
            match written {
                Ok((s, _)) => entry.written = Some((s.rv, status)),
                Err(StoreError::NotFound(_)) => {
                    self.ipam.release(&entry.uid);
                    self.wakes.remove(key);
                    return;
                }
                // A newer version is on its way to us as an event.
                Err(e) => tracing::debug!(pod = %key.1, error = %e, "pod status not written"),
            }
        }
        if out.delete {
            let opts = DeleteOptions {
                grace_period_seconds: Some(0),
                precondition_uid: Some(stored.uid.clone()),
                ..Default::default()
            };
            match store.delete(pods(), &key.0, &key.1, &opts) {
                Ok(_) | Err(StoreError::NotFound(_)) => {
                    self.ipam.release(&entry.uid);
                    self.wakes.remove(key);
                    return;
                }
                Err(e) => tracing::debug!(pod = %key.1, error = %e, "pod not deleted"),
            }
        }
        self.pods.insert(key.clone(), entry);
    }
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The event kubelet records when the CNI plugin cannot set up the pod's network.
pub fn sandbox_failed(pod: &Pod, node: &str, cause: &str, now: DateTime<Utc>) -> EventRecord {
    let uid = pod.metadata.uid.as_deref().unwrap_or("");
    let sandbox = format!("{:016x}{:016x}", fnv(uid), fnv(&format!("{uid}/sandbox")));
    EventRecord {
        type_: "Warning",
        reason: "FailedCreatePodSandBox".into(),
        message: format!(
            "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"{sandbox}\": plugin type=\"host-local\" failed (add): {cause}"
        ),
        involved: object_ref("v1", "Pod", &pod.metadata),
        component: "kubelet",
        host: Some(node.to_string()),
        time: now,
    }
}
