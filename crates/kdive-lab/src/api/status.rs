//! Status error objects in the exact shapes kubectl and kube-rs parse.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kdive_core::field_errors::{FieldError, invalid_message};
use serde_json::{Value, json};

use crate::resources::Resource;
use crate::store::StoreError;

/// An API error, rendered as a `Status` object.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn not_found_path() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn unsupported_media_type(ct: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf (got {ct:?})"
            ),
        )
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Maps a store error for `name` of `res` to the apiserver's Status.
    pub fn from_store(err: StoreError, res: &Resource, name: &str) -> Self {
        let details = json!({"name": name, "group": res.group, "kind": res.plural});
        let q = res.qualified();
        match err {
            StoreError::NotFound(n) => Self::new(404, "NotFound", format!("{q} {n:?} not found"))
                .with_details(json!({"name": n, "group": res.group, "kind": res.plural})),
            StoreError::AlreadyExists(n) => {
                Self::new(409, "AlreadyExists", format!("{q} {n:?} already exists"))
                    .with_details(json!({"name": n, "group": res.group, "kind": res.plural}))
            }
            StoreError::Conflict(n) => Self::new(
                409,
                "Conflict",
                format!("Operation cannot be fulfilled on {q} {n:?}: the object has been modified; please apply your changes to the latest version and try again"),
            )
            .with_details(json!({"name": n, "group": res.group, "kind": res.plural})),
            StoreError::NamespaceNotFound(ns) => {
                Self::new(404, "NotFound", format!("namespaces {ns:?} not found"))
                    .with_details(json!({"name": ns, "kind": "namespaces"}))
            }
            StoreError::NameRequired => Self::invalid_errors(
                res,
                name,
                &[FieldError::required(
                    "metadata.name",
                    "name or generateName is required",
                )],
            ),
            StoreError::Invalid { name: n, errors } => Self::invalid_errors(res, &n, &errors),
            StoreError::BadRequest(m) => Self::bad_request(m),
            StoreError::Forbidden(m) => Self::new(403, "Forbidden", m).with_details(details),
            StoreError::Expired { requested, oldest } => Self::new(
                410,
                "Expired",
                format!("too old resource version: {requested} ({oldest})"),
            ),
        }
    }

    /// 422 Invalid as `errors.NewInvalid` builds it: every error a cause, the message
    /// listing them (duplicates dropped); `details.kind` is the Kind, not the resource.
    pub fn invalid_errors(res: &Resource, name: &str, errors: &[FieldError]) -> Self {
        Self::invalid_group_kind(res.group, res.kind, &res.qualified_kind(), name, errors)
    }

    /// `NewInvalid` for any group and kind; empty ones are left out of the details
    /// (`omitempty`), as for a patch that does not decode (`schema.GroupKind{}`, name "").
    pub fn invalid_group_kind(
        group: &str,
        kind: &str,
        qualified_kind: &str,
        name: &str,
        errors: &[FieldError],
    ) -> Self {
        let causes: Vec<Value> = errors
            .iter()
            .map(|e| json!({"reason": e.kind.reason(), "message": e.body(), "field": e.field}))
            .collect();
        let mut details = serde_json::Map::new();
        for (key, value) in [("name", name), ("group", group), ("kind", kind)] {
            if !value.is_empty() {
                details.insert(key.into(), json!(value));
            }
        }
        details.insert("causes".into(), Value::Array(causes));
        Self::new(
            422,
            "Invalid",
            invalid_message(qualified_kind, name, errors),
        )
        .with_details(Value::Object(details))
    }

    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": self.message, "reason": self.reason,
        });
        if let Some(d) = &self.details {
            v["details"] = d.clone();
        }
        v["code"] = json!(self.code);
        v
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self.to_json()).unwrap_or_default();
        let mut resp = (code, body).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// The Status of a successful delete (for kinds that do not return the object).
pub fn delete_success(res: &Resource, name: &str, uid: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
        "details": {"name": name, "group": res.group, "kind": res.plural, "uid": uid}
    })
}
