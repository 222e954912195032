//! Tables for `meta/v1`, `apps/v1`, `batch/v1`, `policy/v1`, `authorization/v1` and `rbac/v1` messages.

use super::{
    BOOL, BOOL_K, Field, I32, I32_K, I64, I64_K, MAP_STR, Msg, STR, STR_K, STRS, f, msg, msgs,
};

pub(super) const OBJECT_META: &[Field] = &[
    f(1, "name", STR),
    f(2, "generateName", STR),
    f(3, "namespace", STR),
    f(4, "selfLink", STR),
    f(5, "uid", STR),
    f(6, "resourceVersion", STR),
    f(7, "generation", I64),
    f(8, "creationTimestamp", msg(Msg::Time)),
    f(9, "deletionTimestamp", msg(Msg::Time)),
    f(10, "deletionGracePeriodSeconds", I64_K),
    f(11, "labels", MAP_STR),
    f(12, "annotations", MAP_STR),
    f(13, "ownerReferences", msgs(Msg::OwnerReference)),
    f(14, "finalizers", STRS),
    // 17 managedFields: deliberately skipped; the server owns it.
];

pub(super) const OWNER_REFERENCE: &[Field] = &[
    f(5, "apiVersion", STR_K),
    f(1, "kind", STR_K),
    f(3, "name", STR_K),
    f(4, "uid", STR_K),
    f(6, "controller", BOOL_K),
    f(7, "blockOwnerDeletion", BOOL_K),
];

pub(super) const LABEL_SELECTOR: &[Field] = &[
    f(1, "matchLabels", MAP_STR),
    f(2, "matchExpressions", msgs(Msg::LabelSelectorRequirement)),
];

pub(super) const LABEL_SELECTOR_REQUIREMENT: &[Field] = &[
    f(1, "key", STR_K),
    f(2, "operator", STR_K),
    f(3, "values", STRS),
];

pub(super) const DEPLOYMENT: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::DeploymentSpec)),
    f(3, "status", msg(Msg::DeploymentStatus)),
];

pub(super) const DEPLOYMENT_SPEC: &[Field] = &[
    f(1, "replicas", I32_K),
    f(2, "selector", msg(Msg::LabelSelector)),
    f(3, "template", msg(Msg::PodTemplateSpec)),
    f(4, "strategy", msg(Msg::DeploymentStrategy)),
    f(5, "minReadySeconds", I32),
    f(6, "revisionHistoryLimit", I32_K),
    f(7, "paused", BOOL),
    f(9, "progressDeadlineSeconds", I32_K),
];

pub(super) const DEPLOYMENT_STRATEGY: &[Field] = &[
    f(1, "type", STR),
    f(2, "rollingUpdate", msg(Msg::RollingUpdateDeployment)),
];

pub(super) const ROLLING_UPDATE_DEPLOYMENT: &[Field] = &[
    f(1, "maxUnavailable", msg(Msg::IntOrString)),
    f(2, "maxSurge", msg(Msg::IntOrString)),
];

pub(super) const DEPLOYMENT_STATUS: &[Field] = &[
    f(1, "observedGeneration", I64),
    f(2, "replicas", I32),
    f(3, "updatedReplicas", I32),
    f(7, "readyReplicas", I32),
    f(4, "availableReplicas", I32),
    f(5, "unavailableReplicas", I32),
    f(9, "terminatingReplicas", I32_K),
    f(6, "conditions", msgs(Msg::DeploymentCondition)),
    f(8, "collisionCount", I32_K),
];

pub(super) const DEPLOYMENT_CONDITION: &[Field] = &[
    f(1, "type", STR_K),
    f(2, "status", STR_K),
    f(6, "lastUpdateTime", msg(Msg::Time)),
    f(7, "lastTransitionTime", msg(Msg::Time)),
    f(4, "reason", STR),
    f(5, "message", STR),
];

pub(super) const SELF_SUBJECT_ACCESS_REVIEW: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::SelfSubjectAccessReviewSpec)),
    f(3, "status", msg(Msg::SubjectAccessReviewStatus)),
];

pub(super) const SELF_SUBJECT_ACCESS_REVIEW_SPEC: &[Field] = &[
    f(1, "resourceAttributes", msg(Msg::ResourceAttributes)),
    f(2, "nonResourceAttributes", msg(Msg::NonResourceAttributes)),
];

pub(super) const RESOURCE_ATTRIBUTES: &[Field] = &[
    f(1, "namespace", STR),
    f(2, "verb", STR),
    f(3, "group", STR),
    f(4, "version", STR),
    f(5, "resource", STR),
    f(6, "subresource", STR),
    f(7, "name", STR),
    f(8, "fieldSelector", msg(Msg::FieldSelectorAttributes)),
    f(9, "labelSelector", msg(Msg::LabelSelectorAttributes)),
];

pub(super) const FIELD_SELECTOR_ATTRIBUTES: &[Field] = &[
    f(1, "rawSelector", STR),
    f(2, "requirements", msgs(Msg::FieldSelectorRequirement)),
];

pub(super) const LABEL_SELECTOR_ATTRIBUTES: &[Field] = &[
    f(1, "rawSelector", STR),
    f(2, "requirements", msgs(Msg::LabelSelectorRequirement)),
];

pub(super) const NON_RESOURCE_ATTRIBUTES: &[Field] = &[f(1, "path", STR), f(2, "verb", STR)];

pub(super) const SUBJECT_ACCESS_REVIEW_STATUS: &[Field] = &[
    f(1, "allowed", BOOL_K),
    f(4, "denied", BOOL),
    f(2, "reason", STR),
    f(3, "evaluationError", STR),
];

pub(super) const SELF_SUBJECT_RULES_REVIEW: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::SelfSubjectRulesReviewSpec)),
    f(3, "status", msg(Msg::SubjectRulesReviewStatus)),
];

pub(super) const SELF_SUBJECT_RULES_REVIEW_SPEC: &[Field] = &[f(1, "namespace", STR)];

/// Rules are computed by the server; a client never sends them, so only the scalars are kept.
pub(super) const SUBJECT_RULES_REVIEW_STATUS: &[Field] =
    &[f(3, "incomplete", BOOL_K), f(4, "evaluationError", STR)];

pub(super) const JOB: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::JobSpec)),
    f(3, "status", msg(Msg::JobStatus)),
];

/// podFailurePolicy (11) and successPolicy (16) are not decoded; kubectl create never sets them.
pub(super) const JOB_SPEC: &[Field] = &[
    f(1, "parallelism", I32_K),
    f(2, "completions", I32_K),
    f(3, "activeDeadlineSeconds", I64_K),
    f(7, "backoffLimit", I32_K),
    f(12, "backoffLimitPerIndex", I32_K),
    f(13, "maxFailedIndexes", I32_K),
    f(4, "selector", msg(Msg::LabelSelector)),
    f(5, "manualSelector", BOOL_K),
    f(6, "template", msg(Msg::PodTemplateSpec)),
    f(8, "ttlSecondsAfterFinished", I32_K),
    f(9, "completionMode", STR_K),
    f(10, "suspend", BOOL_K),
    f(14, "podReplacementPolicy", STR_K),
    f(15, "managedBy", STR_K),
];

pub(super) const JOB_STATUS: &[Field] = &[
    f(1, "conditions", msgs(Msg::JobCondition)),
    f(2, "startTime", msg(Msg::Time)),
    f(3, "completionTime", msg(Msg::Time)),
    f(4, "active", I32),
    f(5, "succeeded", I32),
    f(6, "failed", I32),
    f(11, "terminating", I32_K),
    f(7, "completedIndexes", STR),
    f(10, "failedIndexes", STR_K),
    f(9, "ready", I32_K),
];

pub(super) const JOB_CONDITION: &[Field] = &[
    f(1, "type", STR_K),
    f(2, "status", STR_K),
    f(3, "lastProbeTime", msg(Msg::Time)),
    f(4, "lastTransitionTime", msg(Msg::Time)),
    f(5, "reason", STR),
    f(6, "message", STR),
];

pub(super) const JOB_TEMPLATE_SPEC: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::JobSpec)),
];

pub(super) const CRON_JOB: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::CronJobSpec)),
    f(3, "status", msg(Msg::CronJobStatus)),
];

pub(super) const CRON_JOB_SPEC: &[Field] = &[
    f(1, "schedule", STR_K),
    f(8, "timeZone", STR_K),
    f(2, "startingDeadlineSeconds", I64_K),
    f(3, "concurrencyPolicy", STR),
    f(4, "suspend", BOOL_K),
    f(5, "jobTemplate", msg(Msg::JobTemplateSpec)),
    f(6, "successfulJobsHistoryLimit", I32_K),
    f(7, "failedJobsHistoryLimit", I32_K),
];

pub(super) const CRON_JOB_STATUS: &[Field] = &[
    f(1, "active", msgs(Msg::ObjectReference)),
    f(4, "lastScheduleTime", msg(Msg::Time)),
    f(5, "lastSuccessfulTime", msg(Msg::Time)),
];

pub(super) const EVICTION: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "deleteOptions", msg(Msg::DeleteOptions)),
];

pub(super) const DELETE_OPTIONS: &[Field] = &[
    f(1, "gracePeriodSeconds", I64_K),
    f(2, "preconditions", msg(Msg::Preconditions)),
    f(3, "orphanDependents", BOOL_K),
    f(4, "propagationPolicy", STR_K),
    f(5, "dryRun", STRS),
    f(
        6,
        "ignoreStoreReadErrorWithClusterBreakingPotential",
        BOOL_K,
    ),
];

pub(super) const PRECONDITIONS: &[Field] = &[f(1, "uid", STR_K), f(2, "resourceVersion", STR_K)];

pub(super) const ROLE: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "rules", msgs(Msg::PolicyRule)),
];

pub(super) const CLUSTER_ROLE: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "rules", msgs(Msg::PolicyRule)),
    f(3, "aggregationRule", msg(Msg::AggregationRule)),
];

/// RoleBinding and ClusterRoleBinding share one layout.
pub(super) const ROLE_BINDING: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "subjects", msgs(Msg::Subject)),
    f(3, "roleRef", msg(Msg::RoleRef)),
];

pub(super) const POLICY_RULE: &[Field] = &[
    f(1, "verbs", STRS),
    f(2, "apiGroups", STRS),
    f(3, "resources", STRS),
    f(4, "resourceNames", STRS),
    f(5, "nonResourceURLs", STRS),
];

pub(super) const AGGREGATION_RULE: &[Field] =
    &[f(1, "clusterRoleSelectors", msgs(Msg::LabelSelector))];

pub(super) const SUBJECT: &[Field] = &[
    f(1, "kind", STR_K),
    f(2, "apiGroup", STR),
    f(3, "name", STR_K),
    f(4, "namespace", STR),
];

pub(super) const ROLE_REF: &[Field] = &[
    f(1, "apiGroup", STR_K),
    f(2, "kind", STR_K),
    f(3, "name", STR_K),
];
