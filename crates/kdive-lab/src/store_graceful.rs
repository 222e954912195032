//! Graceful deletion of pods, as the API server's pod strategy does it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{bump_generation, finalizers, format_time};

/// What a pod delete does first, as the apiserver's `BeforeDelete` with the pod strategy.
#[derive(Debug, PartialEq)]
pub(crate) enum Graceful {
    /// Go on deleting now (finalizers may still hold it).
    Immediate,
    /// Already terminating with an equal or shorter grace: nothing changes.
    Unchanged,
    /// deletionTimestamp and deletionGracePeriodSeconds were set (or shortened) in place.
    Pending,
}

/// The pod strategy's `CheckGracefulDelete`: the request's grace, else the pod's
/// terminationGracePeriodSeconds, else 30; 0 for a pod not bound to a node or already
/// Succeeded/Failed (nothing runs it); a negative request means 1.
fn pod_grace(pod: &Value, requested: Option<i64>) -> i64 {
    let bound = pod
        .pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_empty());
    let phase = pod.pointer("/status/phase").and_then(Value::as_str);
    if !bound || matches!(phase, Some("Succeeded" | "Failed")) {
        return 0;
    }
    let grace = requested
        .or_else(|| {
            pod.pointer("/spec/terminationGracePeriodSeconds")
                .and_then(Value::as_i64)
        })
        .unwrap_or(30);
    if grace < 0 { 1 } else { grace }
}

/// Graceful deletion of a pod: the first delete starts it (deletionTimestamp = now + grace),
/// a later one may only shorten it, and a grace of 0 deletes now.
pub(crate) fn pod_graceful_delete(
    pod: &mut Value,
    requested: Option<i64>,
    now: DateTime<Utc>,
) -> Graceful {
    let grace = pod_grace(pod, requested);
    let existing = pod
        .pointer("/metadata/deletionTimestamp")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let existing_grace = pod
        .pointer("/metadata/deletionGracePeriodSeconds")
        .and_then(Value::as_i64);
    let at = match (existing, existing_grace) {
        (None, _) if grace == 0 => return Graceful::Immediate,
        (None, _) => now + chrono::Duration::seconds(grace),
        // Started with grace 0 (a delete that did not finish): finish it now.
        (Some(_), None | Some(0)) => return Graceful::Immediate,
        (Some(_), Some(old)) if grace >= old => return Graceful::Unchanged,
        // The new deadline counts from the first request: timestamp - old grace + new.
        (Some(ts), Some(old)) => ts - chrono::Duration::seconds(old - grace),
    };
    let first = existing.is_none();
    if let Some(meta) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("deletionTimestamp".into(), Value::from(format_time(at)));
        meta.insert("deletionGracePeriodSeconds".into(), Value::from(grace));
    }
    if first {
        bump_generation(pod);
    }
    if grace == 0 && finalizers(pod).is_empty() {
        return Graceful::Immediate;
    }
    Graceful::Pending
}
