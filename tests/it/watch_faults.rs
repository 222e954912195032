//! A server that sends objects its own schema forbids (version skew, a broken aggregated
//! API, an old lab): each one is left out and named, with the field that did not decode,
//! and the watch goes on. A real API server refuses to store such objects, so a small
//! fault-injecting server stands in for one that sends them anyway.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::response::Response;
use futures::StreamExt;
use kdive::sources::kube::{self as ksrc, KubeMsg, Scope};
use kdive::ui::track::WatchStats;
use kdive_core::model::kind::Kind;
use serde_json::{Value, json};

fn config_map(name: &str, rv: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "resourceVersion": rv,
            "uid": format!("uid-{name}")},
        "data": data})
}

#[derive(Default)]
struct Faults {
    /// The ConfigMap watch has sent its events (later watches only wait).
    sent: AtomicBool,
}

async fn serve(State(f): State<Arc<Faults>>, OriginalUri(uri): OriginalUri) -> Response {
    let path = uri.path().to_string();
    let query = uri.query().unwrap_or("");
    let watching = query
        .split('&')
        .any(|p| p == "watch=true" || p == "watch=1");
    let configmaps = path == "/api/v1/configmaps";
    if !watching {
        let items = match configmaps {
            true => vec![
                config_map("good", "5", json!({"k": "v"})),
                config_map("bad", "6", json!({"k": {"nested": "map"}})),
            ],
            false => vec![],
        };
        let list = json!({"apiVersion": "v1", "kind": "List",
            "metadata": {"resourceVersion": "10"}, "items": items});
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from(list.to_string()))
            .unwrap();
    }
    let events: Vec<Value> = if configmaps && !f.sent.swap(true, Ordering::SeqCst) {
        vec![
            // The bad one is fixed, the good one broken, then a new one: the watch must
            // survive the broken event to deliver the third.
            json!({"type": "MODIFIED", "object": config_map("bad", "11", json!({"k": "fixed"}))}),
            json!({"type": "MODIFIED", "object": config_map("good", "12", json!({"k": 7}))}),
            json!({"type": "ADDED", "object": config_map("third", "13", json!({"k": "v"}))}),
        ]
    } else {
        vec![]
    };
    let lines = futures::stream::iter(
        events
            .into_iter()
            .map(|e| Ok::<_, std::io::Error>(format!("{e}\n"))),
    )
    .chain(futures::stream::pending());
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(lines))
        .unwrap()
}

/// The fault-injecting server, and a client of it.
async fn faulty_server() -> (kube::Client, tokio::task::JoinHandle<std::io::Result<()>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .fallback(serve)
        .with_state(Arc::new(Faults::default()));
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let config = kube::Config::new(url.parse().unwrap());
    (kube::Client::try_from(config).unwrap(), server)
}

fn names(stores: &ksrc::Stores) -> BTreeSet<String> {
    stores
        .config_maps
        .state()
        .iter()
        .filter_map(|c| c.metadata.name.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_objects_are_left_out_and_named_and_the_watch_goes_on() {
    let (client, server) = faulty_server().await;
    let (stores, writers) = ksrc::stores();
    let stats: Arc<Mutex<WatchStats>> = Arc::default();
    let listed: Arc<Mutex<Vec<ksrc::Skipped>>> = Arc::default();
    let (seen, seen_listed) = (stats.clone(), listed.clone());
    let sink: ksrc::Sink = Arc::new(move |m| {
        let mut s = seen.lock().unwrap();
        match m {
            KubeMsg::Skipped {
                kind: Kind::ConfigMap,
                relisted,
                objects,
            } => {
                if relisted {
                    seen_listed.lock().unwrap().extend(objects.clone());
                }
                s.skipped(relisted, objects)
            }
            KubeMsg::Note(n) if n.kind == Kind::ConfigMap => s.note(n),
            _ => {}
        }
    });
    let tasks = ksrc::spawn_watches(client, &Scope::All, writers, sink, Duration::from_secs(60));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let want: BTreeSet<String> = ["bad", "third"].map(String::from).into();
    while names(&stores) != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "store never became {want:?}: {:?}",
            names(&stores)
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // The list left "bad" out; its fix took it in; "good" broke and left; the watch went on.
    let listed = listed.lock().unwrap().clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].name, "bad");
    assert_eq!(
        listed[0].error,
        "data.k: invalid type: map, expected a string"
    );
    let s = stats.lock().unwrap();
    let skipped: Vec<_> = s.skipped.values().collect();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].name, "good");
    assert_eq!(skipped[0].namespace.as_deref(), Some("default"));
    assert_eq!(skipped[0].resource_version, "12");
    assert_eq!(
        skipped[0].error,
        "data.k: invalid type: integer `7`, expected a string"
    );
    assert!(s.lists >= 1);

    for t in tasks {
        t.abort();
    }
    server.abort();
}

#[test]
fn a_list_names_each_object_it_left_out_and_replaces_the_set() {
    // The set follows the server: a relist replaces it, a decoded event clears one entry.
    let mut s = WatchStats::default();
    let skip = |name: &str| ksrc::Skipped {
        kind: Kind::ConfigMap,
        namespace: Some("default".into()),
        name: name.into(),
        resource_version: "1".into(),
        error: "data.k: invalid type: map, expected a string".into(),
        at: chrono::Utc::now(),
    };
    s.skipped(true, vec![skip("a"), skip("b")]);
    s.skipped(false, vec![skip("c")]);
    assert_eq!(s.skipped.len(), 3);
    s.note(ksrc::WatchNote {
        kind: Kind::ConfigMap,
        ty: ksrc::NoteType::Modified,
        namespace: Some("default".into()),
        name: "b".into(),
        resource_version: "2".into(),
        at: chrono::Utc::now(),
    });
    assert_eq!(s.skipped.len(), 2);
    s.skipped(true, vec![skip("z")]);
    let left: Vec<_> = s.skipped.values().map(|o| o.name.as_str()).collect();
    assert_eq!(left, ["z"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_that_hears_nothing_is_named_stalled_and_started_over() {
    // Its watches answer and then say nothing, not even a bookmark (as a SIGSTOPped
    // server would): after the stall window the watch is restarted with a fresh list.
    let (client, server) = faulty_server().await;
    let (_stores, writers) = ksrc::stores();
    let seen: Arc<Mutex<Vec<KubeMsg>>> = Arc::default();
    let log = seen.clone();
    let sink: ksrc::Sink = Arc::new(move |m| log.lock().unwrap().push(m));
    let tasks = ksrc::spawn_watches(client, &Scope::All, writers, sink, Duration::from_secs(1));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let namespace_lists = |seen: &[KubeMsg]| {
        seen.iter()
            .filter(|m| {
                matches!(m, KubeMsg::Note(n) if n.kind == Kind::Namespace
                && n.ty == ksrc::NoteType::Listed)
            })
            .count()
    };
    loop {
        let stalled = {
            let seen = seen.lock().unwrap();
            let stalled = seen.iter().find_map(|m| match m {
                KubeMsg::State(Kind::Namespace, ksrc::WatchState::Reconnecting { error, .. }) => {
                    Some(error.clone())
                }
                _ => None,
            });
            stalled.filter(|_| namespace_lists(&seen) >= 2)
        };
        if let Some(error) = stalled {
            assert_eq!(
                error,
                "the server stopped answering: nothing for 1s, not even a bookmark"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no stall and relist: {:?}",
            seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for t in tasks {
        t.abort();
    }
    server.abort();
}

#[test]
fn the_stall_window_is_twice_what_the_server_promises() {
    assert_eq!(
        ksrc::stall_window(Some(Duration::from_secs(60))),
        Duration::from_secs(120)
    );
    // Elsewhere the server must at least close the watch at kube-rs's 290 s timeout.
    assert_eq!(ksrc::stall_window(None), Duration::from_secs(580));
}
