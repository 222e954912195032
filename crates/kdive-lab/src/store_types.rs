//! Plain types of the store API: stored objects, events, options and errors.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};
use tokio::sync::broadcast;

use super::resources::ResourceId;

/// One stored object version. Kept as compact JSON (what lists and watches send) plus the
/// few fields the store indexes, so memory grows with the JSON size, not a parsed tree.
#[derive(Debug)]
pub struct Stored {
    pub rv: u64,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub json: Bytes,
    pub labels: Map<String, Value>,
    pub owner_uids: Vec<String>,
}

impl Stored {
    pub fn from_value(value: Value, rv: u64) -> Self {
        let text = |p: &str| {
            value
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let (namespace, name) = (text("/metadata/namespace"), text("/metadata/name"));
        let uid = value
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let labels = value
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let owner_uids = value
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .map(|refs| {
                refs.iter()
                    .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let json = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
        Self {
            rv,
            namespace,
            name,
            uid,
            json,
            labels,
            owner_uids,
        }
    }

    /// The object as a JSON tree (parsed on demand).
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// A committed change, as watchers see it.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    pub resource: ResourceId,
    pub namespace: String,
    pub name: String,
    pub kind: EventType,
    pub object: Arc<Stored>,
    /// The version before this change, so selector watches can tell "left the selection".
    pub prev: Option<Arc<Stored>>,
    /// The event as one watch line: `{"type":...,"object":...}\n`, encoded once.
    pub line: Bytes,
}

impl Event {
    /// Roughly what keeping this event costs: its watch line and the object versions it
    /// holds (an object shared with the store is counted anyway: it outlives the store's
    /// copy once the object changes).
    pub fn held_bytes(&self) -> usize {
        self.line.len() + self.object.json.len() + self.prev.as_ref().map_or(0, |p| p.json.len())
    }

    pub fn new(
        rv: u64,
        resource: ResourceId,
        namespace: String,
        name: String,
        kind: EventType,
        object: Arc<Stored>,
        prev: Option<Arc<Stored>>,
    ) -> Self {
        let line = watch_line(kind.as_str(), &object.json);
        Self {
            rv,
            resource,
            namespace,
            name,
            kind,
            object,
            prev,
            line,
        }
    }
}

/// Frames one watch event: compact JSON and a newline.
pub fn watch_line(kind: &str, object_json: &[u8]) -> Bytes {
    let mut line = Vec::with_capacity(object_json.len() + 32);
    line.extend_from_slice(b"{\"type\":\"");
    line.extend_from_slice(kind.as_bytes());
    line.extend_from_slice(b"\",\"object\":");
    line.extend_from_slice(object_json);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

/// What a watch starts from: the current objects (no RV given) or the history backlog.
pub struct WatchStart {
    pub rv: u64,
    pub initial: Vec<Arc<Stored>>,
    pub backlog: Vec<Arc<Event>>,
    pub receiver: broadcast::Receiver<Arc<Event>>,
    /// Changes when the store is compacted; the watch must then end with 410.
    pub compacted: tokio::sync::watch::Receiver<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    pub field_manager: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    pub propagation: Propagation,
    pub grace_period_seconds: Option<i64>,
    pub precondition_uid: Option<String>,
    pub precondition_rv: Option<String>,
    pub dry_run: bool,
}

/// The result of a delete: gone now, or pending (finalizers, graceful termination).
#[derive(Debug)]
pub enum Deleted {
    Gone(Arc<Stored>),
    Pending(Arc<Stored>),
}

/// Which part of an object an update may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateScope {
    /// The main resource: status is kept from the stored object when the kind has /status.
    Main,
    /// The /status subresource: only status changes.
    Status,
    /// In-process code writing the whole object (spec and status).
    Internal,
}

/// Errors of the store API; the server maps each to a Status object.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum StoreError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    AlreadyExists(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("namespace {0:?} not found")]
    NamespaceNotFound(String),
    #[error("name or generateName is required")]
    NameRequired,
    /// 422 Invalid: every field error, as `errors.NewInvalid` lists them.
    #[error("{name} is invalid: {errors:?}")]
    Invalid {
        name: String,
        errors: Vec<kdive_core::field_errors::FieldError>,
    },
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("too old resource version: {requested} ({oldest})")]
    Expired { requested: u64, oldest: u64 },
}
