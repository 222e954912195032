//! Reading fields of stored JSON objects, and the apiserver's age formatting.

use chrono::{DateTime, NaiveDate, Utc};

use kdive_core::duration::human_duration;
use serde_json::{Map, Value};

use kdive_core::selector::LabelSelector;

/// The string at a JSON pointer, or "" when it is missing or not a string.
pub fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The integer at a JSON pointer, or 0 (Go's zero value) when missing.
pub fn int_at(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

pub fn bool_at(v: &Value, pointer: &str) -> bool {
    v.pointer(pointer).and_then(Value::as_bool).unwrap_or(false)
}

/// The array at a JSON pointer, or an empty slice.
pub fn arr_at<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub fn obj_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a Map<String, Value>> {
    v.pointer(pointer).and_then(Value::as_object)
}

pub fn name(v: &Value) -> &str {
    str_at(v, "/metadata/name")
}

/// The JSON value at a pointer, treating `null` as missing.
pub fn present<'a>(v: &'a Value, pointer: &str) -> Option<&'a Value> {
    v.pointer(pointer).filter(|x| !x.is_null())
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z), which the server prints as `<unknown>`.
pub fn go_zero_time() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(1, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// An RFC 3339 timestamp (metav1.Time or MicroTime); None when missing, unparsable or zero.
pub fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(v?.as_str()?)
        .ok()?
        .with_timezone(&Utc);
    (t != go_zero_time()).then_some(t)
}

/// `translateTimestampSince`: the age of a timestamp, `<unknown>` for a zero one.
pub fn since(v: Option<&Value>, now: DateTime<Utc>) -> String {
    match time(v) {
        Some(t) => human_duration(now - t),
        None => "<unknown>".to_string(),
    }
}

/// The AGE cell of an object.
pub fn age(v: &Value, now: DateTime<Utc>) -> String {
    since(v.pointer("/metadata/creationTimestamp"), now)
}

/// `labels.FormatLabels`: `k=v` pairs sorted by key, or `<none>`.
pub fn format_labels(map: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<String> = map
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    if pairs.is_empty() {
        return "<none>".to_string();
    }
    pairs.sort();
    pairs.join(",")
}

/// `LabelSelectorAsSelector(sel).String()`: requirements sorted by key, `in`/`notin`
/// values sorted. None when the selector is invalid (bad operator, key or value).
pub fn label_selector_string(sel: Option<&Value>) -> Option<String> {
    LabelSelector::from_label_selector_json(sel.unwrap_or(&Value::Null))
        .ok()
        .map(|s| s.to_string())
}

/// `metav1.FormatLabelSelector`: the selector string, `<none>` when empty, `<error>` when invalid.
pub fn format_label_selector(sel: Option<&Value>) -> String {
    match label_selector_string(sel) {
        None => "<error>".to_string(),
        Some(s) if s.is_empty() => "<none>".to_string(),
        Some(s) => s,
    }
}

/// `layoutContainerCells`: container names and images, comma-joined.
pub fn container_cells(containers: &[Value]) -> (String, String) {
    let names: Vec<&str> = containers.iter().map(|c| str_at(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| str_at(c, "/image")).collect();
    (names.join(","), images.join(","))
}
