//! The Deployment controller (kube-controller-manager's `deployment` controller) as a pure
//! reconcile function: one Deployment with the ReplicaSets and pods of its namespace in, the
//! ReplicaSet writes, the Deployment status (and revision annotation) and Events out.
//!
//! A loop calls [`reconcile`] whenever the Deployment, one of its ReplicaSets or one of their
//! pods changes, and after `requeue_after` (progress deadline). Upstream makes several API
//! calls per sync; here they are coalesced into one write per object, so a created
//! ReplicaSet already carries the size it would have been scaled to in the same sync.
//!
//! The Deployment change is an `UpdateStatus` that also carries
//! `metadata.annotations["deployment.kubernetes.io/revision"]`: upstream sets that annotation
//! through the status subresource too (the deployment status strategy keeps annotations).

use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kdive_core::model::rollout::{fenceposts, is_recreate};

use super::replicaset::{controller_of, from_time, object_ref, selector_of, to_time};
use super::revision;
use super::rollout::{COMPONENT, Working, available, ready, spec_replicas, status_replicas};
use super::{Change, EventRecord};
use kdive_core::model::revision::{REVISION_ANNOTATION, revision as revision_of};

pub const AVAILABLE: &str = "Available";
pub const PROGRESSING: &str = "Progressing";

/// What the Deployment controller reads for one Deployment.
pub struct DeploymentInput<'a> {
    pub deployment: &'a Deployment,
    /// ReplicaSets of the Deployment's namespace (orphans matching its selector are adopted).
    pub replica_sets: &'a [ReplicaSet],
    /// Pods of the namespace: Recreate waits until the old ones are gone.
    pub pods: &'a [Pod],
    pub now: DateTime<Utc>,
}

/// What it would write.
#[derive(Debug, Default)]
pub struct DeploymentOutput {
    pub replica_sets: Vec<Change<ReplicaSet>>,
    /// `UpdateStatus` when the status or the revision annotation changed.
    pub deployment: Option<Change<Deployment>>,
    pub events: Vec<EventRecord>,
    /// Reconcile again after this long even without a watch event (progress deadline).
    pub requeue_after: Option<Duration>,
    /// A sync error (upstream returns it and retries with back-off), e.g. a malformed
    /// maxSurge or a pod-template-hash collision.
    pub error: Option<String>,
}

pub fn reconcile(input: &DeploymentInput) -> DeploymentOutput {
    let d = input.deployment;
    let mut out = DeploymentOutput::default();
    let spec = d.spec.clone().unwrap_or_default();
    let original = d.status.clone().unwrap_or_default();
    let mut status = original.clone();
    let mut annotations = d.metadata.annotations.clone();

    let selector = selector_of(Some(&spec.selector));
    if selector.as_ref().is_none_or(|s| s.is_everything()) {
        // Upstream refuses to select every pod in the namespace.
        out.events.push(EventRecord {
            type_: "Warning",
            reason: "SelectingAll".into(),
            message: "This deployment is selecting all pods. A non-empty selector is required."
                .into(),
            involved: object_ref("Deployment", &d.metadata),
            component: COMPONENT,
            host: None,
            time: input.now,
        });
        if status.observed_generation < d.metadata.generation {
            status.observed_generation = d.metadata.generation;
            out.deployment = Some(Change::UpdateStatus(with_status(d, status, annotations)));
        }
        return out;
    }
    let selector = selector.unwrap_or_default();
    let (max_surge, max_unavailable) = match fenceposts(d) {
        Ok(f) => f,
        Err(e) => {
            out.error = Some(e);
            return out;
        }
    };
    let uid = d.metadata.uid.clone().unwrap_or_default();
    let deleting = d.metadata.deletion_timestamp.is_some();

    let mut w = Working {
        d,
        replicas: spec.replicas.unwrap_or(1),
        max_surge,
        max_unavailable,
        rss: Vec::new(),
        new_rs: None,
        created: None,
        updated: Default::default(),
        deleted: Default::default(),
        names_in_use: input
            .replica_sets
            .iter()
            .filter_map(|r| r.metadata.name.clone())
            .collect(),
        events: Vec::new(),
        now: input.now,
    };
    // getReplicaSetsForDeployment: claim (adopt orphans, release non-matching ones).
    for rs in input.replica_sets {
        let matches = selector.matches_labels(rs.metadata.labels.as_ref());
        match controller_of(&rs.metadata) {
            Some(owner) if owner.uid == uid => {
                if matches {
                    w.rss.push(rs.clone());
                } else if !deleting {
                    let mut released = rs.clone();
                    if let Some(refs) = released.metadata.owner_references.as_mut() {
                        refs.retain(|o| o.uid != uid);
                    }
                    out.replica_sets.push(Change::Update(released));
                }
            }
            None if matches && !deleting && rs.metadata.deletion_timestamp.is_none() => {
                let mut adopted = rs.clone();
                adopted
                    .metadata
                    .owner_references
                    .get_or_insert_with(Vec::new)
                    .push(revision::deployment_ref(d));
                w.updated.insert(w.rss.len());
                w.rss.push(adopted);
            }
            _ => {}
        }
    }

    // FindNewReplicaSet: the oldest ReplicaSet whose template equals the Deployment's.
    let mut order: Vec<usize> = (0..w.rss.len()).collect();
    order.sort_by_key(|i| {
        let rs = &w.rss[*i];
        (
            rs.metadata.creation_timestamp.as_ref().and_then(from_time),
            rs.metadata.name.clone(),
        )
    });
    w.new_rs = order.into_iter().find(|i| {
        let t = w.rss[*i].spec.as_ref().and_then(|s| s.template.as_ref());
        t.is_some_and(|t| revision::equal_ignore_hash(t, &spec.template))
    });
    let max_old_revision = w
        .old()
        .iter()
        .map(|i| revision_of(&w.rss[*i].metadata))
        .max()
        .unwrap_or(0);
    let has_deadline = spec
        .progress_deadline_seconds
        .is_some_and(|s| s != i32::MAX);

    if let Some(new) = w.new_rs {
        // Sync the existing new ReplicaSet's revision (a rollback bumps an old one).
        let mut copy = w.rss[new].clone();
        let mut changed = revision::set_new_rs_annotations(
            d,
            &mut copy,
            max_old_revision + 1,
            true,
            w.replicas,
            max_surge,
        );
        let rs_spec = copy.spec.get_or_insert_with(Default::default);
        if rs_spec.min_ready_seconds != spec.min_ready_seconds {
            rs_spec.min_ready_seconds = spec.min_ready_seconds;
            changed = true;
        }
        if changed {
            w.rss[new] = copy;
            w.updated.insert(new);
        } else {
            let revision =
                revision::annotation(&w.rss[new].metadata, REVISION_ANNOTATION).unwrap_or("");
            set_deployment_revision(&mut annotations, revision);
            if has_deadline && condition(&status, PROGRESSING).is_none() {
                let name = w.rss[new].metadata.name.clone().unwrap_or_default();
                let msg = format!("Found new replica set {name:?}");
                set_condition(
                    &mut status,
                    cond(PROGRESSING, "True", "FoundNewReplicaSet", msg, input.now),
                );
            }
        }
    }

    let paused = spec.paused.unwrap_or(false);
    if !deleting && has_deadline {
        check_paused_condition(&mut status, paused, input.now);
    }

    let rollout_status = if deleting {
        false
    } else if paused || w.is_scaling_event() {
        w.proportional_scale();
        if paused {
            w.cleanup();
        }
        false
    } else {
        let outcome = if is_recreate(d) {
            rollout_recreate(
                &mut w,
                input.pods,
                max_old_revision,
                &mut status,
                &mut annotations,
                has_deadline,
            )
        } else {
            rollout_rolling(
                &mut w,
                max_old_revision,
                &mut status,
                &mut annotations,
                has_deadline,
            )
        };
        if let Err(e) = outcome {
            out.error = Some(e);
            if status != original {
                out.deployment = Some(Change::UpdateStatus(with_status(d, status, annotations)));
            }
            return out;
        }
        true
    };

    let mut new_status = calculate_status(&w, &status, input.now);
    if rollout_status {
        progress(&w, &original, &mut new_status, has_deadline, input.now);
        out.requeue_after = stuck_requeue(&w, &new_status, has_deadline, input.now);
    }
    if new_status != original || annotations != d.metadata.annotations {
        out.deployment = Some(Change::UpdateStatus(with_status(
            d,
            new_status,
            annotations,
        )));
    }
    for (i, rs) in w.rss.iter().enumerate() {
        if w.deleted.contains(&i) {
            out.replica_sets.push(Change::Delete {
                namespace: rs.metadata.namespace.clone().unwrap_or_default(),
                name: rs.metadata.name.clone().unwrap_or_default(),
                uid: rs.metadata.uid.clone(),
            });
        } else if w.created == Some(i) {
            out.replica_sets.push(Change::Create(rs.clone()));
        } else if w.updated.contains(&i) {
            out.replica_sets.push(Change::Update(rs.clone()));
        }
    }
    out.events.append(&mut w.events);
    out
}

fn rollout_rolling(
    w: &mut Working,
    max_old_revision: i64,
    status: &mut DeploymentStatus,
    annotations: &mut Option<std::collections::BTreeMap<String, String>>,
    has_deadline: bool,
) -> Result<(), String> {
    if w.new_rs.is_none() {
        create_new_rs(
            w,
            max_old_revision,
            status,
            annotations,
            has_deadline,
            false,
        )?;
    }
    if !w.rolling() && complete(w, status) {
        w.cleanup();
    }
    Ok(())
}

fn rollout_recreate(
    w: &mut Working,
    pods: &[Pod],
    max_old_revision: i64,
    status: &mut DeploymentStatus,
    annotations: &mut Option<std::collections::BTreeMap<String, String>>,
    has_deadline: bool,
) -> Result<(), String> {
    if w.recreate_scale_down() || w.old_pods_running(pods) {
        return Ok(());
    }
    if w.new_rs.is_none() {
        create_new_rs(w, max_old_revision, status, annotations, has_deadline, true)?;
    }
    if let Some(new) = w.new_rs
        && spec_replicas(&w.rss[new]) != w.replicas
    {
        w.scale(new, w.replicas);
    }
    if complete(w, status) {
        w.cleanup();
    }
    Ok(())
}

/// `getNewReplicaSet` with createIfNotExisted: the `<deploy>-<hash>` ReplicaSet.
fn create_new_rs(
    w: &mut Working,
    max_old_revision: i64,
    status: &mut DeploymentStatus,
    annotations: &mut Option<std::collections::BTreeMap<String, String>>,
    has_deadline: bool,
    recreate: bool,
) -> Result<(), String> {
    let d = w.d;
    let template = d
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    let hash = revision::compute_hash(&template, status.collision_count);
    let mut rs = revision::new_replica_set(d, &hash);
    let name = rs.metadata.name.clone().unwrap_or_default();
    if w.names_in_use.contains(&name) {
        // Same name, different template: bump collisionCount so the next hash differs.
        status.collision_count = Some(status.collision_count.unwrap_or(0) + 1);
        return Err(format!("hash collision for ReplicaSet {name:?}"));
    }
    let index = w.rss.len();
    w.rss.push(rs.clone());
    let replicas = if recreate {
        w.replicas
    } else {
        let mut all = w.old();
        all.push(index);
        w.new_rs_new_replicas(index, &all)
    };
    rs.spec.get_or_insert_with(Default::default).replicas = Some(replicas);
    let revision = max_old_revision + 1;
    revision::set_new_rs_annotations(d, &mut rs, revision, false, w.replicas, w.max_surge);
    w.rss[index] = rs;
    w.new_rs = Some(index);
    w.created = Some(index);
    if replicas > 0 {
        w.event(format!("Scaled up replica set {name} from 0 to {replicas}"));
    }
    if has_deadline {
        let msg = format!("Created new replica set {name:?}");
        set_condition(
            status,
            cond(PROGRESSING, "True", "NewReplicaSetCreated", msg, w.now),
        );
    }
    set_deployment_revision(annotations, &revision.to_string());
    Ok(())
}

fn set_deployment_revision(
    annotations: &mut Option<std::collections::BTreeMap<String, String>>,
    revision: &str,
) {
    let a = annotations.get_or_insert_with(Default::default);
    if a.get(REVISION_ANNOTATION).map(String::as_str) != Some(revision) {
        a.insert(REVISION_ANNOTATION.into(), revision.into());
    }
}

/// `checkPausedConditions`.
fn check_paused_condition(status: &mut DeploymentStatus, paused: bool, now: DateTime<Utc>) {
    let current = condition(status, PROGRESSING).and_then(|c| c.reason.clone());
    if current.as_deref() == Some("ProgressDeadlineExceeded") {
        return; // a reported lack of progress is not overwritten
    }
    let paused_cond = current.as_deref() == Some("DeploymentPaused");
    if paused && !paused_cond {
        let c = cond(
            PROGRESSING,
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused".into(),
            now,
        );
        set_condition(status, c);
    } else if !paused && paused_cond {
        let c = cond(
            PROGRESSING,
            "Unknown",
            "DeploymentResumed",
            "Deployment is resumed".into(),
            now,
        );
        set_condition(status, c);
    }
}

/// `calculateStatus`: counts from the ReplicaSets, and the Available condition.
fn calculate_status(w: &Working, base: &DeploymentStatus, now: DateTime<Utc>) -> DeploymentStatus {
    let all = w.all();
    let sum = |f: fn(&ReplicaSet) -> i32, idx: &[usize]| -> i32 {
        idx.iter().map(|i| f(&w.rss[*i])).sum()
    };
    let available_replicas = sum(available, &all);
    let total = sum(spec_replicas, &all);
    let new: Vec<usize> = w.new_rs.into_iter().collect();
    let mut status = DeploymentStatus {
        observed_generation: w.d.metadata.generation,
        replicas: Some(sum(status_replicas, &all)),
        updated_replicas: Some(sum(status_replicas, &new)),
        ready_replicas: Some(sum(ready, &all)),
        available_replicas: Some(available_replicas),
        unavailable_replicas: Some((total - available_replicas).max(0)),
        collision_count: base.collision_count,
        conditions: base.conditions.clone(),
        terminating_replicas: None,
    };
    let c = if available_replicas >= w.replicas - w.max_unavailable {
        cond(
            AVAILABLE,
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.".into(),
            now,
        )
    } else {
        cond(
            AVAILABLE,
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.".into(),
            now,
        )
    };
    set_condition(&mut status, c);
    status
}

/// `DeploymentComplete`.
fn complete(w: &Working, s: &DeploymentStatus) -> bool {
    let r = Some(w.replicas);
    s.updated_replicas == r
        && s.replicas == r
        && s.available_replicas == r
        && s.observed_generation >= w.d.metadata.generation
}

/// `syncRolloutStatus`'s Progressing condition.
fn progress(
    w: &Working,
    old: &DeploymentStatus,
    new: &mut DeploymentStatus,
    has_deadline: bool,
    now: DateTime<Utc>,
) {
    if !has_deadline {
        remove_condition(new, PROGRESSING);
        return;
    }
    let current = condition(new, PROGRESSING).cloned();
    let reason = current.as_ref().and_then(|c| c.reason.as_deref());
    if new.replicas == new.updated_replicas && reason == Some("NewReplicaSetAvailable") {
        return;
    }
    let name = w.d.metadata.name.clone().unwrap_or_default();
    let subject = match w.new_rs {
        Some(i) => format!(
            "ReplicaSet {:?}",
            w.rss[i].metadata.name.clone().unwrap_or_default()
        ),
        None => format!("Deployment {name:?}"),
    };
    let n = |v: Option<i32>| v.unwrap_or(0);
    let progressing = n(new.updated_replicas) > n(old.updated_replicas)
        || n(new.replicas) - n(new.updated_replicas) < n(old.replicas) - n(old.updated_replicas)
        || n(new.ready_replicas) > n(old.ready_replicas)
        || n(new.available_replicas) > n(old.available_replicas);
    if complete(w, new) {
        let msg = format!("{subject} has successfully progressed.");
        set_condition(
            new,
            cond(PROGRESSING, "True", "NewReplicaSetAvailable", msg, now),
        );
    } else if progressing {
        let msg = format!("{subject} is progressing.");
        let mut c = cond(PROGRESSING, "True", "ReplicaSetUpdated", msg, now);
        // Progress refreshes lastUpdateTime (the deadline clock) but keeps the transition.
        if let Some(cur) = current.filter(|c| c.status == "True") {
            c.last_transition_time = cur.last_transition_time;
        }
        remove_condition(new, PROGRESSING);
        set_condition(new, c);
    } else if timed_out(w, new, now) {
        let msg = format!("{subject} has timed out progressing.");
        set_condition(
            new,
            cond(PROGRESSING, "False", "ProgressDeadlineExceeded", msg, now),
        );
    }
}

/// `DeploymentTimedOut`: no progress since the condition's lastUpdateTime + deadline.
fn timed_out(w: &Working, s: &DeploymentStatus, now: DateTime<Utc>) -> bool {
    let Some(c) = condition(s, PROGRESSING) else {
        return false;
    };
    match c.reason.as_deref() {
        Some("NewReplicaSetAvailable") => false,
        Some("ProgressDeadlineExceeded") => true,
        _ => deadline_at(w, c).is_some_and(|at| at < now),
    }
}

fn deadline_at(w: &Working, c: &DeploymentCondition) -> Option<DateTime<Utc>> {
    let secs = w.d.spec.as_ref()?.progress_deadline_seconds?;
    Some(from_time(c.last_update_time.as_ref()?)? + chrono::Duration::seconds(i64::from(secs)))
}

/// `requeueStuckDeployment`: wake up when the progress deadline would pass.
fn stuck_requeue(
    w: &Working,
    s: &DeploymentStatus,
    has_deadline: bool,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let c = condition(s, PROGRESSING)?;
    let reason = c.reason.as_deref();
    if !has_deadline
        || complete(w, s)
        || reason == Some("ProgressDeadlineExceeded")
        || reason == Some("NewReplicaSetAvailable")
    {
        return None;
    }
    let after = (deadline_at(w, c)? - now).to_std().unwrap_or_default();
    Some(after + Duration::from_secs(1))
}

pub fn condition<'a>(s: &'a DeploymentStatus, type_: &str) -> Option<&'a DeploymentCondition> {
    s.conditions.as_ref()?.iter().find(|c| c.type_ == type_)
}

fn cond(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now: DateTime<Utc>,
) -> DeploymentCondition {
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(to_time(now)),
        last_transition_time: Some(to_time(now)),
    }
}

/// `SetDeploymentCondition`: same status and reason leaves the condition untouched; same
/// status keeps the transition time.
fn set_condition(s: &mut DeploymentStatus, mut c: DeploymentCondition) {
    if let Some(cur) = condition(s, &c.type_) {
        if cur.status == c.status && cur.reason == c.reason {
            return;
        }
        if cur.status == c.status {
            c.last_transition_time = cur.last_transition_time.clone();
        }
    }
    remove_condition(s, &c.type_);
    s.conditions.get_or_insert_with(Vec::new).push(c);
}

fn remove_condition(s: &mut DeploymentStatus, type_: &str) {
    if let Some(cs) = s.conditions.as_mut() {
        cs.retain(|c| c.type_ != type_);
    }
}

fn with_status(
    d: &Deployment,
    status: DeploymentStatus,
    annotations: Option<std::collections::BTreeMap<String, String>>,
) -> Deployment {
    let mut d = d.clone();
    d.status = Some(status);
    d.metadata.annotations = annotations;
    d
}

#[cfg(test)]
#[path = "deployment_tests.rs"]
mod tests;
