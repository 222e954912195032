//! Hand-written protobuf schema for the kinds kubectl's typed clients send.
//!
//! Field numbers come from the upstream `generated.proto` files; JSON names and the
//! pointer/omitempty distinction come from the Go struct tags in `k8s.io/api`. Fields are listed
//! in Go struct order so the JSON comes out in the order the apiserver writes it.

/// Scalar wire values.
mod core_v1;
mod groups;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scalar {
    Str,
    Bool,
    I32,
    I64,
    Bytes,
}

/// What to do with a zero value ("", 0, false). Go's gogo-protobuf writes every non-pointer
/// scalar, so a zero on the wire is only meaningful for pointer and non-omitempty fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Zero {
    /// Non-pointer field with `omitempty`: drop zero values.
    Omit,
    /// Pointer field, or a field without `omitempty`: keep zero values.
    Keep,
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Shape {
    Scalar(Scalar, Zero),
    Repeated(Scalar),
    Message(Msg),
    RepeatedMessage(Msg),
    /// A Go embedded struct (`json:",inline"`): its fields are flattened into the parent.
    Inline(Msg),
    /// `map<string, scalar>`.
    Map(Scalar),
    /// `map<string, message>`.
    MapMessage(Msg),
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Field {
    pub num: u64,
    pub json: &'static str,
    pub shape: Shape,
}

const fn f(num: u64, json: &'static str, shape: Shape) -> Field {
    Field { num, json, shape }
}

const STR: Shape = Shape::Scalar(Scalar::Str, Zero::Omit);
const STR_K: Shape = Shape::Scalar(Scalar::Str, Zero::Keep);
const BOOL: Shape = Shape::Scalar(Scalar::Bool, Zero::Omit);
const BOOL_K: Shape = Shape::Scalar(Scalar::Bool, Zero::Keep);
const I32: Shape = Shape::Scalar(Scalar::I32, Zero::Omit);
const I32_K: Shape = Shape::Scalar(Scalar::I32, Zero::Keep);
const I64: Shape = Shape::Scalar(Scalar::I64, Zero::Omit);
const I64_K: Shape = Shape::Scalar(Scalar::I64, Zero::Keep);
const STRS: Shape = Shape::Repeated(Scalar::Str);
const I64S: Shape = Shape::Repeated(Scalar::I64);
const MAP_STR: Shape = Shape::Map(Scalar::Str);
const MAP_BYTES: Shape = Shape::Map(Scalar::Bytes);

const fn msg(m: Msg) -> Shape {
    Shape::Message(m)
}
const fn msgs(m: Msg) -> Shape {
    Shape::RepeatedMessage(m)
}

/// Every message the decoder knows. The first four are converted specially (not field by field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Msg {
    Time,
    MicroTime,
    Quantity,
    IntOrString,
    ObjectMeta,
    OwnerReference,
    LabelSelector,
    LabelSelectorRequirement,
    Deployment,
    DeploymentSpec,
    DeploymentStrategy,
    RollingUpdateDeployment,
    DeploymentStatus,
    DeploymentCondition,
    PodTemplateSpec,
    Pod,
    PodSpec,
    PodStatus,
    PodSecurityContext,
    SeccompProfile,
    Toleration,
    Container,
    ContainerPort,
    EnvVar,
    EnvVarSource,
    ObjectFieldSelector,
    ResourceFieldSelector,
    ConfigMapKeySelector,
    SecretKeySelector,
    LocalObjectReference,
    EnvFromSource,
    ConfigMapEnvSource,
    SecretEnvSource,
    ResourceRequirements,
    ResourceClaim,
    Probe,
    ProbeHandler,
    HttpGetAction,
    HttpHeader,
    TcpSocketAction,
    ExecAction,
    GrpcAction,
    Lifecycle,
    LifecycleHandler,
    SleepAction,
    SecurityContext,
    Capabilities,
    Volume,
    VolumeSource,
    HostPathVolumeSource,
    EmptyDirVolumeSource,
    SecretVolumeSource,
    ConfigMapVolumeSource,
    KeyToPath,
    PersistentVolumeClaimVolumeSource,
    VolumeMount,
    Service,
    ServiceSpec,
    ServicePort,
    SessionAffinityConfig,
    ClientIpConfig,
    ServiceStatus,
    LoadBalancerStatus,
    ConfigMap,
    Secret,
    Namespace,
    NamespaceSpec,
    NamespaceStatus,
    ServiceAccount,
    ObjectReference,
    SelfSubjectAccessReview,
    SelfSubjectAccessReviewSpec,
    ResourceAttributes,
    FieldSelectorAttributes,
    LabelSelectorAttributes,
    FieldSelectorRequirement,
    NonResourceAttributes,
    SubjectAccessReviewStatus,
    SelfSubjectRulesReview,
    SelfSubjectRulesReviewSpec,
    SubjectRulesReviewStatus,
    Job,
    JobSpec,
    JobStatus,
    JobCondition,
    JobTemplateSpec,
    CronJob,
    CronJobSpec,
    CronJobStatus,
    Eviction,
    DeleteOptions,
    Preconditions,
    Role,
    ClusterRole,
    RoleBinding,
    PolicyRule,
    AggregationRule,
    Subject,
    RoleRef,
}

/// The top-level message for an `apiVersion` and `kind`, when the lab can decode it.
pub(super) fn root_message(api_version: &str, kind: &str) -> Option<Msg> {
    Some(match (api_version, kind) {
        ("apps/v1", "Deployment") => Msg::Deployment,
        ("v1", "Pod") => Msg::Pod,
        ("v1", "Service") => Msg::Service,
        ("v1", "ConfigMap") => Msg::ConfigMap,
        ("v1", "Secret") => Msg::Secret,
        ("v1", "Namespace") => Msg::Namespace,
        ("v1", "ServiceAccount") => Msg::ServiceAccount,
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview") => Msg::SelfSubjectAccessReview,
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview") => Msg::SelfSubjectRulesReview,
        ("batch/v1", "Job") => Msg::Job,
        ("batch/v1", "CronJob") => Msg::CronJob,
        ("policy/v1", "Eviction") => Msg::Eviction,
        ("rbac.authorization.k8s.io/v1", "Role") => Msg::Role,
        ("rbac.authorization.k8s.io/v1", "ClusterRole") => Msg::ClusterRole,
        ("rbac.authorization.k8s.io/v1", "RoleBinding" | "ClusterRoleBinding") => Msg::RoleBinding,
        _ => return None,
    })
}

use core_v1::*;
use groups::*;

impl Msg {
    /// The fields of a structured message; empty for the specially converted ones.
    pub(super) fn fields(self) -> &'static [Field] {
        match self {
            Msg::Time | Msg::MicroTime | Msg::Quantity | Msg::IntOrString => &[],
            Msg::ObjectMeta => OBJECT_META,
            Msg::OwnerReference => OWNER_REFERENCE,
            Msg::LabelSelector => LABEL_SELECTOR,
            Msg::LabelSelectorRequirement | Msg::FieldSelectorRequirement => {
                LABEL_SELECTOR_REQUIREMENT
            }
            Msg::Deployment => DEPLOYMENT,
            Msg::DeploymentSpec => DEPLOYMENT_SPEC,
            Msg::DeploymentStrategy => DEPLOYMENT_STRATEGY,
            Msg::RollingUpdateDeployment => ROLLING_UPDATE_DEPLOYMENT,
            Msg::DeploymentStatus => DEPLOYMENT_STATUS,
            Msg::DeploymentCondition => DEPLOYMENT_CONDITION,
            Msg::PodTemplateSpec => POD_TEMPLATE_SPEC,
            Msg::Pod => POD,
            Msg::PodSpec => POD_SPEC,
            Msg::PodStatus => POD_STATUS,
            Msg::PodSecurityContext => POD_SECURITY_CONTEXT,
            Msg::SeccompProfile => SECCOMP_PROFILE,
            Msg::Toleration => TOLERATION,
            Msg::Container => CONTAINER,
            Msg::ContainerPort => CONTAINER_PORT,
            Msg::EnvVar => ENV_VAR,
            Msg::EnvVarSource => ENV_VAR_SOURCE,
            Msg::ObjectFieldSelector => OBJECT_FIELD_SELECTOR,
            Msg::ResourceFieldSelector => RESOURCE_FIELD_SELECTOR,
            Msg::ConfigMapKeySelector | Msg::SecretKeySelector => KEY_SELECTOR,
            Msg::LocalObjectReference => LOCAL_OBJECT_REFERENCE,
            Msg::EnvFromSource => ENV_FROM_SOURCE,
            Msg::ConfigMapEnvSource | Msg::SecretEnvSource => ENV_SOURCE,
            Msg::ResourceRequirements => RESOURCE_REQUIREMENTS,
            Msg::ResourceClaim => RESOURCE_CLAIM,
            Msg::Probe => PROBE,
            Msg::ProbeHandler => PROBE_HANDLER,
            Msg::HttpGetAction => HTTP_GET_ACTION,
            Msg::HttpHeader => HTTP_HEADER,
            Msg::TcpSocketAction => TCP_SOCKET_ACTION,
            Msg::ExecAction => EXEC_ACTION,
            Msg::GrpcAction => GRPC_ACTION,
            Msg::Lifecycle => LIFECYCLE,
            Msg::LifecycleHandler => LIFECYCLE_HANDLER,
            Msg::SleepAction => SLEEP_ACTION,
            Msg::SecurityContext => SECURITY_CONTEXT,
            Msg::Capabilities => CAPABILITIES,
            Msg::Volume => VOLUME,
            Msg::VolumeSource => VOLUME_SOURCE,
            Msg::HostPathVolumeSource => HOST_PATH_VOLUME_SOURCE,
            Msg::EmptyDirVolumeSource => EMPTY_DIR_VOLUME_SOURCE,
            Msg::SecretVolumeSource => SECRET_VOLUME_SOURCE,
            Msg::ConfigMapVolumeSource => CONFIG_MAP_VOLUME_SOURCE,
            Msg::KeyToPath => KEY_TO_PATH,
            Msg::PersistentVolumeClaimVolumeSource => PVC_VOLUME_SOURCE,
            Msg::VolumeMount => VOLUME_MOUNT,
            Msg::Service => SERVICE,
            Msg::ServiceSpec => SERVICE_SPEC,
            Msg::ServicePort => SERVICE_PORT,
            Msg::SessionAffinityConfig => SESSION_AFFINITY_CONFIG,
            Msg::ClientIpConfig => CLIENT_IP_CONFIG,
            Msg::ServiceStatus => SERVICE_STATUS,
            Msg::LoadBalancerStatus => LOAD_BALANCER_STATUS,
            Msg::ConfigMap => CONFIG_MAP,
            Msg::Secret => SECRET,
            Msg::Namespace => NAMESPACE,
            Msg::NamespaceSpec => NAMESPACE_SPEC,
            Msg::NamespaceStatus => NAMESPACE_STATUS,
            Msg::ServiceAccount => SERVICE_ACCOUNT,
            Msg::ObjectReference => OBJECT_REFERENCE,
            Msg::SelfSubjectAccessReview => SELF_SUBJECT_ACCESS_REVIEW,
            Msg::SelfSubjectAccessReviewSpec => SELF_SUBJECT_ACCESS_REVIEW_SPEC,
            Msg::ResourceAttributes => RESOURCE_ATTRIBUTES,
            Msg::FieldSelectorAttributes => FIELD_SELECTOR_ATTRIBUTES,
            Msg::LabelSelectorAttributes => LABEL_SELECTOR_ATTRIBUTES,
            Msg::NonResourceAttributes => NON_RESOURCE_ATTRIBUTES,
            Msg::SubjectAccessReviewStatus => SUBJECT_ACCESS_REVIEW_STATUS,
            Msg::SelfSubjectRulesReview => SELF_SUBJECT_RULES_REVIEW,
            Msg::SelfSubjectRulesReviewSpec => SELF_SUBJECT_RULES_REVIEW_SPEC,
            Msg::SubjectRulesReviewStatus => SUBJECT_RULES_REVIEW_STATUS,
            Msg::Job => JOB,
            Msg::JobSpec => JOB_SPEC,
            Msg::JobStatus => JOB_STATUS,
            Msg::JobCondition => JOB_CONDITION,
            Msg::JobTemplateSpec => JOB_TEMPLATE_SPEC,
            Msg::CronJob => CRON_JOB,
            Msg::CronJobSpec => CRON_JOB_SPEC,
            Msg::CronJobStatus => CRON_JOB_STATUS,
            Msg::Eviction => EVICTION,
            Msg::DeleteOptions => DELETE_OPTIONS,
            Msg::Preconditions => PRECONDITIONS,
            Msg::Role => ROLE,
            Msg::ClusterRole => CLUSTER_ROLE,
            Msg::RoleBinding => ROLE_BINDING,
            Msg::PolicyRule => POLICY_RULE,
            Msg::AggregationRule => AGGREGATION_RULE,
            Msg::Subject => SUBJECT,
            Msg::RoleRef => ROLE_REF,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOTS: &[(&str, &str)] = &[
        ("apps/v1", "Deployment"),
        ("v1", "Pod"),
        ("v1", "Service"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Namespace"),
        ("v1", "ServiceAccount"),
        ("authorization.k8s.io/v1", "SelfSubjectAccessReview"),
        ("authorization.k8s.io/v1", "SelfSubjectRulesReview"),
        ("batch/v1", "Job"),
        ("batch/v1", "CronJob"),
        ("policy/v1", "Eviction"),
        ("rbac.authorization.k8s.io/v1", "Role"),
        ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "RoleBinding"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ];

    /// In every message reachable from a root, field numbers and JSON names are unique, or the
    /// decoder would silently pick one of two fields.
    #[test]
    fn reachable_messages_have_unique_numbers_and_names() {
        let mut todo: Vec<Msg> = ROOTS
            .iter()
            .map(|(v, k)| root_message(v, k).expect("root is decodable"))
            .collect();
        let mut seen = Vec::new();
        while let Some(m) = todo.pop() {
            if seen.contains(&m) {
                continue;
            }
            seen.push(m);
            let fields = m.fields();
            let mut nums: Vec<u64> = fields.iter().map(|f| f.num).collect();
            nums.sort_unstable();
            nums.dedup();
            assert_eq!(nums.len(), fields.len(), "duplicate field number in {m:?}");
            let mut names: Vec<&str> = fields
                .iter()
                .map(|f| f.json)
                .filter(|j| !j.is_empty())
                .collect();
            let named = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), named, "duplicate JSON name in {m:?}");
            for field in fields {
                match field.shape {
                    Shape::Message(sub)
                    | Shape::RepeatedMessage(sub)
                    | Shape::Inline(sub)
                    | Shape::MapMessage(sub) => todo.push(sub),
                    Shape::Scalar(..) | Shape::Repeated(_) | Shape::Map(_) => {}
                }
            }
        }
        assert!(seen.len() > 60, "walked only {} messages", seen.len());
    }
}
