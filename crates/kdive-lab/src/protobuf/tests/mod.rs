//! Oracle tests: messages built with the upstream-generated `k8s-pb` types (the same field
//! numbers kubectl's Go types use), encoded with prost, wrapped like client-go wraps them, and
//! decoded with the hand-written schema. Expected JSON is derived by hand from the Go struct
//! tags, in comments next to each case.

use std::collections::BTreeMap;

use k8s_pb::api::apps::v1 as apps;
use k8s_pb::api::authorization::v1 as authz;
use k8s_pb::api::batch::v1 as batch;
use k8s_pb::api::core::v1 as core;
use k8s_pb::api::policy::v1 as policy;
use k8s_pb::api::rbac::v1 as rbac;
use k8s_pb::apimachinery::pkg::api::resource::Quantity;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use k8s_pb::apimachinery::pkg::util::intstr::IntOrString;
use prost::Message;
use serde_json::json;

use super::*;

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Wraps an encoded object the way client-go's protobuf serializer does.
fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = Unknown {
        type_meta: Some(TypeMeta {
            api_version: s(api_version),
            kind: s(kind),
        }),
        raw: Some(raw),
        content_encoding: s(""),
        content_type: s(""),
    };
    let mut body = MAGIC.to_vec();
    body.extend(unknown.encode_to_vec());
    body
}

/// ObjectMeta as gogo-protobuf writes it: every non-pointer scalar present even when empty,
/// and the zero creationTimestamp as an empty message.
fn gogo_meta(name: &str, namespace: &str, lbls: &[(&str, &str)]) -> meta::ObjectMeta {
    meta::ObjectMeta {
        name: s(name),
        generate_name: s(""),
        namespace: s(namespace),
        self_link: s(""),
        uid: s(""),
        resource_version: s(""),
        generation: Some(0),
        creation_timestamp: Some(meta::Time::default()),
        labels: labels(lbls),
        ..Default::default()
    }
}

/// A Container as gogo writes `{Name, Image, Ports}`: all non-pointer scalars present.
fn gogo_container(name: &str, image: &str, ports: Vec<core::ContainerPort>) -> core::Container {
    core::Container {
        name: s(name),
        image: s(image),
        working_dir: s(""),
        ports,
        resources: Some(core::ResourceRequirements::default()),
        termination_message_path: s(""),
        termination_message_policy: s(""),
        image_pull_policy: s(""),
        stdin: Some(false),
        stdin_once: Some(false),
        tty: Some(false),
        ..Default::default()
    }
}

fn gogo_pod_spec(containers: Vec<core::Container>) -> core::PodSpec {
    core::PodSpec {
        containers,
        restart_policy: s(""),
        dns_policy: s(""),
        service_account_name: s(""),
        service_account: s(""),
        node_name: s(""),
        host_network: Some(false),
        host_pid: Some(false),
        host_ipc: Some(false),
        hostname: s(""),
        subdomain: s(""),
        scheduler_name: s(""),
        priority_class_name: s(""),
        ..Default::default()
    }
}

/// What `kubectl create deployment web --image=nginx --replicas=3 --port=80 -n default` sends.
fn kubectl_create_deployment() -> apps::Deployment {
    let app = [("app", "web")];
    apps::Deployment {
        metadata: Some(gogo_meta("web", "default", &app)),
        spec: Some(apps::DeploymentSpec {
            replicas: Some(3),
            selector: Some(meta::LabelSelector {
                match_labels: labels(&app),
                match_expressions: vec![],
            }),
            template: Some(core::PodTemplateSpec {
                metadata: Some(gogo_meta("", "", &app)),
                spec: Some(gogo_pod_spec(vec![gogo_container(
                    "nginx",
                    "nginx",
                    vec![core::ContainerPort {
                        name: s(""),
                        host_port: Some(0),
                        container_port: Some(80),
                        protocol: s(""),
                        host_ip: s(""),
                    }],
                )])),
            }),
            strategy: Some(apps::DeploymentStrategy {
                r#type: s(""),
                rolling_update: None,
            }),
            min_ready_seconds: Some(0),
            paused: Some(false),
            ..Default::default()
        }),
        status: Some(apps::DeploymentStatus {
            observed_generation: Some(0),
            replicas: Some(0),
            updated_replicas: Some(0),
            ready_replicas: Some(0),
            available_replicas: Some(0),
            unavailable_replicas: Some(0),
            ..Default::default()
        }),
    }
}

#[test]
fn kubectl_create_deployment_decodes_like_the_apiserver() {
    let body = envelope(
        "apps/v1",
        "Deployment",
        kubectl_create_deployment().encode_to_vec(),
    );
    let got = decode(&body, "apps/v1", "Deployment").unwrap();
    // Derivation: every empty string / 0 / false above is a non-pointer omitempty field, so it
    // is dropped; replicas is *int32 (kept); resources, strategy and status are non-pointer
    // structs, which Go's JSON never omits, so they stay as {}; creationTimestamp is the zero
    // Time (empty message) and is left out.
    let want = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "nginx",
                    "image": "nginx",
                    "ports": [{"containerPort": 80}],
                    "resources": {}
                }]}
            },
            "strategy": {}
        },
        "status": {}
    });
    assert_eq!(got, want);
}

#[test]
fn zero_replicas_is_kept_because_replicas_is_a_pointer() {
    let mut d = kubectl_create_deployment();
    d.spec.as_mut().unwrap().replicas = Some(0);
    let body = envelope("apps/v1", "Deployment", d.encode_to_vec());
    let got = decode(&body, "apps/v1", "Deployment").unwrap();
    assert_eq!(got["spec"]["replicas"], json!(0));
}

#[test]
fn kubectl_create_secret_generic_base64_encodes_data() {
    // kubectl create secret generic s --from-literal=a=b: Data {"a": "b"}, Type "" (omitempty).
    let secret = core::Secret {
        metadata: Some(gogo_meta("s", "default", &[])),
        immutable: None,
        data: [("a".to_string(), b"b".to_vec())].into_iter().collect(),
        string_data: BTreeMap::new(),
        r#type: s(""),
    };
    let got = decode(
        &envelope("v1", "Secret", secret.encode_to_vec()),
        "v1",
        "Secret",
    )
    .unwrap();
    // base64("b") = "Yg==".
    let want = json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "default"},
        "data": {"a": "Yg=="}
    });
    assert_eq!(got, want);
}

#[test]
fn configmap_with_binary_data_and_immutable_false() {
    // immutable is *bool: an explicit false is kept. binaryData bytes [0, 255] -> "AP8=".
    let cm = core::ConfigMap {
        metadata: Some(gogo_meta("cfg", "ns1", &[])),
        immutable: Some(false),
        data: labels(&[("k", "v"), ("empty", "")]),
        binary_data: [("bin".to_string(), vec![0u8, 255])].into_iter().collect(),
    };
    let got = decode(
        &envelope("v1", "ConfigMap", cm.encode_to_vec()),
        "v1",
        "ConfigMap",
    )
    .unwrap();
    let want = json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": "ns1"},
        "immutable": false,
        "data": {"empty": "", "k": "v"},
        "binaryData": {"bin": "AP8="}
    });
    assert_eq!(got, want);
}

#[test]
fn kubectl_create_service_clusterip() {
    // kubectl create service clusterip web --tcp=80:8080: one port named "80-8080", protocol
    // TCP, targetPort IntOrString{type 0, intVal 8080}; status is a non-pointer struct holding
    // the non-pointer loadBalancer struct, so both stay as objects.
    let svc = core::Service {
        metadata: Some(gogo_meta("web", "default", &[("app", "web")])),
        spec: Some(core::ServiceSpec {
            ports: vec![core::ServicePort {
                name: s("80-8080"),
                protocol: s("TCP"),
                app_protocol: None,
                port: Some(80),
                target_port: Some(IntOrString {
                    r#type: Some(0),
                    int_val: Some(8080),
                    str_val: s(""),
                }),
                node_port: Some(0),
            }],
            selector: labels(&[("app", "web")]),
            cluster_ip: s(""),
            r#type: s("ClusterIP"),
            session_affinity: s(""),
            load_balancer_ip: s(""),
            external_name: s(""),
            external_traffic_policy: s(""),
            health_check_node_port: Some(0),
            publish_not_ready_addresses: Some(false),
            ..Default::default()
        }),
        status: Some(core::ServiceStatus {
            load_balancer: Some(core::LoadBalancerStatus::default()),
            conditions: vec![],
        }),
    };
    let got = decode(
        &envelope("v1", "Service", svc.encode_to_vec()),
        "v1",
        "Service",
    )
    .unwrap();
    let want = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}],
            "selector": {"app": "web"},
            "type": "ClusterIP"
        },
        "status": {"loadBalancer": {}}
    });
    assert_eq!(got, want);
}

#[test]
fn namespace_and_service_account() {
    let ns = core::Namespace {
        metadata: Some(gogo_meta("team-a", "", &[])),
        spec: Some(core::NamespaceSpec::default()),
        status: Some(core::NamespaceStatus {
            phase: s(""),
            conditions: vec![],
        }),
    };
    let got = decode(
        &envelope("v1", "Namespace", ns.encode_to_vec()),
        "v1",
        "Namespace",
    )
    .unwrap();
    assert_eq!(
        got,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"},
               "spec": {}, "status": {}})
    );

    let sa = core::ServiceAccount {
        metadata: Some(gogo_meta("robot", "default", &[])),
        ..Default::default()
    };
    let body = envelope("v1", "ServiceAccount", sa.encode_to_vec());
    assert_eq!(
        decode(&body, "v1", "ServiceAccount").unwrap(),
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
               "metadata": {"name": "robot", "namespace": "default"}})
    );
}

#[test]
fn kubectl_auth_can_i_self_subject_access_review() {
    // kubectl auth can-i get pods: ResourceAttributes{Namespace, Verb, Resource} with every
    // other string written empty; status.allowed has no omitempty, so false is kept.
    let review = authz::SelfSubjectAccessReview {
        metadata: Some(gogo_meta("", "", &[])),
        spec: Some(authz::SelfSubjectAccessReviewSpec {
            resource_attributes: Some(authz::ResourceAttributes {
                namespace: s("default"),
                verb: s("get"),
                group: s(""),
                version: s(""),
                resource: s("pods"),
                subresource: s(""),
                name: s(""),
                field_selector: None,
                label_selector: None,
            }),
            non_resource_attributes: None,
        }),
        status: Some(authz::SubjectAccessReviewStatus {
            allowed: Some(false),
            denied: Some(false),
            reason: s(""),
            evaluation_error: s(""),
        }),
    };
    let api = "authorization.k8s.io/v1";
    let body = envelope(api, "SelfSubjectAccessReview", review.encode_to_vec());
    let got = decode(&body, api, "SelfSubjectAccessReview").unwrap();
    let want = json!({
        "apiVersion": api,
        "kind": "SelfSubjectAccessReview",
        "metadata": {},
        "spec": {"resourceAttributes": {"namespace": "default", "verb": "get", "resource": "pods"}},
        "status": {"allowed": false}
    });
    assert_eq!(got, want);
}

#[test]
fn kubectl_auth_can_i_list_self_subject_rules_review() {
    let review = authz::SelfSubjectRulesReview {
        metadata: Some(gogo_meta("", "", &[])),
        spec: Some(authz::SelfSubjectRulesReviewSpec {
            namespace: s("default"),
        }),
        status: Some(authz::SubjectRulesReviewStatus {
            incomplete: Some(false),
            evaluation_error: s(""),
            ..Default::default()
        }),
    };
    let api = "authorization.k8s.io/v1";
    let body = envelope(api, "SelfSubjectRulesReview", review.encode_to_vec());
    let got = decode(&body, api, "SelfSubjectRulesReview").unwrap();
    assert_eq!(
        got,
        json!({"apiVersion": api, "kind": "SelfSubjectRulesReview", "metadata": {},
               "spec": {"namespace": "default"}, "status": {"incomplete": false}})
    );
}

/// A pod reaching most nested shapes: inline structs, IntOrString strings, quantities,
/// pointer zeros, packed repeated int64s and a non-zero Time.
#[test]
fn pod_with_probes_volumes_env_and_resources() {
    let probe = core::Probe {
        handler: Some(core::ProbeHandler {
            http_get: Some(core::HttpGetAction {
                path: s("/healthz"),
                port: Some(IntOrString {
                    r#type: Some(1),
                    int_val: Some(0),
                    str_val: s("http"),
                }),
                host: s(""),
                scheme: s("HTTP"),
                http_headers: vec![],
            }),
            ..Default::default()
        }),
        initial_delay_seconds: Some(5),
        timeout_seconds: Some(0),
        period_seconds: Some(10),
        success_threshold: Some(0),
        failure_threshold: Some(0),
        termination_grace_period_seconds: None,
    };
    let mut container = gogo_container("app", "busybox", vec![]);
    container.command = vec!["sh".into(), "-c".into(), "sleep 1".into()];
    container.readiness_probe = Some(probe);
    container.env = vec![
        core::EnvVar {
            name: s("MODE"),
            value: s("fast"),
            value_from: None,
        },
        core::EnvVar {
            name: s("POD"),
            value: s(""),
            value_from: Some(core::EnvVarSource {
                field_ref: Some(core::ObjectFieldSelector {
                    api_version: s(""),
                    field_path: s("metadata.name"),
                }),
                ..Default::default()
            }),
        },
    ];
    container.resources = Some(core::ResourceRequirements {
        limits: [("memory".to_string(), Quantity { string: s("64Mi") })]
            .into_iter()
            .collect(),
        requests: [("cpu".to_string(), Quantity { string: s("100m") })]
            .into_iter()
            .collect(),
        claims: vec![],
    });
    container.volume_mounts = vec![core::VolumeMount {
        name: s("cfg"),
        read_only: Some(true),
        mount_path: s("/etc/cfg"),
        sub_path: s(""),
        sub_path_expr: s(""),
        ..Default::default()
    }];
    container.security_context = Some(core::SecurityContext {
        run_as_user: Some(0),
        ..Default::default()
    });
    let mut spec = gogo_pod_spec(vec![container]);
    spec.volumes = vec![core::Volume {
        name: s("cfg"),
        volume_source: Some(core::VolumeSource {
            config_map: Some(core::ConfigMapVolumeSource {
                local_object_reference: Some(core::LocalObjectReference { name: s("app-cfg") }),
                items: vec![],
                default_mode: Some(420),
                optional: None,
            }),
            ..Default::default()
        }),
    }];
    spec.security_context = Some(core::PodSecurityContext {
        supplemental_groups: vec![1000, 2000],
        ..Default::default()
    });
    let mut metadata = gogo_meta("p", "default", &[]);
    // 1_000_000_000 s after the epoch is 2001-09-09T01:46:40Z; nanos are dropped for Time.
    metadata.creation_timestamp = Some(meta::Time {
        seconds: Some(1_000_000_000),
        nanos: Some(5),
    });
    let pod = core::Pod {
        metadata: Some(metadata),
        spec: Some(spec),
        status: None,
    };
    let got = decode(&envelope("v1", "Pod", pod.encode_to_vec()), "v1", "Pod").unwrap();
    let want = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "default",
                     "creationTimestamp": "2001-09-09T01:46:40Z"},
        "spec": {
            "volumes": [{"name": "cfg", "configMap": {"name": "app-cfg", "defaultMode": 420}}],
            "containers": [{
                "name": "app",
                "image": "busybox",
                "command": ["sh", "-c", "sleep 1"],
                "env": [
                    {"name": "MODE", "value": "fast"},
                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
                ],
                "resources": {"limits": {"memory": "64Mi"}, "requests": {"cpu": "100m"}},
                "volumeMounts": [{"name": "cfg", "readOnly": true, "mountPath": "/etc/cfg"}],
                "readinessProbe": {
                    "httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"},
                    "initialDelaySeconds": 5,
                    "periodSeconds": 10
                },
                "securityContext": {"runAsUser": 0}
            }],
            "securityContext": {"supplementalGroups": [1000, 2000]}
        }
    });
    assert_eq!(got, want);
}

#[test]
fn kubectl_create_job() {
    // kubectl create job hello --image=busybox -- echo hi: one container named after the job,
    // restartPolicy Never. Template metadata is a non-pointer struct holding only empty
    // scalars, so it decodes to {}; status is a non-pointer struct of zero counters -> {}.
    let mut container = gogo_container("hello", "busybox", vec![]);
    container.command = vec!["echo".into(), "hi".into()];
    let mut spec = gogo_pod_spec(vec![container]);
    spec.restart_policy = s("Never");
    let job = batch::Job {
        metadata: Some(gogo_meta("hello", "default", &[])),
        spec: Some(batch::JobSpec {
            template: Some(core::PodTemplateSpec {
                metadata: Some(gogo_meta("", "", &[])),
                spec: Some(spec),
            }),
            ..Default::default()
        }),
        status: Some(batch::JobStatus {
            active: Some(0),
            succeeded: Some(0),
            failed: Some(0),
            completed_indexes: s(""),
            ..Default::default()
        }),
    };
    let got = decode(
        &envelope("batch/v1", "Job", job.encode_to_vec()),
        "batch/v1",
        "Job",
    )
    .unwrap();
    let want = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {"template": {"metadata": {}, "spec": {
            "containers": [{"name": "hello", "image": "busybox", "command": ["echo", "hi"], "resources": {}}],
            "restartPolicy": "Never"
        }}},
        "status": {}
    });
    assert_eq!(got, want);
}

#[test]
fn kubectl_create_cronjob() {
    // schedule has no omitempty; jobTemplate is a non-pointer struct.
    let cron = batch::CronJob {
        metadata: Some(gogo_meta("tick", "default", &[])),
        spec: Some(batch::CronJobSpec {
            schedule: s("*/5 * * * *"),
            concurrency_policy: s(""),
            job_template: Some(batch::JobTemplateSpec {
                metadata: Some(gogo_meta("tick", "", &[])),
                spec: Some(batch::JobSpec::default()),
            }),
            ..Default::default()
        }),
        status: Some(batch::CronJobStatus::default()),
    };
    let got = decode(
        &envelope("batch/v1", "CronJob", cron.encode_to_vec()),
        "batch/v1",
        "CronJob",
    )
    .unwrap();
    assert_eq!(
        got["spec"],
        json!({"schedule": "*/5 * * * *", "jobTemplate": {"metadata": {"name": "tick"}, "spec": {}}})
    );
}

#[test]
fn kubectl_drain_eviction_keeps_a_zero_grace_period() {
    // gracePeriodSeconds is *int64, so --grace-period=0 survives as 0.
    let eviction = policy::Eviction {
        metadata: Some(gogo_meta("web-1", "default", &[])),
        delete_options: Some(meta::DeleteOptions {
            grace_period_seconds: Some(0),
            ..Default::default()
        }),
    };
    let body = envelope("policy/v1", "Eviction", eviction.encode_to_vec());
    assert_eq!(
        decode(&body, "policy/v1", "Eviction").unwrap(),
        json!({"apiVersion": "policy/v1", "kind": "Eviction",
               "metadata": {"name": "web-1", "namespace": "default"},
               "deleteOptions": {"gracePeriodSeconds": 0}})
    );
}

#[test]
fn kubectl_create_role_and_rolebinding() {
    // kubectl create role r --verb=get --resource=pods: apiGroups [""] keeps its empty entry,
    // because list elements are never dropped.
    let role = rbac::Role {
        metadata: Some(gogo_meta("r", "default", &[])),
        rules: vec![rbac::PolicyRule {
            verbs: vec!["get".into()],
            api_groups: vec![String::new()],
            resources: vec!["pods".into()],
            resource_names: vec![],
            non_resource_ur_ls: vec![],
        }],
    };
    let api = "rbac.authorization.k8s.io/v1";
    let got = decode(&envelope(api, "Role", role.encode_to_vec()), api, "Role").unwrap();
    assert_eq!(
        got["rules"],
        json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}])
    );

    // kubectl create rolebinding rb --clusterrole=view --user=alice.
    let binding = rbac::RoleBinding {
        metadata: Some(gogo_meta("rb", "default", &[])),
        subjects: vec![rbac::Subject {
            kind: s("User"),
            api_group: s(api.trim_end_matches("/v1")),
            name: s("alice"),
            namespace: s(""),
        }],
        role_ref: Some(rbac::RoleRef {
            api_group: s("rbac.authorization.k8s.io"),
            kind: s("ClusterRole"),
            name: s("view"),
        }),
    };
    let got = decode(
        &envelope(api, "RoleBinding", binding.encode_to_vec()),
        api,
        "RoleBinding",
    )
    .unwrap();
    assert_eq!(
        got,
        json!({"apiVersion": api, "kind": "RoleBinding",
               "metadata": {"name": "rb", "namespace": "default"},
               "subjects": [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"}],
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}})
    );
}

#[test]
fn micro_time_keeps_six_fractional_digits() {
    let t = meta::MicroTime {
        seconds: Some(1_000_000_000),
        nanos: Some(123_456_789),
    };
    let got = decode_time(&t.encode_to_vec(), 0, true, "x").unwrap();
    assert_eq!(got, Some(json!("2001-09-09T01:46:40.123456Z")));
}

mod errors;
