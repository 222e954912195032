//! Reading objects from `-f` files (YAML, multi-document YAML, JSON, `v1 List`) into a
//! [`Objects`] set, with errors that name the file and line.

use std::path::Path;

use kdive_core::manifest;

use super::InputError;
use kdive_core::model::Objects;

/// Loads every file into one snapshot. Errors name `file:line`.
pub fn load_files(paths: &[impl AsRef<Path>]) -> Result<Objects, InputError> {
    let mut snapshot = Objects::default();
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(format!("{}: cannot read: {e}", path.display())))?;
        manifest::add_text(&mut snapshot, &path.display().to_string(), &text)?;
    }
    Ok(snapshot)
}

impl From<manifest::ManifestError> for InputError {
    fn from(e: manifest::ManifestError) -> Self {
        InputError(e.0)
    }
}
