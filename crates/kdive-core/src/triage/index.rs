//! Lookups every rule needs, built once per triage: ReplicaSets by uid and by owner, and
//! EndpointSlices by Service, so a namespace of 5,000 pods and 500 Services is not scanned
//! once per pod or per Service.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::scope::{controller_of, ns_of};
use crate::model::Objects;

/// Label EndpointSlices carry to name their Service.
pub(crate) const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

#[derive(Default)]
pub(crate) struct Index<'a> {
    /// (namespace, uid) → the ReplicaSet.
    pub replica_sets: HashMap<(&'a str, &'a str), &'a Arc<ReplicaSet>>,
    /// (namespace, owner uid or name) → its ReplicaSets.
    pub sets_of: HashMap<(&'a str, &'a str), Vec<&'a Arc<ReplicaSet>>>,
    /// (namespace, Service name) → its EndpointSlices.
    pub slices: HashMap<(&'a str, &'a str), Vec<&'a EndpointSlice>>,
}

impl<'a> Index<'a> {
    pub fn of(objects: &'a Objects) -> Index<'a> {
        let mut ix = Index::default();
        for rs in &objects.replica_sets {
            let ns = ns_of(&rs.metadata);
            if let Some(uid) = rs.metadata.uid.as_deref() {
                ix.replica_sets.insert((ns, uid), rs);
            }
            if let Some(("Deployment", name, uid)) = controller_of(&rs.metadata) {
                // By uid; by name too, for Deployments read without one (manifests).
                ix.sets_of.entry((ns, uid)).or_default().push(rs);
                if uid != name {
                    ix.sets_of.entry((ns, name)).or_default().push(rs);
                }
            }
        }
        for s in &objects.endpoint_slices {
            if let Some(svc) = s
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get(SERVICE_NAME_LABEL))
            {
                ix.slices
                    .entry((ns_of(&s.metadata), svc.as_str()))
                    .or_default()
                    .push(s.as_ref());
            }
        }
        ix
    }
}
