//! The log pane: one container's log as the API server streams it, newest at the bottom
//! while following. A status row names the container, follow or paused, the line count,
//! the search, and why there is no log (in the server's words). Only the lines that fit
//! are turned into spans, however many the ring holds.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use crate::ui::logs::{LogState, LogTrack};
use crate::ui::theme::{Health, Theme};

use super::glyph;

/// What the pane draws: the track's state, its lines borrowed.
#[derive(Debug)]
pub struct LogView<'a> {
    pub title: String,
    pub container: &'a str,
    /// (position of the container, how many the pod has).
    pub containers: (usize, usize),
    pub previous: bool,
    pub follow: bool,
    pub wrap: bool,
    pub state: &'a LogState,
    pub lines: &'a VecDeque<String>,
    /// Lines that left the top of the ring.
    pub dropped: u64,
    pub top: usize,
    pub search: &'a str,
    pub current: Option<usize>,
}

/// The view of a track. The window is chosen when drawing, from the real area.
pub fn view(t: &LogTrack) -> LogView<'_> {
    LogView {
        title: format!("Logs {}", t.pod.display()),
        container: &t.container,
        containers: (
            t.containers
                .iter()
                .position(|c| *c == t.container)
                .unwrap_or(0),
            t.containers.len(),
        ),
        previous: t.previous,
        follow: t.follow,
        wrap: t.wrap,
        state: &t.state,
        lines: &t.lines,
        dropped: t.dropped,
        top: t.top,
        search: &t.search,
        current: t.current,
    }
}

/// The status row: container, run, follow, count, wrap and search.
pub fn status_line(v: &LogView, theme: &Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(v.container.to_string(), theme.heading())];
    if v.containers.1 > 1 {
        spans.push(Span::styled(
            format!(" ({}/{}, c next)", v.containers.0 + 1, v.containers.1),
            theme.muted(),
        ));
    }
    let follow = match (v.previous, v.follow) {
        (true, _) => "previous run",
        (false, true) => "following",
        (false, false) => "paused (f follows)",
    };
    let count = v.lines.len() as u64 + v.dropped;
    let mut rest = format!(" · {follow} · {count} lines");
    if v.dropped > 0 {
        rest.push_str(&format!(" (last {} kept)", v.lines.len()));
    }
    if v.wrap {
        rest.push_str(" · wrap");
    }
    if !v.search.is_empty() {
        rest.push_str(&format!(" · /{}", v.search));
    }
    spans.push(Span::raw(rest));
    Line::from(spans)
}

/// Why the log is not (or no longer) streaming, in the server's words.
pub fn problem(v: &LogView) -> Option<(Health, String)> {
    match v.state {
        LogState::Connecting => Some((Health::None, "connecting".into())),
        LogState::Streaming => None,
        LogState::Ended if v.previous => None,
        LogState::Ended => Some((
            Health::Warn,
            "stream ended: the container stopped (p: its log as the previous run)".into(),
        )),
        LogState::Failed(e) => Some((Health::Bad, e.clone())),
    }
}

/// One log line with the search's matches highlighted (ASCII case folded, so byte
/// offsets stay valid).
fn line<'a>(text: &'a str, search: &str, current: bool, theme: &Theme) -> Line<'a> {
    let hit = theme.changed();
    if search.is_empty() {
        return Line::raw(text);
    }
    let hay = text.to_ascii_lowercase();
    let needle = search.to_ascii_lowercase();
    let mut spans = Vec::new();
    let mut at = 0;
    while let Some(i) = hay[at..].find(&needle).map(|i| i + at) {
        let end = i + needle.len();
        if !text.is_char_boundary(i) || !text.is_char_boundary(end) {
            break;
        }
        spans.push(Span::raw(&text[at..i]));
        spans.push(Span::styled(&text[i..end], hit));
        at = end.max(i + 1);
    }
    spans.push(Span::raw(text.get(at..).unwrap_or("")));
    let style = if current {
        theme.selected(true)
    } else {
        Style::new()
    };
    Line::from(spans).style(style)
}

/// Screen rows a line takes at `width` when wrapped.
fn rows(text: &str, width: usize) -> usize {
    text.chars().count().div_ceil(width.max(1)).max(1)
}

/// The first line to draw and the rows of it to skip, so the window ends at the newest
/// line (following) or starts at `top`.
fn window(v: &LogView, width: usize, height: usize) -> (usize, usize) {
    let n = v.lines.len();
    if !v.wrap {
        let last = n.saturating_sub(height);
        return (if v.follow { last } else { v.top.min(last) }, 0);
    }
    if !v.follow {
        return (v.top.min(n.saturating_sub(1)), 0);
    }
    let mut used = 0;
    for i in (0..n).rev() {
        used += rows(&v.lines[i], width);
        if used >= height {
            return (i, used - height);
        }
    }
    (0, 0)
}

pub fn render(frame: &mut Frame, area: Rect, v: &LogView, focused: bool, theme: &Theme) {
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Line::from(Span::styled(
            format!(" {} ", v.title),
            theme.title(),
        )));
    let inner = block.inner(area);
    let trouble = problem(v).map(|(h, text)| {
        Line::from(vec![
            glyph(h, theme),
            Span::styled(format!(" {text}"), theme.health(h)),
        ])
    });
    let trouble_rows = trouble.as_ref().map_or(0, |l| {
        (rows(&l.to_string(), inner.width as usize) as u16).min(3)
    });
    let [status, why, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(trouble_rows),
        Constraint::Min(0),
    ])
    .areas(inner);
    let (width, height) = (body.width as usize, body.height as usize);
    let (first, skip) = window(v, width, height);
    if !v.lines.is_empty() {
        let shown = (first + 1, (first + height).min(v.lines.len()));
        block = block.title_bottom(
            Line::from(format!(" {}-{}/{} ", shown.0, shown.1, v.lines.len())).right_aligned(),
        );
    }
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(status_line(v, theme)), status);
    if let Some(l) = trouble {
        frame.render_widget(Paragraph::new(l).wrap(Wrap { trim: false }), why);
    }
    if v.lines.is_empty() {
        let text = if v.state == &LogState::Streaming || v.state == &LogState::Ended {
            "(no lines)"
        } else {
            ""
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.muted())), body);
        return;
    }
    let lines: Vec<Line> = v
        .lines
        .iter()
        .enumerate()
        .skip(first)
        .take(height.max(1))
        .map(|(i, l)| line(l, v.search, v.current == Some(i), theme))
        .collect();
    let mut p = Paragraph::new(lines);
    if v.wrap {
        p = p
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(skip).unwrap_or(u16::MAX), 0));
    }
    frame.render_widget(p, body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(lines: &'a VecDeque<String>, state: &'a LogState) -> LogView<'a> {
        LogView {
            title: String::new(),
            container: "web",
            containers: (0, 1),
            previous: false,
            follow: true,
            wrap: false,
            state,
            lines,
            dropped: 0,
            top: 0,
            search: "",
            current: None,
        }
    }

    #[test]
    fn following_ends_the_window_at_the_newest_line_wrapped_or_not() {
        let lines: VecDeque<String> = (0..10).map(|i| format!("{i}").repeat(i + 1)).collect();
        let state = LogState::Streaming;
        let mut v = view(&lines, &state);
        assert_eq!(window(&v, 4, 3), (7, 0));
        // Wrapped at 4 columns, lines 8 and 9 take 3 rows each: the window starts in 8.
        v.wrap = true;
        assert_eq!(window(&v, 4, 5), (8, 1));
        v.follow = false;
        v.top = 2;
        assert_eq!(window(&v, 4, 5), (2, 0));
        v.wrap = false;
        v.top = 100;
        assert_eq!(window(&v, 4, 3), (7, 0), "clamped to the last page");
    }

    #[test]
    fn matches_are_highlighted_case_insensitively() {
        let theme = Theme::mono();
        let l = line("GET /Ready 200 /ready", "ready", false, &theme);
        let hits: Vec<&str> = l
            .spans
            .iter()
            .filter(|s| s.style == theme.changed())
            .map(|s| s.content.as_ref())
            .collect();
        assert_eq!(hits, ["Ready", "ready"]);
        let plain = line("naïve café", "é", false, &theme);
        assert_eq!(plain.to_string(), "naïve café");
    }
}
