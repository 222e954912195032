//! The kube-state-metrics subset, computed from the objects at scrape time (names, labels
//! and series shapes of kube-state-metrics v2; see slo-prometheus research §4.1).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::metrics::{FamilySet, Kind, Labels};
use kdive_core::quantity::{parse_milli, parse_value};

const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];
const JOB: &str = "kube-state-metrics";

fn s(v: &str) -> String {
    v.to_string()
}

/// `job` first, then the metric's own labels.
fn ksm(labels: &[(&'static str, String)]) -> Labels {
    let mut l: Labels = vec![("job", s(JOB))];
    l.extend(labels.iter().cloned());
    l
}

fn gauge(f: &mut FamilySet, name: &'static str, help: &'static str, l: Labels, v: f64) {
    f.add(name, help, Kind::Gauge, l, v);
}

/// The three series (`true`, `false`, `unknown`) of a condition status.
fn tri_state(status: &str) -> [(&'static str, f64); 3] {
    let is = |x: &str| {
        if status.eq_ignore_ascii_case(x) {
            1.0
        } else {
            0.0
        }
    };
    [
        ("true", is("True")),
        ("false", is("False")),
        ("unknown", is("Unknown")),
    ]
}

/// kube-state-metrics' resource name and unit, and the value in that unit.
fn resource_unit(resource: &str, q: &Quantity) -> Option<(String, &'static str, f64)> {
    // kube-state-metrics: `MilliValue()/1000` for cpu, `Value()` for the rest.
    let v = if resource == "cpu" {
        parse_milli(&q.0)? as f64 / 1000.0
    } else {
        parse_value(&q.0)? as f64
    };
    let unit = match resource {
        "cpu" => "core",
        "memory" | "ephemeral-storage" => "byte",
        r if r.starts_with("hugepages-") => "byte",
        _ => "integer",
    };
    Some((resource.replace(['-', '.', '/'], "_"), unit, v))
}

pub fn pods(f: &mut FamilySet, pods: &[Pod]) {
    for pod in pods {
        let m = &pod.metadata;
        let base = vec![
            ("namespace", m.namespace.clone().unwrap_or_default()),
            ("pod", m.name.clone().unwrap_or_default()),
            ("uid", m.uid.clone().unwrap_or_default()),
        ];
        let with = |extra: &[(&'static str, String)]| {
            let mut l = base.clone();
            l.extend(extra.iter().cloned());
            ksm(&l)
        };
        let spec = pod.spec.as_ref();
        let status = pod.status.as_ref();
        let node = spec.and_then(|s| s.node_name.clone()).unwrap_or_default();
        let owner = m
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true));
        gauge(
            f,
            "kube_pod_info",
            "Information about pod.",
            with(&[
                (
                    "host_ip",
                    status.and_then(|s| s.host_ip.clone()).unwrap_or_default(),
                ),
                (
                    "pod_ip",
                    status.and_then(|s| s.pod_ip.clone()).unwrap_or_default(),
                ),
                ("node", node.clone()),
                (
                    "created_by_kind",
                    owner.map(|o| o.kind.clone()).unwrap_or_default(),
                ),
                (
                    "created_by_name",
                    owner.map(|o| o.name.clone()).unwrap_or_default(),
                ),
                (
                    "priority_class",
                    spec.and_then(|s| s.priority_class_name.clone())
                        .unwrap_or_default(),
                ),
                (
                    "host_network",
                    spec.and_then(|s| s.host_network)
                        .unwrap_or(false)
                        .to_string(),
                ),
            ]),
            1.0,
        );
        let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("");
        // kube-state-metrics writes phase series only once the pod has a phase.
        if !phase.is_empty() {
            for p in PHASES {
                gauge(
                    f,
                    "kube_pod_status_phase",
                    "The pods current phase.",
                    with(&[("phase", s(p))]),
                    if p == phase { 1.0 } else { 0.0 },
                );
            }
        }
        for c in status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]) {
            if c.type_ != "Ready" {
                continue;
            }
            for (cond, v) in tri_state(&c.status) {
                gauge(
                    f,
                    "kube_pod_status_ready",
                    "Describes whether the pod is ready to serve requests.",
                    with(&[("condition", s(cond))]),
                    v,
                );
            }
        }
        for cs in status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[])
        {
            let cl = |extra: &[(&'static str, String)]| {
                let mut l = vec![("container", cs.name.clone())];
                l.extend(extra.iter().cloned());
                with(&l)
            };
            let state = cs.state.as_ref();
            gauge(
                f,
                "kube_pod_container_status_ready",
                "Describes whether the containers readiness check succeeded.",
                cl(&[]),
                if cs.ready { 1.0 } else { 0.0 },
            );
            gauge(
                f,
                "kube_pod_container_status_running",
                "Describes whether the container is currently in running state.",
                cl(&[]),
                if state.and_then(|s| s.running.as_ref()).is_some() {
                    1.0
                } else {
                    0.0
                },
            );
            f.add(
                "kube_pod_container_status_restarts_total",
                "The number of container restarts per container.",
                Kind::Counter,
                cl(&[]),
                f64::from(cs.restart_count),
            );
            if let Some(reason) = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.clone())
            {
                gauge(
                    f,
                    "kube_pod_container_status_waiting_reason",
                    "Describes the reason the container is currently in waiting state.",
                    cl(&[("reason", reason)]),
                    1.0,
                );
            }
            if let Some(reason) = cs
                .last_state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .and_then(|t| t.reason.clone())
            {
                gauge(
                    f,
                    "kube_pod_container_status_last_terminated_reason",
                    "Describes the last reason the container was in terminated state.",
                    cl(&[("reason", reason)]),
                    1.0,
                );
            }
        }
        for c in spec.map(|s| s.containers.as_slice()).unwrap_or(&[]) {
            let res = c.resources.as_ref();
            for (name, help, map) in [
                (
                    "kube_pod_container_resource_requests",
                    "The number of requested request resource by a container.",
                    res.and_then(|r| r.requests.as_ref()),
                ),
                (
                    "kube_pod_container_resource_limits",
                    "The number of requested limit resource by a container.",
                    res.and_then(|r| r.limits.as_ref()),
                ),
            ] {
                for (r, q) in map.into_iter().flatten() {
                    let Some((resource, unit, v)) = resource_unit(r, q) else {
                        continue;
                    };
                    let l = with(&[
                        ("container", c.name.clone()),
                        ("node", node.clone()),
                        ("resource", resource),
                        ("unit", s(unit)),
                    ]);
                    gauge(f, name, help, l, v);
                }
            }
        }
    }
}

pub fn deployments(f: &mut FamilySet, deps: &[Deployment]) {
    for d in deps {
        let l = ksm(&[
            (
                "namespace",
                d.metadata.namespace.clone().unwrap_or_default(),
            ),
            ("deployment", d.metadata.name.clone().unwrap_or_default()),
        ]);
        let st = d.status.clone().unwrap_or_default();
        let spec_replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let values: [(&'static str, &'static str, i64); 8] = [
            (
                "kube_deployment_spec_replicas",
                "Number of desired pods for a deployment.",
                spec_replicas.into(),
            ),
            (
                "kube_deployment_status_replicas",
                "The number of replicas per deployment.",
                st.replicas.unwrap_or(0).into(),
            ),
            (
                "kube_deployment_status_replicas_available",
                "The number of available replicas per deployment.",
                st.available_replicas.unwrap_or(0).into(),
            ),
            (
                "kube_deployment_status_replicas_ready",
                "The number of ready replicas per deployment.",
                st.ready_replicas.unwrap_or(0).into(),
            ),
            (
                "kube_deployment_status_replicas_unavailable",
                "The number of unavailable replicas per deployment.",
                st.unavailable_replicas.unwrap_or(0).into(),
            ),
            (
                "kube_deployment_status_replicas_updated",
                "The number of updated replicas per deployment.",
                st.updated_replicas.unwrap_or(0).into(),
            ),
            (
                "kube_deployment_status_observed_generation",
                "The generation observed by the deployment controller.",
                st.observed_generation.unwrap_or(0),
            ),
            (
                "kube_deployment_metadata_generation",
                "Sequence number representing a specific generation of the desired state.",
                d.metadata.generation.unwrap_or(0),
            ),
        ];
        for (name, help, v) in values {
            gauge(f, name, help, l.clone(), v as f64);
        }
        for c in st.conditions.iter().flatten() {
            for (status, v) in tri_state(&c.status) {
                let mut cl = l.clone();
                cl.extend([
                    ("condition", c.type_.clone()),
                    ("status", s(status)),
                    ("reason", c.reason.clone().unwrap_or_default()),
                ]);
                gauge(
                    f,
                    "kube_deployment_status_condition",
                    "The current status conditions of a deployment.",
                    cl,
                    v,
                );
            }
        }
    }
}

pub fn statefulsets(f: &mut FamilySet, sets: &[StatefulSet]) {
    for st in sets {
        let l = ksm(&[
            (
                "namespace",
                st.metadata.namespace.clone().unwrap_or_default(),
            ),
            ("statefulset", st.metadata.name.clone().unwrap_or_default()),
        ]);
        let status = st.status.clone().unwrap_or_default();
        let values: [(&'static str, &'static str, i64); 7] = [
            (
                "kube_statefulset_replicas",
                "Number of desired pods for a StatefulSet.",
                st.spec
                    .as_ref()
                    .and_then(|s| s.replicas)
                    .unwrap_or(1)
                    .into(),
            ),
            (
                "kube_statefulset_status_replicas",
                "The number of replicas per StatefulSet.",
                status.replicas.into(),
            ),
            (
                "kube_statefulset_status_replicas_ready",
                "The number of ready replicas per StatefulSet.",
                status.ready_replicas.unwrap_or(0).into(),
            ),
            (
                "kube_statefulset_status_replicas_current",
                "The number of current replicas per StatefulSet.",
                status.current_replicas.unwrap_or(0).into(),
            ),
            (
                "kube_statefulset_status_replicas_updated",
                "The number of updated replicas per StatefulSet.",
                status.updated_replicas.unwrap_or(0).into(),
            ),
            (
                "kube_statefulset_status_replicas_available",
                "The number of available replicas per StatefulSet.",
                status.available_replicas.unwrap_or(0).into(),
            ),
            (
                "kube_statefulset_status_observed_generation",
                "The generation observed by the StatefulSet controller.",
                status.observed_generation.unwrap_or(0),
            ),
        ];
        for (name, help, v) in values {
            gauge(f, name, help, l.clone(), v as f64);
        }
    }
}

pub fn endpoints(f: &mut FamilySet, list: &[Endpoints]) {
    for e in list {
        let base = [
            (
                "namespace",
                e.metadata.namespace.clone().unwrap_or_default(),
            ),
            ("endpoint", e.metadata.name.clone().unwrap_or_default()),
        ];
        gauge(
            f,
            "kube_endpoint_info",
            "Information about endpoint.",
            ksm(&base),
            1.0,
        );
        for subset in e.subsets.iter().flatten() {
            let addrs = subset
                .addresses
                .iter()
                .flatten()
                .map(|a| (a, "true"))
                .chain(
                    subset
                        .not_ready_addresses
                        .iter()
                        .flatten()
                        .map(|a| (a, "false")),
                );
            for (a, ready) in addrs {
                for p in subset.ports.iter().flatten() {
                    let mut l = ksm(&base);
                    l.extend([
                        ("ip", a.ip.clone()),
                        ("port_name", p.name.clone().unwrap_or_default()),
                        (
                            "port_protocol",
                            p.protocol.clone().unwrap_or_else(|| s("TCP")),
                        ),
                        ("port_number", p.port.to_string()),
                        ("ready", s(ready)),
                    ]);
                    gauge(
                        f,
                        "kube_endpoint_address",
                        "Information about Endpoint available and non available addresses.",
                        l,
                        1.0,
                    );
                }
            }
        }
    }
}

pub fn nodes(f: &mut FamilySet, nodes: &[Node]) {
    for n in nodes {
        let name = n.metadata.name.clone().unwrap_or_default();
        let status = n.status.clone().unwrap_or_default();
        let info = status.node_info.clone().unwrap_or_default();
        let internal_ip = status
            .addresses
            .iter()
            .flatten()
            .find(|a| a.type_ == "InternalIP")
            .map(|a| a.address.clone())
            .unwrap_or_default();
        let spec = n.spec.clone().unwrap_or_default();
        gauge(
            f,
            "kube_node_info",
            "Information about a cluster node.",
            ksm(&[
                ("node", name.clone()),
                ("kernel_version", info.kernel_version),
                ("os_image", info.os_image),
                ("container_runtime_version", info.container_runtime_version),
                ("kubelet_version", info.kubelet_version),
                ("kubeproxy_version", info.kube_proxy_version),
                ("provider_id", spec.provider_id.clone().unwrap_or_default()),
                ("pod_cidr", spec.pod_cidr.clone().unwrap_or_default()),
                ("system_uuid", info.system_uuid),
                ("internal_ip", internal_ip),
            ]),
            1.0,
        );
        gauge(
            f,
            "kube_node_spec_unschedulable",
            "Whether a node can schedule new pods.",
            ksm(&[("node", name.clone())]),
            if spec.unschedulable == Some(true) {
                1.0
            } else {
                0.0
            },
        );
        for c in status.conditions.iter().flatten() {
            for (st, v) in tri_state(&c.status) {
                gauge(
                    f,
                    "kube_node_status_condition",
                    "The condition of a cluster node.",
                    ksm(&[
                        ("node", name.clone()),
                        ("condition", c.type_.clone()),
                        ("status", s(st)),
                    ]),
                    v,
                );
            }
        }
        let alloc: BTreeMap<String, Quantity> = status.allocatable.clone().unwrap_or_default();
        for (r, q) in &alloc {
            let Some((resource, unit, v)) = resource_unit(r, q) else {
                continue;
            };
            gauge(
                f,
                "kube_node_status_allocatable",
                "The allocatable for different resources of a node that are available for scheduling.",
                ksm(&[
                    ("node", name.clone()),
                    ("resource", resource),
                    ("unit", s(unit)),
                ]),
                v,
            );
        }
    }
}
