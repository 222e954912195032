//! Decoding request bodies by Content-Type: JSON, YAML, and Kubernetes protobuf.

use bytes::Bytes;
use serde_json::Value;

use super::status::ApiError;
use crate::protobuf;
use crate::resources::Resource;

/// The apiserver's request size limit (3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// Decodes an object body for create/update. `ct` is the Content-Type (may be empty: the
/// scale client's PUT sends none, and it means JSON).
pub fn decode_object(ct: &str, body: &Bytes, res: &Resource) -> Result<Value, ApiError> {
    let media = ct.split(';').next().unwrap_or("").trim();
    let value = match media {
        "" | "application/json" | "*/*" => decode_json(body, res)?,
        "application/yaml" => decode_yaml(body)?,
        "application/vnd.kubernetes.protobuf"
            if !protobuf::supports(&res.api_version(), res.kind) =>
        {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!(
                    "the lab does not decode protobuf bodies for {} {}; send JSON instead",
                    res.api_version(),
                    res.kind
                ),
            ));
        }
        "application/vnd.kubernetes.protobuf" => {
            protobuf::decode(body, &res.api_version(), res.kind).map_err(|e| {
                ApiError::bad_request(format!(
                    "the object provided is unrecognized (must be of type {}): {e}",
                    res.kind
                ))
            })?
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): expected a JSON object, got {}",
            res.kind,
            type_name(&value)
        )));
    }
    Ok(value)
}

fn decode_json(body: &[u8], res: &Resource) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e}",
            res.kind
        ))
    })
}

pub fn decode_yaml(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the YAML body is not valid UTF-8"))?;
    serde_saphyr::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("error converting YAML to JSON: {e}")))
}

/// Decodes a patch body: JSON for every patch type; apply patches may also be YAML.
pub fn decode_patch(apply: bool, body: &[u8]) -> Result<Value, ApiError> {
    match serde_json::from_slice(body) {
        Ok(v) => Ok(v),
        Err(_) if apply => decode_yaml(body),
        Err(e) => Err(ApiError::bad_request(format!(
            "the patch body is not valid JSON: {e}"
        ))),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
