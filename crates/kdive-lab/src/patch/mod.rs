//! Patch types the API server accepts (JSON patch, JSON merge patch, strategic merge patch and
//! server-side apply), applied to JSON objects.

mod schema;
mod strategic;

use serde_json::{Map, Value};

use strategic::{Merger, Mode};

/// The four PATCH content types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json` (RFC 6902).
    Json,
    /// `application/merge-patch+json` (RFC 7386).
    Merge,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply; the body may be JSON or YAML, parsed
    /// by the caller).
    Apply,
}

impl PatchType {
    /// The patch type for a Content-Type header value; parameters such as `charset` are ignored.
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match media.as_str() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" => Some(PatchType::Apply),
            _ => None,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::Strategic => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("{patch_type} patch must be {expected}, not {found}")]
    WrongShape {
        patch_type: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    #[error("json patch operation {index} is invalid: {reason}")]
    InvalidJsonPatchOp { index: usize, reason: String },
    #[error("json patch operation {index} failed at path {path:?}: {reason}")]
    JsonPatchFailed {
        index: usize,
        path: String,
        reason: String,
    },
    #[error("strategic merge patch at {path}: {reason}")]
    Strategic { path: String, reason: String },
    #[error("apply configuration is for kind {found:?}, but the request is for {expected:?}")]
    ApplyKindMismatch { expected: String, found: String },
    #[error("the patched object is {found}, not an object")]
    ResultNotObject { found: &'static str },
}

/// Whether the lab knows the strategic-merge list keys for `kind`. For other kinds a strategic
/// patch still works, with every list treated as atomic; the real apiserver would answer 415.
pub fn strategic_schema_known(kind: &str) -> bool {
    schema::root(kind).is_some()
}

/// Applies `patch` of `patch_type` to `original`, an object of Kind `kind`. For Apply,
/// `original` may be null or `{}` when the object does not exist yet.
pub fn apply_patch(
    kind: &str,
    original: &Value,
    patch_type: PatchType,
    patch: &Value,
) -> Result<Value, PatchError> {
    let result = match patch_type {
        PatchType::Json => json_patch_apply(original, patch)?,
        PatchType::Merge => {
            expect_object(patch, "merge")?;
            let mut doc = original.clone();
            json_patch::merge(&mut doc, patch);
            doc
        }
        PatchType::Strategic => {
            let patch = expect_object(patch, "strategic merge")?;
            let original = as_object(original)?;
            let root = schema::root(kind).unwrap_or(schema::Ty::Other);
            let merger = Merger {
                mode: Mode::Strategic,
            };
            Value::Object(merger.merge_map(original, patch.clone(), root, "")?)
        }
        PatchType::Apply => {
            let applied = expect_object(patch, "apply")?;
            if let Some(found) = applied.get("kind").and_then(Value::as_str)
                && found != kind
            {
                return Err(PatchError::ApplyKindMismatch {
                    expected: kind.to_string(),
                    found: found.to_string(),
                });
            }
            let original = as_object(original)?;
            let root = schema::root(kind).unwrap_or(schema::Ty::Other);
            let merger = Merger { mode: Mode::Apply };
            Value::Object(merger.merge_map(original, applied.clone(), root, "")?)
        }
    };
    match result {
        Value::Object(_) => Ok(result),
        other => Err(PatchError::ResultNotObject {
            found: kind_of(&other),
        }),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn expect_object<'a>(
    patch: &'a Value,
    patch_type: &'static str,
) -> Result<&'a Map<String, Value>, PatchError> {
    patch.as_object().ok_or(PatchError::WrongShape {
        patch_type,
        expected: "a JSON object",
        found: kind_of(patch),
    })
}

/// The original as an object; null (a missing object, for apply) counts as empty.
fn as_object(original: &Value) -> Result<Map<String, Value>, PatchError> {
    match original {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m.clone()),
        other => Err(PatchError::ResultNotObject {
            found: kind_of(other),
        }),
    }
}

fn json_patch_apply(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let Value::Array(ops) = patch else {
        return Err(PatchError::WrongShape {
            patch_type: "json",
            expected: "a list of operations",
            found: kind_of(patch),
        });
    };
    let ops = ops
        .iter()
        .enumerate()
        .map(|(index, op)| {
            serde_json::from_value::<json_patch::PatchOperation>(op.clone()).map_err(|e| {
                PatchError::InvalidJsonPatchOp {
                    index,
                    reason: e.to_string(),
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut doc = original.clone();
    json_patch::patch(&mut doc, &ops).map_err(|e| PatchError::JsonPatchFailed {
        index: e.operation,
        path: e.path.to_string(),
        reason: e.kind.to_string(),
    })?;
    Ok(doc)
}

#[cfg(test)]
mod tests;
