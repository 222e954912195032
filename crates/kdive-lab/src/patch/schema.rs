//! Strategic-merge metadata for the kinds the lab serves: which lists merge, and by which key.
//!
//! Hand-built from the `patchStrategy`/`patchMergeKey` struct tags in `k8s.io/api`. Lists not
//! named here are replaced whole (atomic), which is also the upstream default.

/// A node in the type tree the patch walks. `Other` covers every field with no list strategy
/// below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ty {
    Other,
    ObjectMeta,
    // Roots.
    PodRoot,
    WorkloadRoot,
    CronJobRoot,
    ServiceRoot,
    NodeRoot,
    ServiceAccountRoot,
    GenericRoot,
    // Nested.
    WorkloadSpec,
    JobTemplateSpec,
    PodTemplateSpec,
    PodSpec,
    Container,
    PodStatus,
    ServiceSpec,
    NodeSpec,
    NodeStatus,
    ConditionsStatus,
}

/// How a field merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FieldMeta {
    /// `patchStrategy:"merge"`: lists merge (by `key` for objects, by value for scalars).
    pub merge: bool,
    pub key: Option<&'static str>,
    pub child: Ty,
}

const fn child(ty: Ty) -> FieldMeta {
    FieldMeta {
        merge: false,
        key: None,
        child: ty,
    }
}

const fn merge_by(key: &'static str, ty: Ty) -> FieldMeta {
    FieldMeta {
        merge: true,
        key: Some(key),
        child: ty,
    }
}

const MERGE_SCALARS: FieldMeta = FieldMeta {
    merge: true,
    key: None,
    child: Ty::Other,
};

const ATOMIC: FieldMeta = child(Ty::Other);

/// The root type for a Kind, or None when the lab has no strategic-merge table for it.
pub(super) fn root(kind: &str) -> Option<Ty> {
    Some(match kind {
        "Pod" => Ty::PodRoot,
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" => Ty::WorkloadRoot,
        "CronJob" => Ty::CronJobRoot,
        "Service" => Ty::ServiceRoot,
        "Node" => Ty::NodeRoot,
        "ServiceAccount" => Ty::ServiceAccountRoot,
        "Endpoints"
        | "ConfigMap"
        | "Secret"
        | "Namespace"
        | "Event"
        | "PersistentVolumeClaim"
        | "PersistentVolume"
        | "EndpointSlice"
        | "StorageClass"
        | "Role"
        | "ClusterRole"
        | "RoleBinding"
        | "ClusterRoleBinding"
        | "Lease"
        | "PodTemplate" => Ty::GenericRoot,
        _ => return None,
    })
}

/// Merge metadata for `field` inside a value of type `ty`.
pub(super) fn lookup(ty: Ty, field: &str) -> FieldMeta {
    use Ty::*;
    match (ty, field) {
        (
            PodRoot | WorkloadRoot | CronJobRoot | ServiceRoot | NodeRoot | ServiceAccountRoot
            | GenericRoot | PodTemplateSpec | JobTemplateSpec,
            "metadata",
        ) => child(ObjectMeta),
        (ObjectMeta, "ownerReferences") => merge_by("uid", Other),
        (ObjectMeta, "finalizers") => MERGE_SCALARS,

        (PodRoot, "spec") => child(PodSpec),
        (PodRoot, "status") => child(PodStatus),
        (WorkloadRoot, "spec") | (JobTemplateSpec, "spec") => child(WorkloadSpec),
        (CronJobRoot, "spec") => child(WorkloadSpec),
        (WorkloadSpec, "jobTemplate") => child(JobTemplateSpec),
        (WorkloadSpec, "template") | (GenericRoot, "template") => child(PodTemplateSpec),
        (ServiceRoot, "spec") => child(ServiceSpec),
        (NodeRoot, "spec") => child(NodeSpec),
        (NodeRoot, "status") => child(NodeStatus),
        (ServiceAccountRoot, "secrets") => merge_by("name", Other),
        (WorkloadRoot | CronJobRoot | ServiceRoot | GenericRoot, "status") => {
            child(ConditionsStatus)
        }

        (PodTemplateSpec, "spec") => child(PodSpec),
        (PodSpec, "containers" | "initContainers" | "ephemeralContainers") => {
            merge_by("name", Container)
        }
        (PodSpec, "volumes" | "imagePullSecrets" | "schedulingGates" | "resourceClaims") => {
            merge_by("name", Other)
        }
        (PodSpec, "hostAliases") => merge_by("ip", Other),
        (PodSpec, "topologySpreadConstraints") => merge_by("topologyKey", Other),
        (Container, "ports") => merge_by("containerPort", Other),
        (Container, "env") => merge_by("name", Other),
        (Container, "volumeMounts") => merge_by("mountPath", Other),
        (Container, "volumeDevices") => merge_by("devicePath", Other),
        (PodStatus, "conditions") => merge_by("type", Other),
        (PodStatus, "podIPs" | "hostIPs") => merge_by("ip", Other),
        (PodStatus, "resourceClaimStatuses") => merge_by("name", Other),

        (ServiceSpec, "ports") => merge_by("port", Other),
        (NodeSpec, "podCIDRs") => MERGE_SCALARS,
        (NodeStatus, "conditions" | "addresses") => merge_by("type", Other),
        (ConditionsStatus, "conditions") => merge_by("type", Other),
        _ => ATOMIC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keys_follow_the_struct_tags() {
        let pod_spec = lookup(lookup(Ty::PodRoot, "spec").child, "containers");
        assert_eq!(pod_spec.key, Some("name"));
        let container = pod_spec.child;
        assert_eq!(lookup(container, "volumeMounts").key, Some("mountPath"));
        assert_eq!(lookup(container, "ports").key, Some("containerPort"));
        assert_eq!(lookup(Ty::ServiceSpec, "ports").key, Some("port"));
        assert!(!lookup(Ty::PodSpec, "tolerations").merge);
        assert_eq!(lookup(Ty::ObjectMeta, "finalizers"), MERGE_SCALARS);
        assert_eq!(root("Foo"), None);
    }
}
