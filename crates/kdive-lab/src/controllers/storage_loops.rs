//! The live loops of the StatefulSet controller and the volume controllers: read typed
//! objects from the store, ask the pure reconcilers, apply their answers, record Events.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Pod};
use k8s_openapi::api::storage::v1::StorageClass;

use super::events::EventRecorder;
use super::runtime::{Controller, Key};
use super::{Change, EventRecord, statefulset, volumes};
use crate::resources::{ResourceId, lookup};
use crate::store::{DeleteOptions, Event, EventType, Store, StoreError, UpdateScope, WriteOptions};

fn res(group: &str, plural: &str) -> ResourceId {
    lookup(group, "v1", plural).expect("storage resources are served")
}

fn statefulsets() -> ResourceId {
    res("apps", "statefulsets")
}
fn pods() -> ResourceId {
    res("", "pods")
}
fn claims() -> ResourceId {
    res("", "persistentvolumeclaims")
}
fn volumes_res() -> ResourceId {
    res("", "persistentvolumes")
}
fn classes() -> ResourceId {
    res("storage.k8s.io", "storageclasses")
}

/// Objects of a resource as typed values; ones that do not decode are skipped (a
/// controller cannot act on them, as upstream's informers would not deliver them).
fn typed<T: DeserializeOwned>(store: &Store, r: ResourceId, namespace: Option<&str>) -> Vec<T> {
    typed_where(store, r, namespace, |_| true)
}

/// The objects `keep` accepts, decoded: with thousands of pods in a namespace, decoding
/// only the few that can matter keeps a sync short.
fn typed_where<T: DeserializeOwned>(
    store: &Store,
    r: ResourceId,
    namespace: Option<&str>,
    keep: impl Fn(&crate::store::Stored) -> bool,
) -> Vec<T> {
    store
        .list(r, namespace)
        .1
        .iter()
        .filter(|s| keep(s))
        .filter_map(|s| serde_json::from_slice(&s.json).ok())
        .collect()
}

/// Whether the stored JSON mentions `needle` at all (a cheap test before decoding).
fn mentions(json: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    !needle.is_empty() && json.windows(needle.len()).any(|w| w == needle)
}

fn get_typed<T: DeserializeOwned>(store: &Store, r: ResourceId, ns: &str, name: &str) -> Option<T> {
    serde_json::from_value(store.get(r, ns, name)?.value()).ok()
}

fn to_value<T: Serialize>(kind: &str, api_version: &str, obj: &T) -> Result<Value, StoreError> {
    let mut v = serde_json::to_value(obj).map_err(|e| StoreError::BadRequest(e.to_string()))?;
    v["apiVersion"] = Value::from(api_version);
    v["kind"] = Value::from(kind);
    Ok(v)
}

fn key(namespace: &str, name: &str) -> Key {
    Key {
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

/// Applies one Change of a kind; AlreadyExists and NotFound are the world being ahead of us.
fn apply<T: Serialize>(
    store: &Store,
    r: ResourceId,
    change: &Change<T>,
    get_ns: impl Fn(&T) -> String,
    get_name: impl Fn(&T) -> String,
) -> Result<bool, StoreError> {
    let info = r.info();
    let (kind, api_version) = (info.kind, info.api_version());
    let opts = WriteOptions::default();
    let result = match change {
        Change::Create(obj) => store
            .create(r, &get_ns(obj), to_value(kind, &api_version, obj)?, &opts)
            .map(|_| ()),
        Change::Update(obj) => store
            .update(
                r,
                &get_ns(obj),
                &get_name(obj),
                to_value(kind, &api_version, obj)?,
                UpdateScope::Internal,
                &opts,
            )
            .map(|_| ()),
        Change::UpdateStatus(obj) => store
            .update(
                r,
                &get_ns(obj),
                &get_name(obj),
                to_value(kind, &api_version, obj)?,
                UpdateScope::Status,
                &opts,
            )
            .map(|_| ()),
        Change::Delete {
            namespace,
            name,
            uid,
        } => {
            let opts = DeleteOptions {
                precondition_uid: uid.clone(),
                ..Default::default()
            };
            store.delete(r, namespace, name, &opts).map(|_| ())
        }
    };
    match result {
        Ok(()) => Ok(true),
        Err(StoreError::AlreadyExists(_)) | Err(StoreError::NotFound(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

fn meta_ns<
    T: k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
>(
    o: &T,
) -> String {
    o.metadata().namespace.clone().unwrap_or_default()
}

fn meta_name<
    T: k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
>(
    o: &T,
) -> String {
    o.metadata().name.clone().unwrap_or_default()
}

/// The owner named by a controller reference of `kind` in a stored object.
fn controller_owner(v: &Value, kind: &str) -> Option<String> {
    v.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|r| r["controller"] == Value::Bool(true) && r["kind"] == kind)
        .and_then(|r| r["name"].as_str().map(String::from))
}

pub struct StatefulSetController {
    pub events: Arc<EventRecorder>,
}

impl Controller for StatefulSetController {
    fn name(&self) -> &'static str {
        statefulset::COMPONENT
    }

    fn primary(&self) -> ResourceId {
        statefulsets()
    }

    fn keys_for(&self, event: &Event) -> Vec<Key> {
        if event.resource == statefulsets() {
            return vec![key(&event.namespace, &event.name)];
        }
        // Most pods have no owner or a ReplicaSet: skip parsing those.
        if event.resource == pods() && !event.object.owner_uids.is_empty() {
            let owner = controller_owner(&event.object.value(), "StatefulSet");
            return owner
                .map(|o| key(&event.namespace, &o))
                .into_iter()
                .collect();
        }
        Vec::new()
    }

    fn reconcile(&self, store: &Store, key: &Key) -> Result<Option<Duration>, StoreError> {
        let Some(set) = get_typed::<StatefulSet>(store, statefulsets(), &key.namespace, &key.name)
        else {
            return Ok(None);
        };
        // Its own pods and orphans it may adopt; pods of other owners are never its business.
        let uid = set.metadata.uid.clone().unwrap_or_default();
        let pod_list: Vec<Pod> = typed_where(store, pods(), Some(&key.namespace), |s| {
            s.owner_uids.is_empty() || s.owner_uids.contains(&uid)
        });
        let claim_list: Vec<PersistentVolumeClaim> = typed(store, claims(), Some(&key.namespace));
        let out = statefulset::reconcile(&statefulset::StatefulSetInput {
            set: &set,
            pods: &pod_list,
            claims: &claim_list,
            now: store.now(),
        });
        for (claim, event) in &out.claims_to_create {
            if apply(
                store,
                claims(),
                &Change::Create(claim.clone()),
                meta_ns,
                meta_name,
            )? {
                self.events.record(event);
            }
        }
        for (pod, event) in &out.pods_to_create {
            match apply(
                store,
                pods(),
                &Change::Create(pod.clone()),
                meta_ns,
                meta_name,
            ) {
                Ok(true) => self.events.record(event),
                Ok(false) => {}
                // `StatefulPodControl.recordPodEvent`'s words for a create that failed.
                Err(e) => {
                    self.events.record(&EventRecord {
                        type_: "Warning",
                        reason: "FailedCreate".into(),
                        message: format!(
                            "create Pod {} in StatefulSet {} failed error: {e}",
                            meta_name(pod),
                            key.name
                        ),
                        ..event.clone()
                    });
                    return Err(e);
                }
            }
        }
        for (change, event) in &out.pod_deletes {
            if apply(store, pods(), change, meta_ns, meta_name)? {
                self.events.record(event);
            }
        }
        if let Some(status) = &out.status {
            apply(store, statefulsets(), status, meta_ns, meta_name)?;
        }
        Ok(out.requeue_after)
    }
}

/// The binder's claim side, the provisioner, and pvc-protection.
pub struct ClaimController {
    pub events: Arc<EventRecorder>,
}

impl Controller for ClaimController {
    fn name(&self) -> &'static str {
        volumes::COMPONENT
    }

    fn primary(&self) -> ResourceId {
        claims()
    }

    fn keys_for(&self, event: &Event) -> Vec<Key> {
        if event.resource == claims() {
            return vec![key(&event.namespace, &event.name)];
        }
        if event.resource == volumes_res() {
            let v = event.object.value();
            let ns = v
                .pointer("/spec/claimRef/namespace")
                .and_then(Value::as_str);
            let name = v.pointer("/spec/claimRef/name").and_then(Value::as_str);
            if let (Some(ns), Some(name)) = (ns, name) {
                return vec![key(ns, name)];
            }
        }
        // A pod going away may release a claim held by pvc-protection.
        if event.resource == pods() && event.kind == EventType::Deleted {
            let v = event.object.value();
            let vols = v.pointer("/spec/volumes").and_then(Value::as_array);
            return vols
                .into_iter()
                .flatten()
                .filter_map(|vol| vol.pointer("/persistentVolumeClaim/claimName")?.as_str())
                .map(|c| key(&event.namespace, c))
                .collect();
        }
        Vec::new()
    }

    fn reconcile(&self, store: &Store, key: &Key) -> Result<Option<Duration>, StoreError> {
        let Some(claim) =
            get_typed::<PersistentVolumeClaim>(store, claims(), &key.namespace, &key.name)
        else {
            return Ok(None);
        };
        let volume_list: Vec<PersistentVolume> = typed(store, volumes_res(), None);
        let class_list: Vec<StorageClass> = typed(store, classes(), None);
        // Only pods that name the claim can use it.
        let pod_list: Vec<Pod> = typed_where(store, pods(), Some(&key.namespace), |s| {
            mentions(&s.json, &key.name)
        });
        let out = volumes::sync_claim(&volumes::ClaimInput {
            claim: &claim,
            volumes: &volume_list,
            classes: &class_list,
            pods: &pod_list,
            now: store.now(),
        });
        // The volume first: a claim must never point at a volume that does not exist.
        if let Some(change) = &out.volume {
            apply(store, volumes_res(), change, meta_ns, meta_name)?;
        }
        if let Some(change) = &out.claim {
            apply(store, claims(), change, meta_ns, meta_name)?;
        }
        self.events.record_all(&out.events);
        Ok(out.retry.then(|| Duration::from_secs(15)))
    }
}

/// The binder's volume side (phases, reclaiming) and pv-protection.
pub struct VolumeController;

impl Controller for VolumeController {
    fn name(&self) -> &'static str {
        "persistentvolume-controller-volumes"
    }

    fn primary(&self) -> ResourceId {
        volumes_res()
    }

    fn keys_for(&self, event: &Event) -> Vec<Key> {
        if event.resource == volumes_res() {
            return vec![key("", &event.name)];
        }
        if event.resource == claims() {
            let v = event.object.value();
            if let Some(pv) = v.pointer("/spec/volumeName").and_then(Value::as_str)
                && !pv.is_empty()
            {
                return vec![key("", pv)];
            }
        }
        Vec::new()
    }

    fn reconcile(&self, store: &Store, key: &Key) -> Result<Option<Duration>, StoreError> {
        let Some(pv) = get_typed::<PersistentVolume>(store, volumes_res(), "", &key.name) else {
            return Ok(None);
        };
        let claim_ref = pv.spec.as_ref().and_then(|s| s.claim_ref.clone());
        let claim: Option<PersistentVolumeClaim> = claim_ref.and_then(|r| {
            get_typed(
                store,
                claims(),
                r.namespace.as_deref().unwrap_or(""),
                r.name.as_deref().unwrap_or(""),
            )
        });
        let out = volumes::sync_volume(&volumes::VolumeInput {
            volume: &pv,
            claim: claim.as_ref(),
        });
        if let Some(change) = &out.volume {
            apply(store, volumes_res(), change, meta_ns, meta_name)?;
        }
        Ok(None)
    }
}
