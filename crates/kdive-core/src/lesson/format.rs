//! `lesson.md`: YAML front matter, Markdown prose, and one fenced `step` YAML block under
//! each step heading. Errors name `file:line`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::Deserialize;
use serde_json::Value;

use super::check::{Check, CheckSpec, MatchCheck, Target, parse_duration};
use super::solution::{Action, ActionSpec};

/// A parse or lint error with its place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct LessonError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Lesson {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub duration: Option<String>,
    pub level: Option<String>,
    pub tags: Vec<String>,
    pub requires: Requires,
    pub namespace: String,
    pub setup: Setup,
    pub invariants: Vec<Check>,
    pub delete_namespace: bool,
    /// Markdown before the first step.
    pub intro: String,
    pub steps: Vec<Step>,
    /// Manifests and other files of the lesson, by relative path, placeholders substituted.
    pub files: BTreeMap<String, String>,
    /// Where the lesson came from (`lessons/services/clusterip/lesson.md`, or `embedded:…`).
    pub source: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requires {
    /// kube-proxy must run in this mode (read from the kube-system/kube-proxy ConfigMap).
    pub kube_proxy_mode: Option<String>,
    /// Kinds the cluster must serve.
    #[serde(default)]
    pub kinds: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Files applied (server-side) into the lesson's namespace, in order.
    pub apply: Vec<String>,
    /// Checks that must pass before the lesson starts.
    pub wait: Vec<Check>,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct Step {
    pub id: String,
    pub title: String,
    /// The step's prose (Markdown), without its `step` block.
    pub text: String,
    pub line: usize,
    pub needs: Vec<String>,
    pub focus: Vec<Focus>,
    pub checks: Vec<Check>,
    pub hints: Vec<Hint>,
    pub solution: Vec<Action>,
}

/// Where a step points the panes: an object or set, and the fields its checks read.
#[derive(Debug, Clone)]
pub struct Focus {
    pub pane: Option<String>,
    pub target: Target,
    pub highlight: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Hint {
    pub text: String,
    /// Offered after this long on the step.
    pub after: Option<Duration>,
    /// Offered when this holds.
    pub when: Option<MatchCheck>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: String,
    title: String,
    summary: String,
    format: Option<u32>,
    duration: Option<String>,
    level: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    requires: Requires,
    /// Read earlier (see [`Naming`]); declared so it is not an unknown field.
    #[serde(rename = "namespace")]
    _namespace: Option<String>,
    #[serde(default)]
    setup: SetupSpec,
    #[serde(default)]
    invariants: Vec<CheckSpec>,
    #[serde(default)]
    cleanup: CleanupSpec,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SetupSpec {
    #[serde(default)]
    apply: Vec<String>,
    #[serde(default)]
    wait: Vec<CheckSpec>,
    timeout: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CleanupSpec {
    #[serde(default = "yes")]
    delete_namespace: bool,
}

impl Default for CleanupSpec {
    fn default() -> Self {
        CleanupSpec {
            delete_namespace: true,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepSpec {
    #[serde(default)]
    needs: Vec<String>,
    #[serde(default)]
    focus: Vec<FocusSpec>,
    #[serde(default)]
    checks: Vec<CheckSpec>,
    #[serde(default)]
    hints: Vec<Value>,
    #[serde(default)]
    solution: Vec<ActionSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FocusSpec {
    pane: Option<String>,
    #[serde(rename = "ref")]
    target: Value,
    #[serde(default)]
    highlight: Vec<String>,
}

/// Only what decides the namespace, read before placeholders are substituted.
#[derive(Deserialize)]
struct Naming {
    id: Option<String>,
    namespace: Option<String>,
}

/// The namespace a lesson runs in unless its front matter names one: `kdive-<id>`.
pub fn default_namespace(id: &str) -> String {
    let mut ns: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    ns = format!("kdive-{ns}");
    ns.truncate(63);
    ns.trim_end_matches('-').to_string()
}

/// Parses a lesson. `files` holds the lesson's other files (relative path → text).
pub fn parse(
    source: &str,
    text: &str,
    files: &BTreeMap<String, String>,
) -> Result<Lesson, LessonError> {
    let err = |line: usize, message: String| LessonError {
        file: source.to_string(),
        line,
        message,
    };
    let (fm_text, body, body_line) = split_front_matter(text).ok_or_else(|| {
        err(
            1,
            "expected YAML front matter between `---` lines at the top".into(),
        )
    })?;
    let naming: Naming = serde_saphyr::from_str(fm_text).map_err(|e| yaml_err(source, 2, &e))?;
    let namespace = match (naming.namespace, naming.id) {
        (Some(ns), _) => ns,
        (None, Some(id)) => default_namespace(&id),
        (None, None) => return Err(err(2, "front matter: `id` is required".into())),
    };
    let vars = [("ns", namespace.as_str())];
    let fm_text = substitute(fm_text, &vars).map_err(|(l, m)| err(l + 1, m))?;
    let body = substitute(body, &vars).map_err(|(l, m)| err(l + body_line - 1, m))?;
    let fm: FrontMatter = serde_saphyr::from_str(&fm_text).map_err(|e| yaml_err(source, 2, &e))?;
    let line_of = |needle: &str| {
        fm_text
            .lines()
            .position(|l| l.contains(needle))
            .map_or(2, |i| i + 2)
    };
    if fm.format.is_some_and(|f| f != 1) {
        return Err(err(
            line_of("format:"),
            "format: only format 1 is known".into(),
        ));
    }
    if !crate::validation::is_dns1123_label(&namespace).is_empty() {
        return Err(err(
            line_of("namespace:"),
            format!("namespace {namespace:?} is not a valid namespace name"),
        ));
    }
    let checks = |specs: &[CheckSpec], what: &str| -> Result<Vec<Check>, LessonError> {
        specs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                c.validate(i).map_err(|m| {
                    let line = c.id.as_deref().map_or(line_of(what), &line_of);
                    err(line, format!("{what}: {m}"))
                })
            })
            .collect()
    };
    let wait = checks(&fm.setup.wait, "wait")?;
    let invariants = checks(&fm.invariants, "invariants")?;
    let timeout = fm
        .setup
        .timeout
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|m| err(line_of("timeout:"), m))?
        .unwrap_or(Duration::from_secs(120));
    let mut substituted = BTreeMap::new();
    for (path, content) in files {
        let content = substitute(content, &vars).map_err(|(l, m)| LessonError {
            file: format!("{}{path}", dir_of(source)),
            line: l,
            message: m,
        })?;
        substituted.insert(path.clone(), content);
    }
    for f in &fm.setup.apply {
        if !substituted.contains_key(f) {
            return Err(err(
                line_of(f),
                format!("setup.apply: no file {f:?} next to the lesson"),
            ));
        }
    }
    let (intro, steps) = parse_body(source, &body, body_line, &substituted)?;
    Ok(Lesson {
        id: fm.id,
        title: fm.title,
        summary: fm.summary,
        duration: fm.duration,
        level: fm.level,
        tags: fm.tags,
        requires: fm.requires,
        namespace,
        setup: Setup {
            apply: fm.setup.apply,
            wait,
            timeout,
        },
        invariants,
        delete_namespace: fm.cleanup.delete_namespace,
        intro,
        steps,
        files: substituted,
        source: source.to_string(),
    })
}

fn dir_of(source: &str) -> &str {
    source.rfind('/').map_or("", |i| &source[..=i])
}

/// (front matter, body, 1-based line the body starts on).
fn split_front_matter(text: &str) -> Option<(&str, &str, usize)> {
    let rest = text.strip_prefix("---\n")?;
    let mut offset = 0;
    for (i, line) in rest.split_inclusive('\n').enumerate() {
        if line.trim_end() == "---" {
            let fm = &rest[..offset];
            let body = &rest[offset + line.len()..];
            return Some((fm, body, i + 3));
        }
        offset += line.len();
    }
    None
}

/// Replaces `${name}`; an unknown name is an error with its 1-based line in `text`.
fn substitute(text: &str, vars: &[(&str, &str)]) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let mut rest = line;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err((i + 1, "unclosed `${`".into()));
            };
            let name = &after[..end];
            match vars.iter().find(|(k, _)| *k == name) {
                Some((_, v)) => out.push_str(v),
                None => {
                    return Err((
                        i + 1,
                        format!("unknown placeholder `${{{name}}}` (known: ${{ns}})"),
                    ));
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
    }
    Ok(out)
}

/// A serde-saphyr error as `file:line: message`, `first_line` being the YAML's first line.
fn yaml_err(file: &str, first_line: usize, e: &serde_saphyr::Error) -> LessonError {
    let at = crate::yaml::locate(e, first_line);
    let msg = at.message;
    // The classic trap: `{ a[x=y].b: 1 }` — in flow style `[` starts a list.
    let hint = if msg.contains("flow mapping") {
        " (in `{ … }`, a key with `[…]` must be quoted, or use block style)"
    } else {
        ""
    };
    LessonError {
        file: file.to_string(),
        line: at.line,
        message: format!("{msg}{hint}"),
    }
}

struct Heading {
    title: String,
    id: Option<String>,
    start: usize,
    end: usize,
}

struct Block {
    content: String,
    start: usize,
    end: usize,
    heading: Option<usize>,
}

fn parse_body(
    source: &str,
    body: &str,
    body_line: usize,
    files: &BTreeMap<String, String>,
) -> Result<(String, Vec<Step>), LessonError> {
    let line_at = |offset: usize| body_line + body[..offset].matches('\n').count();
    let err = |offset: usize, message: String| LessonError {
        file: source.to_string(),
        line: line_at(offset),
        message,
    };
    let mut headings: Vec<Heading> = Vec::new();
    let mut blocks: Vec<Block> = Vec::new();
    let mut in_heading = false;
    let mut in_step: Option<Block> = None;
    let parser = Parser::new_ext(body, Options::ENABLE_HEADING_ATTRIBUTES).into_offset_iter();
    for (event, range) in parser {
        match event {
            Event::Start(Tag::Heading { id, level, .. }) if level <= HeadingLevel::H3 => {
                in_heading = true;
                headings.push(Heading {
                    title: String::new(),
                    id: id.map(|s| s.to_string()),
                    start: range.start,
                    end: range.end,
                });
            }
            Event::End(TagEnd::Heading(_)) => in_heading = false,
            Event::Text(t) | Event::Code(t) if in_heading => {
                if let Some(h) = headings.last_mut() {
                    h.title.push_str(&t);
                }
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let lang = info.split_whitespace().next().unwrap_or("");
                if lang == "step" {
                    in_step = Some(Block {
                        content: String::new(),
                        start: range.start,
                        end: range.end,
                        heading: headings.len().checked_sub(1),
                    });
                }
            }
            Event::Text(t) => {
                if let Some(b) = in_step.as_mut() {
                    b.content.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(b) = in_step.take() {
                    blocks.push(b);
                }
            }
            _ => {}
        }
    }
    let mut steps: Vec<Step> = Vec::new();
    let mut seen_ids = BTreeSet::new();
    let mut used_headings = BTreeSet::new();
    for b in &blocks {
        let Some(hi) = b.heading else {
            return Err(err(
                b.start,
                "a `step` block must come after its step's heading".into(),
            ));
        };
        if !used_headings.insert(hi) {
            return Err(err(
                b.start,
                "a second `step` block under one heading".into(),
            ));
        }
        let h = &headings[hi];
        let id = h.id.clone().unwrap_or_else(|| slug(&h.title));
        if !seen_ids.insert(id.clone()) {
            return Err(err(h.start, format!("step id {id:?} is used twice")));
        }
        let block_line = line_at(b.start) + 1;
        let spec: StepSpec =
            serde_saphyr::from_str(&b.content).map_err(|e| yaml_err(source, block_line, &e))?;
        let line_in_block = |needle: &str| {
            b.content
                .lines()
                .position(|l| l.contains(needle))
                .map_or(block_line, |i| block_line + i)
        };
        let serr = |needle: &str, m: String| LessonError {
            file: source.to_string(),
            line: line_in_block(needle),
            message: format!("step {id}: {m}"),
        };
        let checks = spec
            .checks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                c.validate(i).map_err(|m| {
                    let from = c.id.as_deref().map_or(block_line, &line_in_block);
                    LessonError {
                        file: source.to_string(),
                        line: line_of_quoted(&b.content, block_line, from, &m),
                        message: format!(
                            "step {id}: check {}: {m}",
                            c.id.clone().unwrap_or_else(|| format!("#{}", i + 1))
                        ),
                    }
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if checks.is_empty() {
            return Err(serr("", "a step needs at least one check".into()));
        }
        let mut check_ids = BTreeSet::new();
        for c in &checks {
            if !check_ids.insert(c.id.clone()) {
                return Err(serr(&c.id, format!("check id {:?} is used twice", c.id)));
            }
        }
        let focus = spec
            .focus
            .iter()
            .map(|f| {
                Ok(Focus {
                    pane: f.pane.clone(),
                    target: Target::parse(&f.target)
                        .map_err(|m| serr("focus:", format!("focus: {m}")))?,
                    highlight: f.highlight.clone(),
                })
            })
            .collect::<Result<Vec<_>, LessonError>>()?;
        let hints = spec
            .hints
            .iter()
            .map(|h| parse_hint(h).map_err(|m| serr("hints:", format!("hints: {m}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let solution = spec
            .solution
            .iter()
            .map(|a| {
                a.validate()
                    .map_err(|m| serr("solution:", format!("solution: {m}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        for a in &solution {
            if let Some(f) = a.file()
                && !files.contains_key(f)
            {
                return Err(serr(
                    f,
                    format!("solution: no file {f:?} next to the lesson"),
                ));
            }
        }
        let text_end = headings.get(hi + 1).map_or(body.len(), |n| n.start);
        let text = format!(
            "{}{}",
            &body[h.end..b.start],
            &body[b.end.min(text_end)..text_end]
        );
        steps.push(Step {
            id,
            title: h.title.trim().to_string(),
            text: trim_blank_lines(&text),
            line: line_at(h.start),
            needs: spec.needs,
            focus,
            checks,
            hints,
            solution,
        });
    }
    if steps.is_empty() {
        return Err(LessonError {
            file: source.to_string(),
            line: body_line,
            message: "no steps: put a ```step block under each step heading".into(),
        });
    }
    for s in &steps {
        for n in &s.needs {
            if !seen_ids.contains(n) {
                return Err(LessonError {
                    file: source.to_string(),
                    line: s.line,
                    message: format!("step {}: needs unknown step {n:?}", s.id),
                });
            }
        }
    }
    let intro_end = blocks
        .first()
        .and_then(|b| b.heading)
        .map_or(body.len(), |hi| headings[hi].start);
    Ok((body[..intro_end].trim().to_string(), steps))
}

/// The line (at or after `from`) naming the first `quoted` or "quoted" word of `message`:
/// where a semantic error is, rather than where its check starts.
fn line_of_quoted(content: &str, first_line: usize, from: usize, message: &str) -> usize {
    let quoted = message
        .split(['`', '"'])
        .skip(1)
        .step_by(2)
        .find(|w| !w.is_empty());
    let Some(word) = quoted else { return from };
    content
        .lines()
        .enumerate()
        .skip(from.saturating_sub(first_line))
        .find(|(_, l)| l.contains(word))
        .map_or(from, |(i, _)| first_line + i)
}

fn parse_hint(v: &Value) -> Result<Hint, String> {
    match v {
        Value::String(s) => Ok(Hint {
            text: s.clone(),
            after: None,
            when: None,
        }),
        Value::Object(map) => {
            let mut hint = Hint {
                text: String::new(),
                after: None,
                when: None,
            };
            for (k, v) in map {
                match k.as_str() {
                    "text" => hint.text = v.as_str().ok_or("`text` must be a string")?.to_string(),
                    "after" => {
                        hint.after = Some(parse_duration(
                            v.as_str().ok_or("`after` must be a duration")?,
                        )?)
                    }
                    "when" => {
                        let spec: CheckSpec =
                            serde_json::from_value(v.clone()).map_err(|e| format!("when: {e}"))?;
                        match spec.validate(0)?.body {
                            super::check::CheckBody::Match(m) if spec.hold.is_none() => {
                                hint.when = Some(m)
                            }
                            _ => return Err("`when` takes a matcher (target + expect)".into()),
                        }
                    }
                    other => return Err(format!("unknown field `{other}` (text, after, when)")),
                }
            }
            if hint.text.is_empty() {
                return Err("a hint needs `text`".into());
            }
            Ok(hint)
        }
        _ => Err("a hint is a string or {text, after, when}".into()),
    }
}

/// Drops leading and trailing blank lines, keeping the first line's indentation (an
/// indented code block may open a step's text).
fn trim_blank_lines(text: &str) -> String {
    let start = text
        .split_inclusive('\n')
        .take_while(|l| l.trim().is_empty())
        .map(str::len)
        .sum::<usize>();
    text[start..].trim_end().to_string()
}

/// GitHub-style heading slug: lower case, spaces to `-`, punctuation dropped.
pub fn slug(title: &str) -> String {
    let mut s = String::new();
    for c in title.trim().chars() {
        if c.is_alphanumeric() {
            s.extend(c.to_lowercase());
        } else if (c == ' ' || c == '-' || c == '_') && !s.ends_with('-') {
            s.push('-');
        }
    }
    s.trim_matches('-').to_string()
}
