//! Rollouts stepped by hand over a tiny in-memory cluster: the deployment and replicaset
//! reconcilers' changes are applied as the lab's loop would, pods become ready when told.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};
use k8s_openapi::api::core::v1::{Container, PodCondition, PodSpec, PodStatus, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector as Sel, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::*;
use crate::controllers::replicaset::{self, tests::t};
use crate::controllers::rollout;

fn deployment(replicas: i32, surge: IntOrString, unavailable: IntOrString) -> Deployment {
    let labels: BTreeMap<String, String> = [("app".to_string(), "web".to_string())].into();
    Deployment {
        metadata: ObjectMeta {
            name: Some("web".into()),
            namespace: Some("demo".into()),
            uid: Some("uid-web".into()),
            generation: Some(1),
            ..Default::default()
        },
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            selector: Sel {
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
                        name: "web".into(),
                        image: Some("nginx:1.27".into()),
                        ..Default::default()
                    }],
                    ..Default::default()
                }),
            },
            strategy: Some(DeploymentStrategy {
                type_: Some("RollingUpdate".into()),
                rolling_update: Some(RollingUpdateDeployment {
                    max_surge: Some(surge),
                    max_unavailable: Some(unavailable),
                }),
            }),
            // API server defaults.
            revision_history_limit: Some(10),
            progress_deadline_seconds: Some(600),
            ..Default::default()
        }),
        status: None,
    }
}

fn pct(s: &str) -> IntOrString {
    IntOrString::String(s.into())
}

struct Cluster {
    now: i64,
    d: Deployment,
    rss: Vec<ReplicaSet>,
    pods: Vec<Pod>,
    events: Vec<EventRecord>,
    seq: u32,
    last: DeploymentOutput,
}

impl Cluster {
    fn new(d: Deployment) -> Self {
        Self {
            now: 0,
            d,
            rss: Vec::new(),
            pods: Vec::new(),
            events: Vec::new(),
            seq: 0,
            last: DeploymentOutput::default(),
        }
    }

    /// One deployment reconcile, applied. Returns whether it wrote anything.
    fn sync_deployment(&mut self) -> bool {
        let out = reconcile(&DeploymentInput {
            deployment: &self.d,
            replica_sets: &self.rss,
            pods: &self.pods,
            now: t(self.now),
        });
        let wrote = !out.replica_sets.is_empty() || out.deployment.is_some();
        for change in &out.replica_sets {
            match change.clone() {
                Change::Create(mut rs) => {
                    self.seq += 1;
                    let name = rs.metadata.name.clone().unwrap();
                    assert!(!self.rss.iter().any(|r| r.metadata.name == rs.metadata.name));
                    rs.metadata.uid = Some(format!("uid-{name}"));
                    rs.metadata.generation = Some(1);
                    rs.metadata.creation_timestamp = Some(replicaset::to_time(
                        t(self.now) + chrono::Duration::milliseconds(self.seq.into()),
                    ));
                    self.rss.push(rs);
                }
                Change::Update(rs) | Change::UpdateStatus(rs) => {
                    let slot = self
                        .rss
                        .iter_mut()
                        .find(|r| r.metadata.name == rs.metadata.name)
                        .unwrap();
                    let bump = slot.spec != rs.spec;
                    let generation = slot.metadata.generation.unwrap_or(1) + i64::from(bump);
                    *slot = rs;
                    slot.metadata.generation = Some(generation);
                }
                Change::Delete { name, .. } => self
                    .rss
                    .retain(|r| r.metadata.name.as_deref() != Some(&name)),
            }
        }
        if let Some(Change::UpdateStatus(d)) = &out.deployment {
            self.d.status = d.status.clone();
            self.d.metadata.annotations = d.metadata.annotations.clone();
        }
        self.events.extend(out.events.iter().cloned());
        self.last = out;
        wrote
    }

    /// Every ReplicaSet reconciled once, applied; deleted pods vanish at once.
    fn sync_replicasets(&mut self) -> bool {
        let mut wrote = false;
        for i in 0..self.rss.len() {
            let pods: Vec<_> = self.pods.iter().collect();
            let out = replicaset::reconcile(&replicaset::ReplicaSetInput {
                replica_set: &self.rss[i],
                pods: &pods,
                now: t(self.now),
            });
            for mut pod in out.pods_to_create {
                self.seq += 1;
                let name = format!(
                    "{}{:05}",
                    pod.metadata.generate_name.clone().unwrap(),
                    self.seq
                );
                pod.metadata.name = Some(name.clone());
                pod.metadata.uid = Some(format!("uid-{name}"));
                pod.metadata.creation_timestamp = Some(replicaset::to_time(t(self.now)));
                pod.status = Some(PodStatus {
                    phase: Some("Pending".into()),
                    ..Default::default()
                });
                self.pods.push(pod);
                wrote = true;
            }
            for change in out.pod_changes {
                wrote = true;
                if let Change::Delete { name, .. } = change {
                    self.pods
                        .retain(|p| p.metadata.name.as_deref() != Some(&name));
                }
            }
            if let Some(Change::UpdateStatus(rs)) = out.status {
                self.rss[i].status = rs.status;
                wrote = true;
            }
        }
        wrote
    }

    fn ready_all(&mut self) {
        for p in &mut self.pods {
            let s = p.status.get_or_insert_with(Default::default);
            if s.phase.as_deref() != Some("Running") {
                s.phase = Some("Running".into());
                s.conditions = Some(vec![PodCondition {
                    type_: "Ready".into(),
                    status: "True".into(),
                    last_transition_time: Some(replicaset::to_time(t(self.now))),
                    ..Default::default()
                }]);
            }
        }
    }

    /// One hand step: deployment sync, replicasets create pods, pods become ready (if told),
    /// replicasets report it. Returns the ReplicaSet sizes oldest first.
    fn step(&mut self, make_ready: bool) -> Vec<i32> {
        self.now += 1;
        self.sync_deployment();
        self.sync_replicasets();
        if make_ready {
            self.ready_all();
        }
        self.sync_replicasets();
        self.sizes()
    }

    fn sizes(&self) -> Vec<i32> {
        let mut rss: Vec<&ReplicaSet> = self.rss.iter().collect();
        rss.sort_by_key(|r| {
            r.metadata
                .creation_timestamp
                .as_ref()
                .and_then(replicaset::from_time)
        });
        rss.iter().map(|r| rollout::spec_replicas(r)).collect()
    }

    /// Steps with ready pods until nothing changes.
    fn settle(&mut self) {
        for _ in 0..100 {
            let before = (self.rss.clone(), self.d.clone(), self.pods.len());
            self.step(true);
            if (self.rss.clone(), self.d.clone(), self.pods.len()) == before {
                return;
            }
        }
        panic!("no fixed point");
    }

    fn set_image(&mut self, image: &str) {
        let spec = self.d.spec.as_mut().unwrap();
        spec.template.spec.as_mut().unwrap().containers[0].image = Some(image.into());
        self.d.metadata.generation = Some(self.d.metadata.generation.unwrap() + 1);
    }

    fn rs_named(&self, suffix_of_image: &str) -> &ReplicaSet {
        self.rss
            .iter()
            .find(|r| {
                let c = &r
                    .spec
                    .as_ref()
                    .unwrap()
                    .template
                    .as_ref()
                    .unwrap()
                    .spec
                    .as_ref()
                    .unwrap()
                    .containers[0];
                c.image.as_deref() == Some(suffix_of_image)
            })
            .unwrap()
    }
}

/// kubectl's `DeploymentStatusViewer.Status` (lab-api-surface.md §5.1).
fn rollout_status(d: &Deployment) -> Result<String, String> {
    let s = d.status.clone().unwrap_or_default();
    let name = d.metadata.name.clone().unwrap();
    if d.metadata.generation > s.observed_generation {
        return Ok("Waiting for deployment spec update to be observed...".into());
    }
    if condition(&s, PROGRESSING).and_then(|c| c.reason.as_deref())
        == Some("ProgressDeadlineExceeded")
    {
        return Err(format!(
            "deployment {name:?} exceeded its progress deadline"
        ));
    }
    let want = d.spec.as_ref().unwrap().replicas.unwrap();
    let n = |v: Option<i32>| v.unwrap_or(0);
    if n(s.updated_replicas) < want
        || n(s.replicas) > n(s.updated_replicas)
        || n(s.available_replicas) < n(s.updated_replicas)
    {
        return Ok("Waiting".into());
    }
    Ok(format!("deployment {name:?} successfully rolled out"))
}

fn cond_of(d: &Deployment, type_: &str) -> (String, String, String) {
    let s = d.status.as_ref().unwrap();
    let c = condition(s, type_).unwrap();
    (
        c.status.clone(),
        c.reason.clone().unwrap(),
        c.message.clone().unwrap(),
    )
}

#[test]
fn fenceposts_round_surge_up_and_unavailable_down() {
    // 3 replicas: 25% surge = ceil(0.75) = 1; 25% unavailable = floor(0.75) = 0.
    assert_eq!(
        fenceposts(&deployment(3, pct("25%"), pct("25%"))),
        Ok((1, 0))
    );
    // 10 replicas: ceil(2.5) = 3, floor(2.5) = 2.
    assert_eq!(
        fenceposts(&deployment(10, pct("25%"), pct("25%"))),
        Ok((3, 2))
    );
    // Both resolve to 0: unavailable becomes 1 (ResolveFenceposts).
    assert_eq!(
        fenceposts(&deployment(3, IntOrString::Int(0), pct("10%"))),
        Ok((0, 1))
    );
    // maxUnavailable is capped at replicas.
    assert_eq!(
        fenceposts(&deployment(2, IntOrString::Int(0), IntOrString::Int(5))),
        Ok((0, 2))
    );
    let bad = deployment(3, pct("lots"), pct("25%"));
    assert!(fenceposts(&bad).is_err());
    let out = reconcile(&DeploymentInput {
        deployment: &bad,
        replica_sets: &[],
        pods: &[],
        now: t(0),
    });
    assert!(out.error.is_some() && out.replica_sets.is_empty());
}

#[test]
fn first_rollout_reaches_what_kubectl_rollout_status_accepts() {
    let mut c = Cluster::new(deployment(3, pct("25%"), pct("25%")));
    c.settle();
    assert_eq!(c.sizes(), [3]);
    let rs = &c.rss[0];
    let hash = rs.metadata.labels.as_ref().unwrap()["pod-template-hash"].clone();
    let rs_name = format!("web-{hash}");
    assert_eq!(rs.metadata.name.as_deref(), Some(rs_name.as_str()));
    assert!(
        hash.chars().all(|ch| "4bcdf56789".contains(ch)),
        "safe-encoded digits: {hash}"
    );
    let sel = rs
        .spec
        .as_ref()
        .unwrap()
        .selector
        .match_labels
        .clone()
        .unwrap();
    assert_eq!(sel.get("pod-template-hash"), Some(&hash));
    let a = rs.metadata.annotations.clone().unwrap();
    assert_eq!(a[kdive_core::model::revision::REVISION_ANNOTATION], "1");
    // desired 3, max = 3 + surge 1.
    assert_eq!(
        (
            a[revision::DESIRED_REPLICAS].as_str(),
            a[revision::MAX_REPLICAS].as_str()
        ),
        ("3", "4")
    );
    let owner = &rs.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (
            owner.kind.as_str(),
            owner.controller,
            owner.block_owner_deletion
        ),
        ("Deployment", Some(true), Some(true))
    );
    // Pods carry the hash label and are named <rs>-<suffix>.
    assert_eq!(c.pods.len(), 3);
    assert!(c.pods.iter().all(|p| {
        p.metadata
            .name
            .as_ref()
            .unwrap()
            .starts_with(&format!("{rs_name}-"))
    }));

    let s = c.d.status.clone().unwrap();
    assert_eq!(
        (
            s.observed_generation,
            s.replicas,
            s.updated_replicas,
            s.ready_replicas,
            s.available_replicas,
            s.unavailable_replicas
        ),
        (Some(1), Some(3), Some(3), Some(3), Some(3), Some(0))
    );
    assert_eq!(
        cond_of(&c.d, AVAILABLE),
        (
            "True".into(),
            "MinimumReplicasAvailable".into(),
            "Deployment has minimum availability.".into()
        )
    );
    assert_eq!(
        cond_of(&c.d, PROGRESSING),
        (
            "True".into(),
            "NewReplicaSetAvailable".into(),
            format!("ReplicaSet \"{rs_name}\" has successfully progressed.")
        )
    );
    assert_eq!(
        c.d.metadata.annotations.as_ref().unwrap()
            [kdive_core::model::revision::REVISION_ANNOTATION],
        "1"
    );
    assert_eq!(
        rollout_status(&c.d),
        Ok("deployment \"web\" successfully rolled out".into())
    );
    let scaling: Vec<&str> = c
        .events
        .iter()
        .filter(|e| e.reason == "ScalingReplicaSet")
        .map(|e| e.message.as_str())
        .collect();
    assert_eq!(
        scaling,
        [format!("Scaled up replica set {rs_name} from 0 to 3")]
    );
    assert_eq!(c.events[0].component, "deployment-controller");
    // At the fixed point nothing is requeued and a further sync writes nothing.
    assert!(!c.sync_deployment());
    assert_eq!(c.last.requeue_after, None);
}

#[test]
fn rolling_update_with_one_surge_and_no_unavailability() {
    // 3 replicas, maxSurge 25% -> 1, maxUnavailable 25% -> 0: never fewer than 3 available,
    // never more than 4 pods. New RS grows only when total < 4; old shrinks only by the
    // available surplus over 3.
    let mut c = Cluster::new(deployment(3, pct("25%"), pct("25%")));
    c.settle();
    c.set_image("nginx:1.28");
    // Sync 1 creates the new RS at 1 (3 + 1 surge - 3 existing); its pod is not ready yet,
    // so old cannot shrink: all 4 - minAvailable 3 - 1 unavailable new = 0.
    assert_eq!(c.step(false), [3, 1]);
    assert_eq!(rollout_status(&c.d), Ok("Waiting".into()));
    // No pod of the new RS is counted yet, so no progress beyond creating it.
    assert_eq!(cond_of(&c.d, PROGRESSING).1, "NewReplicaSetCreated");
    // Nothing moves while the new pod is unavailable.
    assert_eq!(c.step(false), [3, 1]);
    // Each step syncs the deployment first, then pods become ready. Step 1 still sees the
    // new pod unready; step 2: available 4 > 3, old 3 -> 2; step 3: total 3 < 4, new 1 -> 2;
    // and so on, alternating.
    let mut seq = Vec::new();
    for _ in 0..6 {
        seq.push(c.step(true));
    }
    assert_eq!(
        seq,
        [
            vec![3, 1],
            vec![2, 1],
            vec![2, 2],
            vec![1, 2],
            vec![1, 3],
            vec![0, 3]
        ]
    );
    c.settle();
    let new_name = c.rs_named("nginx:1.28").metadata.name.clone().unwrap();
    let old_name = c.rs_named("nginx:1.27").metadata.name.clone().unwrap();
    assert_eq!(
        c.rs_named("nginx:1.28")
            .metadata
            .annotations
            .as_ref()
            .unwrap()[kdive_core::model::revision::REVISION_ANNOTATION],
        "2"
    );
    assert_eq!(
        c.d.metadata.annotations.as_ref().unwrap()
            [kdive_core::model::revision::REVISION_ANNOTATION],
        "2"
    );
    let scaling: Vec<String> = c.events.iter().skip(1).map(|e| e.message.clone()).collect();
    assert_eq!(
        scaling,
        [
            format!("Scaled up replica set {new_name} from 0 to 1"),
            format!("Scaled down replica set {old_name} from 3 to 2"),
            format!("Scaled up replica set {new_name} from 1 to 2"),
            format!("Scaled down replica set {old_name} from 2 to 1"),
            format!("Scaled up replica set {new_name} from 2 to 3"),
            format!("Scaled down replica set {old_name} from 1 to 0"),
        ]
    );
    assert_eq!(
        rollout_status(&c.d),
        Ok("deployment \"web\" successfully rolled out".into())
    );
}

#[test]
fn recreate_scales_old_to_zero_before_creating_the_new() {
    let mut d = deployment(2, pct("25%"), pct("25%"));
    d.spec.as_mut().unwrap().strategy = Some(DeploymentStrategy {
        type_: Some("Recreate".into()),
        rolling_update: None,
    });
    let mut c = Cluster::new(d);
    c.settle();
    c.set_image("nginx:1.28");
    // Sync: old 2 -> 0 and no new RS yet; the replicaset controller deletes the pods.
    c.now += 1;
    c.sync_deployment();
    assert_eq!(c.sizes(), [0]);
    // Old RS status still reports 2 pods: the next sync waits.
    c.sync_deployment();
    assert_eq!(c.rss.len(), 1);
    c.sync_replicasets();
    assert!(c.pods.is_empty());
    // That sync's status still counted the pods it deleted; the deletions' watch events
    // make the replicaset controller report 0.
    c.sync_replicasets();
    // Old pods gone: the new RS appears at full size.
    c.sync_deployment();
    assert_eq!(c.sizes(), [0, 2]);
    c.settle();
    assert_eq!(
        rollout_status(&c.d),
        Ok("deployment \"web\" successfully rolled out".into())
    );
}

#[test]
fn paused_deployment_scales_but_does_not_roll() {
    let mut c = Cluster::new(deployment(3, pct("25%"), pct("25%")));
    c.settle();
    c.d.spec.as_mut().unwrap().paused = Some(true);
    c.set_image("nginx:1.28");
    c.step(true);
    assert_eq!(c.sizes(), [3], "no new ReplicaSet while paused");
    assert_eq!(
        cond_of(&c.d, PROGRESSING),
        (
            "Unknown".into(),
            "DeploymentPaused".into(),
            "Deployment is paused".into()
        )
    );
    // Scaling still applies to the only active ReplicaSet.
    c.d.spec.as_mut().unwrap().replicas = Some(5);
    c.step(true);
    assert_eq!(c.sizes(), [5]);
    // Resume: the rollout starts. New = 5 + surge ceil(1.25)=2 - 5 existing = 2. In the same
    // sync old may drop: 7 pods - minAvailable (5 - floor(1.25)=4) - 2 unavailable new = 1,
    // and 5 available > 4, so old 5 -> 4.
    c.d.spec.as_mut().unwrap().paused = Some(false);
    c.step(false);
    assert_eq!(c.sizes(), [4, 2]);
    assert_eq!(
        cond_of(&c.d, PROGRESSING),
        // Created, then progress within the same sync: readyReplicas 5 > 3 in the status the
        // paused sync wrote before the two new old-RS pods were ready.
        (
            "True".into(),
            "ReplicaSetUpdated".into(),
            format!(
                "ReplicaSet {:?} is progressing.",
                c.rss[1].metadata.name.clone().unwrap()
            )
        )
    );
    c.settle();
    assert_eq!(c.sizes(), [0, 5]);
}

#[test]
fn undo_reuses_the_old_replicaset_and_bumps_its_revision() {
    let mut c = Cluster::new(deployment(2, pct("25%"), pct("25%")));
    c.settle();
    c.set_image("nginx:1.28");
    c.settle();
    assert_eq!(c.rss.len(), 2);
    // `kubectl rollout undo` writes the old template back.
    c.set_image("nginx:1.27");
    c.settle();
    assert_eq!(c.rss.len(), 2, "no third ReplicaSet");
    let back = c.rs_named("nginx:1.27");
    let a = back.metadata.annotations.clone().unwrap();
    // max old revision 2, so the reused RS becomes 3 and remembers 1.
    assert_eq!(
        (
            a[kdive_core::model::revision::REVISION_ANNOTATION].as_str(),
            a[revision::REVISION_HISTORY].as_str()
        ),
        ("3", "1")
    );
    assert_eq!(rollout::spec_replicas(back), 2);
    assert_eq!(
        c.d.metadata.annotations.as_ref().unwrap()
            [kdive_core::model::revision::REVISION_ANNOTATION],
        "3"
    );
    assert_eq!(
        rollout_status(&c.d),
        Ok("deployment \"web\" successfully rolled out".into())
    );
}

#[test]
fn history_limit_deletes_the_oldest_scaled_down_revisions() {
    let mut d = deployment(1, pct("25%"), pct("25%"));
    d.spec.as_mut().unwrap().revision_history_limit = Some(1);
    let mut c = Cluster::new(d);
    c.settle();
    for image in ["nginx:a", "nginx:b", "nginx:c"] {
        c.set_image(image);
        c.settle();
    }
    // Four revisions made; the limit keeps one old besides the current.
    let mut images: Vec<String> = c
        .rss
        .iter()
        .map(|r| {
            r.spec
                .as_ref()
                .unwrap()
                .template
                .as_ref()
                .unwrap()
                .spec
                .as_ref()
                .unwrap()
                .containers[0]
                .image
                .clone()
                .unwrap()
        })
        .collect();
    images.sort();
    assert_eq!(images, ["nginx:b", "nginx:c"]);
}

#[test]
fn progress_deadline_exceeded_when_pods_never_become_available() {
    let mut d = deployment(2, pct("25%"), pct("25%"));
    d.spec.as_mut().unwrap().progress_deadline_seconds = Some(30);
    let mut c = Cluster::new(d);
    c.step(false); // t=1: created, pods pending
    assert_eq!(cond_of(&c.d, PROGRESSING).1, "NewReplicaSetCreated");
    // t=2: the RS now reports 2 (unready) pods: updatedReplicas 0 -> 2 is progress, which
    // refreshes lastUpdateTime to t=2, so the deadline is t=32: requeue 30 s + 1 s.
    c.step(false);
    assert_eq!(cond_of(&c.d, PROGRESSING).1, "ReplicaSetUpdated");
    assert_eq!(c.last.requeue_after, Some(Duration::from_secs(31)));
    // t=32 is not after the deadline (strict); t=33 is.
    c.now = 31;
    c.step(false);
    assert_eq!(cond_of(&c.d, PROGRESSING).1, "ReplicaSetUpdated");
    c.step(false);
    let name = c.rss[0].metadata.name.clone().unwrap();
    assert_eq!(
        cond_of(&c.d, PROGRESSING),
        (
            "False".into(),
            "ProgressDeadlineExceeded".into(),
            format!("ReplicaSet \"{name}\" has timed out progressing.")
        )
    );
    assert_eq!(
        cond_of(&c.d, AVAILABLE),
        (
            "False".into(),
            "MinimumReplicasUnavailable".into(),
            "Deployment does not have minimum availability.".into()
        )
    );
    assert_eq!(
        rollout_status(&c.d),
        Err("deployment \"web\" exceeded its progress deadline".into())
    );
    assert_eq!(c.last.requeue_after, None);
}

#[test]
fn scaling_mid_rollout_is_proportional() {
    let mut c = Cluster::new(deployment(10, IntOrString::Int(3), IntOrString::Int(2)));
    c.settle();
    c.set_image("nginx:1.28");
    // New = 10 + 3 - 10 = 3; old may drop 13 - (10 - 2) - 3 unavailable = 2: 10 -> 8.
    assert_eq!(c.step(false), [8, 3]);
    // Scale to 20 (surge stays 3): allowed 23, 11 exist, add 12. Largest first, each by its
    // share of the old max-replicas 13: old round(8 * 23 / 13) - 8 = 14 - 8 = 6, new
    // round(3 * 23 / 13) - 3 = 5 - 3 = 2; the 4 left over go to the largest (old): 18, 5.
    c.d.spec.as_mut().unwrap().replicas = Some(20);
    c.d.metadata.generation = Some(3);
    c.now += 1;
    c.sync_deployment();
    assert_eq!(c.sizes(), [18, 5]);
    let old = c.rs_named("nginx:1.27");
    let a = old.metadata.annotations.as_ref().unwrap();
    assert_eq!(
        (
            a[revision::DESIRED_REPLICAS].as_str(),
            a[revision::MAX_REPLICAS].as_str()
        ),
        ("20", "23")
    );
    c.settle();
    assert_eq!(c.sizes(), [0, 20]);
    assert_eq!(
        rollout_status(&c.d),
        Ok("deployment \"web\" successfully rolled out".into())
    );
}

#[test]
fn orphan_replicaset_is_adopted_and_odd_input_does_not_panic() {
    let d = deployment(1, pct("25%"), pct("25%"));
    let mut c = Cluster::new(d.clone());
    c.settle();
    let mut orphan = c.rss[0].clone();
    orphan.metadata.owner_references = None;
    let out = reconcile(&DeploymentInput {
        deployment: &d,
        replica_sets: &[orphan],
        pods: &[],
        now: t(50),
    });
    let adopted = out.replica_sets.iter().find_map(|ch| match ch {
        Change::Update(rs) => rs.metadata.owner_references.clone(),
        _ => None,
    });
    assert_eq!(adopted.unwrap()[0].uid, "uid-web");

    // No spec at all: the empty selector selects everything, which upstream refuses.
    let mut bare = d.clone();
    bare.spec = None;
    let out = reconcile(&DeploymentInput {
        deployment: &bare,
        replica_sets: &[],
        pods: &[],
        now: t(0),
    });
    assert_eq!(out.events[0].reason, "SelectingAll");
    assert!(out.replica_sets.is_empty());

    // Zero replicas: an RS at 0 and a complete rollout.
    let mut c = Cluster::new(deployment(0, pct("25%"), pct("25%")));
    c.settle();
    assert_eq!(c.sizes(), [0]);
    assert_eq!(
        rollout_status(&c.d),
        Ok("deployment \"web\" successfully rolled out".into())
    );
}

#[test]
fn hash_collision_bumps_collision_count_and_changes_the_name() {
    let d = deployment(1, pct("25%"), pct("25%"));
    let hash = revision::compute_hash(&d.spec.as_ref().unwrap().template, None);
    // Someone else's ReplicaSet already has the name the new one would get.
    let mut squatter = ReplicaSet::default();
    squatter.metadata.name = Some(format!("web-{hash}"));
    squatter.metadata.namespace = Some("demo".into());
    let mut c = Cluster::new(d);
    c.rss.push(squatter);
    c.now += 1;
    c.sync_deployment();
    assert!(c.last.error.is_some());
    assert_eq!(c.d.status.as_ref().unwrap().collision_count, Some(1));
    c.sync_deployment();
    let created = c
        .rss
        .iter()
        .find(|r| {
            r.metadata.uid.as_deref() == Some(&format!("uid-{}", r.metadata.name.clone().unwrap()))
        })
        .unwrap();
    let new_hash = revision::compute_hash(&c.d.spec.as_ref().unwrap().template, Some(1));
    assert_ne!(new_hash, hash);
    assert_eq!(created.metadata.name, Some(format!("web-{new_hash}")));
}
