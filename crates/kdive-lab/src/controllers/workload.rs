//! The Deployment and ReplicaSet controllers, live: each reconcile reads typed objects from
//! the store, calls the pure reconciler and applies its changes and events.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetCondition};
use k8s_openapi::api::core::v1::Pod;

use super::live::{self, Cache, apply, apply_all, controller_named, head};
use super::replicaset::{self, created_pod_event, selector_of};
use super::runtime::{Controller, Key};
use super::{Change, ControlPlane, EventRecord, deployment};
use crate::resources::ResourceId;
use crate::store::{Event, EventType, Store, StoreError};

/// At most this many pods are created in one ReplicaSet sync (each sync lists the
/// namespace's pods, so much smaller chunks slow a large scale-up).
const CREATE_CHUNK: usize = 256;

/// How soon a failed sync (bad spec, rejected write) is retried, in simulated time.
const ERROR_RETRY: Duration = Duration::from_secs(5);

fn key(namespace: &str, name: &str) -> Key {
    Key {
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

/// The keys of the controlling owners of `kind` in the event's old and new object: a
/// change may move an object between owners.
fn owner_keys(event: &Event, kind: &str) -> Vec<Key> {
    let mut keys = Vec::new();
    for stored in std::iter::once(&event.object).chain(event.prev.iter()) {
        if stored.owner_uids.is_empty() {
            continue;
        }
        let h = head(stored);
        if let Some(owner) = controller_named(&h.metadata, kind) {
            let k = key(&event.namespace, &owner.name);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    keys
}

pub struct ReplicaSetController {
    cp: Arc<ControlPlane>,
    replica_sets: Cache<ReplicaSet>,
    pods: Cache<Pod>,
}

impl ReplicaSetController {
    pub fn new(cp: Arc<ControlPlane>) -> Self {
        ReplicaSetController {
            cp,
            replica_sets: Cache::new(live::replica_sets()),
            pods: Cache::new(live::pods()),
        }
    }
}

impl Controller for ReplicaSetController {
    fn name(&self) -> &'static str {
        replicaset::COMPONENT
    }

    fn primary(&self) -> ResourceId {
        live::replica_sets()
    }

    fn forget_deleted(&self, event: &Event) {
        self.replica_sets.forget(event);
        self.pods.forget(event);
    }

    fn keys_for(&self, event: &Event) -> Vec<Key> {
        if event.resource == live::replica_sets() {
            return vec![key(&event.namespace, &event.name)];
        }
        // Orphans matching a selector would be adopted upstream; the lab's pods are
        // created by their controllers, so only owned pods are routed (cheaply).
        if event.resource == live::pods() {
            return owner_keys(event, "ReplicaSet");
        }
        Vec::new()
    }

    fn reconcile(&self, store: &Store, k: &Key) -> Result<Option<Duration>, StoreError> {
        let Some(rs) = self.replica_sets.get(store, &k.namespace, &k.name) else {
            return Ok(None);
        };
        let uid = rs.metadata.uid.clone().unwrap_or_default();
        let selector = selector_of(rs.spec.as_ref().map(|s| &s.selector));
        let pods = self.pods.list(store, Some(&k.namespace), |s| {
            // Its own pods, and orphans it may adopt; pods owned by anything else are
            // never its business (and skipping them keeps this cheap at 5,000 pods).
            s.owner_uids.contains(&uid)
                || (s.owner_uids.is_empty()
                    && selector.as_ref().is_some_and(|sel| live::selects(sel, s)))
        });
        let pods: Vec<&Pod> = pods.iter().map(|p| p.as_ref()).collect();
        let now = store.now();
        let mut out = replicaset::reconcile(&replicaset::ReplicaSetInput {
            replica_set: &rs,
            pods: &pods,
            now,
        });
        // A chunk of creates per sync, then the loop yields and comes back at once: upstream's
        // 500 in one go would stall the simulation's other loops (kubelets, probes) for a
        // second on a slow machine.
        let more = out.pods_to_create.len() > CREATE_CHUNK;
        out.pods_to_create.truncate(CREATE_CHUNK);
        let events = &self.cp.events;
        let mut create_error = None;
        for pod in &out.pods_to_create {
            match apply(store, live::pods(), &Change::Create(pod.clone())) {
                Ok(Some(stored)) => {
                    if let Some(created) = live::decode::<Pod>(&stored) {
                        events.record(&created_pod_event(&rs, &created, now));
                    }
                }
                Ok(None) => {}
                // `RealPodControl.createPods` records the error; `manageReplicas` skips the
                // rest of the batch and the sync still writes status before it is retried.
                Err(e) => {
                    events.record(&failed(
                        &rs,
                        "FailedCreate",
                        format!("Error creating: {e}"),
                        now,
                    ));
                    create_error = Some(e);
                    break;
                }
            }
        }
        apply_all(store, live::pods(), &out.pod_changes)?;
        let failure = create_error.as_ref().map(|e| e.to_string());
        if let Some(status) = replica_failure(&rs, out.status, failure.as_deref(), now) {
            apply(store, live::replica_sets(), &status)?;
        }
        events.record_all(&out.events);
        match create_error {
            Some(e) => Err(e),
            None if more => Ok(Some(Duration::ZERO)),
            None => Ok(out.requeue_after),
        }
    }
}

/// `calculateStatus`'s `ReplicaFailure` condition: set (reason `FailedCreate`, the error as
/// message) when creating pods failed and it is not set yet, removed after a sync without
/// error. Returns the status write to make, if any.
fn replica_failure(
    rs: &ReplicaSet,
    status: Option<Change<ReplicaSet>>,
    failure: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Change<ReplicaSet>> {
    let has = |r: &ReplicaSet| {
        r.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "ReplicaFailure"))
    };
    if failure.is_some() == has(rs) {
        return status;
    }
    let mut updated = match status {
        Some(Change::UpdateStatus(r)) => r,
        _ => rs.clone(),
    };
    let st = updated.status.get_or_insert_with(Default::default);
    let conditions = st.conditions.get_or_insert_with(Vec::new);
    conditions.retain(|c| c.type_ != "ReplicaFailure");
    if let Some(message) = failure {
        conditions.push(ReplicaSetCondition {
            type_: "ReplicaFailure".into(),
            status: "True".into(),
            reason: Some("FailedCreate".into()),
            message: Some(message.to_string()),
            last_transition_time: Some(replicaset::to_time(now)),
        });
    }
    if conditions.is_empty() {
        st.conditions = None;
    }
    Some(Change::UpdateStatus(updated))
}

fn failed(
    rs: &ReplicaSet,
    reason: &str,
    message: String,
    now: chrono::DateTime<chrono::Utc>,
) -> EventRecord {
    EventRecord {
        type_: "Warning",
        reason: reason.into(),
        message,
        involved: replicaset::object_ref("ReplicaSet", &rs.metadata),
        component: replicaset::COMPONENT,
        host: None,
        time: now,
    }
}

pub struct DeploymentController {
    cp: Arc<ControlPlane>,
    deployments: Cache<Deployment>,
    replica_sets: Cache<ReplicaSet>,
    pods: Cache<Pod>,
}

impl DeploymentController {
    pub fn new(cp: Arc<ControlPlane>) -> Self {
        DeploymentController {
            cp,
            deployments: Cache::new(live::deployments()),
            replica_sets: Cache::new(live::replica_sets()),
            pods: Cache::new(live::pods()),
        }
    }
}

impl Controller for DeploymentController {
    fn name(&self) -> &'static str {
        super::rollout::COMPONENT
    }

    fn primary(&self) -> ResourceId {
        live::deployments()
    }

    fn forget_deleted(&self, event: &Event) {
        self.deployments.forget(event);
        self.replica_sets.forget(event);
        self.pods.forget(event);
    }

    fn keys_for(&self, event: &Event) -> Vec<Key> {
        if event.resource == live::deployments() {
            return vec![key(&event.namespace, &event.name)];
        }
        if event.resource == live::replica_sets() {
            return owner_keys(event, "Deployment");
        }
        // Recreate waits for the old pods to be gone: a deleted pod's ReplicaSet's owner.
        if event.resource == live::pods() && event.kind == EventType::Deleted {
            let store = &self.cp.store;
            let mut keys = Vec::new();
            for rs in owner_keys(event, "ReplicaSet") {
                if let Some(stored) = store.get(live::replica_sets(), &rs.namespace, &rs.name)
                    && let Some(owner) = controller_named(&head(&stored).metadata, "Deployment")
                {
                    keys.push(key(&rs.namespace, &owner.name));
                }
            }
            return keys;
        }
        Vec::new()
    }

    fn reconcile(&self, store: &Store, k: &Key) -> Result<Option<Duration>, StoreError> {
        let Some(d) = self.deployments.get(store, &k.namespace, &k.name) else {
            return Ok(None);
        };
        let replica_sets: Vec<ReplicaSet> = self
            .replica_sets
            .list(store, Some(&k.namespace), |_| true)
            .iter()
            .map(|r| (**r).clone())
            .collect();
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let owned: BTreeSet<&str> = replica_sets
            .iter()
            .filter(|r| controller_named(&r.metadata, "Deployment").is_some_and(|o| o.uid == uid))
            .filter_map(|r| r.metadata.uid.as_deref())
            .collect();
        // Only Recreate looks at pods (it waits for the old ones to be gone).
        let pods: Vec<Pod> = if kdive_core::model::rollout::is_recreate(&d) {
            self.pods
                .list(store, Some(&k.namespace), |s| {
                    s.owner_uids.iter().any(|u| owned.contains(u.as_str()))
                })
                .iter()
                .map(|p| (**p).clone())
                .collect()
        } else {
            Vec::new()
        };
        let out = deployment::reconcile(&deployment::DeploymentInput {
            deployment: &d,
            replica_sets: &replica_sets,
            pods: &pods,
            now: store.now(),
        });
        if let Some(error) = &out.error {
            tracing::debug!(deployment = %k.name, %error, "deployment sync failed");
        }
        apply_all(store, live::replica_sets(), &out.replica_sets)?;
        if let Some(change) = &out.deployment {
            write_deployment(store, &d, change)?;
        }
        self.cp.events.record_all(&out.events);
        Ok(match out.error {
            Some(_) => Some(ERROR_RETRY),
            None => out.requeue_after,
        })
    }
}

/// Writes the Deployment as upstream does: metadata (the revision annotation) with an
/// update of the object, then `.status` through the status subresource, each guarded by
/// the resourceVersion it was computed from.
fn write_deployment(
    store: &Store,
    current: &Deployment,
    change: &Change<Deployment>,
) -> Result<(), StoreError> {
    let Change::UpdateStatus(desired) = change else {
        return apply(store, live::deployments(), change).map(|_| ());
    };
    let mut status_write = desired.clone();
    if desired.metadata.annotations != current.metadata.annotations {
        let mut meta_write = current.clone();
        meta_write.metadata.annotations = desired.metadata.annotations.clone();
        let stored = apply(store, live::deployments(), &Change::Update(meta_write))?;
        status_write.metadata.resource_version = stored.map(|s| s.rv.to_string());
    }
    if desired.status != current.status {
        apply(
            store,
            live::deployments(),
            &Change::UpdateStatus(status_write),
        )?;
    }
    Ok(())
}
