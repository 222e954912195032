//! The StatefulSet controller (kube-controller-manager's `statefulset` controller) as a pure
//! reconcile function: one StatefulSet with its pods and the claims of its namespace in, the
//! claims and pods to create, the pods to delete, the status and the Events out.
//!
//! Pods are `<set>-<ordinal>`; each volumeClaimTemplate gives a claim
//! `<template>-<set>-<ordinal>`, created before the pod and not owned by the set under the
//! default retention policy (Retain), so it survives the set. Revisions: upstream stores
//! ControllerRevisions; the lab does not serve them, so a revision is `<set>-<hash of the
//! pod template>` (the deployment's hash) and a pod the set re-creates below the partition
//! gets the update revision's template (upstream would use the current revision's).
//!
//! As the replicaset controller, the loop applies one answer and re-lists before asking
//! again (upstream's expectations).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, Pod, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::replicaset::{controller_of, object_ref};
use super::revision::compute_hash;
use super::{Change, EventRecord};
use kdive_core::model::pod_readiness::{available_at, pod_available, pod_ready};
use kdive_core::model::revision::{CONTROLLER_REVISION_HASH_LABEL, controller_revision_hash};

pub const COMPONENT: &str = "statefulset-controller";
pub const POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// What the controller reads for one StatefulSet.
pub struct StatefulSetInput<'a> {
    pub set: &'a StatefulSet,
    /// Pods of the namespace; only those the set controls count.
    pub pods: &'a [Pod],
    /// Claims of the namespace, to know which are missing.
    pub claims: &'a [PersistentVolumeClaim],
    pub now: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct StatefulSetOutput {
    /// Claims to create before `pods_to_create` (already named), with their Events.
    pub claims_to_create: Vec<(PersistentVolumeClaim, EventRecord)>,
    pub pods_to_create: Vec<(Pod, EventRecord)>,
    /// Deletions (scale down, rolling update, failed pods), with their Events.
    pub pod_deletes: Vec<(Change<Pod>, EventRecord)>,
    pub status: Option<Change<StatefulSet>>,
    /// minReadySeconds: when a ready pod becomes available.
    pub requeue_after: Option<Duration>,
}

pub fn reconcile(input: &StatefulSetInput) -> StatefulSetOutput {
    let set = input.set;
    let mut out = StatefulSetOutput::default();
    let uid = set.metadata.uid.clone().unwrap_or_default();
    let name = set.metadata.name.clone().unwrap_or_default();
    let spec = set.spec.clone().unwrap_or_default();
    let update_revision = revision_name(set);
    let current_revision = set
        .status
        .as_ref()
        .and_then(|s| s.current_revision.clone())
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| update_revision.clone());

    // The pods this set controls, by ordinal.
    let mut by_ordinal: BTreeMap<i32, &Pod> = BTreeMap::new();
    for pod in input.pods {
        let owned = controller_of(&pod.metadata).is_some_and(|o| o.uid == uid && !uid.is_empty());
        if let (true, Some(ord)) = (owned, ordinal_of(&name, pod)) {
            by_ordinal.insert(ord, pod);
        }
    }
    let start = spec
        .ordinals
        .as_ref()
        .and_then(|o| o.start)
        .unwrap_or(0)
        .max(0);
    let replicas = spec.replicas.unwrap_or(1).max(0);
    let end = start.saturating_add(replicas);
    let monotonic = spec.pod_management_policy.as_deref() != Some("Parallel");
    let min_ready = spec.min_ready_seconds.unwrap_or(0);

    // What the pods will be after this sync: ordinal → (revision, running+ready, terminating).
    let mut after: BTreeMap<i32, PodState> = by_ordinal
        .iter()
        .map(|(o, p)| (*o, PodState::of(p, min_ready, input.now)))
        .collect();

    if set.metadata.deletion_timestamp.is_none() {
        let mut plan = Plan {
            set,
            name: &name,
            now: input.now,
            claims: input.claims,
            update_revision: &update_revision,
            out: &mut out,
            after: &mut after,
        };
        plan.sync(&by_ordinal, start, end, monotonic, &spec);
    }

    let status = compute_status(
        set,
        &after,
        &current_revision,
        &update_revision,
        replicas,
        &spec,
    );
    if status_differs(set, &status) {
        let mut updated = set.clone();
        updated.status = Some(status);
        out.status = Some(Change::UpdateStatus(updated));
    }
    out.requeue_after = next_availability(&by_ordinal, min_ready, input.now);
    out
}

/// One pod as the status counts it.
#[derive(Debug, Clone)]
struct PodState {
    revision: String,
    ready: bool,
    available: bool,
    terminating: bool,
}

impl PodState {
    fn of(pod: &Pod, min_ready: i32, now: DateTime<Utc>) -> PodState {
        PodState {
            revision: controller_revision_hash(&pod.metadata).to_string(),
            ready: running_and_ready(pod),
            available: running_and_ready(pod) && pod_available(pod, min_ready, now),
            terminating: pod.metadata.deletion_timestamp.is_some(),
        }
    }
}

struct Plan<'a> {
    set: &'a StatefulSet,
    name: &'a str,
    now: DateTime<Utc>,
    claims: &'a [PersistentVolumeClaim],
    update_revision: &'a str,
    out: &'a mut StatefulSetOutput,
    after: &'a mut BTreeMap<i32, PodState>,
}

impl Plan<'_> {
    /// `updateStatefulSet`'s slow path: replicas in ordinal order, then condemned pods from
    /// the highest ordinal, then the rolling update from the highest ordinal. In
    /// OrderedReady mode every step that leaves a pod not Running and Ready ends the sync.
    fn sync(
        &mut self,
        pods: &BTreeMap<i32, &Pod>,
        start: i32,
        end: i32,
        monotonic: bool,
        spec: &k8s_openapi::api::apps::v1::StatefulSetSpec,
    ) {
        let condemned: Vec<(i32, &Pod)> = pods
            .iter()
            .filter(|(o, _)| **o < start || **o >= end)
            .map(|(o, p)| (*o, *p))
            .collect();
        // The first unhealthy pod, replicas first: the only condemned pod that may be
        // deleted while unhealthy in OrderedReady mode.
        let first_unhealthy = pods
            .iter()
            .filter(|(o, _)| **o >= start && **o < end)
            .chain(condemned.iter().map(|(o, p)| (o, p)))
            .find(|(_, p)| !running_and_ready(p) || p.metadata.deletion_timestamp.is_some())
            .map(|(o, _)| *o);

        for ord in start..end {
            match pods.get(&ord) {
                None => {
                    self.create(ord);
                    if monotonic {
                        return;
                    }
                }
                Some(pod) if is_failed(pod) => {
                    // Upstream deletes a Failed/Succeeded pod and creates it again next sync.
                    self.delete(ord, pod);
                    if monotonic {
                        return;
                    }
                }
                Some(pod) if pod.metadata.deletion_timestamp.is_some() => {
                    if monotonic {
                        return;
                    }
                }
                Some(pod) if !running_and_ready(pod) => {
                    if monotonic {
                        return;
                    }
                }
                Some(_) => {}
            }
        }

        for (ord, pod) in condemned.iter().rev() {
            if pod.metadata.deletion_timestamp.is_some() {
                if monotonic {
                    return;
                }
                continue;
            }
            if monotonic && !running_and_ready(pod) && first_unhealthy != Some(*ord) {
                return;
            }
            self.delete(*ord, pod);
            if monotonic {
                return;
            }
        }

        let strategy = spec.update_strategy.clone().unwrap_or_default();
        if strategy.type_.as_deref() == Some("OnDelete") {
            return;
        }
        let partition = strategy
            .rolling_update
            .and_then(|r| r.partition)
            .unwrap_or(0)
            .max(0);
        let update_min = start.saturating_add(partition);
        for ord in (update_min.max(start)..end).rev() {
            let Some(pod) = pods.get(&ord) else { continue };
            if controller_revision_hash(&pod.metadata) != self.update_revision
                && pod.metadata.deletion_timestamp.is_none()
            {
                self.delete(ord, pod);
                return;
            }
            if !running_and_ready(pod) {
                return;
            }
        }
    }

    fn create(&mut self, ord: i32) {
        let pod = new_pod(self.set, ord, self.update_revision);
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        for claim in claims_for(self.set, ord) {
            let claim_name = claim.metadata.name.clone().unwrap_or_default();
            if self
                .claims
                .iter()
                .any(|c| c.metadata.name.as_deref() == Some(claim_name.as_str()))
            {
                continue;
            }
            let message = format!(
                "create Claim {claim_name} Pod {pod_name} in StatefulSet {} success",
                self.name
            );
            let event = event(self.set, "SuccessfulCreate", message, self.now);
            self.out.claims_to_create.push((claim, event));
        }
        let message = format!(
            "create Pod {pod_name} in StatefulSet {} successful",
            self.name
        );
        let event = event(self.set, "SuccessfulCreate", message, self.now);
        self.out.pods_to_create.push((pod, event));
        self.after.insert(
            ord,
            PodState {
                revision: self.update_revision.to_string(),
                ready: false,
                available: false,
                terminating: false,
            },
        );
    }

    fn delete(&mut self, ord: i32, pod: &Pod) {
        let pod_name = pod.metadata.name.clone().unwrap_or_default();
        let message = format!(
            "delete Pod {pod_name} in StatefulSet {} successful",
            self.name
        );
        let change = Change::Delete {
            namespace: pod.metadata.namespace.clone().unwrap_or_default(),
            name: pod_name,
            uid: pod.metadata.uid.clone(),
        };
        let event = event(self.set, "SuccessfulDelete", message, self.now);
        self.out.pod_deletes.push((change, event));
        if let Some(state) = self.after.get_mut(&ord) {
            state.terminating = true;
        }
    }
}

/// `<set>-<hash>`: the revision name pods carry in `controller-revision-hash`.
pub fn revision_name(set: &StatefulSet) -> String {
    let template = set
        .spec
        .as_ref()
        .map(|s| s.template.clone())
        .unwrap_or_default();
    // As upstream, a missing collisionCount counts as 0 (so the revision does not change
    // when the first status write records it).
    let collisions = Some(
        set.status
            .as_ref()
            .and_then(|s| s.collision_count)
            .unwrap_or(0),
    );
    format!(
        "{}-{}",
        set.metadata.name.as_deref().unwrap_or(""),
        compute_hash(&template, collisions)
    )
}

/// `newStatefulSetPod`: the template's labels and annotations, the identity labels, the
/// stable hostname and subdomain, and the claims' volumes.
pub fn new_pod(set: &StatefulSet, ord: i32, revision: &str) -> Pod {
    let set_name = set.metadata.name.clone().unwrap_or_default();
    let spec = set.spec.clone().unwrap_or_default();
    let tmeta = spec.template.metadata.clone().unwrap_or_default();
    let pod_name = format!("{set_name}-{ord}");
    let mut labels = tmeta.labels.unwrap_or_default();
    labels.insert(POD_NAME_LABEL.into(), pod_name.clone());
    labels.insert(POD_INDEX_LABEL.into(), ord.to_string());
    labels.insert(CONTROLLER_REVISION_HASH_LABEL.into(), revision.to_string());
    let mut pod_spec = spec.template.spec.clone().unwrap_or_default();
    pod_spec.hostname = Some(pod_name.clone());
    if let Some(service) = spec.service_name.clone().filter(|s| !s.is_empty()) {
        pod_spec.subdomain = Some(service);
    }
    // updateStorage: claim volumes first, then the template's others of different names.
    let templates = spec.volume_claim_templates.clone().unwrap_or_default();
    let mut volumes: Vec<Volume> = templates
        .iter()
        .filter_map(|t| {
            let template_name = t.metadata.name.clone()?;
            Some(Volume {
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: claim_name(&template_name, &set_name, ord),
                    read_only: None,
                }),
                name: template_name,
                ..Default::default()
            })
        })
        .collect();
    for v in pod_spec.volumes.take().unwrap_or_default() {
        if !volumes.iter().any(|c| c.name == v.name) {
            volumes.push(v);
        }
    }
    if !volumes.is_empty() {
        pod_spec.volumes = Some(volumes);
    }
    Pod {
        metadata: ObjectMeta {
            name: Some(pod_name),
            namespace: set.metadata.namespace.clone(),
            labels: Some(labels),
            annotations: tmeta.annotations,
            finalizers: tmeta.finalizers,
            owner_references: Some(vec![set_ref(set, true)]),
            ..Default::default()
        },
        spec: Some(pod_spec),
        status: None,
    }
}

/// `<template>-<set>-<ordinal>`.
pub fn claim_name(template: &str, set: &str, ord: i32) -> String {
    format!("{template}-{set}-{ord}")
}

/// `getPersistentVolumeClaims`: one claim per template, labelled with the template's labels
/// and the set's selector labels. Owned by the set only when `whenDeleted: Delete`.
pub fn claims_for(set: &StatefulSet, ord: i32) -> Vec<PersistentVolumeClaim> {
    let set_name = set.metadata.name.clone().unwrap_or_default();
    let spec = set.spec.clone().unwrap_or_default();
    let selector = spec.selector.match_labels.clone().unwrap_or_default();
    let delete_with_set = spec
        .persistent_volume_claim_retention_policy
        .as_ref()
        .and_then(|p| p.when_deleted.as_deref())
        == Some("Delete");
    spec.volume_claim_templates
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| {
            let template_name = t.metadata.name.clone()?;
            let mut claim = t;
            let mut labels = claim.metadata.labels.take().unwrap_or_default();
            labels.extend(selector.clone());
            claim.metadata = ObjectMeta {
                name: Some(claim_name(&template_name, &set_name, ord)),
                namespace: set.metadata.namespace.clone(),
                labels: Some(labels),
                annotations: claim.metadata.annotations.take(),
                owner_references: delete_with_set.then(|| vec![set_ref(set, false)]),
                ..Default::default()
            };
            claim.status = None;
            Some(claim)
        })
        .collect()
}

fn compute_status(
    set: &StatefulSet,
    pods: &BTreeMap<i32, PodState>,
    current_revision: &str,
    update_revision: &str,
    replicas: i32,
    spec: &k8s_openapi::api::apps::v1::StatefulSetSpec,
) -> StatefulSetStatus {
    let old = set.status.clone().unwrap_or_default();
    let mut status = StatefulSetStatus {
        observed_generation: set.metadata.generation,
        collision_count: Some(old.collision_count.unwrap_or(0)),
        current_revision: Some(current_revision.to_string()),
        update_revision: Some(update_revision.to_string()),
        conditions: old.conditions.clone(),
        ..Default::default()
    };
    let (mut ready, mut available, mut current, mut updated) = (0, 0, 0, 0);
    for state in pods.values() {
        status.replicas += 1;
        if state.ready {
            ready += 1;
        }
        if state.available {
            available += 1;
        }
        if !state.terminating {
            if state.revision == current_revision {
                current += 1;
            }
            if state.revision == update_revision {
                updated += 1;
            }
        }
    }
    // completeRollingUpdate: every pod updated and ready makes the update revision current.
    let rolling = spec
        .update_strategy
        .as_ref()
        .and_then(|s| s.type_.as_deref())
        != Some("OnDelete");
    if rolling
        && current_revision != update_revision
        && updated == status.replicas
        && ready == status.replicas
        && status.replicas == replicas
    {
        current = updated;
        status.current_revision = Some(update_revision.to_string());
    }
    status.ready_replicas = Some(ready);
    status.available_replicas = Some(available);
    status.current_replicas = Some(current);
    status.updated_replicas = Some(updated);
    status
}

fn status_differs(set: &StatefulSet, new: &StatefulSetStatus) -> bool {
    let old = set.status.clone().unwrap_or_default();
    let n = |v: Option<i32>| v.unwrap_or(0);
    old.replicas != new.replicas
        || n(old.ready_replicas) != n(new.ready_replicas)
        || n(old.available_replicas) != n(new.available_replicas)
        || n(old.current_replicas) != n(new.current_replicas)
        || n(old.updated_replicas) != n(new.updated_replicas)
        || old.current_revision != new.current_revision
        || old.update_revision != new.update_revision
        || old.observed_generation != new.observed_generation
        || old.collision_count != new.collision_count
}

fn next_availability(
    pods: &BTreeMap<i32, &Pod>,
    min_ready: i32,
    now: DateTime<Utc>,
) -> Option<Duration> {
    if min_ready <= 0 {
        return None;
    }
    pods.values()
        .filter(|p| running_and_ready(p) && !pod_available(p, min_ready, now))
        .filter_map(|p| {
            let at = available_at(p, min_ready)?;
            (at - now + chrono::Duration::milliseconds(1)).to_std().ok()
        })
        .min()
}

/// The ordinal in `<set>-<ordinal>`, if the pod's name has that form.
pub fn ordinal_of(set_name: &str, pod: &Pod) -> Option<i32> {
    let name = pod.metadata.name.as_deref()?;
    let rest = name.strip_prefix(set_name)?.strip_prefix('-')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// `isRunningAndReady`.
fn running_and_ready(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    phase == Some("Running") && pod_ready(pod)
}

fn is_failed(pod: &Pod) -> bool {
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    matches!(phase, Some("Failed" | "Succeeded"))
}

fn set_ref(set: &StatefulSet, controller: bool) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "StatefulSet".into(),
        name: set.metadata.name.clone().unwrap_or_default(),
        uid: set.metadata.uid.clone().unwrap_or_default(),
        controller: Some(controller),
        block_owner_deletion: Some(true),
    }
}

fn event(set: &StatefulSet, reason: &str, message: String, now: DateTime<Utc>) -> EventRecord {
    let type_ = "Normal";
    EventRecord {
        type_,
        reason: reason.into(),
        message,
        involved: object_ref("StatefulSet", &set.metadata),
        component: COMPONENT,
        host: None,
        time: now,
    }
}

#[cfg(test)]
#[path = "statefulset_tests.rs"]
mod tests;
