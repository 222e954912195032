//! The raw list and watch requests behind the explorer's watches, and how one item becomes
//! what a store keeps: decoded one by one, so a bad object is skipped, not fatal.

use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::api::{ListParams, ObjectList, PartialObjectMeta, WatchEvent, WatchParams};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Scope, trim};
use kdive_core::model::stored_pod::{NamespaceNames, StoredPod};

/// The raw list and watch requests of one resource: items arrive as JSON and are decoded
/// one by one, so an object the schema cannot read is skipped (and named) instead of
/// failing the whole list or stopping the watch.
pub(super) struct Watching {
    pub(super) client: kube::Client,
    pub(super) stall_after: Duration,
}

pub(super) struct Raw {
    client: kube::Client,
    pub(super) stall_after: Duration,
    request: kube::core::Request,
    /// `as=PartialObjectMetadata(List)`: Secrets, whose values must not be fetched.
    metadata_only: bool,
}

impl Raw {
    pub(super) fn new<K>(w: &Watching, scope: Option<&Scope>, metadata_only: bool) -> Raw
    where
        K: Resource,
        K::DynamicType: Default,
    {
        let ns = match scope {
            Some(Scope::Namespace(ns)) => Some(ns.as_str()),
            _ => None,
        };
        Raw {
            client: w.client.clone(),
            stall_after: w.stall_after,
            request: kube::core::Request::new(K::url_path(&Default::default(), ns)),
            metadata_only,
        }
    }

    pub(super) async fn list(&self, lp: &ListParams) -> kube::Result<ObjectList<Value>> {
        let req = match self.metadata_only {
            true => self.request.list_metadata(lp),
            false => self.request.list(lp),
        };
        self.client
            .request(req.map_err(kube::Error::BuildRequest)?)
            .await
    }

    pub(super) async fn watch(
        &self,
        wp: &WatchParams,
        rv: &str,
    ) -> kube::Result<futures::stream::BoxStream<'static, kube::Result<WatchEvent<Value>>>> {
        let req = match self.metadata_only {
            true => self.request.watch_metadata(wp, rv),
            false => self.request.watch(wp, rv),
        };
        let events = self
            .client
            .request_events::<Value>(req.map_err(kube::Error::BuildRequest)?)
            .await?;
        Ok(events.boxed())
    }
}

/// What a watch loop needs: the raw requests, and how to turn one item into what the
/// store keeps.
pub(super) trait WatchApi: Send + Sync + 'static {
    type Obj: Resource + Clone + Send + Sync + 'static;
    fn raw(&self) -> &Raw;
    /// Decodes one object; the error names the field that could not be read.
    fn decode(&self, v: Value) -> Result<Self::Obj, String>;
    /// A stand-in with just this name, to drop an object from the store.
    fn tombstone(&self, meta: ObjectMeta) -> Self::Obj;
}

pub(super) fn decode_as<T: DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_path_to_error::deserialize::<_, T>(v).map_err(|e| {
        let path = e.path().to_string();
        match path.as_str() {
            "." | "" => e.into_inner().to_string(),
            _ => format!("{path}: {}", e.into_inner()),
        }
    })
}

pub(super) struct Full<K>(Raw, PhantomData<K>);
pub(super) struct Meta<K>(pub(super) Raw, pub(super) PhantomData<K>);

impl<K: Resource> Full<K>
where
    K::DynamicType: Default,
{
    pub(super) fn new(w: &Watching, scope: Option<&Scope>) -> Self {
        Full(Raw::new::<K>(w, scope, false), PhantomData)
    }
}
/// Pods, kept as [`StoredPod`]s sharing their namespaces' names.
pub(super) struct Stored(
    pub(super) Raw,
    pub(super) Arc<std::sync::Mutex<NamespaceNames>>,
);

impl<K> WatchApi for Full<K>
where
    K: Resource + k8s_openapi::Metadata<Ty = ObjectMeta> + Default + Clone,
    K: DeserializeOwned + Debug + Send + Sync + 'static,
{
    type Obj = K;
    fn raw(&self) -> &Raw {
        &self.0
    }
    fn decode(&self, v: Value) -> Result<K, String> {
        decode_as(v)
    }
    fn tombstone(&self, meta: ObjectMeta) -> K {
        let mut k = K::default();
        *k.meta_mut() = meta;
        k
    }
}

impl<K> WatchApi for Meta<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
{
    type Obj = PartialObjectMeta<K>;
    fn raw(&self) -> &Raw {
        &self.0
    }
    fn decode(&self, v: Value) -> Result<PartialObjectMeta<K>, String> {
        decode_as(v)
    }
    fn tombstone(&self, meta: ObjectMeta) -> PartialObjectMeta<K> {
        PartialObjectMeta {
            types: None,
            metadata: meta,
            _phantom: Default::default(),
        }
    }
}

impl WatchApi for Stored {
    type Obj = StoredPod;
    fn raw(&self) -> &Raw {
        &self.0
    }
    fn decode(&self, v: Value) -> Result<StoredPod, String> {
        decode_as::<Pod>(v).map(|p| stored(p, &self.1))
    }
    fn tombstone(&self, meta: ObjectMeta) -> StoredPod {
        stored(
            Pod {
                metadata: meta,
                ..Pod::default()
            },
            &self.1,
        )
    }
}

/// Namespace, name and resourceVersion of an item that may not decode as its kind.
pub(super) fn raw_meta(v: &Value) -> ObjectMeta {
    let text = |f: &str| {
        v.get("metadata")
            .and_then(|m| m.get(f))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    ObjectMeta {
        namespace: text("namespace"),
        name: text("name"),
        resource_version: text("resourceVersion"),
        ..ObjectMeta::default()
    }
}

pub(super) fn stored(mut pod: Pod, names: &std::sync::Mutex<NamespaceNames>) -> StoredPod {
    trim(&mut pod);
    StoredPod::new(pod, &mut names.lock().unwrap_or_else(|e| e.into_inner()))
}
