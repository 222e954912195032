//! Label selectors in kubectl's string form: `app=web`, `tier!=db`, `env in (a,b)`, `app`, `!app`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    pub text: String,
    reqs: Vec<Req>,
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, String> {
        let mut reqs = Vec::new();
        for part in split_top(text) {
            let p = part.trim();
            let bad = || format!("selector {text:?}: cannot read {p:?}");
            if p.is_empty() {
                return Err(bad());
            }
            let req = if let Some((k, v)) = p.split_once("!=") {
                Req::Ne(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
                Req::Eq(k.trim().into(), v.trim().into())
            } else if let Some(k) = p.strip_prefix('!') {
                Req::NotExists(k.trim().into())
            } else if let Some((k, set)) = p.split_once(" notin ") {
                Req::NotIn(k.trim().into(), set_values(set).ok_or_else(bad)?)
            } else if let Some((k, set)) = p.split_once(" in ") {
                Req::In(k.trim().into(), set_values(set).ok_or_else(bad)?)
            } else if p.contains(|c: char| c.is_whitespace() || c == '(') {
                return Err(bad());
            } else {
                Req::Exists(p.into())
            };
            reqs.push(req);
        }
        Ok(Selector {
            text: text.to_string(),
            reqs,
        })
    }

    /// Whether an object's `metadata.labels` satisfy every requirement.
    pub fn matches(&self, obj: &Value) -> bool {
        let labels = obj.pointer("/metadata/labels");
        let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
        self.reqs.iter().all(|r| match r {
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::Ne(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => !get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
        })
    }
}

/// Splits on commas outside parentheses.
fn split_top(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

fn set_values(set: &str) -> Option<Vec<String>> {
    let inner = set.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|s| s.trim().to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kubectl_selector_forms() {
        let pod = json!({"metadata": {"labels": {"app": "web", "tier": "front"}}});
        let yes = [
            "app=web",
            "app==web",
            "app=web,tier!=db",
            "tier in (front, back)",
            "app",
            "!db",
            "tier notin (db)",
        ];
        let no = ["app=db", "app!=web", "tier in (back)", "db", "!app"];
        for s in yes {
            assert!(
                Selector::parse(s).unwrap().matches(&pod),
                "{s} should match"
            );
        }
        for s in no {
            assert!(
                !Selector::parse(s).unwrap().matches(&pod),
                "{s} should not match"
            );
        }
        assert!(Selector::parse("app=web,").is_err());
        assert!(Selector::parse("a b").is_err());
    }
}
