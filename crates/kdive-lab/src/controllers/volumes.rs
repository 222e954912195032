//! The persistent-volume controller (kube-controller-manager's `persistentvolume-binder`),
//! the external provisioner of the default class, and the pvc/pv protection controllers, as
//! pure functions: a claim (or a volume) with what it refers to in, the writes and Events out.
//!
//! The lab's default class `standard` names the provisioner `rancher.io/local-path` (what
//! kind clusters run), with `volumeBindingMode: Immediate` and `reclaimPolicy: Delete`. Its
//! provisioner is simulated in-process: it answers in the same sync as the binder's
//! "waiting for the external provisioner" step, so a claim binds at once.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{
    HostPathVolumeSource, ObjectReference, PersistentVolume, PersistentVolumeClaim,
    PersistentVolumeClaimStatus, PersistentVolumeSpec, PersistentVolumeStatus, Pod,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

use super::{Change, EventRecord};
use kdive_core::quantity::parse_milli;
use kdive_core::selector::LabelSelector;

pub const COMPONENT: &str = "persistentvolume-controller";
pub const PROVISIONER: &str = "rancher.io/local-path";
/// The provisioner's event source: `<provisioner>_<pod>_<id>` upstream; fixed here.
pub const PROVISIONER_COMPONENT: &str = "rancher.io/local-path_local-path-provisioner";
pub const DEFAULT_CLASS: &str = "standard";
pub const IS_DEFAULT_CLASS: &str = "storageclass.kubernetes.io/is-default-class";
pub const PVC_PROTECTION: &str = "kubernetes.io/pvc-protection";
pub const PV_PROTECTION: &str = "kubernetes.io/pv-protection";
const BIND_COMPLETED: &str = "pv.kubernetes.io/bind-completed";
const BOUND_BY_CONTROLLER: &str = "pv.kubernetes.io/bound-by-controller";
const PROVISIONED_BY: &str = "pv.kubernetes.io/provisioned-by";
const STORAGE_PROVISIONER: &str = "volume.kubernetes.io/storage-provisioner";
const BETA_STORAGE_PROVISIONER: &str = "volume.beta.kubernetes.io/storage-provisioner";

/// The StorageClass every lab starts with (as JSON for the store).
pub fn default_storage_class() -> serde_json::Value {
    json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": DEFAULT_CLASS, "annotations": {IS_DEFAULT_CLASS: "true"}},
        "provisioner": PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate"
    })
}

pub struct ClaimInput<'a> {
    pub claim: &'a PersistentVolumeClaim,
    pub volumes: &'a [PersistentVolume],
    pub classes: &'a [StorageClass],
    /// Pods of the claim's namespace (for pvc-protection).
    pub pods: &'a [Pod],
    pub now: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct ClaimOutput {
    /// The claim with spec, annotations and status as they should be (`Update` of the whole
    /// object), or with its protection finalizer removed.
    pub claim: Option<Change<PersistentVolumeClaim>>,
    /// A provisioned volume (`Create`) or a statically bound one (`Update`, whole object).
    pub volume: Option<Change<PersistentVolume>>,
    pub events: Vec<EventRecord>,
    /// Unbound claims are looked at again (upstream resyncs every 15 s).
    pub retry: bool,
}

/// `syncClaim` plus the pvc-protection controller.
pub fn sync_claim(input: &ClaimInput) -> ClaimOutput {
    let claim = input.claim;
    let mut out = ClaimOutput::default();
    if claim.metadata.deletion_timestamp.is_some() {
        if has_finalizer(&claim.metadata, PVC_PROTECTION) && !claim_in_use(claim, input.pods) {
            let mut next = claim.clone();
            remove_finalizer(&mut next.metadata, PVC_PROTECTION);
            out.claim = Some(Change::Update(next));
        }
        return out;
    }
    let volume_name = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.clone())
        .unwrap_or_default();
    if !volume_name.is_empty() {
        sync_bound_claim(input, &volume_name, &mut out);
        return out;
    }
    if let Some(pv) = best_match(claim, input.volumes) {
        bind(claim, pv, false, &mut out);
        return out;
    }
    let class_name = class_of(claim);
    if class_name.is_empty() {
        out.events.push(event(
            claim,
            "Normal",
            "FailedBinding",
            "no persistent volumes available for this claim and no storage class is set".into(),
            COMPONENT,
            input.now,
        ));
        out.retry = true;
        return out;
    }
    let Some(class) = input
        .classes
        .iter()
        .find(|c| c.metadata.name.as_deref() == Some(class_name))
    else {
        out.events.push(event(
            claim,
            "Warning",
            "ProvisioningFailed",
            format!("storageclass.storage.k8s.io \"{class_name}\" not found"),
            COMPONENT,
            input.now,
        ));
        out.retry = true;
        return out;
    };
    if class.provisioner != PROVISIONER {
        // Another provisioner would answer; none runs in the lab.
        out.events
            .push(waiting_event(claim, &class.provisioner, input.now));
        out.retry = true;
        return out;
    }
    provision(input, class, &mut out);
    out
}

fn sync_bound_claim(input: &ClaimInput, volume_name: &str, out: &mut ClaimOutput) {
    let claim = input.claim;
    let uid = claim.metadata.uid.clone().unwrap_or_default();
    let pv = input
        .volumes
        .iter()
        .find(|v| v.metadata.name.as_deref() == Some(volume_name));
    match pv {
        None => {
            if phase_of(claim) != "Lost" {
                let mut next = claim.clone();
                next.status.get_or_insert_with(Default::default).phase = Some("Lost".into());
                out.claim = Some(Change::Update(next));
                out.events.push(event(
                    claim,
                    "Warning",
                    "ClaimLost",
                    "Bound claim has lost its PersistentVolume. Data on the volume is lost!".into(),
                    COMPONENT,
                    input.now,
                ));
            }
        }
        Some(pv) => {
            let claim_ref_uid = pv
                .spec
                .as_ref()
                .and_then(|s| s.claim_ref.as_ref())
                .and_then(|r| r.uid.clone());
            match claim_ref_uid {
                // Pre-bound claim (volumeName set by the user): the volume is free, bind it.
                None => bind(claim, pv, true, out),
                Some(u) if u == uid => {
                    if phase_of(claim) != "Bound" {
                        bind(claim, pv, true, out);
                    }
                }
                // The volume belongs to another claim: wait (upstream emits nothing new).
                Some(_) => out.retry = true,
            }
        }
    }
}

/// `findBestMatchForClaim`: the smallest Available volume of the claim's class with the
/// access modes, volume mode, size and labels it asks for.
fn best_match<'a>(
    claim: &PersistentVolumeClaim,
    volumes: &'a [PersistentVolume],
) -> Option<&'a PersistentVolume> {
    let spec = claim.spec.clone().unwrap_or_default();
    let wanted = requested(claim);
    let modes = spec.access_modes.clone().unwrap_or_default();
    let mode = spec.volume_mode.as_deref().unwrap_or("Filesystem");
    let class = class_of(claim);
    let selector = spec
        .selector
        .as_ref()
        .and_then(|s| LabelSelector::from_meta(s).ok());
    volumes
        .iter()
        .filter(|pv| pv.metadata.deletion_timestamp.is_none())
        .filter(|pv| {
            let s = pv.spec.clone().unwrap_or_default();
            let free = s.claim_ref.is_none()
                || s.claim_ref.as_ref().is_some_and(|r| {
                    r.uid.is_none()
                        && r.name == claim.metadata.name
                        && r.namespace == claim.metadata.namespace
                });
            let pv_modes = s.access_modes.clone().unwrap_or_default();
            free && s.storage_class_name.as_deref().unwrap_or("") == class
                && modes.iter().all(|m| pv_modes.contains(m))
                && s.volume_mode.as_deref().unwrap_or("Filesystem") == mode
                && capacity(pv) >= wanted
                && selector
                    .as_ref()
                    .is_none_or(|sel| sel.matches_labels(pv.metadata.labels.as_ref()))
        })
        .min_by(|a, b| {
            capacity(a)
                .cmp(&capacity(b))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        })
}

/// `bindVolumeToClaim` + `bindClaimToVolume` + both status updates.
fn bind(
    claim: &PersistentVolumeClaim,
    pv: &PersistentVolume,
    provisioned: bool,
    out: &mut ClaimOutput,
) {
    let pv_name = pv.metadata.name.clone().unwrap_or_default();
    let mut volume = pv.clone();
    let vspec = volume.spec.get_or_insert_with(Default::default);
    let needs_ref = vspec
        .claim_ref
        .as_ref()
        .is_none_or(|r| r.uid != claim.metadata.uid);
    if needs_ref {
        vspec.claim_ref = Some(claim_ref(claim));
        if !provisioned {
            annotate(&mut volume.metadata, BOUND_BY_CONTROLLER, "yes");
        }
    }
    volume.status = Some(PersistentVolumeStatus {
        phase: Some("Bound".into()),
        ..volume.status.clone().unwrap_or_default()
    });
    let mut next = claim.clone();
    let pre_bound = claim
        .spec
        .as_ref()
        .and_then(|s| s.volume_name.as_deref())
        .is_some_and(|n| !n.is_empty());
    next.spec.get_or_insert_with(Default::default).volume_name = Some(pv_name);
    annotate(&mut next.metadata, BIND_COMPLETED, "yes");
    if !pre_bound {
        annotate(&mut next.metadata, BOUND_BY_CONTROLLER, "yes");
    }
    let vs = volume.spec.clone().unwrap_or_default();
    next.status = Some(PersistentVolumeClaimStatus {
        phase: Some("Bound".into()),
        access_modes: vs.access_modes.clone(),
        capacity: vs.capacity.clone(),
        ..Default::default()
    });
    out.claim = Some(Change::Update(next));
    if volume != *pv {
        out.volume = Some(Change::Update(volume));
    }
}

/// The binder hands the claim to the class's provisioner, which creates `pvc-<uid>`
/// pre-bound to the claim; the binder then binds both ways.
fn provision(input: &ClaimInput, class: &StorageClass, out: &mut ClaimOutput) {
    let claim = input.claim;
    let uid = claim.metadata.uid.clone().unwrap_or_default();
    let ns = claim.metadata.namespace.clone().unwrap_or_default();
    let name = claim.metadata.name.clone().unwrap_or_default();
    let pv_name = format!("pvc-{uid}");
    out.events
        .push(waiting_event(claim, &class.provisioner, input.now));
    out.events.push(event(
        claim,
        "Normal",
        "Provisioning",
        format!("External provisioner is provisioning volume for claim \"{ns}/{name}\""),
        PROVISIONER_COMPONENT,
        input.now,
    ));
    let spec = claim.spec.clone().unwrap_or_default();
    let request = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage").cloned())
        .unwrap_or_else(|| Quantity("0".into()));
    let mut meta = ObjectMeta {
        name: Some(pv_name.clone()),
        ..Default::default()
    };
    annotate(&mut meta, PROVISIONED_BY, &class.provisioner);
    let pv = PersistentVolume {
        metadata: meta,
        spec: Some(PersistentVolumeSpec {
            access_modes: spec.access_modes.clone(),
            capacity: Some([("storage".to_string(), request)].into_iter().collect()),
            claim_ref: Some(claim_ref(claim)),
            host_path: Some(HostPathVolumeSource {
                path: format!("/var/local-path-provisioner/{pv_name}_{ns}_{name}"),
                type_: Some("DirectoryOrCreate".into()),
            }),
            persistent_volume_reclaim_policy: Some(
                class
                    .reclaim_policy
                    .clone()
                    .unwrap_or_else(|| "Delete".into()),
            ),
            storage_class_name: class.metadata.name.clone(),
            volume_mode: Some(
                spec.volume_mode
                    .clone()
                    .unwrap_or_else(|| "Filesystem".into()),
            ),
            ..Default::default()
        }),
        status: Some(PersistentVolumeStatus {
            phase: Some("Bound".into()),
            ..Default::default()
        }),
    };
    out.events.push(event(
        claim,
        "Normal",
        "ProvisioningSucceeded",
        format!("Successfully provisioned volume {pv_name}"),
        PROVISIONER_COMPONENT,
        input.now,
    ));
    let mut bound = ClaimOutput::default();
    bind(claim, &pv, true, &mut bound);
    if let Some(Change::Update(mut next)) = bound.claim {
        annotate(&mut next.metadata, STORAGE_PROVISIONER, &class.provisioner);
        annotate(
            &mut next.metadata,
            BETA_STORAGE_PROVISIONER,
            &class.provisioner,
        );
        out.claim = Some(Change::Update(next));
    }
    out.volume = Some(Change::Create(pv));
}

fn waiting_event(
    claim: &PersistentVolumeClaim,
    provisioner: &str,
    now: DateTime<Utc>,
) -> EventRecord {
    event(
        claim,
        "Normal",
        "ExternalProvisioning",
        format!(
            "Waiting for a volume to be created either by the external provisioner '{provisioner}' \
             or manually by the system administrator. If volume creation is delayed, please \
             verify that the provisioner is running and correctly registered."
        ),
        COMPONENT,
        now,
    )
}

pub struct VolumeInput<'a> {
    pub volume: &'a PersistentVolume,
    /// The claim its claimRef names (by namespace and name), if it exists.
    pub claim: Option<&'a PersistentVolumeClaim>,
}

#[derive(Debug, Default)]
pub struct VolumeOutput {
    /// The volume's new state (`Update`), or its deletion (reclaim policy Delete).
    pub volume: Option<Change<PersistentVolume>>,
}

/// `syncVolume` (phases and reclaiming) plus the pv-protection controller.
pub fn sync_volume(input: &VolumeInput) -> VolumeOutput {
    let pv = input.volume;
    let mut out = VolumeOutput::default();
    let name = pv.metadata.name.clone().unwrap_or_default();
    let phase = pv
        .status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default();
    let deleting = pv.metadata.deletion_timestamp.is_some();
    if deleting && phase != "Bound" {
        // pv-protection: a volume no claim is bound to may go.
        if has_finalizer(&pv.metadata, PV_PROTECTION) {
            let mut next = pv.clone();
            remove_finalizer(&mut next.metadata, PV_PROTECTION);
            out.volume = Some(Change::Update(next));
        }
        return out;
    }
    // A volume deleted while Bound still needs its phase kept up: once its claim goes it
    // must turn Released, or pv-protection would hold it forever.
    let spec = pv.spec.clone().unwrap_or_default();
    let with_phase = |p: &str| {
        let mut next = pv.clone();
        next.status.get_or_insert_with(Default::default).phase = Some(p.into());
        Some(Change::Update(next))
    };
    let Some(claim_ref) = spec.claim_ref.as_ref() else {
        if phase != "Available" {
            out.volume = with_phase("Available");
        }
        return out;
    };
    let claim = input
        .claim
        .filter(|c| claim_ref.uid.is_none() || c.metadata.uid == claim_ref.uid);
    match claim {
        // Pre-bound by the admin and not taken yet, or bound and in use: Available/Bound.
        Some(c) => {
            let bound_here =
                c.spec.as_ref().and_then(|s| s.volume_name.as_deref()) == Some(name.as_str());
            if claim_ref.uid.is_none() && !bound_here && phase != "Available" {
                out.volume = with_phase("Available");
            } else if bound_here && phase != "Bound" {
                out.volume = with_phase("Bound");
            }
        }
        None if claim_ref.uid.is_none() => {
            if phase != "Available" {
                out.volume = with_phase("Available");
            }
        }
        // The claim is gone: Released, then the reclaim policy decides.
        None => match spec.persistent_volume_reclaim_policy.as_deref() {
            // Released first, as the real binder does: pv-protection holds a Bound volume,
            // so one deleted while still Bound would never lose its finalizer.
            _ if phase == "Bound" => {
                out.volume = with_phase("Released");
            }
            Some("Delete") if !deleting => {
                out.volume = Some(Change::Delete {
                    namespace: String::new(),
                    name,
                    uid: pv.metadata.uid.clone(),
                });
            }
            _ if phase != "Released" && phase != "Failed" => {
                out.volume = with_phase("Released");
            }
            _ => {}
        },
    }
    out
}

/// Whether a pod that has not finished uses the claim.
pub fn claim_in_use(claim: &PersistentVolumeClaim, pods: &[Pod]) -> bool {
    let name = claim.metadata.name.as_deref().unwrap_or("");
    pods.iter()
        .filter(|p| {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            !matches!(phase, Some("Succeeded" | "Failed"))
        })
        .any(|p| {
            p.spec
                .as_ref()
                .and_then(|s| s.volumes.as_ref())
                .is_some_and(|vs| {
                    vs.iter().any(|v| {
                        v.persistent_volume_claim
                            .as_ref()
                            .is_some_and(|c| c.claim_name == name)
                    })
                })
        })
}

fn class_of(claim: &PersistentVolumeClaim) -> &str {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref())
        .unwrap_or("")
}

fn phase_of(claim: &PersistentVolumeClaim) -> &str {
    claim
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("")
}

fn requested(claim: &PersistentVolumeClaim) -> i128 {
    claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .and_then(|q| parse_milli(&q.0))
        .unwrap_or(0)
}

fn capacity(pv: &PersistentVolume) -> i128 {
    pv.spec
        .as_ref()
        .and_then(|s| s.capacity.as_ref())
        .and_then(|c| c.get("storage"))
        .and_then(|q| parse_milli(&q.0))
        .unwrap_or(0)
}

fn claim_ref(claim: &PersistentVolumeClaim) -> ObjectReference {
    super::object_ref("v1", "PersistentVolumeClaim", &claim.metadata)
}

fn annotate(meta: &mut ObjectMeta, key: &str, value: &str) {
    meta.annotations
        .get_or_insert_with(Default::default)
        .insert(key.into(), value.into());
}

fn has_finalizer(meta: &ObjectMeta, f: &str) -> bool {
    meta.finalizers
        .as_ref()
        .is_some_and(|l| l.iter().any(|x| x == f))
}

fn remove_finalizer(meta: &mut ObjectMeta, f: &str) {
    if let Some(list) = meta.finalizers.as_mut() {
        list.retain(|x| x != f);
    }
}

fn event(
    claim: &PersistentVolumeClaim,
    type_: &'static str,
    reason: &str,
    message: String,
    component: &'static str,
    now: DateTime<Utc>,
) -> EventRecord {
    EventRecord {
        type_,
        reason: reason.into(),
        message,
        involved: claim_ref(claim),
        component,
        host: None,
        time: now,
    }
}

#[cfg(test)]
#[path = "volumes_tests.rs"]
mod tests;
