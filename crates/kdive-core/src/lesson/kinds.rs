//! The kinds a lesson may name, with their API coordinates and kubectl short names.

/// One kind: what a check's `target` or a solution action resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kind {
    pub kind: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// Singular lower-case name and short names kubectl accepts.
    pub aliases: &'static [&'static str],
}

impl Kind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The resource name kubectl prints (`deployment`, `endpointslice`).
    pub fn kubectl_name(&self) -> &'static str {
        self.aliases[0]
    }
}

macro_rules! kind {
    ($kind:expr, $group:expr, $version:expr, $plural:expr, $ns:expr, [$($a:expr),*]) => {
        Kind { kind: $kind, group: $group, version: $version, plural: $plural, namespaced: $ns, aliases: &[$($a),*] }
    };
}

pub static KINDS: &[Kind] = &[
    kind!(
        "ConfigMap",
        "",
        "v1",
        "configmaps",
        true,
        ["configmap", "cm"]
    ),
    kind!(
        "Endpoints",
        "",
        "v1",
        "endpoints",
        true,
        ["endpoints", "ep"]
    ),
    kind!("Event", "", "v1", "events", true, ["event", "ev"]),
    kind!(
        "Namespace",
        "",
        "v1",
        "namespaces",
        false,
        ["namespace", "ns"]
    ),
    kind!("Node", "", "v1", "nodes", false, ["node", "no"]),
    kind!(
        "PersistentVolumeClaim",
        "",
        "v1",
        "persistentvolumeclaims",
        true,
        ["persistentvolumeclaim", "pvc"]
    ),
    kind!(
        "PersistentVolume",
        "",
        "v1",
        "persistentvolumes",
        false,
        ["persistentvolume", "pv"]
    ),
    kind!("Pod", "", "v1", "pods", true, ["pod", "po"]),
    kind!("Secret", "", "v1", "secrets", true, ["secret"]),
    kind!(
        "ServiceAccount",
        "",
        "v1",
        "serviceaccounts",
        true,
        ["serviceaccount", "sa"]
    ),
    kind!("Service", "", "v1", "services", true, ["service", "svc"]),
    kind!(
        "Deployment",
        "apps",
        "v1",
        "deployments",
        true,
        ["deployment", "deploy"]
    ),
    kind!(
        "ReplicaSet",
        "apps",
        "v1",
        "replicasets",
        true,
        ["replicaset", "rs"]
    ),
    kind!(
        "StatefulSet",
        "apps",
        "v1",
        "statefulsets",
        true,
        ["statefulset", "sts"]
    ),
    kind!(
        "DaemonSet",
        "apps",
        "v1",
        "daemonsets",
        true,
        ["daemonset", "ds"]
    ),
    kind!("Job", "batch", "v1", "jobs", true, ["job"]),
    kind!(
        "EndpointSlice",
        "discovery.k8s.io",
        "v1",
        "endpointslices",
        true,
        ["endpointslice"]
    ),
    kind!(
        "StorageClass",
        "storage.k8s.io",
        "v1",
        "storageclasses",
        false,
        ["storageclass", "sc"]
    ),
    kind!(
        "Role",
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        true,
        ["role"]
    ),
    kind!(
        "RoleBinding",
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        true,
        ["rolebinding"]
    ),
    kind!(
        "ClusterRole",
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        false,
        ["clusterrole"]
    ),
    kind!(
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        false,
        ["clusterrolebinding"]
    ),
];

/// Finds a kind by its Kind (`Deployment`), plural, singular or short name, any case.
pub fn lookup(name: &str) -> Option<&'static Kind> {
    let lower = name.to_ascii_lowercase();
    KINDS.iter().find(|k| {
        k.kind.eq_ignore_ascii_case(name)
            || k.plural == lower
            || k.aliases.contains(&lower.as_str())
    })
}

/// The kind of a JSON object, from its `kind` and `apiVersion`.
pub fn of_object(obj: &serde_json::Value) -> Option<&'static Kind> {
    let kind = obj.get("kind")?.as_str()?;
    let api_version = obj.get("apiVersion")?.as_str()?;
    KINDS
        .iter()
        .find(|k| k.kind == kind && k.api_version() == api_version)
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
        assert!(lookup("gizmo").is_none());
    }
}
