//! The lab's object store: every object is stored once, as compact JSON, and every write —
//! from HTTP or from in-process code — goes through [`Store`], which assigns the
//! resourceVersion and emits the watch event. This is the seam the simulated control plane
//! builds on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};
use tokio::sync::broadcast;

use super::defaults::{self, Allocations};
use super::names;
use super::resources::{RESOURCES, ResourceId};
pub use super::store_types::*;

/// Default number of events kept for watch-from-resourceVersion (see `store_history.rs`
/// for the other bounds).
pub const DEFAULT_HISTORY: usize = 20_000;
/// Events in flight to the lab's own watchers (controllers, kubelets, proxies, API
/// watches): a receiver more than this far behind lags (controllers resync, API watches
/// end and resume from history). An event is freed once every receiver has taken it, so
/// the depth costs memory only while someone lags, plus a fixed 32 bytes a slot.
const IN_FLIGHT: usize = 1 << 16;

pub use super::clock::LabClock;

#[path = "store_gc.rs"]
mod gc;
#[path = "store_graceful.rs"]
mod graceful;
#[path = "store_history.rs"]
mod history;

use graceful::{Graceful, pod_graceful_delete};
#[path = "store_quota.rs"]
mod quota;

pub struct Store {
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
    /// Bumped by [`Store::compact`]: open watches end with 410 Expired and clients relist.
    compactions: tokio::sync::watch::Sender<u64>,
    clock: Arc<LabClock>,
}

struct Inner {
    rv: u64,
    objects: Vec<BTreeMap<(String, String), Arc<Stored>>>,
    history: history::History,
    rng: StdRng,
    alloc: Allocations,
    /// The lab's object-count quota on pods (none when None).
    max_pods: Option<usize>,
}

impl Store {
    pub fn new(clock: Arc<LabClock>, seed: u64) -> Self {
        Self::with_history(clock, seed, DEFAULT_HISTORY)
    }

    pub fn with_history(clock: Arc<LabClock>, seed: u64, history_cap: usize) -> Self {
        let (events, _) = broadcast::channel(IN_FLIGHT);
        Self {
            inner: Mutex::new(Inner {
                rv: 1,
                objects: RESOURCES.iter().map(|_| BTreeMap::new()).collect(),
                history: history::History::new(history_cap),
                rng: StdRng::seed_from_u64(seed),
                alloc: Allocations::new(seed),
                max_pods: None,
            }),
            events,
            compactions: tokio::sync::watch::channel(0).0,
            clock,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-written (writes are
        // prepared first and committed with plain inserts), so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The lab's clock, for timers: simulated waits convert to real ones through it.
    pub fn clock(&self) -> &LabClock {
        &self.clock
    }

    /// Refuses pod creates beyond `max` pods in the store, as a ResourceQuota would.
    pub fn set_max_pods(&self, max: Option<usize>) {
        self.lock().max_pods = max;
    }

    /// The current resourceVersion (the last write's).
    pub fn resource_version(&self) -> u64 {
        self.lock().rv
    }

    /// Continues counting after `rv` (a restarted lab's last reserved version): no object
    /// gets a version a client may have seen before, and older versions are gone (410).
    pub fn continue_from(&self, rv: u64) {
        let mut inner = self.lock();
        if rv > inner.rv {
            inner.rv = rv;
            inner.history.reset(rv);
        }
    }

    pub fn get(&self, res: ResourceId, namespace: &str, name: &str) -> Option<Arc<Stored>> {
        self.lock().objects[res.0 as usize]
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// All objects of a resource (in one namespace, or all), sorted by namespace and name,
    /// with the resourceVersion of the snapshot.
    pub fn list(&self, res: ResourceId, namespace: Option<&str>) -> (u64, Vec<Arc<Stored>>) {
        let inner = self.lock();
        let map = &inner.objects[res.0 as usize];
        let items = match namespace {
            Some(ns) => map
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v.clone())
                .collect(),
            None => map.values().cloned().collect(),
        };
        (inner.rv, items)
    }

    /// Creates an object. `obj` must carry apiVersion and kind matching `res`.
    pub fn create(
        &self,
        res: ResourceId,
        namespace: &str,
        mut obj: Value,
        opts: &WriteOptions,
    ) -> Result<Arc<Stored>, StoreError> {
        let info = res.info();
        check_type(res, &obj)?;
        let now = self.now();
        let mut inner = self.lock();
        let meta = metadata_mut(&mut obj)?;
        check_namespace(res, namespace, meta)?;
        if info.namespaced {
            match namespace_state(&inner, namespace) {
                None => return Err(StoreError::NamespaceNotFound(namespace.to_string())),
                Some(true) => {
                    return Err(StoreError::Forbidden(format!(
                        "unable to create new content in namespace {namespace} because it is being terminated"
                    )));
                }
                Some(false) => {}
            }
        }
        let name = match meta.get("name").and_then(Value::as_str) {
            Some(n) if !n.is_empty() => n.to_string(),
            _ => match meta.get("generateName").and_then(Value::as_str) {
                Some(base) if !base.is_empty() => names::generate_name(base, &mut inner.rng),
                _ => return Err(StoreError::NameRequired),
            },
        };
        let generate = meta
            .get("generateName")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        super::validate::on_create(info, &name, &generate, &obj)?;
        let meta = metadata_mut(&mut obj)?;
        // Quota admission runs after validation and before storage (so before "exists").
        if info.kind == "Pod" {
            let used = inner.objects[res.0 as usize].len();
            if let Some(error) = quota::exceeded(inner.max_pods, used, &name) {
                return Err(error);
            }
        }
        let key = (namespace.to_string(), name.clone());
        if inner.objects[res.0 as usize].contains_key(&key) {
            return Err(StoreError::AlreadyExists(name));
        }
        meta.insert("name".into(), Value::from(name.clone()));
        if info.namespaced {
            meta.insert("namespace".into(), Value::from(namespace));
        } else {
            meta.remove("namespace");
        }
        let uid = uuid_from(&mut inner.rng);
        meta.insert("uid".into(), Value::from(uid));
        meta.insert("creationTimestamp".into(), Value::from(format_time(now)));
        meta.insert("generation".into(), Value::from(1));
        meta.remove("deletionTimestamp");
        meta.remove("deletionGracePeriodSeconds");
        meta.remove("resourceVersion");
        if info.kind == "PersistentVolumeClaim" {
            let classes = super::resources::lookup("storage.k8s.io", "v1", "storageclasses");
            let values: Vec<Value> = classes
                .map(|c| {
                    inner.objects[c.0 as usize]
                        .values()
                        .map(|s| s.value())
                        .collect()
                })
                .unwrap_or_default();
            defaults::default_claim_class(&mut obj, values.iter());
        }
        defaults::on_create(info.kind, &mut obj, &mut inner.alloc).map_err(|(field, body)| {
            StoreError::Invalid {
                name: name.clone(),
                errors: vec![super::validate::from_body(field, &body)],
            }
        })?;
        if opts.dry_run {
            let mut preview = obj;
            inner.alloc.release(info.kind, &preview);
            set_rv(&mut preview, inner.rv);
            return Ok(Arc::new(Stored::from_value(preview, inner.rv)));
        }
        let refs = obj.pointer("/metadata/ownerReferences").cloned();
        let stored = commit(
            &mut inner,
            &self.events,
            res,
            key.clone(),
            obj,
            EventType::Added,
            None,
        );
        if !stored.owner_uids.is_empty() {
            gc::references_changed(&mut inner, &self.events, now, res, key, None, refs.as_ref());
        }
        Ok(stored)
    }

    /// Replaces an object (PUT). `scope` says whether this is the main resource or `/status`.
    pub fn update(
        &self,
        res: ResourceId,
        namespace: &str,
        name: &str,
        obj: Value,
        scope: UpdateScope,
        opts: &WriteOptions,
    ) -> Result<Arc<Stored>, StoreError> {
        self.update_with(res, namespace, name, scope, opts, |_| Ok(obj))
            .map(|(stored, _)| stored)
    }

    /// Read-modify-write under the store lock: `f` gets the current object and returns the
    /// desired one. A `metadata.resourceVersion` in the result must equal the current one
    /// (optimistic concurrency), unless it is absent. Returns the stored object and whether
    /// anything changed.
    pub fn update_with(
        &self,
        res: ResourceId,
        namespace: &str,
        name: &str,
        scope: UpdateScope,
        opts: &WriteOptions,
        f: impl FnOnce(&Value) -> Result<Value, StoreError>,
    ) -> Result<(Arc<Stored>, bool), StoreError> {
        let now = self.now();
        let mut inner = self.lock();
        let key = (namespace.to_string(), name.to_string());
        let current = inner.objects[res.0 as usize]
            .get(&key)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        let old = current.value();
        let mut new = f(&old)?;
        check_type(res, &new)?;
        {
            let meta = metadata_mut(&mut new)?;
            check_namespace(res, namespace, meta)?;
            if let Some(n) = meta.get("name").and_then(Value::as_str)
                && n != name
            {
                return Err(StoreError::BadRequest(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            if let Some(rv) = meta.get("resourceVersion").and_then(Value::as_str)
                && !rv.is_empty()
                && rv != current.rv.to_string()
            {
                return Err(StoreError::Conflict(name.to_string()));
            }
        }
        if scope != UpdateScope::Status {
            // Before comparing specs, so defaulted fields do not count as a change.
            defaults::on_update(res.info().kind, &old, &mut new);
        }
        let mut new = merge_server_owned(res, &old, new, scope);
        super::validate::on_update(res.info(), name, scope, &old, &new)?;
        let deleting = old.pointer("/metadata/deletionTimestamp").is_some();
        if deleting {
            let finalizers_added = finalizers(&new)
                .iter()
                .any(|f| !finalizers(&old).contains(f));
            if finalizers_added {
                return Err(StoreError::Forbidden(
                    "no new finalizers can be added if the object is being deleted".into(),
                ));
            }
        }
        if strip_rv(&new) == strip_rv(&old) {
            // No-op writes keep the resourceVersion and emit nothing, like the real server.
            return Ok((current, false));
        }
        if opts.dry_run {
            set_rv(&mut new, current.rv);
            return Ok((Arc::new(Stored::from_value(new, current.rv)), true));
        }
        if deleting && !held(res, &new) {
            let stored = gc::gone(&mut inner, &self.events, now, res, key, new);
            return Ok((stored, true));
        }
        let refs = |v: &Value| v.pointer("/metadata/ownerReferences").cloned();
        let (old_refs, new_refs) = (refs(&old), refs(&new));
        let stored = commit(
            &mut inner,
            &self.events,
            res,
            key.clone(),
            new,
            EventType::Modified,
            Some(current.clone()),
        );
        if old_refs != new_refs {
            gc::references_changed(
                &mut inner,
                &self.events,
                now,
                res,
                key,
                old_refs.as_ref(),
                new_refs.as_ref(),
            );
        }
        Ok((stored, true))
    }

    /// Deletes an object with the given options. Finalizers defer the removal; owners'
    /// dependents are handled per the propagation policy.
    pub fn delete(
        &self,
        res: ResourceId,
        namespace: &str,
        name: &str,
        opts: &DeleteOptions,
    ) -> Result<Deleted, StoreError> {
        let now = self.now();
        let mut inner = self.lock();
        let key = (namespace.to_string(), name.to_string());
        let current = inner.objects[res.0 as usize]
            .get(&key)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(name.to_string()))?;
        let uid_differs = opts
            .precondition_uid
            .as_ref()
            .is_some_and(|u| *u != current.uid);
        let rv_differs = opts
            .precondition_rv
            .as_ref()
            .is_some_and(|rv| *rv != current.rv.to_string());
        if uid_differs || rv_differs {
            return Err(StoreError::Conflict(name.to_string()));
        }
        if opts.dry_run {
            return Ok(Deleted::Gone(current));
        }
        gc::delete_object(
            &mut inner,
            &self.events,
            now,
            res,
            key,
            opts.propagation,
            opts.grace_period_seconds,
        )
    }

    /// Starts a watch. With `from` = None the caller gets the current objects to send as
    /// ADDED; with Some(rv) it gets the events after `rv` from history (or `Expired`).
    /// The receiver delivers every later event in order, with no gap.
    pub fn watch(
        &self,
        res: ResourceId,
        namespace: Option<&str>,
        from: Option<u64>,
    ) -> Result<WatchStart, StoreError> {
        let inner = self.lock();
        let receiver = self.events.subscribe();
        match from {
            None => {
                let map = &inner.objects[res.0 as usize];
                let initial = map
                    .iter()
                    .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
                    .map(|(_, v)| v.clone())
                    .collect();
                Ok(WatchStart {
                    rv: inner.rv,
                    initial,
                    backlog: Vec::new(),
                    receiver,
                    compacted: self.compactions.subscribe(),
                })
            }
            Some(rv) => {
                if rv < inner.history.floor() {
                    return Err(StoreError::Expired {
                        requested: rv,
                        oldest: inner.history.floor(),
                    });
                }
                let backlog = inner.history.since(rv, res, namespace);
                Ok(WatchStart {
                    rv: inner.rv,
                    initial: Vec::new(),
                    backlog,
                    receiver,
                    compacted: self.compactions.subscribe(),
                })
            }
        }
    }

    /// Every later event of every resource, and the resourceVersion it starts after: what
    /// in-process controllers follow.
    pub fn subscribe(&self) -> (u64, broadcast::Receiver<Arc<Event>>) {
        let inner = self.lock();
        (inner.rv, self.events.subscribe())
    }

    /// Forgets history up to the current resourceVersion, like an etcd compaction: open
    /// watches end with `410 Expired` and any watch from an older resourceVersion gets it
    /// too, so clients relist. Tests use it to force relists.
    pub fn compact(&self) {
        let mut inner = self.lock();
        let floor = inner.rv + 1;
        inner.history.reset(floor);
        self.compactions.send_modify(|v| *v = floor);
    }

    /// How long events stay in the history (beyond a small lower bound): upstream's
    /// fresh duration, the bookmark interval plus 15 s, so a watcher's last bookmark is
    /// still in it when it resumes.
    pub fn set_history_fresh(&self, fresh: Duration) {
        self.lock().history.set_fresh(fresh);
    }

    /// Drops history that has gone stale since the last write, and returns the bytes the
    /// history dropped since the last call (writes trim it too). The server's housekeeping
    /// calls it, so a lab that went quiet after a burst still gives the burst's events up.
    pub fn trim_history(&self) -> usize {
        let mut inner = self.lock();
        inner.history.trim(Instant::now());
        inner.history.take_dropped()
    }
}

fn commit(
    inner: &mut Inner,
    events: &broadcast::Sender<Arc<Event>>,
    res: ResourceId,
    key: (String, String),
    mut value: Value,
    kind: EventType,
    prev: Option<Arc<Stored>>,
) -> Arc<Stored> {
    inner.rv += 1;
    let rv = inner.rv;
    set_rv(&mut value, rv);
    let stored = Arc::new(Stored::from_value(value, rv));
    inner.objects[res.0 as usize].insert(key.clone(), stored.clone());
    publish(inner, events, res, key, kind, stored.clone(), prev);
    stored
}

fn remove(
    inner: &mut Inner,
    events: &broadcast::Sender<Arc<Event>>,
    res: ResourceId,
    key: (String, String),
    mut value: Value,
) -> Arc<Stored> {
    let prev = inner.objects[res.0 as usize].remove(&key);
    inner.alloc.release(res.info().kind, &value);
    inner.rv += 1;
    let rv = inner.rv;
    // DELETED carries the last state with a new resourceVersion.
    set_rv(&mut value, rv);
    let stored = Arc::new(Stored::from_value(value, rv));
    publish(
        inner,
        events,
        res,
        key,
        EventType::Deleted,
        stored.clone(),
        prev,
    );
    stored
}

fn publish(
    inner: &mut Inner,
    events: &broadcast::Sender<Arc<Event>>,
    res: ResourceId,
    key: (String, String),
    kind: EventType,
    object: Arc<Stored>,
    prev: Option<Arc<Stored>>,
) {
    let event = Arc::new(Event::new(inner.rv, res, key.0, key.1, kind, object, prev));
    inner.history.push(event.clone(), Instant::now());
    // No receivers is fine: nobody is watching.
    let _ = events.send(event);
}

fn delete_namespace_contents(inner: &mut Inner, events: &broadcast::Sender<Arc<Event>>, ns: &str) {
    for i in 0..inner.objects.len() {
        let res = ResourceId(i as u16);
        if !res.info().namespaced {
            continue;
        }
        let keys: Vec<(String, String)> = inner.objects[i]
            .keys()
            .filter(|(n, _)| n == ns)
            .cloned()
            .collect();
        for key in keys {
            if let Some(stored) = inner.objects[i].get(&key).cloned() {
                remove(inner, events, res, key, stored.value());
            }
        }
    }
}

/// None when the namespace does not exist, Some(true) when it is terminating.
fn namespace_state(inner: &Inner, namespace: &str) -> Option<bool> {
    let ns_res = RESOURCES
        .iter()
        .position(|r| r.kind == "Namespace")
        .unwrap_or(0);
    inner.objects[ns_res]
        .get(&(String::new(), namespace.to_string()))
        .map(|ns| ns.value().pointer("/metadata/deletionTimestamp").is_some())
}

fn check_type(res: ResourceId, obj: &Value) -> Result<(), StoreError> {
    let info = res.info();
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if !obj.is_object() {
        return Err(StoreError::BadRequest(
            "the object is not a JSON object".into(),
        ));
    }
    if kind != info.kind || api_version != info.api_version() {
        return Err(StoreError::BadRequest(format!(
            "the API version in the data ({api_version}) and kind ({kind}) do not match the \
             request ({}, {}); expected apiVersion: {} and kind: {}",
            info.api_version(),
            info.kind,
            info.api_version(),
            info.kind
        )));
    }
    Ok(())
}

fn check_namespace(
    res: ResourceId,
    namespace: &str,
    meta: &Map<String, Value>,
) -> Result<(), StoreError> {
    if !res.info().namespaced {
        return Ok(());
    }
    match meta.get("namespace").and_then(Value::as_str) {
        Some(ns) if !ns.is_empty() && ns != namespace => Err(StoreError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        )),
        _ => Ok(()),
    }
}

fn metadata_mut(obj: &mut Value) -> Result<&mut Map<String, Value>, StoreError> {
    let map = obj
        .as_object_mut()
        .ok_or_else(|| StoreError::BadRequest("the object is not a JSON object".into()))?;
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if meta.is_null() {
        *meta = json!({});
    }
    meta.as_object_mut()
        .ok_or_else(|| StoreError::BadRequest("metadata must be an object".into()))
}

/// Keeps what the server owns when a client replaces an object: uid, creationTimestamp,
/// deletion fields; status (main resource) or everything but status (`/status`); and bumps
/// generation when the spec changed.
fn merge_server_owned(res: ResourceId, old: &Value, mut new: Value, scope: UpdateScope) -> Value {
    let info = res.info();
    match scope {
        UpdateScope::Status => {
            let status = new.get("status").cloned();
            let mut merged = old.clone();
            if let Some(map) = merged.as_object_mut() {
                match status {
                    Some(s) => map.insert("status".into(), s),
                    None => map.remove("status"),
                };
            }
            return merged;
        }
        UpdateScope::Main if info.status => {
            if let Some(map) = new.as_object_mut() {
                match old.get("status") {
                    Some(s) => map.insert("status".into(), s.clone()),
                    None => map.remove("status"),
                };
            }
        }
        UpdateScope::Main | UpdateScope::Internal => {}
    }
    if let (Some(meta), Some(old_meta)) = (
        new.get_mut("metadata").and_then(Value::as_object_mut),
        old.get("metadata").and_then(Value::as_object),
    ) {
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "name",
            "namespace",
        ] {
            match old_meta.get(field) {
                Some(v) => meta.insert(field.into(), v.clone()),
                None => meta.remove(field),
            };
        }
        meta.remove("resourceVersion");
    }
    if spec_of(old) != spec_of(&new) {
        bump_generation(&mut new);
    }
    new
}

/// Everything but metadata and status: what counts as "spec" for generation.
fn spec_of(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    v
}

fn bump_generation(v: &mut Value) {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        let g = meta.get("generation").and_then(Value::as_i64).unwrap_or(0);
        meta.insert("generation".into(), Value::from(g + 1));
    }
}

fn strip_rv(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("resourceVersion");
    }
    v
}

fn set_rv(v: &mut Value, rv: u64) {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::from(rv.to_string()));
    }
}

/// Whether something still holds a deleted object: metadata finalizers, a graceful
/// deletion still running (a pod's kubelet ends it), or for a namespace its spec finalizers.
fn held(res: ResourceId, v: &Value) -> bool {
    !finalizers(v).is_empty()
        || v.pointer("/metadata/deletionGracePeriodSeconds")
            .and_then(Value::as_i64)
            .is_some_and(|g| g > 0)
        || (res.info().kind == "Namespace"
            && v.pointer("/spec/finalizers")
                .and_then(Value::as_array)
                .is_some_and(|f| !f.is_empty()))
}

pub(crate) fn finalizers(v: &Value) -> Vec<String> {
    v.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// RFC 3339 to the second, UTC, as metav1.Time.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn uuid_from(rng: &mut StdRng) -> String {
    let bytes: [u8; 16] = rng.random();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
