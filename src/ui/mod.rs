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
//! - [`view_model`]: after settling, the App builds the frame's [`view_model::ViewModel`];
//!   [`draw`] lays out the screen from it alone (and the panes' UI state), asking each pane
//!   (one file each under `panes/`) to render its part; see `panes/mod.rs` for the pane
//!   contract.
//! - [`keymap`] is data: bindings per context and the `:` commands. Help and the hint line
//!   are generated from it.
//!
//! To add a pane: a `View` variant in `app.rs`, a pane file with `view` + `lines`/`render`,
//! a `MainView` variant built in `view_model.rs` and drawn in [`draw`], and a key or `:`
//! command in `keymap.rs` (+ its arm in `app.rs` / `command.rs`).

pub mod app;
mod app_triage;
pub mod command;
pub mod effects;
pub mod feeds;
pub mod keymap;
pub mod logs;
pub mod msg;
pub mod panes;
pub mod run;
pub mod terminal;
pub mod theme;
pub mod track;
pub mod triage_track;
pub mod view_model;

use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::{Frame, Terminal};

use app::{App, Areas, Focus};
use panes::PaneStates;
use theme::Theme;
use view_model::{MainView, ViewModel};

/// Below this the screen shows a message instead of panes.
pub const MIN_WIDTH: u16 = 50;
pub const MIN_HEIGHT: u16 = 12;
/// Narrower than this, the main pane takes the whole width while it has focus.
pub const SPLIT_WIDTH: u16 = 120;

/// Draws the App's frame: its view-model, with the panes' UI state lent to the drawing;
/// records where the panes landed (mouse and paging read it).
pub fn draw_app<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    theme: &Theme,
    now: DateTime<Utc>,
) -> Result<(), B::Error> {
    let mut panes = std::mem::take(&mut app.panes);
    let mut areas = app.areas;
    let drawn = {
        let vm = app.view_model(now, &panes);
        terminal.draw(|f| areas = draw(f, &vm, &mut panes, theme))
    };
    app.panes = panes;
    app.areas = areas;
    drawn.map(|_| ())
}

/// Lays out one frame from the view-model; returns the tree's and main pane's areas.
pub fn draw(frame: &mut Frame, vm: &ViewModel, panes: &mut PaneStates, theme: &Theme) -> Areas {
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
        return Areas::default();
    }
    let [header, body, status, input] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(panes::status::header(&vm.status, theme)),
        header,
    );
    frame.render_widget(
        Paragraph::new(panes::status::status_line(&vm.status, theme)),
        status,
    );
    frame.render_widget(
        Paragraph::new(panes::status::input_line(vm.input, theme)),
        input,
    );

    let (tree_area, main_area) = if area.width < SPLIT_WIDTH && vm.focus == Focus::Main {
        (Rect::default(), body)
    } else {
        let tree_width = (body.width * 2 / 5).clamp(30, 60);
        let [t, m] =
            Layout::horizontal([Constraint::Length(tree_width), Constraint::Min(10)]).areas(body);
        (t, m)
    };
    if tree_area.width > 0 {
        let title = Line::from(vec![
            Span::styled(" Tree ", theme.title()),
            Span::styled(
                if vm.filter.is_empty() {
                    String::new()
                } else {
                    format!("/{} ", vm.filter)
                },
                theme.accent(),
            ),
        ]);
        panes::tree::render(
            frame,
            tree_area,
            vm.tree,
            &mut panes.tree,
            title,
            vm.focus == Focus::Tree,
            theme,
        );
    }
    draw_main(frame, main_area, vm, panes, theme);
    Areas {
        tree: tree_area,
        main: main_area,
    }
}

fn draw_main(frame: &mut Frame, area: Rect, vm: &ViewModel, panes: &mut PaneStates, theme: &Theme) {
    let focused = vm.focus == Focus::Main;
    let width = area.width;
    let (title, lines) = match &vm.main {
        // Panes with layouts of their own (charts, tables).
        MainView::Slo(v) => return panes::slo::render(frame, area, v, focused, theme),
        MainView::Query(v) => return panes::query::render(frame, area, v, focused, theme),
        MainView::Triage(v) => return panes::triage::render(frame, area, v, focused, theme),
        MainView::Logs(v) => return panes::logs::render(frame, area, v, focused, theme),
        MainView::Lesson(v) => {
            panes.main_scroll =
                panes::lesson::render(frame, area, v, panes.main_scroll, focused, theme);
            return;
        }
        MainView::NoPrometheus { title, reason } => {
            let title = Line::from(Span::styled(format!(" {title} "), theme.title()));
            let lines = panes::slo::no_prometheus_lines(reason);
            panes::scrolled(frame, area, title, lines, 0, focused, theme);
            return;
        }
        MainView::Waiting { title, text } => {
            let title = Line::from(Span::styled(format!(" {title} "), theme.title()));
            let lines = vec![Line::from(text.clone())];
            panes::scrolled(frame, area, title, lines, 0, focused, theme);
            return;
        }
        // Panes drawn as scrolled lines.
        MainView::Welcome { lab_kubeconfig } => (
            "Welcome".to_string(),
            panes::welcome::lines(theme, *lab_kubeconfig),
        ),
        MainView::Help => ("Help".into(), panes::help::lines(theme)),
        MainView::Chain { title, view } => (
            title.clone(),
            panes::chain::lines(view, theme, width, vm.now),
        ),
        MainView::Pod(v) => (format!("Pod {}", v.title), panes::pod::lines(v, theme)),
        MainView::Workload { title, view } => (title.clone(), panes::workload::lines(view, theme)),
        MainView::Detail(v) => (format!("YAML {}", v.title), panes::detail::lines(v, theme)),
        MainView::Watches(v) => ("Watch inspector".into(), panes::watch::lines(v, theme)),
    };
    panes.main_scroll = panes::scrolled(
        frame,
        area,
        Line::from(Span::styled(format!(" {title} "), theme.title())),
        lines,
        panes.main_scroll,
        focused,
        theme,
    );
}
