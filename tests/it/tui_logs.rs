//! The log pane over a fed log (no cluster): keys, the bounded ring, search, previous,
//! and snapshots at 80×24 and 160×48. The lab's real logs reach it in `tui_e2e`.

use crate::support::tui as tui_support;

use kdive::sources::logs::{FeedEnd, LogFeed};
use kdive::ui::app::App;
use kdive::ui::msg::{Cmd, LogRequest, Msg};
use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseEvent, MouseEventKind};
use tui_support::*;

/// Opens postgres-0's log pane; returns the request the App made.
fn open_logs(app: &mut App) -> LogRequest {
    type_keys(app, ":pod postgres-0\n", now());
    let cmds = type_keys(app, "l", now());
    match cmds.as_slice() {
        [Cmd::FollowLogs(req)] => req.clone(),
        other => panic!("expected one FollowLogs, got {other:?}"),
    }
}

fn feed(app: &mut App, feed: &LogFeed, lines: impl IntoIterator<Item = String>) {
    feed.push(lines);
    app.update(Msg::LogsChanged, now());
    redraw(app, now());
}

fn postgres_log(n: usize) -> Vec<String> {
    let mut lines = vec![
        "PostgreSQL Database directory appears to contain a database; Skipping initialization".to_string(),
        String::new(),
        "2026-11-26 09:59:01.412 UTC [1] LOG:  starting PostgreSQL 16.6 (Debian 16.6-1.pgdg120+1) on x86_64-pc-linux-gnu, compiled by gcc (Debian 12.2.0-14) 12.2.0, 64-bit".to_string(),
        "2026-11-26 09:59:01.412 UTC [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432".to_string(),
        "2026-11-26 09:59:09.412 UTC [1] LOG:  database system is ready to accept connections".to_string(),
    ];
    for i in 0..n {
        lines.push(format!(
            "2026-11-26 {:02}:{:02}:09.412 UTC [27] LOG:  checkpoint starting: time",
            10 + i / 12,
            i % 12 * 5
        ));
    }
    lines
}

#[test]
fn the_pane_follows_a_fed_log_with_its_status() {
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let (mut app, _writers) = demo_app();
        app.update(Msg::Resize(w, h), now());
        redraw(&mut app, now());
        let req = open_logs(&mut app);
        assert_eq!(
            (
                req.namespace.as_str(),
                req.pod.as_str(),
                req.container.as_str(),
                req.previous
            ),
            ("demo", "postgres-0", "postgres", false)
        );
        feed(&mut app, &req.feed, postgres_log(40));
        // A search highlights and jumps; the status names it.
        type_keys(&mut app, "/ready\n", now());
        insta::assert_snapshot!(
            format!("logs_postgres_0_{w}x{h}"),
            screen(&mut app, w, h, later(1))
        );
    }
}

#[test]
fn errors_are_named_and_previous_asks_again() {
    let (mut app, _writers) = demo_app();
    app.update(Msg::Resize(80, 24), now());
    let req = open_logs(&mut app);
    let cmds = type_keys(&mut app, "p", now());
    let prev = match cmds.as_slice() {
        [Cmd::FollowLogs(r)] => r.clone(),
        other => panic!("{other:?}"),
    };
    assert!(
        prev.previous && prev.feed != req.feed,
        "a new feed for the previous run"
    );
    // The old feed's late lines no longer show.
    req.feed.push(["stale".to_string()]);
    prev.feed.finish(FeedEnd::Failed(
        "previous terminated container \"postgres\" in pod \"postgres-0\" not found".into(),
    ));
    app.update(Msg::LogsChanged, now());
    let text = screen(&mut app, 80, 24, later(1));
    insta::assert_snapshot!("logs_previous_not_found_80x24", text);
    assert!(!text.contains("stale"));
    // Esc leaves the pane and stops the stream.
    let cmds = type_keys(&mut app, "\x1b", now());
    assert_eq!(cmds, vec![Cmd::StopLogs]);
    assert!(app.logs.is_none());
}

#[test]
fn the_ring_keeps_the_last_ten_thousand_lines_and_scrolling_pauses() {
    let (mut app, _writers) = demo_app();
    let req = open_logs(&mut app);
    for chunk in 0..3 {
        feed(
            &mut app,
            &req.feed,
            (0..5_000).map(move |i| format!("line {}", chunk * 5_000 + i)),
        );
    }
    let t = app.logs.as_ref().unwrap();
    assert_eq!(t.lines.len(), kdive::ui::logs::RING);
    assert_eq!(t.dropped, 5_000);
    assert_eq!(t.lines.front().map(String::as_str), Some("line 5000"));
    assert!(t.follow);
    press(&mut app, KeyCode::PageUp, now());
    assert!(!app.logs.as_ref().unwrap().follow, "scrolling up pauses");
    let text = screen(&mut app, 160, 48, later(1));
    assert!(
        text.contains("paused") && text.contains("15000 lines (last 10000 kept)"),
        "{text}"
    );
    press(&mut app, KeyCode::Char('G'), now());
    assert!(app.logs.as_ref().unwrap().follow, "G follows again");
    let text = screen(&mut app, 160, 48, later(1));
    assert!(text.contains("line 14999"), "{text}");
    // The wheel over the pane scrolls the log, not the page behind it.
    let main = app.areas.main;
    app.update(
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollUp,
            column: main.x + 2,
            row: main.y + 2,
            modifiers: KeyModifiers::NONE,
        }),
        now(),
    );
    assert!(!app.logs.as_ref().unwrap().follow, "the wheel up pauses");
    press(&mut app, KeyCode::End, now());
    // n/N jump between matches, wrapping around.
    type_keys(&mut app, "/line 1234\n", now());
    let first = app.logs.as_ref().unwrap().current;
    type_keys(&mut app, "n", now());
    assert_ne!(app.logs.as_ref().unwrap().current, first);
    type_keys(&mut app, "N", now());
    assert_eq!(app.logs.as_ref().unwrap().current, first);
}
