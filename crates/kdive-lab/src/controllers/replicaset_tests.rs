use chrono::TimeZone;
use k8s_openapi::api::apps::v1::ReplicaSetSpec;
use k8s_openapi::api::core::v1::{
    ContainerStatus, PodCondition, PodSpec, PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as LabelSelectorSpec;

use super::*;

pub(crate) fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(crate) fn rs(name: &str, replicas: i32, min_ready: i32) -> ReplicaSet {
    let l = labels(&[("app", "web"), ("pod-template-hash", "abc")]);
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("demo".into()),
            uid: Some(format!("uid-{name}")),
            generation: Some(1),
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(replicas),
            min_ready_seconds: Some(min_ready),
            selector: LabelSelectorSpec {
                match_labels: Some(l.clone()),
                ..Default::default()
            },
            template: Some(PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(l),
                    ..Default::default()
                }),
                spec: Some(PodSpec::default()),
            }),
        }),
        status: None,
    }
}

/// A pod of `owner` (or an orphan with None), `ready_at` = Ready since then.
pub(crate) fn pod(
    name: &str,
    owner: Option<&ReplicaSet>,
    node: &str,
    phase: &str,
    ready_at: Option<DateTime<Utc>>,
    created: i64,
) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("demo".into()),
            uid: Some(format!("uid-{name}")),
            labels: Some(labels(&[("app", "web"), ("pod-template-hash", "abc")])),
            owner_references: owner.map(|o| vec![controller_ref(o)]),
            creation_timestamp: Some(to_time(t(created))),
            ..Default::default()
        },
        spec: Some(PodSpec {
            node_name: (!node.is_empty()).then(|| node.to_string()),
            ..Default::default()
        }),
        status: Some(PodStatus {
            phase: Some(phase.into()),
            conditions: Some(vec![PodCondition {
                type_: "Ready".into(),
                status: if ready_at.is_some() { "True" } else { "False" }.into(),
                last_transition_time: ready_at.map(to_time),
                ..Default::default()
            }]),
            ..Default::default()
        }),
    }
}

fn run(rs: &ReplicaSet, pods: &[Pod], now: i64) -> ReplicaSetOutput {
    let pods: Vec<&Pod> = pods.iter().collect();
    reconcile(&ReplicaSetInput {
        replica_set: rs,
        pods: &pods,
        now: t(now),
    })
}

fn deleted_names(out: &ReplicaSetOutput) -> Vec<String> {
    out.pod_changes
        .iter()
        .filter_map(|c| match c {
            Change::Delete { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn scales_up_from_template_with_owner_and_generate_name() {
    let r = rs("web-abc", 3, 0);
    let existing = [pod("web-abc-1", Some(&r), "n1", "Running", Some(t(0)), 0)];
    let out = run(&r, &existing, 10);
    // 3 desired - 1 active = 2 to create.
    assert_eq!(out.pods_to_create.len(), 2);
    let p = &out.pods_to_create[0];
    assert_eq!(p.metadata.generate_name.as_deref(), Some("web-abc-"));
    assert_eq!(p.metadata.namespace.as_deref(), Some("demo"));
    assert_eq!(
        p.metadata
            .labels
            .as_ref()
            .unwrap()
            .get("pod-template-hash")
            .map(String::as_str),
        Some("abc")
    );
    let owner = &p.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("ReplicaSet", "uid-web-abc")
    );
    assert_eq!(
        (owner.controller, owner.block_owner_deletion),
        (Some(true), Some(true))
    );
    // The event is formed once the store has named the pod.
    let mut named = p.clone();
    named.metadata.name = Some("web-abc-x7k2p".into());
    let ev = created_pod_event(&r, &named, t(10));
    assert_eq!(
        (ev.reason.as_str(), ev.message.as_str()),
        ("SuccessfulCreate", "Created pod: web-abc-x7k2p")
    );
    assert_eq!(ev.component, "replicaset-controller");
    // Status counts what exists now: 1 replica, ready and available (minReadySeconds 0).
    let Some(Change::UpdateStatus(s)) = &out.status else {
        panic!("no status")
    };
    let s = s.status.as_ref().unwrap();
    assert_eq!(
        (s.replicas, s.ready_replicas, s.available_replicas),
        (1, Some(1), Some(1))
    );
    assert_eq!(s.observed_generation, Some(1));
}

#[test]
fn scale_down_follows_active_pods_ranking() {
    let r = rs("web-abc", 2, 0);
    let pods = [
        pod(
            "running-ready-old",
            Some(&r),
            "n1",
            "Running",
            Some(t(5)),
            0,
        ),
        pod(
            "running-ready-new",
            Some(&r),
            "n2",
            "Running",
            Some(t(50)),
            40,
        ),
        pod("pending", Some(&r), "n3", "Pending", None, 1),
        pod("unscheduled", Some(&r), "", "Pending", None, 2),
        pod("running-notready", Some(&r), "n4", "Running", None, 3),
    ];
    // 5 active - 2 desired = 3 deletions: unscheduled first (no node), then pending
    // (phase rank 0 < Running 2), then the running but not ready one.
    let out = run(&r, &pods, 100);
    assert_eq!(
        deleted_names(&out),
        ["unscheduled", "pending", "running-notready"]
    );
    assert_eq!(out.events.len(), 3);
    assert_eq!(out.events[0].message, "Deleted pod: unscheduled");
    assert_eq!(out.events[0].reason, "SuccessfulDelete");

    // Among ready running pods on distinct nodes: more recently ready first.
    let r1 = rs("web-abc", 1, 0);
    assert_eq!(
        deleted_names(&run(&r1, &pods[..2], 100)),
        ["running-ready-new"]
    );
}

#[test]
fn ranking_prefers_doubled_up_nodes_then_restarts_then_newer() {
    let r = rs("web-abc", 2, 0);
    let mut a = pod("a", Some(&r), "n1", "Running", Some(t(5)), 0);
    let b = pod("b", Some(&r), "n1", "Running", Some(t(5)), 0);
    let c = pod("c", Some(&r), "n2", "Running", Some(t(5)), 0);
    // Same readiness and age: a and b share n1 (rank 2 > 1), so one of them goes; a has
    // restarts, so a.
    a.status.as_mut().unwrap().container_statuses = Some(vec![ContainerStatus {
        restart_count: 3,
        ..Default::default()
    }]);
    assert_eq!(
        deleted_names(&run(&r, &[a.clone(), b.clone(), c.clone()], 100)),
        ["a"]
    );
    // Without restarts the newer of the two goes.
    let mut a2 = a.clone();
    a2.status.as_mut().unwrap().container_statuses = None;
    a2.metadata.creation_timestamp = Some(to_time(t(3)));
    assert_eq!(deleted_names(&run(&r, &[a2, b, c], 100)), ["a"]);
}

#[test]
fn terminating_and_finished_pods_do_not_count() {
    let r = rs("web-abc", 2, 0);
    let mut gone = pod("gone", Some(&r), "n1", "Running", Some(t(0)), 0);
    gone.metadata.deletion_timestamp = Some(to_time(t(5)));
    let done = pod("done", Some(&r), "n1", "Succeeded", None, 0);
    let live = pod("live", Some(&r), "n1", "Running", Some(t(0)), 0);
    let out = run(&r, &[gone, done, live], 10);
    assert_eq!(out.pods_to_create.len(), 1);
    assert!(deleted_names(&out).is_empty());
}

#[test]
fn adopts_matching_orphans_and_releases_pods_that_stop_matching() {
    let r = rs("web-abc", 2, 0);
    let orphan = pod("orphan", None, "n1", "Running", Some(t(0)), 0);
    let mut relabeled = pod("relabeled", Some(&r), "n1", "Running", Some(t(0)), 0);
    relabeled.metadata.labels = Some(labels(&[("app", "debug")]));
    let mut other = pod("other", Some(&r), "n1", "Running", Some(t(0)), 0);
    other.metadata.owner_references.as_mut().unwrap()[0].uid = "someone-else".into();
    let out = run(&r, &[orphan, relabeled, other], 10);
    let updates: Vec<(String, usize)> = out
        .pod_changes
        .iter()
        .filter_map(|c| match c {
            Change::Update(p) => Some((
                p.metadata.name.clone().unwrap(),
                p.metadata.owner_references.as_ref().map_or(0, Vec::len),
            )),
            _ => None,
        })
        .collect();
    // The orphan gains our reference; the relabeled pod loses it; "other" is not ours.
    assert!(updates.contains(&("orphan".into(), 1)));
    assert!(updates.contains(&("relabeled".into(), 0)));
    assert_eq!(updates.len(), 2);
    // Owned after claiming: only the adopted orphan, so one more pod is needed.
    assert_eq!(out.pods_to_create.len(), 1);
}

#[test]
fn min_ready_seconds_gates_availability_and_requeues() {
    let r = rs("web-abc", 2, 10);
    let pods = [
        pod("early", Some(&r), "n1", "Running", Some(t(0)), 0),
        pod("late", Some(&r), "n2", "Running", Some(t(6)), 0),
    ];
    // At t=8: early ready for 8 s, late for 2 s; neither > 10 s. early becomes available
    // after t=10 (strictly), so requeue in 2 s (+1 ms for the strict comparison).
    let out = run(&r, &pods, 8);
    let Some(Change::UpdateStatus(s)) = &out.status else {
        panic!()
    };
    let s = s.status.as_ref().unwrap();
    assert_eq!((s.ready_replicas, s.available_replicas), (Some(2), Some(0)));
    assert_eq!(out.requeue_after, Some(Duration::from_millis(2001)));
    // At exactly t=10 early is still not available (Before is strict); at t=11 it is.
    let s10 = run(&r, &pods, 10).status.unwrap();
    let Change::UpdateStatus(s10) = s10 else {
        panic!()
    };
    assert_eq!(s10.status.unwrap().available_replicas, Some(0));
    let out = run(&r, &pods, 11);
    let Some(Change::UpdateStatus(s11)) = &out.status else {
        panic!()
    };
    assert_eq!(s11.status.as_ref().unwrap().available_replicas, Some(1));
    // late: ready at 6, available after 16 -> 5 s from t=11.
    assert_eq!(out.requeue_after, Some(Duration::from_millis(5001)));
}

#[test]
fn unchanged_status_is_not_rewritten_and_deleting_rs_creates_nothing() {
    let mut r = rs("web-abc", 1, 0);
    let pods = [pod("p", Some(&r), "n1", "Running", Some(t(0)), 0)];
    let Some(Change::UpdateStatus(updated)) = run(&r, &pods, 5).status else {
        panic!()
    };
    r.status = updated.status;
    let again = run(&r, &pods, 6);
    assert!(
        again.status.is_none() && again.pod_changes.is_empty() && again.pods_to_create.is_empty()
    );

    let mut dying = rs("web-abc", 3, 0);
    dying.metadata.deletion_timestamp = Some(to_time(t(1)));
    assert!(run(&dying, &[], 5).pods_to_create.is_empty());
}

#[test]
fn missing_spec_and_burst_cap_do_not_panic() {
    let mut bare = rs("bare", 1, 0);
    bare.spec = None;
    // No selector: nothing selected, nothing done.
    let out = run(&bare, &[], 0);
    assert!(out.pods_to_create.is_empty() && out.status.is_none());
    let big = rs("big", 10_000, 0);
    assert_eq!(run(&big, &[], 0).pods_to_create.len(), BURST_REPLICAS);
}
