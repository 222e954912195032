//! The glue between the pure reconcilers and the store: typed reads (with a decode cache, so
//! a controller re-reading thousands of unchanged pods does not re-parse them) and applying
//! [`Change`]s as the real controllers' API calls would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::Change;
use crate::resources::{ResourceId, lookup};
use crate::store::{DeleteOptions, Event, Store, StoreError, Stored, UpdateScope, WriteOptions};
use kdive_core::selector::LabelSelector;

fn served(group: &str, plural: &str) -> ResourceId {
    let version = "v1";
    // Every resource named here is in the static table; a miss is a programming error.
    lookup(group, version, plural).unwrap_or_else(|| panic!("{group}/{plural} is served"))
}

pub fn pods() -> ResourceId {
    served("", "pods")
}
pub fn nodes() -> ResourceId {
    served("", "nodes")
}
pub fn services() -> ResourceId {
    served("", "services")
}
pub fn endpoints() -> ResourceId {
    served("", "endpoints")
}
pub fn endpoint_slices() -> ResourceId {
    served("discovery.k8s.io", "endpointslices")
}
pub fn deployments() -> ResourceId {
    served("apps", "deployments")
}
pub fn replica_sets() -> ResourceId {
    served("apps", "replicasets")
}

/// Decodes one stored object, logging (not failing) on a shape the type does not accept:
/// the API server stores what clients send, and one odd object must not stop a controller.
pub fn decode<T: DeserializeOwned>(stored: &Stored) -> Option<T> {
    match serde_json::from_slice(&stored.json) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::debug!(name = %stored.name, error = %e, "object does not decode");
            None
        }
    }
}

/// Only the metadata of an object: cheap to parse in `keys_for` (the rest is skipped).
#[derive(serde::Deserialize, Default)]
pub struct Head {
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: HeadSpec,
}

/// The few spec fields event routing needs.
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct HeadSpec {
    #[serde(default)]
    pub node_name: Option<String>,
}

pub fn head(stored: &Stored) -> Head {
    serde_json::from_slice(&stored.json).unwrap_or_default()
}

/// The controlling owner of `kind`, if any (`ownerReferences[controller=true]`).
pub fn controller_named<'a>(meta: &'a ObjectMeta, kind: &str) -> Option<&'a OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == kind)
}

/// (namespace, name) → (resourceVersion, decoded object).
/// Decoded objects by uid (looked up without allocating), with where each lives and the
/// resourceVersion it was decoded at.
type Decoded<T> = HashMap<String, Entry<T>>;

struct Entry<T> {
    namespace: String,
    name: String,
    rv: u64,
    value: Arc<T>,
}

/// A typed view of one resource that re-decodes only objects whose resourceVersion moved.
pub struct Cache<T> {
    res: ResourceId,
    decoded: Mutex<Decoded<T>>,
}

impl<T: DeserializeOwned> Cache<T> {
    pub fn new(res: ResourceId) -> Self {
        Cache {
            res,
            decoded: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, store: &Store, namespace: &str, name: &str) -> Option<Arc<T>> {
        let stored = store.get(self.res, namespace, name)?;
        self.typed(&stored)
    }

    /// The objects of a namespace (or all) that `keep` accepts, looking only at the stored
    /// indexes (labels, owners) before decoding.
    pub fn list(
        &self,
        store: &Store,
        namespace: Option<&str>,
        keep: impl Fn(&Stored) -> bool,
    ) -> Vec<Arc<T>> {
        let (_, items) = store.list(self.res, namespace);
        let live = items.len();
        let out = items
            .iter()
            .filter(|s| keep(s))
            .filter_map(|s| self.typed(s))
            .collect();
        self.prune(store, live);
        out
    }

    fn typed(&self, stored: &Stored) -> Option<Arc<T>> {
        let mut map = self.decoded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = map.get(stored.uid.as_str())
            && entry.rv == stored.rv
        {
            return Some(entry.value.clone());
        }
        let value = Arc::new(decode::<T>(stored)?);
        map.insert(
            stored.uid.clone(),
            Entry {
                namespace: stored.namespace.clone(),
                name: stored.name.clone(),
                rv: stored.rv,
                value: value.clone(),
            },
        );
        Some(value)
    }

    /// Drops a deleted object's entry.
    pub fn forget(&self, event: &Event) {
        if event.resource == self.res {
            let mut map = self.decoded.lock().unwrap_or_else(|p| p.into_inner());
            map.remove(event.object.uid.as_str());
            // The table a burst grew would stay that big.
            if map.capacity() > 4 * map.len() + 64 {
                map.shrink_to_fit();
            }
        }
    }

    /// Drops entries of deleted or replaced objects once they outnumber the live ones.
    fn prune(&self, store: &Store, live: usize) {
        let mut map = self.decoded.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() <= 2 * live + 256 {
            return;
        }
        map.retain(|_, e| {
            store
                .get(self.res, &e.namespace, &e.name)
                .is_some_and(|s| s.rv == e.rv)
        });
    }
}

/// Whether a Service-style `selector` (a plain map) matches the stored object's labels.
pub fn map_selects(selector: &std::collections::BTreeMap<String, String>, stored: &Stored) -> bool {
    kdive_core::selector::set_matches(selector, |k| stored.labels.get(k).and_then(Value::as_str))
}

/// Whether a LabelSelector matches the stored object's labels.
pub fn selects(selector: &LabelSelector, stored: &Stored) -> bool {
    selector.matches(&stored.labels)
}

fn name_of(meta: &ObjectMeta) -> (String, String) {
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

fn to_json<T: Serialize>(obj: &T) -> Result<Value, StoreError> {
    serde_json::to_value(obj).map_err(|e| StoreError::BadRequest(e.to_string()))
}

/// Applies one change as the controller's API call would. Updates carry the
/// resourceVersion they were computed from, so a stale write conflicts (and the loop
/// reconciles again with fresh state). Returns the stored result of a create or update.
pub fn apply<T>(
    store: &Store,
    res: ResourceId,
    change: &Change<T>,
) -> Result<Option<Arc<Stored>>, StoreError>
where
    T: Serialize + k8s_openapi::Metadata<Ty = ObjectMeta>,
{
    let opts = WriteOptions {
        field_manager: Some("kube-controller-manager".into()),
        ..Default::default()
    };
    match change {
        Change::Create(obj) => {
            let (ns, _) = name_of(obj.metadata());
            store.create(res, &ns, to_json(obj)?, &opts).map(Some)
        }
        Change::Update(obj) | Change::UpdateStatus(obj) => {
            let scope = match change {
                Change::UpdateStatus(_) => UpdateScope::Status,
                _ => UpdateScope::Main,
            };
            let (ns, name) = name_of(obj.metadata());
            store
                .update(res, &ns, &name, to_json(obj)?, scope, &opts)
                .map(Some)
        }
        Change::Delete {
            namespace,
            name,
            uid,
        } => {
            let opts = DeleteOptions {
                precondition_uid: uid.clone(),
                ..Default::default()
            };
            match store.delete(res, namespace, name, &opts) {
                Ok(_) | Err(StoreError::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }
}

/// Applies changes in order, stopping at the first error (the loop retries the key).
pub fn apply_all<T>(store: &Store, res: ResourceId, changes: &[Change<T>]) -> Result<(), StoreError>
where
    T: Serialize + k8s_openapi::Metadata<Ty = ObjectMeta>,
{
    for c in changes {
        apply(store, res, c)?;
    }
    Ok(())
}
