//! Triage rules over fixture objects: each cause, and the tie-breaks between them.
//! Wording of kubelet and controller messages follows the lab's tests (which cite the
//! Kubernetes sources); here only their shape matters.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use super::*;
use crate::model::{Objects, OtherKinds};

pub(super) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 3, 0, 0).unwrap()
}

pub(super) fn ago(mins: i64) -> String {
    rfc3339_string(now() - Duration::minutes(mins))
}

pub(super) fn objects(docs: Vec<Value>) -> Objects {
    let mut o = Objects::default();
    for d in docs {
        o.add_value(d, OtherKinds::Keep).expect("fixture object");
    }
    o
}

pub(super) fn run(o: &Objects, target: Target) -> Report {
    let logs = PreviousLogs::new();
    triage(&TriageInput {
        objects: o,
        target: &target,
        now: now(),
        window: Duration::minutes(30),
        gaps: Vec::new(),
        logs: &logs,
        slos: &[],
        history: None,
    })
}

pub(super) fn ns() -> Target {
    Target::Namespace("shop".into())
}

pub(super) fn deployment(name: &str, replicas: i32, ready: i32, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "creationTimestamp": ago(60)},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": [
                {"name": name, "image": image, "ports": [{"name": "http", "containerPort": 8080}],
                 "resources": {"limits": {"memory": "64Mi"}},
                 "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}}}]}}},
        "status": {"replicas": replicas, "readyReplicas": ready, "updatedReplicas": replicas, "availableReplicas": ready}})
}

pub(super) fn replica_set(
    deploy: &str,
    hash: &str,
    revision: i64,
    replicas: i32,
    image: &str,
    created: i64,
) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": format!("{deploy}-{hash}"), "namespace": "shop", "uid": format!("uid-{deploy}-{hash}"),
            "creationTimestamp": ago(created),
            "annotations": {"deployment.kubernetes.io/revision": revision.to_string()},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy, "uid": format!("uid-{deploy}"), "controller": true}]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": deploy, "pod-template-hash": hash}},
            "template": {"metadata": {"labels": {"app": deploy, "pod-template-hash": hash}}, "spec": {"containers": [
                {"name": deploy, "image": image, "ports": [{"name": "http", "containerPort": 8080}],
                 "resources": {"limits": {"memory": "64Mi"}}}]}}},
        "status": {"replicas": replicas, "readyReplicas": replicas}})
}

/// A pod of `deploy`'s ReplicaSet `hash`; `state` is the container status's extra fields.
pub(super) fn pod(deploy: &str, hash: &str, i: usize, ready: bool, container: Value) -> Value {
    let name = format!("{deploy}-{hash}-{i}");
    let mut status = json!({"name": deploy, "image": "shop/web:1", "imageID": "", "ready": ready,
        "restartCount": 0, "started": true, "state": {"running": {"startedAt": ago(50)}}});
    if let (Some(s), Some(extra)) = (status.as_object_mut(), container.as_object()) {
        for (k, v) in extra {
            s.insert(k.clone(), v.clone());
        }
    }
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop", "uid": format!("uid-{name}"), "creationTimestamp": ago(50),
            "labels": {"app": deploy, "pod-template-hash": hash},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": format!("{deploy}-{hash}"), "uid": format!("uid-{deploy}-{hash}"), "controller": true}]},
        "spec": {"nodeName": "node-1", "containers": [{"name": deploy, "image": "shop/web:1",
            "ports": [{"name": "http", "containerPort": 8080}],
            "resources": {"limits": {"memory": "64Mi"}},
            "readinessProbe": {"httpGet": {"path": "/ready", "port": "http"}}}]},
        "status": {"phase": "Running", "podIP": format!("10.0.0.{}", i + 10),
            "conditions": [{"type": "PodScheduled", "status": "True"},
                {"type": "Ready", "status": if ready {"True"} else {"False"}, "lastTransitionTime": ago(20)}],
            "containerStatuses": [status]}})
}

pub(super) fn service(name: &str, selector: Value, target_port: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": "shop", "creationTimestamp": ago(120)},
        "spec": {"selector": selector, "clusterIP": "10.96.0.10", "ports": [{"name": "http", "port": 80, "targetPort": target_port}]}})
}

pub(super) fn event(
    kind: &str,
    name: &str,
    reason: &str,
    message: &str,
    count: i32,
    first: i64,
) -> Value {
    json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": format!("{name}.{reason}"), "namespace": "shop"},
        "involvedObject": {"kind": kind, "name": name, "namespace": "shop"},
        "reason": reason, "message": message, "type": "Warning", "count": count,
        "firstTimestamp": ago(first), "lastTimestamp": ago(1)})
}

pub(super) fn healthy_web() -> Vec<Value> {
    vec![
        deployment("web", 2, 2, "shop/web:1"),
        replica_set("web", "aaa", 1, 2, "shop/web:1", 60),
        pod("web", "aaa", 0, true, json!({})),
        pod("web", "aaa", 1, true, json!({})),
        service("web", json!({"app": "web"}), json!("http")),
    ]
}

pub(super) fn causes(r: &Report) -> Vec<(&'static str, String)> {
    r.findings
        .iter()
        .map(|f| {
            (
                f.cause.code(),
                format!("{}/{}", f.object.kind, f.object.name),
            )
        })
        .collect()
}

fn crash_looping(reason: &str, exit: i32) -> Value {
    json!({"ready": false, "restartCount": 4,
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container=web pod=web"}},
        "lastState": {"terminated": {"reason": reason, "exitCode": exit, "startedAt": ago(3), "finishedAt": ago(2)}}})
}

#[test]
fn a_healthy_app_has_no_findings() {
    let r = run(&objects(healthy_web()), ns());
    assert!(r.findings.is_empty(), "{:?}", causes(&r));
    assert_eq!(r.verdict, Verdict::Healthy);
    assert_eq!(r.confidence, Confidence::High);
}

#[test]
fn a_selector_typo_names_the_labels_it_missed() {
    let mut docs = healthy_web();
    docs[4] = service("web", json!({"app": "wbe"}), json!("http"));
    let r = run(
        &objects(docs),
        Target::parse(Some("svc/web"), "shop", false).unwrap(),
    );
    assert_eq!(
        causes(&r),
        [
            ("selector-matches-nothing", "Service/web".into()),
            ("endpoints-not-ready", "Service/web".into())
        ]
    );
    let f = &r.findings[0];
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.explains, [2]);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.text.contains("app=web, not wbe")),
        "{:?}",
        f.evidence
    );
    assert!(
        f.next.iter().any(|n| n.contains(
            r#"kubectl patch service web -n shop -p '{"spec":{"selector":{"app":"web"}}}'"#
        )),
        "{:?}",
        f.next
    );
    assert_eq!(r.verdict, Verdict::Down);
}

#[test]
fn a_selector_typo_ranks_above_a_workload_scaled_to_zero() {
    let docs = vec![
        deployment("web", 0, 0, "shop/web:1"),
        service("web", json!({"app": "wbe"}), json!("http")),
    ];
    let r = run(&objects(docs), ns());
    assert_eq!(r.findings[0].cause, Cause::SelectorMatchesNothing);
    assert!(!causes(&r).iter().any(|(c, _)| *c == "scaled-to-zero"));
}

#[test]
fn a_workload_the_service_selects_scaled_to_zero() {
    let docs = vec![
        deployment("web", 0, 0, "shop/web:1"),
        service("web", json!({"app": "web"}), json!("http")),
        event(
            "Deployment",
            "web",
            "ScalingReplicaSet",
            "Scaled down replica set web-aaa from 3 to 0",
            1,
            10,
        ),
    ];
    let r = run(&objects(docs), ns());
    assert_eq!(causes(&r)[0], ("scaled-to-zero", "Deployment/web".into()));
    let f = &r.findings[0];
    assert_eq!(
        f.severity,
        Severity::Critical,
        "it leaves Service web with nothing"
    );
    assert_eq!(
        f.next,
        ["kubectl scale deployment/web --replicas=3 -n shop"]
    );
    assert_eq!(f.explains, [2]);
    assert_eq!(r.verdict, Verdict::Down);
}

#[test]
fn oom_kills_rank_above_the_endpoints_they_empty() {
    let mut docs = healthy_web();
    docs[2] = pod("web", "aaa", 0, false, crash_looping("OOMKilled", 137));
    docs[3] = pod("web", "aaa", 1, false, crash_looping("OOMKilled", 137));
    docs.push(event(
        "Pod",
        "web-aaa-0",
        "BackOff",
        "Back-off restarting failed container web in pod web-aaa-0_shop(uid)",
        12,
        8,
    ));
    let r = run(
        &objects(docs),
        Target::parse(Some("svc/web"), "shop", false).unwrap(),
    );
    let got = causes(&r);
    assert_eq!(got[0].0, "oom-killed");
    assert_eq!(got[1], ("endpoints-not-ready", "Service/web".into()));
    assert!(
        !got.iter().any(|(c, _)| *c == "crash-loop"),
        "OOM is the more specific cause: {got:?}"
    );
    let f = &r.findings[0];
    assert_eq!(f.object.kind, "Pod");
    assert_eq!(
        f.owner,
        Some(ObjectRef::namespaced("Deployment", "shop", "web"))
    );
    assert_eq!(f.affected, Some(Affected { count: 2, of: 2 }));
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.source == EvidenceSource::Termination
                && e.text.contains("OOMKilled (exit code 137)"))
    );
    assert!(
        f.evidence
            .iter()
            .any(|e| e.text == "memory limit of web: 64Mi")
    );
    assert!(
        f.evidence
            .iter()
            .any(|e| e.source == EvidenceSource::Event && e.count == 12)
    );
    assert!(
        f.next
            .iter()
            .any(|n| n.starts_with("kubectl set resources deployment/web -c web --limits=memory="))
    );
    assert_eq!(f.explains, [2]);
    assert_eq!(r.verdict, Verdict::Down);
    assert_eq!(r.findings[1].explains, Vec::<usize>::new());
}

#[test]
fn a_crash_loop_shows_the_exit_code_and_the_previous_run_log() {
    let mut docs = healthy_web();
    docs[2] = pod("web", "aaa", 0, false, crash_looping("Error", 3));
    let o = objects(docs);
    let mut logs = PreviousLogs::new();
    logs.insert(
        ("shop".into(), "web-aaa-0".into(), "web".into()),
        vec!["starting".into(), "panic: no DATABASE_URL".into()],
    );
    let target = ns();
    let r = triage(&TriageInput {
        objects: &o,
        target: &target,
        now: now(),
        window: Duration::minutes(30),
        gaps: vec!["events forbidden".into()],
        logs: &logs,
        slos: &[],
        history: None,
    });
    let f = &r.findings[0];
    assert_eq!(f.cause, Cause::CrashLoop);
    assert_eq!(f.container.as_deref(), Some("web"));
    assert!(f.summary.contains("exiting with code 3"), "{}", f.summary);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.source == EvidenceSource::Log && e.text == "panic: no DATABASE_URL")
    );
    assert_eq!(
        f.severity,
        Severity::Warning,
        "one of two pods still serves"
    );
    assert_eq!(r.verdict, Verdict::Degraded);
    assert_eq!(r.confidence, Confidence::Reduced);
    assert_eq!(r.gaps, ["events forbidden"]);
}

#[test]
fn liveness_kills_are_their_own_cause() {
    let mut docs = healthy_web();
    docs[2] = pod("web", "aaa", 0, false, crash_looping("Error", 137));
    docs.push(event(
        "Pod",
        "web-aaa-0",
        "Killing",
        "Container web failed liveness probe, will be restarted",
        4,
        15,
    ));
    docs.push(event(
        "Pod",
        "web-aaa-0",
        "Unhealthy",
        "Liveness probe failed: HTTP probe failed with statuscode: 500",
        12,
        15,
    ));
    let r = run(&objects(docs), ns());
    let f = &r.findings[0];
    assert_eq!(f.cause, Cause::LivenessRestarts);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.text.contains("Liveness probe failed") && e.count == 12)
    );
}

#[test]
fn a_rollout_whose_new_pods_fail_readiness_while_the_old_still_serve() {
    let mut docs = healthy_web();
    docs[0] = deployment("web", 2, 2, "shop/web:2");
    if let Some(s) = docs[0]["status"].as_object_mut() {
        s.insert("updatedReplicas".into(), json!(1));
    }
    docs.push(replica_set("web", "bbb", 2, 1, "shop/web:2", 6));
    docs[5]["status"]["readyReplicas"] = json!(0);
    docs.push(pod("web", "bbb", 0, false, json!({"image": "shop/web:2"})));
    docs.push(event(
        "Pod",
        "web-bbb-0",
        "Unhealthy",
        "Readiness probe failed: HTTP probe failed with statuscode: 503",
        30,
        5,
    ));
    let r = run(
        &objects(docs),
        Target::parse(Some("deploy/web"), "shop", false).unwrap(),
    );
    let got = causes(&r);
    assert_eq!(
        got[0],
        ("readiness-failing", "Pod/web-bbb-0".into()),
        "{got:?}"
    );
    assert!(
        got.contains(&("rollout-stuck", "Deployment/web".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("endpoints-not-ready", "Service/web".into())),
        "{got:?}"
    );
    let first = &r.findings[0];
    assert_eq!(first.severity, Severity::Warning);
    assert_eq!(
        first.explains.len(),
        2,
        "the stuck rollout and the missing endpoint"
    );
    assert!(
        first
            .evidence
            .iter()
            .any(|e| e.source == EvidenceSource::Probe && e.count == 30)
    );
    let rollout = r
        .findings
        .iter()
        .find(|f| f.cause == Cause::RolloutStuck)
        .unwrap();
    assert!(
        rollout
            .summary
            .contains("image web: shop/web:1 → shop/web:2"),
        "{}",
        rollout.summary
    );
    assert_eq!(r.critical(), 0);
    assert_eq!(r.verdict, Verdict::Degraded);
    assert!(
        r.changes.iter().any(|c| c
            .what
            .starts_with("revision 2 (ReplicaSet web-bbb): image web: shop/web:1 → shop/web:2")),
        "{:?}",
        r.changes
    );
}

#[test]
fn a_named_target_port_no_container_declares() {
    let mut docs = healthy_web();
    docs[4] = service("web", json!({"app": "web"}), json!("web-http"));
    let r = run(&objects(docs), ns());
    let f = &r.findings[0];
    assert_eq!(f.cause, Cause::TargetPortMismatch);
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        f.evidence
            .iter()
            .any(|e| e.text.contains("declares web:8080/TCP (http)")),
        "{:?}",
        f.evidence
    );
    assert!(
        f.next
            .iter()
            .any(|n| n.contains(r#""path":"/spec/ports/0/targetPort","value":"http""#)),
        "{:?}",
        f.next
    );
}

#[test]
fn a_numeric_target_port_beside_the_declared_one() {
    let mut docs = healthy_web();
    docs[4] = service("web", json!({"app": "web"}), json!(8081));
    let r = run(&objects(docs), ns());
    assert_eq!(
        causes(&r)[0],
        ("target-port-mismatch", "Service/web".into())
    );
    assert!(
        r.findings[0]
            .next
            .iter()
            .any(|n| n.contains(r#""value":8080"#))
    );
}

#[test]
fn an_unschedulable_pod_waiting_for_a_pending_claim_names_the_claim() {
    let pending = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "db-0", "namespace": "shop", "creationTimestamp": ago(10), "labels": {"app": "db"}},
        "spec": {"containers": [{"name": "db", "image": "postgres"}],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.", "lastTransitionTime": ago(10)}]}});
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-db-0", "namespace": "shop", "creationTimestamp": ago(10)},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, "storageClassName": "fast"},
        "status": {"phase": "Pending"}});
    let docs = vec![
        pending,
        claim,
        event(
            "PersistentVolumeClaim",
            "data-db-0",
            "ProvisioningFailed",
            "storageclass.storage.k8s.io \"fast\" not found",
            7,
            10,
        ),
    ];
    let r = run(
        &objects(docs),
        Target::parse(Some("pod/db-0"), "shop", false).unwrap(),
    );
    assert_eq!(
        causes(&r),
        [
            ("pvc-pending", "PersistentVolumeClaim/data-db-0".into()),
            ("unschedulable", "Pod/db-0".into())
        ]
    );
    assert_eq!(r.findings[0].explains, [2]);
    assert!(
        r.findings[0]
            .evidence
            .iter()
            .any(|e| e.text.contains("\"fast\" not found") && e.count == 7)
    );
    assert!(
        r.findings[1]
            .evidence
            .iter()
            .any(|e| e.source == EvidenceSource::Scheduler)
    );
    assert_eq!(r.verdict, Verdict::Down);
}

#[test]
fn a_missing_config_map_names_it() {
    let mut docs = healthy_web();
    docs[2] = pod(
        "web",
        "aaa",
        0,
        false,
        json!({"started": false,
        "state": {"waiting": {"reason": "CreateContainerConfigError", "message": "configmap \"web-config\" not found"}}}),
    );
    docs.push(event(
        "Pod",
        "web-aaa-0",
        "Failed",
        "Error: configmap \"web-config\" not found",
        9,
        4,
    ));
    let r = run(&objects(docs), ns());
    let f = &r.findings[0];
    assert_eq!(f.cause, Cause::ConfigMissing);
    assert!(f.summary.contains("configmap web-config"), "{}", f.summary);
    assert!(
        f.next
            .contains(&"kubectl get configmap web-config -n shop".to_string())
    );
}

#[test]
fn a_node_not_ready_ranks_above_the_endpoints_it_takes_away() {
    let mut docs = healthy_web();
    docs[2] = pod("web", "aaa", 0, false, json!({"ready": true}));
    docs.push(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
        "spec": {"taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]},
        "status": {"conditions": [{"type": "Ready", "status": "Unknown", "reason": "NodeStatusUnknown",
            "message": "Kubelet stopped posting node status.", "lastTransitionTime": ago(4)}]}}));
    docs.push(json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
        "metadata": {"name": "web-x1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
        "endpoints": [
            {"addresses": ["10.0.0.10"], "conditions": {"ready": false}, "targetRef": {"kind": "Pod", "name": "web-aaa-0", "namespace": "shop"}},
            {"addresses": ["10.0.0.11"], "conditions": {"ready": true}, "targetRef": {"kind": "Pod", "name": "web-aaa-1", "namespace": "shop"}}],
        "ports": [{"name": "http", "port": 8080}]}));
    let r = run(&objects(docs), ns());
    assert_eq!(causes(&r)[0], ("node-not-ready", "Node/node-1".into()));
    assert_eq!(r.findings[0].explains, [2]);
    assert!(
        r.changes.iter().any(
            |c| c.object.kind == "Node" && c.what == "Ready became Unknown (NodeStatusUnknown)"
        )
    );
}

#[test]
fn image_pull_and_quota() {
    let mut docs = healthy_web();
    docs[2] = pod(
        "web",
        "aaa",
        0,
        false,
        json!({"started": false,
        "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"shop/web:nope\""}}}),
    );
    let r = run(&objects(docs.clone()), ns());
    assert_eq!(r.findings[0].cause, Cause::ImagePull);

    docs[2] = pod("web", "aaa", 0, true, json!({}));
    docs.push(event("ReplicaSet", "web-aaa", "FailedCreate",
        "Error creating: pods \"web-aaa-x\" is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2", 5, 5));
    let r = run(&objects(docs), ns());
    assert_eq!(causes(&r)[0], ("quota-exceeded", "Deployment/web".into()));
}

#[test]
fn dns_without_ready_endpoints_is_cluster_wide() {
    let mut docs = healthy_web();
    docs.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "namespace": "kube-system"},
        "spec": {"selector": {"k8s-app": "kube-dns"}, "clusterIP": "10.96.0.10", "ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}}));
    let mut coredns = deployment("coredns", 0, 0, "coredns:1.11");
    coredns["metadata"]["namespace"] = json!("kube-system");
    coredns["spec"]["template"]["metadata"]["labels"] = json!({"k8s-app": "kube-dns"});
    docs.push(coredns);
    let o = objects(docs);
    assert!(
        run(&o, ns()).findings.is_empty(),
        "not in a namespace's triage"
    );
    let r = run(&o, Target::All);
    assert_eq!(
        causes(&r),
        [
            ("dns-unavailable", "Service/kube-dns".into()),
            ("scaled-to-zero", "Deployment/coredns".into()),
            ("endpoints-not-ready", "Service/kube-dns".into())
        ]
    );
    assert_eq!(r.findings[0].severity, Severity::Critical);
    assert_eq!(r.findings[0].explains, [2, 3]);
    assert!(
        r.findings[0]
            .evidence
            .iter()
            .any(|e| e.text == "Deployment kube-system/coredns: spec.replicas 0")
    );
}

#[test]
fn targets_parse_as_kubectl_names_them_and_unknown_ones_say_what_exists() {
    for (arg, kind) in [
        ("svc/web", "Service"),
        ("services/web", "Service"),
        ("deploy/web", "Deployment"),
        ("deployment.apps/web", "Deployment"),
        ("sts/db", "StatefulSet"),
        ("po/x", "Pod"),
    ] {
        let t = Target::parse(Some(arg), "shop", false).unwrap();
        assert_eq!(t.object_ref().unwrap().kind, kind, "{arg}");
    }
    assert_eq!(
        Target::parse(Some("ns/other"), "shop", false).unwrap(),
        Target::Namespace("other".into())
    );
    assert_eq!(Target::parse(None, "shop", true).unwrap(), Target::All);
    let err = Target::parse(Some("cm/x"), "shop", false).unwrap_err().0;
    assert!(err.contains("unknown kind \"cm\""), "{err}");
    assert!(
        Target::parse(Some("web"), "shop", false)
            .unwrap_err()
            .0
            .contains("expected KIND/NAME")
    );
    assert!(
        Target::parse(Some("svc/web"), "shop", true)
            .unwrap_err()
            .0
            .contains("across all namespaces")
    );
    let o = objects(healthy_web());
    let err = Target::parse(Some("svc/wbe"), "shop", false)
        .unwrap()
        .check_exists(&o)
        .unwrap_err()
        .0;
    assert_eq!(
        err,
        "svc/wbe not found in namespace shop (Services in shop: web)"
    );
    let err = Target::parse(Some("deploy/x"), "nope", false)
        .unwrap()
        .check_exists(&o)
        .unwrap_err()
        .0;
    assert_eq!(
        err,
        "deploy/x not found in namespace nope (no Deployments in namespace nope)"
    );
}

#[test]
fn the_json_shape_is_the_documented_one() {
    let mut docs = healthy_web();
    docs[4] = service("web", json!({"app": "wbe"}), json!("http"));
    let r = run(
        &objects(docs),
        Target::parse(Some("svc/web"), "shop", false).unwrap(),
    );
    let v = serde_json::to_value(&r).unwrap();
    assert_eq!(
        v["target"],
        json!({"kind": "Service", "namespace": "shop", "name": "web"})
    );
    assert_eq!(v["verdict"], "down");
    assert_eq!(v["confidence"], "high");
    let f = &v["findings"][0];
    for k in [
        "rank", "severity", "cause", "object", "summary", "evidence", "since", "next", "explains",
    ] {
        assert!(f.get(k).is_some(), "finding lacks {k}: {f}");
    }
    assert_eq!(f["since"], "2026-12-05T01:00:00Z");
    assert_eq!(
        f["evidence"][0],
        json!({"source": "selector", "text": "Service selector app=wbe", "count": 1})
    );
    assert!(f.get("subjects").is_none() && f.get("needs").is_none());
}

#[test]
fn every_cause_has_a_distinct_code() {
    let codes: std::collections::BTreeSet<&str> = Cause::ALL.iter().map(|c| c.code()).collect();
    assert_eq!(codes.len(), Cause::ALL.len());
}

#[test]
fn a_network_policy_that_admits_nothing_to_a_services_pods() {
    let policy = |name: &str, spec: Value| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "shop"}, "spec": spec})
    };
    let mut docs = healthy_web();
    docs.push(policy(
        "default-deny",
        json!({"podSelector": {}, "policyTypes": ["Ingress"]}),
    ));
    let r = run(&objects(docs.clone()), ns());
    assert_eq!(
        causes(&r),
        [("network-policy-denies", "NetworkPolicy/default-deny".into())]
    );
    assert_eq!(r.findings[0].severity, Severity::Critical);
    assert!(
        r.findings[0].summary.contains("no ingress rule"),
        "{}",
        r.findings[0].summary
    );
    // An ingress rule for another port still admits nothing the Service sends.
    docs.push(policy(
        "metrics-only",
        json!({"podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [{"ports": [{"port": 9090}]}]}),
    ));
    docs.last_mut().unwrap()["spec"]["ingress"][0]["ports"][0]["port"] = json!("metrics");
    let r = run(&objects(docs.clone()), ns());
    assert!(
        r.findings[0].summary.contains("admit only other ports"),
        "{:?}",
        causes(&r)
    );
    // A rule for the Service's targetPort (by name) admits it: no finding.
    docs.push(policy(
        "allow-web",
        json!({"podSelector": {"matchLabels": {"app": "web"}},
        "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": "http"}]}]}),
    ));
    assert!(run(&objects(docs.clone()), ns()).findings.is_empty());
    // A policy for other pods, or for egress only, isolates nothing here.
    let mut other = healthy_web();
    other.push(policy(
        "db",
        json!({"podSelector": {"matchLabels": {"app": "db"}}}),
    ));
    other.push(policy(
        "egress",
        json!({"podSelector": {}, "policyTypes": ["Egress"]}),
    ));
    assert!(run(&objects(other), ns()).findings.is_empty());
}

#[test]
fn evidence_sources_print_as_their_json_names() {
    use EvidenceSource::*;
    for s in [
        Event,
        Probe,
        Termination,
        Scheduler,
        Selector,
        Port,
        Log,
        Metric,
    ] {
        assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
    }
}
