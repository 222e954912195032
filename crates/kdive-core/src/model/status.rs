//! One-word states of objects, as kubectl's STATUS and READY columns show them, and the
//! health the explorer paints next to them.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

use crate::model::pod_columns::pod_columns;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Health {
    Ok,
    Warn,
    Bad,
    /// Nothing to judge (no pods, completed, unknown).
    None,
}

impl Health {
    pub fn glyph(self) -> &'static str {
        match self {
            Health::Ok => "✓",
            Health::Warn => "!",
            Health::Bad => "✗",
            Health::None => "·",
        }
    }

    pub fn worst(self, other: Health) -> Health {
        use Health::*;
        match (self, other) {
            (Bad, _) | (_, Bad) => Bad,
            (Warn, _) | (_, Warn) => Warn,
            (Ok, _) | (_, Ok) => Ok,
            _ => None,
        }
    }
}

/// kubectl's STATUS column for a pod ([`pod_columns`]).
pub fn pod_status(pod: &Pod) -> String {
    pod_status_cow(pod).into_owned()
}

/// [`pod_status`] without allocating in the common cases (the tree asks for every pod).
pub fn pod_status_cow(pod: &Pod) -> std::borrow::Cow<'_, str> {
    pod_columns(pod).status
}

/// kubectl's READY column: `ready/total` containers, sidecars included.
pub fn pod_ready_count(pod: &Pod) -> (usize, usize) {
    let c = pod_columns(pod);
    (c.ready, c.total)
}

/// kubectl's RESTARTS column, without the "(5m ago)".
pub fn pod_restarts(pod: &Pod) -> i32 {
    clamp_i32(pod_columns(pod).restarts)
}

pub(crate) fn clamp_i32(n: i64) -> i32 {
    n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

pub fn pod_health(pod: &Pod) -> Health {
    health_of(pod, &pod_status_cow(pod))
}

/// [`pod_health`] for a pod whose STATUS ([`pod_status`]) is already known.
pub fn health_of(pod: &Pod, status: &str) -> Health {
    match status {
        "Completed" | "Succeeded" => Health::None,
        "Running" if crate::model::pod_readiness::pod_ready(pod) => Health::Ok,
        "Running" | "NotReady" | "Pending" | "Terminating" | "ContainerCreating"
        | "PodInitializing" | "SchedulingGated" => Health::Warn,
        // `Init:1/3`: init containers still running, not failing.
        s if is_init_progress(s) => Health::Warn,
        _ => Health::Bad,
    }
}

/// `Init:N/M`, as against `Init:Error` or `Init:CrashLoopBackOff`.
fn is_init_progress(status: &str) -> bool {
    status
        .strip_prefix("Init:")
        .and_then(|s| s.split_once('/'))
        .is_some_and(|(n, m)| {
            !n.is_empty() && !m.is_empty() && n.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit())
        })
}

/// Desired and ready replicas, with health: all ready ✓, some ✗/!, none of many ✗.
pub fn replicas_health(desired: i32, ready: i32) -> Health {
    if desired == 0 {
        Health::None
    } else if ready >= desired {
        Health::Ok
    } else if ready == 0 {
        Health::Bad
    } else {
        Health::Warn
    }
}

pub fn deployment_replicas(d: &Deployment) -> (i32, i32) {
    let desired = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = d
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    (desired, ready)
}

pub fn replica_set_replicas(rs: &ReplicaSet) -> (i32, i32) {
    let desired = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = rs
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    (desired, ready)
}

pub fn stateful_set_replicas(s: &StatefulSet) -> (i32, i32) {
    let desired = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let ready = s
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    (desired, ready)
}

/// A Kubernetes timestamp as chrono time.
pub fn utc(
    t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time,
) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z), which Go code treats as unset (`IsZero`).
pub fn is_go_zero_time(t: chrono::DateTime<chrono::Utc>) -> bool {
    const GO_ZERO_UNIX_SECONDS: i64 = -62_135_596_800;
    t.timestamp() == GO_ZERO_UNIX_SECONDS && t.timestamp_subsec_nanos() == 0
}

pub fn utc_micro(
    t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime,
) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(v: serde_json::Value) -> Pod {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn status_prefers_waiting_reason_then_phase() {
        let p = pod(serde_json::json!({
            "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"name": "a", "ready": false, "restartCount": 3, "image": "i", "imageID": "",
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
        }));
        assert_eq!(pod_status(&p), "CrashLoopBackOff");
        assert_eq!(pod_health(&p), Health::Bad);
        assert_eq!(pod_restarts(&p), 3);
        assert_eq!(pod_ready_count(&p), (0, 1));
    }

    #[test]
    fn running_but_not_ready_is_a_warning() {
        let p = pod(serde_json::json!({
            "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}]}
        }));
        assert_eq!(pod_status(&p), "Running");
        assert_eq!(pod_health(&p), Health::Warn);
    }
}
