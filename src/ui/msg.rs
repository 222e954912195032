//! Everything that can happen to the App (`Msg`) and the effects it asks for (`Cmd`).

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use crate::sources::kube::{KubeMsg, Stores};
use crate::sources::lesson_engine::{EngineCmd, EngineUpdate};
use crate::ui::panes::query::QueryResult;
use kdive_core::metrics::frame::MetricsFrame;

#[derive(Debug, Clone)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Kube(KubeMsg),
    /// Time passed (highlights fade, ages move); sent by the run loop.
    Tick,
    /// SIGTERM, SIGINT or the input stream ending.
    Shutdown,
    /// Another context is being watched: these are its (filling) stores.
    Switched {
        stores: Stores,
        context: String,
    },
    /// The kubeconfig files changed on disk (and still read): reconnect with them.
    KubeconfigChanged,
    /// The contexts of the kubeconfig as last read.
    Contexts(Vec<String>),
    /// An effect reports progress; shown in the status bar.
    Info(String),
    /// An effect failed; shown in the status bar.
    Failed(String),
    /// A poll of Prometheus (SLO burn and the resources behind it).
    Metrics(Box<MetricsFrame>),
    /// Whether the last request to Prometheus reached it: None if it did, else why not
    /// (named: "connection refused", "timed out after 10s", "401 Unauthorized: ...").
    PromReach(Option<String>),
    /// The lesson engine evaluated the open lesson.
    Lesson(Box<EngineUpdate>),
    /// A `:query` or `:range` came back.
    QueryDone(Box<QueryResult>),
    /// The log pane's feed has lines (or an end) to take.
    LogsChanged,
}

/// Effects the App cannot perform itself; the run loop carries them out.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    Quit,
    /// Read the kubeconfig files again and watch this context (new client, new stores).
    SwitchContext(String),
    /// Stop the in-process lab and start it again on the same port, CA and token.
    RestartLab,
    /// Start the lesson engine on this lesson (stopping any other).
    OpenLesson(String),
    /// Tell the running lesson engine something (check now, next hint, answer).
    Lesson(EngineCmd),
    /// Run PromQL: an instant query, or a range over the last hour.
    Query {
        expr: String,
        range: bool,
    },
    /// Stream a container's log into `feed` (stopping any other log stream).
    FollowLogs(LogRequest),
    /// Stop the log stream.
    StopLogs,
}

/// A log the log pane wants: `previous` is the last terminated run (read once), else the
/// current run, followed.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRequest {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub previous: bool,
    pub feed: crate::sources::logs::LogFeed,
}
