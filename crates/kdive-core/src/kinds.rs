//! The one table of Kubernetes kinds kdive knows: API coordinates, names kubectl accepts,
//! scope and subresources. The lab serves (and discovers) its `served_by_lab` rows, lessons
//! resolve names against all of it, and the explorer's `model::Kind` points into it.

/// Static facts about one resource kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Resource {
    /// API group; "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// Plural resource name, as in URLs.
    pub plural: &'static str,
    /// The lower-case singular kubectl prints (`deployment`, `endpointslice`).
    pub singular: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// Has a `/status` subresource (status is ignored on main-resource writes).
    pub status: bool,
    /// Has a `/scale` subresource (autoscaling/v1 Scale).
    pub scale: bool,
    /// Delete replies with the deleted object rather than a Status.
    pub returns_deleted_object: bool,
    /// The lab implements it; the other rows are kinds only lessons may name so far.
    pub served_by_lab: bool,
}

impl Resource {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether `api_version` (`apps/v1`, `v1`) names this resource's group version.
    pub fn has_api_version(&self, api_version: &str) -> bool {
        match api_version.split_once('/') {
            Some((group, version)) => {
                !group.is_empty() && self.group == group && self.version == version
            }
            None => self.group.is_empty() && self.version == api_version,
        }
    }

    /// `deployments.apps`, or `pods` for the core group, as in Status messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `Deployment.apps`, or `Pod`, as in Invalid messages.
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    /// Whether kubectl accepts `lower` (already lower-case) for this kind: its singular,
    /// plural, short names or lower-cased Kind.
    pub fn is_named(&self, lower: &str) -> bool {
        self.singular == lower
            || self.plural == lower
            || self.short_names.contains(&lower)
            || self.kind.eq_ignore_ascii_case(lower)
    }
}

macro_rules! res {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, $ns:expr,
     [$($short:expr),*], [$($cat:expr),*], status: $status:expr, scale: $scale:expr, deleted: $del:expr, lab: $lab:expr) => {
        Resource {
            group: $group,
            version: $version,
            kind: $kind,
            plural: $plural,
            singular: $singular,
            namespaced: $ns,
            short_names: &[$($short),*],
            categories: &[$($cat),*],
            status: $status,
            scale: $scale,
            returns_deleted_object: $del,
            served_by_lab: $lab,
        }
    };
}

// Named rows for the kinds code refers to directly (the explorer's `model::Kind`).
pub const CONFIG_MAP: Resource = res!("", "v1", "ConfigMap", "configmaps", "configmap", true, ["cm"], [], status: false, scale: false, deleted: false, lab: true);
pub const ENDPOINTS: Resource = res!("", "v1", "Endpoints", "endpoints", "endpoints", true, ["ep"], [], status: false, scale: false, deleted: false, lab: true);
pub const EVENT: Resource = res!("", "v1", "Event", "events", "event", true, ["ev"], [], status: false, scale: false, deleted: false, lab: true);
pub const NAMESPACE: Resource = res!("", "v1", "Namespace", "namespaces", "namespace", false, ["ns"], [], status: true, scale: false, deleted: false, lab: true);
pub const NODE: Resource = res!("", "v1", "Node", "nodes", "node", false, ["no"], [], status: true, scale: false, deleted: false, lab: true);
pub const PERSISTENT_VOLUME_CLAIM: Resource = res!("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", true, ["pvc"], [], status: true, scale: false, deleted: false, lab: true);
pub const PERSISTENT_VOLUME: Resource = res!("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", false, ["pv"], [], status: true, scale: false, deleted: false, lab: true);
pub const POD: Resource = res!("", "v1", "Pod", "pods", "pod", true, ["po"], ["all"], status: true, scale: false, deleted: true, lab: true);
pub const SECRET: Resource = res!("", "v1", "Secret", "secrets", "secret", true, [], [], status: false, scale: false, deleted: false, lab: true);
pub const SERVICE_ACCOUNT: Resource = res!("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, ["sa"], [], status: false, scale: false, deleted: true, lab: true);
pub const SERVICE: Resource = res!("", "v1", "Service", "services", "service", true, ["svc"], ["all"], status: true, scale: false, deleted: true, lab: true);
pub const DEPLOYMENT: Resource = res!("apps", "v1", "Deployment", "deployments", "deployment", true, ["deploy"], ["all"], status: true, scale: true, deleted: false, lab: true);
pub const REPLICA_SET: Resource = res!("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, ["rs"], ["all"], status: true, scale: true, deleted: false, lab: true);
pub const STATEFUL_SET: Resource = res!("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, ["sts"], ["all"], status: true, scale: true, deleted: false, lab: true);
pub const DAEMON_SET: Resource = res!("apps", "v1", "DaemonSet", "daemonsets", "daemonset", true, ["ds"], ["all"], status: true, scale: false, deleted: false, lab: false);
pub const JOB: Resource = res!("batch", "v1", "Job", "jobs", "job", true, [], ["all"], status: true, scale: false, deleted: false, lab: false);
pub const ENDPOINT_SLICE: Resource = res!("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true, [], [], status: false, scale: false, deleted: false, lab: true);
pub const STORAGE_CLASS: Resource = res!("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", false, ["sc"], [], status: false, scale: false, deleted: true, lab: true);
pub const CLUSTER_ROLE_BINDING: Resource = res!("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", false, [], [], status: false, scale: false, deleted: false, lab: true);
pub const CLUSTER_ROLE: Resource = res!("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", false, [], [], status: false, scale: false, deleted: false, lab: true);
pub const ROLE_BINDING: Resource = res!("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", true, [], [], status: false, scale: false, deleted: false, lab: true);
pub const ROLE: Resource = res!("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", true, [], [], status: false, scale: false, deleted: false, lab: true);

/// Every known resource, grouped by group version in discovery order.
pub static RESOURCES: &[Resource] = &[
    CONFIG_MAP,
    ENDPOINTS,
    EVENT,
    NAMESPACE,
    NODE,
    PERSISTENT_VOLUME_CLAIM,
    PERSISTENT_VOLUME,
    POD,
    SECRET,
    SERVICE_ACCOUNT,
    SERVICE,
    DEPLOYMENT,
    REPLICA_SET,
    STATEFUL_SET,
    DAEMON_SET,
    JOB,
    ENDPOINT_SLICE,
    STORAGE_CLASS,
    CLUSTER_ROLE_BINDING,
    CLUSTER_ROLE,
    ROLE_BINDING,
    ROLE,
];

/// Finds a kind by what kubectl accepts: Kind (`Deployment`), plural, singular or short
/// name, any case.
pub fn lookup(name: &str) -> Option<&'static Resource> {
    let lower = name.to_ascii_lowercase();
    RESOURCES.iter().find(|r| r.is_named(&lower))
}

/// Finds a kind by apiVersion and kind (`apps/v1`, `Deployment`).
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static Resource> {
    RESOURCES
        .iter()
        .find(|r| r.kind == kind && r.has_api_version(api_version))
}

/// The kind of a JSON object, from its `kind` and `apiVersion`.
pub fn of_object(obj: &serde_json::Value) -> Option<&'static Resource> {
    let kind = obj.get("kind")?.as_str()?;
    let api_version = obj.get("apiVersion")?.as_str()?;
    by_kind(api_version, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_like_kubectl() {
        assert_eq!(lookup("deploy").map(|k| k.kind), Some("Deployment"));
        assert_eq!(
            lookup("EndpointSlices").map(|k| k.kind),
            Some("EndpointSlice")
        );
        assert_eq!(
            lookup("svc").map(|k| k.api_version()),
            Some("v1".to_string())
        );
        assert_eq!(
            lookup("rs").map(|k| k.api_version()),
            Some("apps/v1".to_string())
        );
        assert_eq!(lookup("ds").map(|k| k.kind), Some("DaemonSet"));
        assert!(lookup("gizmo").is_none());
    }

    #[test]
    fn api_versions_match_whole_group_versions() {
        assert_eq!(by_kind("apps/v1", "Deployment"), Some(&DEPLOYMENT));
        assert_eq!(by_kind("v1", "Pod"), Some(&POD));
        assert_eq!(by_kind("apps/v1", "Pod"), None);
        assert_eq!(by_kind("batch/v1", "Job"), Some(&JOB));
    }

    #[test]
    fn kinds_are_unique() {
        for (i, r) in RESOURCES.iter().enumerate() {
            assert!(
                RESOURCES[..i].iter().all(|o| o.kind != r.kind),
                "{} twice",
                r.kind
            );
        }
    }
}
