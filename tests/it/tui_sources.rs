//! The explorer's watches against the lab over HTTPS: lists fill the stores, watch events
//! keep them current, and when the API server goes away and comes back (same port, CA and
//! token, different objects) the watches report reconnecting, then resync without ghosts.

use crate::support as common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestLab;
use k8s_openapi::api::core::v1::Pod;
use kdive::sources::kube::{self as ksrc, KubeMsg, NoteType, Scope, Stores, WatchState};
use kdive_core::model::kind::Kind;
use kdive_lab::{self as lab, LabOptions};
use kube::api::{Api, PostParams};

type Seen = Arc<Mutex<Vec<KubeMsg>>>;

fn pod(name: &str) -> Pod {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": "w"},
            "managedFields": [{"manager": "test", "operation": "Apply"}],
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "1"}},
        "spec": {"containers": [{"name": "c", "image": "kdive/demo-web:1.4"}]}
    }))
    .unwrap()
}

fn pod_names(stores: &Stores) -> BTreeSet<String> {
    stores
        .pods
        .state()
        .iter()
        .filter_map(|p| p.metadata.name.clone())
        .collect()
}

async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn all_in_state(seen: &Seen, pred: impl Fn(&WatchState) -> bool) -> bool {
    let seen = seen.lock().unwrap();
    Kind::ALL.iter().all(|k| {
        seen.iter()
            .rev()
            .find_map(|m| match m {
                KubeMsg::State(kind, s) if kind == k => Some(pred(s)),
                _ => None,
            })
            .unwrap_or(false)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_fill_stores_follow_changes_and_resync_after_a_restart() {
    let opts = LabOptions {
        simulate: false,
        seed: 3,
        ..LabOptions::default()
    };
    let first = TestLab::start_with(opts.clone()).await;
    let client = first.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for name in ["a", "b", "c"] {
        pods.create(&PostParams::default(), &pod(name))
            .await
            .unwrap();
    }

    let seen: Seen = Arc::default();
    let sink: ksrc::Sink = {
        let seen = seen.clone();
        Arc::new(move |m| seen.lock().unwrap().push(m))
    };
    let (stores, writers) = ksrc::stores();
    let handles = ksrc::spawn_watches(
        client.clone(),
        &Scope::All,
        writers,
        sink,
        ksrc::stall_window(None),
    );
    until("all watches synced", || {
        all_in_state(&seen, |s| *s == WatchState::Synced)
    })
    .await;
    assert_eq!(pod_names(&stores), ["a", "b", "c"].map(String::from).into());
    // Trimmed on the way in.
    let a = stores
        .pods
        .state()
        .into_iter()
        .find(|p| p.metadata.name.as_deref() == Some("a"))
        .unwrap();
    assert!(a.metadata.managed_fields.is_none());
    let ann = a.metadata.annotations.clone().unwrap();
    assert_eq!(ann.keys().collect::<Vec<_>>(), ["keep"]);

    pods.create(&PostParams::default(), &pod("d"))
        .await
        .unwrap();
    pods.delete("a", &Default::default()).await.unwrap();
    until("d added and a deleted", || {
        pod_names(&stores) == ["b", "c", "d"].map(String::from).into()
    })
    .await;
    {
        let seen = seen.lock().unwrap();
        let notes: Vec<(NoteType, String)> = seen
            .iter()
            .filter_map(|m| match m {
                KubeMsg::Note(n) if n.kind == Kind::Pod && n.ty != NoteType::Bookmark => {
                    Some((n.ty, n.name.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(notes.first(), Some(&(NoteType::Listed, "3".to_string())));
        assert!(notes.contains(&(NoteType::Added, "d".into())), "{notes:?}");
        assert!(
            notes.contains(&(NoteType::Deleted, "a".into())),
            "{notes:?}"
        );
    }

    // The API server goes away: every watch says so.
    let addr = first.lab.addr;
    let identity = first.lab.identity.clone();
    let dir = first.dir;
    first.lab.shutdown().await;
    until("all watches reconnecting", || {
        all_in_state(&seen, |s| matches!(s, WatchState::Reconnecting { .. }))
    })
    .await;
    assert_eq!(
        pod_names(&stores).len(),
        3,
        "a down server keeps the last known state"
    );

    // It comes back on the same port with the same CA and token, holding other pods.
    let second = lab::start(LabOptions {
        addr,
        identity: Some(identity),
        ..opts
    })
    .await
    .expect("the lab restarts on its port");
    let pods2: Api<Pod> = Api::namespaced(client.clone(), "default");
    for name in ["x", "y"] {
        pods2
            .create(&PostParams::default(), &pod(name))
            .await
            .unwrap();
    }
    until("resynced to the new server's pods, with no ghosts", || {
        pod_names(&stores) == ["x", "y"].map(String::from).into()
    })
    .await;
    until("all watches synced again", || {
        all_in_state(&seen, |s| *s == WatchState::Synced)
    })
    .await;
    for h in handles {
        h.abort();
    }
    second.shutdown().await;
    drop(dir);
}
