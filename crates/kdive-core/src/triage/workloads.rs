//! Workload causes: a Deployment or StatefulSet at zero replicas, a rollout that stopped
//! making progress, a ReplicaSet that may not create pods because of a quota.

use crate::model::status::utc;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::events::Seen;
use super::scope::{Target, controller_of, key, name_of, ns_of};
use super::template_diff::{TemplateSummary, template_changes};
use super::{Cause, Ctx, Evidence, EvidenceSource, Finding, ObjectRef, Severity};
use crate::model::revision::revision;

/// A new ReplicaSet's pods may take this long to become ready before the rollout counts as
/// stuck without the Deployment's own deadline having passed.
const SLOW_ROLLOUT_SECONDS: i64 = 120;

pub(crate) fn findings(ctx: &Ctx<'_>, target: &Target) -> Vec<Finding> {
    let mut out = Vec::new();
    for d in &ctx.scope.deployments {
        let d_ref = key("Deployment", &d.metadata);
        let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        if replicas == 0 && is_target(target, &d_ref) {
            out.push(scaled_to_zero(ctx, &d_ref, None));
        }
        let sets = replica_sets_of(ctx, d);
        out.extend(rollout_stuck(ctx, d, &sets));
        for rs in &sets {
            out.extend(quota(ctx, &d_ref, rs));
        }
    }
    for s in &ctx.scope.stateful_sets {
        let s_ref = key("StatefulSet", &s.metadata);
        let replicas = s.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        if replicas == 0 && is_target(target, &s_ref) {
            out.push(scaled_to_zero(ctx, &s_ref, None));
        }
    }
    out
}

fn is_target(target: &Target, r: &ObjectRef) -> bool {
    target.object_ref().as_ref() == Some(r)
}

/// A workload at zero replicas; critical when a Service relies on it (rank decides).
pub(crate) fn scaled_to_zero(ctx: &Ctx<'_>, w: &ObjectRef, service: Option<&ObjectRef>) -> Finding {
    let ns = w.namespace.clone().unwrap_or_default();
    let summary = match service {
        Some(svc) => format!(
            "{} is scaled to 0 replicas, so Service {} has no pods",
            w.display(),
            svc.name
        ),
        None => format!("{} is scaled to 0 replicas", w.display()),
    };
    let mut f = Finding::new(Cause::ScaledToZero, Severity::Info, w.clone(), summary);
    f.evidence
        .push(Evidence::new(EvidenceSource::Event, "spec.replicas: 0"));
    let scaled = ctx.events.seen(
        &w.kind,
        &ns,
        &w.name,
        &["ScalingReplicaSet", "SuccessfulDelete"],
    );
    let to_zero: Vec<&Seen> = scaled
        .iter()
        .filter(|s| s.message.contains(" to 0"))
        .collect();
    for s in &to_zero {
        f.evidence.push(s.evidence());
        f.seen_at(s.last);
    }
    let before = to_zero
        .iter()
        .find_map(|s| from_count(&s.message))
        .unwrap_or(1);
    f.next = vec![format!(
        "kubectl scale {} --replicas={before} -n {ns}",
        w.kubectl()
    )];
    f
}

/// `Scaled down replica set web-x from 3 to 0`: the 3.
fn from_count(message: &str) -> Option<i32> {
    let rest = &message[message.find(" from ")? + 6..];
    rest.split_whitespace()
        .next()?
        .parse()
        .ok()
        .filter(|n: &i32| *n > 0)
}

pub(crate) fn replica_sets_of(ctx: &Ctx<'_>, d: &Deployment) -> Vec<Arc<ReplicaSet>> {
    let ns = ns_of(&d.metadata);
    let owner = d
        .metadata
        .uid
        .as_deref()
        .unwrap_or_else(|| name_of(&d.metadata));
    let mut sets: Vec<Arc<ReplicaSet>> = ctx
        .index
        .sets_of
        .get(&(ns, owner))
        .into_iter()
        .flatten()
        .map(|rs| Arc::clone(rs))
        .collect();
    sets.sort_by_key(|rs| revision(&rs.metadata));
    sets
}

/// A rollout past its progress deadline, or whose new pods have not become ready for a
/// while: names the revision and what it changed.
fn rollout_stuck(ctx: &Ctx<'_>, d: &Deployment, sets: &[Arc<ReplicaSet>]) -> Option<Finding> {
    let ns = ns_of(&d.metadata);
    let name = name_of(&d.metadata);
    let newest = sets.last()?;
    let status = d.status.clone().unwrap_or_default();
    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let progressing = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing");
    let deadline = progressing
        .filter(|c| c.status == "False" && c.reason.as_deref() == Some("ProgressDeadlineExceeded"));
    let new_ready = newest
        .status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0);
    let new_wanted = newest.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
    let rolling = sets.len() > 1
        && (status.updated_replicas.unwrap_or(0) < replicas
            || new_ready < new_wanted.max(1).min(replicas));
    let age = newest
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| (ctx.now - utc(t)).num_seconds())
        .unwrap_or(0);
    if deadline.is_none() && !(rolling && age > SLOW_ROLLOUT_SECONDS && replicas > 0) {
        return None;
    }
    let rev = revision(&newest.metadata);
    let changed = sets
        .iter()
        .rev()
        .nth(1)
        .map(|old| {
            let a = old
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .map(TemplateSummary::of);
            let b = newest
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .map(TemplateSummary::of);
            match (a, b) {
                (Some(a), Some(b)) => template_changes(&a, &b).join("; "),
                _ => String::new(),
            }
        })
        .unwrap_or_default();
    let what = if changed.is_empty() {
        String::new()
    } else {
        format!(" ({changed})")
    };
    let mut f = Finding::new(
        Cause::RolloutStuck,
        Severity::Warning,
        key("Deployment", &d.metadata),
        format!(
            "rollout of Deployment {name} to revision {rev}{what} is stuck: {new_ready} of {} new pods ready",
            new_wanted.max(1).min(replicas.max(1))
        ),
    );
    if let Some(c) = deadline {
        f.evidence.push(Evidence::new(
            EvidenceSource::Event,
            format!(
                "Progressing=False ProgressDeadlineExceeded: {}",
                c.message.as_deref().unwrap_or("")
            ),
        ));
        f.seen_at(c.last_transition_time.as_ref().map(utc));
    }
    f.evidence.push(Evidence::new(
        EvidenceSource::Event,
        format!(
            "replicas {replicas}, updated {}, ready {}, available {}",
            status.updated_replicas.unwrap_or(0),
            status.ready_replicas.unwrap_or(0),
            status.available_replicas.unwrap_or(0)
        ),
    ));
    f.seen_at(newest.metadata.creation_timestamp.as_ref().map(utc));
    // Its new pods' failures are why it is stuck.
    let new_uid = newest.metadata.uid.as_deref();
    f.needs = ctx
        .scope
        .pods_in(ns)
        .filter(|p| controller_of(&p.metadata).is_some_and(|(_, _, u)| Some(u) == new_uid))
        .map(|p| key("Pod", &p.metadata))
        .collect();
    f.needs.push(key("ReplicaSet", &newest.metadata));
    f.next = vec![
        format!("kubectl rollout status deployment/{name} -n {ns}"),
        format!("kubectl rollout history deployment/{name} -n {ns}"),
        format!("kubectl rollout undo deployment/{name} -n {ns}"),
    ];
    Some(f)
}

/// A ReplicaSet whose pod creations a ResourceQuota refuses (`exceeded quota: …`).
fn quota(ctx: &Ctx<'_>, d_ref: &ObjectRef, rs: &ReplicaSet) -> Option<Finding> {
    let ns = ns_of(&rs.metadata);
    let name = name_of(&rs.metadata);
    let condition = rs
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.type_ == "ReplicaFailure" && c.status == "True")
        })
        .and_then(|c| c.message.clone())
        .filter(|m| m.contains("exceeded quota"));
    let seen: Vec<Seen> = ctx
        .events
        .seen("ReplicaSet", ns, name, &["FailedCreate"])
        .into_iter()
        .filter(|s| s.message.contains("exceeded quota"))
        .collect();
    if condition.is_none() && seen.is_empty() {
        return None;
    }
    let mut f = Finding::new(
        Cause::QuotaExceeded,
        Severity::Warning,
        d_ref.clone(),
        format!(
            "ReplicaSet {name} may not create pods: a ResourceQuota of namespace {ns} is used up"
        ),
    );
    f.subjects.push(key("ReplicaSet", &rs.metadata));
    if let Some(m) = condition
        && !seen.iter().any(|s| s.message == m)
    {
        f.evidence.push(Evidence::new(
            EvidenceSource::Event,
            format!("ReplicaFailure: {m}"),
        ));
    }
    f.evidence.extend(seen.iter().map(Seen::evidence));
    f.seen_at(seen.iter().filter_map(|s| s.first).min());
    f.next = vec![
        format!("kubectl describe resourcequota -n {ns}"),
        format!("kubectl describe replicaset {name} -n {ns}"),
    ];
    Some(f)
}
