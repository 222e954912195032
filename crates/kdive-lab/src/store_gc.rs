//! Deletion with a propagation policy, and the garbage collector's rules, run synchronously
//! inside the store's lock (so they are ordered with every other write):
//!
//! - background: the owner goes at once; each dependent is then deleted (or, if another
//!   owner that is not itself going still holds it, only loses the reference);
//! - foreground: the owner stays, with a deletionTimestamp and the `foregroundDeletion`
//!   finalizer, while its dependents are deleted; once none with `blockOwnerDeletion: true`
//!   is left the finalizer is removed and the owner goes;
//! - orphan: dependents lose their reference to the owner and stay.
//!
//! A dependent held by its own finalizers gets a deletionTimestamp and stays until they are
//! removed; an owner waiting for it goes on that removal.

use super::*;

pub(super) const FOREGROUND: &str = "foregroundDeletion";
pub(super) const ORPHAN: &str = "orphan";

type Events = broadcast::Sender<Arc<Event>>;
type Key = (String, String);

/// Deletes one object as the API server does, then lets the collector do its part.
pub(super) fn delete_object(
    inner: &mut Inner,
    events: &Events,
    now: DateTime<Utc>,
    res: ResourceId,
    key: Key,
    propagation: Propagation,
    grace: Option<i64>,
) -> Result<Deleted, StoreError> {
    let current = inner.objects[res.0 as usize]
        .get(&key)
        .cloned()
        .ok_or_else(|| StoreError::NotFound(key.1.clone()))?;
    let mut value = current.value();
    // A running pod terminates gracefully first (its kubelet finishes the deletion), whether
    // a user or the collector deletes it.
    if res.info().kind == "Pod" {
        match pod_graceful_delete(&mut value, grace, now) {
            Graceful::Immediate => {}
            Graceful::Unchanged => return Ok(Deleted::Pending(current)),
            Graceful::Pending => {
                let stored = commit(
                    inner,
                    events,
                    res,
                    key,
                    value,
                    EventType::Modified,
                    Some(current),
                );
                return Ok(Deleted::Pending(stored));
            }
        }
    }
    let before = finalizers(&value);
    let mut fins = before.clone();
    if propagation == Propagation::Orphan || fins.iter().any(|f| f == ORPHAN) {
        orphan_dependents(inner, events, &current.uid);
        fins.retain(|f| f != ORPHAN);
    }
    if propagation == Propagation::Foreground
        && !fins.iter().any(|f| f == FOREGROUND)
        && !dependents_of(inner, &current.uid).is_empty()
    {
        fins.push(FOREGROUND.to_string());
    }
    // A namespace's spec finalizer ("kubernetes") is the namespace controller's: it empties
    // the namespace while it shows as Terminating, then finalizes it.
    let namespace_finalizers = res.info().kind == "Namespace"
        && value
            .pointer("/spec/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
    let deleting = value.pointer("/metadata/deletionTimestamp").is_some();
    if namespace_finalizers && !deleting {
        value["status"] = json!({"phase": "Terminating"});
    }
    set_finalizers(&mut value, &fins);
    if fins.is_empty() && !namespace_finalizers {
        let name = key.1.clone();
        let stored = gone(inner, events, now, res, key, value);
        if res.info().kind == "Namespace" {
            delete_namespace_contents(inner, events, &name);
        }
        return Ok(Deleted::Gone(stored));
    }
    let stored = if !deleting {
        let meta = metadata_mut(&mut value)?;
        meta.insert("deletionTimestamp".into(), Value::from(format_time(now)));
        meta.insert(
            "deletionGracePeriodSeconds".into(),
            Value::from(grace.unwrap_or(0)),
        );
        bump_generation(&mut value);
        commit(
            inner,
            events,
            res,
            key.clone(),
            value,
            EventType::Modified,
            Some(current),
        )
    } else if fins != before {
        commit(
            inner,
            events,
            res,
            key.clone(),
            value,
            EventType::Modified,
            Some(current),
        )
    } else {
        current
    };
    if fins.iter().any(|f| f == FOREGROUND) {
        collect_dependents(inner, events, now, &stored.uid);
        release_if_unblocked(inner, events, now, res, &key);
    }
    Ok(match inner.objects[res.0 as usize].get(&key) {
        Some(latest) => Deleted::Pending(latest.clone()),
        None => Deleted::Gone(stored),
    })
}

/// Removes an object, then collects what depended on it and releases owners that waited
/// for it.
pub(super) fn gone(
    inner: &mut Inner,
    events: &Events,
    now: DateTime<Utc>,
    res: ResourceId,
    key: Key,
    value: Value,
) -> Arc<Stored> {
    let stored = remove(inner, events, res, key.clone(), value);
    collect_dependents(inner, events, now, &stored.uid);
    for owner in owner_refs(&stored.value()) {
        if let Some((owner_res, owner_key)) = owner_key(&key.0, &owner) {
            release_if_unblocked(inner, events, now, owner_res, &owner_key);
        }
    }
    stored
}

/// `attemptToDeleteItem` for each dependent of `owner_uid`.
fn collect_dependents(inner: &mut Inner, events: &Events, now: DateTime<Utc>, owner_uid: &str) {
    for (res, key, _) in dependents_of(inner, owner_uid) {
        attempt_to_delete(inner, events, now, res, key);
    }
}

/// What the collector's graph builder does when an object's owner references appear or
/// change (`processGraphChanges`, `addDependentToOwners` and
/// `addUnblockedOwnersToDeleteQueue` in kubernetes
/// `pkg/controller/garbagecollector/graph_builder.go`). The API server itself accepts the
/// write whatever state the owners are in: its only owner-reference admission,
/// `OwnerReferencesPermissionEnforcement`, checks permissions the lab's one admin has.
///
/// - A new reference to an owner the collector has never seen (gone, or another object of
///   that name: owners are matched by uid) makes it look at the object at once, so a
///   dependent created after its owner was deleted (a controller acting on a stale copy) is
///   collected, not kept for good.
/// - A new reference to an owner that exists, even one being deleted in the foreground, is
///   only recorded: the dependent is dealt with when the collector next processes that owner
///   (see [`release_if_unblocked`]).
/// - A blocking reference removed, or made non-blocking, makes it process that owner again:
///   an owner in foreground deletion it held can now go.
pub(super) fn references_changed(
    inner: &mut Inner,
    events: &Events,
    now: DateTime<Utc>,
    res: ResourceId,
    key: Key,
    old: Option<&Value>,
    new: Option<&Value>,
) {
    let (old, new) = (refs_in(old), refs_in(new));
    for r in &old {
        let kept = new.iter().find(|n| n.uid == r.uid);
        if r.block_owner_deletion
            && kept.is_none_or(|n| !n.block_owner_deletion)
            && let Some((owner_res, owner_key)) = owner_key(&key.0, r)
        {
            release_if_unblocked(inner, events, now, owner_res, &owner_key);
        }
    }
    let absent_owner = new
        .iter()
        .filter(|r| !old.iter().any(|o| o.uid == r.uid))
        .any(|r| matches!(owner_state(inner, &key.0, r), OwnerState::Dangling));
    if absent_owner {
        attempt_to_delete(inner, events, now, res, key);
    }
}

/// `attemptToDeleteItem` (kubernetes `pkg/controller/garbagecollector/garbagecollector.go`)
/// for one object with owner references: nothing while one owner still holds it; dangling
/// references dropped when another owner holds it; otherwise deleted, in the foreground when
/// an owner waits for its dependents. Owners are matched by uid.
pub(super) fn attempt_to_delete(
    inner: &mut Inner,
    events: &Events,
    now: DateTime<Utc>,
    res: ResourceId,
    key: Key,
) {
    // Earlier steps of a collection may have changed or removed it.
    let Some(stored) = inner.objects[res.0 as usize].get(&key).cloned() else {
        return;
    };
    let mut value = stored.value();
    if value.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let refs = owner_refs(&value);
    if refs.is_empty() {
        return;
    }
    let (mut solid, mut waiting) = (false, Vec::new());
    let mut stale: Vec<String> = Vec::new();
    for r in refs {
        match owner_state(inner, &key.0, &r) {
            OwnerState::Solid => solid = true,
            OwnerState::Waiting => {
                stale.push(r.uid.clone());
                waiting.push(r);
            }
            OwnerState::Dangling => stale.push(r.uid),
        }
    }
    if solid {
        // Another live owner keeps it: only the references to going owners go.
        if !stale.is_empty() {
            drop_owner_refs(&mut value, |uid| stale.iter().any(|u| u == uid));
            commit(
                inner,
                events,
                res,
                key.clone(),
                value,
                EventType::Modified,
                Some(stored),
            );
            // The dropped references no longer block those owners.
            for r in waiting {
                if let Some((owner_res, owner_key)) = owner_key(&key.0, &r) {
                    release_if_unblocked(inner, events, now, owner_res, &owner_key);
                }
            }
        }
        return;
    }
    let waiting = !waiting.is_empty();
    let fins = finalizers(&value);
    let policy = if fins.iter().any(|f| f == ORPHAN) {
        Propagation::Orphan
    } else if fins.iter().any(|f| f == FOREGROUND)
        || (waiting && !dependents_of(inner, &stored.uid).is_empty())
    {
        Propagation::Foreground
    } else {
        Propagation::Background
    };
    let _ = delete_object(inner, events, now, res, key, policy, None);
}

/// `processDeletingDependentsItem`: an owner in foreground deletion with no dependent left
/// that blocks it loses its `foregroundDeletion` finalizer (and goes if that was the last);
/// while some still block it, those not being deleted yet (a dependent created after the
/// owner's deletion began) are attempted, and the owner looked at once more.
fn release_if_unblocked(
    inner: &mut Inner,
    events: &Events,
    now: DateTime<Utc>,
    res: ResourceId,
    key: &Key,
) {
    for pass in 0..2 {
        let Some(owner) = inner.objects[res.0 as usize].get(key).cloned() else {
            return;
        };
        let mut value = owner.value();
        let mut fins = finalizers(&value);
        if value.pointer("/metadata/deletionTimestamp").is_none()
            || !fins.iter().any(|f| f == FOREGROUND)
        {
            return;
        }
        let (mut blocked, mut not_deleting) = (false, Vec::new());
        for (dep_res, dep_key, dep) in dependents_of(inner, &owner.uid) {
            let dep = dep.value();
            if owner_refs(&dep)
                .iter()
                .any(|r| r.uid == owner.uid && r.block_owner_deletion)
            {
                blocked = true;
                if dep.pointer("/metadata/deletionTimestamp").is_none() {
                    not_deleting.push((dep_res, dep_key));
                }
            }
        }
        if blocked {
            if pass == 0 && !not_deleting.is_empty() {
                for (dep_res, dep_key) in not_deleting {
                    attempt_to_delete(inner, events, now, dep_res, dep_key);
                }
                continue;
            }
            return;
        }
        fins.retain(|f| f != FOREGROUND);
        set_finalizers(&mut value, &fins);
        if held(res, &value) {
            commit(
                inner,
                events,
                res,
                key.clone(),
                value,
                EventType::Modified,
                Some(owner),
            );
        } else {
            gone(inner, events, now, res, key.clone(), value);
        }
        return;
    }
}

fn orphan_dependents(inner: &mut Inner, events: &Events, owner_uid: &str) {
    for (res, key, stored) in dependents_of(inner, owner_uid) {
        let mut value = stored.value();
        drop_owner_refs(&mut value, |uid| uid == owner_uid);
        commit(
            inner,
            events,
            res,
            key,
            value,
            EventType::Modified,
            Some(stored),
        );
    }
}

fn dependents_of(inner: &Inner, owner_uid: &str) -> Vec<(ResourceId, Key, Arc<Stored>)> {
    let mut out = Vec::new();
    for (i, map) in inner.objects.iter().enumerate() {
        for (key, stored) in map {
            if stored.owner_uids.iter().any(|u| u == owner_uid) {
                out.push((ResourceId(i as u16), key.clone(), stored.clone()));
            }
        }
    }
    out
}

struct OwnerRef {
    api_version: String,
    kind: String,
    name: String,
    uid: String,
    block_owner_deletion: bool,
}

fn owner_refs(v: &Value) -> Vec<OwnerRef> {
    refs_in(v.pointer("/metadata/ownerReferences"))
}

/// The references in an `ownerReferences` list.
fn refs_in(refs: Option<&Value>) -> Vec<OwnerRef> {
    let text = |r: &Value, k: &str| r.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    refs.and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .map(|r| OwnerRef {
                    api_version: text(r, "apiVersion"),
                    kind: text(r, "kind"),
                    name: text(r, "name"),
                    uid: text(r, "uid"),
                    block_owner_deletion: r["blockOwnerDeletion"] == Value::Bool(true),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where an owner reference points: the dependent's namespace, or none for cluster-scoped
/// owners. None for kinds the lab does not serve.
fn owner_key(dependent_ns: &str, r: &OwnerRef) -> Option<(ResourceId, Key)> {
    let res = super::super::resources::lookup_kind(&r.api_version, &r.kind)?;
    let ns = if res.info().namespaced {
        dependent_ns.to_string()
    } else {
        String::new()
    };
    Some((res, (ns, r.name.clone())))
}

enum OwnerState {
    /// Exists and is not waiting for its dependents.
    Solid,
    /// Being deleted in the foreground.
    Waiting,
    /// Gone (or another object of the same name).
    Dangling,
}

fn owner_state(inner: &Inner, dependent_ns: &str, r: &OwnerRef) -> OwnerState {
    // An owner of a kind the lab does not serve cannot be checked: keep the dependent, as
    // upstream does when it cannot resolve the owner.
    let Some((res, key)) = owner_key(dependent_ns, r) else {
        return OwnerState::Solid;
    };
    match inner.objects[res.0 as usize].get(&key) {
        Some(owner) if owner.uid == r.uid => {
            let v = owner.value();
            let deleting = v.pointer("/metadata/deletionTimestamp").is_some();
            if deleting && finalizers(&v).iter().any(|f| f == FOREGROUND) {
                OwnerState::Waiting
            } else {
                OwnerState::Solid
            }
        }
        _ => OwnerState::Dangling,
    }
}

fn set_finalizers(value: &mut Value, fins: &[String]) {
    if let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        if fins.is_empty() {
            meta.remove("finalizers");
        } else {
            meta.insert("finalizers".into(), json!(fins));
        }
    }
}

/// Removes the references `drop` picks; an empty list is left out, as Go's `omitempty`
/// serialises it.
fn drop_owner_refs(value: &mut Value, drop: impl Fn(&str) -> bool) {
    let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    if let Some(refs) = meta
        .get_mut("ownerReferences")
        .and_then(Value::as_array_mut)
    {
        refs.retain(|r| !drop(r.get("uid").and_then(Value::as_str).unwrap_or("")));
        if refs.is_empty() {
            meta.remove("ownerReferences");
        }
    }
}

#[cfg(test)]
#[path = "store_gc_tests.rs"]
mod tests;
