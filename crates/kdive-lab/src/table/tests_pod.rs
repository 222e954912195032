//! Pod STATUS / READY / RESTARTS cells for every branch of `printPod`.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{IncludeObject, TableOptions, object_table};

fn now() -> DateTime<Utc> {
    "2024-01-01T12:00:00Z".parse().unwrap()
}

/// A pod created 5 minutes before `now`, with the given spec and status.
fn pod(spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default", "resourceVersion": "42",
                     "creationTimestamp": "2024-01-01T11:55:00Z"},
        "spec": spec, "status": status,
    })
}

fn one_container() -> Value {
    json!({"containers": [{"name": "app", "image": "nginx"}]})
}

fn row(p: &Value) -> Value {
    let t = object_table("pods", p, now(), &TableOptions::default());
    t["rows"][0].clone()
}

/// (READY, STATUS, RESTARTS)
fn summary(p: &Value) -> (String, String, String) {
    let r = row(p);
    let s = |i: usize| r["cells"][i].as_str().unwrap().to_string();
    (s(1), s(2), s(3))
}

fn running(ready: bool) -> Value {
    json!({"name": "app", "ready": ready, "restartCount": 0, "state": {"running": {"startedAt": "2024-01-01T11:56:00Z"}}})
}

#[test]
fn running_pod_full_row() {
    let p = pod(
        json!({"containers": [{"name": "app"}], "nodeName": "node-1"}),
        json!({"phase": "Running", "podIPs": [{"ip": "10.244.0.7"}], "podIP": "10.244.0.7",
               "conditions": [{"type": "Ready", "status": "True"}],
               "containerStatuses": [running(true)]}),
    );
    let r = row(&p);
    // 1 ready of 1 container; phase Running; no restarts; created 5m ago; IP from podIPs[0].
    assert_eq!(
        r["cells"],
        json!([
            "web-1",
            "1/1",
            "Running",
            "0",
            "5m",
            "10.244.0.7",
            "node-1",
            "<none>",
            "<none>"
        ])
    );
    assert!(r.get("conditions").is_none());
    assert_eq!(r["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(r["object"]["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(r["object"]["metadata"]["name"], "web-1");
}

#[test]
fn pending_without_statuses_prints_phase_and_none_cells() {
    let p = pod(one_container(), json!({"phase": "Pending"}));
    let r = row(&p);
    assert_eq!(
        r["cells"],
        json!([
            "web-1", "0/1", "Pending", "0", "5m", "<none>", "<none>", "<none>", "<none>"
        ])
    );
}

#[test]
fn status_reason_overrides_phase() {
    let p = pod(
        one_container(),
        json!({"phase": "Failed", "reason": "Evicted"}),
    );
    assert_eq!(summary(&p).1, "Evicted");
}

#[test]
fn scheduling_gated_condition() {
    let p = pod(
        one_container(),
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
    );
    assert_eq!(summary(&p).1, "SchedulingGated");
}

#[test]
fn waiting_reason_container_creating() {
    let p = pod(
        one_container(),
        json!({"phase": "Pending", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
               "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
    );
    assert_eq!(
        summary(&p),
        ("0/1".into(), "ContainerCreating".into(), "0".into())
    );
}

#[test]
fn crash_loop_with_restart_age() {
    // Last termination finished at 11:57:00, now is 12:00:00: 180s = 3m → "3 (3m ago)".
    let p = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 3,
               "state": {"waiting": {"reason": "CrashLoopBackOff"}},
               "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2024-01-01T11:57:00Z"}}}]}),
    );
    assert_eq!(
        summary(&p),
        ("0/1".into(), "CrashLoopBackOff".into(), "3 (3m ago)".into())
    );
}

#[test]
fn restarts_without_termination_time_print_plain_count() {
    let p = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "ready": true, "restartCount": 2,
               "state": {"running": {}}}]}),
    );
    assert_eq!(summary(&p), ("1/1".into(), "Running".into(), "2".into()));
}

#[test]
fn terminated_reasons_oom_error_completed() {
    for reason in ["OOMKilled", "Error", "Completed"] {
        let p = pod(
            one_container(),
            json!({"phase": "Running", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 0,
                   "state": {"terminated": {"exitCode": 1, "reason": reason}}}]}),
        );
        assert_eq!(summary(&p).1, reason);
    }
}

#[test]
fn terminated_without_reason_exit_code_and_signal() {
    let exit = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 0,
               "state": {"terminated": {"exitCode": 137}}}]}),
    );
    assert_eq!(summary(&exit).1, "ExitCode:137");
    let signal = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 0,
               "state": {"terminated": {"exitCode": 0, "signal": 9}}}]}),
    );
    assert_eq!(summary(&signal).1, "Signal:9");
}

#[test]
fn last_container_status_wins() {
    // Walked backwards: "b" (waiting) sets the reason first, then "a" (terminated) overrides.
    let p = pod(
        json!({"containers": [{"name": "a"}, {"name": "b"}]}),
        json!({"phase": "Running", "containerStatuses": [
            {"name": "a", "restartCount": 0, "state": {"terminated": {"exitCode": 2, "reason": "Error"}}},
            {"name": "b", "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}),
    );
    assert_eq!(summary(&p), ("0/2".into(), "Error".into(), "0".into()));
}

#[test]
fn completed_with_running_sidecar_is_running_or_not_ready() {
    let statuses = json!([
        {"name": "a", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "b", "ready": true, "restartCount": 0, "state": {"running": {}}}]);
    let spec = json!({"containers": [{"name": "a"}, {"name": "b"}]});
    // Backwards: "b" running and ready (ready=1, hasRunning); "a" sets Completed → back to Running.
    let ready = pod(
        spec.clone(),
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": statuses}),
    );
    assert_eq!(
        summary(&ready),
        ("1/2".into(), "Running".into(), "0".into())
    );
    let not_ready = pod(
        spec,
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}], "containerStatuses": statuses}),
    );
    assert_eq!(summary(&not_ready).1, "NotReady");
}

#[test]
fn succeeded_and_failed_pods_carry_row_conditions() {
    let done = pod(
        one_container(),
        json!({"phase": "Succeeded", "containerStatuses": [{"name": "app", "restartCount": 0,
               "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
    );
    let r = row(&done);
    assert_eq!(r["cells"][2], "Completed");
    assert_eq!(
        r["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}])
    );
    let failed = pod(one_container(), json!({"phase": "Failed"}));
    assert_eq!(
        row(&failed)["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}])
    );
}

fn init_spec(n: usize) -> Value {
    let inits: Vec<Value> = (0..n)
        .map(|i| json!({"name": format!("init-{i}")}))
        .collect();
    json!({"initContainers": inits, "containers": [{"name": "app"}]})
}

#[test]
fn init_progress_counts_finished_init_containers() {
    // init-0 exited 0 (skipped), init-1 is running: reason Init:1/2.
    let p = pod(
        init_spec(2),
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "init-0", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "init-1", "restartCount": 0, "state": {"running": {}}}],
            "containerStatuses": [{"name": "app", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}),
    );
    // Initializing and no Initialized condition: the app container is not looked at.
    assert_eq!(summary(&p), ("0/1".into(), "Init:1/2".into(), "0".into()));
}

#[test]
fn init_waiting_reason_and_pod_initializing() {
    let crash = pod(
        init_spec(1),
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "init-0", "restartCount": 4, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-01-01T11:59:30Z"}}}]}),
    );
    // Restarts of init containers count while initializing; 30s ago.
    assert_eq!(
        summary(&crash),
        (
            "0/1".into(),
            "Init:CrashLoopBackOff".into(),
            "4 (30s ago)".into()
        )
    );
    let initializing = pod(
        init_spec(1),
        json!({"phase": "Pending", "initContainerStatuses": [
            {"name": "init-0", "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}),
    );
    assert_eq!(summary(&initializing).1, "Init:0/1");
}

#[test]
fn init_terminated_failures() {
    let cases = [
        (json!({"exitCode": 1, "reason": "Error"}), "Init:Error"),
        (json!({"exitCode": 3}), "Init:ExitCode:3"),
        (json!({"exitCode": 1, "signal": 15}), "Init:Signal:15"),
    ];
    for (terminated, expected) in cases {
        let p = pod(
            init_spec(1),
            json!({"phase": "Pending", "initContainerStatuses": [
                {"name": "init-0", "restartCount": 0, "state": {"terminated": terminated}}]}),
        );
        assert_eq!(summary(&p).1, expected);
    }
}

#[test]
fn sidecar_counts_as_container_and_ready() {
    // A restartable init container adds to the total and, started and ready, to READY.
    let p = pod(
        json!({"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "app"}]}),
        json!({"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
               "initContainerStatuses": [{"name": "proxy", "started": true, "ready": true, "restartCount": 1,
                   "state": {"running": {}}, "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2024-01-01T10:00:00Z"}}}],
               "containerStatuses": [running(true)]}),
    );
    // Sidecar restart 2h ago counts after initialization: "1 (120m ago)" (2h < 3h → minutes).
    assert_eq!(
        summary(&p),
        ("2/2".into(), "Running".into(), "1 (120m ago)".into())
    );
}

#[test]
fn deletion_gives_terminating_unless_terminal_or_node_lost() {
    let mut p = pod(
        one_container(),
        json!({"phase": "Running", "containerStatuses": [running(true)]}),
    );
    p["metadata"]["deletionTimestamp"] = json!("2024-01-01T11:59:00Z");
    assert_eq!(summary(&p).1, "Terminating");
    let mut lost = pod(
        one_container(),
        json!({"phase": "Running", "reason": "NodeLost"}),
    );
    lost["metadata"]["deletionTimestamp"] = json!("2024-01-01T11:59:00Z");
    assert_eq!(summary(&lost).1, "Unknown");
    let mut done = pod(one_container(), json!({"phase": "Succeeded"}));
    done["metadata"]["deletionTimestamp"] = json!("2024-01-01T11:59:00Z");
    assert_eq!(summary(&done).1, "Succeeded");
}

#[test]
fn readiness_gates_count_true_conditions() {
    let p = pod(
        json!({"containers": [{"name": "app"}], "readinessGates": [{"conditionType": "a.io/lb"}, {"conditionType": "b.io/x"}]}),
        json!({"phase": "Running", "conditions": [{"type": "a.io/lb", "status": "True"}, {"type": "b.io/x", "status": "False"}]}),
    );
    assert_eq!(row(&p)["cells"][8], "1/2");
}

#[test]
fn column_definitions_match_the_server() {
    let p = pod(one_container(), json!({}));
    let t = object_table("pods", &p, now(), &TableOptions::default());
    let names: Vec<&str> = t["columnDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ]
    );
    let cols = &t["columnDefinitions"];
    assert_eq!(cols[0]["format"], "name");
    assert_eq!(cols[3]["type"], "string");
    assert_eq!(cols[4]["priority"], 0);
    assert_eq!(cols[5]["priority"], 1);
    assert!(
        cols[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("Name must be unique")
    );
    assert!(
        cols[4]["description"]
            .as_str()
            .unwrap()
            .starts_with("CreationTimestamp is a timestamp")
    );
    assert_eq!(t["metadata"], json!({"resourceVersion": "42"}));
}

#[test]
fn include_object_variants_and_watch_headers() {
    let p = pod(one_container(), json!({}));
    let none = TableOptions {
        include_object: IncludeObject::None,
        column_definitions: false,
    };
    let t = object_table("pods", &p, now(), &none);
    assert_eq!(t["rows"][0]["object"], Value::Null);
    assert_eq!(t["columnDefinitions"], Value::Null);
    let full = TableOptions {
        include_object: IncludeObject::Object,
        column_definitions: true,
    };
    let t = object_table("pods", &p, now(), &full);
    assert_eq!(t["rows"][0]["object"], p);
}

#[test]
fn lone_pod_ip_is_used_when_pod_ips_is_missing() {
    let p = pod(
        one_container(),
        json!({"phase": "Running", "podIP": "10.1.2.3"}),
    );
    assert_eq!(row(&p)["cells"][5], "10.1.2.3");
}

#[test]
fn include_object_query_values() {
    assert_eq!(IncludeObject::from_query(""), Some(IncludeObject::Metadata));
    assert_eq!(
        IncludeObject::from_query("Metadata"),
        Some(IncludeObject::Metadata)
    );
    assert_eq!(IncludeObject::from_query("None"), Some(IncludeObject::None));
    assert_eq!(
        IncludeObject::from_query("Object"),
        Some(IncludeObject::Object)
    );
    assert_eq!(IncludeObject::from_query("object"), None);
}
