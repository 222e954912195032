//! ReplicaSet identity for the deployment controller: the pod-template-hash, template
//! equality ignoring it, and the revision annotations `kubectl rollout history|undo` read.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, ReplicaSetSpec};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::Value;

use kdive_core::model::revision::{POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION};
pub const REVISION_HISTORY: &str = "deployment.kubernetes.io/revision-history";
pub const DESIRED_REPLICAS: &str = "deployment.kubernetes.io/desired-replicas";
pub const MAX_REPLICAS: &str = "deployment.kubernetes.io/max-replicas";
/// Upstream `maxRevHistoryLengthInChars`.
const MAX_HISTORY_CHARS: usize = 2000;

/// Annotations never copied from a Deployment to its ReplicaSets (`skipCopyAnnotation`).
const NOT_COPIED: [&str; 6] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    REVISION_ANNOTATION,
    REVISION_HISTORY,
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    "deprecated.deployment.rollback.to",
];

/// `controller.ComputeHash`. Upstream feeds FNV-32a Go's spew printing of the
/// PodTemplateSpec (`DeepHashObject`); reproducing that byte for byte is not feasible here,
/// so this hashes the template's canonical JSON (keys sorted) instead. The collision count
/// and the safe encoding are as upstream, so names look and behave alike but the hash of a
/// given template differs from a real cluster's.
pub fn compute_hash(template: &PodTemplateSpec, collision_count: Option<i32>) -> String {
    let json = serde_json::to_value(template).unwrap_or(Value::Null);
    let mut hash = Fnv32a::new();
    hash.write(canonical(&json).as_bytes());
    if let Some(count) = collision_count {
        // Upstream writes an 8-byte buffer with the little-endian u32 in its first 4 bytes.
        let mut bytes = [0u8; 8];
        bytes[..4].copy_from_slice(&(count as u32).to_le_bytes());
        hash.write(&bytes);
    }
    safe_encode(&hash.sum().to_string())
}

/// `rand.SafeEncodeString`: each byte picks from an alphabet without vowels or look-alikes.
pub fn safe_encode(s: &str) -> String {
    const ALPHANUMS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    s.bytes()
        .map(|b| ALPHANUMS[usize::from(b) % ALPHANUMS.len()] as char)
        .collect()
}

pub struct Fnv32a(u32);

impl Fnv32a {
    pub fn new() -> Self {
        Self(0x811c_9dc5)
    }
    pub fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u32::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0193);
        }
    }
    pub fn sum(&self) -> u32 {
        self.0
    }
}

impl Default for Fnv32a {
    fn default() -> Self {
        Self::new()
    }
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            let parts: Vec<String> = sorted
                .iter()
                .map(|(k, v)| format!("{}:{v}", Value::String((*k).clone())))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// `EqualIgnoreHash`: semantic equality of two templates without the hash label. Go's
/// semantic DeepEqual treats nil and empty maps and slices alike, so those are pruned.
pub fn equal_ignore_hash(a: &PodTemplateSpec, b: &PodTemplateSpec) -> bool {
    let norm = |t: &PodTemplateSpec| {
        let mut t = t.clone();
        if let Some(labels) = t.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove(POD_TEMPLATE_HASH_LABEL);
        }
        prune(serde_json::to_value(&t).unwrap_or(Value::Null))
    };
    norm(a) == norm(b)
}

fn prune(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, prune(v)))
                .filter(|(_, v)| !is_empty(v))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(prune).collect()),
        other => other,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

pub fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

fn set_annotation(meta: &mut ObjectMeta, key: &str, value: String) -> bool {
    let annotations = meta.annotations.get_or_insert_with(BTreeMap::new);
    if annotations.get(key) == Some(&value) {
        return false;
    }
    annotations.insert(key.to_string(), value);
    true
}

/// `SetNewReplicaSetAnnotations`: copy the Deployment's annotations, raise the revision to
/// `new_revision` (remembering the old one in revision-history: a rollback), and on creation
/// set the replica annotations. Returns whether anything changed.
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
    desired: i32,
    max_surge: i32,
) -> bool {
    let mut changed = copy_annotations(d, rs);
    let old = annotation(&rs.metadata, REVISION_ANNOTATION).map(str::to_string);
    let old_number = match old.as_deref() {
        None | Some("") => 0,
        // Upstream gives up on an unparsable revision rather than overwrite it.
        Some(s) => match s.parse::<i64>() {
            Ok(n) => n,
            Err(_) => return changed,
        },
    };
    if old_number < new_revision {
        changed |= set_annotation(
            &mut rs.metadata,
            REVISION_ANNOTATION,
            new_revision.to_string(),
        );
        if let Some(old) = old.filter(|o| !o.is_empty()) {
            let history = annotation(&rs.metadata, REVISION_HISTORY).unwrap_or("");
            let mut entries: Vec<&str> = history.split(',').filter(|s| !s.is_empty()).collect();
            entries.push(&old);
            // Drop the oldest entries until the annotation fits.
            while entries.join(",").len() > MAX_HISTORY_CHARS && entries.len() > 1 {
                entries.remove(0);
            }
            let joined = entries.join(",");
            set_annotation(&mut rs.metadata, REVISION_HISTORY, joined);
        }
    }
    if !exists {
        changed |= set_replicas_annotations(rs, desired, desired + max_surge);
    }
    changed
}

fn copy_annotations(d: &Deployment, rs: &mut ReplicaSet) -> bool {
    let mut changed = false;
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if !NOT_COPIED.contains(&k.as_str()) {
            changed |= set_annotation(&mut rs.metadata, k, v.clone());
        }
    }
    changed
}

/// `SetReplicasAnnotations`.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let a = set_annotation(&mut rs.metadata, DESIRED_REPLICAS, desired.to_string());
    let b = set_annotation(&mut rs.metadata, MAX_REPLICAS, max.to_string());
    a || b
}

/// The ReplicaSet `getNewReplicaSet` would create (replicas still 0).
pub fn new_replica_set(d: &Deployment, hash: &str) -> ReplicaSet {
    let spec = d.spec.clone().unwrap_or_default();
    let mut template = spec.template;
    template
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(BTreeMap::new)
        .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.into());
    let mut selector = spec.selector;
    selector
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .insert(POD_TEMPLATE_HASH_LABEL.into(), hash.into());
    let labels = template.metadata.as_ref().and_then(|m| m.labels.clone());
    ReplicaSet {
        metadata: ObjectMeta {
            name: Some(format!(
                "{}-{hash}",
                d.metadata.name.as_deref().unwrap_or("")
            )),
            namespace: d.metadata.namespace.clone(),
            labels,
            owner_references: Some(vec![deployment_ref(d)]),
            ..Default::default()
        },
        spec: Some(ReplicaSetSpec {
            replicas: Some(0),
            min_ready_seconds: spec.min_ready_seconds,
            selector,
            template: Some(template),
        }),
        status: None,
    }
}

pub fn deployment_ref(d: &Deployment) -> OwnerReference {
    OwnerReference {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        name: d.metadata.name.clone().unwrap_or_default(),
        uid: d.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv32a_matches_the_reference_vectors() {
        // FNV-1a 32-bit test vectors: "" -> 0x811c9dc5, "a" -> 0xe40c292c.
        let mut h = Fnv32a::new();
        assert_eq!(h.sum(), 0x811c_9dc5);
        h.write(b"a");
        assert_eq!(h.sum(), 0xe40c_292c);
    }

    #[test]
    fn safe_encoding_maps_digits_like_upstream() {
        // '0' is byte 48, 48 % 27 = 21 -> '4'; '6' is 54 % 27 = 0 -> 'b'; '9' is 57 % 27 = 3 -> 'f'.
        assert_eq!(safe_encode("069"), "4bf");
        // 0xe40c292c = 3826002220 -> digits 3,8,2,6,0,0,2,2,2,0
        // -> bytes 51,56,50,54,48,48,50,50,50,48 % 27 = 24,2,23,0,21,21,23,23,23,21
        assert_eq!(safe_encode(&0xe40c_292cu32.to_string()), "7d6b446664");
    }
}
