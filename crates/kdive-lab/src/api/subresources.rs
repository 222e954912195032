//! `/scale`: autoscaling/v1 Scale over the parent's spec.replicas.

use axum::http::StatusCode;
use axum::response::Response;
use kdive_core::field_errors::{BadValue, FieldError};
use kdive_core::object_validation::IS_NEGATIVE_ERROR_MSG;
use kdive_core::selector::LabelSelector;
use serde_json::{Value, json};

use super::query::Query;
use super::status::ApiError;
use super::{ApiState, value_response};
use crate::patch::{self, PatchType};
use crate::resources::ResourceId;
use crate::store::{StoreError, UpdateScope, WriteOptions};

/// Builds the Scale object for a parent that has one. `status.selector` is
/// `LabelSelectorAsSelector(spec.selector).String()`: keys sorted, matchExpressions included.
pub fn scale_of(parent: &Value) -> Value {
    let meta = &parent["metadata"];
    let selector = parent
        .pointer("/spec/selector")
        .and_then(|s| LabelSelector::from_label_selector_json(s).ok())
        .map(|s| s.to_string())
        .unwrap_or_default();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": parent.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
        "status": {
            "replicas": parent.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector,
        }
    })
}

pub fn get_scale(
    st: &ApiState,
    res: ResourceId,
    ns: &str,
    name: &str,
) -> Result<Response, ApiError> {
    let stored = st
        .store
        .get(res, ns, name)
        .ok_or_else(|| super::objects::not_found(res, name))?;
    Ok(value_response(StatusCode::OK, &scale_of(&stored.value())))
}

/// PUT or PATCH on /scale: the new replicas go into the parent's spec, bumping its
/// generation and emitting MODIFIED on the parent's watch.
pub fn write_scale(
    st: &ApiState,
    res: ResourceId,
    ns: &str,
    name: &str,
    change: ScaleChange,
    q: &Query,
) -> Result<Response, ApiError> {
    let opts = WriteOptions {
        dry_run: q.dry_run,
        field_manager: q.field_manager.clone(),
    };
    let mut scale_error = None;
    let updated = st
        .store
        .update_with(res, ns, name, UpdateScope::Main, &opts, |parent| {
            let current = scale_of(parent);
            let desired = match &change {
                ScaleChange::Replace(v) => v.clone(),
                ScaleChange::Patch(t, p) => patch::apply_patch("Scale", &current, *t, p)
                    .map_err(|e| StoreError::BadRequest(e.to_string()))?,
            };
            let replicas = desired
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .ok_or_else(|| StoreError::BadRequest("spec.replicas: Required value".into()))?;
            if replicas < 0 {
                // `ValidateScale`, reported for the Scale (`autoscaling.Kind("Scale")`).
                scale_error = Some(ApiError::invalid_group_kind(
                    "autoscaling",
                    "Scale",
                    "Scale.autoscaling",
                    name,
                    &[FieldError::invalid(
                        "spec.replicas",
                        BadValue::Int(replicas),
                        IS_NEGATIVE_ERROR_MSG,
                    )],
                ));
                return Err(StoreError::BadRequest(String::new()));
            }
            let mut next = parent.clone();
            next["spec"]["replicas"] = json!(replicas);
            // The Scale's resourceVersion is the parent's: a precondition when given.
            match desired
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
            {
                Some(rv) if !rv.is_empty() => next["metadata"]["resourceVersion"] = json!(rv),
                _ => {
                    if let Some(m) = next["metadata"].as_object_mut() {
                        m.remove("resourceVersion");
                    }
                }
            }
            Ok(next)
        });
    let (stored, _) = match (updated, scale_error) {
        (Ok(done), _) => done,
        (Err(_), Some(e)) => return Err(e),
        (Err(e), None) => return Err(ApiError::from_store(e, res.info(), name)),
    };
    Ok(value_response(StatusCode::OK, &scale_of(&stored.value())))
}

pub enum ScaleChange {
    Replace(Value),
    Patch(PatchType, Value),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Scale's `status.selector` is the parent's whole selector as
    /// `metav1.LabelSelectorAsSelector(...).String()` prints it
    /// (pkg/registry/apps/deployment/storage/storage.go, `scaleFromDeployment`): keys sorted
    /// and matchExpressions included, where only matchLabels in written order were shown.
    #[test]
    fn the_scale_selector_is_the_whole_selector_as_a_string() {
        let parent = json!({"metadata": {"name": "web"}, "spec": {"replicas": 2, "selector": {
            "matchLabels": {"tier": "front", "app": "web"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "dev"]}]}}});
        let scale = scale_of(&parent);
        assert_eq!(
            scale["status"]["selector"],
            "app=web,env in (dev,prod),tier=front"
        );
        let bare = scale_of(&json!({"metadata": {"name": "web"}, "spec": {"replicas": 1}}));
        assert_eq!(bare["status"]["selector"], "");
    }
}
