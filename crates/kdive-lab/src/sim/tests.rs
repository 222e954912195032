//! Hand-derived kubelet timelines. The pod is first seen at T0; containers start at
//! T0 + 1 s (CREATE_MS); probe ticks fall at start + k·periodSeconds.

use chrono::{DateTime, Duration, TimeZone, Utc};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod, PodStatus};

use super::catalog::Catalog;
use super::kubelet::{Input, Output, PodSim, step};
use crate::controllers::EventRecord;

const IP: &str = "10.244.1.5";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn pod(spec: &str) -> Pod {
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: web-abc, namespace: demo, uid: u1}}\nspec:\n  nodeName: node-1\n{spec}"
    );
    serde_saphyr::from_str(&yaml).unwrap()
}

/// Marks the pod deleted at T0 + `at` s with `grace` s, as the API server does.
fn deleted(mut p: Pod, at: i64, grace: i64) -> Pod {
    let ts = (t0() + Duration::seconds(at + grace)).timestamp();
    p.metadata.deletion_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        k8s_openapi::jiff::Timestamp::from_second(ts).unwrap(),
    ));
    p.metadata.deletion_grace_period_seconds = Some(grace);
    p
}

/// Steps at every wakeup from T0 until T0 + `secs`; returns the last output and all events.
fn run(pod: &Pod, secs: i64) -> (Output, Vec<EventRecord>) {
    run_then(pod, None, secs)
}

/// As `run`, switching to `later.1` (e.g. the deleted pod) at T0 + `later.0` s.
fn run_then(first: &Pod, later: Option<(i64, &Pod)>, secs: i64) -> (Output, Vec<EventRecord>) {
    let catalog = Catalog::builtin();
    let end = t0() + Duration::seconds(secs);
    let mut state = PodSim::default();
    let mut now = t0();
    let mut events = Vec::new();
    loop {
        let pod = match later {
            Some((at, p)) if now >= t0() + Duration::seconds(at) => p,
            _ => first,
        };
        let input = Input {
            pod,
            catalog: &catalog,
            node_name: "node-1",
            host_ip: "172.18.0.2",
            pod_ip: IP,
            seed: 1,
            now,
        };
        let (next, out) = step(&state, &input);
        state = next;
        events.extend(out.events.iter().cloned());
        let switch = later
            .map(|(at, _)| t0() + Duration::seconds(at))
            .filter(|s| *s > now && *s <= end);
        match out
            .next_wakeup
            .into_iter()
            .chain(switch)
            .filter(|w| *w > now)
            .min()
        {
            Some(w) if w <= end => now = w,
            _ if now < end => now = end,
            _ => return (out, events),
        }
    }
}

fn secs(e: &EventRecord) -> i64 {
    (e.time - t0()).num_milliseconds() / 1000
}

/// (seconds after T0, reason, message) of every event.
fn timeline(events: &[EventRecord]) -> Vec<(i64, String, String)> {
    events
        .iter()
        .map(|e| (secs(e), e.reason.clone(), e.message.clone()))
        .collect()
}

fn cs(out: &Output) -> &ContainerStatus {
    &out.status.container_statuses.as_ref().unwrap()[0]
}

fn condition<'a>(s: &'a PodStatus, type_: &str) -> (&'a str, Option<&'a str>, Option<&'a str>) {
    let c = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
        .unwrap();
    (c.status.as_str(), c.reason.as_deref(), c.message.as_deref())
}

fn waiting(out: &Output) -> (String, Option<String>) {
    let w = cs(out)
        .state
        .as_ref()
        .unwrap()
        .waiting
        .clone()
        .expect("waiting");
    (w.reason.unwrap(), w.message)
}

fn last_terminated(out: &Output) -> (i32, String) {
    let t = cs(out)
        .last_state
        .as_ref()
        .unwrap()
        .terminated
        .clone()
        .expect("lastState");
    (t.exit_code, t.reason.unwrap())
}

#[test]
fn readiness_probe_on_a_wrong_port_keeps_the_pod_unready() {
    // demo-web listens on 8080; the probe asks 8081 every 10 s: ticks at 1, 11, 21 s.
    let p = pod("  containers:
  - name: web
    image: kdive/demo-web:1
    ports: [{containerPort: 8080, name: http}]
    readinessProbe: {httpGet: {path: /ready, port: 8081}}
");
    let (out, events) = run(&p, 30);
    let refused = "Readiness probe failed: Get \"http://10.244.1.5:8081/ready\": dial tcp 10.244.1.5:8081: connect: connection refused";
    let unhealthy: Vec<_> = timeline(&events)
        .into_iter()
        .filter(|(_, r, _)| r == "Unhealthy")
        .collect();
    assert_eq!(
        unhealthy,
        vec![
            (1, "Unhealthy".into(), refused.into()),
            (11, "Unhealthy".into(), refused.into()),
            (21, "Unhealthy".into(), refused.into()),
        ]
    );
    let e = events.iter().find(|e| e.reason == "Unhealthy").unwrap();
    assert_eq!((e.type_, e.component), ("Warning", "kubelet"));
    assert_eq!(
        e.involved.field_path.as_deref(),
        Some("spec.containers{web}")
    );
    assert_eq!(out.status.phase.as_deref(), Some("Running"));
    assert!(!cs(&out).ready && cs(&out).started == Some(true));
    assert_eq!(
        condition(&out.status, "Ready"),
        (
            "False",
            Some("ContainersNotReady"),
            Some("containers with unready status: [web]")
        )
    );
    assert_eq!(condition(&out.status, "PodScheduled").0, "True");
    // No liveness probe: never restarted.
    assert_eq!(cs(&out).restart_count, 0);
    assert_eq!(out.next_wakeup, Some(t0() + Duration::seconds(31)));
}

#[test]
fn the_right_port_becomes_ready_after_the_process_starts() {
    // Named port `http` → 8080. Tick at 1 s: the process (2 s start-up) refuses; tick at
    // 11 s: 200 → Ready (successThreshold 1).
    let p = pod("  containers:
  - name: web
    image: kdive/demo-web:1
    ports: [{containerPort: 8080, name: http}]
    readinessProbe: {httpGet: {path: /ready, port: http}}
");
    let (out, events) = run(&p, 10);
    assert!(!cs(&out).ready);
    assert_eq!(events.iter().filter(|e| e.reason == "Unhealthy").count(), 1);
    let (out, _) = run(&p, 11);
    assert!(cs(&out).ready);
    assert_eq!(condition(&out.status, "Ready"), ("True", None, None));
    let t = out.status.conditions.as_ref().unwrap()[2]
        .last_transition_time
        .clone()
        .unwrap();
    assert_eq!(t.0.as_second(), (t0() + Duration::seconds(11)).timestamp());
}

#[test]
fn slow_response_times_out_the_readiness_probe() {
    let p = pod("  containers:
  - name: web
    image: kdive/demo-web:1
    env: [{name: LATENCY_MS, value: \"1500\"}]
    readinessProbe: {httpGet: {path: /ready, port: 8080}, initialDelaySeconds: 5}
");
    // Tick at 1 s is before initialDelaySeconds (0 s elapsed < 5); the next at 11 s times out.
    let (_, events) = run(&p, 12);
    assert_eq!(
        timeline(&events).into_iter().filter(|(_, r, _)| r == "Unhealthy").collect::<Vec<_>>(),
        vec![(11, "Unhealthy".into(), "Readiness probe failed: Get \"http://10.244.1.5:8080/ready\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)".into())]
    );
}

const POSTGRES: &str = "  containers:
  - name: db
    image: postgres:16
    env: [{name: POSTGRES_PASSWORD, value: pw}, {name: STARTUP_SECONDS, value: \"25\"}]
    startupProbe: {tcpSocket: {port: 5432}, periodSeconds: 5, failureThreshold: FT}
    livenessProbe: {tcpSocket: {port: 5432}, periodSeconds: 10}
";

#[test]
fn slow_postgres_is_protected_by_its_startup_probe() {
    // Started at 1 s; 5432 opens 25 s later (26 s). Startup ticks at 1, 6, 11, 16, 21 fail
    // (5 < failureThreshold 10), 26 succeeds. Liveness is gated until then; first liveness
    // run at its tick 31 s succeeds.
    let p = pod(&POSTGRES.replace("FT", "10"));
    let (out, events) = run(&p, 25);
    assert_eq!(cs(&out).started, Some(false));
    assert!(!cs(&out).ready);
    let (out, _) = run(&p, 26);
    assert_eq!(cs(&out).started, Some(true));
    assert!(cs(&out).ready);
    let msg = "Startup probe failed: dial tcp 10.244.1.5:5432: connect: connection refused";
    let expected: Vec<(i64, String, String)> = [1, 6, 11, 16, 21]
        .iter()
        .map(|t| (*t, "Unhealthy".into(), msg.into()))
        .collect();
    let got: Vec<_> = timeline(&events)
        .into_iter()
        .filter(|(_, r, _)| r == "Unhealthy")
        .collect();
    assert_eq!(got, expected);
    let (out, events) = run(&p, 120);
    assert_eq!(cs(&out).restart_count, 0);
    assert_eq!(events.iter().filter(|e| e.reason == "Unhealthy").count(), 5);
}

#[test]
fn a_startup_probe_too_short_kills_postgres_before_it_is_up() {
    // failureThreshold 3: failures at 1, 6, 11 s → kill at 11 s; postgres exits 0 two
    // seconds after SIGTERM (13 s); first exit, no back-off yet → restarted at once.
    let p = pod(&POSTGRES.replace("FT", "3"));
    let (out, events) = run(&p, 14);
    let kill: Vec<_> = timeline(&events)
        .into_iter()
        .filter(|(_, r, _)| r == "Killing")
        .collect();
    assert_eq!(
        kill,
        vec![(
            11,
            "Killing".into(),
            "Container db failed startup probe, will be restarted".into()
        )]
    );
    let killing = events.iter().find(|e| e.reason == "Killing").unwrap();
    assert_eq!(killing.type_, "Normal");
    assert_eq!(cs(&out).restart_count, 1);
    assert_eq!(last_terminated(&out), (0, "Completed".into()));
    let started: Vec<i64> = events
        .iter()
        .filter(|e| e.reason == "Started")
        .map(secs)
        .collect();
    assert_eq!(started, vec![1, 13]);
    assert_eq!(
        events
            .iter()
            .find(|e| e.reason == "Started")
            .unwrap()
            .message,
        "Started container db"
    );
}

#[test]
fn memory_growth_is_oomkilled_then_crashloops_with_doubling_back_off() {
    // 20 MiB + 44 MiB/min hits the 64Mi limit 60 s after each start.
    // start 1 → OOM 61, restart at once (back-off 10s from 61)
    // start 61 → OOM 121, wait 10s → start 131 (back-off 20s)
    // OOM 191, wait 20s → 211; OOM 271, wait 40s → 311; OOM 371, wait 80s → 451;
    // OOM 511, wait 160s → 671 (back-off now min(320, 300) = 300s); OOM 731, wait 300s.
    let p = pod("  containers:
  - name: web
    image: kdive/demo-web:1
    env: [{name: MEMORY_GROWTH_MB_PER_MIN, value: \"44\"}]
    resources: {limits: {memory: 64Mi}}
");
    let (out, events) = run(&p, 900);
    let started: Vec<i64> = events
        .iter()
        .filter(|e| e.reason == "Started")
        .map(secs)
        .collect();
    assert_eq!(started, vec![1, 61, 131, 211, 311, 451, 671]);
    let backoffs: Vec<i64> = events
        .iter()
        .filter(|e| e.reason == "BackOff")
        .map(secs)
        .collect();
    assert_eq!(backoffs, vec![121, 191, 271, 371, 511, 731]);
    assert_eq!(
        events
            .iter()
            .find(|e| e.reason == "BackOff")
            .unwrap()
            .message,
        "Back-off restarting failed container web in pod web-abc_demo(u1)"
    );
    assert_eq!(cs(&out).restart_count, 6);
    assert_eq!(
        waiting(&out),
        (
            "CrashLoopBackOff".into(),
            Some("back-off 5m0s restarting failed container=web pod=web-abc_demo(u1)".into())
        )
    );
    assert_eq!(last_terminated(&out), (137, "OOMKilled".into()));
    assert_eq!(out.status.phase.as_deref(), Some("Running"));
    assert_eq!(out.next_wakeup, Some(t0() + Duration::seconds(1031)));
    // During the first wait: restartCount 1, "back-off 10s"; just after the OOM it is the
    // OOMKilled lastState with the waiting reason.
    let (out, _) = run(&p, 125);
    assert_eq!(cs(&out).restart_count, 1);
    assert_eq!(
        waiting(&out).1.as_deref(),
        Some("back-off 10s restarting failed container=web pod=web-abc_demo(u1)")
    );
    // At the second OOM (121 s) the exit itself shows until the relist at 122 s: state
    // OOMKilled, lastState the first OOM, restartCount still 1.
    let (out, _) = run(&p, 121);
    let state = cs(&out)
        .state
        .clone()
        .unwrap()
        .terminated
        .expect("terminated");
    assert_eq!(
        (state.exit_code, state.reason.as_deref()),
        (137, Some("OOMKilled"))
    );
    assert_eq!(last_terminated(&out), (137, "OOMKilled".into()));
    assert_eq!(cs(&out).restart_count, 1);
    assert_eq!(out.next_wakeup, Some(t0() + Duration::seconds(122)));
    let (out, _) = run(&p, 122);
    assert_eq!(waiting(&out).0, "CrashLoopBackOff");
    // OOM at 371, waiting 80 s until 451.
    let (out, _) = run(&p, 400);
    assert_eq!(
        waiting(&out).1.as_deref(),
        Some("back-off 1m20s restarting failed container=web pod=web-abc_demo(u1)")
    );
}

fn demo_web(env: &str) -> Pod {
    pod(&format!(
        "  terminationGracePeriodSeconds: 30
  containers:
  - name: web
    image: kdive/demo-web:1
    env: [{env}]
"
    ))
}

#[test]
fn graceful_termination_exits_after_the_shutdown_delay() {
    // Deleted at 20 s with 30 s grace: SIGTERM at 20, exit 0 one second later.
    let p = deleted(demo_web(""), 20, 30);
    let (out, events) = run_then(&demo_web(""), Some((20, &p)), 60);
    let tl: Vec<_> = timeline(&events)
        .into_iter()
        .filter(|(_, r, _)| r == "Killing")
        .collect();
    assert_eq!(
        tl,
        vec![(20, "Killing".into(), "Stopping container web".into())]
    );
    let t = cs(&out).state.as_ref().unwrap().terminated.clone().unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (0, Some("Completed")));
    assert_eq!(
        t.finished_at.unwrap().0.as_second(),
        (t0() + Duration::seconds(21)).timestamp()
    );
    assert_eq!(out.status.phase.as_deref(), Some("Succeeded"));
    assert!(out.delete);
    assert_eq!(cs(&out).restart_count, 0);
}

#[test]
fn ignoring_sigterm_is_killed_at_the_end_of_the_grace_period() {
    // SIGTERM at 20 s is ignored; SIGKILL at 20 + 30 = 50 s → 137, Error; pod Failed.
    let live = demo_web("{name: IGNORE_SIGTERM, value: \"true\"}");
    let p = deleted(live.clone(), 20, 30);
    let (out, _) = run_then(&live, Some((20, &p)), 49);
    assert!(cs(&out).state.as_ref().unwrap().running.is_some());
    assert!(!out.delete);
    let (out, _) = run_then(&live, Some((20, &p)), 60);
    let t = cs(&out).state.as_ref().unwrap().terminated.clone().unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (137, Some("Error")));
    assert_eq!(
        t.finished_at.unwrap().0.as_second(),
        (t0() + Duration::seconds(50)).timestamp()
    );
    assert_eq!(out.status.phase.as_deref(), Some("Failed"));
    assert!(out.delete);
    // A drain longer than the grace period ends the same way.
    let live = demo_web("{name: SHUTDOWN_DELAY_SECONDS, value: \"45\"}");
    let p = deleted(live.clone(), 20, 30);
    let (out, _) = run_then(&live, Some((20, &p)), 60);
    let t = cs(&out).state.as_ref().unwrap().terminated.clone().unwrap();
    assert_eq!(t.exit_code, 137);
}

fn busybox(policy: &str, command: &str) -> Pod {
    pod(&format!(
        "  restartPolicy: {policy}
  containers:
  - name: job
    image: busybox:1.36
    command: {command}
"
    ))
}

#[test]
fn busybox_sleep_completes() {
    // Started at 1 s, `sleep 5` exits 0 at 6 s; Never: the pod Succeeded.
    let (out, _) = run(&busybox("Never", "[sleep, \"5\"]"), 30);
    let t = cs(&out).state.as_ref().unwrap().terminated.clone().unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (0, Some("Completed")));
    assert_eq!(
        t.finished_at.unwrap().0.as_second(),
        (t0() + Duration::seconds(6)).timestamp()
    );
    assert_eq!(out.status.phase.as_deref(), Some("Succeeded"));
    assert_eq!(
        condition(&out.status, "Ready"),
        ("False", Some("PodCompleted"), None)
    );
    assert_eq!(out.next_wakeup, None);
    assert!(!out.delete);
    // OnFailure: exit 0 is not restarted either.
    let (out, _) = run(&busybox("OnFailure", "[sleep, \"5\"]"), 30);
    assert_eq!(out.status.phase.as_deref(), Some("Succeeded"));
    // Always: restarted at 6 s at once, exits at 11 s, waits 10 s → CrashLoopBackOff.
    let (out, events) = run(&busybox("Always", "[sleep, \"5\"]"), 15);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.reason == "Started")
            .map(secs)
            .collect::<Vec<_>>(),
        vec![1, 6]
    );
    assert_eq!(waiting(&out).0, "CrashLoopBackOff");
    assert_eq!(last_terminated(&out), (0, "Completed".into()));
    assert_eq!(out.status.phase.as_deref(), Some("Running"));
}

#[test]
fn exit_codes_and_restart_policies() {
    // `exit 3` right at start (1 s).
    let (out, _) = run(&busybox("Never", "[sh, -c, \"exit 3\"]"), 5);
    let t = cs(&out).state.as_ref().unwrap().terminated.clone().unwrap();
    assert_eq!((t.exit_code, t.reason.as_deref()), (3, Some("Error")));
    assert_eq!(out.status.phase.as_deref(), Some("Failed"));
    assert_eq!(
        condition(&out.status, "Ready").1,
        Some("ContainersNotReady")
    );
    // OnFailure restarts: 1 (exit), restart at once at 1, exit, back-off 10 s → 11, back-off
    // 20 s → 31. Phase stays Running while restarting.
    let (out, events) = run(&busybox("OnFailure", "[sh, -c, \"exit 3\"]"), 40);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.reason == "Started")
            .map(secs)
            .collect::<Vec<_>>(),
        vec![1, 1, 11, 31]
    );
    assert_eq!(out.status.phase.as_deref(), Some("Running"));
    assert_eq!(cs(&out).restart_count, 3);
    assert_eq!(
        waiting(&out),
        (
            "CrashLoopBackOff".into(),
            Some("back-off 40s restarting failed container=job pod=web-abc_demo(u1)".into())
        )
    );
}

#[test]
fn failing_liveness_restarts_the_container() {
    // FAIL_LIVENESS: /healthz answers 500. Ticks every 5 s from 1 s; the one at 1 s is
    // before initialDelaySeconds 3; failures at 6, 11, 16 → Killing at 16; demo-web exits 0
    // one second after SIGTERM (17) and is restarted at once (first exit).
    let p = pod("  containers:
  - name: web
    image: kdive/demo-web:1
    ports: [{containerPort: 8080, name: http}]
    env: [{name: FAIL_LIVENESS, value: \"true\"}]
    livenessProbe: {httpGet: {path: /healthz, port: http}, initialDelaySeconds: 3, periodSeconds: 5}
");
    let (out, events) = run(&p, 17);
    let msg = "Liveness probe failed: HTTP probe failed with statuscode: 500";
    let tl: Vec<_> = timeline(&events)
        .into_iter()
        .filter(|(_, r, _)| r == "Unhealthy" || r == "Killing")
        .collect();
    assert_eq!(
        tl,
        vec![
            (6, "Unhealthy".into(), msg.into()),
            (11, "Unhealthy".into(), msg.into()),
            (16, "Unhealthy".into(), msg.into()),
            (
                16,
                "Killing".into(),
                "Container web failed liveness probe, will be restarted".into()
            ),
        ]
    );
    assert_eq!(cs(&out).restart_count, 1);
    assert_eq!(last_terminated(&out), (0, "Completed".into()));
}

#[test]
fn the_docs_exec_liveness_example() {
    // touch /tmp/healthy; sleep 30; rm: `cat` fails from 30 s into the container (31 s).
    // Ticks every 5 s from 1 s after initialDelaySeconds 5: failures at 31, 36, 41 → kill at
    // 41; busybox ignores SIGTERM → SIGKILL after the 30 s grace at 71 → 137 Error.
    let p = pod("  containers:
  - name: liveness
    image: busybox
    args: [/bin/sh, -c, \"touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600\"]
    livenessProbe: {exec: {command: [cat, /tmp/healthy]}, initialDelaySeconds: 5, periodSeconds: 5}
");
    let (out, events) = run(&p, 72);
    let msg = "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory";
    let unhealthy: Vec<i64> = events
        .iter()
        .filter(|e| e.reason == "Unhealthy")
        .inspect(|e| assert_eq!(e.message, msg))
        .map(secs)
        .collect();
    assert_eq!(unhealthy, vec![31, 36, 41]);
    assert_eq!(cs(&out).restart_count, 1);
    assert_eq!(last_terminated(&out), (137, "Error".into()));
}

/// Every probe run from T0 to T0 + `secs`, stepping once at T0 and once at the end (step
/// simulates every due moment in between).
fn probe_runs(pod: &Pod, secs: i64) -> Vec<(i64, &'static str, String, &'static str)> {
    let catalog = Catalog::builtin();
    let mut state = PodSim::default();
    let mut runs = Vec::new();
    for now in [t0(), t0() + Duration::seconds(secs)] {
        let input = Input {
            pod,
            catalog: &catalog,
            node_name: "node-1",
            host_ip: "172.18.0.2",
            pod_ip: IP,
            seed: 1,
            now,
        };
        let (next, out) = step(&state, &input);
        state = next;
        runs.extend(out.probes.into_iter().map(|p| {
            (
                (p.time - t0()).num_seconds(),
                p.kind.title(),
                p.container,
                p.result.as_str(),
            )
        }));
    }
    runs
}

#[test]
fn every_probe_run_is_reported_with_its_result() {
    // Ticks at 1, 11, 21 s. Readiness on 8081 is refused every time; liveness on 8080
    // is refused at 1 s (2 s start-up) and served from 11 s on.
    let p = pod("  containers:
  - name: web
    image: kdive/demo-web:1
    readinessProbe: {httpGet: {path: /ready, port: 8081}}
    livenessProbe: {httpGet: {path: /healthz, port: 8080}, failureThreshold: 5}
");
    let runs = probe_runs(&p, 25);
    let of = |kind: &str| -> Vec<(i64, &str)> {
        runs.iter()
            .filter(|r| r.1 == kind && r.2 == "web")
            .map(|r| (r.0, r.3))
            .collect()
    };
    assert_eq!(
        of("Readiness"),
        vec![(1, "failed"), (11, "failed"), (21, "failed")]
    );
    assert_eq!(
        of("Liveness"),
        vec![(1, "failed"), (11, "successful"), (21, "successful")]
    );
    // A named port the container does not declare cannot be probed: unknown.
    let p = pod("  containers:
  - name: web
    image: kdive/demo-web:1
    readinessProbe: {tcpSocket: {port: nope}}
");
    let runs = probe_runs(&p, 5);
    assert_eq!(runs, vec![(1, "Readiness", "web".into(), "unknown")]);
}

#[test]
fn required_env_from_a_secret_or_env_from_counts_as_set() {
    use super::process::Process;
    use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource, SecretKeySelector};
    let catalog = crate::sim::catalog::Catalog::builtin();
    let image = catalog.lookup("postgres:16");
    let bare = Container {
        name: "postgres".into(),
        image: Some("postgres:16".into()),
        ..Default::default()
    };
    // postgres requires POSTGRES_PASSWORD: without it the process exits 1.
    assert!(Process::new(image, &bare, 1).natural_exit().is_some());
    let from_secret = Container {
        env: Some(vec![EnvVar {
            name: "POSTGRES_PASSWORD".into(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: "db".into(),
                    key: "password".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..bare.clone()
    };
    assert_eq!(Process::new(image, &from_secret, 1).natural_exit(), None);
}
