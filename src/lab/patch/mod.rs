//! Patch types the API server accepts (JSON merge, JSON patch, strategic merge, apply).
//! (Interim: strategic and apply fall back to a JSON merge until the real merge lands.)

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

impl PatchType {
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchType::Apply)
            }
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    #[error("{0}")]
    Invalid(String),
}

pub fn apply_patch(
    _kind: &str,
    original: &Value,
    patch_type: PatchType,
    patch: &Value,
) -> Result<Value, PatchError> {
    let mut doc = original.clone();
    match patch_type {
        PatchType::Json => {
            let p: json_patch::Patch = serde_json::from_value(patch.clone())
                .map_err(|e| PatchError::Invalid(e.to_string()))?;
            json_patch::patch(&mut doc, &p).map_err(|e| PatchError::Invalid(e.to_string()))?;
        }
        _ => json_patch::merge(&mut doc, patch),
    }
    Ok(doc)
}
