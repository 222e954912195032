//! The scheduler, live: every unbound pod is scheduled with the pure [`scheduler::schedule`]
//! and bound by setting `spec.nodeName` (what the pods/binding subresource does); pods that
//! fit nowhere are remembered and retried when nodes change or a bound pod goes away.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;
use serde_json::{Value, json};

use super::ControlPlane;
use super::live::{self, Cache, apply, head};
use super::revision::Fnv32a;
use super::runtime::{Controller, Key};
use super::scheduler::{self, SCHEDULER_NAME};
use crate::resources::ResourceId;
use crate::store::{
    Event, EventType, Store, StoreError, Stored, UpdateScope, WriteOptions, format_time,
};

pub struct SchedulerController {
    cp: Arc<ControlPlane>,
    pods: Cache<Pod>,
    nodes: Cache<Node>,
    claims: Cache<PersistentVolumeClaim>,
    classes: Cache<StorageClass>,
    /// Pods that fit nowhere at their last attempt (upstream's unschedulable queue).
    unschedulable: Mutex<BTreeSet<Key>>,
}

impl SchedulerController {
    pub fn new(cp: Arc<ControlPlane>) -> Self {
        SchedulerController {
            cp,
            pods: Cache::new(live::pods()),
            nodes: Cache::new(live::nodes()),
            claims: Cache::new(claims_res()),
            classes: Cache::new(classes_res()),
            unschedulable: Mutex::new(BTreeSet::new()),
        }
    }

    fn parked(&self) -> std::sync::MutexGuard<'_, BTreeSet<Key>> {
        self.unschedulable.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn claims_res() -> ResourceId {
    crate::resources::lookup("", "v1", "persistentvolumeclaims").expect("claims are served")
}

fn classes_res() -> ResourceId {
    crate::resources::lookup("storage.k8s.io", "v1", "storageclasses").expect("classes are served")
}

fn pod_key(event: &Event) -> Key {
    Key {
        namespace: event.namespace.clone(),
        name: event.name.clone(),
    }
}

impl Controller for SchedulerController {
    fn name(&self) -> &'static str {
        SCHEDULER_NAME
    }

    fn primary(&self) -> ResourceId {
        live::pods()
    }

    fn forget_deleted(&self, event: &Event) {
        self.pods.forget(event);
        self.nodes.forget(event);
    }

    fn keys_for(&self, event: &Event) -> Vec<Key> {
        if event.resource == live::nodes() {
            // A new or changed node may fit what did not fit before; a kubelet heartbeat
            // (only timestamps move) changes nothing the scheduler reads.
            let changed = match (&event.prev, event.kind) {
                (Some(prev), EventType::Modified) => {
                    scheduling_view(prev) != scheduling_view(&event.object)
                }
                _ => true,
            };
            return if changed {
                self.parked().iter().cloned().collect()
            } else {
                Vec::new()
            };
        }
        if event.resource == claims_res() || event.resource == classes_res() {
            // A claim bound, created or deleted (or a class appearing) may let a pod waiting
            // in VolumeBinding's PreFilter through: retry the parked pods of its namespace.
            return self
                .parked()
                .iter()
                .filter(|k| event.resource == classes_res() || k.namespace == event.namespace)
                .cloned()
                .collect();
        }
        if event.resource != live::pods() {
            return Vec::new();
        }
        let now = head(&event.object);
        let bound = now.spec.node_name.as_deref().is_some_and(|n| !n.is_empty());
        if event.kind == EventType::Deleted {
            let mut parked = self.parked();
            parked.remove(&pod_key(event));
            // Its resources and ports are free again.
            return if bound {
                parked.iter().cloned().collect()
            } else {
                Vec::new()
            };
        }
        if bound || now.metadata.deletion_timestamp.is_some() {
            return Vec::new();
        }
        // A status-only change of a pending pod (our own PodScheduled=False, say) is no
        // reason to try again; a spec change is.
        if let Some(prev) = &event.prev {
            let before = head(prev);
            let was_unbound = before.spec.node_name.as_deref().is_none_or(str::is_empty);
            if was_unbound && before.metadata.generation == now.metadata.generation {
                return Vec::new();
            }
        }
        vec![pod_key(event)]
    }

    fn reconcile(&self, store: &Store, key: &Key) -> Result<Option<Duration>, StoreError> {
        let Some(pod) = self.pods.get(store, &key.namespace, &key.name) else {
            self.parked().remove(key);
            return Ok(None);
        };
        if pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
        {
            self.parked().remove(key);
            return Ok(None);
        }
        let nodes: Vec<Node> = self
            .nodes
            .list(store, None, |_| true)
            .iter()
            .map(|n| (**n).clone())
            .collect();
        // All pods, shared from the decode cache (the scheduler picks the bound ones).
        let pods = self.pods.list(store, None, |_| true);
        let claims = self.claims.list(store, Some(&key.namespace), |_| true);
        let classes = self.classes.list(store, None, |_| true);
        let out = scheduler::schedule(&scheduler::ScheduleInput {
            pod: &pod,
            nodes: &nodes,
            pods: &pods,
            now: store.now(),
            seed: tiebreak_seed(self.cp.seed, pod.metadata.uid.as_deref().unwrap_or("")),
            claims: &claims,
            classes: &classes,
        });
        if let Some(binding) = &out.binding {
            let node = binding.target.name.clone().unwrap_or_default();
            bind(store, &pod, &node)?;
            self.parked().remove(key);
        } else if out.status.is_some() || !out.events.is_empty() {
            if let Some(status) = &out.status {
                apply(store, live::pods(), status)?;
            }
            self.parked().insert(key.clone());
        }
        self.cp.events.record_all(&out.events);
        Ok(out.requeue_after)
    }
}

/// The same pod gets the same tiebreak in every run with the same lab seed.
fn tiebreak_seed(seed: u64, uid: &str) -> u64 {
    let mut h = Fnv32a::new();
    h.write(uid.as_bytes());
    seed ^ u64::from(h.sum())
}

/// What POST pods/binding does: sets `spec.nodeName` (only on an unbound pod of the same
/// incarnation) and records PodScheduled=True.
fn bind(store: &Store, pod: &Pod, node: &str) -> Result<(), StoreError> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let now = format_time(store.now());
    store.update_with(
        live::pods(),
        &ns,
        &name,
        UpdateScope::Internal,
        &WriteOptions::default(),
        |current| {
            let taken = current
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            if taken
                || current.pointer("/metadata/uid").and_then(Value::as_str) != Some(uid.as_str())
            {
                return Err(StoreError::Conflict(name.clone()));
            }
            let mut next = current.clone();
            next["spec"]["nodeName"] = json!(node);
            if !next.get("status").is_some_and(Value::is_object) {
                next["status"] = json!({});
            }
            let status = &mut next["status"];
            if status.get("phase").is_none() {
                status["phase"] = json!("Pending");
            }
            let mut conditions: Vec<Value> = status
                .get("conditions")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            conditions.retain(|c| c.get("type").and_then(Value::as_str) != Some("PodScheduled"));
            conditions.push(json!({
                "type": "PodScheduled",
                "status": "True",
                "lastProbeTime": null,
                "lastTransitionTime": now,
            }));
            status["conditions"] = Value::Array(conditions);
            Ok(next)
        },
    )?;
    Ok(())
}

/// What of a Node the scheduler decides on: labels, spec (taints, unschedulable),
/// allocatable and capacity, and each condition's type and status.
fn scheduling_view(node: &Stored) -> Value {
    let v = node.value();
    let conditions: Vec<Value> = v
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| json!([c.get("type"), c.get("status")]))
                .collect()
        })
        .unwrap_or_default();
    json!([
        v.pointer("/metadata/labels"),
        v.get("spec"),
        v.pointer("/status/allocatable"),
        v.pointer("/status/capacity"),
        conditions,
    ])
}
