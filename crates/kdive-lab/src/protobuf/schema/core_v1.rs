//! Tables for `core/v1` messages.

use super::{
    BOOL, BOOL_K, Field, I32, I32_K, I64_K, I64S, MAP_BYTES, MAP_STR, Msg, STR, STR_K, STRS, Shape,
    f, msg, msgs,
};

pub(super) const POD_TEMPLATE_SPEC: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::PodSpec)),
];

pub(super) const POD: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::PodSpec)),
    f(3, "status", msg(Msg::PodStatus)),
];

pub(super) const POD_SPEC: &[Field] = &[
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

pub(super) const POD_STATUS: &[Field] = &[
    f(1, "phase", STR),
    f(3, "message", STR),
    f(4, "reason", STR),
    f(5, "hostIP", STR),
    f(6, "podIP", STR),
    f(7, "startTime", msg(Msg::Time)),
    f(9, "qosClass", STR),
];

pub(super) const POD_SECURITY_CONTEXT: &[Field] = &[
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

pub(super) const SECCOMP_PROFILE: &[Field] =
    &[f(1, "type", STR_K), f(2, "localhostProfile", STR_K)];

pub(super) const TOLERATION: &[Field] = &[
    f(1, "key", STR),
    f(2, "operator", STR),
    f(3, "value", STR),
    f(4, "effect", STR),
    f(5, "tolerationSeconds", I64_K),
];

pub(super) const CONTAINER: &[Field] = &[
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

pub(super) const CONTAINER_PORT: &[Field] = &[
    f(1, "name", STR),
    f(2, "hostPort", I32),
    f(3, "containerPort", I32_K),
    f(4, "protocol", STR),
    f(5, "hostIP", STR),
];

pub(super) const ENV_VAR: &[Field] = &[
    f(1, "name", STR_K),
    f(2, "value", STR),
    f(3, "valueFrom", msg(Msg::EnvVarSource)),
];

pub(super) const ENV_VAR_SOURCE: &[Field] = &[
    f(1, "fieldRef", msg(Msg::ObjectFieldSelector)),
    f(2, "resourceFieldRef", msg(Msg::ResourceFieldSelector)),
    f(3, "configMapKeyRef", msg(Msg::ConfigMapKeySelector)),
    f(4, "secretKeyRef", msg(Msg::SecretKeySelector)),
];

pub(super) const OBJECT_FIELD_SELECTOR: &[Field] =
    &[f(1, "apiVersion", STR), f(2, "fieldPath", STR_K)];

pub(super) const RESOURCE_FIELD_SELECTOR: &[Field] = &[
    f(1, "containerName", STR),
    f(2, "resource", STR_K),
    f(3, "divisor", msg(Msg::Quantity)),
];

pub(super) const KEY_SELECTOR: &[Field] = &[
    f(1, "", Shape::Inline(Msg::LocalObjectReference)),
    f(2, "key", STR_K),
    f(3, "optional", BOOL_K),
];

pub(super) const LOCAL_OBJECT_REFERENCE: &[Field] = &[f(1, "name", STR)];

pub(super) const ENV_FROM_SOURCE: &[Field] = &[
    f(1, "prefix", STR),
    f(2, "configMapRef", msg(Msg::ConfigMapEnvSource)),
    f(3, "secretRef", msg(Msg::SecretEnvSource)),
];

pub(super) const ENV_SOURCE: &[Field] = &[
    f(1, "", Shape::Inline(Msg::LocalObjectReference)),
    f(2, "optional", BOOL_K),
];

pub(super) const RESOURCE_REQUIREMENTS: &[Field] = &[
    f(1, "limits", Shape::MapMessage(Msg::Quantity)),
    f(2, "requests", Shape::MapMessage(Msg::Quantity)),
    f(3, "claims", msgs(Msg::ResourceClaim)),
];

pub(super) const RESOURCE_CLAIM: &[Field] = &[f(1, "name", STR_K), f(2, "request", STR)];

pub(super) const PROBE: &[Field] = &[
    f(1, "", Shape::Inline(Msg::ProbeHandler)),
    f(2, "initialDelaySeconds", I32),
    f(3, "timeoutSeconds", I32),
    f(4, "periodSeconds", I32),
    f(5, "successThreshold", I32),
    f(6, "failureThreshold", I32),
    f(7, "terminationGracePeriodSeconds", I64_K),
];

pub(super) const PROBE_HANDLER: &[Field] = &[
    f(1, "exec", msg(Msg::ExecAction)),
    f(2, "httpGet", msg(Msg::HttpGetAction)),
    f(3, "tcpSocket", msg(Msg::TcpSocketAction)),
    f(4, "grpc", msg(Msg::GrpcAction)),
];

pub(super) const HTTP_GET_ACTION: &[Field] = &[
    f(1, "path", STR),
    f(2, "port", msg(Msg::IntOrString)),
    f(3, "host", STR),
    f(4, "scheme", STR),
    f(5, "httpHeaders", msgs(Msg::HttpHeader)),
];

pub(super) const HTTP_HEADER: &[Field] = &[f(1, "name", STR_K), f(2, "value", STR_K)];

pub(super) const TCP_SOCKET_ACTION: &[Field] =
    &[f(1, "port", msg(Msg::IntOrString)), f(2, "host", STR)];

pub(super) const EXEC_ACTION: &[Field] = &[f(1, "command", STRS)];

pub(super) const GRPC_ACTION: &[Field] = &[f(1, "port", I32_K), f(2, "service", STR_K)];

pub(super) const LIFECYCLE: &[Field] = &[
    f(1, "postStart", msg(Msg::LifecycleHandler)),
    f(2, "preStop", msg(Msg::LifecycleHandler)),
    f(3, "stopSignal", STR_K),
];

pub(super) const LIFECYCLE_HANDLER: &[Field] = &[
    f(1, "exec", msg(Msg::ExecAction)),
    f(2, "httpGet", msg(Msg::HttpGetAction)),
    f(3, "tcpSocket", msg(Msg::TcpSocketAction)),
    f(4, "sleep", msg(Msg::SleepAction)),
];

pub(super) const SLEEP_ACTION: &[Field] = &[f(1, "seconds", I64_K)];

pub(super) const SECURITY_CONTEXT: &[Field] = &[
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

pub(super) const CAPABILITIES: &[Field] = &[f(1, "add", STRS), f(2, "drop", STRS)];

pub(super) const VOLUME: &[Field] = &[
    f(1, "name", STR_K),
    f(2, "", Shape::Inline(Msg::VolumeSource)),
];

pub(super) const VOLUME_SOURCE: &[Field] = &[
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

pub(super) const HOST_PATH_VOLUME_SOURCE: &[Field] = &[f(1, "path", STR_K), f(2, "type", STR_K)];

pub(super) const EMPTY_DIR_VOLUME_SOURCE: &[Field] =
    &[f(1, "medium", STR), f(2, "sizeLimit", msg(Msg::Quantity))];

pub(super) const SECRET_VOLUME_SOURCE: &[Field] = &[
    f(1, "secretName", STR),
    f(2, "items", msgs(Msg::KeyToPath)),
    f(3, "defaultMode", I32_K),
    f(4, "optional", BOOL_K),
];

pub(super) const CONFIG_MAP_VOLUME_SOURCE: &[Field] = &[
    f(1, "", Shape::Inline(Msg::LocalObjectReference)),
    f(2, "items", msgs(Msg::KeyToPath)),
    f(3, "defaultMode", I32_K),
    f(4, "optional", BOOL_K),
];

pub(super) const KEY_TO_PATH: &[Field] =
    &[f(1, "key", STR_K), f(2, "path", STR_K), f(3, "mode", I32_K)];

pub(super) const PVC_VOLUME_SOURCE: &[Field] = &[f(1, "claimName", STR_K), f(2, "readOnly", BOOL)];

pub(super) const VOLUME_MOUNT: &[Field] = &[
    f(1, "name", STR_K),
    f(2, "readOnly", BOOL),
    f(7, "recursiveReadOnly", STR_K),
    f(3, "mountPath", STR_K),
    f(4, "subPath", STR),
    f(5, "mountPropagation", STR_K),
    f(6, "subPathExpr", STR),
];

pub(super) const SERVICE: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::ServiceSpec)),
    f(3, "status", msg(Msg::ServiceStatus)),
];

pub(super) const SERVICE_SPEC: &[Field] = &[
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

pub(super) const SERVICE_PORT: &[Field] = &[
    f(1, "name", STR),
    f(2, "protocol", STR),
    f(6, "appProtocol", STR_K),
    f(3, "port", I32_K),
    f(4, "targetPort", msg(Msg::IntOrString)),
    f(5, "nodePort", I32),
];

pub(super) const SESSION_AFFINITY_CONFIG: &[Field] = &[f(1, "clientIP", msg(Msg::ClientIpConfig))];

pub(super) const CLIENT_IP_CONFIG: &[Field] = &[f(1, "timeoutSeconds", I32_K)];

pub(super) const SERVICE_STATUS: &[Field] = &[f(1, "loadBalancer", msg(Msg::LoadBalancerStatus))];

/// Ingress entries are status written by controllers, never by kubectl; they are skipped.
pub(super) const LOAD_BALANCER_STATUS: &[Field] = &[];

pub(super) const CONFIG_MAP: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(4, "immutable", BOOL_K),
    f(2, "data", MAP_STR),
    f(3, "binaryData", MAP_BYTES),
];

pub(super) const SECRET: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(5, "immutable", BOOL_K),
    f(2, "data", MAP_BYTES),
    f(4, "stringData", MAP_STR),
    f(3, "type", STR),
];

pub(super) const NAMESPACE: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "spec", msg(Msg::NamespaceSpec)),
    f(3, "status", msg(Msg::NamespaceStatus)),
];

pub(super) const NAMESPACE_SPEC: &[Field] = &[f(1, "finalizers", STRS)];

pub(super) const NAMESPACE_STATUS: &[Field] = &[f(1, "phase", STR)];

pub(super) const SERVICE_ACCOUNT: &[Field] = &[
    f(1, "metadata", msg(Msg::ObjectMeta)),
    f(2, "secrets", msgs(Msg::ObjectReference)),
    f(3, "imagePullSecrets", msgs(Msg::LocalObjectReference)),
    f(4, "automountServiceAccountToken", BOOL_K),
];

pub(super) const OBJECT_REFERENCE: &[Field] = &[
    f(1, "kind", STR),
    f(2, "namespace", STR),
    f(3, "name", STR),
    f(4, "uid", STR),
    f(5, "apiVersion", STR),
    f(6, "resourceVersion", STR),
    f(7, "fieldPath", STR),
];
