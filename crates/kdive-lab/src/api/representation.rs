//! What the client asked to receive, from its `Accept` header: the objects themselves, a
//! Table (kubectl's human-readable output), or only their metadata (`PartialObjectMetadata`,
//! what kube-rs's metadata watches and client-go's metadata informers ask for). As on the
//! real server (apiserver `pkg/endpoints/handlers/response.go`), the first alternative the
//! server can produce wins, and metadata-only answers never carry the rest of the object:
//! a metadata watch of Secrets receives no values.

use bytes::Bytes;
use serde_json::{Value, json};

use super::query::Query;
use super::status::ApiError;
use crate::resources::Resource;
use crate::table::IncludeObject;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Representation {
    Object,
    Table(IncludeObject),
    /// `as=PartialObjectMetadata`: one object's metadata (GET, watch events).
    Metadata,
    /// `as=PartialObjectMetadataList`: a list of metadata (LIST).
    MetadataList,
}

impl Representation {
    /// Reads the `Accept` header. An unknown `includeObject` is a 400, as on the real server.
    pub fn from_accept(accept: &str, q: &Query) -> Result<Representation, ApiError> {
        for part in accept.split(',') {
            let params: Vec<&str> = part.split(';').map(str::trim).collect();
            let Some(target) = params.iter().find_map(|p| p.strip_prefix("as=")) else {
                // A plain media type: the object as it is.
                return Ok(Representation::Object);
            };
            let meta_group = params.contains(&"g=meta.k8s.io")
                && (params.contains(&"v=v1") || params.contains(&"v=v1beta1"));
            if !meta_group {
                continue;
            }
            match target {
                "Table" => return table(q),
                "PartialObjectMetadata" => return Ok(Representation::Metadata),
                "PartialObjectMetadataList" => return Ok(Representation::MetadataList),
                _ => {}
            }
        }
        Ok(Representation::Object)
    }

    /// For a GET of one object: a list representation is not acceptable.
    pub fn for_object(self, info: &Resource) -> Result<Representation, ApiError> {
        if self == Representation::MetadataList {
            return Err(not_acceptable(format!(
                "you requested PartialObjectMetadataList, but the requested object is not a list (*v1.{})",
                info.kind
            )));
        }
        Ok(self)
    }

    /// For a LIST: a single-object representation is not acceptable.
    pub fn for_list(self, info: &Resource) -> Result<Representation, ApiError> {
        if self == Representation::Metadata {
            return Err(not_acceptable(format!(
                "you requested PartialObjectMetadata, but the requested object is a list (*v1.{})",
                info.list_kind()
            )));
        }
        Ok(self)
    }

    /// For a watch: events carry single objects, so either metadata form means metadata.
    pub fn for_watch(self) -> Representation {
        match self {
            Representation::MetadataList => Representation::Metadata,
            other => other,
        }
    }

    pub fn table(self) -> Option<IncludeObject> {
        match self {
            Representation::Table(include) => Some(include),
            _ => None,
        }
    }
}

fn table(q: &Query) -> Result<Representation, ApiError> {
    let raw = q.include_object.as_deref().unwrap_or("");
    IncludeObject::from_query(raw)
        .map(Representation::Table)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "includeObject: Unsupported value: {raw:?}: supported values: \"None\", \"Metadata\", \"Object\""
            ))
        })
}

fn not_acceptable(message: String) -> ApiError {
    ApiError::new(406, "NotAcceptable", message)
}

/// An object's metadata as `meta.k8s.io/v1` `PartialObjectMetadata`.
pub fn partial(object: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// A list page as `meta.k8s.io/v1` `PartialObjectMetadataList`.
pub fn partial_list(
    items: impl Iterator<Item = Value>,
    rv: u64,
    continue_token: Option<&str>,
) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if let Some(token) = continue_token {
        meta["continue"] = json!(token);
    }
    let items: Vec<Value> = items.map(|o| partial(&o)).collect();
    let list = json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "items": items,
    });
    Bytes::from(serde_json::to_vec(&list).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(accept: &str) -> Representation {
        Representation::from_accept(accept, &Query::default()).unwrap()
    }

    #[test]
    fn reads_what_clients_send() {
        // kube-rs (kube-core `request.rs`): metadata watches and lists.
        assert_eq!(
            rep("application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"),
            Representation::Metadata
        );
        assert_eq!(
            rep("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"),
            Representation::MetadataList
        );
        // kubectl get: Table first, JSON as the fallback.
        assert_eq!(
            rep(
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
            ),
            Representation::Table(IncludeObject::Metadata)
        );
        assert_eq!(rep("application/json"), Representation::Object);
        assert_eq!(rep(""), Representation::Object);
        // An alternative the server cannot produce is skipped for the next one.
        assert_eq!(
            rep("application/json;as=Unknown;g=meta.k8s.io;v=v1,application/json"),
            Representation::Object
        );
    }

    #[test]
    fn the_first_producible_alternative_wins() {
        assert_eq!(
            rep(
                "application/json,application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
            ),
            Representation::Object
        );
    }

    #[test]
    fn partial_keeps_metadata_and_nothing_else() {
        let secret = json!({"kind": "Secret", "apiVersion": "v1",
            "metadata": {"name": "db", "namespace": "demo", "resourceVersion": "7"},
            "data": {"password": "aHVudGVyMg=="}, "type": "Opaque"});
        let p = partial(&secret);
        assert_eq!(p["kind"], "PartialObjectMetadata");
        assert_eq!(p["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(p["metadata"]["name"], "db");
        assert!(p.get("data").is_none() && p.get("type").is_none());
    }
}
