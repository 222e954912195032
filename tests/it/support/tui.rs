//! TUI test support: the demo cluster fixture in stores, a fixed clock, keys, screens.
#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use kdive::sources::kube::{self as ksrc, KubeMsg, WatchState, Writers};
use kdive::ui::app::{App, Session};
use kdive::ui::msg::{Cmd, Msg};
use kdive::ui::theme::Theme;
use kdive_core::model::kind::Kind;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The fixture was listed at 09:47:38; the tests' clock stands two seconds later.
pub fn now() -> DateTime<Utc> {
    "2026-11-26T09:47:40Z".parse().unwrap()
}

pub fn later(secs: i64) -> DateTime<Utc> {
    now() + Duration::seconds(secs)
}

/// The fixture's documents, parsed once per test binary.
pub fn fixture() -> &'static [serde_json::Value] {
    static DOCS: std::sync::LazyLock<Vec<serde_json::Value>> = std::sync::LazyLock::new(|| {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/tui/demo-cluster.yaml"
        ))
        .unwrap();
        serde_saphyr::from_multiple::<serde_json::Value>(&text).unwrap()
    });
    &DOCS
}

/// The demo web Service's EndpointSlice from the fixture, to edit and re-apply.
pub fn web_slice() -> serde_json::Value {
    fixture()
        .iter()
        .find(|d| {
            d["kind"] == "EndpointSlice"
                && d["metadata"]["name"].as_str().unwrap().starts_with("web-")
        })
        .cloned()
        .unwrap()
}

/// An App over the demo fixture, every watch synced, settled at `now()`.
pub fn demo_app() -> (App, Writers) {
    let (stores, mut writers) = ksrc::stores();
    for doc in fixture() {
        writers.apply_value(doc.clone()).unwrap();
    }
    let session = Session {
        context: "kdive-lab".into(),
        contexts: vec!["kdive-lab".into(), "staging".into()],
        lab_kubeconfig: Some("/home/learner/.local/state/kdive/lab-kubeconfig".into()),
        ..Session::default()
    };
    let mut app = App::new(stores, session, None);
    for kind in Kind::ALL {
        app.update(Msg::Kube(KubeMsg::State(kind, WatchState::Synced)), now());
        app.update(Msg::Kube(KubeMsg::Changed(kind)), now());
    }
    app.update(Msg::Resize(160, 48), now());
    redraw(&mut app, now());
    (app, writers)
}

/// What a watch sends for one changed object: the note, then the change.
pub fn notify(app: &mut App, kind: Kind, ns: &str, name: &str, at: DateTime<Utc>) {
    app.update(
        Msg::Kube(KubeMsg::Note(kdive::sources::kube::WatchNote {
            kind,
            ty: kdive::sources::kube::NoteType::Modified,
            namespace: Some(ns.into()),
            name: name.into(),
            resource_version: "1000".into(),
            at,
        })),
        at,
    );
    app.update(Msg::Kube(KubeMsg::Changed(kind)), at);
}

pub fn key_event(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// Types text as keys (`\n` is Enter, `\t` Tab, `\x1b` Esc) and settles; returns the Cmds.
pub fn type_keys(app: &mut App, text: &str, at: DateTime<Utc>) -> Vec<Cmd> {
    let mut cmds = Vec::new();
    for c in text.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\t' => KeyCode::Tab,
            '\x1b' => KeyCode::Esc,
            c => KeyCode::Char(c),
        };
        cmds.extend(app.update(key_event(code), at));
        redraw(app, at);
    }
    cmds
}

/// Draws at the App's size, as the run loop does after each batch (tree moves read the
/// last drawn rows).
pub fn redraw(app: &mut App, at: DateTime<Utc>) {
    app.settle(at);
    let (w, h) = app.size;
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    kdive::ui::draw_app(&mut terminal, app, &Theme::mono(), at).unwrap();
}

pub fn press(app: &mut App, code: KeyCode, at: DateTime<Utc>) -> Vec<Cmd> {
    let cmds = app.update(key_event(code), at);
    redraw(app, at);
    cmds
}

/// Draws the whole screen as the run loop would, without colour, and returns its text.
pub fn screen(app: &mut App, w: u16, h: u16, at: DateTime<Utc>) -> String {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
    app.update(Msg::Resize(w, h), at);
    app.settle(at);
    kdive::ui::draw_app(&mut terminal, app, &Theme::mono(), at).unwrap();
    // Twice: the first frame records pane areas that mouse and paging use.
    kdive::ui::draw_app(&mut terminal, app, &Theme::mono(), at).unwrap();
    text(terminal.backend().buffer())
}

/// The buffer's symbols, one line per row, trailing spaces cut.
pub fn text(buf: &ratatui::buffer::Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
