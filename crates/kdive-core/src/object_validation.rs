//! What the API server's validation rejects with 422 `Invalid`, over objects as JSON after
//! typed decoding (see `typecheck`), with apimachinery's and kube-apiserver's words:
//!
//! - metadata: `staging/src/k8s.io/apimachinery/pkg/api/validation/objectmeta.go`
//!   (`ValidateObjectMetaAccessor`, annotations and their 256 KiB total, finalizers, owner
//!   references) and `pkg/apis/meta/v1/validation/validation.go` (`ValidateLabels`,
//!   `ValidateLabelSelector`). Names are the lab's (`names.rs`), checked before these.
//! - workloads: `pkg/apis/apps/validation/validation.go` (Deployment, ReplicaSet, StatefulSet).
//! - pods, Services, ConfigMaps and Secrets: `pkg/apis/core/validation/validation.go`
//!   (in `object_validation_core.rs`).
//!
//! Fields the server defaults (replicas, strategy, protocol, restartPolicy...) may be absent
//! here: an absent field is read as its default, which is always valid. Go iterates maps in
//! random order; the lab reports map entries sorted by key.

use serde_json::{Map, Value};

use crate::field_errors::{
    BadValue, FieldError, go_int_or_string, go_label_selector, go_string_map, go_string_slice,
};
use crate::selector::LabelSelector;
use crate::validation::{is_qualified_name, is_valid_label_value};

/// `TotalAnnotationSizeLimitB`.
pub const TOTAL_ANNOTATION_SIZE_LIMIT_B: usize = 256 * (1 << 10);
/// `core.MaxSecretSize`, the limit of a ConfigMap's or Secret's data too.
pub const MAX_SECRET_SIZE: usize = 1024 * 1024;
/// `IsNegativeErrorMsg`.
pub const IS_NEGATIVE_ERROR_MSG: &str = "must be greater than or equal to 0";
const SELECTOR_MISMATCH: &str = "`selector` does not match template `labels`";

/// Which write is validated: the checks differ as `Validate*` and `Validate*Update` do.
#[derive(Debug, Clone, Copy)]
pub enum Write<'a> {
    Create,
    /// An update of the main resource; `old` is the stored object.
    Update {
        old: &'a Value,
    },
    /// An update of `/status`: metadata only (the spec is the stored one).
    Status,
}

/// The field errors of `obj` (a `kind`) for a write, after the name checks.
pub fn validate(kind: &str, obj: &Value, write: Write<'_>) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let meta = obj.get("metadata").unwrap_or(&Value::Null);
    object_meta(meta, "metadata", matches!(write, Write::Create), &mut errs);
    if matches!(write, Write::Status) {
        return errs;
    }
    let spec = obj.get("spec").unwrap_or(&Value::Null);
    match kind {
        "Deployment" => deployment_spec(spec, &mut errs),
        "ReplicaSet" => replica_set_spec(spec, &mut errs),
        "StatefulSet" => stateful_set_spec(spec, &mut errs),
        "Pod" => pod_spec(spec, "spec", &mut errs),
        "Service" => service_spec(spec, &mut errs),
        "ConfigMap" => config_data(obj, false, &mut errs),
        "Secret" => config_data(obj, true, &mut errs),
        _ => {}
    }
    if let Write::Update { old } = write {
        let old_spec = old.get("spec").unwrap_or(&Value::Null);
        match kind {
            // apps/v1 strategies: the selector is immutable.
            "Deployment" | "ReplicaSet" => {
                let new_sel = spec.get("selector").unwrap_or(&Value::Null);
                let old_sel = old_spec.get("selector").unwrap_or(&Value::Null);
                if semantic_selector(new_sel) != semantic_selector(old_sel) {
                    errs.push(FieldError::invalid(
                        "spec.selector",
                        BadValue::Go(go_label_selector(new_sel)),
                        "field is immutable",
                    ));
                }
            }
            "StatefulSet" => stateful_set_update(spec, old_spec, &mut errs),
            _ => {}
        }
    }
    errs
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn object<'a>(v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

fn int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// Map entries sorted by key (Go's order is random).
fn sorted(map: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// `ValidateNonnegativeField`.
fn nonnegative(v: &Value, key: &str, path: &str, errs: &mut Vec<FieldError>) {
    if let Some(n) = int(v, key)
        && n < 0
    {
        errs.push(FieldError::invalid(
            format!("{path}.{key}"),
            BadValue::Int(n),
            IS_NEGATIVE_ERROR_MSG,
        ));
    }
}

/// `ValidateObjectMetaAccessor` (create) and `ValidateObjectMetaAccessorUpdate` after the
/// name: labels, annotations, owner references, and finalizers on create.
fn object_meta(meta: &Value, path: &str, create: bool, errs: &mut Vec<FieldError>) {
    labels(object(meta, "labels"), &format!("{path}.labels"), errs);
    annotations(
        object(meta, "annotations"),
        &format!("{path}.annotations"),
        errs,
    );
    owner_references(meta, &format!("{path}.ownerReferences"), errs);
    if create {
        finalizers(meta, &format!("{path}.finalizers"), errs);
    }
}

/// `ValidateLabels`: each key a qualified name, each value a label value.
pub fn labels(map: Option<&Map<String, Value>>, path: &str, errs: &mut Vec<FieldError>) {
    for (k, v) in map.map(sorted).unwrap_or_default() {
        for msg in is_qualified_name(k) {
            errs.push(FieldError::invalid(path, BadValue::Str(k.clone()), msg));
        }
        let v = v.as_str().unwrap_or_default();
        for msg in is_valid_label_value(v) {
            errs.push(FieldError::invalid(path, BadValue::Str(v.to_string()), msg));
        }
    }
}

/// `ValidateAnnotations`: keys are qualified names in any case; keys and values together
/// at most 256 KiB.
pub fn annotations(map: Option<&Map<String, Value>>, path: &str, errs: &mut Vec<FieldError>) {
    let Some(map) = map else { return };
    for (k, _) in sorted(map) {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.push(FieldError::invalid(path, BadValue::Str(k.clone()), msg));
        }
    }
    let total: usize = map
        .iter()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    if total > TOTAL_ANNOTATION_SIZE_LIMIT_B {
        errs.push(FieldError::too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT_B));
    }
}

/// `validateOwnerReference`: apiVersion must carry a version; kind, name and uid are set.
fn owner_references(meta: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(refs) = meta.get("ownerReferences").and_then(Value::as_array) else {
        return;
    };
    for r in refs {
        let api_version = text(r, "apiVersion").unwrap_or_default();
        // `schema.ParseGroupVersion`: "v1", "group/version"; anything else has no version.
        let version = match api_version.split('/').collect::<Vec<_>>().as_slice() {
            [v] => *v,
            [_, v] => *v,
            _ => "",
        };
        if version.is_empty() {
            errs.push(FieldError::invalid(
                format!("{path}.apiVersion"),
                BadValue::Str(api_version.into()),
                "version must not be empty",
            ));
        }
        for (key, what) in [("kind", "kind"), ("name", "name"), ("uid", "uid")] {
            let value = text(r, key).unwrap_or_default();
            if value.is_empty() {
                errs.push(FieldError::invalid(
                    format!("{path}.{key}"),
                    BadValue::Str(String::new()),
                    format!("{what} must not be empty"),
                ));
            }
        }
    }
}

/// `ValidateFinalizers`.
fn finalizers(meta: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let Some(list) = meta.get("finalizers").and_then(Value::as_array) else {
        return;
    };
    for f in list.iter().filter_map(Value::as_str) {
        for msg in is_qualified_name(f) {
            errs.push(FieldError::invalid(path, BadValue::Str(f.into()), msg));
        }
    }
    let has = |name: &str| list.iter().any(|f| f == name);
    if has("orphan") && has("foregroundDeletion") {
        errs.push(FieldError::invalid(
            path,
            BadValue::Go(go_string_slice(Some(list))),
            "finalizer orphan and foregroundDeletion cannot be both set",
        ));
    }
}

/// `ValidateLabelSelector` with `ValidateLabelSelectorRequirement`.
fn label_selector(sel: &Value, path: &str, errs: &mut Vec<FieldError>) {
    labels(
        object(sel, "matchLabels"),
        &format!("{path}.matchLabels"),
        errs,
    );
    let exprs = sel.get("matchExpressions").and_then(Value::as_array);
    for (i, r) in exprs.into_iter().flatten().enumerate() {
        let p = format!("{path}.matchExpressions[{i}]");
        let values = r.get("values").and_then(Value::as_array);
        let n_values = values.map_or(0, Vec::len);
        match text(r, "operator").unwrap_or_default() {
            "In" | "NotIn" if n_values == 0 => errs.push(FieldError::required(
                format!("{p}.values"),
                "must be specified when `operator` is 'In' or 'NotIn'",
            )),
            "Exists" | "DoesNotExist" if n_values > 0 => errs.push(FieldError::forbidden(
                format!("{p}.values"),
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => errs.push(FieldError::invalid(
                format!("{p}.operator"),
                BadValue::Str(other.into()),
                "not a valid selector operator",
            )),
        }
        let key = text(r, "key").unwrap_or_default();
        for msg in is_qualified_name(key) {
            errs.push(FieldError::invalid(
                format!("{p}.key"),
                BadValue::Str(key.into()),
                msg,
            ));
        }
        for v in values.into_iter().flatten().filter_map(Value::as_str) {
            for msg in is_valid_label_value(v) {
                errs.push(FieldError::invalid(
                    format!("{p}.values"),
                    BadValue::Str(v.into()),
                    msg,
                ));
            }
        }
    }
}

/// A selector's labels (sorted) and expressions.
type SelectorParts = (Vec<(String, Value)>, Vec<Value>);

/// A selector compared as `apiequality.Semantic` does: empty and missing are equal.
fn semantic_selector(sel: &Value) -> Option<SelectorParts> {
    let sel = sel.as_object()?;
    let mut labels: Vec<(String, Value)> = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    let exprs = sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    Some((labels, exprs))
}

/// The selector checks shared by the workloads: required, valid, not empty, then the
/// template's labels must match it (`LabelSelectorAsSelector` of nil selects nothing).
fn workload_selector(
    spec: &Value,
    kind_word: &str,
    errs: &mut Vec<FieldError>,
) -> Option<LabelSelector> {
    let sel = spec.get("selector").filter(|s| !s.is_null());
    match sel {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(sel) => {
            label_selector(sel, "spec.selector", errs);
            let n = object(sel, "matchLabels").map_or(0, Map::len)
                + sel
                    .get("matchExpressions")
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
            if n == 0 {
                errs.push(FieldError::invalid(
                    "spec.selector",
                    BadValue::Go(go_label_selector(sel)),
                    format!("empty selector is invalid for {kind_word}"),
                ));
            }
        }
    }
    LabelSelector::from_label_selector_json(sel.unwrap_or(&Value::Null)).ok()
}

fn template_labels_match(selector: &LabelSelector, template: &Value, errs: &mut Vec<FieldError>) {
    let labels = template
        .pointer("/metadata/labels")
        .and_then(Value::as_object);
    let empty = Map::new();
    if !selector.is_everything() && !selector.matches(labels.unwrap_or(&empty)) {
        errs.push(FieldError::invalid(
            "spec.template.metadata.labels",
            BadValue::Go(go_string_map(labels)),
            SELECTOR_MISMATCH,
        ));
    }
}

/// `ValidateDeploymentSpec`.
fn deployment_spec(spec: &Value, errs: &mut Vec<FieldError>) {
    nonnegative(spec, "replicas", "spec", errs);
    let selector = workload_selector(spec, "deployment", errs);
    replica_set_template(spec, selector.as_ref(), "spec.selector", errs);
    deployment_strategy(spec.get("strategy").unwrap_or(&Value::Null), errs);
    nonnegative(spec, "minReadySeconds", "spec", errs);
    nonnegative(spec, "revisionHistoryLimit", "spec", errs);
    nonnegative(spec, "progressDeadlineSeconds", "spec", errs);
    if let Some(deadline) = int(spec, "progressDeadlineSeconds")
        && deadline <= int(spec, "minReadySeconds").unwrap_or(0)
    {
        errs.push(FieldError::invalid(
            "spec.progressDeadlineSeconds",
            BadValue::Int(deadline),
            "must be greater than minReadySeconds",
        ));
    }
}

/// `ValidateReplicaSetSpec` (its empty-selector message says "deployment" upstream too).
fn replica_set_spec(spec: &Value, errs: &mut Vec<FieldError>) {
    nonnegative(spec, "replicas", "spec", errs);
    nonnegative(spec, "minReadySeconds", "spec", errs);
    let selector = workload_selector(spec, "deployment", errs);
    replica_set_template(spec, selector.as_ref(), "spec.selector", errs);
}

/// `ValidatePodTemplateSpecForReplicaSet`, or the selector's own error when it does not
/// convert to a selector.
fn replica_set_template(
    spec: &Value,
    selector: Option<&LabelSelector>,
    selector_path: &str,
    errs: &mut Vec<FieldError>,
) {
    let Some(selector) = selector else {
        let sel = spec.get("selector").unwrap_or(&Value::Null);
        errs.push(FieldError::invalid(
            selector_path,
            BadValue::Go(go_label_selector(sel)),
            "invalid label selector",
        ));
        return;
    };
    let template = spec.get("template").unwrap_or(&Value::Null);
    template_labels_match(selector, template, errs);
    pod_template(template, "spec.template", errs);
    controller_pod_rules(template, "ReplicaSet", errs);
}

/// What a controller's pod template may not say: a restartPolicy other than Always, or an
/// activeDeadlineSeconds (`ValidatePodTemplateSpecForReplicaSet` and its StatefulSet twin).
fn controller_pod_rules(template: &Value, kind: &str, errs: &mut Vec<FieldError>) {
    let pod = template.get("spec").unwrap_or(&Value::Null);
    restart_policy_always(pod, errs);
    if pod
        .get("activeDeadlineSeconds")
        .is_some_and(|v| !v.is_null())
    {
        errs.push(FieldError::forbidden(
            "spec.template.spec.activeDeadlineSeconds",
            format!("activeDeadlineSeconds in {kind} is not Supported"),
        ));
    }
}

fn restart_policy_always(pod: &Value, errs: &mut Vec<FieldError>) {
    if let Some(policy) = text(pod, "restartPolicy")
        && policy != "Always"
    {
        errs.push(FieldError::not_supported(
            "spec.template.spec.restartPolicy",
            BadValue::Str(policy.into()),
            &["Always"],
        ));
    }
}

/// `ValidateDeploymentStrategy` and `ValidateRollingUpdateDeployment`.
fn deployment_strategy(strategy: &Value, errs: &mut Vec<FieldError>) {
    let rolling = strategy.get("rollingUpdate").filter(|r| !r.is_null());
    match text(strategy, "type").unwrap_or("RollingUpdate") {
        "Recreate" => {
            if rolling.is_some() {
                errs.push(FieldError::forbidden(
                    "spec.strategy.rollingUpdate",
                    "may not be specified when strategy `type` is 'Recreate'",
                ));
            }
        }
        "RollingUpdate" => {
            let path = "spec.strategy.rollingUpdate";
            let default = Value::from("25%");
            let unavailable = rolling.and_then(|r| r.get("maxUnavailable")).unwrap_or(&default);
            let surge = rolling.and_then(|r| r.get("maxSurge")).unwrap_or(&default);
            int_or_percent(unavailable, &format!("{path}.maxUnavailable"), errs);
            int_or_percent(surge, &format!("{path}.maxSurge"), errs);
            if int_or_percent_value(unavailable) == 0 && int_or_percent_value(surge) == 0 {
                errs.push(FieldError::invalid(
                    format!("{path}.maxUnavailable"),
                    BadValue::Go(go_int_or_string(unavailable)),
                    "may not be 0 when `maxSurge` is 0",
                ));
            }
            if percent(unavailable).is_some_and(|p| p > 100) {
                errs.push(FieldError::invalid(
                    format!("{path}.maxUnavailable"),
                    BadValue::Go(go_int_or_string(unavailable)),
                    "must not be greater than 100%",
                ));
            }
        }
        // With a rollingUpdate the value holds a pointer Go prints as an address, so the
        // lab only reproduces the nil case exactly.
        other => errs.push(FieldError::not_supported(
            "spec.strategy",
            BadValue::Go(format!(
                "apps.DeploymentStrategy{{Type:{}, RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}}",
                crate::field_errors::go_quote(other)
            )),
            &["Recreate", "RollingUpdate"],
        )),
    }
}

/// `IsValidPercent`: `[0-9]+%`.
fn percent(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    let digits = s.strip_suffix('%')?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `getIntOrPercentValue`: the percent, else the int (a bad string reads as 0).
fn int_or_percent_value(v: &Value) -> i64 {
    percent(v)
        .or_else(|| v.as_i64())
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(0)
}

/// `ValidatePositiveIntOrPercent`.
fn int_or_percent(v: &Value, path: &str, errs: &mut Vec<FieldError>) {
    match v {
        Value::String(_) if percent(v).is_none() => errs.push(FieldError::invalid(
            path,
            BadValue::Go(go_int_or_string(v)),
            "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
        )),
        Value::Number(n) if n.as_i64().is_some_and(|n| n < 0) => errs.push(FieldError::invalid(
            path,
            BadValue::Int(n.as_i64().unwrap_or(0)),
            IS_NEGATIVE_ERROR_MSG,
        )),
        _ => {}
    }
}

/// `ValidateStatefulSetSpec` (the pod spec itself is not validated for StatefulSets).
fn stateful_set_spec(spec: &Value, errs: &mut Vec<FieldError>) {
    if let Some(policy) = text(spec, "podManagementPolicy")
        && !matches!(policy, "OrderedReady" | "Parallel")
    {
        errs.push(FieldError::invalid(
            "spec.podManagementPolicy",
            BadValue::Str(policy.into()),
            "must be 'OrderedReady' or 'Parallel'",
        ));
    }
    if let Some(rolling) = spec.pointer("/updateStrategy/rollingUpdate") {
        nonnegative(
            rolling,
            "partition",
            "spec.updateStrategy.rollingUpdate",
            errs,
        );
    }
    nonnegative(spec, "replicas", "spec", errs);
    nonnegative(spec, "minReadySeconds", "spec", errs);
    let selector = workload_selector(spec, "statefulset", errs);
    let Some(selector) = selector else {
        let sel = spec.get("selector").unwrap_or(&Value::Null);
        errs.push(FieldError::invalid(
            "spec.selector",
            BadValue::Go(go_label_selector(sel)),
            "",
        ));
        return;
    };
    let template = spec.get("template").unwrap_or(&Value::Null);
    template_labels_match(&selector, template, errs);
    let meta = template.get("metadata").unwrap_or(&Value::Null);
    // `ValidatePodTemplateSpecForStatefulSet` names these without `metadata`.
    labels(object(meta, "labels"), "spec.template.labels", errs);
    annotations(
        object(meta, "annotations"),
        "spec.template.annotations",
        errs,
    );
    controller_pod_rules(template, "StatefulSet", errs);
}

/// `ValidateStatefulSetUpdate`: only some spec fields may change.
fn stateful_set_update(spec: &Value, old: &Value, errs: &mut Vec<FieldError>) {
    let mutable = [
        "replicas",
        "template",
        "updateStrategy",
        "minReadySeconds",
        "ordinals",
        "persistentVolumeClaimRetentionPolicy",
    ];
    let rest = |v: &Value| -> Map<String, Value> {
        v.as_object()
            .map(|m| {
                m.iter()
                    .filter(|(k, v)| !mutable.contains(&k.as_str()) && !is_empty_value(v))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (new_rest, old_rest) = (rest(spec), rest(old));
    let same = new_rest.len() == old_rest.len()
        && new_rest.iter().all(|(k, v)| {
            old_rest.get(k).is_some_and(|o| {
                if k == "selector" {
                    semantic_selector(o) == semantic_selector(v)
                } else {
                    o == v
                }
            })
        });
    if !same {
        errs.push(FieldError::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// `ValidatePodTemplateSpec`: labels and annotations (under the template's path, without
/// `metadata`), then the pod spec.
fn pod_template(template: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let meta = template.get("metadata").unwrap_or(&Value::Null);
    labels(object(meta, "labels"), &format!("{path}.labels"), errs);
    annotations(
        object(meta, "annotations"),
        &format!("{path}.annotations"),
        errs,
    );
    pod_spec(
        template.get("spec").unwrap_or(&Value::Null),
        &format!("{path}.spec"),
        errs,
    );
}

#[path = "object_validation_core.rs"]
mod core_group;
use core_group::{config_data, pod_spec, service_spec};
pub use core_group::{config_key_problems, port_name_problems};

#[cfg(test)]
#[path = "object_validation_tests.rs"]
mod tests;
