use chrono::TimeZone;
use k8s_openapi::api::apps::v1::{
    RollingUpdateStatefulSetStrategy, StatefulSetSpec, StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Container, PersistentVolumeClaimSpec, PodCondition, PodSpec, PodStatus, PodTemplateSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as LabelSelectorSpec;

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap()
}

fn set(replicas: i32, policy: &str, image: &str) -> StatefulSet {
    let labels: BTreeMap<String, String> = [("app".to_string(), "postgres".to_string())].into();
    StatefulSet {
        metadata: ObjectMeta {
            name: Some("postgres".into()),
            namespace: Some("demo".into()),
            uid: Some("uid-sts".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            pod_management_policy: Some(policy.into()),
            service_name: Some("postgres".into()),
            selector: LabelSelectorSpec {
                match_labels: Some(labels.clone()),
                ..Default::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![Container {
                        name: "postgres".into(),
                        image: Some(image.into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta {
                    name: Some("data".into()),
                    ..Default::default()
                },
                spec: Some(PersistentVolumeClaimSpec {
                    access_modes: Some(vec!["ReadWriteOnce".into()]),
                    ..Default::default()
                }),
                status: None,
            }]),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateStatefulSetStrategy {
                    partition: Some(0),
                    max_unavailable: None,
                }),
            }),
            ..Default::default()
        }),
        status: None,
    }
}

/// A pod as the controller made it, at `revision`, Running and Ready (or Pending).
fn pod(s: &StatefulSet, ord: i32, revision: &str, ready: bool) -> Pod {
    let mut p = new_pod(s, ord, revision);
    p.metadata.uid = Some(format!("uid-pod-{ord}"));
    p.status = Some(PodStatus {
        phase: Some(if ready { "Running" } else { "Pending" }.into()),
        conditions: Some(vec![PodCondition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            ..Default::default()
        }]),
        ..Default::default()
    });
    p
}

fn run(s: &StatefulSet, pods: &[Pod], claims: &[PersistentVolumeClaim]) -> StatefulSetOutput {
    reconcile(&StatefulSetInput {
        set: s,
        pods,
        claims,
        now: t0(),
    })
}

fn created_names(out: &StatefulSetOutput) -> Vec<String> {
    out.pods_to_create
        .iter()
        .map(|(p, _)| p.metadata.name.clone().unwrap())
        .collect()
}

fn deleted_names(out: &StatefulSetOutput) -> Vec<String> {
    out.pod_deletes
        .iter()
        .map(|(c, _)| match c {
            Change::Delete { name, .. } => name.clone(),
            other => panic!("not a delete: {other:?}"),
        })
        .collect()
}

fn status(out: &StatefulSetOutput) -> StatefulSetStatus {
    match &out.status {
        Some(Change::UpdateStatus(s)) => s.status.clone().unwrap(),
        other => panic!("no status update: {other:?}"),
    }
}

#[test]
fn ordered_ready_creates_one_pod_at_a_time_with_its_claim_first() {
    let s = set(3, "OrderedReady", "postgres:16");
    let rev = revision_name(&s);
    let out = run(&s, &[], &[]);
    assert_eq!(created_names(&out), ["postgres-0"]);
    assert_eq!(out.claims_to_create.len(), 1);
    let (claim, claim_event) = &out.claims_to_create[0];
    assert_eq!(claim.metadata.name.as_deref(), Some("data-postgres-0"));
    assert_eq!(claim.metadata.owner_references, None, "Retain: not owned");
    assert_eq!(
        claim
            .metadata
            .labels
            .as_ref()
            .unwrap()
            .get("app")
            .map(String::as_str),
        Some("postgres")
    );
    assert_eq!(
        claim_event.message,
        "create Claim data-postgres-0 Pod postgres-0 in StatefulSet postgres success"
    );
    let (p, pod_event) = &out.pods_to_create[0];
    assert_eq!(pod_event.reason, "SuccessfulCreate");
    assert_eq!(
        pod_event.message,
        "create Pod postgres-0 in StatefulSet postgres successful"
    );
    let labels = p.metadata.labels.as_ref().unwrap();
    assert_eq!(labels[POD_NAME_LABEL], "postgres-0");
    assert_eq!(labels[POD_INDEX_LABEL], "0");
    assert_eq!(labels[CONTROLLER_REVISION_HASH_LABEL], rev);
    assert!(rev.starts_with("postgres-"));
    let spec = p.spec.as_ref().unwrap();
    assert_eq!(spec.hostname.as_deref(), Some("postgres-0"));
    assert_eq!(spec.subdomain.as_deref(), Some("postgres"));
    let vol = &spec.volumes.as_ref().unwrap()[0];
    assert_eq!(vol.name, "data");
    assert_eq!(
        vol.persistent_volume_claim.as_ref().unwrap().claim_name,
        "data-postgres-0"
    );
    let owner = &p.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.controller),
        ("StatefulSet", Some(true))
    );
    let st = status(&out);
    assert_eq!(st.replicas, 1);
    assert_eq!(st.ready_replicas, Some(0));
    assert_eq!(st.observed_generation, Some(1));
}

#[test]
fn ordered_ready_waits_for_running_and_ready_before_the_next_ordinal() {
    let s = set(3, "OrderedReady", "postgres:16");
    let rev = revision_name(&s);
    let claim = claims_for(&s, 0).remove(0);
    let waiting = run(&s, &[pod(&s, 0, &rev, false)], std::slice::from_ref(&claim));
    assert!(created_names(&waiting).is_empty());
    let next = run(&s, &[pod(&s, 0, &rev, true)], &[claim]);
    assert_eq!(created_names(&next), ["postgres-1"]);
    // The existing claim of postgres-0 is not created again; postgres-1's is.
    let claim_names: Vec<_> = next
        .claims_to_create
        .iter()
        .map(|(c, _)| c.metadata.name.clone().unwrap())
        .collect();
    assert_eq!(claim_names, ["data-postgres-1"]);
}

#[test]
fn parallel_creates_all_missing_pods_at_once() {
    let s = set(3, "Parallel", "postgres:16");
    let out = run(&s, &[], &[]);
    assert_eq!(
        created_names(&out),
        ["postgres-0", "postgres-1", "postgres-2"]
    );
    assert_eq!(out.claims_to_create.len(), 3);
}

#[test]
fn scale_down_deletes_from_the_highest_ordinal_one_at_a_time() {
    let s = set(1, "OrderedReady", "postgres:16");
    let rev = revision_name(&s);
    let pods: Vec<Pod> = (0..3).map(|o| pod(&s, o, &rev, true)).collect();
    let out = run(&s, &pods, &[]);
    assert_eq!(deleted_names(&out), ["postgres-2"]);
    assert_eq!(
        out.pod_deletes[0].1.message,
        "delete Pod postgres-2 in StatefulSet postgres successful"
    );
    assert_eq!(out.pod_deletes[0].1.reason, "SuccessfulDelete");
    // While postgres-2 terminates, postgres-1 waits.
    let mut terminating = pods.clone();
    terminating[2].metadata.deletion_timestamp = Some(super::super::replicaset::to_time(t0()));
    assert!(deleted_names(&run(&s, &terminating, &[])).is_empty());
    // Parallel deletes every condemned pod, highest first.
    let p = set(1, "Parallel", "postgres:16");
    assert_eq!(
        deleted_names(&run(&p, &pods, &[])),
        ["postgres-2", "postgres-1"]
    );
}

#[test]
fn rolling_update_respects_the_partition_and_goes_from_the_highest_ordinal() {
    let old = set(3, "OrderedReady", "postgres:15");
    let old_rev = revision_name(&old);
    let mut s = set(3, "OrderedReady", "postgres:16");
    let new_rev = revision_name(&s);
    assert_ne!(old_rev, new_rev);
    s.status = Some(StatefulSetStatus {
        current_revision: Some(old_rev.clone()),
        ..Default::default()
    });
    if let Some(ru) = s
        .spec
        .as_mut()
        .and_then(|sp| sp.update_strategy.as_mut())
        .and_then(|u| u.rolling_update.as_mut())
    {
        ru.partition = Some(1);
    }
    let pods: Vec<Pod> = (0..3).map(|o| pod(&old, o, &old_rev, true)).collect();
    let out = run(&s, &pods, &[]);
    assert_eq!(deleted_names(&out), ["postgres-2"]);
    // postgres-2 updated and ready: postgres-1 next; postgres-0 is below the partition.
    let mut step2 = pods.clone();
    step2[2] = pod(&s, 2, &new_rev, true);
    assert_eq!(deleted_names(&run(&s, &step2, &[])), ["postgres-1"]);
    let mut step3 = step2.clone();
    step3[1] = pod(&s, 1, &new_rev, true);
    let done = run(&s, &step3, &[]);
    assert!(deleted_names(&done).is_empty());
    let st = status(&done);
    assert_eq!(st.updated_replicas, Some(2));
    assert_eq!(st.current_replicas, Some(1));
    assert_eq!(st.current_revision.as_deref(), Some(old_rev.as_str()));
    assert_eq!(st.update_revision.as_deref(), Some(new_rev.as_str()));
}

#[test]
fn a_finished_rollout_makes_the_update_revision_current() {
    let s = set(2, "OrderedReady", "postgres:16");
    let rev = revision_name(&s);
    let pods: Vec<Pod> = (0..2).map(|o| pod(&s, o, &rev, true)).collect();
    let st = status(&run(&s, &pods, &[]));
    assert_eq!(st.replicas, 2);
    assert_eq!(st.ready_replicas, Some(2));
    assert_eq!(st.available_replicas, Some(2));
    assert_eq!(st.current_replicas, Some(2));
    assert_eq!(st.updated_replicas, Some(2));
    assert_eq!(st.current_revision.as_deref(), Some(rev.as_str()));
    assert_eq!(st.update_revision.as_deref(), Some(rev.as_str()));
}

#[test]
fn a_failed_pod_is_deleted_to_be_created_again() {
    let s = set(1, "OrderedReady", "postgres:16");
    let rev = revision_name(&s);
    let mut p = pod(&s, 0, &rev, false);
    p.status.as_mut().unwrap().phase = Some("Failed".into());
    assert_eq!(deleted_names(&run(&s, &[p], &[])), ["postgres-0"]);
}

#[test]
fn claims_are_owned_by_the_set_when_retention_says_delete() {
    let mut s = set(1, "OrderedReady", "postgres:16");
    s.spec
        .as_mut()
        .unwrap()
        .persistent_volume_claim_retention_policy = Some(
        k8s_openapi::api::apps::v1::StatefulSetPersistentVolumeClaimRetentionPolicy {
            when_deleted: Some("Delete".into()),
            when_scaled: Some("Retain".into()),
        },
    );
    let claim = claims_for(&s, 4).remove(0);
    assert_eq!(claim.metadata.name.as_deref(), Some("data-postgres-4"));
    let owner = &claim.metadata.owner_references.unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("StatefulSet", "uid-sts")
    );
}

#[test]
fn ordinals_parse_only_from_the_sets_own_names() {
    let s = set(1, "OrderedReady", "x");
    let named = |n: &str| Pod {
        metadata: ObjectMeta {
            name: Some(n.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(ordinal_of("postgres", &named("postgres-12")), Some(12));
    assert_eq!(ordinal_of("postgres", &named("postgres-x")), None);
    assert_eq!(ordinal_of("postgres", &named("postgres-ha-1")), None);
    assert_eq!(ordinal_of("postgres", &named("postgres-")), None);
    let _ = s;
}

#[test]
fn a_deleting_set_only_updates_status() {
    let mut s = set(3, "OrderedReady", "postgres:16");
    s.metadata.deletion_timestamp = Some(super::super::replicaset::to_time(t0()));
    let out = run(&s, &[], &[]);
    assert!(out.pods_to_create.is_empty() && out.claims_to_create.is_empty());
}

#[test]
fn the_first_status_write_does_not_change_the_revision() {
    // Before the first status write there is no collisionCount; after it, 0. Upstream
    // hashes both as 0, else every new set would roll its pods once right after creation.
    let fresh = set(3, "OrderedReady", "postgres:16");
    let mut written = fresh.clone();
    written.status = Some(StatefulSetStatus {
        collision_count: Some(0),
        ..Default::default()
    });
    assert_eq!(revision_name(&fresh), revision_name(&written));
    written.status.as_mut().unwrap().collision_count = Some(1);
    assert_ne!(revision_name(&fresh), revision_name(&written));
}
