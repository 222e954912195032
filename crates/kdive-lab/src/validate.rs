//! The lab's write-path validation: names (`names.rs`), then the core's rules
//! (`kdive_core::object_validation`), turned into the store's `Invalid` error.

use kdive_core::field_errors::{BadValue, ErrorType, FieldError};
use kdive_core::object_validation::{self, Write};
use serde_json::Value;

use super::names;
use super::resources::Resource;
use super::store_types::{StoreError, UpdateScope};

/// Everything `Validate<Kind>` rejects on create; `name` is the final (maybe generated) name.
pub fn on_create(
    info: &Resource,
    name: &str,
    generate_name: &str,
    obj: &Value,
) -> Result<(), StoreError> {
    let mut errors = names::validate_names(info.plural, name, generate_name);
    errors.extend(object_validation::validate(info.kind, obj, Write::Create));
    invalid(name, errors)
}

/// `Validate<Kind>Update` / `Validate<Kind>StatusUpdate` of the object about to be stored.
/// In-process writes (controllers, garbage collection) are not re-validated: they change
/// status and bookkeeping of objects that passed validation when they were written.
pub fn on_update(
    info: &Resource,
    name: &str,
    scope: UpdateScope,
    old: &Value,
    new: &Value,
) -> Result<(), StoreError> {
    let write = match scope {
        UpdateScope::Main => Write::Update { old },
        UpdateScope::Status => Write::Status,
        UpdateScope::Internal => return Ok(()),
    };
    invalid(name, object_validation::validate(info.kind, new, write))
}

fn invalid(name: &str, errors: Vec<FieldError>) -> Result<(), StoreError> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(StoreError::Invalid {
        name: name.to_string(),
        errors,
    })
}

/// A field error from an allocation message that is already an error body
/// (`Invalid value: "10.0.0.1": ...` or `Required value`).
pub fn from_body(field: String, body: &str) -> FieldError {
    if let Some(detail) = body.strip_prefix("Invalid value: ") {
        return FieldError {
            kind: ErrorType::Invalid,
            field,
            value: BadValue::Omitted,
            detail: detail.to_string(),
        };
    }
    if let Some(detail) = body.strip_prefix("Required value") {
        return FieldError::required(field, detail.trim_start_matches(": "));
    }
    FieldError {
        kind: ErrorType::Invalid,
        field,
        value: BadValue::Omitted,
        detail: body.to_string(),
    }
}
