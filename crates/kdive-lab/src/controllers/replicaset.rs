//! The ReplicaSet controller (kube-controller-manager's `replicaset` controller) as a pure
//! reconcile function: one ReplicaSet and the pods of its namespace in, the pods to create,
//! the pod writes (delete, adopt, release), the status and the Events out.
//!
//! A loop calls [`reconcile`] whenever the ReplicaSet or one of its pods changes (and after
//! `requeue_after`), creates `pods_to_create` through the store (which picks the
//! `generateName` suffix) and emits [`created_pod_event`] for each pod the store named.
//! Upstream guards against double creation with "expectations"; here the loop must instead
//! re-list after applying one reconcile's changes before calling again.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{ReplicaSet, ReplicaSetStatus};
use k8s_openapi::api::core::v1::{ObjectReference, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
    LabelSelector as LabelSelectorSpec, ObjectMeta, OwnerReference, Time,
};

use super::{Change, EventRecord};
use kdive_core::model::pod_readiness::{available_at, pod_available, pod_ready, ready_since};
use kdive_core::selector::{LabelSelector, set_matches_labels};

pub const COMPONENT: &str = "replicaset-controller";
/// Upstream `BurstReplicas`: at most this many creations or deletions per sync.
pub const BURST_REPLICAS: usize = 500;

/// What the ReplicaSet controller reads for one ReplicaSet.
pub struct ReplicaSetInput<'a> {
    pub replica_set: &'a ReplicaSet,
    /// Pods of the ReplicaSet's namespace (all of them: orphans may be adopted), borrowed:
    /// copying 50,000 pods per sync would dominate it.
    pub pods: &'a [&'a Pod],
    pub now: DateTime<Utc>,
}

/// What it would write.
#[derive(Debug, Default)]
pub struct ReplicaSetOutput {
    /// Pods to create (with `generateName`); build their Events with [`created_pod_event`].
    pub pods_to_create: Vec<Pod>,
    /// Deletions of surplus pods, and updates adopting or releasing pods.
    pub pod_changes: Vec<Change<Pod>>,
    /// `UpdateStatus` of the ReplicaSet when its status changed.
    pub status: Option<Change<ReplicaSet>>,
    pub events: Vec<EventRecord>,
    /// Reconcile again after this long: a ready pod becomes available (minReadySeconds).
    pub requeue_after: Option<Duration>,
}

pub fn reconcile(input: &ReplicaSetInput) -> ReplicaSetOutput {
    let rs = input.replica_set;
    let mut out = ReplicaSetOutput::default();
    // An unparsable selector is a sync error upstream (requeued); nothing to do until fixed.
    let Some(selector) = selector_of(rs.spec.as_ref().map(|s| &s.selector)) else {
        return out;
    };
    let deleting = rs.metadata.deletion_timestamp.is_some();
    let uid = rs.metadata.uid.clone().unwrap_or_default();

    // FilterActivePods, then claimPods (adopt orphans, release owned pods that stopped matching).
    let mut owned: Vec<&Pod> = Vec::new();
    for &pod in input.pods.iter().filter(|p| is_active(p)) {
        let matches = selector.matches_labels(pod.metadata.labels.as_ref());
        match controller_of(&pod.metadata) {
            Some(owner) if owner.uid == uid => {
                if matches {
                    owned.push(pod);
                } else if !deleting {
                    out.pod_changes.push(Change::Update(release(pod, &uid)));
                }
            }
            Some(_) => {}
            None if matches && !deleting && !uid.is_empty() => {
                out.pod_changes.push(Change::Update(adopt(pod, rs)));
                owned.push(pod);
            }
            None => {}
        }
    }

    let desired = desired_replicas(rs);
    if !deleting {
        manage_replicas(rs, &owned, desired, input.now, &mut out);
    }

    let min_ready = min_ready_seconds(rs);
    let status = calculate_status(rs, &owned, min_ready, input.now);
    if status_differs(rs, &status) {
        let mut updated = rs.clone();
        updated.status = Some(status);
        out.status = Some(Change::UpdateStatus(updated));
    }
    out.requeue_after = next_availability(&owned, min_ready, input.now);
    out
}

/// The `SuccessfulCreate` Event for a pod the store created (and named) from
/// [`ReplicaSetOutput::pods_to_create`].
pub fn created_pod_event(rs: &ReplicaSet, pod: &Pod, now: DateTime<Utc>) -> EventRecord {
    let name = pod.metadata.name.clone().unwrap_or_default();
    event(rs, "SuccessfulCreate", format!("Created pod: {name}"), now)
}

fn manage_replicas(
    rs: &ReplicaSet,
    owned: &[&Pod],
    desired: i32,
    now: DateTime<Utc>,
    out: &mut ReplicaSetOutput,
) {
    let diff = owned.len() as i64 - i64::from(desired.max(0));
    if diff < 0 {
        // Upstream creates in slow-start batches (1, 2, 4, ...) that only differ on errors;
        // a pure function proposes the whole (burst-capped) set at once.
        let count = (-diff as usize).min(BURST_REPLICAS);
        out.pods_to_create = (0..count).map(|_| pod_from_template(rs)).collect();
    } else if diff > 0 {
        let count = (diff as usize).min(BURST_REPLICAS);
        for pod in pods_to_delete(owned, count) {
            let name = pod.metadata.name.clone().unwrap_or_default();
            out.pod_changes.push(Change::Delete {
                namespace: pod.metadata.namespace.clone().unwrap_or_default(),
                name: name.clone(),
                uid: pod.metadata.uid.clone(),
            });
            out.events.push(event(
                rs,
                "SuccessfulDelete",
                format!("Deleted pod: {name}"),
                now,
            ));
        }
    }
}

/// `controller.GetPodFromTemplate`: labels, annotations and finalizers of the template,
/// `generateName: <rs>-`, and a controller owner reference.
fn pod_from_template(rs: &ReplicaSet) -> Pod {
    let template = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.clone())
        .unwrap_or_default();
    let tmeta = template.metadata.unwrap_or_default();
    Pod {
        metadata: ObjectMeta {
            generate_name: Some(format!("{}-", rs.metadata.name.as_deref().unwrap_or(""))),
            namespace: rs.metadata.namespace.clone(),
            labels: tmeta.labels,
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![controller_ref(rs)]),
            ..Default::default()
        },
        spec: template.spec,
        status: None,
    }
}

/// `getPodsToDelete`: the first `count` pods in upstream's `ActivePodsWithRanks` order.
fn pods_to_delete<'a>(owned: &[&'a Pod], count: usize) -> Vec<&'a Pod> {
    // Rank = how many of the ReplicaSet's pods share the pod's node: doubled-up pods go first.
    let mut per_node: HashMap<&str, usize> = HashMap::new();
    for pod in owned {
        *per_node.entry(node_of(pod)).or_default() += 1;
    }
    let mut ranked: Vec<&Pod> = owned.to_vec();
    ranked.sort_by(|a, b| deletion_order(a, b, per_node[node_of(a)], per_node[node_of(b)]));
    ranked.truncate(count);
    ranked
}

/// `ActivePodsWithRanks.Less`: `Less` means "delete first". Upstream compares ready and
/// creation times in log2 buckets (LogarithmicScaleDown); exact times are used here, and the
/// name breaks ties so the choice is deterministic.
pub(crate) fn deletion_order(a: &Pod, b: &Pod, rank_a: usize, rank_b: usize) -> Ordering {
    let assigned = |p: &Pod| !node_of(p).is_empty();
    let phase = |p: &Pod| match p.status.as_ref().and_then(|s| s.phase.as_deref()) {
        Some("Unknown") => 1,
        Some("Running") => 2,
        _ => 0,
    };
    assigned(a)
        .cmp(&assigned(b))
        .then_with(|| phase(a).cmp(&phase(b)))
        .then_with(|| pod_ready(a).cmp(&pod_ready(b)))
        .then_with(|| rank_b.cmp(&rank_a))
        .then_with(|| {
            if !(pod_ready(a) && pod_ready(b)) {
                return Ordering::Equal;
            }
            // Both ready: `afterOrZero`, an unknown ready time first, then the more recent.
            match (ready_since(a), ready_since(b)) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => y.cmp(&x),
            }
        })
        .then_with(|| restarts(b).cmp(&restarts(a)))
        .then_with(|| match (created(a), created(b)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => y.cmp(&x),
        })
        .then_with(|| a.metadata.name.cmp(&b.metadata.name))
}

fn calculate_status(
    rs: &ReplicaSet,
    owned: &[&Pod],
    min_ready: i32,
    now: DateTime<Utc>,
) -> ReplicaSetStatus {
    let template_labels: BTreeMap<String, String> = rs
        .spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.metadata.as_ref())
        .and_then(|m| m.labels.clone())
        .unwrap_or_default();
    let fully_labeled = owned
        .iter()
        .filter(|p| set_matches_labels(&template_labels, p.metadata.labels.as_ref()))
        .count();
    let ready = owned.iter().filter(|p| pod_ready(p)).count();
    let available = owned
        .iter()
        .filter(|p| pod_available(p, min_ready, now))
        .count();
    let old = rs.status.clone().unwrap_or_default();
    ReplicaSetStatus {
        replicas: owned.len() as i32,
        fully_labeled_replicas: Some(fully_labeled as i32),
        ready_replicas: Some(ready as i32),
        available_replicas: Some(available as i32),
        observed_generation: rs.metadata.generation,
        conditions: old.conditions,
        terminating_replicas: old.terminating_replicas,
    }
}

fn status_differs(rs: &ReplicaSet, new: &ReplicaSetStatus) -> bool {
    let old = rs.status.clone().unwrap_or_default();
    let n = |v: Option<i32>| v.unwrap_or(0);
    old.replicas != new.replicas
        || n(old.fully_labeled_replicas) != n(new.fully_labeled_replicas)
        || n(old.ready_replicas) != n(new.ready_replicas)
        || n(old.available_replicas) != n(new.available_replicas)
        || old.observed_generation != new.observed_generation
}

/// Time until the first ready-but-not-yet-available pod becomes available.
fn next_availability(owned: &[&Pod], min_ready: i32, now: DateTime<Utc>) -> Option<Duration> {
    if min_ready <= 0 {
        return None;
    }
    owned
        .iter()
        .filter(|p| pod_ready(p) && !pod_available(p, min_ready, now))
        .filter_map(|p| {
            let at = available_at(p, min_ready)?;
            // `IsPodAvailable` needs `now` strictly after `at`: requeue just past it.
            (at - now + chrono::Duration::milliseconds(1)).to_std().ok()
        })
        .min()
}

// ---- helpers shared with the deployment controller ----

pub(crate) fn selector_of(spec: Option<&LabelSelectorSpec>) -> Option<LabelSelector> {
    LabelSelector::from_meta(spec?).ok()
}

pub(crate) fn desired_replicas(rs: &ReplicaSet) -> i32 {
    // The API server defaults `replicas` to 1.
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

fn min_ready_seconds(rs: &ReplicaSet) -> i32 {
    rs.spec
        .as_ref()
        .and_then(|s| s.min_ready_seconds)
        .unwrap_or(0)
}

fn node_of(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
}

/// `FilterActivePods`: not Succeeded, not Failed, not being deleted.
pub(crate) fn is_active(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    pod.metadata.deletion_timestamp.is_none() && !matches!(phase, Some("Succeeded" | "Failed"))
}

fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|cs| cs.iter().map(|c| c.restart_count).max())
        .unwrap_or(0)
}

fn created(pod: &Pod) -> Option<DateTime<Utc>> {
    from_time(pod.metadata.creation_timestamp.as_ref()?)
}

pub(crate) fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true))
}

fn controller_ref(rs: &ReplicaSet) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: rs.metadata.name.clone().unwrap_or_default(),
        uid: rs.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

fn adopt(pod: &Pod, rs: &ReplicaSet) -> Pod {
    let mut pod = pod.clone();
    pod.metadata
        .owner_references
        .get_or_insert_with(Vec::new)
        .push(controller_ref(rs));
    pod
}

fn release(pod: &Pod, uid: &str) -> Pod {
    let mut pod = pod.clone();
    if let Some(refs) = pod.metadata.owner_references.as_mut() {
        refs.retain(|o| o.uid != uid);
    }
    pod
}

/// An apps/v1 object's reference.
pub(crate) fn object_ref(kind: &str, meta: &ObjectMeta) -> ObjectReference {
    super::object_ref("apps/v1", kind, meta)
}

fn event(rs: &ReplicaSet, reason: &str, message: String, now: DateTime<Utc>) -> EventRecord {
    EventRecord {
        type_: "Normal",
        reason: reason.into(),
        message,
        involved: object_ref("ReplicaSet", &rs.metadata),
        component: COMPONENT,
        host: None,
        time: now,
    }
}

pub(crate) fn to_time(t: DateTime<Utc>) -> Time {
    let nanos = t.timestamp_nanos_opt().unwrap_or(0);
    Time(k8s_openapi::jiff::Timestamp::from_nanosecond(i128::from(nanos)).unwrap_or_default())
}

pub(crate) fn from_time(t: &Time) -> Option<DateTime<Utc>> {
    let nanos = i64::try_from(t.0.as_nanosecond()).ok()?;
    Some(DateTime::from_timestamp_nanos(nanos))
}

#[cfg(test)]
#[path = "replicaset_tests.rs"]
pub(crate) mod tests;
