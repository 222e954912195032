//! The terminal UI. Architecture (see `../shared/design.md` and aesthetics §3.5):
//!
//! - [`app::App`] is the one owner of UI state; only `App::update(Msg)` changes it, and it
//!   returns [`msg::Cmd`]s for the run loop to carry out. Sources (kube watches, later the
//!   Prometheus poller and the lesson engine) run in their own tasks and send [`msg::Msg`]s.
//!   Kube sources notify (`KubeMsg::Changed(kind)`); the App pulls from the read-only
//!   [`crate::sources::kube::Stores`].
//! - [`run::run`] drains every ready message, calls `App::settle` once, and draws at most
//!   once per frame budget. It is generic over the ratatui `Backend` (tests use
//!   `TestBackend`) and takes time as a parameter through a clock function.
//! - [`draw`] lays out the screen and asks each pane (one file each under `panes/`) to
//!   render its view-model; see `panes/mod.rs` for the pane contract.
//! - [`keymap`] is data: bindings per context and the `:` commands. Help and the hint line
//!   are generated from it.
//!
//! To add a pane: a `View` variant in `app.rs`, a pane file with `view` + `lines`/`render`,
//! an arm in [`draw`], and a key or `:` command in `keymap.rs` (+ its arm in `app.rs` /
//! `command.rs`).

pub mod app;
pub mod command;
pub mod feeds;
pub mod keymap;
pub mod msg;
pub mod panes;
pub mod run;
pub mod terminal;
pub mod theme;
pub mod track;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use app::{App, Focus, View};
use panes::status::StatusView;
use theme::Theme;

/// Below this the screen shows a message instead of panes.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 12;
/// Narrower than this, the main pane takes the whole width while it has focus.
pub const SPLIT_WIDTH: u16 = 120;

pub fn draw(frame: &mut Frame, app: &mut App, theme: &Theme, now: DateTime<Utc>) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "terminal too small: {}×{} (kdive needs at least {MIN_WIDTH}×{MIN_HEIGHT})",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let [header, body, status, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let status_view = StatusView {
        context: app.session.context.clone(),
        scope: app.scope.clone().unwrap_or_else(|| "all".into()),
        view: view_name(&app.view),
        watches: panes::status::watch_summary(&app.watches, now),
        flash: app.flash.as_ref().map(|(t, l, _)| (t.clone(), *l)),
    };
    frame.render_widget(
        Paragraph::new(panes::status::header(&status_view, theme)),
        header,
    );
    frame.render_widget(
        Paragraph::new(panes::status::status_line(&status_view, theme)),
        status,
    );
    frame.render_widget(
        Paragraph::new(panes::status::input_line(&app.input, theme)),
        input,
    );

    let (tree_area, main_area) = if area.width < SPLIT_WIDTH && app.focus == Focus::Main {
        (Rect::default(), body)
    } else {
        let tree_width = (body.width * 2 / 5).clamp(30, 60);
        let [t, m] =
            Layout::horizontal([Constraint::Length(tree_width), Constraint::Min(10)]).areas(body);
        (t, m)
    };
    app.areas = app::Areas {
        tree: tree_area,
        main: main_area,
    };
    if tree_area.width > 0 {
        let title = Line::from(vec![
            Span::styled(" Tree ", theme.title()),
            Span::styled(
                if app.filter.is_empty() {
                    String::new()
                } else {
                    format!("/{} ", app.filter)
                },
                theme.accent(),
            ),
        ]);
        panes::tree::render(
            frame,
            tree_area,
            &app.tree,
            &mut app.panes.tree,
            title,
            app.focus == Focus::Tree,
            theme,
        );
    }
    let focused = app.focus == Focus::Main;
    if draw_feed_pane(frame, main_area, app, theme, focused, now) {
        return;
    }
    let (title, lines) = main_lines(app, theme, main_area.width, now);
    app.panes.main_scroll = panes::scrolled(
        frame,
        main_area,
        Line::from(Span::styled(format!(" {title} "), theme.title())),
        lines,
        app.panes.main_scroll,
        focused,
        theme,
    );
}

fn view_name(v: &View) -> String {
    match v {
        View::Welcome => "welcome".into(),
        View::Chain(_) => "chain".into(),
        View::Pod(_) => "pod".into(),
        View::Workload(_) => "workload".into(),
        View::Detail(_) => "yaml".into(),
        View::Watches => "watches".into(),
        View::Help => "help".into(),
        View::Slo => "slo".into(),
        View::Query => "query".into(),
        View::Lesson => "lesson".into(),
    }
}

/// The panes fed by Prometheus and the lesson engine (charts, their own layout). Returns
/// false when the view is not one of them.
fn draw_feed_pane(
    frame: &mut Frame,
    area: Rect,
    app: &mut App,
    theme: &Theme,
    focused: bool,
    now: DateTime<Utc>,
) -> bool {
    let waiting = |text: String| -> Vec<Line<'static>> { vec![Line::from(text)] };
    match app.view {
        View::Slo => match (&app.feeds.metrics, &app.session.prometheus) {
            (Some(m), _) => {
                let v = panes::slo::view(
                    m,
                    &app.settled_objects(),
                    app.feeds.slo_selected,
                    now.timestamp(),
                );
                panes::slo::render(frame, area, &v, focused, theme);
            }
            (None, Err(reason)) => {
                let title = Line::from(Span::styled(" SLO burn ", theme.title()));
                let lines = panes::slo::no_prometheus_lines(reason);
                panes::scrolled(frame, area, title, lines, 0, focused, theme);
            }
            (None, Ok(url)) => {
                let title = Line::from(Span::styled(" SLO burn ", theme.title()));
                let lines = waiting(format!("waiting for the first poll of {url}"));
                panes::scrolled(frame, area, title, lines, 0, focused, theme);
            }
        },
        View::Query => match &app.feeds.query {
            Some(r)
                if app
                    .feeds
                    .query_pending
                    .as_deref()
                    .is_none_or(|q| q == r.query) =>
            {
                panes::query::render(frame, area, &panes::query::view(r), focused, theme);
            }
            _ => {
                let title = Line::from(Span::styled(" Query ", theme.title()));
                let text = match (&app.session.prometheus, &app.feeds.query_pending) {
                    (Err(reason), _) => panes::slo::no_prometheus_lines(reason),
                    (Ok(_), Some(q)) => waiting(format!("running {q}")),
                    (Ok(_), None) => waiting(":query PROMQL or :range PROMQL".into()),
                };
                panes::scrolled(frame, area, title, text, 0, focused, theme);
            }
        },
        View::Lesson => match app.feeds.lesson_view(&app.session.lessons, now) {
            Some(v) => {
                app.panes.main_scroll =
                    panes::lesson::render(frame, area, &v, app.panes.main_scroll, focused, theme);
            }
            None => {
                let title = Line::from(Span::styled(" Lesson ", theme.title()));
                let id = app.feeds.lesson.as_ref().map_or("", |l| l.id.as_str());
                panes::scrolled(
                    frame,
                    area,
                    title,
                    waiting(format!("starting lesson {id}: watching its objects")),
                    0,
                    focused,
                    theme,
                );
            }
        },
        _ => return false,
    }
    true
}

fn main_lines(
    app: &App,
    theme: &Theme,
    width: u16,
    now: DateTime<Utc>,
) -> (String, Vec<Line<'static>>) {
    match &app.view {
        View::Welcome => (
            "Welcome".into(),
            panes::welcome::lines(theme, app.session.lab_kubeconfig.as_deref()),
        ),
        View::Help => ("Help".into(), panes::help::lines(theme)),
        View::Chain(k) => {
            let title = format!("Chain {}", k.display());
            match &app.chain {
                Some(track) if &track.key == k => (
                    title,
                    panes::chain::lines(&panes::chain::view(track), theme, width, now),
                ),
                _ => (title, vec![Line::from("loading")]),
            }
        }
        View::Pod(k) => {
            let objs = app.settled_objects();
            let v = panes::pod::view(&objs, k, app.timeline.as_ref().filter(|t| &t.key == k), now);
            (format!("Pod {}", v.title), panes::pod::lines(&v, theme))
        }
        View::Workload(k) => {
            let objs = app.settled_objects();
            let v = panes::workload::view(&objs, k, now);
            (
                format!("{} {}", k.kind.name(), k.display()),
                panes::workload::lines(&v, theme),
            )
        }
        View::Detail(k) => {
            let objs = app.settled_objects();
            let v = panes::detail::view(&objs, k);
            (format!("YAML {}", v.title), panes::detail::lines(&v, theme))
        }
        View::Slo | View::Query | View::Lesson => (String::new(), Vec::new()),
        View::Watches => {
            let objs = app.settled_objects();
            let counts = |k| app.stores.len(k);
            let sel = app.selected_key();
            let v = panes::watch::view(&app.watches, &counts, &objs, sel.as_ref(), now);
            ("Watch inspector".into(), panes::watch::lines(&v, theme))
        }
    }
}
