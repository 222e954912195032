//! A point-in-time set of the objects the model reads, from files or a live cluster.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde_json::Value;

#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    pub namespaces: Vec<Namespace>,
    pub services: Vec<Service>,
    pub endpoint_slices: Vec<EndpointSlice>,
    pub pods: Vec<Pod>,
    pub nodes: Vec<Node>,
    pub config_maps: Vec<ConfigMap>,
    pub stateful_sets: Vec<StatefulSet>,
}

/// Why an object could not be added to a snapshot.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SnapshotError {
    #[error("the document is not an object with apiVersion and kind")]
    NotAnObject,
    #[error("{kind} ({api_version}) is not a kind kdive reads here")]
    UnsupportedKind { api_version: String, kind: String },
    #[error("{kind} {name:?} is not valid: {message}")]
    Invalid {
        kind: String,
        name: String,
        message: String,
    },
}

impl Snapshot {
    /// Adds one decoded document: a single object or a `v1 List` of objects.
    /// Returns how many objects were added; an unknown kind is an error so that a typo in a
    /// fixture is not silently ignored.
    pub fn add_value(&mut self, doc: Value) -> Result<usize, SnapshotError> {
        let obj = doc.as_object().ok_or(SnapshotError::NotAnObject)?;
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind.is_empty() || api_version.is_empty() {
            return Err(SnapshotError::NotAnObject);
        }
        if kind == "List" || kind.ends_with("List") {
            let items = obj
                .get("items")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
            let mut added = 0;
            for mut item in items {
                // Items of a typed list (ServiceList) may omit their own kind.
                if let (Some(k), Some(m)) = (item_kind, item.as_object_mut()) {
                    m.entry("kind").or_insert_with(|| Value::from(k));
                    m.entry("apiVersion")
                        .or_insert_with(|| Value::from(api_version));
                }
                added += self.add_value(item)?;
            }
            return Ok(added);
        }
        let (api_version, kind) = (api_version.to_string(), kind.to_string());
        match (api_version.as_str(), kind.as_str()) {
            ("v1", "Namespace") => self.namespaces.push(typed(&kind, doc)?),
            ("v1", "Service") => self.services.push(typed(&kind, doc)?),
            ("v1", "Pod") => self.pods.push(typed(&kind, doc)?),
            ("v1", "Node") => self.nodes.push(typed(&kind, doc)?),
            ("v1", "ConfigMap") => self.config_maps.push(typed(&kind, doc)?),
            ("apps/v1", "StatefulSet") => self.stateful_sets.push(typed(&kind, doc)?),
            ("discovery.k8s.io/v1", "EndpointSlice") => {
                self.endpoint_slices.push(typed(&kind, doc)?)
            }
            _ => return Err(SnapshotError::UnsupportedKind { api_version, kind }),
        }
        Ok(1)
    }
}

fn typed<T: serde::de::DeserializeOwned>(kind: &str, doc: Value) -> Result<T, SnapshotError> {
    let name = doc
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    serde_json::from_value(doc).map_err(|e| SnapshotError::Invalid {
        kind: kind.to_string(),
        name,
        message: e.to_string(),
    })
}
