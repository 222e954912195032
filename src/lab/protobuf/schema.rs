//! Hand-written protobuf schema for the kinds kubectl's typed clients send.
//!
//! Field numbers come from the upstream `generated.proto` files; JSON names and the
//! pointer/omitempty distinction come from the Go struct tags in `k8s.io/api`. Fields are listed
//! in Go struct order so the JSON comes out in the order the apiserver writes it.

/// Scalar wire values.
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
        _ => return None,
    })
}

const OBJECT_META: &[Field] = &[
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

const OWNER_REFERENCE: &[Field] = &[
    f(5, "apiVersion", STR_K),
    f(1, "kind", STR_K),
    f(3, "name", STR_K),
    f(4, "uid", STR_K),
    f(6, "controller", BOOL_K),
    f(7, "blockOwnerDeletion", BOOL_K),
];

const LABEL_SELECTOR: &[Field] = &[
    f(1, "matchLabels", MAP_STR),
    f(2, "matchExpressions", msgs(Msg::LabelSelectorRequirement)),
];

const LABEL_SELECTOR_REQUIREMENT: &[Field] = &[
    f(1, "key", STR_K),
    f(2, "operator", STR_K),
    f(3, "values", STRS),
];

const DEPLOYMENT: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::DeploymentSpec)),
    f(3, "status", msg(Msg::DeploymentStatus)),
];

const DEPLOYMENT_SPEC: &[Field] = &[
    f(1, "replicas", I32_K),
    f(2, "selector", msg(Msg::LabelSelector)),
    f(3, "template", msg(Msg::PodTemplateSpec)),
    f(4, "strategy", msg(Msg::DeploymentStrategy)),
    f(5, "minReadySeconds", I32),
    f(6, "revisionHistoryLimit", I32_K),
    f(7, "paused", BOOL),
    f(9, "progressDeadlineSeconds", I32_K),
];

const DEPLOYMENT_STRATEGY: &[Field] = &[
    f(1, "type", STR),
    f(2, "rollingUpdate", msg(Msg::RollingUpdateDeployment)),
];

const ROLLING_UPDATE_DEPLOYMENT: &[Field] = &[
    f(1, "maxUnavailable", msg(Msg::IntOrString)),
    f(2, "maxSurge", msg(Msg::IntOrString)),
];

const DEPLOYMENT_STATUS: &[Field] = &[
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

const DEPLOYMENT_CONDITION: &[Field] = &[
    f(1, "type", STR_K),
    f(2, "status", STR_K),
    f(6, "lastUpdateTime", msg(Msg::Time)),
    f(7, "lastTransitionTime", msg(Msg::Time)),
    f(4, "reason", STR),
    f(5, "message", STR),
];

const POD_TEMPLATE_SPEC: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::PodSpec)),
];

const POD: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::PodSpec)),
    f(3, "status", msg(Msg::PodStatus)),
];

const POD_SPEC: &[Field] = &[
    f(1, "volumes", msgs(Msg::Volume)),
    f(20, "initContainers", msgs(Msg::Container)),
    f(2, "containers", msgs(Msg::Container)),
    f(3, "restartPolicy", STR),
    f(4, "terminationGracePeriodSeconds", I64_K),
    f(5, "activeDeadlineSeconds", I64_K),
    f(6, "dnsPolicy", STR),
    f(7, "nodeSelector", MAP_STR),
    f(8, "serviceAccountName", STR),
    f(9, "serviceAccount", STR),
    f(21, "automountServiceAccountToken", BOOL_K),
    f(10, "nodeName", STR),
    f(11, "hostNetwork", BOOL),
    f(12, "hostPID", BOOL),
    f(13, "hostIPC", BOOL),
    f(27, "shareProcessNamespace", BOOL_K),
    f(14, "securityContext", msg(Msg::PodSecurityContext)),
    f(15, "imagePullSecrets", msgs(Msg::LocalObjectReference)),
    f(16, "hostname", STR),
    f(17, "subdomain", STR),
    f(19, "schedulerName", STR),
    f(22, "tolerations", msgs(Msg::Toleration)),
    f(24, "priorityClassName", STR),
    f(25, "priority", I32_K),
    f(29, "runtimeClassName", STR_K),
    f(30, "enableServiceLinks", BOOL_K),
    f(31, "preemptionPolicy", STR_K),
    f(32, "overhead", Shape::MapMessage(Msg::Quantity)),
    f(35, "setHostnameAsFQDN", BOOL_K),
    f(37, "hostUsers", BOOL_K),
    f(40, "resources", msg(Msg::ResourceRequirements)),
];

const POD_STATUS: &[Field] = &[
    f(1, "phase", STR),
    f(3, "message", STR),
    f(4, "reason", STR),
    f(5, "hostIP", STR),
    f(6, "podIP", STR),
    f(7, "startTime", msg(Msg::Time)),
    f(9, "qosClass", STR),
];

const POD_SECURITY_CONTEXT: &[Field] = &[
    f(2, "runAsUser", I64_K),
    f(6, "runAsGroup", I64_K),
    f(3, "runAsNonRoot", BOOL_K),
    f(4, "supplementalGroups", I64S),
    f(12, "supplementalGroupsPolicy", STR_K),
    f(5, "fsGroup", I64_K),
    f(9, "fsGroupChangePolicy", STR_K),
    f(10, "seccompProfile", msg(Msg::SeccompProfile)),
    f(13, "seLinuxChangePolicy", STR_K),
];

const SECCOMP_PROFILE: &[Field] = &[f(1, "type", STR_K), f(2, "localhostProfile", STR_K)];

const TOLERATION: &[Field] = &[
    f(1, "key", STR),
    f(2, "operator", STR),
    f(3, "value", STR),
    f(4, "effect", STR),
    f(5, "tolerationSeconds", I64_K),
];

const CONTAINER: &[Field] = &[
    f(1, "name", STR_K),
    f(2, "image", STR),
    f(3, "command", STRS),
    f(4, "args", STRS),
    f(5, "workingDir", STR),
    f(6, "ports", msgs(Msg::ContainerPort)),
    f(19, "envFrom", msgs(Msg::EnvFromSource)),
    f(7, "env", msgs(Msg::EnvVar)),
    f(8, "resources", msg(Msg::ResourceRequirements)),
    f(24, "restartPolicy", STR_K),
    f(9, "volumeMounts", msgs(Msg::VolumeMount)),
    f(10, "livenessProbe", msg(Msg::Probe)),
    f(11, "readinessProbe", msg(Msg::Probe)),
    f(22, "startupProbe", msg(Msg::Probe)),
    f(12, "lifecycle", msg(Msg::Lifecycle)),
    f(13, "terminationMessagePath", STR),
    f(20, "terminationMessagePolicy", STR),
    f(14, "imagePullPolicy", STR),
    f(15, "securityContext", msg(Msg::SecurityContext)),
    f(16, "stdin", BOOL),
    f(17, "stdinOnce", BOOL),
    f(18, "tty", BOOL),
];

const CONTAINER_PORT: &[Field] = &[
    f(1, "name", STR),
    f(2, "hostPort", I32),
    f(3, "containerPort", I32_K),
    f(4, "protocol", STR),
    f(5, "hostIP", STR),
];

const ENV_VAR: &[Field] = &[
    f(1, "name", STR_K),
    f(2, "value", STR),
    f(3, "valueFrom", msg(Msg::EnvVarSource)),
];

const ENV_VAR_SOURCE: &[Field] = &[
    f(1, "fieldRef", msg(Msg::ObjectFieldSelector)),
    f(2, "resourceFieldRef", msg(Msg::ResourceFieldSelector)),
    f(3, "configMapKeyRef", msg(Msg::ConfigMapKeySelector)),
    f(4, "secretKeyRef", msg(Msg::SecretKeySelector)),
];

const OBJECT_FIELD_SELECTOR: &[Field] = &[f(1, "apiVersion", STR), f(2, "fieldPath", STR_K)];

const RESOURCE_FIELD_SELECTOR: &[Field] = &[
    f(1, "containerName", STR),
    f(2, "resource", STR_K),
    f(3, "divisor", msg(Msg::Quantity)),
];

const KEY_SELECTOR: &[Field] = &[
    f(1, "", Shape::Inline(Msg::LocalObjectReference)),
    f(2, "key", STR_K),
    f(3, "optional", BOOL_K),
];

const LOCAL_OBJECT_REFERENCE: &[Field] = &[f(1, "name", STR)];

const ENV_FROM_SOURCE: &[Field] = &[
    f(1, "prefix", STR),
    f(2, "configMapRef", msg(Msg::ConfigMapEnvSource)),
    f(3, "secretRef", msg(Msg::SecretEnvSource)),
];

const ENV_SOURCE: &[Field] = &[
    f(1, "", Shape::Inline(Msg::LocalObjectReference)),
    f(2, "optional", BOOL_K),
];

const RESOURCE_REQUIREMENTS: &[Field] = &[
    f(1, "limits", Shape::MapMessage(Msg::Quantity)),
    f(2, "requests", Shape::MapMessage(Msg::Quantity)),
    f(3, "claims", msgs(Msg::ResourceClaim)),
];

const RESOURCE_CLAIM: &[Field] = &[f(1, "name", STR_K), f(2, "request", STR)];

const PROBE: &[Field] = &[
    f(1, "", Shape::Inline(Msg::ProbeHandler)),
    f(2, "initialDelaySeconds", I32),
    f(3, "timeoutSeconds", I32),
    f(4, "periodSeconds", I32),
    f(5, "successThreshold", I32),
    f(6, "failureThreshold", I32),
    f(7, "terminationGracePeriodSeconds", I64_K),
];

const PROBE_HANDLER: &[Field] = &[
    f(1, "exec", msg(Msg::ExecAction)),
    f(2, "httpGet", msg(Msg::HttpGetAction)),
    f(3, "tcpSocket", msg(Msg::TcpSocketAction)),
    f(4, "grpc", msg(Msg::GrpcAction)),
];

const HTTP_GET_ACTION: &[Field] = &[
    f(1, "path", STR),
    f(2, "port", msg(Msg::IntOrString)),
    f(3, "host", STR),
    f(4, "scheme", STR),
    f(5, "httpHeaders", msgs(Msg::HttpHeader)),
];

const HTTP_HEADER: &[Field] = &[f(1, "name", STR_K), f(2, "value", STR_K)];

const TCP_SOCKET_ACTION: &[Field] = &[f(1, "port", msg(Msg::IntOrString)), f(2, "host", STR)];

const EXEC_ACTION: &[Field] = &[f(1, "command", STRS)];

const GRPC_ACTION: &[Field] = &[f(1, "port", I32_K), f(2, "service", STR_K)];

const LIFECYCLE: &[Field] = &[
    f(1, "postStart", msg(Msg::LifecycleHandler)),
    f(2, "preStop", msg(Msg::LifecycleHandler)),
    f(3, "stopSignal", STR_K),
];

const LIFECYCLE_HANDLER: &[Field] = &[
    f(1, "exec", msg(Msg::ExecAction)),
    f(2, "httpGet", msg(Msg::HttpGetAction)),
    f(3, "tcpSocket", msg(Msg::TcpSocketAction)),
    f(4, "sleep", msg(Msg::SleepAction)),
];

const SLEEP_ACTION: &[Field] = &[f(1, "seconds", I64_K)];

const SECURITY_CONTEXT: &[Field] = &[
    f(1, "capabilities", msg(Msg::Capabilities)),
    f(2, "privileged", BOOL_K),
    f(4, "runAsUser", I64_K),
    f(8, "runAsGroup", I64_K),
    f(5, "runAsNonRoot", BOOL_K),
    f(6, "readOnlyRootFilesystem", BOOL_K),
    f(7, "allowPrivilegeEscalation", BOOL_K),
    f(9, "procMount", STR_K),
    f(11, "seccompProfile", msg(Msg::SeccompProfile)),
];

const CAPABILITIES: &[Field] = &[f(1, "add", STRS), f(2, "drop", STRS)];

const VOLUME: &[Field] = &[
    f(1, "name", STR_K),
    f(2, "", Shape::Inline(Msg::VolumeSource)),
];

const VOLUME_SOURCE: &[Field] = &[
    f(1, "hostPath", msg(Msg::HostPathVolumeSource)),
    f(2, "emptyDir", msg(Msg::EmptyDirVolumeSource)),
    f(6, "secret", msg(Msg::SecretVolumeSource)),
    f(
        10,
        "persistentVolumeClaim",
        msg(Msg::PersistentVolumeClaimVolumeSource),
    ),
    f(19, "configMap", msg(Msg::ConfigMapVolumeSource)),
];

const HOST_PATH_VOLUME_SOURCE: &[Field] = &[f(1, "path", STR_K), f(2, "type", STR_K)];

const EMPTY_DIR_VOLUME_SOURCE: &[Field] =
    &[f(1, "medium", STR), f(2, "sizeLimit", msg(Msg::Quantity))];

const SECRET_VOLUME_SOURCE: &[Field] = &[
    f(1, "secretName", STR),
    f(2, "items", msgs(Msg::KeyToPath)),
    f(3, "defaultMode", I32_K),
    f(4, "optional", BOOL_K),
];

const CONFIG_MAP_VOLUME_SOURCE: &[Field] = &[
    f(1, "", Shape::Inline(Msg::LocalObjectReference)),
    f(2, "items", msgs(Msg::KeyToPath)),
    f(3, "defaultMode", I32_K),
    f(4, "optional", BOOL_K),
];

const KEY_TO_PATH: &[Field] = &[f(1, "key", STR_K), f(2, "path", STR_K), f(3, "mode", I32_K)];

const PVC_VOLUME_SOURCE: &[Field] = &[f(1, "claimName", STR_K), f(2, "readOnly", BOOL)];

const VOLUME_MOUNT: &[Field] = &[
    f(1, "name", STR_K),
    f(2, "readOnly", BOOL),
    f(7, "recursiveReadOnly", STR_K),
    f(3, "mountPath", STR_K),
    f(4, "subPath", STR),
    f(5, "mountPropagation", STR_K),
    f(6, "subPathExpr", STR),
];

const SERVICE: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::ServiceSpec)),
    f(3, "status", msg(Msg::ServiceStatus)),
];

const SERVICE_SPEC: &[Field] = &[
    f(1, "ports", msgs(Msg::ServicePort)),
    f(2, "selector", MAP_STR),
    f(3, "clusterIP", STR),
    f(18, "clusterIPs", STRS),
    f(4, "type", STR),
    f(5, "externalIPs", STRS),
    f(7, "sessionAffinity", STR),
    f(8, "loadBalancerIP", STR),
    f(9, "loadBalancerSourceRanges", STRS),
    f(10, "externalName", STR),
    f(11, "externalTrafficPolicy", STR),
    f(12, "healthCheckNodePort", I32),
    f(13, "publishNotReadyAddresses", BOOL),
    f(14, "sessionAffinityConfig", msg(Msg::SessionAffinityConfig)),
    f(19, "ipFamilies", STRS),
    f(17, "ipFamilyPolicy", STR_K),
    f(20, "allocateLoadBalancerNodePorts", BOOL_K),
    f(21, "loadBalancerClass", STR_K),
    f(22, "internalTrafficPolicy", STR_K),
    f(23, "trafficDistribution", STR_K),
];

const SERVICE_PORT: &[Field] = &[
    f(1, "name", STR),
    f(2, "protocol", STR),
    f(6, "appProtocol", STR_K),
    f(3, "port", I32_K),
    f(4, "targetPort", msg(Msg::IntOrString)),
    f(5, "nodePort", I32),
];

const SESSION_AFFINITY_CONFIG: &[Field] = &[f(1, "clientIP", msg(Msg::ClientIpConfig))];

const CLIENT_IP_CONFIG: &[Field] = &[f(1, "timeoutSeconds", I32_K)];

const SERVICE_STATUS: &[Field] = &[f(1, "loadBalancer", msg(Msg::LoadBalancerStatus))];

/// Ingress entries are status written by controllers, never by kubectl; they are skipped.
const LOAD_BALANCER_STATUS: &[Field] = &[];

const CONFIG_MAP: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(4, "immutable", BOOL_K),
    f(2, "data", MAP_STR),
    f(3, "binaryData", MAP_BYTES),
];

const SECRET: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(5, "immutable", BOOL_K),
    f(2, "data", MAP_BYTES),
    f(4, "stringData", MAP_STR),
    f(3, "type", STR),
];

const NAMESPACE: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::NamespaceSpec)),
    f(3, "status", msg(Msg::NamespaceStatus)),
];

const NAMESPACE_SPEC: &[Field] = &[f(1, "finalizers", STRS)];

const NAMESPACE_STATUS: &[Field] = &[f(1, "phase", STR)];

const SERVICE_ACCOUNT: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "secrets", msgs(Msg::ObjectReference)),
    f(3, "imagePullSecrets", msgs(Msg::LocalObjectReference)),
    f(4, "automountServiceAccountToken", BOOL_K),
];

const OBJECT_REFERENCE: &[Field] = &[
    f(1, "kind", STR),
    f(2, "namespace", STR),
    f(3, "name", STR),
    f(4, "uid", STR),
    f(5, "apiVersion", STR),
    f(6, "resourceVersion", STR),
    f(7, "fieldPath", STR),
];

const SELF_SUBJECT_ACCESS_REVIEW: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::SelfSubjectAccessReviewSpec)),
    f(3, "status", msg(Msg::SubjectAccessReviewStatus)),
];

const SELF_SUBJECT_ACCESS_REVIEW_SPEC: &[Field] = &[
    f(1, "resourceAttributes", msg(Msg::ResourceAttributes)),
    f(2, "nonResourceAttributes", msg(Msg::NonResourceAttributes)),
];

const RESOURCE_ATTRIBUTES: &[Field] = &[
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

const FIELD_SELECTOR_ATTRIBUTES: &[Field] = &[
    f(1, "rawSelector", STR),
    f(2, "requirements", msgs(Msg::FieldSelectorRequirement)),
];

const LABEL_SELECTOR_ATTRIBUTES: &[Field] = &[
    f(1, "rawSelector", STR),
    f(2, "requirements", msgs(Msg::LabelSelectorRequirement)),
];

const NON_RESOURCE_ATTRIBUTES: &[Field] = &[f(1, "path", STR), f(2, "verb", STR)];

const SUBJECT_ACCESS_REVIEW_STATUS: &[Field] = &[
    f(1, "allowed", BOOL_K),
    f(4, "denied", BOOL),
    f(2, "reason", STR),
    f(3, "evaluationError", STR),
];

const SELF_SUBJECT_RULES_REVIEW: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::SelfSubjectRulesReviewSpec)),
    f(3, "status", msg(Msg::SubjectRulesReviewStatus)),
];

const SELF_SUBJECT_RULES_REVIEW_SPEC: &[Field] = &[f(1, "namespace", STR)];

/// Rules are computed by the server; a client never sends them, so only the scalars are kept.
const SUBJECT_RULES_REVIEW_STATUS: &[Field] =
    &[f(3, "incomplete", BOOL_K), f(4, "evaluationError", STR)];

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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every message's field numbers must be unique, or the decoder would silently pick one.
    #[test]
    fn field_numbers_are_unique_per_message() {
        let all = [
            Msg::ObjectMeta,
            Msg::PodSpec,
            Msg::Container,
            Msg::ServiceSpec,
            Msg::DeploymentSpec,
            Msg::DeploymentStatus,
            Msg::SecurityContext,
            Msg::PodSecurityContext,
            Msg::VolumeMount,
            Msg::ResourceAttributes,
            Msg::Secret,
            Msg::ConfigMap,
        ];
        for m in all {
            let mut nums: Vec<u64> = m.fields().iter().map(|f| f.num).collect();
            let before = nums.len();
            nums.sort_unstable();
            nums.dedup();
            assert_eq!(nums.len(), before, "duplicate field number in {m:?}");
        }
    }
}
