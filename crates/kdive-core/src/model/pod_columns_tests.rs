//! Each case pins where the explorer's old STATUS/READY/RESTARTS differed from kubectl's
//! `printPod` (kubernetes `pkg/printers/internalversion/printers.go`); kubectl's rule won.

use super::*;
use crate::model::status::{Health, health_of};
use serde_json::{Value, json};

fn pod(spec: Value, status: Value) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": "p"}, "spec": spec, "status": status}))
        .expect("pod json")
}

/// A container status with the fields k8s-openapi requires.
fn cs(name: &str, ready: bool, restarts: i32, state: Value) -> Value {
    json!({"name": name, "ready": ready, "restartCount": restarts, "image": "i", "imageID": "",
           "state": state})
}

fn containers(names: &[&str]) -> Value {
    let list: Vec<Value> = names.iter().map(|n| json!({"name": n})).collect();
    json!({"containers": list})
}

fn cols(p: &Pod) -> (usize, usize, String, i64) {
    let c = pod_columns(p);
    (c.ready, c.total, c.status.into_owned(), c.restarts)
}

#[test]
fn init_containers_show_their_progress() {
    // The explorer showed the app container's `PodInitializing`.
    let p = pod(
        json!({"initContainers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "app"}]}),
        json!({"phase": "Pending",
               "initContainerStatuses": [
                   cs("a", false, 0, json!({"terminated": {"exitCode": 0, "reason": "Completed"}})),
                   cs("b", false, 2, json!({"running": {}}))],
               "containerStatuses": [cs("app", false, 0, json!({"waiting": {"reason": "PodInitializing"}}))]}),
    );
    assert_eq!(
        cols(&p),
        (0, 1, "Init:1/2".into(), 2),
        "init restarts count while initializing"
    );
    assert_eq!(health_of(&p, "Init:1/2"), Health::Warn);
    assert_eq!(health_of(&p, "Init:CrashLoopBackOff"), Health::Bad);
}

#[test]
fn a_failed_init_container_names_its_reason_or_exit() {
    let p = pod(
        json!({"initContainers": [{"name": "a"}], "containers": [{"name": "app"}]}),
        json!({"phase": "Pending", "initContainerStatuses": [
            cs("a", false, 1, json!({"terminated": {"exitCode": 3}}))]}),
    );
    assert_eq!(pod_columns(&p).status, "Init:ExitCode:3");
}

#[test]
fn the_first_container_state_wins() {
    // The explorer walked forwards and let the last container win.
    let p = pod(
        containers(&["a", "b"]),
        json!({"phase": "Running", "containerStatuses": [
            cs("a", false, 4, json!({"waiting": {"reason": "CrashLoopBackOff"}})),
            cs("b", false, 0, json!({"waiting": {"reason": "ImagePullBackOff"}}))]}),
    );
    assert_eq!(cols(&p), (0, 2, "CrashLoopBackOff".into(), 4));
}

#[test]
fn a_termination_without_reason_shows_its_signal() {
    // The explorer always printed `ExitCode:N`.
    let p = pod(
        containers(&["a"]),
        json!({"phase": "Running", "containerStatuses": [
            cs("a", false, 0, json!({"terminated": {"exitCode": 137, "signal": 9}}))]}),
    );
    assert_eq!(pod_columns(&p).status, "Signal:9");
}

#[test]
fn a_completed_container_beside_running_ones_is_running_or_not_ready() {
    // The explorer printed `Completed` when the completed container came last.
    let status = |ready: &str| {
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": ready}],
               "containerStatuses": [
                   cs("a", true, 0, json!({"running": {}})),
                   cs("b", false, 0, json!({"terminated": {"exitCode": 0, "reason": "Completed"}}))]})
    };
    let ready = pod(containers(&["a", "b"]), status("True"));
    assert_eq!(cols(&ready), (1, 2, "Running".into(), 0));
    let not_ready = pod(containers(&["a", "b"]), status("False"));
    assert_eq!(pod_columns(&not_ready).status, "NotReady");
    assert_eq!(health_of(&not_ready, "NotReady"), Health::Warn);
}

#[test]
fn deleting_a_finished_pod_is_not_terminating() {
    // The explorer printed `Terminating` for any pod with a deletionTimestamp.
    let mut p = pod(
        containers(&["a"]),
        json!({"phase": "Succeeded", "containerStatuses": [
            cs("a", false, 0, json!({"terminated": {"exitCode": 0, "reason": "Completed"}}))]}),
    );
    p.metadata.deletion_timestamp = Some(utc_time("2024-01-01T00:00:00Z"));
    assert_eq!(pod_columns(&p).status, "Completed");
    let mut lost = pod(
        containers(&["a"]),
        json!({"phase": "Running", "reason": "NodeLost"}),
    );
    lost.metadata.deletion_timestamp = Some(utc_time("2024-01-01T00:00:00Z"));
    assert_eq!(pod_columns(&lost).status, "Unknown");
}

#[test]
fn a_gated_pod_is_scheduling_gated() {
    let p = pod(
        containers(&["a"]),
        json!({"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
    );
    assert_eq!(pod_columns(&p).status, "SchedulingGated");
    assert_eq!(health_of(&p, "SchedulingGated"), Health::Warn);
}

#[test]
fn a_succeeded_phase_without_statuses_stays_succeeded() {
    // The explorer renamed the phase `Succeeded` to `Completed`; only a container's
    // termination reason says `Completed`.
    let p = pod(containers(&["a"]), json!({"phase": "Succeeded"}));
    assert_eq!(pod_columns(&p).status, "Succeeded");
    assert_eq!(health_of(&p, "Succeeded"), Health::None);
}

#[test]
fn a_pod_without_phase_has_an_empty_status() {
    // The explorer defaulted a missing phase to `Pending`.
    let p = pod(containers(&["a"]), json!({}));
    assert_eq!(pod_columns(&p).status, "");
}

#[test]
fn ready_counts_running_containers_and_started_sidecars() {
    // The explorer counted every `ready` container status and no sidecars.
    let p = pod(
        json!({"initContainers": [{"name": "proxy", "restartPolicy": "Always"}],
               "containers": [{"name": "a"}, {"name": "b"}]}),
        json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
               "initContainerStatuses": [{"name": "proxy", "ready": true, "restartCount": 2,
                   "started": true, "image": "i", "imageID": "", "state": {"running": {}}}],
               "containerStatuses": [
                   cs("a", true, 1, json!({"running": {}})),
                   cs("b", true, 0, json!({"waiting": {}}))]}),
    );
    assert_eq!(
        cols(&p),
        (2, 3, "Running".into(), 3),
        "sidecar restarts count too"
    );
}

#[test]
fn restarts_say_how_long_ago_the_last_one_was() {
    let mut a = cs("a", true, 2, json!({"running": {}}));
    a["lastState"] = json!({"terminated": {"exitCode": 1, "finishedAt": "2024-01-01T11:55:00Z"}});
    let mut b = cs("b", true, 1, json!({"running": {}}));
    b["lastState"] = json!({"terminated": {"exitCode": 1, "finishedAt": "0001-01-01T00:00:00Z"}});
    let p = pod(
        containers(&["a", "b"]),
        json!({"phase": "Running", "containerStatuses": [a, b]}),
    );
    let now: DateTime<Utc> = "2024-01-01T12:00:00Z".parse().unwrap();
    assert_eq!(pod_columns(&p).restarts_cell(now), "3 (5m ago)");
    let calm = pod(containers(&["a"]), json!({"phase": "Running"}));
    assert_eq!(pod_columns(&calm).restarts_cell(now), "0");
}

fn utc_time(s: &str) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(s.parse().unwrap())
}
