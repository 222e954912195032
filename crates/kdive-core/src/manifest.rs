//! Manifests as people write them: YAML (multi-document), JSON, or a `v1 List`, split into
//! documents that each remember the line they start on, so errors can name `file:line`.

use serde_json::Value;
use thiserror::Error;

use crate::model::{Objects, OtherKinds};

/// A manifest that cannot be read; the message names the origin and line.
#[derive(Debug, Clone, Error)]
#[error("{0}")]
pub struct ManifestError(pub String);

/// Parses manifest text into one object set. Errors name `origin:line`.
pub fn objects_from_text(origin: &str, text: &str) -> Result<Objects, ManifestError> {
    let mut objects = Objects::default();
    add_text(&mut objects, origin, text)?;
    Ok(objects)
}

/// Adds every object of manifest text to an object set; kinds kdive does not read are an
/// error. Errors name `origin:line`.
pub fn add_text(objects: &mut Objects, origin: &str, text: &str) -> Result<(), ManifestError> {
    for (line, doc) in parse_documents(origin, text)? {
        objects
            .add_value(doc, OtherKinds::Refuse)
            .map_err(|e| ManifestError(format!("{origin}:{line}: {e}")))?;
    }
    Ok(())
}

/// Splits YAML (or JSON) text into documents, each with the 1-based line it starts on.
/// Empty documents are skipped.
pub fn parse_documents(origin: &str, text: &str) -> Result<Vec<(usize, Value)>, ManifestError> {
    let mut docs = Vec::new();
    for (start_line, chunk) in split_documents(text) {
        if chunk.lines().all(|l| {
            let t = l.trim();
            t.is_empty() || t.starts_with('#')
        }) {
            continue;
        }
        let value: Value = serde_saphyr::from_str(&chunk).map_err(|e| {
            let at = crate::yaml::locate(&e, start_line);
            ManifestError(format!(
                "{origin}:{}: invalid YAML: {}",
                at.line, at.message
            ))
        })?;
        if value.is_null() {
            continue;
        }
        let first_content = chunk
            .lines()
            .position(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .unwrap_or(0);
        docs.push((start_line + first_content, value));
    }
    Ok(docs)
}

/// Splits on `---` document markers, keeping each chunk's first line number.
fn split_documents(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut start = 1;
    let mut current = String::new();
    for (i, line) in text.lines().enumerate() {
        if line == "---" || line.starts_with("--- ") || line == "..." {
            out.push((start, std::mem::take(&mut current)));
            start = i + 2;
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    out.push((start, current));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_lines() {
        let text = "# c\napiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n";
        let docs = parse_documents("x.yaml", text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].0, 2);
        assert_eq!(docs[1].0, 8);
    }

    #[test]
    fn yaml_error_names_file_and_line() {
        let text = "apiVersion: v1\nkind: Service\n---\nmetadata:\n  name: [unclosed\n";
        let err = parse_documents("svc.yaml", text).unwrap_err().to_string();
        assert!(err.starts_with("svc.yaml:"), "{err}");
        assert!(err.contains("invalid YAML"), "{err}");
        // One line, the location given once (as lessons, SLO specs and the catalog give it).
        let line: usize = err["svc.yaml:".len()..]
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(line >= 5, "{err}");
        assert!(!err.contains('\n'), "{err}");
        assert!(!err.contains("invalid YAML: error: "), "{err}");
    }

    #[test]
    fn json_list_is_expanded() {
        let text = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"}}]}"#;
        let docs = parse_documents("l.json", text).unwrap();
        let mut s = Objects::default();
        assert_eq!(
            s.add_value(docs[0].1.clone(), crate::model::OtherKinds::Refuse)
                .unwrap(),
            1
        );
        assert_eq!(s.services.len(), 1);
    }
}
