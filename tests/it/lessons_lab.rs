//! The fundamentals course on the lab, through the real `kdive` binary: every lesson lints
//! clean; after setup each step's checks fail until its solution runs, then pass; reset
//! leaves nothing of the lesson behind.
use crate::support as common;

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use common::TestLab;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::Value;

const KDIVE: &str = env!("CARGO_BIN_EXE_kdive");

async fn kdive(kubeconfig: &Path, state: &Path, args: &[&str]) -> Output {
    let run = tokio::process::Command::new(KDIVE)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("KDIVE_STATE_DIR", state)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .unwrap_or_else(|_| panic!("kdive {args:?} finished within 120s"))
        .expect("kdive runs")
}

fn text(o: &Output) -> String {
    format!(
        "exit {}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Runs one lesson end to end; returns what went wrong (empty: nothing).
async fn run_lesson(lab: &TestLab, client: kube::Client, id: String) -> Vec<String> {
    let mut problems = Vec::new();
    let state = tempfile::tempdir().expect("state dir");
    let kc = lab.kubeconfig.as_path();
    let st = state.path();
    let show = kdive(kc, st, &["lesson", "show", &id]).await;
    let steps: Vec<String> = String::from_utf8_lossy(&show.stdout)
        .lines()
        .filter_map(|l| l.trim_end().strip_suffix(']'))
        .filter_map(|l| l.rsplit_once('[').map(|(_, s)| s.to_string()))
        .collect();
    assert!(
        steps.len() >= 2,
        "{id}: several steps expected, show said:\n{}",
        text(&show)
    );
    let start = kdive(kc, st, &["lesson", "start", &id, "--yes"]).await;
    if !start.status.success() {
        return vec![format!("{id}: start failed:\n{}", text(&start))];
    }
    for step in &steps {
        let before = kdive(kc, st, &["lesson", "check", &id, "--step", step]).await;
        if before.status.code() != Some(1) {
            problems.push(format!(
                "{id}/{step}: checks should fail before the solution:\n{}",
                text(&before)
            ));
        }
        let solve = kdive(
            kc,
            st,
            &[
                "lesson",
                "solve",
                &id,
                "--step",
                step,
                "--yes",
                "--timeout",
                "60",
            ],
        )
        .await;
        if !solve.status.success() {
            problems.push(format!(
                "{id}/{step}: the solution did not make the checks pass:\n{}",
                text(&solve)
            ));
            break;
        }
        // A one-shot check afterwards agrees (observe sightings are in the saved progress).
        let after = kdive(
            kc,
            st,
            &["lesson", "check", &id, "--step", step, "-o", "json"],
        )
        .await;
        let doc: Value = serde_json::from_slice(&after.stdout).unwrap_or(Value::Null);
        if !after.status.success() || doc["passed"] != Value::Bool(true) {
            problems.push(format!("{id}/{step}: check after solve:\n{}", text(&after)));
        }
    }
    let reset = kdive(kc, st, &["lesson", "reset", &id]).await;
    if !reset.status.success() {
        problems.push(format!("{id}: reset failed:\n{}", text(&reset)));
    }
    problems.extend(leftovers(&client, &id).await);
    problems
}

/// Anything of the lesson still in the cluster: its namespace, objects with its label,
/// volumes of its claims.
async fn leftovers(client: &kube::Client, id: &str) -> Vec<String> {
    let ns = kdive_core::lesson::format::default_namespace(id);
    let label = kdive_core::lesson::manifests::label_value(id);
    let mut left = Vec::new();
    for kind in kdive_core::kinds::RESOURCES {
        if !kind.served_by_lab {
            continue;
        }
        let ar = kdive::sources::lesson::api_resource(kind);
        let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
        let list = api.list(&ListParams::default()).await.expect("list");
        for o in list.items {
            let m = &o.metadata;
            let labelled = m
                .labels
                .as_ref()
                .and_then(|l| l.get(kdive_core::lesson::manifests::LESSON_LABEL))
                == Some(&label);
            let in_ns = m.namespace.as_deref() == Some(ns.as_str())
                || (kind.kind == "Namespace" && m.name.as_deref() == Some(ns.as_str()));
            let claimed = o
                .data
                .pointer("/spec/claimRef/namespace")
                .and_then(Value::as_str)
                == Some(ns.as_str());
            if labelled || in_ns || claimed {
                left.push(format!(
                    "{id}: left behind: {} {}",
                    kind.kind,
                    m.name.as_deref().unwrap_or("?")
                ));
            }
        }
    }
    left
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lesson_starts_unsolved_is_solved_by_its_solutions_and_cleans_up() {
    // Eleven lessons at once on one lab: nothing else heavy beside it.
    let _heavy = common::heavy_permit();
    let lab = Arc::new(TestLab::demo(5).await);
    let state = tempfile::tempdir().expect("state dir");
    let lint = kdive(&lab.kubeconfig, state.path(), &["lesson", "lint"]).await;
    assert!(lint.status.success(), "{}", text(&lint));
    let list = kdive(
        &lab.kubeconfig,
        state.path(),
        &["lesson", "list", "-o", "json"],
    )
    .await;
    let lessons: Vec<Value> = serde_json::from_slice(&list.stdout).expect("list -o json");
    let ids: Vec<String> = lessons
        .iter()
        .filter_map(|l| l["id"].as_str().map(str::to_string))
        .collect();
    assert_eq!(ids.len(), 11, "one lesson per topic: {ids:?}");
    let client = lab.client().await;
    // Lessons live in their own namespaces, so they run side by side on one lab.
    let mut tasks = Vec::new();
    for id in ids {
        let (lab, client) = (lab.clone(), client.clone());
        tasks.push(tokio::spawn(
            async move { run_lesson(&lab, client, id).await },
        ));
    }
    let mut problems = Vec::new();
    for t in tasks {
        problems.extend(t.await.expect("lesson task"));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    let ns: Api<DynamicObject> = Api::all_with(
        client.clone(),
        &kdive::sources::lesson::api_resource(kdive_core::kinds::lookup("Namespace").unwrap()),
    );
    let names: Vec<String> = ns
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|n| n.metadata.name)
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("kdive-")), "{names:?}");
}

/// The learner's path: act with the real kubectl while `kdive lesson check --watch` runs;
/// the observe check sees the change; answers typed with --answer are graded against live
/// fields and kept in the progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_acts_with_kubectl_while_check_watches() {
    if !common::have("kubectl") {
        return;
    }
    let lab = TestLab::demo(6).await;
    let state = tempfile::tempdir().expect("state dir");
    let (kc, st) = (lab.kubeconfig.clone(), state.path().to_path_buf());
    let id = "control-plane/watch-loops";
    let ns = "kdive-control-plane-watch-loops";
    let start = kdive(&kc, &st, &["lesson", "start", id, "--yes"]).await;
    assert!(start.status.success(), "{}", text(&start));
    // Before anything happened, the observe check has not seen it.
    let before = kdive(&kc, &st, &["lesson", "check", id, "--step", "delete-pods"]).await;
    assert_eq!(before.status.code(), Some(1), "{}", text(&before));
    assert!(
        String::from_utf8_lossy(&before.stdout).contains("not seen yet"),
        "{}",
        text(&before)
    );
    // Start watching, and act once it says it is watching (it has listed the objects).
    let mut watcher = tokio::process::Command::new(KDIVE)
        .args([
            "lesson",
            "check",
            id,
            "--step",
            "delete-pods",
            "--watch",
            "60",
        ])
        .env("KUBECONFIG", &kc)
        .env("KDIVE_STATE_DIR", &st)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("kdive runs");
    let mut stderr = tokio::io::BufReader::new(watcher.stderr.take().expect("stderr"));
    let mut line = String::new();
    use tokio::io::AsyncBufReadExt;
    tokio::time::timeout(Duration::from_secs(30), stderr.read_line(&mut line))
        .await
        .expect("check starts watching within 30s")
        .expect("read stderr");
    assert!(line.starts_with("watching for up to 60s"), "{line}");
    let del = lab
        .kubectl(&["-n", ns, "delete", "pod", "-l", "app=web", "--wait=false"])
        .await
        .expect("kubectl");
    common::ok(&del);
    let watched = tokio::time::timeout(Duration::from_secs(90), watcher.wait_with_output())
        .await
        .expect("check returns")
        .expect("check ran");
    assert!(watched.status.success(), "{}", text(&watched));
    // The sighting is saved: a later one-shot check passes without seeing it again.
    let later = kdive(&kc, &st, &["lesson", "check", id, "--step", "delete-pods"]).await;
    assert!(later.status.success(), "{}", text(&later));

    let id = "networking/pod-networking";
    let ns = "kdive-networking-pod-networking";
    let start = kdive(&kc, &st, &["lesson", "start", id, "--yes"]).await;
    assert!(start.status.success(), "{}", text(&start));
    let run = lab
        .kubectl(&["-n", ns, "run", "a", "--image=nginx:1.27"])
        .await
        .expect("kubectl");
    common::ok(&run);
    let ran = kdive(
        &kc,
        &st,
        &["lesson", "check", id, "--step", "run", "--watch", "30"],
    )
    .await;
    assert!(ran.status.success(), "{}", text(&ran));
    let ip = common::ok(
        &lab.kubectl(&[
            "-n",
            ns,
            "get",
            "pod",
            "a",
            "-o",
            "jsonpath={.status.podIP}",
        ])
        .await
        .expect("kubectl"),
    );
    let wrong = kdive(
        &kc,
        &st,
        &[
            "lesson",
            "check",
            id,
            "--step",
            "read-ip",
            "--answer",
            "pod-ip=10.0.0.0",
        ],
    )
    .await;
    assert_eq!(wrong.status.code(), Some(1), "{}", text(&wrong));
    assert!(
        String::from_utf8_lossy(&wrong.stdout)
            .contains("answer: expected the value of pod/a status.podIP, got 10.0.0.0"),
        "{}",
        text(&wrong)
    );
    let right = kdive(
        &kc,
        &st,
        &[
            "lesson",
            "check",
            id,
            "--step",
            "read-ip",
            "--answer",
            &format!("pod-ip={ip}"),
        ],
    )
    .await;
    assert!(right.status.success(), "{}", text(&right));
    let again = kdive(&kc, &st, &["lesson", "check", id, "--step", "read-ip"]).await;
    assert!(
        again.status.success(),
        "the answer is kept: {}",
        text(&again)
    );
    for id in ["control-plane/watch-loops", "networking/pod-networking"] {
        let reset = kdive(&kc, &st, &["lesson", "reset", id]).await;
        assert!(reset.status.success(), "{}", text(&reset));
    }
}

/// Bad lesson files are bad input: exit 2 and a message with file:line.
#[tokio::test]
async fn lint_names_file_and_line_of_a_broken_lesson() {
    let dir = tempfile::tempdir().expect("dir");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/lessons-broken/unknown-operator.md"
    );
    let out = kdive(dir.path(), dir.path(), &["lesson", "lint", fixture]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown-operator.md:15: step step-one: check c: spec.replicas: unknown operator `nearly`"), "{err}");
    let ok = kdive(
        dir.path(),
        dir.path(),
        &[
            "lesson",
            "lint",
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/lessons"),
        ],
    )
    .await;
    assert!(ok.status.success(), "{}", text(&ok));
}

/// The engine behind the lesson pane: it re-evaluates on watch changes, latches a step
/// when its checks pass, moves to the next one, and saves the progress.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_advances_when_a_steps_checks_pass() {
    let lab = TestLab::demo(8).await;
    let state = tempfile::tempdir().expect("state dir");
    let id = "control-plane/watch-loops";
    let start = kdive(
        &lab.kubeconfig,
        state.path(),
        &["lesson", "start", id, "--yes"],
    )
    .await;
    assert!(start.status.success(), "{}", text(&start));
    // The file the CLI wrote at start (KDIVE_STATE_DIR/progress/<context>.json).
    let progress_file = state.path().join("progress").join("kdive-lab.json");
    let lesson = Arc::new(
        kdive::lesson_library::load(None)
            .expect("lessons")
            .into_iter()
            .find(|l| l.id == id)
            .expect("lesson"),
    );
    let client = lab.client().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let (task, cmds) = kdive::sources::lesson_engine::spawn(
        client.clone(),
        lesson.clone(),
        progress_file.clone(),
        move |u| {
            let _ = tx.send(u);
        },
    );
    let first = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("a first update")
        .expect("update");
    assert_eq!(first.current, 0);
    assert!(first.error.is_none(), "{:?}", first.error);
    assert_eq!(
        first.results["delete-pods"][0].outcome,
        kdive_core::lesson::Outcome::Fail
    );
    // The learner's action, as kubectl would do it.
    let pods: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "kdive-control-plane-watch-loops",
        &kdive::sources::lesson::api_resource(kdive_core::kinds::lookup("Pod").unwrap()),
    );
    pods.delete_collection(
        &Default::default(),
        &ListParams::default().labels("app=web"),
    )
    .await
    .expect("delete pods");
    let advanced = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(u) = rx.recv().await {
            if u.current == 1 {
                return u;
            }
        }
        panic!("engine stopped")
    })
    .await
    .expect("the engine moves to step 2 within 30s");
    assert_eq!(
        advanced.progress.steps["delete-pods"].status,
        Some(kdive_core::lesson::StepStatus::Done)
    );
    // Hints are revealed on request and kept in the progress.
    cmds.send(kdive::sources::lesson_engine::EngineCmd::NextHint)
        .unwrap();
    let hinted = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(u) = rx.recv().await {
            if u.progress
                .steps
                .get("fight")
                .is_some_and(|s| s.hints_shown == 1)
            {
                return u;
            }
        }
        panic!("engine stopped")
    })
    .await
    .expect("hint revealed");
    assert_eq!(hinted.current, 1);
    cmds.send(kdive::sources::lesson_engine::EngineCmd::Stop)
        .unwrap();
    task.await.expect("engine stops");
    let saved = kdive::sources::lesson::load_progress_file(&progress_file).expect("progress");
    assert_eq!(
        saved.lessons[id].steps["delete-pods"].status,
        Some(kdive_core::lesson::StepStatus::Done)
    );
    assert_eq!(saved.lessons[id].steps["fight"].hints_shown, 1);
}
