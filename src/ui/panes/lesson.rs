//! The lesson pane: the current step's text (rendered from Markdown), its checks live,
//! hints revealed so far, progress through the steps, and — once a step is done or
//! skipped — its solution as kubectl commands. Focus directives are exposed as data
//! ([`FocusTarget`]) for the App to move the other panes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use pulldown_cmark::{Event, HeadingLevel, Parser, Tag, TagEnd};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};

use crate::ui::theme::{Health, Theme};
use kdive_core::lesson::format::{Hint, Lesson};
use kdive_core::lesson::progress::{LessonProgress, StepStatus};
use kdive_core::lesson::{CheckResult, Outcome};

use super::{glyph, heading};

/// Where a step points the explorer: select this object (or set) and emphasise these
/// fields. The App resolves it against its stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FocusTarget {
    pub pane: Option<String>,
    /// The Kind (`Deployment`).
    pub kind: &'static str,
    pub namespace: String,
    pub name: Option<String>,
    pub selector: Option<String>,
    pub highlight: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StepRow {
    pub id: String,
    pub title: String,
    pub state: Health,
    /// done / skipped / current / "" (not started).
    pub note: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub health: Health,
    pub describe: String,
    pub message: String,
}

/// Everything the pane shows, built by [`view`].
#[derive(Debug, Clone, PartialEq)]
pub struct LessonView {
    pub title: String,
    pub lesson_id: String,
    pub namespace: String,
    pub done: usize,
    pub total: usize,
    pub steps: Vec<StepRow>,
    pub current: usize,
    pub step_title: String,
    /// The step's prose, Markdown.
    pub text: String,
    pub checks: Vec<CheckRow>,
    /// Hints revealed so far (by `h`, by time on the step, or by state), in order.
    pub hints: Vec<String>,
    pub hints_total: usize,
    /// The solution's kubectl commands; only once the step is done or skipped.
    pub solution: Vec<String>,
    pub focus: Vec<FocusTarget>,
}

fn outcome_health(o: Outcome) -> Health {
    match o {
        Outcome::Pass => Health::Ok,
        Outcome::Waiting => Health::Warn,
        Outcome::Fail => Health::Bad,
        Outcome::Unknown => Health::None,
    }
}

/// Hints offered on a step: the first `shown` (revealed with `h`), plus any whose `after`
/// has passed since `step_started`, plus those whose `when` the engine found true.
pub fn offered_hints(
    hints: &[Hint],
    shown: usize,
    step_started: Option<DateTime<Utc>>,
    when_true: &[bool],
    now: DateTime<Utc>,
) -> Vec<String> {
    hints
        .iter()
        .enumerate()
        .filter(|(i, h)| {
            *i < shown
                || h.after.is_some_and(|after| {
                    step_started.is_some_and(|s| (now - s).to_std().unwrap_or_default() >= after)
                })
                || when_true.get(*i).copied().unwrap_or(false)
        })
        .map(|(_, h)| h.text.clone())
        .collect()
}

/// Builds the view of `lesson` at step `current`, from its progress and the latest check
/// results (by step id). `hints` are those offered on the current step.
pub fn view(
    lesson: &Lesson,
    progress: &LessonProgress,
    results: &BTreeMap<String, Vec<CheckResult>>,
    current: usize,
    hints: Vec<String>,
) -> LessonView {
    let current = current.min(lesson.steps.len().saturating_sub(1));
    let status_of = |id: &str| progress.steps.get(id).and_then(|s| s.status);
    let steps: Vec<StepRow> = lesson
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (state, note) = match status_of(&s.id) {
                Some(StepStatus::Done) => (Health::Ok, "done"),
                Some(StepStatus::Skipped) => (Health::Ok, "skipped"),
                None if i == current => (Health::Warn, "current"),
                None => (Health::None, ""),
            };
            StepRow {
                id: s.id.clone(),
                title: s.title.clone(),
                state,
                note,
            }
        })
        .collect();
    let step = &lesson.steps[current];
    let checks = match results.get(&step.id) {
        Some(rs) => rs
            .iter()
            .map(|r| CheckRow {
                health: outcome_health(r.outcome),
                describe: r.describe.clone(),
                message: r.message.clone(),
            })
            .collect(),
        None => step
            .checks
            .iter()
            .map(|c| CheckRow {
                health: Health::None,
                describe: c.describe.clone(),
                message: "not checked yet".into(),
            })
            .collect(),
    };
    let solved = status_of(&step.id).is_some();
    LessonView {
        title: lesson.title.clone(),
        lesson_id: lesson.id.clone(),
        namespace: lesson.namespace.clone(),
        done: steps.iter().filter(|s| s.state == Health::Ok).count(),
        total: steps.len(),
        steps,
        current,
        step_title: step.title.clone(),
        text: step.text.clone(),
        checks,
        hints_total: step.hints.len(),
        hints,
        solution: if solved {
            step.solution
                .iter()
                .map(|a| a.kubectl(&lesson.namespace))
                .collect()
        } else {
            Vec::new()
        },
        focus: step
            .focus
            .iter()
            .map(|f| FocusTarget {
                pane: f.pane.clone(),
                kind: f.target.kind.kind,
                namespace: f
                    .target
                    .namespace
                    .clone()
                    .unwrap_or_else(|| lesson.namespace.clone()),
                name: f.target.name.clone(),
                selector: f.target.selector.as_ref().map(|s| s.text.clone()),
                highlight: f.highlight.clone(),
            })
            .collect(),
    }
}

/// Draws the pane in `area` (scrolled like the other main-pane views); returns the
/// clamped scroll.
pub fn render(
    frame: &mut ratatui::Frame,
    area: ratatui::layout::Rect,
    v: &LessonView,
    scroll: usize,
    focused: bool,
    theme: &Theme,
) -> usize {
    let title = Line::from(Span::styled(
        format!(" Lesson {} ", v.lesson_id),
        theme.title(),
    ));
    super::scrolled(
        frame,
        area,
        title,
        lines(v, theme, area.width),
        scroll,
        focused,
        theme,
    )
}

/// The pane's lines at `width` columns.
pub fn lines(v: &LessonView, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let width = (width.saturating_sub(2) as usize).max(20);
    let mut out = vec![
        Line::from(vec![
            Span::styled(v.title.clone(), theme.heading()),
            Span::styled(format!("  {}/{} steps", v.done, v.total), theme.muted()),
        ]),
        Line::from(Span::styled(
            format!("{} · namespace {}", v.lesson_id, v.namespace),
            theme.muted(),
        )),
        Line::default(),
    ];
    for (i, s) in v.steps.iter().enumerate() {
        let marker = if i == v.current { "▸ " } else { "  " };
        let mut spans = vec![
            Span::raw(marker),
            glyph(s.state, theme),
            Span::raw(format!(" {}. {}", i + 1, s.title)),
        ];
        if !s.note.is_empty() && s.note != "current" {
            spans.push(Span::styled(format!("  {}", s.note), theme.muted()));
        }
        out.push(Line::from(spans));
    }
    out.push(Line::default());
    out.push(heading(
        format!("Step {}: {}", v.current + 1, v.step_title),
        theme,
    ));
    out.extend(markdown(&v.text, theme, width));
    out.push(Line::default());
    out.push(heading("Checks", theme));
    for c in &v.checks {
        out.push(Line::from(vec![
            Span::raw("  "),
            glyph(c.health, theme),
            Span::raw(format!(" {}", c.describe)),
        ]));
        if !c.message.is_empty() {
            for l in wrap(&c.message, width.saturating_sub(4)) {
                out.push(Line::from(Span::styled(format!("    {l}"), theme.muted())));
            }
        }
    }
    if v.hints_total > 0 {
        out.push(Line::default());
        let more = if v.hints.len() < v.hints_total {
            " (h for the next)"
        } else {
            ""
        };
        out.push(heading(
            format!("Hints {}/{}{more}", v.hints.len(), v.hints_total),
            theme,
        ));
        for h in &v.hints {
            for (i, mut l) in markdown(h, theme, width.saturating_sub(4))
                .into_iter()
                .enumerate()
            {
                l.spans
                    .insert(0, Span::raw(if i == 0 { "  • " } else { "    " }));
                out.push(l);
            }
        }
    }
    if !v.solution.is_empty() {
        out.push(Line::default());
        out.push(heading("Solution", theme));
        for cmd in &v.solution {
            out.push(Line::from(Span::styled(format!("  {cmd}"), theme.accent())));
        }
    }
    out
}

/// Greedy word wrap.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(10);
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// Markdown to lines: paragraphs wrapped, `code` and code blocks in the accent style,
/// headings bold, list items with bullets.
pub fn markdown(text: &str, theme: &Theme, width: usize) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = Vec::new();
    // Words of the paragraph being built; a word may have differently styled parts
    // (`web`, is one word in two styles).
    let mut words: Vec<Vec<Span<'static>>> = Vec::new();
    let mut glue = false;
    let mut style_stack: Vec<ratatui::style::Style> = vec![ratatui::style::Style::new()];
    let mut in_code_block = false;
    let mut list_depth = 0usize;
    let mut item_start = false;
    let flush = |words: &mut Vec<Vec<Span<'static>>>,
                 out: &mut Vec<Line<'static>>,
                 indent: usize,
                 bullet: bool| {
        if words.is_empty() {
            return;
        }
        let mut line: Vec<Span<'static>> = Vec::new();
        let mut len = indent;
        let lead = |first: bool| {
            if bullet && first {
                format!("{}• ", " ".repeat(indent.saturating_sub(2)))
            } else {
                " ".repeat(indent)
            }
        };
        line.push(Span::raw(lead(true)));
        for w in words.drain(..) {
            let wl: usize = w.iter().map(|s| s.content.chars().count()).sum();
            if len > indent && len + 1 + wl > width {
                out.push(Line::from(std::mem::take(&mut line)));
                line.push(Span::raw(lead(false)));
                len = indent;
            }
            if len > indent {
                line.push(Span::raw(" "));
                len += 1;
            }
            line.extend(w);
            len += wl;
        }
        out.push(Line::from(line));
    };
    for event in Parser::new(text) {
        let indent = list_depth * 2;
        match event {
            Event::Start(Tag::Paragraph) => {}
            Event::End(TagEnd::Paragraph) => {
                glue = false;
                flush(&mut words, &mut out, indent, item_start);
                item_start = false;
                if list_depth == 0 {
                    out.push(Line::default());
                }
            }
            Event::Start(Tag::Heading { level, .. }) => {
                let st = if level <= HeadingLevel::H2 {
                    theme.heading().add_modifier(Modifier::UNDERLINED)
                } else {
                    theme.heading()
                };
                style_stack.push(st);
            }
            Event::End(TagEnd::Heading(_)) => {
                style_stack.pop();
                flush(&mut words, &mut out, 0, false);
                out.push(Line::default());
            }
            Event::Start(Tag::Emphasis) => {
                let top = *style_stack.last().unwrap_or(&ratatui::style::Style::new());
                style_stack.push(top.add_modifier(Modifier::ITALIC));
            }
            Event::Start(Tag::Strong) => {
                let top = *style_stack.last().unwrap_or(&ratatui::style::Style::new());
                style_stack.push(top.add_modifier(Modifier::BOLD));
            }
            Event::End(TagEnd::Emphasis | TagEnd::Strong) => {
                style_stack.pop();
            }
            Event::Start(Tag::List(_)) => {
                flush(&mut words, &mut out, indent, item_start);
                list_depth += 1;
            }
            Event::End(TagEnd::List(_)) => {
                list_depth = list_depth.saturating_sub(1);
                if list_depth == 0 {
                    out.push(Line::default());
                }
            }
            Event::Start(Tag::Item) => {
                flush(&mut words, &mut out, indent, item_start);
                item_start = true;
            }
            Event::End(TagEnd::Item) => {
                flush(&mut words, &mut out, indent, item_start);
                item_start = false;
            }
            Event::Start(Tag::CodeBlock(_)) => {
                flush(&mut words, &mut out, indent, item_start);
                in_code_block = true;
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                out.push(Line::default());
            }
            Event::Text(t) if in_code_block => {
                for l in t.lines() {
                    out.push(Line::from(Span::styled(format!("    {l}"), theme.accent())));
                }
            }
            Event::Text(t) => {
                let st = *style_stack.last().unwrap_or(&ratatui::style::Style::new());
                push_words(&mut words, &t, st, &mut glue);
            }
            Event::Code(t) => {
                let span = Span::styled(t.to_string(), theme.accent());
                match words.last_mut() {
                    Some(w) if glue => w.push(span),
                    _ => words.push(vec![span]),
                }
                glue = true;
            }
            Event::SoftBreak | Event::HardBreak => glue = false,
            _ => {}
        }
    }
    flush(&mut words, &mut out, 0, false);
    while out.last().is_some_and(|l| l.spans.is_empty()) {
        out.pop();
    }
    out
}

/// Adds the words of `text`; the first joins the previous word when nothing separates them.
fn push_words(
    words: &mut Vec<Vec<Span<'static>>>,
    text: &str,
    style: ratatui::style::Style,
    glue: &mut bool,
) {
    let starts_apart = text.starts_with(char::is_whitespace);
    for (i, tok) in text.split_whitespace().enumerate() {
        let span = Span::styled(tok.to_string(), style);
        match words.last_mut() {
            Some(w) if i == 0 && *glue && !starts_apart => w.push(span),
            _ => words.push(vec![span]),
        }
    }
    *glue = !text.is_empty() && !text.ends_with(char::is_whitespace);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect()
    }

    #[test]
    fn markdown_wraps_paragraphs_keeps_code_and_glues_punctuation() {
        let md = "Scale `web` to four, then read the *rules*.\n\n    kubectl scale deployment/web --replicas=4\n\n- one\n- two words here\n";
        let got = plain(&markdown(md, &Theme::mono(), 24));
        assert_eq!(
            got,
            [
                "Scale web to four, then",
                "read the rules.",
                "",
                "    kubectl scale deployment/web --replicas=4",
                "",
                "• one",
                "• two words here",
            ]
        );
    }
}
