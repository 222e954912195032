//! Decoding Kubernetes protobuf request bodies into JSON objects.
//! (Placeholder until the decoder lands: every body is refused with a clear error.)

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    #[error("protobuf bodies are not supported yet")]
    Unsupported,
}

pub fn decode(_body: &[u8], _api_version: &str, _kind: &str) -> Result<Value, ProtobufError> {
    Err(ProtobufError::Unsupported)
}
