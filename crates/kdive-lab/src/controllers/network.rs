//! The EndpointSlice and Endpoints controllers, live. Both key on Services; a pod change
//! is routed only to the Services of its namespace whose selector matches its old or new
//! labels, using decoded Services cached by resourceVersion.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::Value;

use super::endpointslice::{self, LABEL_MANAGED_BY, LABEL_SERVICE_NAME};
use super::live::{self, Cache, apply, apply_all, map_selects};
use super::runtime::{Controller, Key};
use super::{ControlPlane, endpoints};
use crate::resources::ResourceId;
use crate::store::{Event, EventType, Store, StoreError, Stored};

/// Pods left out because their node is unknown yet: look again after this long.
const NODE_RETRY: Duration = Duration::from_secs(1);

fn key(namespace: &str, name: &str) -> Key {
    Key {
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

/// Services by namespace, for routing pod events, and the pods each Service selects.
struct ServiceIndex {
    services: Cache<Service>,
    /// Pod names each Service selects, kept up to date from pod events so a reconcile
    /// need not scan the namespace; absent means unknown (the next reconcile scans).
    members: Mutex<HashMap<(String, String), BTreeSet<String>>>,
}

fn selector(svc: &Service) -> Option<&BTreeMap<String, String>> {
    kdive_core::selector::service_selector(svc.spec.as_ref())
}

impl ServiceIndex {
    fn new() -> Self {
        ServiceIndex {
            services: Cache::new(live::services()),
            members: Mutex::new(HashMap::new()),
        }
    }

    /// Services whose selector picks the pod before or after this change.
    fn selecting(&self, store: &Store, event: &Event) -> Vec<Key> {
        let candidates = self.services.list(store, Some(&event.namespace), |_| true);
        let mut members = self.members.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys = Vec::new();
        for svc in &candidates {
            let (Some(sel), Some(name)) = (selector(svc), svc.metadata.name.as_deref()) else {
                continue;
            };
            let now = map_selects(sel, &event.object);
            let before = event.prev.as_ref().is_some_and(|p| map_selects(sel, p));
            if let Some(set) = members.get_mut(&(event.namespace.clone(), name.to_string())) {
                if now && event.kind != EventType::Deleted {
                    set.insert(event.name.clone());
                } else {
                    set.remove(&event.name);
                }
            }
            if now || before {
                keys.push(key(&event.namespace, name));
            }
        }
        keys
    }

    /// Forgets every membership (events may have been missed).
    fn forget(&self) {
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Every Service with a selector (a node came or went: endpoints carry node facts).
    fn all_selecting(&self, store: &Store) -> Vec<Key> {
        self.services
            .list(store, None, |_| true)
            .iter()
            .filter(|svc| selector(svc).is_some())
            .map(|svc| {
                key(
                    svc.metadata.namespace.as_deref().unwrap_or(""),
                    svc.metadata.name.as_deref().unwrap_or(""),
                )
            })
            .collect()
    }

    fn keys_for(&self, store: &Store, event: &Event) -> Vec<Key> {
        if event.resource == live::services() {
            // Its selector may have changed: rebuild its membership on the next reconcile.
            self.members
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&(event.namespace.clone(), event.name.clone()));
            return vec![key(&event.namespace, &event.name)];
        }
        if event.resource == live::pods() {
            return self.selecting(store, event);
        }
        if event.resource == live::nodes() {
            let labels_changed = event
                .prev
                .as_ref()
                .is_none_or(|p| p.labels != event.object.labels);
            if event.kind != EventType::Modified || labels_changed {
                return self.all_selecting(store);
            }
        }
        Vec::new()
    }

    /// The pods of the Service's namespace its selector picks (decoded only those).
    fn pods(&self, store: &Store, cache: &Cache<Pod>, svc: &Service) -> Vec<Pod> {
        let Some(sel) = selector(svc) else {
            return Vec::new();
        };
        let ns = svc.metadata.namespace.as_deref().unwrap_or("");
        let name = svc.metadata.name.clone().unwrap_or_default();
        let known = self
            .members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(ns.to_string(), name.clone()))
            .cloned();
        let pods: Vec<Arc<Pod>> = match known {
            // Re-check each: a later event may still be on its way to `selecting`.
            Some(names) => names
                .iter()
                .filter_map(|n| store.get(live::pods(), ns, n))
                .filter(|s| map_selects(sel, s))
                .filter_map(|s| cache.get(store, ns, &s.name))
                .collect(),
            None => {
                let pods = cache.list(store, Some(ns), |s| map_selects(sel, s));
                let names = pods
                    .iter()
                    .filter_map(|p| p.metadata.name.clone())
                    .collect();
                self.members
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert((ns.to_string(), name), names);
                pods
            }
        };
        pods.iter().map(|p| (**p).clone()).collect()
    }
}

pub struct EndpointSliceController {
    cp: Arc<ControlPlane>,
    index: ServiceIndex,
    pods: Cache<Pod>,
    nodes: Cache<Node>,
    slices: Cache<EndpointSlice>,
}

impl EndpointSliceController {
    pub fn new(cp: Arc<ControlPlane>) -> Self {
        EndpointSliceController {
            cp,
            index: ServiceIndex::new(),
            pods: Cache::new(live::pods()),
            nodes: Cache::new(live::nodes()),
            slices: Cache::new(live::endpoint_slices()),
        }
    }
}

fn label<'a>(stored: &'a Stored, name: &str) -> Option<&'a str> {
    stored.labels.get(name).and_then(Value::as_str)
}

impl Controller for EndpointSliceController {
    fn name(&self) -> &'static str {
        endpointslice::CONTROLLER_NAME
    }

    fn primary(&self) -> ResourceId {
        live::services()
    }

    fn resync(&self) {
        self.index.forget();
    }

    fn forget_deleted(&self, event: &Event) {
        self.index.services.forget(event);
        self.pods.forget(event);
        self.nodes.forget(event);
        self.slices.forget(event);
    }

    fn keys_for(&self, event: &Event) -> Vec<Key> {
        if event.resource == live::endpoint_slices() {
            // Someone changed or deleted a slice we manage: put it back.
            let ours =
                label(&event.object, LABEL_MANAGED_BY) == Some(endpointslice::CONTROLLER_NAME);
            return match label(&event.object, LABEL_SERVICE_NAME) {
                Some(svc) if ours => vec![key(&event.namespace, svc)],
                _ => Vec::new(),
            };
        }
        self.index.keys_for(&self.cp.store, event)
    }

    fn reconcile(&self, store: &Store, k: &Key) -> Result<Option<Duration>, StoreError> {
        // A deleted Service's slices go with it: they are its dependents (ownerReferences).
        let Some(svc) = self.index.services.get(store, &k.namespace, &k.name) else {
            return Ok(None);
        };
        if selector(&svc).is_none() {
            return Ok(None);
        }
        let pods = self.index.pods(store, &self.pods, &svc);
        let nodes: Vec<Node> = self
            .nodes
            .list(store, None, |_| true)
            .iter()
            .map(|n| (**n).clone())
            .collect();
        let slices: Vec<EndpointSlice> = self
            .slices
            .list(store, Some(&k.namespace), |s| {
                label(s, LABEL_SERVICE_NAME) == Some(k.name.as_str())
            })
            .iter()
            .map(|s| (**s).clone())
            .collect();
        let out = endpointslice::reconcile(&endpointslice::EndpointSliceInput {
            service: &svc,
            pods: &pods,
            nodes: &nodes,
            slices: &slices,
        });
        apply_all(store, live::endpoint_slices(), &out.changes)?;
        Ok(out.retry.then_some(NODE_RETRY))
    }
}

pub struct EndpointsController {
    cp: Arc<ControlPlane>,
    index: ServiceIndex,
    pods: Cache<Pod>,
    endpoints: Cache<Endpoints>,
}

impl EndpointsController {
    pub fn new(cp: Arc<ControlPlane>) -> Self {
        EndpointsController {
            cp,
            index: ServiceIndex::new(),
            pods: Cache::new(live::pods()),
            endpoints: Cache::new(live::endpoints()),
        }
    }
}

impl Controller for EndpointsController {
    fn name(&self) -> &'static str {
        "endpoint-controller"
    }

    fn primary(&self) -> ResourceId {
        live::services()
    }

    fn resync(&self) {
        self.index.forget();
    }

    fn forget_deleted(&self, event: &Event) {
        self.index.services.forget(event);
        self.pods.forget(event);
        self.endpoints.forget(event);
    }

    fn keys_for(&self, event: &Event) -> Vec<Key> {
        // As upstream, only a deletion: the Service's Endpoints are written again.
        if event.resource == live::endpoints() {
            return match event.kind {
                EventType::Deleted => vec![key(&event.namespace, &event.name)],
                _ => Vec::new(),
            };
        }
        if event.resource == live::nodes() {
            return Vec::new(); // Endpoints carry node names from pods, not node objects.
        }
        self.index.keys_for(&self.cp.store, event)
    }

    fn reconcile(&self, store: &Store, k: &Key) -> Result<Option<Duration>, StoreError> {
        let current = self.endpoints.get(store, &k.namespace, &k.name);
        let Some(svc) = self.index.services.get(store, &k.namespace, &k.name) else {
            // Endpoints have no owner reference: the controller deletes its orphans.
            if let Some(ep) = current {
                apply_all(
                    store,
                    live::endpoints(),
                    &endpoints::orphaned(&[(*ep).clone()], &[]),
                )?;
            }
            return Ok(None);
        };
        let pods = self.index.pods(store, &self.pods, &svc);
        let change = endpoints::reconcile(&endpoints::EndpointsInput {
            service: &svc,
            pods: &pods,
            current: current.as_deref(),
        });
        if let Some(change) = &change {
            apply(store, live::endpoints(), change)?;
        }
        Ok(None)
    }
}
