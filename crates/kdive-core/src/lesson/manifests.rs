//! The objects a lesson creates: its namespace and its manifests, labelled as the lesson's.

use serde_json::{Value, json};

use super::format::{Lesson, LessonError};
use crate::kinds::{self, Resource};

/// Every object a lesson creates carries this label (value: [`label_value`]).
pub const LESSON_LABEL: &str = "kdive.dev/lesson";
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "kdive");
/// The field manager of the lesson's server-side applies and patches.
pub const FIELD_MANAGER: &str = "kdive-lesson";

/// A label value for a lesson id (`services/clusterip` → `services.clusterip`).
pub fn label_value(id: &str) -> String {
    id.replace('/', ".")
}

/// A selector for the lesson's objects.
pub fn label_selector(lesson: &Lesson) -> String {
    format!("{LESSON_LABEL}={}", label_value(&lesson.id))
}

pub fn namespace_object(lesson: &Lesson) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": lesson.namespace, "labels": labels(lesson)},
    })
}

fn labels(lesson: &Lesson) -> Value {
    json!({LESSON_LABEL: label_value(&lesson.id), MANAGED_BY.0: MANAGED_BY.1})
}

/// An object to apply, with its kind.
#[derive(Debug, Clone)]
pub struct Planned {
    pub kind: &'static Resource,
    pub object: Value,
}

impl Planned {
    pub fn name(&self) -> &str {
        self.object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// `deployment/web`.
    pub fn reference(&self) -> String {
        format!("{}/{}", self.kind.singular, self.name())
    }
}

/// The objects of one of the lesson's files: namespaced ones put into the lesson's
/// namespace (a different namespace is an error), all labelled as the lesson's.
pub fn objects(lesson: &Lesson, file: &str) -> Result<Vec<Planned>, LessonError> {
    let origin = format!("{}{file}", dir_of(&lesson.source));
    let text = lesson.files.get(file).ok_or_else(|| LessonError {
        file: lesson.source.clone(),
        line: 0,
        message: format!("no file {file:?} next to the lesson"),
    })?;
    let err = |line: usize, message: String| LessonError {
        file: origin.clone(),
        line,
        message,
    };
    let docs = crate::manifest::parse_documents(&origin, text).map_err(|e| {
        // "origin:line: message" back into its parts.
        let msg = e.to_string();
        let rest = msg.strip_prefix(&format!("{origin}:")).unwrap_or(&msg);
        match rest.split_once(": ") {
            Some((line, m)) => err(line.parse().unwrap_or(0), m.to_string()),
            None => err(0, msg.clone()),
        }
    })?;
    let mut out = Vec::new();
    for (line, mut doc) in docs {
        let kind = kinds::of_object(&doc).ok_or_else(|| {
            err(
                line,
                format!(
                    "{} {}: not a kind lessons can create",
                    doc.get("apiVersion")
                        .and_then(Value::as_str)
                        .unwrap_or("(no apiVersion)"),
                    doc.get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or("(no kind)")
                ),
            )
        })?;
        let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) else {
            return Err(err(line, "metadata is missing".into()));
        };
        if meta
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(err(line, "metadata.name is missing".into()));
        }
        if kind.namespaced {
            match meta.get("namespace").and_then(Value::as_str) {
                Some(ns) if ns != lesson.namespace => {
                    return Err(err(
                        line,
                        format!(
                            "metadata.namespace {ns:?}: a lesson only creates objects in its own namespace ({})",
                            lesson.namespace
                        ),
                    ));
                }
                _ => {
                    meta.insert("namespace".into(), json!(lesson.namespace));
                }
            }
        } else if meta.contains_key("namespace") {
            return Err(err(
                line,
                format!("{} is cluster-scoped: no metadata.namespace", kind.kind),
            ));
        }
        let labels = meta.entry("labels").or_insert_with(|| json!({}));
        if let (Some(l), Value::Object(add)) = (labels.as_object_mut(), self::labels(lesson)) {
            l.extend(add);
        }
        out.push(Planned { kind, object: doc });
    }
    Ok(out)
}

/// Everything `start` creates, in order: the namespace, then each setup file's objects.
pub fn setup_plan(lesson: &Lesson) -> Result<Vec<Planned>, LessonError> {
    let mut out = vec![Planned {
        kind: kinds::lookup("Namespace").expect("Namespace is a known kind"),
        object: namespace_object(lesson),
    }];
    for f in &lesson.setup.apply {
        out.extend(objects(lesson, f)?);
    }
    Ok(out)
}

fn dir_of(source: &str) -> &str {
    source.rfind('/').map_or("", |i| &source[..=i])
}

/// Checks a parsed lesson further: its manifests and solution files produce valid objects.
pub fn lint(lesson: &Lesson) -> Result<(), LessonError> {
    setup_plan(lesson)?;
    for s in &lesson.steps {
        for a in &s.solution {
            if let Some(f) = a.file() {
                objects(lesson, f)?;
            }
        }
    }
    Ok(())
}
