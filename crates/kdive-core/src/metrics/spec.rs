//! SLO specs in Sloth's `prometheus/v1` format, with the label that ties an SLO to a
//! Kubernetes Service:
//!
//! ```yaml
//! version: "prometheus/v1"
//! service: "web"
//! labels: {kdive_service: "demo/web"}     # NAMESPACE/NAME of the Service the SLO covers
//! slos:
//!   - name: requests-availability
//!     objective: 99.9
//!     sli:
//!       events:
//!         error_query: sum(rate(http_requests_total{namespace="demo",service="web",code=~"5.."}[{{.window}}]))
//!         total_query: sum(rate(http_requests_total{namespace="demo",service="web"}[{{.window}}]))
//!     alerting: {name: WebHighErrorRate}
//! ```
//!
//! `kdive_service` may sit in the spec's `labels` or in an SLO's own `labels` (which wins).
//! It is a valid Prometheus label name, so Sloth and `kdive slo rules` both copy it into
//! the rules they generate. Unknown fields are errors; messages name the file, line and field.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::validation;

/// The label whose value (`NAMESPACE/NAME`) names the Kubernetes Service an SLO covers.
pub const SERVICE_LABEL: &str = "kdive_service";

/// A bad spec file: where and what.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}:{line}: {field}{sep}{message}", sep = if field.is_empty() { "" } else { ": " })]
pub struct SpecError {
    pub origin: String,
    pub line: usize,
    /// Path of the field, e.g. `slos[1].objective` (empty when the YAML itself is broken).
    pub field: String,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlothSpec {
    pub version: String,
    pub service: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    slo_plugins: Option<IgnoredAny>,
    pub slos: Vec<SloSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SloSpec {
    pub name: String,
    /// Percent, e.g. 99.9.
    pub objective: f64,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    plugins: Option<IgnoredAny>,
    pub sli: SliSpec,
    #[serde(default)]
    pub alerting: AlertingSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SliSpec {
    #[serde(default)]
    pub events: Option<EventsSli>,
    #[serde(default)]
    pub raw: Option<RawSli>,
    #[serde(default)]
    plugin: Option<IgnoredAny>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsSli {
    pub error_query: String,
    pub total_query: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSli {
    pub error_ratio_query: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingSpec {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(default)]
    pub page_alert: AlertMeta,
    #[serde(default)]
    pub ticket_alert: AlertMeta,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertMeta {
    #[serde(default)]
    pub disable: bool,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// The SLI of one SLO, with `{{.window}}` still in the queries.
#[derive(Debug, Clone, PartialEq)]
pub enum Sli {
    Events(EventsSli),
    Raw(RawSli),
}

impl SloSpec {
    pub fn sli(&self) -> Sli {
        match (&self.sli.events, &self.sli.raw) {
            (Some(e), _) => Sli::Events(e.clone()),
            (None, Some(r)) => Sli::Raw(r.clone()),
            // `parse` rejects specs with neither.
            (None, None) => Sli::Raw(RawSli {
                error_ratio_query: String::new(),
            }),
        }
    }
}

/// A `NAMESPACE/NAME` Service reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceRef {
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl ServiceRef {
    pub fn parse(text: &str) -> Option<ServiceRef> {
        let (ns, name) = text.split_once('/')?;
        // Namespace names are DNS-1123 labels, Service names DNS-1035 labels.
        let valid = validation::is_dns1123_label(ns).is_empty()
            && validation::is_dns1035_label(name).is_empty();
        valid.then(|| ServiceRef {
            namespace: ns.to_string(),
            name: name.to_string(),
        })
    }
}

/// Where an SLO spec came from, for messages: file and the line of each SLO's fields.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub origin: String,
    pub spec: SlothSpec,
    /// Line of each `slos[i]` item.
    pub slo_lines: Vec<usize>,
    text: String,
}

impl LoadedSpec {
    /// The 1-based line of `key:` inside `slos[index]` (the item's line when not found).
    pub fn line_of(&self, index: usize, key: &str) -> usize {
        let start = self.slo_lines.get(index).copied().unwrap_or(1);
        let end = self.slo_lines.get(index + 1).copied().unwrap_or(usize::MAX);
        find_key(&self.text, key, start, end).unwrap_or(start)
    }

    /// The Service an SLO covers: its own `kdive_service` label, else the spec's.
    pub fn service_of(&self, slo: &SloSpec) -> Option<ServiceRef> {
        slo.labels
            .get(SERVICE_LABEL)
            .or_else(|| self.spec.labels.get(SERVICE_LABEL))
            .and_then(|v| ServiceRef::parse(v))
    }

    fn error(
        &self,
        line: usize,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> SpecError {
        SpecError {
            origin: self.origin.clone(),
            line,
            field: field.into(),
            message: message.into(),
        }
    }

    /// An error about `slos[index].<path>`, located at the line of the path's last key.
    pub fn slo_error(&self, index: usize, path: &str, message: impl Into<String>) -> SpecError {
        let key = path.rsplit('.').next().unwrap_or(path);
        self.error(
            self.line_of(index, key),
            format!("slos[{index}].{path}"),
            message,
        )
    }
}

/// Parses and validates one spec file's text. `origin` is the file name used in messages.
pub fn parse(origin: &str, text: &str) -> Result<LoadedSpec, SpecError> {
    let spec: SlothSpec = serde_saphyr::from_str(text).map_err(|e| {
        let at = crate::yaml::locate(&e, 1);
        SpecError {
            origin: origin.to_string(),
            line: at.line,
            field: String::new(),
            message: at.message,
        }
    })?;
    let loaded = LoadedSpec {
        origin: origin.to_string(),
        slo_lines: slo_item_lines(text),
        spec,
        text: text.to_string(),
    };
    validate(&loaded)?;
    Ok(loaded)
}

fn validate(l: &LoadedSpec) -> Result<(), SpecError> {
    let s = &l.spec;
    let top = |key: &str| find_key(&l.text, key, 1, usize::MAX).unwrap_or(1);
    if s.version != "prometheus/v1" {
        return Err(l.error(
            top("version"),
            "version",
            format!(
                "{:?} is not supported; kdive reads Sloth's \"prometheus/v1\" specs",
                s.version
            ),
        ));
    }
    if !valid_name(&s.service) {
        return Err(l.error(top("service"), "service", name_message(&s.service)));
    }
    if s.slo_plugins.is_some() {
        return Err(l.error(
            top("slo_plugins"),
            "slo_plugins",
            "Sloth SLO plugins are not supported by kdive",
        ));
    }
    check_labels(&s.labels).map_err(|m| l.error(top("labels"), "labels", m))?;
    if s.slos.is_empty() {
        return Err(l.error(top("slos"), "slos", "at least one SLO is required"));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, slo) in s.slos.iter().enumerate() {
        if !valid_name(&slo.name) {
            return Err(l.slo_error(i, "name", name_message(&slo.name)));
        }
        if !seen.insert(slo.name.as_str()) {
            return Err(l.slo_error(i, "name", format!("{:?} is used twice", slo.name)));
        }
        // Sloth accepts 100, but a 100% objective has no error budget to burn.
        if !(slo.objective > 0.0 && slo.objective < 100.0) {
            return Err(l.slo_error(
                i,
                "objective",
                format!(
                    "{} is out of range: an objective is a percentage above 0 and below 100 (e.g. 99.9)",
                    slo.objective
                ),
            ));
        }
        check_labels(&slo.labels).map_err(|m| l.slo_error(i, "labels", m))?;
        if let Some(v) = slo
            .labels
            .get(SERVICE_LABEL)
            .or(s.labels.get(SERVICE_LABEL))
            && ServiceRef::parse(v).is_none()
        {
            return Err(l.slo_error(
                i,
                "labels.kdive_service",
                format!("{v:?} is not a Service reference NAMESPACE/NAME (e.g. demo/web)"),
            ));
        }
        if slo.plugins.is_some() {
            return Err(l.slo_error(i, "plugins", "Sloth SLO plugins are not supported by kdive"));
        }
        validate_sli(l, i, slo)?;
        let a = &slo.alerting;
        if a.name.is_empty() && !(a.page_alert.disable && a.ticket_alert.disable) {
            return Err(l.slo_error(
                i,
                "alerting.name",
                "required (the name of the page and ticket alerts)",
            ));
        }
        for (path, labels) in [
            ("alerting.labels", &a.labels),
            ("alerting.page_alert.labels", &a.page_alert.labels),
            ("alerting.ticket_alert.labels", &a.ticket_alert.labels),
        ] {
            check_labels(labels).map_err(|m| l.slo_error(i, path, m))?;
        }
    }
    Ok(())
}

fn validate_sli(l: &LoadedSpec, i: usize, slo: &SloSpec) -> Result<(), SpecError> {
    let sli = &slo.sli;
    if sli.plugin.is_some() {
        return Err(l.slo_error(
            i,
            "sli.plugin",
            "SLI plugins are not supported by kdive; use sli.events or sli.raw",
        ));
    }
    let queries: Vec<(&str, &str)> = match (&sli.events, &sli.raw) {
        (Some(_), Some(_)) => {
            return Err(l.slo_error(i, "sli", "give exactly one of events or raw, not both"));
        }
        (None, None) => return Err(l.slo_error(i, "sli", "one of events or raw is required")),
        (Some(e), None) => vec![
            ("sli.events.error_query", &e.error_query),
            ("sli.events.total_query", &e.total_query),
        ],
        (None, Some(r)) => vec![("sli.raw.error_ratio_query", &r.error_ratio_query)],
    };
    for (path, q) in queries {
        if q.trim().is_empty() {
            return Err(l.slo_error(i, path, "required"));
        }
        if !super::query::has_window_placeholder(q) {
            return Err(l.slo_error(
                i,
                path,
                "the query must use {{.window}} for the range (e.g. rate(x[{{.window}}]))",
            ));
        }
    }
    Ok(())
}

/// Sloth's names: letters, digits, `-`, `_` and `.`, starting and ending with a letter or
/// digit: the qualified-name format, with no length limit.
fn valid_name(s: &str) -> bool {
    crate::validation::is_qualified_name_format(s)
}

fn name_message(s: &str) -> String {
    if s.is_empty() {
        "required".to_string()
    } else {
        format!("{s:?} is not a valid name (letters, digits, '-', '_' and '.')")
    }
}

/// Prometheus label names: `[a-zA-Z_][a-zA-Z0-9_]*`, and `__` is reserved.
fn check_labels(labels: &BTreeMap<String, String>) -> Result<(), String> {
    for k in labels.keys() {
        let ok = k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !k.starts_with("__");
        if !ok {
            return Err(format!(
                "{k:?} is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)"
            ));
        }
    }
    Ok(())
}

/// Lines where the items of the top-level `slos:` list start.
fn slo_item_lines(text: &str) -> Vec<usize> {
    let mut lines = text.lines().enumerate();
    let Some((slos_at, _)) = lines
        .by_ref()
        .find(|(_, l)| l.starts_with("slos:") || l.starts_with("\"slos\":"))
    else {
        return Vec::new();
    };
    let mut item_indent: Option<usize> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(slos_at + 1) {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        if indent == 0 && !trimmed.starts_with('-') {
            break; // the next top-level key
        }
        if trimmed.starts_with("- ") || trimmed == "-" {
            match item_indent {
                None => {
                    item_indent = Some(indent);
                    out.push(i + 1);
                }
                Some(n) if n == indent => out.push(i + 1),
                _ => {}
            }
        }
    }
    out
}

/// The first line in `[start, end)` (1-based) whose key is `key`.
fn find_key(text: &str, key: &str, start: usize, end: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(n, _)| *n >= start && *n < end)
        .find(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ").trim_start();
            t.strip_prefix(key)
                .or_else(|| {
                    t.strip_prefix('"')
                        .and_then(|r| r.strip_prefix(key))
                        .and_then(|r| r.strip_prefix('"'))
                })
                .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map(|(n, _)| n)
}

#[cfg(test)]
mod tests;
