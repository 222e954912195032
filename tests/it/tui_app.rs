//! App behaviour from message sequences: keys, commands, watch states and store changes fed
//! to `App::update`, with a fixed clock and no sleeps.

use crate::support::tui as tui_support;

use kdive::sources::kube::{KubeMsg, WatchState};
use kdive::ui::app::{Focus, Input, View};
use kdive::ui::msg::{Cmd, Msg};
use kdive_core::model::chain::changes::RowKey;
use kdive_core::model::kind::Kind;
use kdive_core::model::objects::ObjKey;
use ratatui::crossterm::event::{KeyCode, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use std::time::Duration;
use tui_support::*;

fn web() -> ObjKey {
    ObjKey::new(Kind::Service, Some("demo"), "web")
}

#[test]
fn svc_command_opens_the_chain_and_reveals_it_in_the_tree() {
    let (mut app, _w) = demo_app();
    assert!(type_keys(&mut app, ":svc web\n", now()).is_empty());
    assert_eq!(app.view, View::Chain(web()));
    assert_eq!(app.focus, Focus::Main);
    assert_eq!(app.panes.tree.selected().last(), Some(&web().id()));
    let chain = app.chain.as_ref().unwrap().model.as_ref().unwrap();
    assert_eq!(chain.ports.len(), 1);
    assert_eq!(chain.ports[0].endpoints.len(), 4);
    assert_eq!(
        chain.ports[0].endpoints.iter().filter(|e| e.ready).count(),
        3
    );
}

#[test]
fn enter_on_a_tree_pod_opens_the_pod_view_and_esc_goes_back() {
    let (mut app, _w) = demo_app();
    type_keys(&mut app, ":svc web\n", now());
    // Back to the tree, then walk to a pod: demo → StatefulSets → postgres → postgres-0.
    press(&mut app, KeyCode::Tab, now());
    assert_eq!(app.focus, Focus::Tree);
    type_keys(&mut app, "/postgres-0\n", now());
    // The filter keeps matches and their ancestors, opened.
    let screen = screen(&mut app, 160, 48, now());
    let tree: String = screen
        .lines()
        .map(|l| l.chars().take(60).collect::<String>() + "\n")
        .collect();
    assert!(tree.contains("postgres-0"), "{screen}");
    assert!(
        tree.contains("data-postgres-0"),
        "the claim is under its pod:\n{tree}"
    );
    assert!(
        !tree.contains("postgres-1"),
        "filter left other pods:\n{tree}"
    );
    assert!(
        !tree.contains("Services"),
        "filter left other groups:\n{tree}"
    );
    type_keys(&mut app, "G", now());
    let selected = app.panes.tree.selected().last().cloned().unwrap();
    assert!(selected.contains("postgres-0"), "{selected}");
    press(&mut app, KeyCode::Enter, now());
    let key = app.selected_key().unwrap();
    match &app.view {
        View::Pod(k) | View::Detail(k) => assert_eq!(k, &key),
        other => panic!("unexpected view {other:?}"),
    }
    press(&mut app, KeyCode::Esc, now());
    assert_eq!(app.view, View::Chain(web()));
    press(&mut app, KeyCode::Esc, now());
    assert_eq!(app.focus, Focus::Tree);
}

#[test]
fn tab_completes_commands_and_names() {
    let (mut app, _w) = demo_app();
    type_keys(&mut app, ":sv\t", now());
    assert_eq!(
        app.input,
        Input::Command(kdive::ui::app::LineInput {
            text: "svc ".into(),
            completions: vec!["svc".into()]
        })
    );
    type_keys(&mut app, "w\t", now());
    match &app.input {
        Input::Command(l) => assert_eq!(l.text, "svc web "),
        other => panic!("{other:?}"),
    }
    // Two candidates: the common prefix, and both listed.
    type_keys(&mut app, "\x1b:ns kube-\t", now());
    match &app.input {
        Input::Command(l) => {
            assert_eq!(l.text, "ns kube-");
            assert_eq!(
                l.completions,
                ["kube-node-lease", "kube-public", "kube-system"]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn namespace_scope_and_bad_commands_say_what_happened() {
    let (mut app, _w) = demo_app();
    type_keys(&mut app, ":ns demo\n", now());
    assert_eq!(app.scope.as_deref(), Some("demo"));
    assert_eq!(app.tree.len(), 1, "only demo in the tree");
    type_keys(&mut app, ":ns nope\n", now());
    assert_eq!(app.scope.as_deref(), Some("demo"));
    assert!(
        app.flash
            .as_ref()
            .unwrap()
            .0
            .contains("namespace \"nope\" not found")
    );
    type_keys(&mut app, ":frobnicate\n", now());
    assert!(
        app.flash
            .as_ref()
            .unwrap()
            .0
            .contains("unknown command :frobnicate")
    );
    type_keys(&mut app, ":svc nope\n", now());
    assert!(
        app.flash
            .as_ref()
            .unwrap()
            .0
            .contains("no Service named \"nope\"")
    );
    type_keys(&mut app, ":ns all\n", now());
    assert_eq!(app.scope, None);
}

#[test]
fn quit_context_and_lab_commands_return_effects() {
    let (mut app, _w) = demo_app();
    assert_eq!(
        type_keys(&mut app, ":ctx staging\n", now()),
        vec![Cmd::SwitchContext("staging".into())]
    );
    // A context the App has not heard of may have been added to the file since: the
    // effects read the kubeconfig again and say whether it is there.
    assert_eq!(
        type_keys(&mut app, ":ctx prod\n", now()),
        vec![Cmd::SwitchContext("prod".into())]
    );
    // The files changed on disk: reconnect to the current context with what they say now.
    let current = app.session.context.clone();
    assert_eq!(
        app.update(Msg::KubeconfigChanged, now()),
        vec![Cmd::SwitchContext(current)]
    );
    assert!(app.flash.as_ref().unwrap().0.contains("kubeconfig changed"));
    app.update(Msg::Contexts(vec!["a".into(), "prod".into()]), now());
    assert_eq!(app.session.contexts, ["a", "prod"]);
    assert_eq!(
        type_keys(&mut app, ":lab restart\n", now()),
        vec![Cmd::RestartLab]
    );
    assert_eq!(type_keys(&mut app, "q", now()), vec![Cmd::Quit]);
    assert!(app.quit);
    let (mut app, _w) = demo_app();
    assert_eq!(app.update(Msg::Shutdown, now()), vec![Cmd::Quit]);
}

#[test]
fn a_pod_leaving_the_slice_is_highlighted_then_fades() {
    let (mut app, mut writers) = demo_app();
    type_keys(&mut app, ":svc web\n", now());
    let track = app.chain.as_ref().unwrap();
    assert!(
        !track.changes.has_recent(now()),
        "nothing is new when the pane opens"
    );
    // The EndpointSlice controller marks web-675549d9d6-g74lh not ready.
    let mut slice = web_slice();
    for e in slice["endpoints"].as_array_mut().unwrap() {
        if e["targetRef"]["name"] == "web-675549d9d6-g74lh" {
            e["conditions"]["ready"] = false.into();
            e["conditions"]["serving"] = false.into();
        }
    }
    writers.apply_value(slice).unwrap();
    notify(&mut app, Kind::EndpointSlice, "demo", "web-slice", later(1));
    app.settle(later(1));
    let track = app.chain.as_ref().unwrap();
    let row = RowKey::Endpoint {
        port: 80,
        address: "10.244.1.3".into(),
        pod: Some("web-675549d9d6-g74lh".into()),
    };
    assert!(track.changes.is_highlighted(&row, later(2)));
    // The other ready endpoints' share went from a third to a half: changed too.
    let other = RowKey::Endpoint {
        port: 80,
        address: "10.244.2.2".into(),
        pod: Some("web-675549d9d6-75vw2".into()),
    };
    assert!(track.changes.is_highlighted(&other, later(2)));
    let untouched = RowKey::Endpoint {
        port: 80,
        address: "10.244.1.4".into(),
        pod: Some("web-57cc4997cc-v2wbb".into()),
    };
    assert!(!track.changes.is_highlighted(&untouched, later(2)));
    let chain = track.model.as_ref().unwrap();
    assert_eq!(
        chain.ports[0].endpoints.iter().filter(|e| e.ready).count(),
        2
    );
    let shares: Vec<Option<f64>> = chain.ports[0]
        .endpoints
        .iter()
        .map(|e| e.probability)
        .collect();
    assert_eq!(shares.iter().flatten().count(), 2);
    assert!(
        shares.iter().flatten().all(|p| (p - 0.5).abs() < 1e-9),
        "{shares:?}"
    );
    let text = screen(&mut app, 160, 48, later(2));
    assert!(text.contains("*✗ 10.244.1.3:8080"), "{text}");
    // Three seconds later the highlight is gone.
    let text = screen(&mut app, 160, 48, later(5));
    assert!(text.contains(" ✗ 10.244.1.3:8080"), "{text}");
}

#[test]
fn a_deleted_endpoint_is_listed_as_gone_for_a_while() {
    let (mut app, mut writers) = demo_app();
    type_keys(&mut app, ":svc web\n", now());
    let mut slice = web_slice();
    slice["endpoints"]
        .as_array_mut()
        .unwrap()
        .retain(|e| e["targetRef"]["name"] != "web-675549d9d6-vdwvk");
    writers.apply_value(slice).unwrap();
    notify(&mut app, Kind::EndpointSlice, "demo", "web-slice", later(1));
    app.settle(later(1));
    let text = screen(&mut app, 160, 48, later(3));
    assert!(
        text.contains("gone 10.244.3.3 (web-675549d9d6-vdwvk) (2s ago)"),
        "{text}"
    );
    notify(&mut app, Kind::Pod, "demo", "web-pod", later(12));
    let text = screen(&mut app, 160, 48, later(12));
    assert!(!text.contains("gone 10.244.3.3"), "{text}");
}

#[test]
fn watch_states_show_in_the_status_bar() {
    let (mut app, _w) = demo_app();
    for kind in Kind::ALL {
        app.update(
            Msg::Kube(KubeMsg::State(
                kind,
                WatchState::Reconnecting {
                    attempt: 2,
                    error: "connection refused".into(),
                    retry_in: Duration::from_secs(1),
                },
            )),
            now(),
        );
    }
    let text = screen(&mut app, 160, 48, later(4));
    assert!(
        text.contains("✗ API server unreachable: 13 watches reconnecting"),
        "{text}"
    );
    for kind in Kind::ALL {
        app.update(
            Msg::Kube(KubeMsg::State(kind, WatchState::Synced)),
            later(5),
        );
    }
    let text = screen(&mut app, 160, 48, later(5));
    assert!(text.contains("✓ watches 13/13 synced"), "{text}");
}

#[test]
fn mouse_click_selects_in_the_tree_and_wheel_scrolls() {
    let (mut app, _w) = demo_app();
    screen(&mut app, 160, 48, now());
    // Row 2 of the screen is the first tree row (header, border), row 3 the second.
    let click = |row| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 5,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    app.update(click(4), now());
    redraw(&mut app, now());
    assert_eq!(
        app.panes.tree.selected().last().map(String::as_str),
        Some("Namespace//demo")
    );
    app.update(click(10), now());
    assert_eq!(app.focus, Focus::Tree);
    app.update(
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 100,
            row: 10,
            modifiers: KeyModifiers::NONE,
        }),
        now(),
    );
    assert_eq!(app.focus, Focus::Main);
    app.update(
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 100,
            row: 10,
            modifiers: KeyModifiers::NONE,
        }),
        now(),
    );
    assert_eq!(app.panes.main_scroll, 3);
}

#[test]
fn a_context_switch_replaces_the_stores() {
    let (mut app, _w) = demo_app();
    type_keys(&mut app, ":svc web\n", now());
    let (stores, _writers) = kdive::sources::kube::stores();
    app.update(
        Msg::Switched {
            stores,
            context: "staging".into(),
        },
        now(),
    );
    app.settle(now());
    assert_eq!(app.session.context, "staging");
    assert_eq!(app.view, View::Welcome);
    assert!(app.chain.is_none());
    assert!(app.tree.is_empty(), "nothing of the old cluster remains");
}

#[test]
fn only_changes_in_the_chains_namespace_recompute_it() {
    let (mut app, mut writers) = demo_app();
    type_keys(&mut app, ":svc web\n", now());
    let mut slice = web_slice();
    slice["endpoints"].as_array_mut().unwrap().truncate(1);
    writers.apply_value(slice).unwrap();
    let endpoints = |app: &kdive::ui::app::App| {
        app.chain.as_ref().unwrap().model.as_ref().unwrap().ports[0]
            .endpoints
            .len()
    };
    notify(&mut app, Kind::Pod, "kube-system", "coredns-x", later(1));
    app.settle(later(1));
    assert_eq!(
        endpoints(&app),
        4,
        "a kube-system pod cannot change demo/web's chain"
    );
    notify(&mut app, Kind::EndpointSlice, "demo", "web-slice", later(2));
    app.settle(later(2));
    assert_eq!(endpoints(&app), 1);
}

#[test]
fn slo_query_and_lesson_commands() {
    let (mut app, _w) = demo_app();
    // No Prometheus: the SLO pane says how to get one.
    type_keys(&mut app, ":slo\n", now());
    assert_eq!(app.view, View::Slo);
    let text = screen(&mut app, 160, 48, now());
    assert!(text.contains("No Prometheus: not connected"), "{text}");
    let cmds = type_keys(
        &mut app,
        ":query sum(rate(http_requests_total[5m]))\n",
        now(),
    );
    assert_eq!(
        cmds,
        vec![Cmd::Query {
            expr: "sum(rate(http_requests_total[5m]))".into(),
            range: false
        }]
    );
    assert_eq!(app.view, View::Query);
    let cmds = type_keys(&mut app, ":range up\n", now());
    assert_eq!(
        cmds,
        vec![Cmd::Query {
            expr: "up".into(),
            range: true
        }]
    );
    assert!(type_keys(&mut app, ":query\n", now()).is_empty());
    assert!(
        app.flash
            .as_ref()
            .unwrap()
            .0
            .contains("usage: :query PROMQL")
    );
    // Lessons: unknown ids are refused; h and c outside a lesson only explain.
    assert!(type_keys(&mut app, ":lesson nope\n", now()).is_empty());
    assert!(app.flash.as_ref().unwrap().0.contains("no lesson \"nope\""));
    assert!(type_keys(&mut app, "c", now()).is_empty());
    assert!(app.flash.as_ref().unwrap().0.contains("work in a lesson"));
}

#[test]
fn a_lesson_view_sends_hint_and_check_now_to_the_engine() {
    use kdive::sources::lesson_engine::EngineCmd;
    let (mut app, _w) = demo_app();
    let lessons = kdive::lesson_library::load(None).unwrap();
    app.session.lessons = lessons.into_iter().map(std::sync::Arc::new).collect();
    let id = "services/clusterip";
    assert_eq!(
        type_keys(&mut app, &format!(":lesson {id}\n"), now()),
        vec![Cmd::OpenLesson(id.into())]
    );
    assert_eq!(app.view, View::Lesson);
    assert_eq!(app.focus, Focus::Main);
    assert_eq!(
        type_keys(&mut app, "h", now()),
        vec![Cmd::Lesson(EngineCmd::NextHint)]
    );
    assert_eq!(
        type_keys(&mut app, "c", now()),
        vec![Cmd::Lesson(EngineCmd::CheckNow)]
    );
    let text = screen(&mut app, 160, 48, now());
    assert!(
        text.contains("starting lesson services/clusterip"),
        "{text}"
    );
    // Tab completes lesson ids.
    type_keys(&mut app, "\x1b:lesson serv\t", now());
    match &app.input {
        Input::Command(l) => assert_eq!(l.text, "lesson services/clusterip "),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_lesson_step_points_the_tree_at_its_object() {
    use kdive::sources::lesson_engine::EngineUpdate;
    let (mut app, _w) = demo_app();
    let lessons = kdive::lesson_library::load(None).unwrap();
    let lesson = lessons
        .iter()
        .find(|l| l.id == "services/clusterip")
        .unwrap()
        .clone();
    app.session.lessons = vec![std::sync::Arc::new(lesson.clone())];
    type_keys(&mut app, ":lesson services/clusterip\n", now());
    let update = |current| EngineUpdate {
        lesson_id: "services/clusterip".into(),
        current,
        progress: Default::default(),
        results: Default::default(),
        hints_when: Vec::new(),
        error: None,
        finished: false,
    };
    app.update(Msg::Lesson(Box::new(update(0))), now());
    let ns = lesson.namespace.clone();
    let expected = ObjKey::new(Kind::Deployment, Some(&ns), "web").id();
    assert_eq!(app.panes.tree.selected().last(), Some(&expected));
    // The learner moves away; a later update of the same step leaves the tree alone.
    press(&mut app, KeyCode::Tab, now());
    type_keys(&mut app, "g", now());
    let moved = app.panes.tree.selected().to_vec();
    app.update(Msg::Lesson(Box::new(update(0))), now());
    assert_eq!(app.panes.tree.selected(), moved.as_slice());
    // The next step follows its own focus.
    app.update(Msg::Lesson(Box::new(update(1))), now());
    let expected = ObjKey::new(Kind::Service, Some(&ns), "web").id();
    assert_eq!(app.panes.tree.selected().last(), Some(&expected));
}

#[test]
fn a_prometheus_outage_is_named_with_its_start_and_goes_when_it_answers() {
    use kdive::ui::panes::query::QueryResult;
    use kdive_core::metrics::frame::MetricsFrame;
    let (mut app, _w) = demo_app();
    app.session.prometheus = Ok("http://127.0.0.1:9090".into());
    let up = kdive::sources::prometheus::Series {
        labels: [("__name__".to_string(), "up".to_string())].into(),
        points: vec![(now().timestamp() as f64, 1.0)],
    };
    app.update(
        Msg::QueryDone(Box::new(QueryResult {
            query: "up".into(),
            range: None,
            at: now().timestamp(),
            result: Ok(vec![up]),
        })),
        now(),
    );
    // The first failed poll starts the outage; later ones keep its start.
    let failed = |secs| MetricsFrame {
        prometheus: "http://127.0.0.1:9090".into(),
        at: later(secs).timestamp(),
        error: Some("http://127.0.0.1:9090: connection refused".into()),
        ..MetricsFrame::default()
    };
    for secs in [10, 25] {
        app.update(
            Msg::PromReach(Some("connection refused".into())),
            later(secs),
        );
        app.update(Msg::Metrics(Box::new(failed(secs))), later(secs));
    }
    type_keys(&mut app, ":slo\n", later(30));
    let text = screen(&mut app, 160, 48, later(30));
    let banner = "Prometheus unreachable since 09:47:50 (20s ago): connection refused";
    assert_eq!(
        text.matches(banner).count(),
        2,
        "pane and status bar:\n{text}"
    );
    assert!(!text.contains("No SLOs. Pass --slo"), "{text}");
    // A query that fails for the outage keeps the last answer on screen.
    app.update(Msg::PromReach(Some("connection refused".into())), later(31));
    app.update(
        Msg::QueryDone(Box::new(QueryResult {
            query: "up".into(),
            range: None,
            at: later(31).timestamp(),
            result: Err("http://127.0.0.1:9090: connection refused".into()),
        })),
        later(31),
    );
    app.view = View::Query;
    let text = screen(&mut app, 160, 48, later(32));
    assert!(
        text.contains("showing the last answer, from 09:47:40 (32s old)"),
        "{text}"
    );
    assert!(text.contains("up{}"), "{text}");
    // Prometheus answers again: the banner goes everywhere.
    app.update(Msg::PromReach(None), later(40));
    app.update(
        Msg::Metrics(Box::new(MetricsFrame {
            prometheus: "http://127.0.0.1:9090".into(),
            at: later(40).timestamp(),
            ..MetricsFrame::default()
        })),
        later(40),
    );
    app.view = View::Slo;
    let text = screen(&mut app, 160, 48, later(41));
    assert!(!text.contains("unreachable"), "{text}");
    assert!(text.contains("No SLOs. Pass --slo"), "{text}");
}

/// On an EC2 node (the AWS VPC CNI), the pod view goes below the pod IP: the host-side veth
/// the CNI names from the pod's namespace and name, its route and the to-pod rule. Other
/// nodes (the lab's) show nothing derived.
#[test]
fn the_pod_view_shows_the_vpc_cni_host_side_on_ec2_nodes() {
    let (mut app, mut writers) = demo_app();
    type_keys(&mut app, ":pod postgres-0\n", later(1));
    let before = screen(&mut app, 160, 48, later(1));
    assert!(!before.contains("host side"), "{before}");
    let pod = fixture()
        .iter()
        .find(|d| d["kind"] == "Pod" && d["metadata"]["name"] == "postgres-0")
        .cloned()
        .unwrap();
    let node_name = pod["spec"]["nodeName"].as_str().unwrap().to_string();
    let ip = pod["status"]["podIP"].as_str().unwrap().to_string();
    let mut node = fixture()
        .iter()
        .find(|d| d["kind"] == "Node" && d["metadata"]["name"] == node_name.as_str())
        .cloned()
        .unwrap();
    node["spec"]["providerID"] = "aws:///us-east-1a/i-0123456789abcdef0".into();
    node["metadata"]["resourceVersion"] = "6000".into();
    writers.apply_value(node).unwrap();
    app.update(
        Msg::Kube(kdive::sources::kube::KubeMsg::Changed(
            kdive_core::model::kind::Kind::Node,
        )),
        later(2),
    );
    let after = screen(&mut app, 160, 48, later(2));
    let iface = kdive_core::model::vpc_cni::host_veth_name("eni", "demo", "postgres-0");
    assert!(
        after.contains(&format!(
            "host side (AWS VPC CNI): {iface}  route {ip} dev {iface} scope link"
        )),
        "{after}"
    );
}
