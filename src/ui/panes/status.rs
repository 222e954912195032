//! The header line, the status bar (watch health, messages) and the command/filter line
//! with its completions and key hints (from the keymap).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ratatui::text::{Line, Span};

use crate::sources::kube::WatchState;
use crate::ui::app::{Input, Level};
use crate::ui::keymap::BINDINGS;
use crate::ui::theme::{Health, Theme};
use crate::ui::track::WatchStats;
use kdive_core::model::kind::Kind;

use super::glyph;

pub struct StatusView {
    pub context: String,
    pub scope: String,
    pub view: String,
    pub watches: (Health, String),
    pub flash: Option<(String, Level)>,
    /// Prometheus is unreachable: [`prom_outage`]'s words.
    pub prometheus: Option<String>,
    /// Critical triage findings in the namespace shown (`:triage` names them).
    pub critical: Option<usize>,
}

/// "Prometheus unreachable since 10:01:35 (1m 35s ago): connection refused", for the status
/// bar and the SLO and Query panes.
pub fn prom_outage(since: DateTime<Utc>, failure: &str, now: DateTime<Utc>) -> String {
    let ago = (now - since).num_seconds().max(0) as f64;
    format!(
        "Prometheus unreachable since {} ({} ago): {failure}",
        since.format("%H:%M:%S"),
        kdive_core::metrics::burn::human_duration(ago)
    )
}

/// One phrase for all watches: "13/13 synced", or what is wrong with which.
pub fn watch_summary(watches: &BTreeMap<Kind, WatchStats>, now: DateTime<Utc>) -> (Health, String) {
    let total = Kind::ALL.len();
    let synced = watches
        .values()
        .filter(|w| w.state == Some(WatchState::Synced))
        .count();
    let mut problems = Vec::new();
    let mut health = if synced == total {
        Health::Ok
    } else {
        Health::Warn
    };
    for (k, w) in watches {
        match &w.state {
            Some(WatchState::Reconnecting {
                retry_in, error, ..
            }) => {
                health = Health::Bad;
                let for_s = w.since.map_or(0, |s| (now - s).num_seconds().max(0));
                problems.push(format!(
                    "{} reconnecting {:.0}s ({error}, retry {:.1}s)",
                    k.plural(),
                    for_s,
                    retry_in.as_secs_f64()
                ));
            }
            Some(WatchState::Forbidden { .. }) => {
                health = health.worst(Health::Warn);
                problems.push(format!("{} forbidden", k.plural()));
            }
            _ => {}
        }
        if !w.skipped.is_empty() {
            health = health.worst(Health::Warn);
            problems.push(format!(
                "{} {} unreadable (see watches)",
                w.skipped.len(),
                k.plural()
            ));
        }
    }
    let syncing = watches
        .values()
        .filter(|w| w.state == Some(WatchState::Syncing))
        .count();
    let mut text = format!("watches {synced}/{total} synced");
    if syncing > 0 {
        text.push_str(&format!(", {syncing} syncing"));
    }
    if !problems.is_empty() {
        // All reconnecting at once is one outage; say it once.
        let reconnecting = watches
            .values()
            .filter(|w| matches!(w.state, Some(WatchState::Reconnecting { .. })))
            .count();
        if reconnecting > 3 {
            text = format!(
                "API server unreachable: {reconnecting} watches reconnecting; {}",
                problems[0]
            );
        } else {
            text.push_str(&format!(" · {}", problems.join(" · ")));
        }
    }
    (health, text)
}

pub fn header(v: &StatusView, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(" kdive ", theme.title()),
        Span::raw(format!(" context {}  namespace {} ", v.context, v.scope)),
        Span::styled(format!(" {} ", v.view), theme.accent()),
    ])
}

pub fn status_line(v: &StatusView, theme: &Theme) -> Line<'static> {
    let mut spans = vec![
        glyph(v.watches.0, theme),
        Span::raw(format!(" {}", v.watches.1)),
    ];
    if let Some(n) = v.critical.filter(|n| *n > 0) {
        spans.push(Span::raw("  │ "));
        spans.push(glyph(Health::Bad, theme));
        let s = if n == 1 { "" } else { "s" };
        spans.push(Span::styled(
            format!(" {n} critical finding{s} (t: triage)"),
            theme.health(Health::Bad),
        ));
    }
    if let Some(text) = &v.prometheus {
        spans.push(Span::raw("  │ "));
        spans.push(glyph(Health::Bad, theme));
        spans.push(Span::styled(format!(" {text}"), theme.health(Health::Bad)));
    }
    if let Some((text, level)) = &v.flash {
        let style = match level {
            Level::Error => theme.health(Health::Bad),
            Level::Info => theme.accent(),
        };
        spans.push(Span::raw("  │ "));
        spans.push(Span::styled(text.clone(), style));
    }
    Line::from(spans)
}

/// The bottom line: the command or filter being typed (with completions), or key hints.
pub fn input_line(input: &Input, theme: &Theme) -> Line<'static> {
    match input {
        Input::Command(l) => {
            let mut spans = vec![
                Span::styled(format!(":{}", l.text), theme.heading()),
                Span::raw("▏"),
            ];
            if !l.completions.is_empty() {
                spans.push(Span::styled(
                    format!(
                        "   {}",
                        l.completions
                            .iter()
                            .take(8)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join("  ")
                    ),
                    theme.muted(),
                ));
            }
            Line::from(spans)
        }
        Input::Filter(l) | Input::Search(l) => Line::from(vec![
            Span::styled(format!("/{}", l.text), theme.heading()),
            Span::raw("▏"),
        ]),
        Input::Normal => {
            let mut spans = Vec::new();
            for b in BINDINGS.iter().filter(|b| b.hint) {
                spans.push(Span::styled(
                    b.label.split(',').next().unwrap_or(b.label).to_string(),
                    theme.accent(),
                ));
                let short = b.help.split([' ', ':', '(']).next().unwrap_or(b.help);
                spans.push(Span::styled(format!(" {short}  "), theme.muted()));
            }
            Line::from(spans)
        }
    }
}
