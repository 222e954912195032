//! Field paths as checks write them: `status.conditions[type=Ready].status`,
//! `endpoints[*].addresses[0]`, `metadata.annotations["deployment.kubernetes.io/revision"]`.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Field(String),
    Index(usize),
    All,
    /// `[key=value]`: the list items whose `key` (a dotted path) reads as `value`.
    Select(Vec<String>, String),
}

/// A parsed field path; `text` is what the author wrote (used in messages).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldPath {
    pub text: String,
    segments: Vec<Segment>,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let mut segments = Vec::new();
        let bytes: Vec<char> = text.chars().collect();
        let mut i = 0;
        let mut field = String::new();
        let err = |m: &str| Err(format!("field path {text:?}: {m}"));
        while i < bytes.len() {
            match bytes[i] {
                '.' => {
                    if field.is_empty()
                        && !matches!(segments.last(), Some(s) if !matches!(s, Segment::Field(_)))
                    {
                        return err("empty field name");
                    }
                    if !field.is_empty() {
                        segments.push(Segment::Field(std::mem::take(&mut field)));
                    }
                    i += 1;
                }
                '[' => {
                    if !field.is_empty() {
                        segments.push(Segment::Field(std::mem::take(&mut field)));
                    }
                    let Some(close) = find_close(&bytes, i) else {
                        return err("unclosed `[`");
                    };
                    let inner: String = bytes[i + 1..close].iter().collect();
                    segments.push(
                        parse_bracket(&inner).map_err(|m| format!("field path {text:?}: {m}"))?,
                    );
                    i = close + 1;
                }
                ']' => return err("unexpected `]`"),
                c => {
                    field.push(c);
                    i += 1;
                }
            }
        }
        if !field.is_empty() {
            segments.push(Segment::Field(field));
        } else if text.ends_with('.') || text.is_empty() {
            return err("empty field name");
        }
        Ok(FieldPath {
            text: text.to_string(),
            segments,
        })
    }

    /// True when the path can read more than one value (`[*]`).
    pub fn is_multi(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::All))
    }

    /// Every value the path reads from `root` (empty: the field is absent).
    pub fn resolve<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![root];
        for seg in &self.segments {
            let mut next = Vec::new();
            for v in current {
                match seg {
                    Segment::Field(name) => {
                        if let Some(x) = v.get(name.as_str()) {
                            next.push(x);
                        }
                    }
                    Segment::Index(n) => {
                        if let Some(x) = v.as_array().and_then(|a| a.get(*n)) {
                            next.push(x);
                        }
                    }
                    Segment::All => {
                        if let Some(a) = v.as_array() {
                            next.extend(a.iter());
                        }
                    }
                    Segment::Select(key, want) => {
                        if let Some(a) = v.as_array() {
                            next.extend(a.iter().filter(|item| {
                                dig(item, key)
                                    .is_some_and(|x| scalar_text(x).as_deref() == Some(want))
                            }));
                        }
                    }
                }
            }
            current = next;
        }
        current.into_iter().filter(|v| !v.is_null()).collect()
    }
}

fn dig<'a>(v: &'a Value, key: &[String]) -> Option<&'a Value> {
    key.iter().try_fold(v, |v, k| v.get(k.as_str()))
}

/// A scalar as text (`true`, `4`, `Ready`); None for lists, maps and null.
pub fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn find_close(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (j, &c) in chars.iter().enumerate().skip(open + 1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, ']') => return Some(j),
            _ => {}
        }
    }
    None
}

fn parse_bracket(inner: &str) -> Result<Segment, String> {
    let inner = inner.trim();
    if inner == "*" {
        return Ok(Segment::All);
    }
    if let Some(q) = inner.chars().next().filter(|c| *c == '"' || *c == '\'') {
        return match inner.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            Some(name) => Ok(Segment::Field(name.to_string())),
            None => Err(format!("unbalanced quotes in [{inner}]")),
        };
    }
    if let Ok(n) = inner.parse::<usize>() {
        return Ok(Segment::Index(n));
    }
    match inner.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|s| s.strip_suffix('"'))
                .unwrap_or(v);
            Ok(Segment::Select(
                k.trim().split('.').map(str::to_string).collect(),
                v.to_string(),
            ))
        }
        _ => Err(format!(
            "[{inner}] is not [*], [N], [key=value] or [\"field\"]"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(path: &str, v: &Value) -> Vec<Value> {
        FieldPath::parse(path)
            .unwrap()
            .resolve(v)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn dotted_selectors_indexes_and_quoted_keys() {
        let obj = json!({
            "metadata": {"annotations": {"deployment.kubernetes.io/revision": "3"}},
            "status": {"conditions": [
                {"type": "Available", "status": "True"},
                {"type": "Progressing", "status": "False"}
            ]},
            "endpoints": [
                {"conditions": {"ready": true}, "addresses": ["10.0.0.1"]},
                {"conditions": {"ready": false}, "addresses": ["10.0.0.2"]}
            ]
        });
        assert_eq!(
            read("status.conditions[type=Progressing].status", &obj),
            vec![json!("False")]
        );
        assert_eq!(
            read("endpoints[*].addresses[0]", &obj),
            vec![json!("10.0.0.1"), json!("10.0.0.2")]
        );
        assert_eq!(
            read("endpoints[conditions.ready=true].addresses[0]", &obj),
            vec![json!("10.0.0.1")]
        );
        assert_eq!(
            read(
                "metadata.annotations[\"deployment.kubernetes.io/revision\"]",
                &obj
            ),
            vec![json!("3")]
        );
        assert!(read("status.readyReplicas", &obj).is_empty());
        assert!(FieldPath::parse("endpoints[*]").unwrap().is_multi());
    }

    #[test]
    fn malformed_paths_are_rejected() {
        for bad in ["", "a..b", "a[", "a[x]", "a]", "a."] {
            assert!(FieldPath::parse(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
