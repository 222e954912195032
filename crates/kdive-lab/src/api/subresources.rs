//! `/scale` (autoscaling/v1 Scale over the parent's spec.replicas) and `pods/log`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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

/// `pods/{name}/log`: synthetic lines until simulated containers write real ones.
pub fn log(
    st: &ApiState,
    res: ResourceId,
    ns: &str,
    name: &str,
    q: &Query,
) -> Result<Response, ApiError> {
    let pod = st
        .store
        .get(res, ns, name)
        .ok_or_else(|| super::objects::not_found(res, name))?
        .value();
    let containers: Vec<(String, String)> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or("").to_string(),
                        c["image"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let names: Vec<&str> = containers.iter().map(|(n, _)| n.as_str()).collect();
    let (container, image) = match &q.container {
        Some(c) => containers
            .iter()
            .find(|(n, _)| n == c)
            .cloned()
            .ok_or_else(|| {
                ApiError::bad_request(format!("container {c} is not valid for pod {name}"))
            })?,
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    if let Some(reason) = waiting_to_start(&pod, &container) {
        // kubelet's answer when there is no log yet: nothing has run in this container.
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    }
    let created = pod
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mut lines = vec![
        format!("kdive-lab: container {container} of pod {ns}/{name} created from image {image}"),
        format!(
            "kdive-lab: this lab simulates containers; no process runs, so this log is synthetic"
        ),
    ];
    if q.timestamps {
        lines = lines
            .into_iter()
            .map(|l| format!("{created} {l}"))
            .collect();
    }
    if let Some(n) = q.tail_lines {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let mut body = lines.join("\n");
    if !body.is_empty() {
        body.push('\n');
    }
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

/// The waiting reason of a container that has never run (no earlier terminated instance
/// whose log kubelet could serve instead).
fn waiting_to_start(pod: &Value, container: &str) -> Option<String> {
    let status = pod
        .pointer("/status/containerStatuses")?
        .as_array()?
        .iter()
        .find(|s| s["name"] == container)?;
    if status.pointer("/lastState/terminated").is_some() {
        return None;
    }
    status
        .pointer("/state/waiting/reason")
        .and_then(Value::as_str)
        .map(String::from)
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
