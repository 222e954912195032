//! Field errors and the 422 `Invalid` message, worded as apimachinery v0.32 words them:
//! `pkg/util/validation/field/errors.go` (`Error`, `ErrorBody`, `ToAggregate`) and
//! `pkg/api/errors/errors.go` (`NewInvalid`). Go renders a bad value by its type (`%v` for
//! numbers, `%q` for strings, `%#v` for maps and structs), so callers say which it is.

use serde_json::{Map, Value};

/// `field.ErrorType`: the cause's `reason` and the words the message starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    NotFound,
    Required,
    Duplicate,
    Invalid,
    NotSupported,
    Forbidden,
    TooLong,
    TooMany,
    Internal,
}

impl ErrorType {
    /// The `CauseType`, e.g. `FieldValueInvalid`.
    pub fn reason(self) -> &'static str {
        match self {
            ErrorType::NotFound => "FieldValueNotFound",
            ErrorType::Required => "FieldValueRequired",
            ErrorType::Duplicate => "FieldValueDuplicate",
            ErrorType::Invalid => "FieldValueInvalid",
            ErrorType::NotSupported => "FieldValueNotSupported",
            ErrorType::Forbidden => "FieldValueForbidden",
            ErrorType::TooLong => "FieldValueTooLong",
            ErrorType::TooMany => "FieldValueTooMany",
            ErrorType::Internal => "InternalError",
        }
    }

    /// `ErrorType.String()`.
    pub fn text(self) -> &'static str {
        match self {
            ErrorType::NotFound => "Not found",
            ErrorType::Required => "Required value",
            ErrorType::Duplicate => "Duplicate value",
            ErrorType::Invalid => "Invalid value",
            ErrorType::NotSupported => "Unsupported value",
            ErrorType::Forbidden => "Forbidden",
            ErrorType::TooLong => "Too long",
            ErrorType::TooMany => "Too many",
            ErrorType::Internal => "Internal error",
        }
    }
}

/// A bad value as Go prints it in `ErrorBody`.
#[derive(Debug, Clone, PartialEq)]
pub enum BadValue {
    /// Not printed (Required, Forbidden, TooLong, Internal).
    Omitted,
    /// Integers print with `%v`.
    Int(i64),
    Bool(bool),
    /// Strings print with `%q`.
    Str(String),
    /// A value already rendered as Go's `%#v` prints it (maps, slices, structs).
    Go(String),
}

/// One `field.Error`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub kind: ErrorType,
    pub field: String,
    pub value: BadValue,
    pub detail: String,
}

impl FieldError {
    pub fn invalid(field: impl Into<String>, value: BadValue, detail: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::Invalid,
            field: field.into(),
            value,
            detail: detail.into(),
        }
    }

    pub fn required(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::Required,
            field: field.into(),
            value: BadValue::Omitted,
            detail: detail.into(),
        }
    }

    pub fn forbidden(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::Forbidden,
            field: field.into(),
            value: BadValue::Omitted,
            detail: detail.into(),
        }
    }

    pub fn duplicate(field: impl Into<String>, value: BadValue) -> Self {
        Self {
            kind: ErrorType::Duplicate,
            field: field.into(),
            value,
            detail: String::new(),
        }
    }

    /// `field.NotSupported`: the detail lists the supported values, quoted.
    pub fn not_supported(field: impl Into<String>, value: BadValue, supported: &[&str]) -> Self {
        let detail = if supported.is_empty() {
            String::new()
        } else {
            let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
            format!("supported values: {}", quoted.join(", "))
        };
        Self {
            kind: ErrorType::NotSupported,
            field: field.into(),
            value,
            detail,
        }
    }

    /// `field.TooLong` (v0.32: "may not be more than N bytes").
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self {
            kind: ErrorType::TooLong,
            field: field.into(),
            value: BadValue::Omitted,
            detail: format!("may not be more than {max} bytes"),
        }
    }

    /// `ErrorBody`: the message without the field, as in a Status cause.
    pub fn body(&self) -> String {
        let mut s = match (self.kind, &self.value) {
            (
                ErrorType::Required
                | ErrorType::Forbidden
                | ErrorType::TooLong
                | ErrorType::Internal,
                _,
            )
            | (_, BadValue::Omitted) => self.kind.text().to_string(),
            (_, BadValue::Int(n)) => format!("{}: {n}", self.kind.text()),
            (_, BadValue::Bool(b)) => format!("{}: {b}", self.kind.text()),
            (_, BadValue::Str(v)) => format!("{}: {}", self.kind.text(), go_quote(v)),
            (_, BadValue::Go(v)) => format!("{}: {v}", self.kind.text()),
        };
        if !self.detail.is_empty() {
            s.push_str(": ");
            s.push_str(&self.detail);
        }
        s
    }
}

impl std::fmt::Display for FieldError {
    /// `Error()`: `field: body`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// `NewInvalid`'s message: `Deployment.apps "web" is invalid: <errors>`; one error bare,
/// several bracketed and joined with ", ", duplicates dropped (`ToAggregate`).
/// `qualified_kind` is `Kind` for the core group, else `Kind.group`.
pub fn invalid_message(qualified_kind: &str, name: &str, errors: &[FieldError]) -> String {
    let mut unique: Vec<String> = Vec::new();
    for e in errors {
        let s = e.to_string();
        if !unique.contains(&s) {
            unique.push(s);
        }
    }
    let head = format!("{qualified_kind} {} is invalid", go_quote(name));
    match unique.as_slice() {
        [] => head,
        [one] => format!("{head}: {one}"),
        many => format!("{head}: [{}]", many.join(", ")),
    }
}

/// Go's `%q` of a string: Go escapes differ from Rust's `{:?}` (`\x00`, not `\u{0}`).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if (0x80..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `%#v` of a `map[string]string` from a JSON object (`None`: a nil map). Go sorts the
/// keys when printing maps.
pub fn go_string_map(map: Option<&Map<String, Value>>) -> String {
    let Some(map) = map else {
        return "map[string]string(nil)".into();
    };
    let mut pairs: Vec<(&String, String)> = map
        .iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_string()))
        .collect();
    pairs.sort();
    let inner: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}:{}", go_quote(k), go_quote(v)))
        .collect();
    format!("map[string]string{{{}}}", inner.join(", "))
}

/// `%#v` of a `[]string` (`None`: a nil slice).
pub fn go_string_slice(items: Option<&[Value]>) -> String {
    match items {
        None => "[]string(nil)".into(),
        Some(items) => {
            let inner: Vec<String> = items
                .iter()
                .map(|v| go_quote(v.as_str().unwrap_or_default()))
                .collect();
            format!("[]string{{{}}}", inner.join(", "))
        }
    }
}

/// `%#v` of a `metav1.LabelSelector` from its JSON.
pub fn go_label_selector(selector: &Value) -> String {
    let labels = go_string_map(selector.get("matchLabels").and_then(Value::as_object));
    let exprs = match selector.get("matchExpressions").and_then(Value::as_array) {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let inner: Vec<String> = list
                .iter()
                .map(|r| {
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{}, Operator:{}, Values:{}}}",
                        go_quote(r.get("key").and_then(Value::as_str).unwrap_or_default()),
                        go_quote(
                            r.get("operator")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                        ),
                        go_string_slice(
                            r.get("values").and_then(Value::as_array).map(Vec::as_slice)
                        ),
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", inner.join(", "))
        }
    };
    format!("v1.LabelSelector{{MatchLabels:{labels}, MatchExpressions:{exprs}}}")
}

/// `%#v` of an `intstr.IntOrString` from its JSON (a number or a string).
pub fn go_int_or_string(v: &Value) -> String {
    match v {
        Value::String(s) => format!(
            "intstr.IntOrString{{Type:1, IntVal:0, StrVal:{}}}",
            go_quote(s)
        ),
        other => format!(
            "intstr.IntOrString{{Type:0, IntVal:{}, StrVal:\"\"}}",
            other.as_i64().unwrap_or(0)
        ),
    }
}

/// `%+v` of a decoded JSON value (`map[string]interface{}`: maps sorted by key, integers
/// as int64, other numbers as float64, `<nil>` for null).
pub fn go_plus_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if !n.is_f64() => n.to_string(),
        Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_plus_v).collect();
            format!("[{}]", inner.join(" "))
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_plus_v(v)))
                .collect();
            format!("map[{}]", inner.join(" "))
        }
    }
}

/// `%#v` of a decoded JSON value held in an `interface{}`.
pub fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if !n.is_f64() => n.to_string(),
        Value::Number(n) => go_float(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => go_quote(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_sharp_v).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{}:{}", go_quote(k), go_sharp_v(v)))
                .collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
    }
}

/// `%v` of a float64: the shortest form, with an exponent below 1e-4 and from 1e21.
fn go_float(f: f64) -> String {
    let a = f.abs();
    if a != 0.0 && !(1e-4..1e21).contains(&a) {
        let s = format!("{f:e}");
        // Rust writes `1e21` and `1.5e-7`; Go writes `1e+21` and `1.5e-07`.
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match exp.strip_prefix('-') {
            Some(d) => ('-', d),
            None => ('+', exp),
        };
        return format!("{mantissa}e{sign}{digits:0>2}");
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Wording from staging/src/k8s.io/apimachinery/pkg/util/validation/field/errors.go and
    // pkg/api/errors/errors.go (NewInvalid), apimachinery v0.32.0.

    #[test]
    fn error_bodies_print_values_by_type() {
        let e = FieldError::invalid(
            "spec.replicas",
            BadValue::Int(-1),
            "must be greater than or equal to 0",
        );
        assert_eq!(
            e.to_string(),
            "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(e.kind.reason(), "FieldValueInvalid");
        let e = FieldError::invalid("metadata.labels", BadValue::Str("a b".into()), "bad");
        assert_eq!(e.body(), "Invalid value: \"a b\": bad");
        assert_eq!(
            FieldError::required("spec.selector", "").to_string(),
            "spec.selector: Required value"
        );
        assert_eq!(
            FieldError::too_long("metadata.annotations", 262144).to_string(),
            "metadata.annotations: Too long: may not be more than 262144 bytes"
        );
        assert_eq!(
            FieldError::not_supported(
                "spec.ports[0].protocol",
                BadValue::Str("FOO".into()),
                &["SCTP", "TCP", "UDP"]
            )
            .body(),
            "Unsupported value: \"FOO\": supported values: \"SCTP\", \"TCP\", \"UDP\""
        );
        assert_eq!(
            FieldError::duplicate("spec.ports[1].name", BadValue::Str("http".into())).body(),
            "Duplicate value: \"http\""
        );
    }

    #[test]
    fn invalid_message_brackets_only_several_errors_and_drops_duplicates() {
        let a = FieldError::invalid(
            "spec.replicas",
            BadValue::Int(-1),
            "must be greater than or equal to 0",
        );
        let b = FieldError::required("spec.selector", "");
        assert_eq!(
            invalid_message("Deployment.apps", "web", std::slice::from_ref(&a)),
            "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        assert_eq!(
            invalid_message("Deployment.apps", "web", &[a.clone(), b.clone(), a.clone()]),
            "Deployment.apps \"web\" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0, spec.selector: Required value]"
        );
        assert_eq!(invalid_message("Pod", "p", &[]), "Pod \"p\" is invalid");
    }

    #[test]
    fn go_plus_v_prints_decoded_patches() {
        let patch = json!({"spec": {"replicas": "three", "b": [1, 1.5, null, true]}, "a": 1e21});
        assert_eq!(
            go_plus_v(&patch),
            "map[a:1e+21 spec:map[b:[1 1.5 <nil> true] replicas:three]]"
        );
    }

    #[test]
    fn go_renderings() {
        assert_eq!(go_quote("a\"b\u{0}"), "\"a\\\"b\\x00\"");
        let m = json!({"z": "1", "app": "web"});
        assert_eq!(
            go_string_map(m.as_object()),
            "map[string]string{\"app\":\"web\", \"z\":\"1\"}"
        );
        assert_eq!(go_string_map(None), "map[string]string(nil)");
        assert_eq!(
            go_label_selector(&json!({})),
            "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
        );
        assert_eq!(
            go_label_selector(&json!({"matchExpressions": [{"key": "a", "operator": "In"}]})),
            "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement{v1.LabelSelectorRequirement{Key:\"a\", Operator:\"In\", Values:[]string(nil)}}}"
        );
        assert_eq!(
            go_int_or_string(&json!("150%")),
            "intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}"
        );
        assert_eq!(
            go_int_or_string(&json!(0)),
            "intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}"
        );
    }
}
