//! Help, generated from the keymap's tables: the keys, then the `:` commands.

use ratatui::text::{Line, Span};

use crate::ui::keymap::{BINDINGS, COMMANDS, Context, LESSON_BINDINGS, LOG_BINDINGS};
use crate::ui::theme::Theme;

use super::{heading, pad};

pub fn lines(theme: &Theme) -> Vec<Line<'static>> {
    let mut out = vec![heading("Keys", theme)];
    for (ctx, title) in [
        (Context::Global, None),
        (Context::Tree, Some("in the tree")),
        (Context::Main, Some("in the main pane")),
        (Context::Logs, Some("in the log pane")),
    ] {
        let bindings: Vec<_> = BINDINGS
            .iter()
            .chain(LESSON_BINDINGS)
            .chain(LOG_BINDINGS)
            .filter(|b| b.context == ctx)
            .collect();
        if bindings.is_empty() {
            continue;
        }
        if let Some(t) = title {
            out.push(Line::styled(format!(" {t}"), theme.muted()));
        }
        for b in bindings {
            out.push(Line::from(vec![
                Span::styled(format!("  {}", pad(b.label, 14)), theme.accent()),
                Span::raw(b.help),
            ]));
        }
    }
    out.push(Line::from(vec![
        Span::styled(format!("  {}", pad("mouse", 14)), theme.accent()),
        Span::raw("click selects, wheel scrolls the pane under the pointer"),
    ]));
    out.push(heading("Commands", theme));
    for c in COMMANDS {
        out.push(Line::from(vec![
            Span::styled(format!("  {}", pad(c.usage, 16)), theme.accent()),
            Span::raw(c.help),
        ]));
    }
    out.push(heading("Symbols", theme));
    out.push(Line::from(
        "  ✓ healthy   ! degraded   ✗ failing   · nothing to judge   * just changed",
    ));
    out.push(Line::from(
        "  endpoint COND: R ready, S serving, T terminating",
    ));
    out
}
