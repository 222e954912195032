//! The SLO pane: one row per SLO, worst first (page firing, then lowest budget), with a
//! budget bar and a burn chip per alert pair; below, the selected SLO's burn-rate chart
//! against its page thresholds and, beside it, what the cluster says about the SLO's
//! Service (ready vs desired replicas, restarts and OOMKills, failing probes, endpoints not
//! ready, CPU throttling and memory against limits).

use k8s_openapi::api::core::v1::Pod;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType};

use crate::ui::theme::Theme;
use kdive_core::metrics::burn::{Exhaustion, State, human_duration};
use kdive_core::metrics::frame::{MetricsFrame, Points, SloFrame};
use kdive_core::metrics::spec::ServiceRef;
use kdive_core::model::objects::Objects;
use kdive_core::model::status::{self, Health};
use kdive_core::selector;

use super::{fit, pad};

#[derive(Debug, Clone, PartialEq)]
pub struct Chip {
    pub text: String,
    pub health: Health,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloRow {
    pub state: State,
    pub name: String,
    pub service: String,
    pub objective: String,
    pub budget: Option<f64>,
    pub chips: Vec<Chip>,
    pub exhaustion: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloDetail {
    pub title: String,
    pub burn_short: Points,
    pub burn_long: Points,
    /// Page thresholds (14.4 and 6 for 30d).
    pub thresholds: Vec<f64>,
    pub budget: Points,
    pub causes: Vec<(Health, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloView {
    pub header: String,
    /// Prometheus cannot be reached: since when, and why.
    pub outage: Option<String>,
    /// The last poll failed; the numbers are from `header`'s time.
    pub stale: Option<String>,
    pub rows: Vec<SloRow>,
    pub detail: Option<SloDetail>,
}

fn state_health(s: State) -> (Health, &'static str) {
    match s {
        State::Page => (Health::Bad, "▲PAGE"),
        State::Ticket => (Health::Warn, "△TICKET"),
        State::Exhausted => (Health::Bad, "✗SPENT"),
        State::NoData => (Health::None, "?NODATA"),
        State::NoTraffic => (Health::None, "·IDLE"),
        State::LowTraffic => (Health::Warn, "~LOW"),
        State::Ok => (Health::Ok, "✓OK"),
    }
}

fn burn_text(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100.0 => format!("{v:.0}×"),
        Some(v) => format!("{v:.1}×"),
        None => "-".into(),
    }
}

/// Rows worst first, with the selected SLO's detail. `frame.slos` is already sorted by
/// the poller; `now` only ages the stale note. `outage`: the banner while Prometheus is
/// unreachable (the frame is then the last good poll's, re-sent).
pub fn view(
    frame: &MetricsFrame,
    objs: &Objects,
    selected: usize,
    now: i64,
    outage: Option<String>,
) -> SloView {
    let rows = frame.slos.iter().map(row).collect();
    let detail = frame
        .slos
        .get(selected.min(frame.slos.len().saturating_sub(1)))
        .map(|s| SloDetail {
            title: format!("{} burn rate (5m, 1h) against page thresholds", s.def.id),
            burn_short: s.burn_short.clone(),
            burn_long: s.burn_long.clone(),
            thresholds: s
                .def
                .period
                .pairs
                .iter()
                .take(2)
                .map(|p| p.burn_rate)
                .collect(),
            budget: s.budget.clone(),
            causes: causes(s.def.service.as_ref(), objs, frame),
        });
    let when = chrono::DateTime::from_timestamp(frame.at, 0)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default();
    let age = human_duration((now - frame.at).max(0) as f64);
    let stale = match (&outage, &frame.error) {
        // The banner names the failure; say only how old the numbers shown are.
        (Some(_), _) if !frame.slos.is_empty() => Some(format!(
            "showing the last good poll, from {when} ({age} old)"
        )),
        (Some(_), _) => None,
        (None, Some(e)) => Some(format!(
            "stale: numbers are {age} old; last poll failed: {e}"
        )),
        (None, None) => None,
    };
    SloView {
        header: format!("Prometheus {} at {when}", frame.prometheus),
        outage,
        stale,
        rows,
        detail,
    }
}

fn row(s: &SloFrame) -> SloRow {
    let b = &s.burn;
    let chips = b
        .pairs
        .iter()
        .map(|p| Chip {
            text: format!(
                "{} {}/{} {}",
                p.pair.long,
                burn_text(p.long_burn),
                p.pair.short,
                burn_text(p.short_burn)
            ),
            health: if p.firing() {
                Health::Bad
            } else if p.one_window_over() {
                Health::Warn
            } else if p.long_burn.is_none() && p.short_burn.is_none() {
                Health::None
            } else {
                Health::Ok
            },
        })
        .collect();
    let note = if let Some(age) = b.partial_period_seconds {
        Some(format!(
            "computed over {} of {}",
            human_duration(age),
            b.period
        ))
    } else {
        b.low_traffic_requests
            .map(|n| format!("low traffic: {n:.0} requests in 1h"))
    };
    SloRow {
        state: b.state,
        name: s.def.id.clone(),
        service: s
            .def
            .service
            .as_ref()
            .map_or("-".into(), ServiceRef::to_string),
        objective: format!("{}% / {}", s.def.objective_percent, s.def.period.window),
        budget: b.budget_remaining,
        chips,
        exhaustion: match b.exhaustion {
            Exhaustion::Exhausted => "budget spent".into(),
            Exhaustion::In(secs) => format!("empty in {}", human_duration(secs)),
            Exhaustion::NotBurning => "not burning".into(),
            Exhaustion::Unknown => String::new(),
        },
        note,
    }
}

/// What the live objects (and cAdvisor numbers) say about the Service's pods.
pub fn causes(
    service: Option<&ServiceRef>,
    objs: &Objects,
    frame: &MetricsFrame,
) -> Vec<(Health, String)> {
    let Some(svc_ref) = service else {
        return vec![(
            Health::None,
            "no kdive_service label: not tied to a Service".into(),
        )];
    };
    let mut out = Vec::new();
    let Some(svc) = objs.services.iter().find(|s| {
        s.metadata.namespace.as_deref() == Some(&svc_ref.namespace)
            && s.metadata.name.as_deref() == Some(&svc_ref.name)
    }) else {
        return vec![(Health::Bad, format!("Service {svc_ref} not found"))];
    };
    let spec = svc.spec.as_ref();
    // Decoded: the checks below read statuses (only this Service's pods).
    let pods: Vec<Pod> = objs
        .pods
        .iter()
        .filter(|p| p.metadata.namespace.as_deref() == Some(&svc_ref.namespace))
        .filter(|p| selector::service_selects(spec, p.metadata.labels.as_ref()))
        .map(|p| p.pod())
        .collect();
    // Deployments whose pod template the Service selects: desired vs ready.
    for d in objs
        .deployments
        .iter()
        .filter(|d| d.metadata.namespace.as_deref() == Some(&svc_ref.namespace))
    {
        let labels = d
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.labels.as_ref());
        if selector::service_selects(spec, labels) {
            let (desired, ready) = status::deployment_replicas(d);
            out.push((
                status::replicas_health(desired, ready),
                format!(
                    "Deployment {}: {ready} of {desired} ready",
                    d.metadata.name.as_deref().unwrap_or("?")
                ),
            ));
        }
    }
    let not_ready = pods
        .iter()
        .filter(|p| {
            let (r, t) = status::pod_ready_count(p);
            r < t
        })
        .count();
    out.push((
        if not_ready > 0 {
            Health::Bad
        } else {
            Health::Ok
        },
        format!("{} of {} pods not ready", not_ready, pods.len()),
    ));
    let restarts: i32 = pods.iter().map(status::pod_restarts).sum();
    let oom = pods
        .iter()
        .flat_map(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.clone())
                .unwrap_or_default()
        })
        .filter(|c| {
            c.last_state
                .as_ref()
                .and_then(|l| l.terminated.as_ref())
                .is_some_and(|t| t.reason.as_deref() == Some("OOMKilled"))
        })
        .count();
    if restarts > 0 || oom > 0 {
        out.push((
            Health::Warn,
            format!("{restarts} restarts, {oom} last terminated by OOMKilled"),
        ));
    }
    // Readiness failures show as the Ready condition's message on each pod.
    for p in &pods {
        let cond = p
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .and_then(|c| c.iter().find(|c| c.type_ == "ContainersReady"));
        if let Some(c) = cond.filter(|c| c.status != "True") {
            out.push((
                Health::Bad,
                format!(
                    "{}: {}",
                    p.metadata.name.as_deref().unwrap_or("?"),
                    c.message
                        .clone()
                        .or(c.reason.clone())
                        .unwrap_or_else(|| "containers not ready".into())
                ),
            ));
        }
    }
    let (ready_eps, all_eps) = objs
        .endpoint_slices
        .iter()
        .filter(|s| {
            s.metadata.namespace.as_deref() == Some(&svc_ref.namespace)
                && s.metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get("kubernetes.io/service-name"))
                    == Some(&svc_ref.name)
        })
        .flat_map(|s| s.endpoints.iter())
        .fold((0, 0), |(r, a), e| {
            let ready = e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(false);
            (r + usize::from(ready), a + 1)
        });
    out.push((
        if ready_eps < all_eps || all_eps == 0 {
            Health::Bad
        } else {
            Health::Ok
        },
        format!("{} of {} endpoints not ready", all_eps - ready_eps, all_eps),
    ));
    let names: Vec<&str> = pods
        .iter()
        .filter_map(|p| p.metadata.name.as_deref())
        .collect();
    for r in frame
        .resources
        .get(&svc_ref.namespace)
        .into_iter()
        .flatten()
        .filter(|r| names.contains(&r.pod.as_str()))
    {
        if let Some(t) = r.cpu_throttled.filter(|t| *t > 0.25) {
            out.push((
                Health::Warn,
                format!("{}: CPU throttled {:.0}% of periods", r.pod, t * 100.0),
            ));
        }
        if let Some(m) = r.memory_of_limit.filter(|m| *m > 0.8) {
            out.push((
                if m > 0.95 { Health::Bad } else { Health::Warn },
                format!("{}: memory at {:.0}% of its limit", r.pod, m * 100.0),
            ));
        }
    }
    out
}

/// `█████░░░░░ 52%`; overspent budgets show `overspent -19%`.
pub fn budget_bar(budget: Option<f64>, cells: usize) -> String {
    match budget {
        None => format!("{:<cells$} ?", ""),
        Some(b) if b <= 0.0 => format!("{:<cells$} {:.0}%", "overspent", b * 100.0),
        Some(b) => {
            let filled = ((b.min(1.0)) * cells as f64).round() as usize;
            format!(
                "{}{} {:.0}%",
                "█".repeat(filled),
                "░".repeat(cells - filled),
                b * 100.0
            )
        }
    }
}

/// The table: one row per SLO, chips on the next line.
pub fn lines(v: &SloView, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let mut out = vec![Line::from(Span::styled(v.header.clone(), theme.muted()))];
    // Lines are cut to the pane (inside its border) so the table's height is its line count.
    let inner = (width as usize).saturating_sub(2);
    if let Some(s) = &v.outage {
        out.push(Line::from(Span::styled(
            fit(s, inner),
            theme.health(Health::Bad),
        )));
    }
    if let Some(s) = &v.stale {
        out.push(Line::from(Span::styled(
            fit(s, inner),
            theme.health(Health::Warn),
        )));
    }
    if v.rows.is_empty() && (v.outage.is_some() || v.stale.is_some()) {
        out.push(Line::from(
            "No SLO numbers yet: no poll of Prometheus has succeeded.",
        ));
        return out;
    }
    if v.rows.is_empty() {
        out.push(Line::from(
            "No SLOs. Pass --slo FILE (Sloth prometheus/v1; see assets/slo/), or record them with Sloth or Pyrra rules.",
        ));
        return out;
    }
    let name_w = (width as usize).saturating_sub(60).clamp(12, 40);
    for r in &v.rows {
        let (h, label) = state_health(r.state);
        out.push(Line::from(vec![
            Span::styled(format!("{label:<8}"), theme.health(h)),
            Span::raw(pad(&r.name, name_w)),
            Span::raw(" "),
            Span::raw(pad(&r.service, 14)),
            Span::raw(" "),
            Span::styled(
                budget_bar(r.budget, 10),
                theme.health(match r.budget {
                    Some(b) if b <= 0.0 => Health::Bad,
                    Some(b) if b < 0.25 => Health::Warn,
                    Some(_) => Health::Ok,
                    None => Health::None,
                }),
            ),
            Span::raw(" "),
            Span::styled(r.exhaustion.clone(), theme.muted()),
        ]));
        let mut chips = vec![Span::raw("        ")];
        let mut used = 8;
        for c in &r.chips {
            let text = format!("[{}] ", c.text);
            let n = text.chars().count();
            if used + n > inner {
                chips.push(Span::styled("…", theme.muted()));
                used = inner;
                break;
            }
            used += n;
            chips.push(Span::styled(text, theme.health(c.health)));
        }
        if used + r.objective.chars().count() <= inner {
            chips.push(Span::styled(r.objective.clone(), theme.muted()));
        }
        out.push(Line::from(chips));
        if let Some(n) = &r.note {
            out.push(Line::from(Span::styled(
                format!("        {}", fit(n, (width as usize).saturating_sub(10))),
                theme.muted(),
            )));
        }
    }
    out
}

/// The whole pane: the table on top, the detail (chart and causes) below when tall enough.
pub fn render(frame: &mut Frame, area: Rect, v: &SloView, focused: bool, theme: &Theme) {
    let table = lines(v, theme, area.width);
    let table_h = (table.len() as u16 + 2).min(area.height);
    let show_detail = v.detail.is_some() && area.height >= table_h + 8;
    let [top, bottom] = if show_detail {
        Layout::vertical([Constraint::Length(table_h), Constraint::Min(6)]).areas(area)
    } else {
        [area, Rect::default()]
    };
    super::scrolled(
        frame,
        top,
        Line::from(Span::styled(" SLOs ", theme.title())),
        table,
        0,
        focused,
        theme,
    );
    let Some(d) = v.detail.as_ref().filter(|_| show_detail) else {
        return;
    };
    let [chart_area, causes_area] = if bottom.width >= 100 {
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(bottom)
    } else {
        Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(bottom)
    };
    render_chart(frame, chart_area, d, theme);
    let causes: Vec<Line> = super::rows(&d.causes, theme);
    super::scrolled(
        frame,
        causes_area,
        Line::from(Span::styled(" Cluster ", theme.title())),
        causes,
        0,
        false,
        theme,
    );
}

fn render_chart(frame: &mut Frame, area: Rect, d: &SloDetail, theme: &Theme) {
    let all = d.burn_short.iter().chain(d.burn_long.iter());
    let (mut x0, mut x1, mut ymax) = (f64::MAX, f64::MIN, 0.0f64);
    for (x, y) in all {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        if y.is_finite() {
            ymax = ymax.max(*y);
        }
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    for t in &d.thresholds {
        ymax = ymax.max(*t);
    }
    let ymax = (ymax * 1.1).max(1.0);
    let lines: Vec<Points> = d
        .thresholds
        .iter()
        .map(|t| vec![(x0, *t), (x1, *t)])
        .collect();
    let mut sets = vec![
        Dataset::default()
            .name("5m")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.health(Health::Bad))
            .data(&d.burn_short),
        Dataset::default()
            .name("1h")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(theme.accent())
            .data(&d.burn_long),
    ];
    for (t, l) in d.thresholds.iter().zip(&lines) {
        sets.push(
            Dataset::default()
                .name(format!("{t}×"))
                .marker(Marker::Dot)
                .graph_type(GraphType::Line)
                .style(theme.muted())
                .data(l),
        );
    }
    let fmt_t = |t: f64| {
        chrono::DateTime::from_timestamp(t as i64, 0)
            .map(|d| d.format("%H:%M").to_string())
            .unwrap_or_default()
    };
    let chart = Chart::new(sets)
        .block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border(false))
                .title(Line::from(Span::styled(
                    format!(" {} ", d.title),
                    theme.title(),
                ))),
        )
        .x_axis(
            Axis::default()
                .bounds([x0, x1])
                .labels([fmt_t(x0), fmt_t(x1)])
                .style(theme.muted()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, ymax])
                .labels(["0".to_string(), format!("{ymax:.0}×")])
                .style(theme.muted()),
        );
    frame.render_widget(chart, area);
}

/// Plain text when there is no frame yet (no Prometheus).
pub fn no_prometheus_lines(reason: &str) -> Vec<Line<'static>> {
    vec![
        Line::from(format!("No Prometheus: {reason}")),
        Line::from(""),
        Line::from("kdive reads SLO burn from a real Prometheus:"),
        Line::from("  - pass --prometheus URL (and --prometheus-bearer-token-file FILE), or"),
        Line::from("  - install Debian's prometheus package (apt-get install prometheus);"),
        Line::from("    `kdive --lab` and `kdive lab` then start it beside the lab."),
    ]
}
