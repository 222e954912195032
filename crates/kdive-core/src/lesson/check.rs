//! The check language: what the author writes (serde shapes) and its validated form.

use std::time::Duration;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::path::FieldPath;
use crate::kinds::{self, Resource};
use crate::selector::LabelSelector;

/// A check as written in a step block (unknown fields are rejected by serde).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSpec {
    pub id: Option<String>,
    pub describe: Option<String>,
    pub kind: Option<String>,
    pub target: Option<Value>,
    #[serde(rename = "match")]
    pub quantifier: Option<String>,
    pub count: Option<Value>,
    pub expect: Option<Value>,
    pub total: Option<Value>,
    #[serde(rename = "for")]
    pub hold: Option<String>,
    pub ever: Option<Box<CheckSpec>>,
    pub sequence: Option<Vec<CheckSpec>>,
    pub never: Option<Box<CheckSpec>>,
    pub prompt: Option<String>,
    pub query: Option<String>,
    pub explain: Option<String>,
}

/// What a check selects: one named object, or every object of a kind matching a selector.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: &'static Resource,
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub selector: Option<TargetSelector>,
}

/// A target's `selector`: the author's text (shown and passed to kubectl as written) and the
/// apiserver's parse of it, so a lesson accepts exactly what `kubectl -l` does.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetSelector {
    pub text: String,
    pub parsed: LabelSelector,
}

impl TargetSelector {
    pub fn parse(text: &str) -> Result<TargetSelector, String> {
        let parsed = LabelSelector::parse(text).map_err(|e| format!("selector {text:?}: {e}"))?;
        Ok(TargetSelector {
            text: text.to_string(),
            parsed,
        })
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        self.parsed
            .matches_with(|k| labels.and_then(|l| l.get(k)).and_then(Value::as_str))
    }
}

impl Target {
    pub fn parse(v: &Value) -> Result<Target, String> {
        match v {
            Value::String(s) => {
                let (kind, name) = match s.split_once('/') {
                    Some((k, n)) if !n.is_empty() => (k, Some(n.to_string())),
                    Some(_) => return Err(format!("target {s:?}: the name after `/` is empty")),
                    None => (s.as_str(), None),
                };
                Ok(Target {
                    kind: kind_named(kind)?,
                    name,
                    namespace: None,
                    selector: None,
                })
            }
            Value::Object(map) => {
                let mut t = Target {
                    kind: kind_named(
                        map.get("kind")
                            .and_then(Value::as_str)
                            .ok_or("target: `kind` is required")?,
                    )?,
                    name: None,
                    namespace: None,
                    selector: None,
                };
                for (k, v) in map {
                    let text = || {
                        v.as_str()
                            .map(str::to_string)
                            .ok_or(format!("target: `{k}` must be a string"))
                    };
                    match k.as_str() {
                        "kind" => {}
                        "name" => t.name = Some(text()?),
                        "namespace" => t.namespace = Some(text()?),
                        "selector" => t.selector = Some(TargetSelector::parse(&text()?)?),
                        other => {
                            return Err(format!(
                                "target: unknown field `{other}`, expected one of `kind`, `name`, `namespace`, `selector`"
                            ));
                        }
                    }
                }
                Ok(t)
            }
            _ => Err("target: expected `kind/name` or {kind, name, namespace, selector}".into()),
        }
    }

    /// `deployment/web`, or `EndpointSlices (kubernetes.io/service-name=web)`.
    pub fn describe(&self) -> String {
        match (&self.name, &self.selector) {
            (Some(n), _) => format!("{}/{n}", self.kind.singular),
            (None, Some(s)) => format!("{}s ({})", self.kind.kind, s.text),
            (None, None) => format!("{}s", self.kind.kind),
        }
    }
}

fn kind_named(name: &str) -> Result<&'static Resource, String> {
    kinds::lookup(name).ok_or_else(|| format!("unknown kind {name:?}"))
}

/// Comparison operators of the matcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    fn from_key(k: &str) -> Option<Cmp> {
        Some(match k {
            "eq" => Cmp::Eq,
            "ne" => Cmp::Ne,
            "gt" => Cmp::Gt,
            "gte" => Cmp::Gte,
            "lt" => Cmp::Lt,
            "lte" => Cmp::Lte,
            _ => return None,
        })
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "",
            Cmp::Ne => "not ",
            Cmp::Gt => "> ",
            Cmp::Gte => ">= ",
            Cmp::Lt => "< ",
            Cmp::Lte => "<= ",
        }
    }
}

/// One operator in value position.
#[derive(Debug, Clone)]
pub enum Op {
    Cmp(Cmp, Value),
    In(Vec<Value>),
    Matches(Regex),
    Exists,
    Absent,
    /// Some list item satisfies the nested expectations.
    Any(Expect),
    /// Every list item (at least one) satisfies them.
    All(Expect),
    /// Equal to a live value read from another object.
    EqualsField(Target, FieldPath),
    /// The list (or the values a `[*]` path read) includes every one of these.
    Contains(Vec<Value>),
}

const OPERATORS: &[&str] = &[
    "eq",
    "ne",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "matches",
    "exists",
    "absent",
    "any",
    "all",
    "equals_field",
    "contains",
];

/// What a field must satisfy: operators, or expectations on its sub-fields.
#[derive(Debug, Clone)]
pub enum Matcher {
    Ops(Vec<Op>),
    Nested(Expect),
}

/// `expect:`, a list of (field path, matcher) pairs, all of which must hold.
#[derive(Debug, Clone, Default)]
pub struct Expect(pub Vec<(FieldPath, Matcher)>);

impl Expect {
    pub fn parse(v: &Value) -> Result<Expect, String> {
        let Value::Object(map) = v else {
            return Err("expect: expected a map of field paths to values".into());
        };
        let mut out = Vec::new();
        for (path, m) in map {
            let fp = FieldPath::parse(path)?;
            out.push((fp, Matcher::parse(m).map_err(|e| format!("{path}: {e}"))?));
        }
        Ok(Expect(out))
    }
}

impl Matcher {
    pub fn parse(v: &Value) -> Result<Matcher, String> {
        let Value::Object(map) = v else {
            return Ok(Matcher::Ops(vec![Op::Cmp(Cmp::Eq, v.clone())]));
        };
        let ops = map
            .keys()
            .filter(|k| OPERATORS.contains(&k.as_str()))
            .count();
        if ops == 0 {
            return Ok(Matcher::Nested(Expect::parse(v)?));
        }
        if ops != map.len() {
            let other = map
                .keys()
                .find(|k| !OPERATORS.contains(&k.as_str()))
                .cloned()
                .unwrap_or_default();
            return Err(format!(
                "unknown operator `{other}` (operators: {})",
                OPERATORS.join(", ")
            ));
        }
        map.iter()
            .map(|(k, v)| parse_op(k, v))
            .collect::<Result<_, _>>()
            .map(Matcher::Ops)
    }

    /// Operators only (for `count`, `total` and answers): no nested expectations.
    pub fn parse_ops(v: &Value, what: &str) -> Result<Matcher, String> {
        match Matcher::parse(v)? {
            Matcher::Nested(_) => Err(format!(
                "{what}: expected a value or operators such as {{gte: 3}}"
            )),
            m => Ok(m),
        }
    }
}

fn parse_op(k: &str, v: &Value) -> Result<Op, String> {
    if let Some(c) = Cmp::from_key(k) {
        return Ok(Op::Cmp(c, v.clone()));
    }
    let flag = |name: &str| match v {
        Value::Bool(true) => Ok(()),
        _ => Err(format!("`{name}` takes `true`")),
    };
    Ok(match k {
        "in" => Op::In(v.as_array().cloned().ok_or("`in` takes a list")?),
        "contains" => Op::Contains(match v {
            Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        }),
        "matches" => {
            let re = v.as_str().ok_or("`matches` takes a regular expression")?;
            Op::Matches(Regex::new(re).map_err(|e| format!("`matches`: {e}"))?)
        }
        "exists" => {
            flag("exists")?;
            Op::Exists
        }
        "absent" => {
            flag("absent")?;
            Op::Absent
        }
        "any" => Op::Any(Expect::parse(v).map_err(|e| format!("any: {e}"))?),
        "all" => Op::All(Expect::parse(v).map_err(|e| format!("all: {e}"))?),
        "equals_field" => {
            let target = v
                .get("target")
                .ok_or("equals_field: `target` is required")?;
            let path = v
                .get("path")
                .and_then(Value::as_str)
                .ok_or("equals_field: `path` is required")?;
            if let Some(extra) = v
                .as_object()
                .and_then(|m| m.keys().find(|k| *k != "target" && *k != "path"))
            {
                return Err(format!("equals_field: unknown field `{extra}`"));
            }
            Op::EqualsField(Target::parse(target)?, FieldPath::parse(path)?)
        }
        other => return Err(format!("unknown operator `{other}`")),
    })
}

/// How many of the selected objects must pass.
#[derive(Debug, Clone)]
pub enum Quantifier {
    All,
    Any,
    None,
    Count(Matcher),
}

/// What is tested on the selected objects.
#[derive(Debug, Clone)]
pub enum ObjectTest {
    /// The objects exist (a target with no `expect`).
    Exists,
    Expect(Expect),
    /// Counts list items across all selected objects.
    Total {
        items: FieldPath,
        filter: Option<Expect>,
        count: Matcher,
    },
}

/// A matcher check: target + quantifier + test.
#[derive(Debug, Clone)]
pub struct MatchCheck {
    pub target: Target,
    pub quantifier: Quantifier,
    pub test: ObjectTest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObserveMode {
    Ever,
    Sequence,
    Never,
}

#[derive(Debug, Clone)]
pub enum CheckBody {
    Match(MatchCheck),
    /// Temporal: entries evaluated on each observed state, in order.
    Observe {
        mode: ObserveMode,
        entries: Vec<MatchCheck>,
    },
    /// The learner's typed answer against a constant or a live field.
    Input {
        prompt: String,
        expect: Matcher,
    },
    /// A PromQL instant query whose (scalar) value is compared; evaluated by the caller.
    Promql {
        query: String,
        expect: Matcher,
    },
}

/// A validated check.
#[derive(Debug, Clone)]
pub struct Check {
    pub id: String,
    pub describe: String,
    pub body: CheckBody,
    /// `for:`: the check must hold this long before it passes.
    pub hold: Option<Duration>,
    pub explain: Option<String>,
}

impl CheckSpec {
    /// Validates the spec; `index` (0-based) names the check when it has no `id`.
    pub fn validate(&self, index: usize) -> Result<Check, String> {
        let id = self
            .id
            .clone()
            .unwrap_or_else(|| format!("check-{}", index + 1));
        let kind = self.kind.as_deref().unwrap_or("match");
        let allowed: &[&str] = match kind {
            "match" => &["target", "match", "count", "expect", "total", "for"],
            "observe" => &["target", "ever", "sequence", "never"],
            "input" => &["prompt", "expect"],
            "promql" => &["query", "expect", "for"],
            other => {
                return Err(format!(
                    "unknown check kind `{other}` (kinds: match, observe, input, promql)"
                ));
            }
        };
        for (name, present) in self.present_fields() {
            if present && !allowed.contains(&name) {
                return Err(format!("`{name}` is not a field of a `{kind}` check"));
            }
        }
        let hold = self.hold.as_deref().map(parse_duration).transpose()?;
        let body = match kind {
            "match" => CheckBody::Match(self.match_check(None)?),
            "observe" => {
                let parent = self.target.as_ref().map(Target::parse).transpose()?;
                let (mode, entries): (ObserveMode, Vec<&CheckSpec>) = match (
                    &self.ever,
                    &self.sequence,
                    &self.never,
                ) {
                    (Some(e), None, None) => (ObserveMode::Ever, vec![e]),
                    (None, Some(s), None) if !s.is_empty() => {
                        (ObserveMode::Sequence, s.iter().collect())
                    }
                    (None, None, Some(n)) => (ObserveMode::Never, vec![n]),
                    _ => {
                        return Err(
                                "an observe check needs exactly one of `ever`, `sequence` (non-empty) or `never`".into(),
                            );
                    }
                };
                let entries = entries
                    .into_iter()
                    .map(|e| {
                        if e.kind.as_deref().is_some_and(|k| k != "match") || e.hold.is_some() {
                            return Err(
                                "observe entries are plain matcher checks (no `kind`, no `for`)"
                                    .to_string(),
                            );
                        }
                        e.match_check(parent.as_ref())
                    })
                    .collect::<Result<_, _>>()?;
                CheckBody::Observe { mode, entries }
            }
            "input" => CheckBody::Input {
                prompt: self
                    .prompt
                    .clone()
                    .ok_or("an input check needs a `prompt`")?,
                expect: Matcher::parse_ops(
                    self.expect
                        .as_ref()
                        .ok_or("an input check needs `expect`")?,
                    "expect",
                )?,
            },
            _ => CheckBody::Promql {
                query: self.query.clone().ok_or("a promql check needs a `query`")?,
                expect: Matcher::parse_ops(
                    self.expect
                        .as_ref()
                        .ok_or("a promql check needs `expect`")?,
                    "expect",
                )?,
            },
        };
        let describe = self
            .describe
            .clone()
            .unwrap_or_else(|| default_describe(&body));
        Ok(Check {
            id,
            describe,
            body,
            hold,
            explain: self.explain.clone(),
        })
    }

    fn present_fields(&self) -> [(&'static str, bool); 11] {
        [
            ("target", self.target.is_some()),
            ("match", self.quantifier.is_some()),
            ("count", self.count.is_some()),
            ("expect", self.expect.is_some()),
            ("total", self.total.is_some()),
            ("for", self.hold.is_some()),
            ("ever", self.ever.is_some()),
            ("sequence", self.sequence.is_some()),
            ("never", self.never.is_some()),
            ("prompt", self.prompt.is_some()),
            ("query", self.query.is_some()),
        ]
    }

    fn match_check(&self, parent: Option<&Target>) -> Result<MatchCheck, String> {
        let target = match (&self.target, parent) {
            (Some(t), _) => Target::parse(t)?,
            (None, Some(p)) => p.clone(),
            (None, None) => return Err("a check needs a `target`".into()),
        };
        if self.ever.is_some() || self.sequence.is_some() || self.never.is_some() {
            return Err("`ever`, `sequence` and `never` belong to `kind: observe` checks".into());
        }
        let quantifier = match (self.quantifier.as_deref(), &self.count) {
            (_, Some(c)) => Quantifier::Count(Matcher::parse_ops(c, "count")?),
            (Some("all"), None) => Quantifier::All,
            (Some("any"), None) => Quantifier::Any,
            (Some("none"), None) => Quantifier::None,
            (Some(other), None) => {
                return Err(format!(
                    "match: `{other}` is not one of all, any, none (or use `count`)"
                ));
            }
            (None, None) if target.name.is_some() => Quantifier::All,
            (None, None) => Quantifier::Any,
        };
        let test = match (&self.expect, &self.total) {
            (Some(_), Some(_)) => return Err("use `expect` or `total`, not both".into()),
            (Some(e), None) => ObjectTest::Expect(Expect::parse(e)?),
            (None, Some(t)) => parse_total(t)?,
            (None, None) => ObjectTest::Exists,
        };
        Ok(MatchCheck {
            target,
            quantifier,
            test,
        })
    }
}

fn parse_total(v: &Value) -> Result<ObjectTest, String> {
    let Value::Object(map) = v else {
        return Err("total: expected {items, where, eq|gte|...}".into());
    };
    let items = map
        .get("items")
        .and_then(Value::as_str)
        .ok_or("total: `items` (a path such as endpoints[*]) is required")?;
    let filter = map.get("where").map(Expect::parse).transpose()?;
    let mut ops = serde_json::Map::new();
    for (k, v) in map {
        match k.as_str() {
            "items" | "where" => {}
            k if Cmp::from_key(k).is_some() || k == "in" => {
                ops.insert(k.to_string(), v.clone());
            }
            other => return Err(format!("total: unknown field `{other}`")),
        }
    }
    if ops.is_empty() {
        return Err("total: needs a comparison such as `eq: 3` or `gte: 1`".into());
    }
    Ok(ObjectTest::Total {
        items: FieldPath::parse(items)?,
        filter,
        count: Matcher::parse_ops(&Value::Object(ops), "total")?,
    })
}

fn default_describe(body: &CheckBody) -> String {
    match body {
        CheckBody::Match(m) => m.target.describe(),
        CheckBody::Observe { entries, .. } => entries
            .first()
            .map(|e| format!("seen on {}", e.target.describe()))
            .unwrap_or_default(),
        CheckBody::Input { prompt, .. } => prompt.clone(),
        CheckBody::Promql { query, .. } => query.clone(),
    }
}

/// `90s`, `5m`, `1h`, `1m30s`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("duration {text:?}: expected something like 30s, 5m or 1h");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let n: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let secs = match &rest[..unit_len] {
            "ms" => n / 1000.0,
            "s" => n,
            "m" => n * 60.0,
            "h" => n * 3600.0,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(secs);
        rest = &rest[unit_len..];
    }
    Ok(total)
}
