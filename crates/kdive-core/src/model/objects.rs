//! Live objects by kind, as shared pointers into the watch stores (cheap to take per frame).

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Event, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Secret, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube_core::PartialObjectMeta;

use super::Snapshot;
use super::kind::Kind;
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
            api_version: &str,
        ) -> Option<serde_json::Value> {
            typed(find(items, key)?.as_ref(), key.kind, api_version)
        }
        fn typed<K: serde::Serialize>(
            o: &K,
            kind: Kind,
            api_version: &str,
        ) -> Option<serde_json::Value> {
            let mut v = serde_json::to_value(o).ok()?;
            if let Some(m) = v.as_object_mut() {
                m.insert("apiVersion".into(), api_version.into());
                m.insert("kind".into(), kind.name().into());
            }
            Some(v)
        }
        match key.kind {
            Kind::Namespace => j(&self.namespaces, key, "v1"),
            Kind::Node => j(&self.nodes, key, "v1"),
            Kind::Pod => typed(&find(&self.pods, key)?.pod(), key.kind, "v1"),
            Kind::Service => j(&self.services, key, "v1"),
            Kind::EndpointSlice => j(&self.endpoint_slices, key, "discovery.k8s.io/v1"),
            Kind::Deployment => j(&self.deployments, key, "apps/v1"),
            Kind::ReplicaSet => j(&self.replica_sets, key, "apps/v1"),
            Kind::StatefulSet => j(&self.stateful_sets, key, "apps/v1"),
            Kind::ConfigMap => j(&self.config_maps, key, "v1"),
            Kind::Secret => j(&self.secrets, key, "v1"),
            Kind::PersistentVolumeClaim => j(&self.pvcs, key, "v1"),
            Kind::PersistentVolume => j(&self.pvs, key, "v1"),
            Kind::Event => j(&self.events, key, "v1"),
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

    /// The owned snapshot one Service's chain reads: the namespace's Services, only the
    /// Service's slices and the pods it selects or they name (so a busy namespace costs what
    /// the chain shows), all nodes and namespaces, and kube-system's ConfigMaps (kube-proxy's
    /// configuration).
    pub fn chain_snapshot_for(&self, ns: &str, service: &str) -> Snapshot {
        let svc = self
            .services
            .iter()
            .find(|s| in_ns(s.as_ref(), ns) && s.metadata.name.as_deref() == Some(service));
        let spec = svc.and_then(|s| s.spec.as_ref());
        let slices: Vec<EndpointSlice> = self
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
            .map(|s| (**s).clone())
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
            .map(|p| p.pod())
            .collect();
        Snapshot {
            namespaces: self.namespaces.iter().map(|o| (**o).clone()).collect(),
            services: owned_in(&self.services, ns),
            endpoint_slices: slices,
            pods,
            nodes: self.nodes.iter().map(|o| (**o).clone()).collect(),
            config_maps: owned_in(&self.config_maps, "kube-system"),
            stateful_sets: owned_in(&self.stateful_sets, ns),
        }
    }
}

fn owned_in<K: kube_core::Resource + Clone>(items: &[Arc<K>], ns: &str) -> Vec<K> {
    items
        .iter()
        .filter(|o| in_ns(o.as_ref(), ns))
        .map(|o| (**o).clone())
        .collect()
}
