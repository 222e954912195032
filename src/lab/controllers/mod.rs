//! The simulated control plane. Each controller is a pure reconcile function — current
//! objects (and `now`) in, the changes it would make out — driven by a watch-and-reconcile
//! loop over the store API. Keeping the decisions pure makes every rule testable without a
//! runtime; the loop only applies [`Change`]s and emits [`EventRecord`]s.

pub mod deployment;
pub mod replicaset;
pub mod revision;
pub mod rollout;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::ObjectReference;

/// One write a controller wants. Objects are full typed objects; updates carry the
/// resourceVersion they were computed from, so a concurrent change makes them conflict and
/// the loop reconciles again.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    Create(T),
    Update(T),
    /// Write only `.status` (through the `/status` subresource).
    UpdateStatus(T),
    Delete {
        namespace: String,
        name: String,
        /// Precondition: only delete this incarnation.
        uid: Option<String>,
    },
}

/// A core/v1 Event as the real component would emit it.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    /// `Normal` or `Warning`.
    pub type_: &'static str,
    pub reason: String,
    pub message: String,
    pub involved: ObjectReference,
    /// The reporting component, e.g. `deployment-controller`, `default-scheduler`, `kubelet`.
    pub component: &'static str,
    /// For kubelet events: the node name (`source.host`).
    pub host: Option<String>,
    pub time: DateTime<Utc>,
}
