//! Live watches: one list-then-watch loop per kind into a kube-rs reflector store.
//!
//! The loop is written out (rather than `kube::runtime::watcher`) because the explorer shows
//! what the watch protocol does: every ADDED/MODIFIED/DELETED/BOOKMARK with its
//! resourceVersion, relists, and the state of each watch. Objects are trimmed before they are
//! stored (no managedFields, no last-applied annotation); Secrets are watched as metadata only,
//! so their values never enter memory; pods are kept as [`StoredPod`]s (a third of the size).

use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
    Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{ListParams, PartialObjectMeta, WatchEvent, WatchParams};
use kube::runtime::reflector::{self, Store, store::Writer};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use super::failure::Failure;

#[path = "kube_raw.rs"]
mod raw;
use kdive_core::model::kind::Kind;
use kdive_core::model::stored_pod::{NamespaceNames, StoredPod};
use raw::{Full, Meta, Raw, Stored, WatchApi, Watching, raw_meta, stored};

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const PAGE_SIZE: u32 = 500;
const WATCH_TIMEOUT_SECS: u32 = 290;

/// Read handles on what the watches keep. Cheap to clone; read-only.
#[derive(Clone)]
pub struct Stores {
    pub namespaces: Store<Namespace>,
    pub nodes: Store<Node>,
    pub pods: Store<StoredPod>,
    pub services: Store<Service>,
    pub endpoint_slices: Store<EndpointSlice>,
    pub deployments: Store<Deployment>,
    pub replica_sets: Store<ReplicaSet>,
    pub stateful_sets: Store<StatefulSet>,
    pub config_maps: Store<ConfigMap>,
    pub secrets: Store<PartialObjectMeta<Secret>>,
    pub pvcs: Store<PersistentVolumeClaim>,
    pub pvs: Store<PersistentVolume>,
    pub events: Store<Event>,
}

/// The writers matching [`Stores`]; whoever feeds the stores (the watch loops, or a test)
/// owns them.
pub struct Writers {
    pub namespaces: Writer<Namespace>,
    pub nodes: Writer<Node>,
    pub pods: Writer<StoredPod>,
    /// The pods' namespace names, one string each, shared by every stored pod.
    pub pod_namespaces: Arc<std::sync::Mutex<NamespaceNames>>,
    pub services: Writer<Service>,
    pub endpoint_slices: Writer<EndpointSlice>,
    pub deployments: Writer<Deployment>,
    pub replica_sets: Writer<ReplicaSet>,
    pub stateful_sets: Writer<StatefulSet>,
    pub config_maps: Writer<ConfigMap>,
    pub secrets: Writer<PartialObjectMeta<Secret>>,
    pub pvcs: Writer<PersistentVolumeClaim>,
    pub pvs: Writer<PersistentVolume>,
    pub events: Writer<Event>,
}

/// Empty stores and their writers.
pub fn stores() -> (Stores, Writers) {
    let (namespaces, w_namespaces) = reflector::store();
    let (nodes, w_nodes) = reflector::store();
    let (pods, w_pods) = reflector::store();
    let (services, w_services) = reflector::store();
    let (endpoint_slices, w_endpoint_slices) = reflector::store();
    let (deployments, w_deployments) = reflector::store();
    let (replica_sets, w_replica_sets) = reflector::store();
    let (stateful_sets, w_stateful_sets) = reflector::store();
    let (config_maps, w_config_maps) = reflector::store();
    let (secrets, w_secrets) = reflector::store();
    let (pvcs, w_pvcs) = reflector::store();
    let (pvs, w_pvs) = reflector::store();
    let (events, w_events) = reflector::store();
    (
        Stores {
            namespaces,
            nodes,
            pods,
            services,
            endpoint_slices,
            deployments,
            replica_sets,
            stateful_sets,
            config_maps,
            secrets,
            pvcs,
            pvs,
            events,
        },
        Writers {
            namespaces: w_namespaces,
            nodes: w_nodes,
            pods: w_pods,
            pod_namespaces: Default::default(),
            services: w_services,
            endpoint_slices: w_endpoint_slices,
            deployments: w_deployments,
            replica_sets: w_replica_sets,
            stateful_sets: w_stateful_sets,
            config_maps: w_config_maps,
            secrets: w_secrets,
            pvcs: w_pvcs,
            pvs: w_pvs,
            events: w_events,
        },
    )
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores")
            .field("pods", &self.pods.len())
            .finish_non_exhaustive()
    }
}

impl Stores {
    pub fn len(&self, kind: Kind) -> usize {
        match kind {
            Kind::Namespace => self.namespaces.len(),
            Kind::Node => self.nodes.len(),
            Kind::Pod => self.pods.len(),
            Kind::Service => self.services.len(),
            Kind::EndpointSlice => self.endpoint_slices.len(),
            Kind::Deployment => self.deployments.len(),
            Kind::ReplicaSet => self.replica_sets.len(),
            Kind::StatefulSet => self.stateful_sets.len(),
            Kind::ConfigMap => self.config_maps.len(),
            Kind::Secret => self.secrets.len(),
            Kind::PersistentVolumeClaim => self.pvcs.len(),
            Kind::PersistentVolume => self.pvs.len(),
            Kind::Event => self.events.len(),
        }
    }
}

impl Writers {
    /// Stores one object given as JSON (any watched kind; a Secret keeps metadata only), as
    /// a watch's ADDED/MODIFIED would. For fixtures and tests.
    pub fn apply_value(&mut self, v: serde_json::Value) -> Result<Kind, String> {
        fn put<K>(w: &mut Writer<K>, v: serde_json::Value) -> Result<(), String>
        where
            K: Resource + DeserializeOwned + Clone,
            K::DynamicType: Default + Eq + std::hash::Hash + Clone,
        {
            let mut obj: K = serde_json::from_value(v).map_err(|e| e.to_string())?;
            trim(&mut obj);
            w.apply_watcher_event(&watcher::Event::Apply(obj));
            Ok(())
        }
        let kind = v.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.name() == kind)
            .ok_or_else(|| format!("{kind:?} is not a kind the explorer watches"))?;
        match kind {
            Kind::Namespace => put(&mut self.namespaces, v),
            Kind::Node => put(&mut self.nodes, v),
            Kind::Pod => {
                let pod: Pod = serde_json::from_value(v).map_err(|e| e.to_string())?;
                self.pods
                    .apply_watcher_event(&watcher::Event::Apply(stored(pod, &self.pod_namespaces)));
                Ok(())
            }
            Kind::Service => put(&mut self.services, v),
            Kind::EndpointSlice => put(&mut self.endpoint_slices, v),
            Kind::Deployment => put(&mut self.deployments, v),
            Kind::ReplicaSet => put(&mut self.replica_sets, v),
            Kind::StatefulSet => put(&mut self.stateful_sets, v),
            Kind::ConfigMap => put(&mut self.config_maps, v),
            Kind::Secret => {
                let mut v = v;
                if let Some(m) = v.as_object_mut() {
                    m.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata"));
                }
                put(&mut self.secrets, v)
            }
            Kind::PersistentVolumeClaim => put(&mut self.pvcs, v),
            Kind::PersistentVolume => put(&mut self.pvs, v),
            Kind::Event => put(&mut self.events, v),
        }?;
        Ok(kind)
    }
}

/// One watch's state, as the status bar shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum WatchState {
    Syncing,
    Synced,
    Reconnecting {
        attempt: u32,
        error: String,
        retry_in: Duration,
    },
    /// RBAC says no; retried slowly in case a binding appears.
    Forbidden {
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteType {
    Added,
    Modified,
    Deleted,
    Bookmark,
    /// A full list replaced the store (first sync, or after a lost watch).
    Listed,
}

impl NoteType {
    pub fn as_str(self) -> &'static str {
        match self {
            NoteType::Added => "ADDED",
            NoteType::Modified => "MODIFIED",
            NoteType::Deleted => "DELETED",
            NoteType::Bookmark => "BOOKMARK",
            NoteType::Listed => "LIST",
        }
    }
}

/// One thing a watch saw, for the watch inspector.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchNote {
    pub kind: Kind,
    pub ty: NoteType,
    pub namespace: Option<String>,
    /// Object name; for `Listed`, the number of objects.
    pub name: String,
    pub resource_version: String,
    pub at: DateTime<Utc>,
}

/// An object the watch received but could not decode as its kind; it is left out of the
/// store, and the watch goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
    pub resource_version: String,
    /// The field and what was wrong with it (`data.k: invalid type: map, expected a string`).
    pub error: String,
    pub at: DateTime<Utc>,
}

impl Skipped {
    fn of(kind: Kind, meta: ObjectMeta, error: String) -> Skipped {
        Skipped {
            kind,
            namespace: meta.namespace,
            name: meta.name.unwrap_or_default(),
            resource_version: meta.resource_version.unwrap_or_default(),
            error,
            at: Utc::now(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum KubeMsg {
    /// The store of this kind changed; pull from it.
    Changed(Kind),
    State(Kind, WatchState),
    Note(WatchNote),
    /// Objects left out: after a list (`relisted`: these are all there are now), or one
    /// from a watch event.
    Skipped {
        kind: Kind,
        relisted: bool,
        objects: Vec<Skipped>,
    },
}

pub type Sink = Arc<dyn Fn(KubeMsg) + Send + Sync>;

/// Where to watch namespaced kinds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Namespace(String),
}

/// How long a watch may hear nothing, not even a bookmark, before it counts the server as
/// stalled and starts over: twice the interval at which the server promises to say
/// something (the lab's bookmark interval; elsewhere the watch timeout kube-rs asks for,
/// when the server must close the watch).
pub fn stall_window(bookmark_interval: Option<Duration>) -> Duration {
    2 * bookmark_interval.unwrap_or(Duration::from_secs(u64::from(WATCH_TIMEOUT_SECS)))
}

/// Starts one watch task per kind. Abort the handles to stop them. A watch silent for
/// `stall_after` is restarted (see [`stall_window`]).
pub fn spawn_watches(
    client: kube::Client,
    scope: &Scope,
    writers: Writers,
    sink: Sink,
    stall_after: Duration,
) -> Vec<JoinHandle<()>> {
    let c = &Watching {
        client,
        stall_after,
    };
    let w = writers;
    vec![
        spawn(
            Kind::Namespace,
            Full::new(c, None),
            w.namespaces,
            sink.clone(),
        ),
        spawn(Kind::Node, Full::new(c, None), w.nodes, sink.clone()),
        spawn(
            Kind::Pod,
            Stored(
                Raw::new::<Pod>(c, Some(scope), false),
                w.pod_namespaces.clone(),
            ),
            w.pods,
            sink.clone(),
        ),
        spawn(
            Kind::Service,
            Full::new(c, Some(scope)),
            w.services,
            sink.clone(),
        ),
        spawn(
            Kind::EndpointSlice,
            Full::new(c, Some(scope)),
            w.endpoint_slices,
            sink.clone(),
        ),
        spawn(
            Kind::Deployment,
            Full::new(c, Some(scope)),
            w.deployments,
            sink.clone(),
        ),
        spawn(
            Kind::ReplicaSet,
            Full::new(c, Some(scope)),
            w.replica_sets,
            sink.clone(),
        ),
        spawn(
            Kind::StatefulSet,
            Full::new(c, Some(scope)),
            w.stateful_sets,
            sink.clone(),
        ),
        spawn(
            Kind::ConfigMap,
            Full::new(c, Some(scope)),
            w.config_maps,
            sink.clone(),
        ),
        spawn(
            Kind::Secret,
            Meta::<Secret>(Raw::new::<Secret>(c, Some(scope), true), PhantomData),
            w.secrets,
            sink.clone(),
        ),
        spawn(
            Kind::PersistentVolumeClaim,
            Full::new(c, Some(scope)),
            w.pvcs,
            sink.clone(),
        ),
        spawn(
            Kind::PersistentVolume,
            Full::new(c, None),
            w.pvs,
            sink.clone(),
        ),
        spawn(Kind::Event, Full::new(c, Some(scope)), w.events, sink),
    ]
}

fn spawn<A>(kind: Kind, api: A, writer: Writer<A::Obj>, sink: Sink) -> JoinHandle<()>
where
    A: WatchApi,
    <A::Obj as Resource>::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    tokio::spawn(watch_loop(kind, api, writer, sink))
}

/// Removes what the explorer never shows and would only cost memory.
pub fn trim<K: Resource + 'static>(obj: &mut K) {
    if let Some(pod) = (obj as &mut dyn std::any::Any).downcast_mut::<Pod>() {
        trim_pod(pod);
    }
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove(LAST_APPLIED);
        if a.is_empty() {
            meta.annotations = None;
        }
    }
}

/// Pods are most of what the explorer holds: drop what no pane shows and every pod
/// repeats (the defaulted tolerations; the sources of the service-account token volume,
/// whose name and kind stay).
fn trim_pod(pod: &mut Pod) {
    if let Some(spec) = pod.spec.as_mut() {
        spec.tolerations = None;
        for v in spec.volumes.iter_mut().flatten() {
            if let Some(p) = v.projected.as_mut() {
                p.sources = None;
            }
        }
    }
}

async fn watch_loop<A>(kind: Kind, api: A, mut writer: Writer<A::Obj>, sink: Sink)
where
    A: WatchApi,
    <A::Obj as Resource>::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let mut attempt: u32 = 0;
    sink(KubeMsg::State(kind, WatchState::Syncing));
    loop {
        let rv = match list_into(kind, &api, &mut writer).await {
            Ok((rv, count, skipped)) => {
                attempt = 0;
                sink(KubeMsg::Skipped {
                    kind,
                    relisted: true,
                    objects: skipped,
                });
                sink(KubeMsg::State(kind, WatchState::Synced));
                sink(KubeMsg::Changed(kind));
                sink(KubeMsg::Note(WatchNote {
                    kind,
                    ty: NoteType::Listed,
                    namespace: None,
                    name: count.to_string(),
                    resource_version: rv.clone(),
                    at: Utc::now(),
                }));
                rv
            }
            Err(e) => {
                attempt += 1;
                wait_after(kind, &e, attempt, &sink).await;
                continue;
            }
        };
        let reason = watch_from(kind, &api, &mut writer, rv, &sink).await;
        attempt += 1;
        reconnect(kind, attempt, reason, &sink).await;
    }
}

/// Lists every page into the store (replacing what it held); returns the list's
/// resourceVersion, the object count and the objects that could not be decoded. Pages go
/// into the writer's buffer as they come (it swaps them in only when the list is complete,
/// so a failed page leaves the previous state in place, and the next attempt's `Init` drops
/// the partial buffer).
async fn list_into<A>(
    kind: Kind,
    api: &A,
    writer: &mut Writer<A::Obj>,
) -> kube::Result<(String, usize, Vec<Skipped>)>
where
    A: WatchApi,
    <A::Obj as Resource>::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    let mut lp = ListParams::default().limit(PAGE_SIZE);
    let mut count = 0;
    let mut skipped = Vec::new();
    writer.apply_watcher_event(&watcher::Event::Init);
    let rv = loop {
        let page = api.raw().list(&lp).await?;
        for item in page.items {
            let meta = raw_meta(&item);
            match api.decode(item) {
                Ok(mut obj) => {
                    count += 1;
                    trim(&mut obj);
                    writer.apply_watcher_event(&watcher::Event::InitApply(obj));
                }
                Err(error) => skipped.push(Skipped::of(kind, meta, error)),
            }
        }
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => lp = lp.continue_token(&token),
            None => break page.metadata.resource_version.unwrap_or_default(),
        }
    };
    writer.apply_watcher_event(&watcher::Event::InitDone);
    Ok((rv, count, skipped))
}

/// Applies watch events from `rv` on until the resourceVersion is gone or the connection
/// breaks; returns why, and the loop lists again.
async fn watch_from<A>(
    kind: Kind,
    api: &A,
    writer: &mut Writer<A::Obj>,
    mut rv: String,
    sink: &Sink,
) -> String
where
    A: WatchApi,
    <A::Obj as Resource>::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    loop {
        let wp = WatchParams::default().timeout(WATCH_TIMEOUT_SECS);
        let stall = api.raw().stall_after;
        let stalled = || {
            format!(
                "the server stopped answering: nothing for {}s, not even a bookmark",
                stall.as_secs()
            )
        };
        let mut stream = match tokio::time::timeout(stall, api.raw().watch(&wp, &rv)).await {
            Err(_) => return stalled(),
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return short_error(&e),
        };
        loop {
            let Ok(next) = tokio::time::timeout(stall, stream.try_next()).await else {
                return stalled();
            };
            let next = match next {
                Ok(Some(ev)) => ev,
                // The server ended the watch (its timeout): watch again from where we are.
                Ok(None) => break,
                Err(e) => return short_error(&e),
            };
            let (ty, obj) = match next {
                WatchEvent::Added(o) => (NoteType::Added, o),
                WatchEvent::Modified(o) => (NoteType::Modified, o),
                WatchEvent::Deleted(o) => (NoteType::Deleted, o),
                WatchEvent::Bookmark(b) => {
                    rv = b.metadata.resource_version.clone();
                    sink(KubeMsg::Note(WatchNote {
                        kind,
                        ty: NoteType::Bookmark,
                        namespace: None,
                        name: String::new(),
                        resource_version: rv.clone(),
                        at: Utc::now(),
                    }));
                    continue;
                }
                WatchEvent::Error(e) if e.code == 410 => {
                    return format!("410 Gone: {}", e.message);
                }
                WatchEvent::Error(e) => return format!("{} {}", e.code, e.message),
            };
            let meta = raw_meta(&obj);
            let mut obj = match api.decode(obj) {
                Ok(obj) => obj,
                Err(error) => {
                    // What the store held under this name is no longer what the server has:
                    // drop it, and name the object and the field that could not be read.
                    rv = meta.resource_version.clone().unwrap_or_else(|| rv.clone());
                    writer
                        .apply_watcher_event(&watcher::Event::Delete(api.tombstone(meta.clone())));
                    let note = WatchNote {
                        kind,
                        ty,
                        namespace: meta.namespace.clone(),
                        name: meta.name.clone().unwrap_or_default(),
                        resource_version: rv.clone(),
                        at: Utc::now(),
                    };
                    sink(KubeMsg::Skipped {
                        kind,
                        relisted: false,
                        objects: vec![Skipped::of(kind, meta, error)],
                    });
                    // A deleted object is gone whatever its body said.
                    if ty == NoteType::Deleted {
                        sink(KubeMsg::Note(note));
                    }
                    sink(KubeMsg::Changed(kind));
                    continue;
                }
            };
            trim(&mut obj);
            rv = obj.resource_version().unwrap_or_else(|| rv.clone());
            let note = WatchNote {
                kind,
                ty,
                namespace: obj.namespace(),
                name: obj.name_any(),
                resource_version: rv.clone(),
                at: Utc::now(),
            };
            if ty == NoteType::Deleted {
                writer.apply_watcher_event(&watcher::Event::Delete(obj));
            } else {
                writer.apply_watcher_event(&watcher::Event::Apply(obj));
            }
            sink(KubeMsg::Note(note));
            sink(KubeMsg::Changed(kind));
        }
    }
}

async fn wait_after(kind: Kind, e: &kube::Error, attempt: u32, sink: &Sink) {
    if let Some(message) = forbidden(e) {
        sink(KubeMsg::State(kind, WatchState::Forbidden { message }));
        tokio::time::sleep(Duration::from_secs(30)).await;
        return;
    }
    reconnect(kind, attempt, short_error(e), sink).await;
}

/// Says the watch is reconnecting, then waits its back-off.
async fn reconnect(kind: Kind, attempt: u32, error: String, sink: &Sink) {
    let retry_in = backoff(attempt);
    sink(KubeMsg::State(
        kind,
        WatchState::Reconnecting {
            attempt,
            error,
            retry_in,
        },
    ));
    tokio::time::sleep(retry_in).await;
}

fn forbidden(e: &kube::Error) -> Option<String> {
    match Failure::of(e) {
        Failure::Forbidden(message) => Some(message),
        _ => None,
    }
}

/// 0.5 s doubling to 8 s: quick after a blip, gentle on a server that is down.
pub fn backoff(attempt: u32) -> Duration {
    let ms = 500u64 << attempt.saturating_sub(1).min(4);
    Duration::from_millis(ms)
}

fn short_error(e: &kube::Error) -> String {
    Failure::of(e).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap() {
        let ms: Vec<u128> = (1..=7).map(|a| backoff(a).as_millis()).collect();
        assert_eq!(ms, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
    }

    #[test]
    fn trim_drops_managed_fields_and_last_applied_only() {
        let mut pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": "p",
                "managedFields": [{"manager": "kubectl"}],
                "annotations": {LAST_APPLIED: "{}", "keep": "me"}
            },
            "spec": {
                "containers": [{"name": "c"}],
                "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}],
                "volumes": [{"name": "kube-api-access-x", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "token"}}]}}]
            }
        }))
        .unwrap();
        trim(&mut pod);
        assert!(pod.metadata.managed_fields.is_none());
        let ann = pod.metadata.annotations.unwrap();
        assert_eq!(ann.len(), 1);
        assert_eq!(ann["keep"], "me");
        let spec = pod.spec.unwrap();
        assert!(spec.tolerations.is_none());
        let vol = &spec.volumes.unwrap()[0];
        assert_eq!(vol.name, "kube-api-access-x");
        assert!(vol.projected.as_ref().unwrap().sources.is_none());
        assert_eq!(spec.containers.len(), 1);
    }
}
