//! Label and field selectors, with the apiserver's syntax, validation and matching.
//!
//! Label syntax (`labels.Parse`): `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`,
//! `!a`, `a>1`, `a<1`; a comma means AND, whitespace between tokens is ignored. Field
//! selectors (`fields.ParseSelector`): `f=v`, `f==v`, `f!=v` joined by commas, with `\,`
//! `\=` `\\` escapes, checked against the fields the resource supports.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};
use thiserror::Error;

/// A selector that does not parse or names something invalid. The message is the
/// apiserver's (it goes back to the client in a 400 `BadRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SelectorError {
    #[error("{0}")]
    Syntax(String),
    #[error("field label not supported: {0}")]
    UnsupportedField(String),
}

fn syntax(msg: impl Into<String>) -> SelectorError {
    SelectorError::Syntax(msg.into())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equals,
    DoubleEquals,
    NotEquals,
    In,
    NotIn,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    op: Op,
    /// Sorted and unique, like the apiserver's value set.
    values: BTreeSet<String>,
}

impl Requirement {
    fn new(key: &str, op: Op, values: BTreeSet<String>) -> Result<Self, SelectorError> {
        if let Err(msg) = validate_qualified_name(key) {
            return Err(syntax(format!("key: Invalid value: {key:?}: {msg}")));
        }
        let count_ok = match op {
            Op::In | Op::NotIn => !values.is_empty(),
            Op::Equals | Op::DoubleEquals | Op::NotEquals => values.len() == 1,
            Op::Exists | Op::DoesNotExist => values.is_empty(),
            Op::GreaterThan | Op::LessThan => values.len() == 1,
        };
        if !count_ok {
            let msg = match op {
                Op::In | Op::NotIn => "for 'in', 'notin' operators, values set can't be empty",
                Op::Exists | Op::DoesNotExist => {
                    "values set must be empty for exists and does not exist"
                }
                Op::GreaterThan | Op::LessThan => {
                    "for 'Gt', 'Lt' operators, exactly one value is required"
                }
                _ => "exact-match compatibility requires one single value",
            };
            // Go prints the value set as `[]string{"a", "b"}`.
            let shown: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
            return Err(syntax(format!(
                "values: Invalid value: []string{{{}}}: {msg}",
                shown.join(", ")
            )));
        }
        for (i, value) in values.iter().enumerate() {
            if matches!(op, Op::GreaterThan | Op::LessThan) {
                if value.parse::<i64>().is_err() {
                    return Err(syntax(format!(
                        "values[{i}]: Invalid value: {value:?}: for 'Gt', 'Lt' operators, the value must be an integer"
                    )));
                }
            } else if let Err(msg) = validate_label_value(value) {
                return Err(syntax(format!(
                    "values[{i}][{key}]: Invalid value: {value:?}: {msg}"
                )));
            }
        }
        Ok(Self {
            key: key.to_string(),
            op,
            values,
        })
    }

    fn matches(&self, label: Option<&str>) -> bool {
        match self.op {
            Op::Equals | Op::DoubleEquals | Op::In => {
                label.is_some_and(|v| self.values.contains(v))
            }
            Op::NotEquals | Op::NotIn => label.is_none_or(|v| !self.values.contains(v)),
            Op::Exists => label.is_some(),
            Op::DoesNotExist => label.is_none(),
            Op::GreaterThan | Op::LessThan => {
                let (Some(have), Some(want)) = (
                    label.and_then(|v| v.parse::<i64>().ok()),
                    self.values.first().and_then(|v| v.parse::<i64>().ok()),
                ) else {
                    return false;
                };
                if self.op == Op::GreaterThan {
                    have > want
                } else {
                    have < want
                }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let values = self.values.iter().cloned().collect::<Vec<_>>().join(",");
        let first = self.values.first().map(String::as_str).unwrap_or("");
        match self.op {
            Op::Exists => write!(f, "{}", self.key),
            Op::DoesNotExist => write!(f, "!{}", self.key),
            Op::Equals => write!(f, "{}={first}", self.key),
            Op::DoubleEquals => write!(f, "{}=={first}", self.key),
            Op::NotEquals => write!(f, "{}!={first}", self.key),
            Op::In => write!(f, "{} in ({values})", self.key),
            Op::NotIn => write!(f, "{} notin ({values})", self.key),
            Op::GreaterThan => write!(f, "{}>{first}", self.key),
            Op::LessThan => write!(f, "{}<{first}", self.key),
        }
    }
}

/// A parsed label selector; all requirements must hold (AND).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    /// A `null` selector object selects nothing (`LabelSelectorAsSelector(nil)`).
    nothing: bool,
}

impl LabelSelector {
    /// Parses the `labelSelector` query syntax. An empty string selects everything.
    pub fn parse(s: &str) -> Result<Self, SelectorError> {
        let mut requirements = Parser::new(s).parse()?;
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            requirements,
            nothing: false,
        })
    }

    /// Builds a selector from a `metav1.LabelSelector` object (`matchLabels`,
    /// `matchExpressions` with In, NotIn, Exists, DoesNotExist). `null` selects nothing,
    /// `{}` selects everything.
    pub fn from_label_selector_json(v: &Value) -> Result<Self, SelectorError> {
        if v.is_null() {
            return Ok(Self {
                requirements: Vec::new(),
                nothing: true,
            });
        }
        let obj = v
            .as_object()
            .ok_or_else(|| syntax("label selector must be an object"))?;
        let mut requirements = Vec::new();
        if let Some(labels) = obj.get("matchLabels").filter(|m| !m.is_null()) {
            let labels = labels
                .as_object()
                .ok_or_else(|| syntax("matchLabels must be an object"))?;
            for (key, value) in labels {
                let value = value
                    .as_str()
                    .ok_or_else(|| syntax(format!("matchLabels[{key}] must be a string")))?;
                let values = BTreeSet::from([value.to_string()]);
                requirements.push(Requirement::new(key, Op::Equals, values)?);
            }
        }
        let exprs = match obj.get("matchExpressions") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(a)) => a.as_slice(),
            Some(_) => return Err(syntax("matchExpressions must be a list")),
        };
        for expr in exprs {
            let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
            let operator = expr.get("operator").and_then(Value::as_str).unwrap_or("");
            let op = match operator {
                "In" => Op::In,
                "NotIn" => Op::NotIn,
                "Exists" => Op::Exists,
                "DoesNotExist" => Op::DoesNotExist,
                other => {
                    return Err(syntax(format!(
                        "{other:?} is not a valid label selector operator"
                    )));
                }
            };
            let values: BTreeSet<String> = match expr.get("values") {
                Some(Value::Array(vals)) => vals
                    .iter()
                    .map(|v| {
                        v.as_str()
                            .map(String::from)
                            .ok_or_else(|| syntax(format!("values of {key:?} must be strings")))
                    })
                    .collect::<Result<_, _>>()?,
                _ => BTreeSet::new(),
            };
            requirements.push(Requirement::new(key, op, values)?);
        }
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Self {
            requirements,
            nothing: false,
        })
    }

    /// True when the labels (a JSON object of strings) satisfy every requirement.
    pub fn matches(&self, labels: &Map<String, Value>) -> bool {
        self.matches_with(|key| labels.get(key).and_then(Value::as_str))
    }

    /// Like `matches`, with a lookup function instead of a map.
    pub fn matches_with<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        !self.nothing && self.requirements.iter().all(|r| r.matches(lookup(&r.key)))
    }

    /// True when the selector has no requirements (and so selects everything).
    pub fn is_everything(&self) -> bool {
        !self.nothing && self.requirements.is_empty()
    }
}

impl fmt::Display for LabelSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.requirements.iter().map(|r| r.to_string()).collect();
        write!(f, "{}", parts.join(","))
    }
}

const NAME_FMT: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const QUALIFIED_FMT: &str = "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const SUBDOMAIN_FMT: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_VALUE_FMT: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`, non-empty.
fn is_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    let inner = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(inner)
}

fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|part| {
            let b = part.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphanumeric()
                && b[b.len() - 1].is_ascii_alphanumeric()
                && b.iter()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        })
}

/// `validation.IsQualifiedName`: `[prefix/]name`, the name at most 63 characters.
pub(crate) fn validate_qualified_name(key: &str) -> Result<(), String> {
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                return Err("prefix part must be non-empty".to_string());
            }
            if prefix.len() > 253 {
                return Err("prefix part must be no more than 253 characters".to_string());
            }
            if !is_dns1123_subdomain(prefix) {
                return Err(format!("prefix part {SUBDOMAIN_FMT}"));
            }
            *name
        }
        _ => return Err(QUALIFIED_FMT.to_string()),
    };
    if name.is_empty() {
        return Err("name part must be non-empty".to_string());
    }
    if name.len() > 63 {
        return Err("name part must be no more than 63 characters".to_string());
    }
    if !is_name_part(name) {
        return Err(NAME_FMT.to_string());
    }
    Ok(())
}

/// `validation.IsValidLabelValue`: empty, or a name part of at most 63 characters.
pub(crate) fn validate_label_value(value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !is_name_part(value) {
        return Err(LABEL_VALUE_FMT.to_string());
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    End,
    Ident(String),
    Not,
    NotEquals,
    Equals,
    DoubleEquals,
    Greater,
    Less,
    In,
    NotIn,
    Open,
    Close,
    Comma,
}

impl Token {
    /// How the token reads in an error message.
    fn text(&self) -> &str {
        match self {
            Token::End => "",
            Token::Ident(s) => s,
            Token::Not => "!",
            Token::NotEquals => "!=",
            Token::Equals => "=",
            Token::DoubleEquals => "==",
            Token::Greater => ">",
            Token::Less => "<",
            Token::In => "in",
            Token::NotIn => "notin",
            Token::Open => "(",
            Token::Close => ")",
            Token::Comma => ",",
        }
    }
}

fn is_special(c: char) -> bool {
    matches!(c, '=' | '!' | '(' | ')' | ',' | '>' | '<')
}

fn lex(s: &str) -> Vec<Token> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = chars.get(i + 1).copied();
        let (tok, len) = match (c, next) {
            ('!', Some('=')) => (Token::NotEquals, 2),
            ('=', Some('=')) => (Token::DoubleEquals, 2),
            ('!', _) => (Token::Not, 1),
            ('=', _) => (Token::Equals, 1),
            ('>', _) => (Token::Greater, 1),
            ('<', _) => (Token::Less, 1),
            ('(', _) => (Token::Open, 1),
            (')', _) => (Token::Close, 1),
            (',', _) => (Token::Comma, 1),
            _ => {
                let start = i;
                let mut end = i;
                while end < chars.len() && !chars[end].is_whitespace() && !is_special(chars[end]) {
                    end += 1;
                }
                let word: String = chars[start..end].iter().collect();
                let tok = match word.as_str() {
                    "in" => Token::In,
                    "notin" => Token::NotIn,
                    _ => Token::Ident(word),
                };
                (tok, end - start)
            }
        };
        out.push(tok);
        i += len;
    }
    out
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn new(s: &str) -> Self {
        Self {
            tokens: lex(s),
            pos: 0,
        }
    }

    /// The next token; in value position `in`/`notin` are plain identifiers.
    fn peek(&self, values: bool) -> Token {
        let tok = self.tokens.get(self.pos).cloned().unwrap_or(Token::End);
        match tok {
            Token::In | Token::NotIn if values => Token::Ident(tok.text().to_string()),
            t => t,
        }
    }

    fn next(&mut self, values: bool) -> Token {
        let tok = self.peek(values);
        self.pos += 1;
        tok
    }

    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut out = Vec::new();
        loop {
            match self.peek(true) {
                Token::End => return Ok(out),
                Token::Ident(_) | Token::Not => {
                    let r = self
                        .requirement()
                        .map_err(|e| syntax(format!("unable to parse requirement: {e}")))?;
                    out.push(r);
                    match self.next(true) {
                        Token::End => return Ok(out),
                        Token::Comma => match self.peek(true) {
                            Token::Ident(_) | Token::Not => {}
                            t => {
                                return Err(syntax(format!(
                                    "found '{}', expected: identifier after ','",
                                    t.text()
                                )));
                            }
                        },
                        t => {
                            return Err(syntax(format!(
                                "found '{}', expected: ',' or 'end of string'",
                                t.text()
                            )));
                        }
                    }
                }
                t => {
                    return Err(syntax(format!(
                        "found '{}', expected: !, identifier, or 'end of string'",
                        t.text()
                    )));
                }
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let mut negated = false;
        let mut tok = self.next(true);
        if tok == Token::Not {
            negated = true;
            tok = self.next(true);
            if !matches!(tok, Token::Ident(_)) {
                return Err(syntax(format!(
                    "found '{}', expected: identifier after '!'",
                    tok.text()
                )));
            }
        }
        let Token::Ident(key) = tok else {
            return Err(syntax(format!(
                "found '{}', expected: identifier",
                tok.text()
            )));
        };
        if negated {
            return Requirement::new(&key, Op::DoesNotExist, BTreeSet::new());
        }
        if matches!(self.peek(true), Token::End | Token::Comma) {
            return Requirement::new(&key, Op::Exists, BTreeSet::new());
        }
        let op = match self.next(false) {
            Token::Equals => Op::Equals,
            Token::DoubleEquals => Op::DoubleEquals,
            Token::NotEquals => Op::NotEquals,
            Token::In => Op::In,
            Token::NotIn => Op::NotIn,
            Token::Greater => Op::GreaterThan,
            Token::Less => Op::LessThan,
            t => {
                return Err(syntax(format!(
                    "found '{}', expected: in, notin, =, ==, !=, gt, lt",
                    t.text()
                )));
            }
        };
        let values = if matches!(op, Op::In | Op::NotIn) {
            self.value_list()?
        } else {
            BTreeSet::from([self.exact_value()?])
        };
        Requirement::new(&key, op, values)
    }

    /// `(a, b, c)`; empty entries are empty strings, `()` is one empty string.
    fn value_list(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        let tok = self.next(true);
        if tok != Token::Open {
            return Err(syntax(format!("found '{}', expected: '('", tok.text())));
        }
        let mut values = BTreeSet::new();
        // The identifier since the last comma; an empty entry is the empty string.
        let mut current: Option<String> = None;
        loop {
            match self.next(true) {
                Token::Ident(v) if current.is_none() => current = Some(v),
                Token::Comma => {
                    values.insert(current.take().unwrap_or_default());
                }
                Token::Close => {
                    values.insert(current.take().unwrap_or_default());
                    return Ok(values);
                }
                t => {
                    return Err(syntax(format!(
                        "found '{}', expected: ',', ')' or identifier",
                        t.text()
                    )));
                }
            }
        }
    }

    /// The value after `=`, `==`, `!=`, `>` or `<`; nothing before `,` or the end is "".
    fn exact_value(&mut self) -> Result<String, SelectorError> {
        if matches!(self.peek(true), Token::End | Token::Comma) {
            return Ok(String::new());
        }
        match self.next(true) {
            Token::Ident(v) => Ok(v),
            t => Err(syntax(format!(
                "found '{}', expected: identifier",
                t.text()
            ))),
        }
    }
}

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

#[cfg(test)]
#[path = "selector_tests.rs"]
mod tests;
