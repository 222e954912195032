//! The Triage pane over the demo fixture: a Service broken as a person would (a selector
//! typo), seen through `:triage`, `t` on the tree, Enter on a finding, the status bar's
//! count, and what the explorer saw change. Snapshots at 80×24 and 160×48.

use crate::support::tui as tui_support;

use kdive::ui::app::View;
use kdive::ui::msg::Msg;
use kdive_core::model::kind::Kind;
use kdive_core::model::objects::ObjKey;
use kdive_core::triage::{Target, TargetKind};
use ratatui::crossterm::event::KeyCode;
use tui_support::*;

fn web_service() -> serde_json::Value {
    fixture()
        .iter()
        .find(|d| d["kind"] == "Service" && d["metadata"]["name"] == "web")
        .cloned()
        .expect("the fixture has Service web")
}

/// The demo with Service web's selector mistyped, as the watch delivers it.
fn broken_app() -> (kdive::ui::app::App, kdive::sources::kube::Writers) {
    let (mut app, mut writers) = demo_app();
    let mut svc = web_service();
    svc["spec"]["selector"] = serde_json::json!({"app": "wbe"});
    svc["metadata"]["resourceVersion"] = "5000".into();
    writers.apply_value(svc).unwrap();
    notify(&mut app, Kind::Service, "demo", "web", later(1));
    redraw(&mut app, later(1));
    (app, writers)
}

#[test]
fn triage_of_a_mistyped_selector_snapshots() {
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let (mut app, _writers) = broken_app();
        app.update(Msg::Resize(w, h), later(1));
        type_keys(&mut app, ":triage svc/web\n", later(2));
        let text = screen(&mut app, w, h, later(3));
        insta::assert_snapshot!(format!("triage_selector_{w}x{h}"), text);
    }
}

#[test]
fn the_pane_names_the_cause_and_enter_opens_its_object() {
    let (mut app, _writers) = broken_app();
    type_keys(&mut app, ":triage svc/web\n", later(2));
    let target = Target::Object {
        kind: TargetKind::Service,
        namespace: "demo".into(),
        name: "web".into(),
    };
    assert_eq!(app.view, View::Triage(target));
    let report = app.triage.report.clone().expect("a report");
    assert_eq!(report.findings[0].cause.code(), "selector-matches-nothing");
    // The explorer saw the edit: it is what changed.
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.what == "selector app=web → app=wbe"),
        "{:?}",
        report.changes
    );
    // The status bar's count follows within its few seconds.
    app.update(Msg::Tick, later(9));
    let screen_text = screen(&mut app, 160, 48, later(9));
    assert!(screen_text.contains("critical finding"), "{screen_text}");
    // The second finding is the symptom; Enter on the first opens Service web's chain.
    press(&mut app, KeyCode::Down, later(3));
    assert_eq!(app.triage.selected, 1);
    press(&mut app, KeyCode::Up, later(3));
    press(&mut app, KeyCode::Enter, later(3));
    assert_eq!(
        app.view,
        View::Chain(ObjKey::new(Kind::Service, Some("demo"), "web"))
    );
    // Esc goes back to the triage.
    press(&mut app, KeyCode::Esc, later(3));
    assert!(matches!(app.view, View::Triage(_)));
}

#[test]
fn the_pane_follows_the_fix_live() {
    let (mut app, mut writers) = broken_app();
    type_keys(&mut app, ":triage svc/web\n", later(2));
    assert_eq!(
        app.triage.report.as_ref().unwrap().verdict,
        kdive_core::triage::Verdict::Down
    );
    let mut svc = web_service();
    svc["metadata"]["resourceVersion"] = "5001".into();
    writers.apply_value(svc).unwrap();
    notify(&mut app, Kind::Service, "demo", "web", later(10));
    redraw(&mut app, later(10));
    let report = app.triage.report.as_ref().unwrap();
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.cause.code() == "selector-matches-nothing"),
        "{:?}",
        report.findings
    );
}

#[test]
fn t_on_the_tree_triages_the_selection_and_bad_targets_say_why() {
    let (mut app, _writers) = broken_app();
    // Nothing selected yet: the whole cluster.
    type_keys(&mut app, "t", later(2));
    assert_eq!(app.view, View::Triage(Target::All));
    type_keys(&mut app, "\x1b", later(2));
    type_keys(&mut app, ":triage svc/nope\n", later(2));
    let text = screen(&mut app, 160, 48, later(2));
    assert!(
        text.contains("nothing named \"nope\" of that kind"),
        "{text}"
    );
    type_keys(&mut app, ":ns demo\n", later(2));
    type_keys(&mut app, ":triage cm/x\n", later(2));
    let text = screen(&mut app, 160, 48, later(2));
    assert!(text.contains("unknown kind \"cm\""), "{text}");
    type_keys(&mut app, ":triage\n", later(3));
    assert_eq!(app.view, View::Triage(Target::Namespace("demo".into())));
}
