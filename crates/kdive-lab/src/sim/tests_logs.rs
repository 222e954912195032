//! Logs derived from a pod: counting, tails and run selection agree with the lines made.

use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

use super::catalog::Catalog;
use super::logs::{LogPlan, Run, rfc3339_nano, select_run};

fn pod(status: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "metadata": {"name": "web-1", "namespace": "demo", "uid": "u1"},
        "spec": {"nodeName": "n1", "containers": [{
            "name": "web", "image": "kdive/demo-web:1.4",
            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 5},
            "env": [{"name": "MEMORY_GROWTH_MB_PER_MIN", "value": "10"}],
            "resources": {"limits": {"memory": "64Mi"}}}]},
        "status": status,
    }))
    .unwrap()
}

const T0: i64 = 1_764_900_000_000;

#[test]
fn counts_and_tails_agree_with_the_lines_themselves() {
    let catalog = Catalog::builtin();
    let p = pod(json!({"hostIP": "172.18.0.2"}));
    let c = &p.spec.as_ref().unwrap().containers[0];
    let run = Run {
        container_id: "containerd://abc".into(),
        started: T0,
        end: None,
    };
    let plan = LogPlan::new(&catalog, &p, c, &run);
    let to = T0 + 3_600_000;
    let all: Vec<_> = plan.lines(T0 - 1000, to).collect();
    assert_eq!(all.len(), plan.count(T0 - 1000, to));
    assert!(all.windows(2).all(|w| w[0].at <= w[1].at), "time order");
    assert!(all[0].text.contains("msg=\"starting server\""));
    assert!(
        all.iter()
            .any(|l| l.text.contains("path=/ready status=200"))
    );
    assert!(all.iter().any(|l| l.text.contains("msg=\"memory in use\"")));
    for n in [0, 1, 7, 100, all.len(), all.len() + 5] {
        let (from, skip) = plan.tail_from(n, T0 - 1000, to);
        let tail: Vec<_> = plan.lines(from, to).skip(skip).collect();
        assert_eq!(tail, all[all.len().saturating_sub(n)..], "tail {n}");
    }
    // The same pod and time give the same log.
    let again: Vec<_> = LogPlan::new(&catalog, &p, c, &run)
        .lines(T0 - 1000, to)
        .collect();
    assert_eq!(all, again);
}

#[test]
fn an_oom_killed_run_ends_with_its_memory_near_the_limit() {
    let catalog = Catalog::builtin();
    let p = pod(json!({}));
    let c = &p.spec.as_ref().unwrap().containers[0];
    // 20 MiB at rest growing 10 MiB/min reaches 64 MiB after 264 s.
    let run = Run {
        container_id: "containerd://abc".into(),
        started: T0,
        end: Some(super::logs::Ended {
            finished: T0 + 264_000,
            code: 137,
            reason: "OOMKilled".into(),
        }),
    };
    let plan = LogPlan::new(&catalog, &p, c, &run);
    let lines: Vec<_> = plan.lines(T0 - 1000, T0 + 10_000_000).collect();
    let last = lines.last().unwrap();
    assert!(
        last.text.contains("memory in use is near the limit") && last.text.contains("limit_mib=64"),
        "{}",
        last.text
    );
}

#[test]
fn runs_are_chosen_as_kubelet_chooses_them() {
    let waiting = pod(json!({"containerStatuses": [{"name": "web", "ready": false,
        "restartCount": 0, "image": "x", "imageID": "",
        "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {}}]}));
    assert_eq!(
        select_run(&waiting, "web", false).unwrap_err(),
        "container \"web\" in pod \"web-1\" is waiting to start: ContainerCreating"
    );
    assert_eq!(
        select_run(&waiting, "web", true).unwrap_err(),
        "previous terminated container \"web\" in pod \"web-1\" not found"
    );
    let looping = pod(json!({"containerStatuses": [{"name": "web", "ready": false,
        "restartCount": 1, "image": "x", "imageID": "", "containerID": "containerd://b",
        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
        "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "containerID": "containerd://b",
            "startedAt": "2026-12-05T07:00:00Z", "finishedAt": "2026-12-05T07:00:04Z"}}}]}));
    // In back-off, the log is the last run's, with or without previous.
    let now = select_run(&looping, "web", false).unwrap();
    assert_eq!(now, select_run(&looping, "web", true).unwrap());
    assert_eq!(now.end.unwrap().code, 1);
}

#[test]
fn timestamps_are_go_rfc3339_nano() {
    assert_eq!(rfc3339_nano(T0), "2025-12-05T02:00:00Z");
    assert_eq!(rfc3339_nano(T0 + 120), "2025-12-05T02:00:00.12Z");
}

#[test]
fn absurd_knobs_and_grace_periods_make_a_log_not_a_panic() {
    let catalog = Catalog::builtin();
    let p: Pod = serde_json::from_value(json!({
        "metadata": {"name": "x", "namespace": "d", "uid": "u",
            "deletionTimestamp": "2026-12-05T07:00:00Z", "deletionGracePeriodSeconds": i64::MAX},
        "spec": {"terminationGracePeriodSeconds": i64::MAX, "containers": [{
            "name": "c", "image": "kdive/demo-web:1.4",
            "command": ["sh", "-c", "sleep 1e300; exit 3"],
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 1,
                "initialDelaySeconds": i32::MAX},
            "env": [{"name": "STARTUP_SECONDS", "value": "1e300"},
                {"name": "CRASH_AFTER_SECONDS", "value": "1e300"},
                {"name": "MEMORY_GROWTH_MB_PER_MIN", "value": "1e-300"},
                {"name": "SHUTDOWN_DELAY_SECONDS", "value": "1e300"}]}]},
    }))
    .unwrap();
    let c = &p.spec.as_ref().unwrap().containers[0];
    for end in [
        None,
        Some(super::logs::Ended {
            finished: i64::MAX / 2,
            code: 137,
            reason: "Error".into(),
        }),
    ] {
        let run = Run {
            container_id: String::new(),
            started: 0,
            end,
        };
        let plan = LogPlan::new(&catalog, &p, c, &run);
        let to = i64::MAX;
        let _ = plan.count(i64::MIN, to);
        let (from, skip) = plan.tail_from(3, i64::MIN, to);
        assert!(plan.lines(from, to).skip(skip).take(10).count() <= 3);
        let _ = plan.lines(i64::MIN, to).take(100).count();
    }
}
