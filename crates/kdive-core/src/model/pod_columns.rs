//! A pod's READY, STATUS and RESTARTS, as kubectl's `printPod` computes them (kubernetes
//! `pkg/printers/internalversion/printers.go`). The lab's `kubectl get pods` table and the
//! explorer's tree, lists and panes all read this one function.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, ContainerStateTerminated, ContainerStatus, Pod};

use crate::duration::human_duration;
use crate::model::pod_readiness::pod_ready;
use crate::model::status::{is_go_zero_time, utc};

/// The cells `printPod` derives from a pod's spec and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodColumns<'a> {
    /// Ready containers (sidecars included) and all of them.
    pub ready: usize,
    pub total: usize,
    /// The STATUS column: `Running`, `Init:1/2`, `CrashLoopBackOff`, `Terminating`, …
    pub status: Cow<'a, str>,
    pub restarts: i64,
    /// The latest termination among the counted containers, for "(5m ago)".
    pub last_restart: Option<DateTime<Utc>>,
}

impl PodColumns<'_> {
    /// The RESTARTS cell: `0`, or `3 (5m ago)` once a counted container has terminated.
    pub fn restarts_cell(&self, now: DateTime<Utc>) -> String {
        match self.last_restart {
            Some(t) if self.restarts != 0 => {
                format!("{} ({} ago)", self.restarts, human_duration(now - t))
            }
            _ => self.restarts.to_string(),
        }
    }
}

/// A sidecar: an init container with `restartPolicy: Always`. It counts as a container.
fn is_restartable_init(container: Option<&&Container>) -> bool {
    container.is_some_and(|c| c.restart_policy.as_deref() == Some("Always"))
}

/// `podutil.GetPodCondition(...).Status == True`: the first condition of the kind.
fn condition_true(pod: &Pod, kind: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == kind))
        .is_some_and(|c| c.status == "True")
}

/// The later of `latest` and this status's last termination (Go's zero time never wins).
fn later_termination(
    latest: Option<DateTime<Utc>>,
    status: &ContainerStatus,
) -> Option<DateTime<Utc>> {
    let finished = status
        .last_state
        .as_ref()
        .and_then(|s| s.terminated.as_ref())
        .and_then(|t| t.finished_at.as_ref())
        .map(utc)
        .filter(|t| !is_go_zero_time(*t));
    match (latest, finished) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// `ExitCode:N` / `Signal:N` for a termination without a reason.
fn exit_text(t: &ContainerStateTerminated) -> String {
    match t.signal {
        Some(signal) if signal != 0 => format!("Signal:{signal}"),
        _ => format!("ExitCode:{}", t.exit_code),
    }
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// `printPod`'s READY, STATUS and RESTARTS for a pod.
pub fn pod_columns(pod: &Pod) -> PodColumns<'_> {
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let spec_init: &[Container] = spec
        .and_then(|s| s.init_containers.as_deref())
        .unwrap_or(&[]);
    let init_by_name: HashMap<&str, &Container> =
        spec_init.iter().map(|c| (c.name.as_str(), c)).collect();
    let total = spec.map_or(0, |s| s.containers.len())
        + spec_init
            .iter()
            .filter(|c| is_restartable_init(Some(c)))
            .count();

    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("");
    let status_reason = non_empty(status.and_then(|s| s.reason.as_deref()));
    let mut reason: Cow<str> = Cow::Borrowed(status_reason.unwrap_or(phase));
    let conditions = status.and_then(|s| s.conditions.as_deref()).unwrap_or(&[]);
    if conditions
        .iter()
        .any(|c| c.type_ == "PodScheduled" && c.reason.as_deref() == Some("SchedulingGated"))
    {
        reason = Cow::Borrowed("SchedulingGated");
    }

    let mut restarts = 0i64;
    let mut sidecar_restarts = 0i64;
    let mut ready = 0usize;
    let mut last_restart = None;
    let mut last_sidecar_restart = None;

    let mut initializing = false;
    let init_statuses = status
        .and_then(|s| s.init_container_statuses.as_deref())
        .unwrap_or(&[]);
    for (i, cs) in init_statuses.iter().enumerate() {
        let sidecar = is_restartable_init(init_by_name.get(cs.name.as_str()));
        restarts += i64::from(cs.restart_count);
        last_restart = later_termination(last_restart, cs);
        if sidecar {
            sidecar_restarts += i64::from(cs.restart_count);
            last_sidecar_restart = later_termination(last_sidecar_restart, cs);
        }
        let state = cs.state.as_ref();
        let terminated = state.and_then(|s| s.terminated.as_ref());
        let waiting = non_empty(
            state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| w.reason.as_deref()),
        );
        if terminated.is_some_and(|t| t.exit_code == 0) {
            continue;
        }
        if sidecar && cs.started == Some(true) {
            ready += usize::from(cs.ready);
            continue;
        }
        reason = Cow::Owned(match (terminated, waiting) {
            (Some(t), _) => match non_empty(t.reason.as_deref()) {
                Some(why) => format!("Init:{why}"),
                None => format!("Init:{}", exit_text(t)),
            },
            (None, Some(w)) if w != "PodInitializing" => format!("Init:{w}"),
            _ => format!("Init:{i}/{}", spec_init.len()),
        });
        initializing = true;
        break;
    }

    if !initializing || condition_true(pod, "Initialized") {
        restarts = sidecar_restarts;
        last_restart = last_sidecar_restart;
        let mut has_running = false;
        // The first container's state wins: the real printer walks them backwards.
        let statuses = status
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[]);
        for cs in statuses.iter().rev() {
            restarts += i64::from(cs.restart_count);
            last_restart = later_termination(last_restart, cs);
            let state = cs.state.as_ref();
            let waiting = state
                .and_then(|s| s.waiting.as_ref())
                .and_then(|w| non_empty(w.reason.as_deref()));
            let terminated = state.and_then(|s| s.terminated.as_ref());
            if let Some(w) = waiting {
                reason = Cow::Borrowed(w);
            } else if let Some(t) = terminated {
                reason = match non_empty(t.reason.as_deref()) {
                    Some(why) => Cow::Borrowed(why),
                    None => Cow::Owned(exit_text(t)),
                };
            } else if cs.ready && state.is_some_and(|s| s.running.is_some()) {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = Cow::Borrowed(if pod_ready(pod) {
                "Running"
            } else {
                "NotReady"
            });
        }
    }

    let deleting = pod.metadata.deletion_timestamp.is_some();
    if deleting && status_reason == Some("NodeLost") {
        reason = Cow::Borrowed("Unknown");
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = Cow::Borrowed("Terminating");
    }

    PodColumns {
        ready,
        total,
        status: reason,
        restarts,
        last_restart,
    }
}

#[cfg(test)]
#[path = "pod_columns_tests.rs"]
mod tests;
