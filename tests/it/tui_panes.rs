//! Screen snapshots of every pane at 80×24 and 160×48, over the demo cluster fixture with
//! the clock fixed. Review changes with `cargo insta review`.

use crate::support::tui as tui_support;

use kdive::sources::kube::{KubeMsg, NoteType, WatchNote, WatchState};
use kdive::ui::msg::Msg;
use ratatui::crossterm::event::KeyCode;
use tui_support::*;

fn both(name: &str, setup: impl Fn(&mut kdive::ui::app::App)) {
    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let (mut app, _writers) = demo_app();
        app.update(Msg::Resize(w, h), now());
        redraw(&mut app, now());
        setup(&mut app);
        let text = screen(&mut app, w, h, later(1));
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text);
    }
}

#[test]
fn welcome_and_tree() {
    both("welcome", |_| {});
}

#[test]
fn tree_opened_to_the_demo_namespace() {
    both("tree_demo", |app| {
        // Nodes, default, demo: open demo and its Deployments.
        type_keys(app, "jjl", now());
        type_keys(app, "jjjl", now());
        // postgres, then postgres-0 with its claim (→: l on a pod opens its logs).
        type_keys(app, "jl", now());
        type_keys(app, "j", now());
        press(app, KeyCode::Right, now());
    });
}

#[test]
fn chain_of_demo_web() {
    both("chain_web", |app| {
        type_keys(app, ":svc web\n", now());
    });
}

#[test]
fn pod_view() {
    both("pod_postgres_0", |app| {
        type_keys(app, ":pod postgres-0\n", now());
    });
}

#[test]
fn workload_views() {
    both("workload_web", |app| {
        type_keys(app, ":deploy web\n", now());
    });
    both("workload_postgres", |app| {
        type_keys(app, ":sts postgres\n", now());
    });
}

#[test]
fn watch_inspector() {
    both("watches", |app| {
        for (i, (ty, name, rv)) in [
            (NoteType::Listed, "9", "100"),
            (NoteType::Added, "web-675549d9d6-x1", "101"),
            (NoteType::Modified, "web-675549d9d6-x1", "102"),
            (NoteType::Deleted, "web-675549d9d6-x1", "103"),
            (NoteType::Bookmark, "", "110"),
        ]
        .into_iter()
        .enumerate()
        {
            app.update(
                Msg::Kube(KubeMsg::Note(WatchNote {
                    kind: kdive_core::model::kind::Kind::Pod,
                    ty,
                    namespace: (ty != NoteType::Listed && ty != NoteType::Bookmark)
                        .then(|| "demo".into()),
                    name: name.into(),
                    resource_version: rv.into(),
                    at: now() - chrono::Duration::seconds(5 - i as i64),
                })),
                now(),
            );
        }
        app.update(
            Msg::Kube(KubeMsg::State(
                kdive_core::model::kind::Kind::Secret,
                WatchState::Forbidden {
                    message: "secrets is forbidden: User \"dev\" cannot list resource \"secrets\""
                        .into(),
                },
            )),
            now(),
        );
        type_keys(app, ":svc web\n", now());
        type_keys(app, "w", now());
    });
}

#[test]
fn yaml_detail() {
    both("yaml_web_db_secret", |app| {
        type_keys(app, ":ns demo\n", now());
        // Select the Secret in the tree through the command line's object commands is not
        // possible (no :secret), so walk: demo → Secrets → web-db.
        let (objs, key) = (
            app.objects(),
            kdive_core::model::objects::ObjKey::new(
                kdive_core::model::kind::Kind::Secret,
                Some("demo"),
                "web-db",
            ),
        );
        assert!(objs.contains(&key));
        app.open(kdive::ui::app::View::Detail(key), now());
    });
}

#[test]
fn help_from_the_keymap() {
    both("help", |app| {
        press(app, KeyCode::Char('?'), now());
    });
}

#[test]
fn too_small_terminal_shows_a_message() {
    let (mut app, _w) = demo_app();
    let text = screen(&mut app, 30, 8, now());
    assert!(text.contains("terminal too small: 30×8"), "{text}");
}
