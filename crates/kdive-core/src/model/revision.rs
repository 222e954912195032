//! Which revision of its workload an object belongs to: the Deployment revision annotation
//! and the hash labels the controllers stamp on pods (kubernetes
//! `pkg/controller/deployment/util/deployment_util.go`, `pkg/controller/history`).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

/// On a Deployment and its ReplicaSets: the rollout sequence number.
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// On a ReplicaSet, its selector and its pods: the hash of the pod template.
pub const POD_TEMPLATE_HASH_LABEL: &str = "pod-template-hash";
/// On a StatefulSet's (or DaemonSet's) pods: the ControllerRevision they were made from.
pub const CONTROLLER_REVISION_HASH_LABEL: &str = "controller-revision-hash";

/// `Revision`: the revision annotation as a number. Absent is 0; upstream returns a parse
/// error that `MaxRevision` skips, so unparsable counts as 0 too.
pub fn revision(meta: &ObjectMeta) -> i64 {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_ANNOTATION))
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// The `controller-revision-hash` label of a pod, `""` when it has none.
pub fn controller_revision_hash(meta: &ObjectMeta) -> &str {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(CONTROLLER_REVISION_HASH_LABEL))
        .map_or("", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn annotated(value: &str) -> ObjectMeta {
        ObjectMeta {
            annotations: Some([(REVISION_ANNOTATION.to_string(), value.to_string())].into()),
            ..Default::default()
        }
    }

    #[test]
    fn revision_parses_the_annotation_and_defaults_to_zero() {
        assert_eq!(revision(&annotated("3")), 3);
        assert_eq!(revision(&annotated("x")), 0);
        assert_eq!(revision(&ObjectMeta::default()), 0);
    }
}
