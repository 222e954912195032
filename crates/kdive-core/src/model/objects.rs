//! The one object set: what the explorer takes from its watch stores each frame (shared
//! pointers, cheap), what one-shot reads and manifests decode into, and what lesson checks
//! read. The Service chain, DNS and kube-proxy models read it too.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Secret, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube_core::PartialObjectMeta;

use super::kind::Kind;
use super::objects_json::with_kind;
use super::stored_pod::{PodGroups, StoredPod};

#[derive(Debug, Default, Clone)]
pub struct Objects {
    pub namespaces: Vec<Arc<Namespace>>,
    pub nodes: Vec<Arc<Node>>,
    pub pods: Vec<Arc<StoredPod>>,
    pub services: Vec<Arc<Service>>,
    pub endpoint_slices: Vec<Arc<EndpointSlice>>,
    pub deployments: Vec<Arc<Deployment>>,
    pub replica_sets: Vec<Arc<ReplicaSet>>,
    pub stateful_sets: Vec<Arc<StatefulSet>>,
    pub config_maps: Vec<Arc<ConfigMap>>,
    /// Metadata only: Secret values are never loaded.
    pub secrets: Vec<Arc<PartialObjectMeta<Secret>>>,
    pub pvcs: Vec<Arc<PersistentVolumeClaim>>,
    pub pvs: Vec<Arc<PersistentVolume>>,
    pub events: Vec<Arc<Event>>,
    /// Objects of kinds without a field above, as JSON (what lesson checks may name).
    pub other: Vec<Arc<serde_json::Value>>,
    /// `pods` by namespace, computed on first use.
    pub pod_groups: std::sync::OnceLock<PodGroups>,
}

/// Kind, namespace and name: what the UI selects and `:` commands name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjKey {
    pub kind: Kind,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjKey {
    pub fn new(kind: Kind, namespace: Option<&str>, name: &str) -> ObjKey {
        ObjKey {
            kind,
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// The tree id: `Kind/namespace/name` (namespace empty for cluster-scoped kinds).
    pub fn id(&self) -> String {
        format!(
            "{}/{}/{}",
            self.kind.name(),
            self.namespace.as_deref().unwrap_or(""),
            self.name
        )
    }

    pub fn from_id(id: &str) -> Option<ObjKey> {
        let mut parts = id.splitn(3, '/');
        let kind = parts.next()?;
        let ns = parts.next()?;
        let name = parts.next()?;
        let kind = Kind::ALL.into_iter().find(|k| k.name() == kind)?;
        Some(ObjKey {
            kind,
            namespace: (!ns.is_empty()).then(|| ns.to_string()),
            name: name.to_string(),
        })
    }

    /// `ns/name`, or `name` for cluster-scoped objects.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

fn in_ns<K: kube_core::Resource>(o: &K, ns: &str) -> bool {
    o.meta().namespace.as_deref() == Some(ns)
}

fn name_is<K: kube_core::Resource>(o: &K, ns: Option<&str>, name: &str) -> bool {
    o.meta().name.as_deref() == Some(name) && o.meta().namespace.as_deref() == ns
}

pub fn find<'a, K: kube_core::Resource>(items: &'a [Arc<K>], key: &ObjKey) -> Option<&'a Arc<K>> {
    items
        .iter()
        .find(|o| name_is(o.as_ref(), key.namespace.as_deref(), &key.name))
}

/// A PersistentVolumeClaim's phase and volume, as the tree, pod and workload views show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimState {
    /// `Bound`, `Pending`, `Lost`, or `Missing` when no such claim exists.
    pub phase: String,
    pub volume: Option<String>,
}

impl ClaimState {
    pub fn of(pvc: Option<&PersistentVolumeClaim>) -> ClaimState {
        ClaimState {
            phase: pvc
                .and_then(|p| p.status.as_ref())
                .and_then(|s| s.phase.clone())
                .unwrap_or_else(|| "Missing".into()),
            volume: pvc
                .and_then(|p| p.spec.as_ref())
                .and_then(|s| s.volume_name.clone()),
        }
    }

    pub fn bound(&self) -> bool {
        self.phase == "Bound"
    }
}

impl Objects {
    pub fn pod_groups(&self) -> &PodGroups {
        self.pod_groups.get_or_init(|| PodGroups::of(&self.pods))
    }

    /// The namespace's pods, in snapshot order.
    pub fn pods_in(&self, ns: &str) -> Vec<&Arc<StoredPod>> {
        self.pod_groups()
            .get(ns)
            .map(|g| g.at.iter().map(|&i| &self.pods[i as usize]).collect())
            .unwrap_or_default()
    }

    pub fn claim(&self, ns: &str, name: &str) -> ClaimState {
        let pvc = self
            .pvcs
            .iter()
            .find(|p| in_ns(p.as_ref(), ns) && p.metadata.name.as_deref() == Some(name));
        ClaimState::of(pvc.map(|p| p.as_ref()))
    }

    /// Whether an object with this key exists.
    pub fn contains(&self, key: &ObjKey) -> bool {
        match key.kind {
            Kind::Namespace => find(&self.namespaces, key).is_some(),
            Kind::Node => find(&self.nodes, key).is_some(),
            Kind::Pod => find(&self.pods, key).is_some(),
            Kind::Service => find(&self.services, key).is_some(),
            Kind::EndpointSlice => find(&self.endpoint_slices, key).is_some(),
            Kind::Deployment => find(&self.deployments, key).is_some(),
            Kind::ReplicaSet => find(&self.replica_sets, key).is_some(),
            Kind::StatefulSet => find(&self.stateful_sets, key).is_some(),
            Kind::ConfigMap => find(&self.config_maps, key).is_some(),
            Kind::Secret => find(&self.secrets, key).is_some(),
            Kind::PersistentVolumeClaim => find(&self.pvcs, key).is_some(),
            Kind::PersistentVolume => find(&self.pvs, key).is_some(),
            Kind::Event => find(&self.events, key).is_some(),
        }
    }

    /// The object as JSON (for the YAML view); Secrets are metadata only.
    pub fn to_json(&self, key: &ObjKey) -> Option<serde_json::Value> {
        fn j<K: kube_core::Resource + serde::Serialize>(
            items: &[Arc<K>],
            key: &ObjKey,
        ) -> Option<serde_json::Value> {
            with_kind(find(items, key)?.as_ref(), key.kind)
        }
        match key.kind {
            Kind::Namespace => j(&self.namespaces, key),
            Kind::Node => j(&self.nodes, key),
            Kind::Pod => with_kind(&find(&self.pods, key)?.pod(), key.kind),
            Kind::Service => j(&self.services, key),
            Kind::EndpointSlice => j(&self.endpoint_slices, key),
            Kind::Deployment => j(&self.deployments, key),
            Kind::ReplicaSet => j(&self.replica_sets, key),
            Kind::StatefulSet => j(&self.stateful_sets, key),
            Kind::ConfigMap => j(&self.config_maps, key),
            Kind::Secret => j(&self.secrets, key),
            Kind::PersistentVolumeClaim => j(&self.pvcs, key),
            Kind::PersistentVolume => j(&self.pvs, key),
            Kind::Event => j(&self.events, key),
        }
    }

    /// Names of objects of a kind in a namespace scope, sorted (for `:` completion).
    pub fn names(&self, kind: Kind, scope: Option<&str>) -> Vec<String> {
        fn n<K: kube_core::Resource>(items: &[Arc<K>], scope: Option<&str>) -> Vec<String> {
            items
                .iter()
                .filter(|o| scope.is_none_or(|ns| in_ns(o.as_ref(), ns)))
                .filter_map(|o| o.meta().name.clone())
                .collect()
        }
        let mut v = match kind {
            Kind::Namespace => n(&self.namespaces, None),
            Kind::Node => n(&self.nodes, None),
            Kind::Pod => n(&self.pods, scope),
            Kind::Service => n(&self.services, scope),
            Kind::EndpointSlice => n(&self.endpoint_slices, scope),
            Kind::Deployment => n(&self.deployments, scope),
            Kind::ReplicaSet => n(&self.replica_sets, scope),
            Kind::StatefulSet => n(&self.stateful_sets, scope),
            Kind::ConfigMap => n(&self.config_maps, scope),
            Kind::Secret => n(&self.secrets, scope),
            Kind::PersistentVolumeClaim => n(&self.pvcs, scope),
            Kind::PersistentVolume => n(&self.pvs, None),
            Kind::Event => n(&self.events, scope),
        };
        v.sort();
        v.dedup();
        v
    }

    /// Namespaces holding an object of this kind and name (to resolve `:svc web`).
    pub fn namespaces_of(&self, kind: Kind, name: &str) -> Vec<String> {
        fn n<K: kube_core::Resource>(items: &[Arc<K>], name: &str) -> Vec<String> {
            items
                .iter()
                .filter(|o| o.meta().name.as_deref() == Some(name))
                .filter_map(|o| o.meta().namespace.clone())
                .collect()
        }
        let mut v = match kind {
            Kind::Pod => n(&self.pods, name),
            Kind::Service => n(&self.services, name),
            Kind::Deployment => n(&self.deployments, name),
            Kind::StatefulSet => n(&self.stateful_sets, name),
            _ => Vec::new(),
        };
        v.sort();
        v
    }

    /// The subset one Service's chain reads: the namespace's Services and StatefulSets,
    /// only the Service's slices and the pods it selects or they name (so a busy namespace
    /// costs what the chain shows), all nodes and namespaces, and kube-system's ConfigMaps
    /// (kube-proxy's configuration). Shares the objects; copies nothing.
    pub fn chain_subset(&self, ns: &str, service: &str) -> Objects {
        let svc = self
            .services
            .iter()
            .find(|s| in_ns(s.as_ref(), ns) && s.metadata.name.as_deref() == Some(service));
        let spec = svc.and_then(|s| s.spec.as_ref());
        let slices: Vec<Arc<EndpointSlice>> = self
            .endpoint_slices
            .iter()
            .filter(|s| in_ns(s.as_ref(), ns))
            .filter(|s| {
                s.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(crate::model::chain::SERVICE_NAME_LABEL))
                    .is_some_and(|n| n == service)
            })
            .cloned()
            .collect();
        let named: std::collections::HashSet<&str> = slices
            .iter()
            .flat_map(|s| s.endpoints.iter())
            .filter_map(|e| e.target_ref.as_ref()?.name.as_deref())
            .collect();
        let pods = self
            .pods_in(ns)
            .into_iter()
            .filter(|p| {
                named.contains(p.name())
                    || crate::selector::service_selects(spec, p.metadata.labels.as_ref())
            })
            .cloned()
            .collect();
        Objects {
            namespaces: self.namespaces.clone(),
            services: shared_in(&self.services, ns),
            endpoint_slices: slices,
            pods,
            nodes: self.nodes.clone(),
            config_maps: shared_in(&self.config_maps, "kube-system"),
            stateful_sets: shared_in(&self.stateful_sets, ns),
            ..Objects::default()
        }
    }
}

fn shared_in<K: kube_core::Resource>(items: &[Arc<K>], ns: &str) -> Vec<Arc<K>> {
    items
        .iter()
        .filter(|o| in_ns(o.as_ref(), ns))
        .cloned()
        .collect()
}
