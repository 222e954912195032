//! The pod row of `printPod`: the core's READY, STATUS and RESTARTS, and the wide columns.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use kdive_core::model::pod_columns::pod_columns;

use super::Row;
use super::fields::{age, arr_at, bool_at, int_at, str_at};

pub(crate) fn print_pod(pod: &Value, now: DateTime<Utc>) -> Row {
    // READY, STATUS and RESTARTS come from the core's `printPod`, the explorer's too.
    let typed = typed_for_columns(pod);
    let columns = pod_columns(&typed);
    let phase = str_at(pod, "/status/phase");

    // Conversion fills podIPs from a lone podIP, so fall back to it.
    let first_ip = arr_at(pod, "/status/podIPs")
        .first()
        .map(|ip| str_at(ip, "/ip"))
        .unwrap_or_else(|| str_at(pod, "/status/podIP"));
    let cells = vec![
        json!(str_at(pod, "/metadata/name")),
        json!(format!("{}/{}", columns.ready, columns.total)),
        json!(columns.status),
        json!(columns.restarts_cell(now)),
        json!(age(pod, now)),
        json!(or_none(first_ip)),
        json!(or_none(str_at(pod, "/spec/nodeName"))),
        json!(or_none(str_at(pod, "/status/nominatedNodeName"))),
        json!(readiness_gates(pod)),
    ];
    let mut row = Row::new(cells);
    row.conditions = match phase {
        "Succeeded" => Some(completed_condition(
            "Succeeded",
            "The pod has completed successfully.",
        )),
        "Failed" => Some(completed_condition("Failed", "The pod failed.")),
        _ => None,
    };
    row
}

/// What [`pod_columns`] reads of a stored pod, typed. Go reads a missing field as its zero
/// value where k8s-openapi requires it (a status's `image`, a termination's `exitCode`), so
/// only those fields are taken, with Go's zeros filled in.
fn typed_for_columns(pod: &Value) -> Pod {
    let containers = |pointer: &str| -> Vec<Value> {
        arr_at(pod, pointer)
            .iter()
            .map(|c| json!({"name": str_at(c, "/name"), "restartPolicy": c.get("restartPolicy")}))
            .collect()
    };
    let state = |state: Option<&Value>| -> Value {
        let mut state = state.cloned().unwrap_or(Value::Null);
        if let Some(t) = state.get_mut("terminated").and_then(Value::as_object_mut) {
            t.entry("exitCode").or_insert(json!(0));
        }
        state
    };
    let statuses = |pointer: &str| -> Vec<Value> {
        arr_at(pod, pointer)
            .iter()
            .map(|s| {
                json!({
                    "name": str_at(s, "/name"), "image": "", "imageID": "",
                    "ready": bool_at(s, "/ready"), "restartCount": int_at(s, "/restartCount"),
                    "started": s.get("started"),
                    "state": state(s.get("state")), "lastState": state(s.get("lastState")),
                })
            })
            .collect()
    };
    let conditions: Vec<Value> = arr_at(pod, "/status/conditions")
        .iter()
        .map(|c| json!({"type": str_at(c, "/type"), "status": str_at(c, "/status"), "reason": c.get("reason")}))
        .collect();
    let typed = json!({
        "metadata": {"deletionTimestamp": pod.pointer("/metadata/deletionTimestamp")},
        "spec": {"containers": containers("/spec/containers"),
                 "initContainers": containers("/spec/initContainers")},
        "status": {
            "phase": pod.pointer("/status/phase"), "reason": pod.pointer("/status/reason"),
            "conditions": conditions,
            "initContainerStatuses": statuses("/status/initContainerStatuses"),
            "containerStatuses": statuses("/status/containerStatuses"),
        },
    });
    // Only a malformed timestamp can still fail: then the pod prints as an empty one.
    serde_json::from_value(typed).unwrap_or_default()
}

fn completed_condition(reason: &str, message: &str) -> Value {
    json!([{"type": "Completed", "status": "True", "reason": reason, "message": message}])
}

fn or_none(s: &str) -> &str {
    if s.is_empty() { "<none>" } else { s }
}

/// `true/total` readiness gates: a gate counts when the first condition of its type is True.
fn readiness_gates(pod: &Value) -> String {
    let gates = arr_at(pod, "/spec/readinessGates");
    if gates.is_empty() {
        return "<none>".to_string();
    }
    let conditions = arr_at(pod, "/status/conditions");
    let passing = gates
        .iter()
        .filter(|gate| {
            let kind = str_at(gate, "/conditionType");
            conditions
                .iter()
                .find(|c| str_at(c, "/type") == kind)
                .is_some_and(|c| str_at(c, "/status") == "True")
        })
        .count();
    format!("{passing}/{}", gates.len())
}
