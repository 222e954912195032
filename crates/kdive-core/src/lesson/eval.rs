//! Evaluating checks over an object set, read as JSON. Pure: time is a parameter, and the
//! state a check carries between evaluations (observe sightings, `for:` timers, answers)
//! lives in the step's progress.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::check::{
    Check, CheckBody, Cmp, Expect, MatchCheck, Matcher, ObjectTest, ObserveMode, Op, Quantifier,
    Target,
};
use super::path::scalar_text;
use super::progress::{ObserveProgress, Sighting, StepProgress};

pub use crate::model::Objects;

impl Objects {
    /// The objects a target names, as JSON, sorted by namespace and name.
    pub fn select(&self, t: &Target, default_ns: &str) -> Vec<Value> {
        let ns = t.namespace.as_deref().unwrap_or(default_ns);
        let mut out: Vec<Value> = self
            .values_where(&t.kind.api_version(), t.kind.kind, |o_ns, name| {
                (!t.kind.namespaced || o_ns == Some(ns))
                    && t.name.as_deref().is_none_or(|n| name == n)
            })
            .into_iter()
            .filter(|o| t.selector.as_ref().is_none_or(|s| s.matches(o)))
            .collect();
        out.sort_by(|a, b| {
            (meta(a, "namespace"), meta(a, "name")).cmp(&(meta(b, "namespace"), meta(b, "name")))
        });
        out
    }
}

fn meta<'a>(o: &'a Value, field: &str) -> Option<&'a str> {
    o.get("metadata")?.get(field)?.as_str()
}

/// What a PromQL check's query returned, as the caller found out.
#[derive(Debug, Clone, PartialEq)]
pub enum PromAnswer {
    NotConnected,
    Error(String),
    /// An empty result vector.
    Empty,
    Value(f64),
}

/// The PromQL answer where no Prometheus is connected.
pub fn no_prometheus(_: &str) -> PromAnswer {
    PromAnswer::NotConnected
}

/// Everything evaluation reads besides the check and its state.
pub struct EvalContext<'a> {
    pub objects: &'a Objects,
    /// The lesson's namespace: targets without one are looked up here.
    pub namespace: &'a str,
    pub now: DateTime<Utc>,
    pub promql: &'a (dyn Fn(&str) -> PromAnswer + Sync),
}

impl<'a> EvalContext<'a> {
    /// A context without Prometheus.
    pub fn offline(objects: &'a Objects, namespace: &'a str, now: DateTime<Utc>) -> Self {
        EvalContext {
            objects,
            namespace,
            now,
            promql: &no_prometheus,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Fail,
    /// Holds now, but not yet for its `for:` duration.
    Waiting,
    /// Cannot be evaluated here (e.g. no Prometheus).
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub describe: String,
    pub outcome: Outcome,
    /// Why it fails (or what it waits for); empty when it passes.
    pub message: String,
}

/// Whether every check passed.
pub fn all_pass(results: &[CheckResult]) -> bool {
    results.iter().all(|r| r.outcome == Outcome::Pass)
}

/// Evaluates one check on the current objects and updates its state in `state`:
/// every call is one observation for `observe` checks.
pub fn evaluate(check: &Check, ctx: &EvalContext, state: &mut StepProgress) -> CheckResult {
    let raw = match &check.body {
        CheckBody::Match(m) => match_check(m, ctx).map(|()| String::new()),
        CheckBody::Observe { mode, entries } => {
            let obs = state.observed.entry(check.id.clone()).or_default();
            observe(*mode, entries, ctx, obs)
        }
        CheckBody::Input { expect, .. } => match state.answers.get(&check.id) {
            None => Err(format!(
                "no answer yet (answer with --answer {}=VALUE)",
                check.id
            )),
            Some(a) => test_values(expect, &[&Value::String(a.trim().to_string())], ctx)
                .map(|()| String::new())
                .map_err(|e| format!("answer: {e}")),
        },
        CheckBody::Promql { query, expect } => match (ctx.promql)(query) {
            PromAnswer::NotConnected => {
                return result(check, Outcome::Unknown, "no Prometheus connected".into());
            }
            PromAnswer::Error(e) => Err(format!("query failed: {e}")),
            PromAnswer::Empty => Err(format!("{query}: empty result")),
            PromAnswer::Value(v) => test_values(expect, &[&Value::from(v)], ctx)
                .map(|()| String::new())
                .map_err(|e| format!("{query}: {e}")),
        },
    };
    match (raw, check.hold) {
        (Err(msg), _) => {
            state.holding_since.remove(&check.id);
            result(check, Outcome::Fail, msg)
        }
        (Ok(_), None) => result(check, Outcome::Pass, String::new()),
        (Ok(_), Some(hold)) => {
            let since = *state
                .holding_since
                .entry(check.id.clone())
                .or_insert(ctx.now);
            let held = (ctx.now - since).to_std().unwrap_or_default();
            if held >= hold {
                result(check, Outcome::Pass, String::new())
            } else {
                result(
                    check,
                    Outcome::Waiting,
                    format!(
                        "holds for {}s so far; must hold for {}s",
                        held.as_secs(),
                        hold.as_secs()
                    ),
                )
            }
        }
    }
}

fn result(check: &Check, outcome: Outcome, message: String) -> CheckResult {
    CheckResult {
        id: check.id.clone(),
        describe: check.describe.clone(),
        outcome,
        message,
    }
}

fn observe(
    mode: ObserveMode,
    entries: &[MatchCheck],
    ctx: &EvalContext,
    obs: &mut ObserveProgress,
) -> Result<String, String> {
    if mode == ObserveMode::Never {
        if let Some(v) = &obs.violated {
            return Err(format!("seen at {}: {}", v.at.to_rfc3339(), v.what));
        }
        if match_check(&entries[0], ctx).is_ok() {
            let what = describe_match(&entries[0]);
            obs.violated = Some(Sighting {
                at: ctx.now,
                what: what.clone(),
            });
            return Err(format!("seen: {what}"));
        }
        return Ok(String::new());
    }
    // One step of the sequence per observation: "A then B" needs two distinct moments.
    if let Some(next) = entries.get(obs.matched)
        && match_check(next, ctx).is_ok()
    {
        obs.sightings.push(Sighting {
            at: ctx.now,
            what: describe_match(next),
        });
        obs.matched += 1;
    }
    match entries.get(obs.matched) {
        None => Ok(String::new()),
        Some(next) => {
            let now = match_check(next, ctx).err().unwrap_or_default();
            let progress = if entries.len() > 1 {
                format!(" (step {} of {})", obs.matched + 1, entries.len())
            } else {
                String::new()
            };
            Err(format!(
                "not seen yet{progress}: {}; now {now}",
                describe_match(next)
            ))
        }
    }
}

/// "EndpointSlices (…): endpoints[*] where conditions.ready = true = 2".
pub fn describe_match(m: &MatchCheck) -> String {
    let test = match &m.test {
        ObjectTest::Exists => "exists".to_string(),
        ObjectTest::Expect(e) => describe_expect(e),
        ObjectTest::Total {
            items,
            filter,
            count,
        } => {
            let filter = filter
                .as_ref()
                .map(|f| format!(" where {}", describe_expect(f)))
                .unwrap_or_default();
            format!(
                "count of {}{filter} is {}",
                items.text,
                describe_matcher(count)
            )
        }
    };
    format!("{}: {test}", m.target.describe())
}

fn describe_expect(e: &Expect) -> String {
    e.0.iter()
        .map(|(p, m)| match m {
            Matcher::Nested(inner) => format!("{}.({})", p.text, describe_expect(inner)),
            _ => format!("{} = {}", p.text, describe_matcher(m)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_matcher(m: &Matcher) -> String {
    match m {
        Matcher::Nested(e) => describe_expect(e),
        Matcher::Ops(ops) => ops
            .iter()
            .map(describe_op)
            .collect::<Vec<_>>()
            .join(" and "),
    }
}

fn describe_op(op: &Op) -> String {
    match op {
        Op::Cmp(c, v) => format!("{}{}", c.symbol(), show(v)),
        Op::In(vs) => format!(
            "one of [{}]",
            vs.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Op::Matches(re) => format!("a value matching /{re}/"),
        Op::Exists => "a value".into(),
        Op::Absent => "no value".into(),
        Op::Any(e) => format!("an item with {}", describe_expect(e)),
        Op::All(e) => format!("every item with {}", describe_expect(e)),
        Op::EqualsField(t, p) => format!("the value of {} {}", t.describe(), p.text),
        Op::Contains(vs) => format!(
            "a list containing {}",
            vs.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// A value as messages show it: strings bare, the rest as JSON.
pub fn show(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() => "\"\"".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Tests a matcher check on the current objects: Err says what is expected and what is there.
pub fn match_check(m: &MatchCheck, ctx: &EvalContext) -> Result<(), String> {
    let objs = ctx.objects.select(&m.target, ctx.namespace);
    let what = m.target.describe();
    if let ObjectTest::Total {
        items,
        filter,
        count,
    } = &m.test
    {
        if objs.is_empty() {
            return Err(format!("{what}: none found"));
        }
        let n = objs
            .iter()
            .flat_map(|o| items.resolve(o))
            .flat_map(|v| match v {
                Value::Array(a) if !items.is_multi() => a.iter().collect::<Vec<_>>(),
                v => vec![v],
            })
            .filter(|item| {
                filter
                    .as_ref()
                    .is_none_or(|f| test_expect(f, item, ctx, "").is_ok())
            })
            .count();
        let filter_text = filter
            .as_ref()
            .map(|f| format!(" where {}", describe_expect(f)))
            .unwrap_or_default();
        return test_values(count, &[&Value::from(n)], ctx)
            .map_err(|e| format!("{what}: {}{filter_text}: {e}", items.text));
    }
    let test = |o: &Value| match &m.test {
        ObjectTest::Expect(e) => test_expect(e, o, ctx, ""),
        _ => Ok(()),
    };
    let name = |o: &Value| {
        format!(
            "{}/{}",
            m.target.kind.singular,
            meta(o, "name").unwrap_or("?")
        )
    };
    let none_found = || {
        if m.target.name.is_some() {
            format!(
                "{what}: not found in namespace {}",
                m.target.namespace.as_deref().unwrap_or(ctx.namespace)
            )
        } else {
            format!("{what}: none found")
        }
    };
    match &m.quantifier {
        Quantifier::All => {
            if objs.is_empty() {
                return Err(none_found());
            }
            for o in &objs {
                test(o).map_err(|e| format!("{}: {e}", name(o)))?;
            }
            Ok(())
        }
        Quantifier::Any => {
            if objs.is_empty() {
                return Err(none_found());
            }
            let mut first = None;
            for o in &objs {
                match test(o) {
                    Ok(()) => return Ok(()),
                    Err(e) if first.is_none() => first = Some(format!("{}: {e}", name(o))),
                    Err(_) => {}
                }
            }
            let n = objs.len();
            Err(match (n, first) {
                (1, Some(f)) => f,
                (_, Some(f)) => format!("none of {n} {}s passes; e.g. {f}", m.target.kind.kind),
                (_, None) => none_found(),
            })
        }
        Quantifier::None => match objs.iter().find(|o| test(o).is_ok()) {
            Some(o) => Err(format!("{}: expected none to match, but it does", name(o))),
            None => Ok(()),
        },
        Quantifier::Count(c) => {
            let n = objs.iter().filter(|o| test(o).is_ok()).count();
            test_values(c, &[&Value::from(n)], ctx).map_err(|e| format!("{what}: count: {e}"))
        }
    }
}

/// Tests `expect` on one value; `prefix` is the path of `v` in nested expectations.
fn test_expect(e: &Expect, v: &Value, ctx: &EvalContext, prefix: &str) -> Result<(), String> {
    for (path, m) in &e.0 {
        let full = format!("{prefix}{}", path.text);
        let values = path.resolve(v);
        match m {
            Matcher::Nested(inner) => {
                if values.is_empty() {
                    return Err(format!(
                        "{full}: expected {}, field absent",
                        describe_expect(inner)
                    ));
                }
                for x in values {
                    test_expect(inner, x, ctx, &format!("{full}."))?;
                }
            }
            ops => test_values(ops, &values, ctx).map_err(|msg| format!("{full}: {msg}"))?,
        }
    }
    Ok(())
}

/// Tests operators on the values a path read; Err is "expected X, got Y".
fn test_values(m: &Matcher, values: &[&Value], ctx: &EvalContext) -> Result<(), String> {
    let ops = match m {
        Matcher::Ops(ops) => ops,
        Matcher::Nested(e) => {
            if values.is_empty() {
                return Err(format!("expected {}, field absent", describe_expect(e)));
            }
            return values.iter().try_for_each(|v| test_expect(e, v, ctx, ""));
        }
    };
    for op in ops {
        let desc = describe_op(op);
        match op {
            Op::Exists if values.is_empty() => return Err("expected a value, field absent".into()),
            Op::Exists => {}
            Op::Absent => {
                if let Some(v) = values.first() {
                    return Err(format!("expected no value, got {}", show(v)));
                }
            }
            Op::Contains(want) => {
                let items: Vec<&Value> = values
                    .iter()
                    .flat_map(|v| match v {
                        Value::Array(a) => a.iter().collect::<Vec<_>>(),
                        v => vec![*v],
                    })
                    .collect();
                if let Some(missing) = want
                    .iter()
                    .find(|w| !items.iter().any(|i| compare(Cmp::Eq, i, w)))
                {
                    let got = items.iter().map(|v| show(v)).collect::<Vec<_>>().join(", ");
                    return Err(format!(
                        "expected {desc}, {} is missing (got [{got}])",
                        show(missing)
                    ));
                }
            }
            Op::Any(e) | Op::All(e) => {
                let items: Vec<&Value> = values
                    .iter()
                    .flat_map(|v| match v {
                        Value::Array(a) => a.iter().collect::<Vec<_>>(),
                        v => vec![*v],
                    })
                    .collect();
                if items.is_empty() {
                    return Err(format!("expected {desc}, no items"));
                }
                let passing = items
                    .iter()
                    .filter(|i| test_expect(e, i, ctx, "").is_ok())
                    .count();
                let ok = if matches!(op, Op::Any(_)) {
                    passing > 0
                } else {
                    passing == items.len()
                };
                if !ok {
                    let why = items
                        .iter()
                        .find_map(|i| test_expect(e, i, ctx, "").err())
                        .unwrap_or_default();
                    return Err(format!(
                        "expected {desc}; {passing} of {} items have it (e.g. {why})",
                        items.len()
                    ));
                }
            }
            _ => {
                if values.is_empty() {
                    return Err(format!("expected {desc}, field absent"));
                }
                for v in values {
                    if !holds(op, v, ctx)? {
                        return Err(format!("expected {desc}, got {}", show(v)));
                    }
                }
            }
        }
    }
    Ok(())
}

fn holds(op: &Op, v: &Value, ctx: &EvalContext) -> Result<bool, String> {
    Ok(match op {
        Op::Cmp(c, want) => compare(*c, v, want),
        Op::In(vs) => vs.iter().any(|w| compare(Cmp::Eq, v, w)),
        Op::Matches(re) => scalar_text(v).is_some_and(|s| re.is_match(&s)),
        Op::EqualsField(t, p) => {
            let objs = ctx.objects.select(t, ctx.namespace);
            let live = objs.first().and_then(|o| p.resolve(o).into_iter().next());
            match live {
                Some(w) => compare(Cmp::Eq, v, w),
                None => {
                    return Err(format!(
                        "cannot read {} {} to compare with",
                        t.describe(),
                        p.text
                    ));
                }
            }
        }
        Op::Exists | Op::Absent | Op::Any(_) | Op::All(_) | Op::Contains(_) => true,
    })
}

/// Numbers (and numeric strings) compare as numbers; other scalars by their text.
fn compare(c: Cmp, got: &Value, want: &Value) -> bool {
    let num = |v: &Value| match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    if let (Some(a), Some(b)) = (num(got), num(want)) {
        return match c {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Gt => a > b,
            Cmp::Gte => a >= b,
            Cmp::Lt => a < b,
            Cmp::Lte => a <= b,
        };
    }
    let equal = match (scalar_text(got), scalar_text(want)) {
        (Some(a), Some(b)) => a == b,
        _ => got == want,
    };
    match c {
        Cmp::Eq => equal,
        Cmp::Ne => !equal,
        _ => false,
    }
}
