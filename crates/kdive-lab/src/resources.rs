//! The resources the lab serves: names, scope, verbs and subresources, as discovery
//! reports them. One table; everything else (routing, discovery, OpenAPI) derives from it.

/// Static facts about one served resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// API group; "" for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// Plural resource name, as in URLs.
    pub plural: &'static str,
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
}

pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

macro_rules! res {
    ($group:expr, $version:expr, $kind:expr, $plural:expr, $singular:expr, $ns:expr,
     [$($short:expr),*], [$($cat:expr),*], status: $status:expr, scale: $scale:expr, deleted: $del:expr) => {
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
        }
    };
}

/// Every served resource, grouped by group version in discovery order.
pub static RESOURCES: &[Resource] = &[
    res!("", "v1", "ConfigMap", "configmaps", "configmap", true, ["cm"], [], status: false, scale: false, deleted: false),
    res!("", "v1", "Endpoints", "endpoints", "endpoints", true, ["ep"], [], status: false, scale: false, deleted: false),
    res!("", "v1", "Event", "events", "event", true, ["ev"], [], status: false, scale: false, deleted: false),
    res!("", "v1", "Namespace", "namespaces", "namespace", false, ["ns"], [], status: true, scale: false, deleted: false),
    res!("", "v1", "Node", "nodes", "node", false, ["no"], [], status: true, scale: false, deleted: false),
    res!("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", "persistentvolumeclaim", true, ["pvc"], [], status: true, scale: false, deleted: false),
    res!("", "v1", "PersistentVolume", "persistentvolumes", "persistentvolume", false, ["pv"], [], status: true, scale: false, deleted: false),
    res!("", "v1", "Pod", "pods", "pod", true, ["po"], ["all"], status: true, scale: false, deleted: true),
    res!("", "v1", "Secret", "secrets", "secret", true, [], [], status: false, scale: false, deleted: false),
    res!("", "v1", "ServiceAccount", "serviceaccounts", "serviceaccount", true, ["sa"], [], status: false, scale: false, deleted: true),
    res!("", "v1", "Service", "services", "service", true, ["svc"], ["all"], status: true, scale: false, deleted: true),
    res!("apps", "v1", "Deployment", "deployments", "deployment", true, ["deploy"], ["all"], status: true, scale: true, deleted: false),
    res!("apps", "v1", "ReplicaSet", "replicasets", "replicaset", true, ["rs"], ["all"], status: true, scale: true, deleted: false),
    res!("apps", "v1", "StatefulSet", "statefulsets", "statefulset", true, ["sts"], ["all"], status: true, scale: true, deleted: false),
    res!("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", "endpointslice", true, [], [], status: false, scale: false, deleted: false),
    res!("storage.k8s.io", "v1", "StorageClass", "storageclasses", "storageclass", false, ["sc"], [], status: false, scale: false, deleted: true),
    res!("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", "clusterrolebinding", false, [], [], status: false, scale: false, deleted: false),
    res!("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", "clusterrole", false, [], [], status: false, scale: false, deleted: false),
    res!("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", "rolebinding", true, [], [], status: false, scale: false, deleted: false),
    res!("rbac.authorization.k8s.io", "v1", "Role", "roles", "role", true, [], [], status: false, scale: false, deleted: false),
];

/// Index of a resource in [`RESOURCES`]; cheap to copy and compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId(pub u16);

impl ResourceId {
    pub fn info(self) -> &'static Resource {
        &RESOURCES[self.0 as usize]
    }
}

/// Finds a resource by group, version and plural name.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<ResourceId> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.version == version && r.plural == plural)
        .map(|i| ResourceId(i as u16))
}

/// Finds a resource by apiVersion and kind (for bodies and ownerReferences).
pub fn lookup_kind(api_version: &str, kind: &str) -> Option<ResourceId> {
    RESOURCES
        .iter()
        .position(|r| r.kind == kind && r.api_version() == api_version)
        .map(|i| ResourceId(i as u16))
}

/// The group versions served, in discovery order: (group, version).
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for r in RESOURCES {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}
