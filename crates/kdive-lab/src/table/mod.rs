//! Server-side printing: `Table` responses (meta.k8s.io/v1) with the standard kubectl columns.
//!
//! kubectl `get` asks for `as=Table` and prints the reply's columns as they are, so the cells
//! here follow the real server's printers (`pkg/printers/internalversion/printers.go`, v1.32).
//! The server always prints the wide columns; kubectl hides those with a non-zero priority.

mod apps;
mod columns;
mod core;
mod descriptions;
mod fields;
mod pod;

#[cfg(test)]
mod tests_apps;
#[cfg(test)]
mod tests_core;
#[cfg(test)]
mod tests_pod;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use columns::Column;

/// Which object each row carries (`includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    None,
    /// A `PartialObjectMetadata` with the object's metadata (the server's default).
    #[default]
    Metadata,
    Object,
}

impl IncludeObject {
    /// The `includeObject` query value: `None`, `Metadata` or `Object`; empty means the
    /// default (Metadata). None for anything else (the server answers 400).
    pub fn from_query(value: &str) -> Option<Self> {
        match value {
            "" | "Metadata" => Some(Self::Metadata),
            "None" => Some(Self::None),
            "Object" => Some(Self::Object),
            _ => None,
        }
    }
}

/// How to build a Table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    pub include_object: IncludeObject,
    /// False for every `get -w` event after the first: the real server then sends no columns.
    pub column_definitions: bool,
}

impl Default for TableOptions {
    fn default() -> Self {
        Self {
            include_object: IncludeObject::Metadata,
            column_definitions: true,
        }
    }
}

/// One printed row: its cells and, for finished pods, the row conditions.
pub(crate) struct Row {
    pub cells: Vec<Value>,
    pub conditions: Option<Value>,
}

impl Row {
    pub fn new(cells: Vec<Value>) -> Self {
        Self {
            cells,
            conditions: None,
        }
    }
}

type PrintFn = fn(&Value, DateTime<Utc>) -> Row;

/// The columns and row printer for a plural resource name.
fn printer(resource: &str) -> (&'static [Column], PrintFn) {
    match resource {
        "pods" => (columns::PODS, pod::print_pod),
        "services" => (columns::SERVICES, core::print_service),
        "endpoints" => (columns::ENDPOINTS, core::print_endpoints),
        "endpointslices" => (columns::ENDPOINT_SLICES, core::print_endpoint_slice),
        "nodes" => (columns::NODES, core::print_node),
        "namespaces" => (columns::NAMESPACES, core::print_namespace),
        "configmaps" => (columns::CONFIG_MAPS, core::print_config_map),
        "secrets" => (columns::SECRETS, core::print_secret),
        "serviceaccounts" => (columns::SERVICE_ACCOUNTS, core::print_service_account),
        "events" => (columns::EVENTS, core::print_event),
        "persistentvolumeclaims" => (columns::PVCS, core::print_pvc),
        "persistentvolumes" => (columns::PVS, core::print_pv),
        "deployments" => (columns::DEPLOYMENTS, apps::print_deployment),
        "replicasets" => (columns::REPLICA_SETS, apps::print_replica_set),
        "statefulsets" => (columns::STATEFUL_SETS, apps::print_stateful_set),
        "storageclasses" => (columns::STORAGE_CLASSES, apps::print_storage_class),
        "rolebindings" => (columns::ROLE_BINDINGS, apps::print_binding),
        "clusterrolebindings" => (columns::CLUSTER_ROLE_BINDINGS, apps::print_binding),
        // roles, clusterroles, CRDs and everything else: the server's default table.
        _ => (columns::DEFAULT, print_default),
    }
}

/// `Name` and `Created At` (RFC 3339, UTC), like the apiserver's default table convertor.
fn print_default(item: &Value, _now: DateTime<Utc>) -> Row {
    let created = fields::time(item.pointer("/metadata/creationTimestamp"))
        .unwrap_or(fields::go_zero_time())
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    Row::new(vec![json!(fields::name(item)), json!(created)])
}

/// A Table for a list response (and `get` of a collection).
pub fn list_table(
    resource: &str,
    items: &[Value],
    resource_version: &str,
    continue_token: Option<&str>,
    now: DateTime<Utc>,
    opts: &TableOptions,
) -> Value {
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), json!(resource_version));
    if let Some(token) = continue_token.filter(|t| !t.is_empty()) {
        metadata.insert("continue".into(), json!(token));
    }
    build(resource, items, Value::Object(metadata), now, opts)
}

/// A Table with one row, for `get NAME` and for each `get -w` event object. Its
/// `metadata.resourceVersion` is the object's, as the real server sets it.
pub fn object_table(
    resource: &str,
    item: &Value,
    now: DateTime<Utc>,
    opts: &TableOptions,
) -> Value {
    let rv = fields::str_at(item, "/metadata/resourceVersion");
    let metadata = json!({ "resourceVersion": rv });
    build(resource, std::slice::from_ref(item), metadata, now, opts)
}

fn build(
    resource: &str,
    items: &[Value],
    metadata: Value,
    now: DateTime<Utc>,
    opts: &TableOptions,
) -> Value {
    let (cols, print) = printer(resource);
    let column_definitions = if opts.column_definitions {
        Value::Array(cols.iter().map(Column::to_json).collect())
    } else {
        // The real server leaves the field empty (`null`); kubectl reuses the last columns.
        Value::Null
    };
    let rows: Vec<Value> = items
        .iter()
        .map(|item| row_json(print(item, now), item, opts.include_object))
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions,
        "rows": rows,
    })
}

fn row_json(row: Row, item: &Value, include: IncludeObject) -> Value {
    let mut out = Map::new();
    out.insert("cells".into(), Value::Array(row.cells));
    if let Some(conditions) = row.conditions {
        out.insert("conditions".into(), conditions);
    }
    let object = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => json!({
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": item.get("metadata").cloned().unwrap_or_else(|| json!({})),
        }),
        IncludeObject::Object => item.clone(),
    };
    out.insert("object".into(), object);
    Value::Object(out)
}
