//! One-word states of objects, as kubectl's STATUS and READY columns show them, and the
//! health the explorer paints next to them.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::Pod;
use serde::Serialize;

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

/// kubectl's STATUS column for a pod (the common cases: waiting/terminated reasons,
/// Terminating, phase).
pub fn pod_status(pod: &Pod) -> String {
    pod_status_cow(pod).into_owned()
}

/// [`pod_status`] without allocating in the common cases (the tree asks for every pod).
pub fn pod_status_cow(pod: &Pod) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    if pod.metadata.deletion_timestamp.is_some() {
        return Cow::Borrowed("Terminating");
    }
    let status = pod.status.as_ref();
    let phase = status.and_then(|s| s.phase.as_deref()).unwrap_or("Pending");
    let mut reason: Cow<str> =
        Cow::Borrowed(status.and_then(|s| s.reason.as_deref()).unwrap_or(phase));
    for cs in status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
    {
        let state = cs.state.as_ref();
        if let Some(w) = state.and_then(|s| s.waiting.as_ref())
            && let Some(r) = &w.reason
        {
            reason = Cow::Borrowed(r);
        } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
            reason = match &t.reason {
                Some(r) => Cow::Borrowed(r),
                None => Cow::Owned(format!("ExitCode:{}", t.exit_code)),
            };
        }
    }
    if reason == "Succeeded" {
        Cow::Borrowed("Completed")
    } else {
        reason
    }
}

/// `ready/total` containers.
pub fn pod_ready_count(pod: &Pod) -> (usize, usize) {
    let total = pod.spec.as_ref().map_or(0, |s| s.containers.len());
    let ready = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().filter(|c| c.ready).count());
    (ready, total)
}

pub fn pod_restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map_or(0, |cs| cs.iter().map(|c| c.restart_count).sum())
}

pub fn pod_health(pod: &Pod) -> Health {
    health_of(pod, &pod_status_cow(pod))
}

/// [`pod_health`] for a pod whose STATUS ([`pod_status`]) is already known.
pub fn health_of(pod: &Pod, status: &str) -> Health {
    match status {
        "Completed" => Health::None,
        "Running" if crate::model::probes::pod_ready(pod) => Health::Ok,
        "Running" | "Pending" | "Terminating" | "ContainerCreating" | "PodInitializing" => {
            Health::Warn
        }
        _ => Health::Bad,
    }
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

pub fn utc_micro(
    t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime,
) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().max(0) as u32)
        .unwrap_or_default()
}

/// kubectl's AGE: `45s`, `12m`, `3h`, `5d`.
pub fn age(from: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> String {
    let s = (now - from).num_seconds().max(0);
    match s {
        0..120 => format!("{s}s"),
        120..7200 => format!("{}m", s / 60),
        7200..172800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
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

    #[test]
    fn ages_read_like_kubectl() {
        let t0 = chrono::DateTime::from_timestamp(1_000_000, 0).unwrap();
        let at = |s| t0 + chrono::Duration::seconds(s);
        assert_eq!(age(t0, at(59)), "59s");
        assert_eq!(age(t0, at(600)), "10m");
        assert_eq!(age(t0, at(3 * 3600)), "3h");
        assert_eq!(age(t0, at(3 * 86400)), "3d");
    }
}
