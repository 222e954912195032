//! Field selectors: `fields.ParseSelector` syntax and the per-resource selectable fields.

use serde_json::Value;

use super::{SelectorError, syntax};

/// A parsed field selector: every `field op value` term must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSelector {
    terms: Vec<FieldTerm>,
    resource: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FieldTerm {
    field: String,
    equal: bool,
    value: String,
}

/// The fields the real server lets you select on, per resource (besides metadata.name and
/// metadata.namespace, which every resource has).
fn resource_fields(resource: &str) -> &'static [&'static str] {
    match resource {
        "pods" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
        "events" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "secrets" => &["type"],
        "namespaces" => &["status.phase"],
        "nodes" => &["spec.unschedulable"],
        "replicasets" | "replicationcontrollers" => &["status.replicas"],
        "jobs" => &["status.successful"],
        _ => &[],
    }
}

/// Splits on commas not escaped by a backslash (escapes are kept for `unescape`).
fn split_terms(s: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push(&s[start..i]);
            start = i + 1;
        }
    }
    terms.push(&s[start..]);
    terms
}

/// `field!=v`, `field==v` or `field=v`: the first operator position wins, `!=` before `==`
/// before `=` at the same position (the field part is taken as is, like the real server).
fn split_term(term: &str) -> Option<(&str, bool, &str)> {
    for (i, _) in term.char_indices() {
        let rest = &term[i..];
        for (op, equal) in [("!=", false), ("==", true), ("=", true)] {
            if let Some(value) = rest.strip_prefix(op) {
                return Some((&term[..i], equal, value));
            }
        }
    }
    None
}

/// `fields.UnescapeValue`: `\\`, `\,` and `\=` are escapes; a bare `,` or `=` is an error.
fn unescape(s: &str) -> Result<String, SelectorError> {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | ',' | '=')) => out.push(e),
                Some(e) => {
                    return Err(syntax(format!(
                        "invalid field selector: invalid escape sequence: \\{e}"
                    )));
                }
                None => {
                    return Err(syntax(
                        "invalid field selector: invalid escape sequence: \\",
                    ));
                }
            },
            ',' | '=' => {
                return Err(syntax(format!(
                    "invalid field selector: unescaped character in value: {c}"
                )));
            }
            _ => out.push(c),
        }
    }
    Ok(out)
}

impl FieldSelector {
    /// Parses a `fieldSelector` for a plural resource name. An empty string selects all.
    pub fn parse(s: &str, resource: &str) -> Result<Self, SelectorError> {
        let mut terms = Vec::new();
        for part in split_terms(s) {
            if part.is_empty() {
                continue;
            }
            let Some((field, equal, raw)) = split_term(part) else {
                return Err(syntax(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let value = unescape(raw)?;
            let known = field == "metadata.name"
                || field == "metadata.namespace"
                || (resource == "pods" && field == "spec.host")
                || resource_fields(resource).contains(&field);
            if !known {
                return Err(SelectorError::UnsupportedField(field.to_string()));
            }
            // The legacy pod field `spec.host` is `spec.nodeName`.
            let field = if field == "spec.host" {
                "spec.nodeName".to_string()
            } else {
                field.to_string()
            };
            terms.push(FieldTerm {
                field,
                equal,
                value,
            });
        }
        Ok(Self {
            terms,
            resource: resource.to_string(),
        })
    }

    /// True when the object satisfies every term.
    pub fn matches(&self, obj: &Value) -> bool {
        self.terms.iter().all(|t| {
            let have = field_value(&self.resource, obj, &t.field);
            (have == t.value) == t.equal
        })
    }

    /// True when the selector has no terms.
    pub fn is_everything(&self) -> bool {
        self.terms.is_empty()
    }

    /// True when every term is on `metadata.name` or `metadata.namespace`, so a store can
    /// match on its keys without parsing objects.
    pub fn uses_only_metadata(&self) -> bool {
        self.terms
            .iter()
            .all(|t| t.field == "metadata.name" || t.field == "metadata.namespace")
    }

    /// The value required by an `=`/`==` term on `field`, if any (e.g. `metadata.name`, so a
    /// store can look the object up directly).
    pub fn exact_value(&self, field: &str) -> Option<&str> {
        self.terms
            .iter()
            .find(|t| t.equal && t.field == field)
            .map(|t| t.value.as_str())
    }
}

/// The selectable value of a field, as the server's `ToSelectableFields` renders it: missing
/// strings are "", booleans "true"/"false", counts decimal.
fn field_value(resource: &str, obj: &Value, field: &str) -> String {
    let s = |pointer: &str| {
        obj.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let b = |pointer: &str| {
        let v = obj
            .pointer(pointer)
            .and_then(Value::as_bool)
            .unwrap_or(false);
        v.to_string()
    };
    let n = |pointer: &str| {
        let v = obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0);
        v.to_string()
    };
    match (resource, field) {
        (_, "metadata.name") => s("/metadata/name"),
        (_, "metadata.namespace") => s("/metadata/namespace"),
        ("pods", "spec.hostNetwork") => b("/spec/hostNetwork"),
        // podIPs[0], or a lone podIP (conversion fills podIPs from it).
        ("pods", "status.podIP") => obj
            .pointer("/status/podIPs/0/ip")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| s("/status/podIP")),
        ("nodes", "spec.unschedulable") => b("/spec/unschedulable"),
        ("replicasets" | "replicationcontrollers", "status.replicas") => n("/status/replicas"),
        ("jobs", "status.successful") => n("/status/succeeded"),
        ("events", "source") => s("/source/component"),
        ("events", "reportingComponent") => s("/reportingComponent"),
        // Fields that map one to one onto a JSON path (status.podIPs has none: "").
        (_, "status.podIPs") => String::new(),
        _ => s(&format!("/{}", field.replace('.', "/"))),
    }
}
