//! The Triage pane: the verdict on the target, its findings ranked (the one under the
//! cursor opened up: evidence, since when, the next commands), and what changed before.
//! Enter opens the finding's object.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use kdive_core::duration::age;
use kdive_core::triage::{Report, Severity, Target, Verdict};

use crate::ui::theme::{Health, Theme};

/// One finding as the pane shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FindingRow {
    pub health: Health,
    pub head: String,
    pub summary: String,
    /// Shown for the selected finding only.
    pub detail: Vec<String>,
    pub next: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TriageView {
    pub title: String,
    pub verdict: (Health, String),
    pub gaps: Option<String>,
    pub findings: Vec<FindingRow>,
    pub selected: usize,
    pub changes: Vec<String>,
}

pub fn view(
    target: &Target,
    report: Option<&Report>,
    selected: usize,
    now: DateTime<Utc>,
) -> TriageView {
    let what = target
        .object_ref()
        .map(|o| o.display())
        .unwrap_or_else(|| "all namespaces".into());
    let title = format!("Triage {what}");
    let Some(r) = report else {
        return TriageView {
            title,
            verdict: (Health::None, "triaging…".into()),
            gaps: None,
            findings: Vec::new(),
            selected: 0,
            changes: Vec::new(),
        };
    };
    let verdict = match r.verdict {
        Verdict::Healthy => (
            Health::Ok,
            "healthy: nothing found that keeps it from serving".to_string(),
        ),
        Verdict::Degraded => (
            Health::Warn,
            "degraded: it serves, with problems".to_string(),
        ),
        Verdict::Down => (Health::Bad, "down: it serves nothing".to_string()),
    };
    let findings = r
        .findings
        .iter()
        .map(|f| {
            let health = match f.severity {
                Severity::Critical => Health::Bad,
                Severity::Warning => Health::Warn,
                Severity::Info => Health::None,
            };
            let mut detail = Vec::new();
            if let Some(t) = f.since {
                detail.push(format!("since {} ago", age(t, now)));
            }
            for e in &f.evidence {
                let source = e.source.as_str();
                let count = if e.count > 1 {
                    format!(" ×{}", e.count)
                } else {
                    String::new()
                };
                detail.push(format!("{source}: {}{count}", e.text));
            }
            if !f.explains.is_empty() {
                let ranks: Vec<String> = f.explains.iter().map(|r| format!("#{r}")).collect();
                detail.push(format!("explains {}", ranks.join(", ")));
            }
            FindingRow {
                health,
                head: format!(
                    "{} {} {}  {}",
                    f.rank,
                    f.severity.as_str(),
                    f.cause.code(),
                    f.object.display()
                ),
                summary: f.summary.clone(),
                detail,
                next: f.next.clone(),
            }
        })
        .collect();
    TriageView {
        title,
        verdict,
        gaps: (!r.gaps.is_empty()).then(|| format!("confidence reduced: {}", r.gaps.join("; "))),
        findings,
        selected: selected.min(r.findings.len().saturating_sub(1)),
        changes: r
            .changes
            .iter()
            .map(|c| format!("{} ago  {}  {}", age(c.at, now), c.object.display(), c.what))
            .collect(),
    }
}

/// The lines, and the index of the selected finding's first line.
pub fn lines(v: &TriageView, focused: bool, theme: &Theme) -> (Vec<Line<'static>>, usize) {
    let mut out = vec![Line::from(vec![
        super::glyph(v.verdict.0, theme),
        Span::raw(" "),
        Span::styled(v.verdict.1.clone(), theme.heading()),
    ])];
    if let Some(g) = &v.gaps {
        out.push(Line::from(Span::styled(
            g.clone(),
            theme.health(Health::Warn),
        )));
    }
    if v.findings.is_empty() && v.verdict.0 != Health::None {
        out.push(Line::from(""));
        out.push(Line::from(
            "No findings: every pod, Service and workload looked at is serving.",
        ));
    }
    let mut at = 0;
    for (i, f) in v.findings.iter().enumerate() {
        out.push(Line::from(""));
        let selected = i == v.selected;
        if selected {
            at = out.len();
        }
        let marker = if selected { "▶ " } else { "  " };
        let head_style = if selected {
            theme.selected(focused)
        } else {
            theme.heading()
        };
        out.push(Line::from(vec![
            Span::raw(marker),
            super::glyph(f.health, theme),
            Span::raw(" "),
            Span::styled(f.head.clone(), head_style),
        ]));
        out.push(Line::from(format!("    {}", f.summary)));
        if selected {
            for d in &f.detail {
                out.push(Line::from(Span::styled(format!("    {d}"), theme.muted())));
            }
            for n in &f.next {
                out.push(Line::from(Span::styled(
                    format!("    $ {n}"),
                    theme.accent(),
                )));
            }
        }
    }
    if !v.changes.is_empty() {
        out.push(Line::from(""));
        out.push(super::heading("What changed before", theme));
        for c in &v.changes {
            out.push(Line::from(format!("  {c}")));
        }
    }
    (out, at)
}

/// Draws the pane scrolled so the selected finding is in view.
pub fn render(frame: &mut Frame, area: Rect, v: &TriageView, focused: bool, theme: &Theme) {
    let (lines, at) = lines(v, focused, theme);
    let title = Line::from(Span::styled(format!(" {} ", v.title), theme.title()));
    super::scrolled(
        frame,
        area,
        title,
        lines,
        at.saturating_sub(3),
        focused,
        theme,
    );
}
