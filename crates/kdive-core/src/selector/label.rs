//! Label selectors: requirements, matching and printing.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

use super::parser::Parser;
use super::{SelectorError, syntax};
use crate::validation::{is_qualified_name, is_valid_label_value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
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
pub(super) struct Requirement {
    pub(super) key: String,
    op: Op,
    /// Sorted and unique, like the apiserver's value set.
    values: BTreeSet<String>,
}

impl Requirement {
    pub(super) fn new(key: &str, op: Op, values: BTreeSet<String>) -> Result<Self, SelectorError> {
        // `validateLabelKey` and `validateLabelValue` join every problem with "; ".
        let key_errors = is_qualified_name(key);
        if !key_errors.is_empty() {
            return Err(syntax(format!(
                "key: Invalid value: {key:?}: {}",
                key_errors.join("; ")
            )));
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
            } else {
                let value_errors = is_valid_label_value(value);
                if !value_errors.is_empty() {
                    return Err(syntax(format!(
                        "values[{i}][{key}]: Invalid value: {value:?}: {}",
                        value_errors.join("; ")
                    )));
                }
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
