use chrono::TimeZone;
use k8s_openapi::api::core::v1::{
    PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, PodSpec, PodStatus,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::*;

fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap()
}

fn standard() -> StorageClass {
    serde_json::from_value(default_storage_class()).unwrap()
}

fn claim(name: &str, class: Option<&str>, size: &str) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("demo".into()),
            uid: Some(format!("uid-{name}")),
            finalizers: Some(vec![PVC_PROTECTION.into()]),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: class.map(String::from),
            volume_mode: Some("Filesystem".into()),
            resources: Some(VolumeResourceRequirements {
                requests: Some([("storage".to_string(), Quantity(size.into()))].into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        status: Some(PersistentVolumeClaimStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        }),
    }
}

fn volume(name: &str, class: &str, size: &str, policy: &str) -> PersistentVolume {
    PersistentVolume {
        metadata: ObjectMeta {
            name: Some(name.into()),
            uid: Some(format!("uid-{name}")),
            finalizers: Some(vec![PV_PROTECTION.into()]),
            ..Default::default()
        },
        spec: Some(PersistentVolumeSpec {
            access_modes: Some(vec!["ReadWriteOnce".into(), "ReadOnlyMany".into()]),
            capacity: Some([("storage".to_string(), Quantity(size.into()))].into()),
            storage_class_name: Some(class.into()),
            persistent_volume_reclaim_policy: Some(policy.into()),
            volume_mode: Some("Filesystem".into()),
            ..Default::default()
        }),
        status: Some(PersistentVolumeStatus {
            phase: Some("Available".into()),
            ..Default::default()
        }),
    }
}

fn sync(c: &PersistentVolumeClaim, vols: &[PersistentVolume], pods: &[Pod]) -> ClaimOutput {
    sync_claim(&ClaimInput {
        claim: c,
        volumes: vols,
        classes: &[standard()],
        pods,
        now: t0(),
    })
}

fn updated_claim(out: &ClaimOutput) -> PersistentVolumeClaim {
    match &out.claim {
        Some(Change::Update(c)) => c.clone(),
        other => panic!("no claim update: {other:?}"),
    }
}

fn ann<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

#[test]
fn a_claim_of_the_default_class_is_provisioned_and_bound() {
    let c = claim("data-postgres-0", Some("standard"), "1Gi");
    let out = sync(&c, &[], &[]);
    let Some(Change::Create(pv)) = &out.volume else {
        panic!("no volume created: {:?}", out.volume)
    };
    assert_eq!(pv.metadata.name.as_deref(), Some("pvc-uid-data-postgres-0"));
    assert_eq!(ann(&pv.metadata, PROVISIONED_BY), Some(PROVISIONER));
    let spec = pv.spec.as_ref().unwrap();
    assert_eq!(spec.capacity.as_ref().unwrap()["storage"].0, "1Gi");
    assert_eq!(
        spec.access_modes.as_deref(),
        Some(&["ReadWriteOnce".to_string()][..])
    );
    assert_eq!(
        spec.persistent_volume_reclaim_policy.as_deref(),
        Some("Delete")
    );
    assert_eq!(spec.storage_class_name.as_deref(), Some("standard"));
    let cref = spec.claim_ref.as_ref().unwrap();
    assert_eq!(cref.name.as_deref(), Some("data-postgres-0"));
    assert_eq!(cref.uid.as_deref(), Some("uid-data-postgres-0"));
    assert!(spec.host_path.is_some());

    let bound = updated_claim(&out);
    assert_eq!(
        bound.spec.as_ref().unwrap().volume_name.as_deref(),
        Some("pvc-uid-data-postgres-0")
    );
    assert_eq!(ann(&bound.metadata, BIND_COMPLETED), Some("yes"));
    assert_eq!(ann(&bound.metadata, BOUND_BY_CONTROLLER), Some("yes"));
    assert_eq!(ann(&bound.metadata, STORAGE_PROVISIONER), Some(PROVISIONER));
    let st = bound.status.unwrap();
    assert_eq!(st.phase.as_deref(), Some("Bound"));
    assert_eq!(st.capacity.unwrap()["storage"].0, "1Gi");

    let reasons: Vec<&str> = out.events.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "ExternalProvisioning",
            "Provisioning",
            "ProvisioningSucceeded"
        ]
    );
    assert_eq!(
        out.events[1].message,
        "External provisioner is provisioning volume for claim \"demo/data-postgres-0\""
    );
    assert_eq!(
        out.events[2].message,
        "Successfully provisioned volume pvc-uid-data-postgres-0"
    );
    assert!(out.events[0].message.starts_with(
        "Waiting for a volume to be created either by the external provisioner 'rancher.io/local-path'"
    ));
}

#[test]
fn an_available_volume_that_fits_is_bound_statically_smallest_first() {
    let c = claim("data", Some("manual"), "1Gi");
    let small = volume("pv-small", "manual", "500Mi", "Retain");
    let fits = volume("pv-2gi", "manual", "2Gi", "Retain");
    let best = volume("pv-1gi", "manual", "1Gi", "Retain");
    let other_class = volume("pv-other", "fast", "1Gi", "Retain");
    let out = sync(&c, &[small, fits, other_class, best], &[]);
    let Some(Change::Update(pv)) = &out.volume else {
        panic!("no volume bound: {:?}", out.volume)
    };
    assert_eq!(pv.metadata.name.as_deref(), Some("pv-1gi"));
    assert_eq!(ann(&pv.metadata, BOUND_BY_CONTROLLER), Some("yes"));
    assert_eq!(pv.status.as_ref().unwrap().phase.as_deref(), Some("Bound"));
    let bound = updated_claim(&out);
    assert_eq!(bound.spec.unwrap().volume_name.as_deref(), Some("pv-1gi"));
    // The claim shows the volume's modes and size, not its own request.
    let st = bound.status.unwrap();
    assert_eq!(st.access_modes.unwrap().len(), 2);
    assert!(out.events.is_empty());
}

#[test]
fn no_class_and_no_volume_is_failed_binding() {
    let out = sync(&claim("data", Some(""), "1Gi"), &[], &[]);
    assert!(out.claim.is_none() && out.volume.is_none());
    assert_eq!(out.events[0].reason, "FailedBinding");
    assert_eq!(
        out.events[0].message,
        "no persistent volumes available for this claim and no storage class is set"
    );
    let missing = sync(&claim("data", Some("fast"), "1Gi"), &[], &[]);
    assert_eq!(missing.events[0].reason, "ProvisioningFailed");
    assert_eq!(
        missing.events[0].message,
        "storageclass.storage.k8s.io \"fast\" not found"
    );
    assert!(missing.retry);
}

fn released_volume(policy: &str) -> PersistentVolume {
    let mut pv = volume("pv-1", "manual", "1Gi", policy);
    let spec = pv.spec.as_mut().unwrap();
    spec.claim_ref = Some(ObjectReference {
        name: Some("data".into()),
        namespace: Some("demo".into()),
        uid: Some("uid-data".into()),
        ..Default::default()
    });
    pv.status.as_mut().unwrap().phase = Some("Bound".into());
    pv
}

#[test]
fn a_retained_volume_of_a_deleted_claim_is_released_with_its_claim_ref() {
    let pv = released_volume("Retain");
    let out = sync_volume(&VolumeInput {
        volume: &pv,
        claim: None,
    });
    let Some(Change::Update(next)) = out.volume else {
        panic!("no update")
    };
    assert_eq!(next.status.unwrap().phase.as_deref(), Some("Released"));
    assert!(next.spec.unwrap().claim_ref.is_some(), "claimRef kept");
}

#[test]
fn a_deleted_volume_of_a_deleted_claim_is_deleted_then_unprotected() {
    let mut pv = released_volume("Delete");
    // Released first (the binder's order), then deleted.
    let out = sync_volume(&VolumeInput {
        volume: &pv,
        claim: None,
    });
    let Some(Change::Update(next)) = out.volume else {
        panic!("not released first")
    };
    assert_eq!(next.status.unwrap().phase.as_deref(), Some("Released"));
    pv.status.as_mut().unwrap().phase = Some("Released".into());
    let out = sync_volume(&VolumeInput {
        volume: &pv,
        claim: None,
    });
    assert!(matches!(out.volume, Some(Change::Delete { ref name, .. }) if name == "pv-1"));
    pv.status.as_mut().unwrap().phase = Some("Bound".into());
    // Being deleted while still Bound to a live claim: pv-protection holds it.
    let mut deleting = pv.clone();
    deleting.metadata.deletion_timestamp = Some(Time(Default::default()));
    let mut live = claim("data", Some("manual"), "1Gi");
    live.metadata.uid = Some("uid-data".into());
    live.spec.as_mut().unwrap().volume_name = Some("pv-1".into());
    let held = sync_volume(&VolumeInput {
        volume: &deleting,
        claim: Some(&live),
    });
    assert!(held.volume.is_none(), "held while its claim is bound");
    // The claim goes: Released (not stuck Bound), and nothing deletes it twice.
    let released = sync_volume(&VolumeInput {
        volume: &deleting,
        claim: None,
    });
    let Some(Change::Update(next)) = released.volume else {
        panic!("a deleting volume whose claim went stayed Bound")
    };
    assert_eq!(next.status.unwrap().phase.as_deref(), Some("Released"));
    deleting.status.as_mut().unwrap().phase = Some("Released".into());
    let freed = sync_volume(&VolumeInput {
        volume: &deleting,
        claim: None,
    });
    let Some(Change::Update(next)) = freed.volume else {
        panic!("finalizer not removed")
    };
    assert_eq!(next.metadata.finalizers, Some(vec![]));
}

#[test]
fn a_claim_of_a_new_incarnation_does_not_keep_the_volume_bound() {
    let pv = released_volume("Retain");
    let mut same_name = claim("data", Some("manual"), "1Gi");
    same_name.metadata.uid = Some("uid-other".into());
    let out = sync_volume(&VolumeInput {
        volume: &pv,
        claim: Some(&same_name),
    });
    let Some(Change::Update(next)) = out.volume else {
        panic!("no update")
    };
    assert_eq!(next.status.unwrap().phase.as_deref(), Some("Released"));
}

#[test]
fn pvc_protection_waits_for_pods_using_the_claim() {
    let mut c = claim("data", Some("standard"), "1Gi");
    c.metadata.deletion_timestamp = Some(Time(Default::default()));
    let user = Pod {
        spec: Some(PodSpec {
            volumes: Some(vec![k8s_openapi::api::core::v1::Volume {
                name: "data".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: "data".into(),
                    read_only: None,
                }),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: Some(PodStatus {
            phase: Some("Running".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(sync(&c, &[], std::slice::from_ref(&user)).claim.is_none());
    let mut finished = user.clone();
    finished.status.as_mut().unwrap().phase = Some("Succeeded".into());
    let out = sync(&c, &[], &[finished]);
    assert_eq!(updated_claim(&out).metadata.finalizers, Some(vec![]));
}

#[test]
fn a_bound_claim_whose_volume_vanished_is_lost() {
    let mut c = claim("data", Some("standard"), "1Gi");
    c.spec.as_mut().unwrap().volume_name = Some("pv-gone".into());
    c.status.as_mut().unwrap().phase = Some("Bound".into());
    let out = sync(&c, &[], &[]);
    assert_eq!(
        updated_claim(&out).status.unwrap().phase.as_deref(),
        Some("Lost")
    );
    assert_eq!(out.events[0].reason, "ClaimLost");
}
