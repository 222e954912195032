//! Label and field selectors applied to stored objects.

use serde_json::Value;

use super::query::Query;
use super::status::ApiError;
use crate::lab::resources::ResourceId;
use crate::lab::store::Stored;

/// The selectors of one list or watch request.
#[derive(Debug, Default)]
pub struct Filter {
    labels: Vec<(String, Op, String)>,
    fields: Vec<(String, bool, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Exists,
    NotExists,
}

impl Filter {
    pub fn from_query(q: &Query, res: ResourceId) -> Result<Self, ApiError> {
        let mut f = Filter::default();
        if let Some(sel) = &q.label_selector {
            for term in sel.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let parsed = if let Some((k, v)) = term.split_once("!=") {
                    (k.trim(), Op::Ne, v.trim())
                } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('='))
                {
                    (k.trim(), Op::Eq, v.trim())
                } else if let Some(k) = term.strip_prefix('!') {
                    (k.trim(), Op::NotExists, "")
                } else {
                    (term, Op::Exists, "")
                };
                f.labels
                    .push((parsed.0.to_string(), parsed.1, parsed.2.to_string()));
            }
        }
        if let Some(sel) = &q.field_selector {
            for term in sel.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                let (k, eq, v) = if let Some((k, v)) = term.split_once("!=") {
                    (k, false, v)
                } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('='))
                {
                    (k, true, v)
                } else {
                    return Err(ApiError::bad_request(format!(
                        "invalid field selector: {term:?}"
                    )));
                };
                let k = k.trim();
                if !field_supported(res, k) {
                    return Err(ApiError::bad_request(format!(
                        "field label not supported: {k}"
                    )));
                }
                f.fields.push((k.to_string(), eq, v.trim().to_string()));
            }
        }
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    pub fn matches(&self, stored: &Stored) -> bool {
        let labels_ok = self.labels.iter().all(|(k, op, v)| {
            let actual = stored.labels.get(k).and_then(Value::as_str);
            match op {
                Op::Eq => actual == Some(v.as_str()),
                Op::Ne => actual != Some(v.as_str()),
                Op::Exists => actual.is_some(),
                Op::NotExists => actual.is_none(),
            }
        });
        if !labels_ok || self.fields.is_empty() {
            return labels_ok;
        }
        let value = stored.value();
        self.fields.iter().all(|(k, eq, v)| {
            let pointer = format!("/{}", k.replace('.', "/"));
            let actual = match value.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (actual == *v) == *eq
        })
    }
}

fn field_supported(res: ResourceId, field: &str) -> bool {
    if matches!(field, "metadata.name" | "metadata.namespace") {
        return true;
    }
    match res.info().plural {
        "pods" => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "spec.hostNetwork"
                | "status.phase"
                | "status.podIP"
                | "status.nominatedNodeName"
        ),
        "events" => {
            field.starts_with("involvedObject.")
                || matches!(field, "reason" | "reportingComponent" | "source" | "type")
        }
        "secrets" => field == "type",
        "namespaces" => field == "status.phase",
        "nodes" => field == "spec.unschedulable",
        "replicasets" => field == "status.replicas",
        _ => false,
    }
}
