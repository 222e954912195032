//! Whether a pod is Ready and Available, as `podutil` in kubernetes
//! `pkg/api/v1/pod/util.go` decides (controllers, endpoints and the explorer all ask this).

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::core::v1::{Pod, PodCondition};

use crate::model::status::{is_go_zero_time, utc};

/// `GetPodReadyCondition`: the pod's first `Ready` condition.
pub fn ready_condition(pod: &Pod) -> Option<&PodCondition> {
    pod.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// `IsPodReady`: the `Ready` condition is True (false when absent: kubelet has not said yet).
pub fn pod_ready(pod: &Pod) -> bool {
    ready_condition(pod).is_some_and(|c| c.status == "True")
}

/// When the `Ready` condition last changed; None when unset or Go's zero time.
pub fn ready_since(pod: &Pod) -> Option<DateTime<Utc>> {
    let t = utc(ready_condition(pod)?.last_transition_time.as_ref()?);
    (!is_go_zero_time(t)).then_some(t)
}

/// When a ready pod becomes available: `minReadySeconds` after it turned Ready.
pub fn available_at(pod: &Pod, min_ready_seconds: i32) -> Option<DateTime<Utc>> {
    Some(ready_since(pod)? + Duration::seconds(i64::from(min_ready_seconds)))
}

/// `IsPodAvailable`: ready, and ready for longer than `minReadySeconds` (strictly).
pub fn pod_available(pod: &Pod, min_ready_seconds: i32, now: DateTime<Utc>) -> bool {
    if !pod_ready(pod) {
        return false;
    }
    // Go tests `minReadySeconds == 0`; the API forbids negative values, treat them alike.
    min_ready_seconds <= 0 || available_at(pod, min_ready_seconds).is_some_and(|t| t < now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(conditions: serde_json::Value) -> Pod {
        serde_json::from_value(serde_json::json!({"status": {"conditions": conditions}})).unwrap()
    }

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn ready_is_the_first_ready_condition() {
        assert!(pod_ready(&pod(
            serde_json::json!([{"type": "Ready", "status": "True"}])
        )));
        assert!(!pod_ready(&pod(serde_json::json!([
            {"type": "Ready", "status": "False"}, {"type": "Ready", "status": "True"}
        ]))));
        assert!(!pod_ready(&pod(serde_json::json!([]))));
    }

    #[test]
    fn available_after_min_ready_seconds_strictly() {
        let p = pod(serde_json::json!([{"type": "Ready", "status": "True",
            "lastTransitionTime": "2024-01-01T00:00:00Z"}]));
        assert!(pod_available(&p, 0, t("2024-01-01T00:00:00Z")));
        assert!(!pod_available(&p, 10, t("2024-01-01T00:00:10Z")));
        assert!(pod_available(&p, 10, t("2024-01-01T00:00:11Z")));
        let not_ready = pod(serde_json::json!([{"type": "Ready", "status": "False"}]));
        assert!(!pod_available(&not_ready, 0, t("2024-01-01T00:00:00Z")));
    }

    /// The lab's copy took a zero `lastTransitionTime` (0001-01-01) as a real time, long
    /// past, so the pod was available; `IsPodAvailable` (kubernetes
    /// `pkg/api/v1/pod/util.go`) checks `!c.LastTransitionTime.IsZero()` first.
    #[test]
    fn a_zero_transition_time_is_not_available() {
        let p = pod(serde_json::json!([{"type": "Ready", "status": "True",
            "lastTransitionTime": "0001-01-01T00:00:00Z"}]));
        assert!(!pod_available(&p, 5, t("2024-01-01T00:00:00Z")));
        assert!(pod_available(&p, 0, t("2024-01-01T00:00:00Z")));
    }
}
