//! The pod row: READY, the aggregate STATUS and RESTARTS, as `printPod` computes them.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Row;
use super::fields::{age, arr_at, bool_at, int_at, present, str_at, time};

/// A sidecar: an init container with `restartPolicy: Always`. It counts as a container.
fn is_restartable_init(container: Option<&&Value>) -> bool {
    container.is_some_and(|c| str_at(c, "/restartPolicy") == "Always")
}

fn condition_true(pod: &Value, kind: &str) -> bool {
    arr_at(pod, "/status/conditions")
        .iter()
        .any(|c| str_at(c, "/type") == kind && str_at(c, "/status") == "True")
}

/// The later of `latest` and this status's last termination time.
fn later_termination(latest: Option<DateTime<Utc>>, status: &Value) -> Option<DateTime<Utc>> {
    if present(status, "/lastState/terminated").is_none() {
        return latest;
    }
    let finished = time(status.pointer("/lastState/terminated/finishedAt"));
    match (latest, finished) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// `ExitCode:N` / `Signal:N` for a termination without a reason.
fn exit_text(terminated: &Value) -> String {
    let signal = int_at(terminated, "/signal");
    if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", int_at(terminated, "/exitCode"))
    }
}

pub(crate) fn print_pod(pod: &Value, now: DateTime<Utc>) -> Row {
    let spec_init = arr_at(pod, "/spec/initContainers");
    let init_by_name: HashMap<&str, &Value> =
        spec_init.iter().map(|c| (str_at(c, "/name"), c)).collect();
    let mut total = arr_at(pod, "/spec/containers").len();
    total += spec_init
        .iter()
        .filter(|c| is_restartable_init(Some(c)))
        .count();

    let phase = str_at(pod, "/status/phase");
    let status_reason = str_at(pod, "/status/reason");
    let mut reason = if status_reason.is_empty() {
        phase.to_string()
    } else {
        status_reason.to_string()
    };
    let gated = arr_at(pod, "/status/conditions")
        .iter()
        .any(|c| str_at(c, "/type") == "PodScheduled" && str_at(c, "/reason") == "SchedulingGated");
    if gated {
        reason = "SchedulingGated".to_string();
    }

    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut ready = 0usize;
    let mut last_restart: Option<DateTime<Utc>> = None;
    let mut last_sidecar_restart: Option<DateTime<Utc>> = None;

    let mut initializing = false;
    for (i, status) in arr_at(pod, "/status/initContainerStatuses")
        .iter()
        .enumerate()
    {
        let sidecar = is_restartable_init(init_by_name.get(str_at(status, "/name")));
        let count = int_at(status, "/restartCount");
        restarts += count;
        last_restart = later_termination(last_restart, status);
        if sidecar {
            sidecar_restarts += count;
            last_sidecar_restart = later_termination(last_sidecar_restart, status);
        }
        let terminated = present(status, "/state/terminated");
        let waiting_reason = str_at(status, "/state/waiting/reason");
        if terminated.is_some_and(|t| int_at(t, "/exitCode") == 0) {
            continue;
        }
        if sidecar && bool_at(status, "/started") {
            if bool_at(status, "/ready") {
                ready += 1;
            }
            continue;
        }
        if let Some(t) = terminated {
            let why = str_at(t, "/reason");
            reason = if why.is_empty() {
                format!("Init:{}", exit_text(t))
            } else {
                format!("Init:{why}")
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", spec_init.len());
        }
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        // The last container's state wins, so walk them backwards like the real printer.
        for status in arr_at(pod, "/status/containerStatuses").iter().rev() {
            restarts += int_at(status, "/restartCount");
            last_restart = later_termination(last_restart, status);
            let waiting = str_at(status, "/state/waiting/reason");
            let terminated = present(status, "/state/terminated");
            if !waiting.is_empty() {
                reason = waiting.to_string();
            } else if let Some(t) = terminated {
                let why = str_at(t, "/reason");
                reason = if why.is_empty() {
                    exit_text(t)
                } else {
                    why.to_string()
                };
            } else if bool_at(status, "/ready") && present(status, "/state/running").is_some() {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if condition_true(pod, "Ready") {
                "Running".to_string()
            } else {
                "NotReady".to_string()
            };
        }
    }

    let deleting = present(pod, "/metadata/deletionTimestamp").is_some();
    if deleting && status_reason == "NodeLost" {
        reason = "Unknown".to_string();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".to_string();
    }

    let restarts_cell = match last_restart {
        Some(t) if restarts != 0 => {
            format!("{restarts} ({} ago)", super::human_duration(now - t))
        }
        _ => restarts.to_string(),
    };

    // Conversion fills podIPs from a lone podIP, so fall back to it.
    let first_ip = arr_at(pod, "/status/podIPs")
        .first()
        .map(|ip| str_at(ip, "/ip"))
        .unwrap_or_else(|| str_at(pod, "/status/podIP"));
    let cells = vec![
        json!(str_at(pod, "/metadata/name")),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts_cell),
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
