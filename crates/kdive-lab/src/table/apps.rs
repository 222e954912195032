//! Rows for apps/v1 workloads, storage classes and RBAC bindings.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::Row;
use super::fields::{
    age, arr_at, container_cells, format_label_selector, int_at, label_selector_string, name,
    present, str_at,
};

/// `spec.replicas`, which the server defaults to 1.
fn desired(v: &Value) -> i64 {
    present(v, "/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

fn template_containers(v: &Value) -> (String, String) {
    container_cells(arr_at(v, "/spec/template/spec/containers"))
}

pub(crate) fn print_deployment(d: &Value, now: DateTime<Utc>) -> Row {
    let (containers, images) = template_containers(d);
    let selector = label_selector_string(d.pointer("/spec/selector"))
        .unwrap_or_else(|| "<invalid>".to_string());
    Row::new(vec![
        json!(name(d)),
        json!(format!(
            "{}/{}",
            int_at(d, "/status/readyReplicas"),
            desired(d)
        )),
        json!(int_at(d, "/status/updatedReplicas")),
        json!(int_at(d, "/status/availableReplicas")),
        json!(age(d, now)),
        json!(containers),
        json!(images),
        json!(selector),
    ])
}

pub(crate) fn print_replica_set(rs: &Value, now: DateTime<Utc>) -> Row {
    let (containers, images) = template_containers(rs);
    Row::new(vec![
        json!(name(rs)),
        json!(desired(rs)),
        json!(int_at(rs, "/status/replicas")),
        json!(int_at(rs, "/status/readyReplicas")),
        json!(age(rs, now)),
        json!(containers),
        json!(images),
        json!(format_label_selector(rs.pointer("/spec/selector"))),
    ])
}

pub(crate) fn print_stateful_set(sts: &Value, now: DateTime<Utc>) -> Row {
    let (containers, images) = template_containers(sts);
    Row::new(vec![
        json!(name(sts)),
        json!(format!(
            "{}/{}",
            int_at(sts, "/status/readyReplicas"),
            desired(sts)
        )),
        json!(age(sts, now)),
        json!(containers),
        json!(images),
    ])
}

const DEFAULT_CLASS: &str = "/metadata/annotations/storageclass.kubernetes.io~1is-default-class";
const BETA_DEFAULT_CLASS: &str =
    "/metadata/annotations/storageclass.beta.kubernetes.io~1is-default-class";

pub(crate) fn print_storage_class(sc: &Value, now: DateTime<Utc>) -> Row {
    let is_default =
        str_at(sc, DEFAULT_CLASS) == "true" || str_at(sc, BETA_DEFAULT_CLASS) == "true";
    let mut shown = name(sc).to_string();
    if is_default {
        shown.push_str(" (default)");
    }
    let or_default = |pointer: &str, default: &'static str| -> String {
        match str_at(sc, pointer) {
            "" => default.to_string(),
            v => v.to_string(),
        }
    };
    let expansion = present(sc, "/allowVolumeExpansion")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Row::new(vec![
        json!(shown),
        json!(str_at(sc, "/provisioner")),
        json!(or_default("/reclaimPolicy", "Delete")),
        json!(or_default("/volumeBindingMode", "Immediate")),
        json!(expansion),
        json!(age(sc, now)),
    ])
}

/// RoleBinding and ClusterRoleBinding: `Kind/name` of the role, then the subjects by kind
/// (`rbac.SubjectsStrings`; service accounts as `namespace/name`), joined with ", ".
pub(crate) fn print_binding(b: &Value, now: DateTime<Utc>) -> Row {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut sas = Vec::new();
    for subject in arr_at(b, "/subjects") {
        let subject_name = str_at(subject, "/name");
        match str_at(subject, "/kind") {
            "User" => users.push(subject_name.to_string()),
            "Group" => groups.push(subject_name.to_string()),
            "ServiceAccount" => {
                sas.push(format!("{}/{subject_name}", str_at(subject, "/namespace")));
            }
            _ => {}
        }
    }
    Row::new(vec![
        json!(name(b)),
        json!(format!(
            "{}/{}",
            str_at(b, "/roleRef/kind"),
            str_at(b, "/roleRef/name")
        )),
        json!(age(b, now)),
        json!(users.join(", ")),
        json!(groups.join(", ")),
        json!(sas.join(", ")),
    ])
}
