//! One file per pane. The contract every pane follows:
//!
//! - A **view-model** struct built by a pure function from plain data (live objects as
//!   [`kdive_core::model::objects::Objects`], model output, App trackers) with `now` as an
//!   argument: `pub fn view(...) -> XView`. No I/O, no App.
//! - A **render** function taking the view-model, the pane's UI state (selection, scroll)
//!   and the [`Theme`]: `pub fn render(frame, area, &XView, ..., &Theme)`. Most panes turn
//!   their view-model into styled lines (`pub fn lines(&XView, &Theme, now) -> Vec<Line>`)
//!   and draw them with [`scrolled`], so they scroll alike and snapshot alike.
//! - Keys are not handled here: they are declared in `keymap.rs` and applied in `app.rs`.
//! - Snapshot tests render through `ratatui::backend::TestBackend` at 80×24 and 160×48 over
//!   fixed data and a fixed `now` (`tests/tui_panes.rs`).

pub mod chain;
pub mod detail;
pub mod help;
pub mod lesson;
pub mod logs;
pub mod pod;
pub mod query;
pub mod slo;
pub mod status;
pub mod tree;
pub mod triage;
pub mod watch;
pub mod welcome;
pub mod workload;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use tui_tree_widget::TreeState;

use super::theme::{Health, Theme};

/// UI-only state of the panes.
#[derive(Debug, Default)]
pub struct PaneStates {
    pub tree: TreeState<String>,
    /// First line shown in the main pane; clamped when drawn.
    pub main_scroll: usize,
}

/// Draws lines in a bordered block, wrapped to the width, scrolled so that `scroll` is the
/// first (wrapped) line shown, clamped to the last page. Returns the clamped scroll.
pub fn scrolled(
    frame: &mut Frame,
    area: Rect,
    title: Line<'_>,
    lines: Vec<Line<'_>>,
    scroll: usize,
    focused: bool,
    theme: &Theme,
) -> usize {
    let inner_height = area.height.saturating_sub(2) as usize;
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    let total = paragraph.line_count(area.width.saturating_sub(2));
    let max = total.saturating_sub(inner_height);
    let scroll = scroll.min(max);
    let more = if total > inner_height {
        format!(
            " {}-{}/{} ",
            scroll + 1,
            (scroll + inner_height).min(total),
            total
        )
    } else {
        String::new()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(title)
        .title_bottom(Line::from(more).right_aligned());
    let scroll_u16 = u16::try_from(scroll).unwrap_or(u16::MAX);
    frame.render_widget(paragraph.block(block).scroll((scroll_u16, 0)), area);
    scroll
}

/// A health glyph with its colour: colour is never the only signal.
pub fn glyph(h: Health, theme: &Theme) -> Span<'static> {
    Span::styled(h.glyph(), theme.health(h))
}

/// `text` cut to `width` columns with an ellipsis.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// `text` padded or cut to exactly `width` columns.
pub fn pad(text: &str, width: usize) -> String {
    format!("{:<width$}", fit(text, width))
}

pub fn heading<'a>(text: impl Into<String>, theme: &Theme) -> Line<'a> {
    Line::from(Span::styled(text.into(), theme.heading()))
}

/// (health, text) rows as lines: text starting with `#` is a heading; rows with a health
/// other than `None` get its glyph.
pub fn rows(rows: &[(Health, String)], theme: &Theme) -> Vec<Line<'static>> {
    rows.iter()
        .map(|(h, text)| {
            if let Some(head) = text.strip_prefix('#') {
                heading(head.to_string(), theme)
            } else if *h == Health::None {
                Line::from(text.clone())
            } else {
                // The glyph goes after the indentation, where the eye reads the row.
                let body = text.trim_start();
                let indent = &text[..text.len() - body.len()];
                Line::from(vec![
                    Span::raw(indent.to_string()),
                    glyph(*h, theme),
                    Span::raw(" "),
                    Span::raw(body.to_string()),
                ])
            }
        })
        .collect()
}
