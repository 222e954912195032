//! The simulated control plane. Each controller is a pure reconcile function — current
//! objects (and `now`) in, the changes it would make out — driven by a watch-and-reconcile
//! loop over the store API. Keeping the decisions pure makes every rule testable without a
//! runtime; the loop only applies [`Change`]s and emits [`EventRecord`]s.

pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod events;
pub mod live;
pub mod namespace;
pub mod network;
pub mod replicaset;
pub mod revision;
pub mod rollout;
pub mod runtime;
pub mod scheduler;
pub mod scheduling;
pub mod statefulset;
pub mod storage_loops;
pub mod volumes;
pub mod workload;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::metrics::Registry;
use crate::sim::catalog::Catalog;
use crate::store::Store;

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

/// A reference to an object, as Events' `involvedObject` and PVs' `claimRef` carry it.
pub fn object_ref(api_version: &str, kind: &str, meta: &ObjectMeta) -> ObjectReference {
    ObjectReference {
        api_version: Some(api_version.into()),
        kind: Some(kind.into()),
        name: meta.name.clone(),
        namespace: meta.namespace.clone(),
        uid: meta.uid.clone(),
        resource_version: meta.resource_version.clone(),
        ..Default::default()
    }
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

/// What every live controller and simulated node shares.
pub struct ControlPlane {
    pub store: Arc<Store>,
    pub events: Arc<events::EventRecorder>,
    pub catalog: Arc<Catalog>,
    pub metrics: Arc<Registry>,
    /// The lab's seed, for reproducible simulated randomness.
    pub seed: u64,
}

impl ControlPlane {
    pub fn new(store: Arc<Store>, seed: u64) -> ControlPlane {
        ControlPlane {
            events: Arc::new(events::EventRecorder::new(store.clone())),
            store,
            catalog: Arc::new(Catalog::builtin()),
            metrics: Arc::new(Registry::new()),
            seed,
        }
    }
}

/// Starts the lab's control plane; it stops when `stop` changes.
pub fn start(
    cp: &Arc<ControlPlane>,
    stop: &tokio::sync::watch::Sender<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let controllers: Vec<Arc<dyn runtime::Controller>> = vec![
        Arc::new(namespace::NamespaceController),
        Arc::new(namespace::ServiceAccountController),
        Arc::new(workload::DeploymentController::new(cp.clone())),
        Arc::new(workload::ReplicaSetController::new(cp.clone())),
        Arc::new(scheduling::SchedulerController::new(cp.clone())),
        Arc::new(network::EndpointSliceController::new(cp.clone())),
        Arc::new(network::EndpointsController::new(cp.clone())),
        Arc::new(storage_loops::StatefulSetController {
            events: cp.events.clone(),
        }),
        Arc::new(storage_loops::ClaimController {
            events: cp.events.clone(),
        }),
        Arc::new(storage_loops::VolumeController),
    ];
    let mut tasks: Vec<_> = controllers
        .into_iter()
        .map(|c| runtime::spawn(cp.store.clone(), c, stop.subscribe()))
        .collect();
    tasks.push(crate::kubelet::spawn(cp.clone(), stop.subscribe()));
    tasks
}

#[cfg(test)]
#[path = "wiring_tests.rs"]
mod wiring_tests;

#[cfg(test)]
#[path = "demo_fixture.rs"]
mod demo_fixture;
