//! The Query pane: PromQL in, a table of series out, and a chart for range queries.
//! Errors are shown as Prometheus words them.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType};

use crate::sources::prometheus::Series;
use crate::ui::theme::{Health, Theme};

use super::fit;
use kdive_core::metrics::burn::human_duration;

/// A query and what Prometheus answered.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub query: String,
    /// Range queries: (start, end, step) in seconds.
    pub range: Option<(i64, i64, f64)>,
    /// When it was sent (unix seconds).
    pub at: i64,
    pub result: Result<Vec<Series>, String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueryView {
    pub query: String,
    /// Prometheus cannot be reached: since when, and why.
    pub outage: Option<String>,
    /// How old the answer shown is, while Prometheus is unreachable.
    pub age: Option<String>,
    pub error: Option<String>,
    /// (labels, last value) per series.
    pub rows: Vec<(String, String)>,
    /// Range results: (legend, points) per series.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

fn labels_text(s: &Series) -> String {
    let name = s.labels.get("__name__").cloned().unwrap_or_default();
    let rest: Vec<String> = s
        .labels
        .iter()
        .filter(|(k, _)| k.as_str() != "__name__")
        .map(|(k, v)| format!("{k}=\"{v}\""))
        .collect();
    format!("{name}{{{}}}", rest.join(", "))
}

fn value_text(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

/// `outage`: the banner while Prometheus is unreachable; `now` ages the answer kept then.
pub fn view(r: &QueryResult, outage: Option<String>, now: i64) -> QueryView {
    let age = match (&outage, &r.result) {
        (Some(_), Ok(_)) => {
            let when = chrono::DateTime::from_timestamp(r.at, 0)
                .map(|t| t.format("%H:%M:%S").to_string())
                .unwrap_or_default();
            Some(format!(
                "showing the last answer, from {when} ({} old)",
                human_duration((now - r.at).max(0) as f64)
            ))
        }
        _ => None,
    };
    match &r.result {
        Err(e) => QueryView {
            query: r.query.clone(),
            outage,
            age,
            error: Some(e.clone()),
            rows: Vec::new(),
            series: Vec::new(),
        },
        Ok(series) => QueryView {
            query: r.query.clone(),
            outage,
            age,
            error: None,
            rows: series
                .iter()
                .map(|s| {
                    (
                        labels_text(s),
                        s.points.last().map_or("-".into(), |p| value_text(p.1)),
                    )
                })
                .collect(),
            series: if r.range.is_some() {
                series
                    .iter()
                    .map(|s| {
                        (
                            labels_text(s),
                            s.points
                                .iter()
                                .copied()
                                .filter(|p| p.1.is_finite())
                                .collect(),
                        )
                    })
                    .collect()
            } else {
                Vec::new()
            },
        },
    }
}

pub fn lines(v: &QueryView, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(vec![
        Span::styled("› ", theme.accent()),
        Span::raw(v.query.clone()),
    ])];
    let inner = (width as usize).saturating_sub(2);
    if let Some(o) = &v.outage {
        out.push(Line::from(Span::styled(
            fit(o, inner),
            theme.health(Health::Bad),
        )));
    }
    if let Some(a) = &v.age {
        out.push(Line::from(Span::styled(
            fit(a, inner),
            theme.health(Health::Warn),
        )));
    }
    if let Some(e) = &v.error {
        out.push(Line::from(Span::styled(
            e.clone(),
            theme.health(Health::Bad),
        )));
        return out;
    }
    if v.rows.is_empty() {
        out.push(Line::from(Span::styled("empty result", theme.muted())));
        return out;
    }
    let w = (width as usize).saturating_sub(18).max(10);
    out.push(Line::from(Span::styled(
        format!("{:<w$} {:>14}", "SERIES", "VALUE"),
        theme.heading(),
    )));
    for (l, val) in &v.rows {
        out.push(Line::from(format!(
            "{:<w$} {:>14}",
            fit(l, w),
            fit(val, 14)
        )));
    }
    out
}

pub fn render(frame: &mut Frame, area: Rect, v: &QueryView, focused: bool, theme: &Theme) {
    let table = lines(v, theme, area.width);
    let chart = !v.series.is_empty() && area.height >= 12;
    let [top, bottom] = if chart {
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area)
    } else {
        [area, Rect::default()]
    };
    super::scrolled(
        frame,
        top,
        Line::from(Span::styled(" Query ", theme.title())),
        table,
        0,
        focused,
        theme,
    );
    if !chart {
        return;
    }
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for (_, pts) in &v.series {
        for (x, y) in pts {
            x0 = x0.min(*x);
            x1 = x1.max(*x);
            y0 = y0.min(*y);
            y1 = y1.max(*y);
        }
    }
    if x0 > x1 {
        return;
    }
    if y0 == y1 {
        y1 = y0 + 1.0;
    }
    let styles = [Health::Ok, Health::Warn, Health::Bad];
    let sets: Vec<Dataset> = v
        .series
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| {
            let style = if i == 0 {
                theme.accent()
            } else {
                theme.health(styles[i % 3])
            };
            Dataset::default()
                .name(fit(name, 40))
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(style)
                .data(pts)
        })
        .collect();
    let t = |s: f64| {
        chrono::DateTime::from_timestamp(s as i64, 0)
            .map(|d| d.format("%H:%M:%S").to_string())
            .unwrap_or_default()
    };
    let chart = Chart::new(sets)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border(false)),
        )
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .labels([t(x0), t(x1)])
                .style(theme.muted()),
        )
        .y_axis(
            Axis::default()
                .bounds([y0, y1])
                .labels([value_text(y0), value_text(y1)])
                .style(theme.muted()),
        );
    frame.render_widget(chart, bottom);
}
