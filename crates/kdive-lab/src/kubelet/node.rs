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
use crate::controllers::{ControlPlane, EventRecord, object_ref};
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
    wake: Option<DateTime<Utc>>,
    /// The last status written and the resourceVersion it produced.
    written: Option<(u64, Value)>,
}

struct Kubelet {
    cp: Arc<ControlPlane>,
    name: String,
    host_ip: String,
    ipam: Ipam,
    pods: HashMap<(String, String), PodEntry>,
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
            next_heartbeat: now,
        };
        k.resync();
        loop {
            let due = k.next_due();
            let wait = k.cp.store.clock().real_until(due);
            tokio::select! {
                msg = rx.recv() => {
                    let Some(first) = msg else { return };
                    // Coalesce a burst: each pod is synced once.
                    let mut batch = vec![first];
                    while let Ok(m) = rx.try_recv() {
                        batch.push(m);
                    }
                    k.handle(batch);
                }
                _ = tokio::time::sleep(wait) => k.run_due(),
                _ = stop.changed() => return,
            }
        }
    })
}

impl Kubelet {
    fn next_due(&self) -> DateTime<Utc> {
        self.pods
            .values()
            .filter_map(|p| p.wake)
            .chain([self.next_heartbeat])
            .min()
            .unwrap_or(self.next_heartbeat)
    }

    fn handle(&mut self, batch: Vec<Msg>) {
        if batch.contains(&Msg::Resync) {
            self.resync();
            return;
        }
        let mut keys = BTreeSet::new();
        for m in batch {
            match m {
                Msg::Node => self.sync_node(false),
                Msg::Pod(key) => {
                    keys.insert(key);
                }
                Msg::Resync => {}
            }
        }
        for key in keys {
            self.sync_pod(&key);
        }
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
        for key in mine {
            self.sync_pod(&key);
        }
    }

    fn run_due(&mut self) {
        let now = self.cp.store.now();
        if self.next_heartbeat <= now {
            self.sync_node(true);
        }
        let due: Vec<(String, String)> = self
            .pods
            .iter()
            .filter(|(_, p)| p.wake.is_some_and(|w| w <= now))
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            self.sync_pod(&key);
        }
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
                    wake: None,
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
                    entry.wake = Some(now + chrono::Duration::seconds(SANDBOX_RETRY_SECONDS));
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
        entry.wake = out.next_wakeup;
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
