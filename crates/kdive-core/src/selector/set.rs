//! Map selectors: a `labels.Set` used as a selector (`Service.spec.selector`,
//! `nodeSelector`, `matchLabels`), and `metav1.LabelSelector` objects as typed values.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ServiceSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector as MetaLabelSelector;

use super::{LabelSelector, SelectorError};

/// `labels.SelectorFromSet(set).Matches(labels)`: every pair is present with the same
/// value. An empty set matches everything (see [`service_selector`] for Services).
pub fn set_matches<'a>(
    set: &BTreeMap<String, String>,
    label: impl Fn(&str) -> Option<&'a str>,
) -> bool {
    set.iter().all(|(k, v)| label(k) == Some(v.as_str()))
}

/// [`set_matches`] against an object's `metadata.labels`.
pub fn set_matches_labels(
    set: &BTreeMap<String, String>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    set_matches(set, |k| labels.and_then(|l| l.get(k)).map(String::as_str))
}

/// `Service.spec.selector` as the Endpoints and EndpointSlice controllers read it: `None`
/// when the Service has none, so its endpoints are written by someone else. An empty map
/// counts as none: the API server drops empty maps when storing, so upstream sees nil.
pub fn service_selector(spec: Option<&ServiceSpec>) -> Option<&BTreeMap<String, String>> {
    spec.and_then(|s| s.selector.as_ref())
        .filter(|s| !s.is_empty())
}

/// Whether a Service selects an object with these labels; a Service without a selector
/// (nil or empty) selects nothing.
pub fn service_selects(
    spec: Option<&ServiceSpec>,
    labels: Option<&BTreeMap<String, String>>,
) -> bool {
    service_selector(spec).is_some_and(|sel| set_matches_labels(sel, labels))
}

impl LabelSelector {
    /// `metav1.LabelSelectorAsSelector` of a typed selector: `{}` selects everything. (A
    /// nil selector selects nothing: `from_label_selector_json(&Value::Null)`.)
    pub fn from_meta(sel: &MetaLabelSelector) -> Result<Self, SelectorError> {
        let value = serde_json::to_value(sel).map_err(|e| super::syntax(e.to_string()))?;
        Self::from_label_selector_json(&value)
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches_labels(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        self.matches_with(|k| labels.and_then(|l| l.get(k)).map(String::as_str))
    }
}
