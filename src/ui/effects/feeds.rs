//! The explorer's non-kube feeds: the SLO poller, `:query`, and the lesson engine. Each
//! runs in its own task and reports with messages.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::sources::lesson_engine::{self, EngineCmd};
use crate::sources::prometheus::Prometheus;
use crate::sources::slo_poll::{self, PollConfig};
use crate::ui::msg::Msg;
use crate::ui::panes::query::QueryResult;
use kdive_core::lesson::format::Lesson;

/// Polls SLOs (those the rules record; the lab's Prometheus loads the demo's) every 15 s.
pub fn spawn_slo_poller(prom: Prometheus, tx: UnboundedSender<Msg>) -> tokio::task::JoinHandle<()> {
    let cfg = PollConfig {
        slos: Vec::new(),
        discover: true,
        interval: Duration::from_secs(15),
        range_seconds: 3600.0,
        width: 100,
    };
    slo_poll::spawn(prom, cfg, move |frame, outage| {
        tx.send(Msg::PromReach(outage)).is_ok() && tx.send(Msg::Metrics(Box::new(frame))).is_ok()
    })
}

/// Runs one `:query` (instant) or `:range` (last hour, a step for ~200 points).
pub fn spawn_query(prom: Prometheus, expr: String, range: bool, tx: UnboundedSender<Msg>) {
    tokio::spawn(async move {
        let now = chrono::Utc::now().timestamp();
        let (result, span) = if range {
            let (start, step) = (now - 3600, 18.0);
            (
                prom.range(&expr, start, now, step).await,
                Some((start, now, step)),
            )
        } else {
            (prom.instant(&expr, None).await, None)
        };
        let _ = tx.send(Msg::PromReach(
            result.as_ref().err().and_then(|e| e.outage()),
        ));
        let _ = tx.send(Msg::QueryDone(Box::new(QueryResult {
            query: expr,
            range: span,
            at: now,
            result: result.map_err(|e| e.to_string()),
        })));
    });
}

/// The running lesson engine, if a lesson is open.
#[derive(Default)]
pub struct LessonRunner {
    engine: Option<(tokio::task::JoinHandle<()>, UnboundedSender<EngineCmd>)>,
}

impl LessonRunner {
    pub fn open(
        &mut self,
        lesson: Arc<Lesson>,
        client: kube::Client,
        progress_file: PathBuf,
        tx: UnboundedSender<Msg>,
    ) {
        self.stop();
        let report = move |u| {
            let _ = tx.send(Msg::Lesson(Box::new(u)));
        };
        self.engine = Some(lesson_engine::spawn(client, lesson, progress_file, report));
    }

    pub fn send(&self, cmd: EngineCmd) {
        if let Some((_, tx)) = &self.engine {
            let _ = tx.send(cmd);
        }
    }

    pub fn stop(&mut self) {
        if let Some((task, tx)) = self.engine.take() {
            let _ = tx.send(EngineCmd::Stop);
            task.abort();
        }
    }
}

/// The log pane's one stream: opening another (or stopping) ends the one before.
#[derive(Default)]
pub struct LogStream {
    task: Option<tokio::task::JoinHandle<()>>,
}

impl LogStream {
    /// The last 10,000 lines of the run, then (for the current run) the lines it writes.
    pub fn open(
        &mut self,
        req: crate::ui::msg::LogRequest,
        client: kube::Client,
        tx: UnboundedSender<Msg>,
    ) {
        self.stop();
        let params = kube::api::LogParams {
            container: Some(req.container),
            follow: !req.previous,
            previous: req.previous,
            tail_lines: Some(crate::sources::logs::LogFeed::CAP as i64),
            ..Default::default()
        };
        self.task = Some(tokio::spawn(crate::sources::logs::follow_into(
            client,
            req.namespace,
            req.pod,
            params,
            req.feed,
            move || {
                let _ = tx.send(Msg::LogsChanged);
            },
        )));
    }

    pub fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
