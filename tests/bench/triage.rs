//! Triage benchmark: one namespace of 5,000 pods (500 Deployments × 10 replicas, each with
//! its ReplicaSet, Service and EndpointSlice) where 5 % of the pods crash-loop and a few
//! Services have a mistyped selector, with an Event per broken pod. Times `triage` of the
//! namespace (the CLI's and the status bar's work), of one Service, and of everything;
//! the budget is 200 ms for the namespace. Pure core: `cargo bench -p kdive-core --bench
//! triage` (it builds nothing but the core); env BENCH_SERVICES (500), BENCH_REPLICAS (10),
//! BENCH_RUNS (15) scale it.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use kdive_core::model::{Objects, OtherKinds};
use kdive_core::triage::{ChangeLog, PreviousLogs, Target, TriageInput, triage};
use serde_json::{Value, json};

fn objects(services: u64, replicas: u64) -> Objects {
    let t = "2026-12-05T02:00:00Z";
    let mut docs: Vec<Value> =
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})];
    for i in 0..services {
        let (d, hash) = (format!("d{i}"), format!("h{i}"));
        docs.push(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": d, "namespace": "bench", "uid": format!("u-{d}"), "creationTimestamp": t},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": d}},
                "template": {"metadata": {"labels": {"app": d}}, "spec": {"containers": [{"name": "web", "image": "nginx",
                    "ports": [{"name": "http", "containerPort": 80}]}]}}},
            "status": {"replicas": replicas, "readyReplicas": replicas, "updatedReplicas": replicas}}));
        docs.push(json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": format!("{d}-{hash}"), "namespace": "bench", "uid": format!("u-{d}-{hash}"), "creationTimestamp": t,
                "annotations": {"deployment.kubernetes.io/revision": "1"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": d, "uid": format!("u-{d}"), "controller": true}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": d}},
                "template": {"metadata": {"labels": {"app": d}}, "spec": {"containers": [{"name": "web", "image": "nginx",
                    "ports": [{"name": "http", "containerPort": 80}]}]}}}}));
        // Every 50th Service has a typo.
        let selector = if i % 50 == 7 {
            format!("{d}x")
        } else {
            d.clone()
        };
        docs.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("s{i}"), "namespace": "bench", "creationTimestamp": t},
            "spec": {"selector": {"app": selector}, "clusterIP": "10.96.0.1", "ports": [{"port": 80, "targetPort": "http"}]}}));
        let mut endpoints = Vec::new();
        for r in 0..replicas {
            let name = format!("{d}-{hash}-{r}");
            let broken = (i * replicas + r) % 20 == 3;
            let status = if broken {
                json!({"name": "web", "image": "nginx", "imageID": "", "ready": false, "restartCount": 5,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                    "lastState": {"terminated": {"reason": "Error", "exitCode": 1, "finishedAt": "2026-12-05T02:55:00Z"}}})
            } else {
                json!({"name": "web", "image": "nginx", "imageID": "", "ready": true, "restartCount": 0, "started": true,
                    "state": {"running": {"startedAt": t}}})
            };
            docs.push(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "bench", "uid": format!("u-{name}"), "creationTimestamp": t,
                    "labels": {"app": d, "pod-template-hash": hash},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{d}-{hash}"), "uid": format!("u-{d}-{hash}"), "controller": true}]},
                "spec": {"nodeName": format!("node-{}", r % 50), "containers": [{"name": "web", "image": "nginx", "ports": [{"name": "http", "containerPort": 80}]}]},
                "status": {"phase": "Running", "podIP": "10.0.0.1",
                    "conditions": [{"type": "Ready", "status": if broken {"False"} else {"True"}}],
                    "containerStatuses": [status]}}));
            if broken {
                docs.push(json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{name}.1"), "namespace": "bench"},
                    "involvedObject": {"kind": "Pod", "name": name, "namespace": "bench"}, "reason": "BackOff",
                    "message": "Back-off restarting failed container web", "count": 9, "type": "Warning",
                    "firstTimestamp": "2026-12-05T02:40:00Z", "lastTimestamp": "2026-12-05T02:59:00Z"}));
            }
            endpoints.push(
                json!({"addresses": ["10.0.0.1"], "conditions": {"ready": !broken},
                "targetRef": {"kind": "Pod", "name": name, "namespace": "bench"}}),
            );
        }
        docs.push(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"name": format!("s{i}-x"), "namespace": "bench", "labels": {"kubernetes.io/service-name": format!("s{i}")}},
            "endpoints": endpoints, "ports": [{"port": 80}]}));
    }
    let mut o = Objects::default();
    for d in docs {
        o.add_value(d, OtherKinds::Keep).expect("bench object");
    }
    o
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The sample at fraction `p` of the sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn time(label: &str, runs: u64, budget: Option<Duration>, mut f: impl FnMut() -> usize) {
    let mut samples = Vec::new();
    let mut findings = 0;
    for _ in 0..runs {
        let start = Instant::now();
        findings = f();
        samples.push(start.elapsed());
    }
    samples.sort();
    let median = percentile(&samples, 0.5);
    let worst = percentile(&samples, 1.0);
    let ratio = budget
        .map(|b| {
            format!(
                ", {:.2}× of the {} ms budget",
                median.as_secs_f64() / b.as_secs_f64(),
                b.as_millis()
            )
        })
        .unwrap_or_default();
    println!(
        "{label}: median {median:.1?}, max {worst:.1?} over {runs} runs; {findings} findings{ratio}"
    );
}

fn main() {
    let services = env_num("BENCH_SERVICES", 500);
    let replicas = env_num("BENCH_REPLICAS", 10);
    let runs = env_num("BENCH_RUNS", 15);
    let objs = objects(services, replicas);
    println!(
        "triage over {} pods, {} Services, {} Events",
        objs.pods.len(),
        objs.services.len(),
        objs.events.len()
    );
    let now = Utc.with_ymd_and_hms(2026, 12, 5, 3, 0, 0).unwrap();
    let logs = PreviousLogs::new();
    let run = |target: &Target, history: Option<&ChangeLog>| {
        triage(&TriageInput {
            objects: &objs,
            target,
            now,
            window: chrono::Duration::minutes(30),
            gaps: Vec::new(),
            logs: &logs,
            slos: &[],
            history,
        })
        .findings
        .len()
    };
    let ns = Target::Namespace("bench".into());
    time(
        "namespace (kdive triage -n bench)",
        runs,
        Some(Duration::from_millis(200)),
        || run(&ns, None),
    );
    let svc = Target::parse(Some("svc/s7"), "bench", false).expect("target");
    time("one Service (kdive triage svc/s7)", runs, None, || {
        run(&svc, None)
    });
    time("everything (kdive triage -A)", runs, None, || {
        run(&Target::All, None)
    });
    let mut log = ChangeLog::new();
    let kinds = [
        kdive_core::model::kind::Kind::Deployment,
        kdive_core::model::kind::Kind::Service,
    ];
    time(
        "change log: one look at 500 Deployments and Services",
        runs,
        None,
        || {
            log.observe(&objs, &kinds, now);
            log.len()
        },
    );
}
