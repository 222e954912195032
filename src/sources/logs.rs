//! Container logs through the API server's `pods/log`: the last lines of a container's
//! previous run (crash-loop and OOM evidence) and a followed log for the explorer. Lines
//! are read with a cap on their length and count, so a chatty or hostile container cannot
//! grow kdive's memory.

use futures::{AsyncBufRead, AsyncBufReadExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;

use super::failure::Failure;

/// Longer lines are cut here (and marked), as a terminal could not show them anyway.
pub const MAX_LINE_BYTES: usize = 16 * 1024;
/// What [`previous_tail`] asks for when the caller gives no byte limit.
pub const DEFAULT_LIMIT_BYTES: i64 = 256 * 1024;

/// Why a log could not be read. `Api` carries the server's own sentence, e.g.
/// `previous terminated container "web" in pod "web-1" not found`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("{0}")]
    Api(String),
    #[error("{0}")]
    Failed(Failure),
}

impl LogError {
    fn of(e: &kube::Error) -> LogError {
        match e {
            kube::Error::Api(s) if s.code == 400 || s.code == 404 => {
                LogError::Api(s.message.clone())
            }
            other => LogError::Failed(Failure::of(other)),
        }
    }
}

/// The last `tail` lines of `container`'s previous (last terminated) run, at most
/// `limit_bytes` bytes of them (default 256 KiB). `container` may be omitted for a pod
/// with one container.
pub async fn previous_tail(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    tail: usize,
    limit_bytes: Option<i64>,
) -> Result<Vec<String>, LogError> {
    let params = LogParams {
        container: container.map(str::to_string),
        previous: true,
        tail_lines: Some(tail.min(i64::MAX as usize) as i64),
        limit_bytes: Some(limit_bytes.unwrap_or(DEFAULT_LIMIT_BYTES).max(1)),
        ..LogParams::default()
    };
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let reader = api
        .log_stream(pod, &params)
        .await
        .map_err(|e| LogError::of(&e))?;
    // The server already sends at most `tail` lines; the ring keeps that true of any server.
    let mut lines = std::collections::VecDeque::with_capacity(tail.min(1024));
    let mut reader = BoundedLines::new(Box::pin(reader));
    while let Some(line) = reader
        .next_line()
        .await
        .map_err(|e| LogError::Failed(Failure::Other(e.to_string())))?
    {
        if tail == 0 {
            continue;
        }
        if lines.len() == tail {
            lines.pop_front();
        }
        lines.push_back(line);
    }
    Ok(lines.into())
}

/// A log stream opened with `params` (follow, previous, tail...), read line by line.
pub async fn open(
    client: &kube::Client,
    namespace: &str,
    pod: &str,
    params: &LogParams,
) -> Result<BoundedLines, LogError> {
    let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let reader = api
        .log_stream(pod, params)
        .await
        .map_err(|e| LogError::of(&e))?;
    Ok(BoundedLines::new(Box::pin(reader)))
}

/// Lines from a byte stream, each cut at [`MAX_LINE_BYTES`] (the rest of it is skipped).
pub struct BoundedLines {
    reader: std::pin::Pin<Box<dyn AsyncBufRead + Send>>,
}

impl BoundedLines {
    pub fn new(reader: std::pin::Pin<Box<dyn AsyncBufRead + Send>>) -> BoundedLines {
        BoundedLines { reader }
    }

    /// The next line without its newline; `None` at the end of the stream.
    pub async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        let mut line: Vec<u8> = Vec::new();
        let mut cut = false;
        loop {
            let buf = self.reader.fill_buf().await?;
            if buf.is_empty() {
                return Ok((!line.is_empty()).then(|| finish(line, cut)));
            }
            let (take, done) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (i, true),
                None => (buf.len(), false),
            };
            let room = MAX_LINE_BYTES.saturating_sub(line.len());
            line.extend_from_slice(&buf[..take.min(room)]);
            cut |= take > room;
            let consumed = if done { take + 1 } else { take };
            self.reader.consume_unpin(consumed);
            if done {
                return Ok(Some(finish(line, cut)));
            }
        }
    }
}

fn finish(line: Vec<u8>, cut: bool) -> String {
    let mut s = String::from_utf8_lossy(&line).into_owned();
    if s.ends_with('\r') {
        s.pop();
    }
    if cut {
        s.push_str(" …[line cut]");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_cut_and_the_rest_skipped() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let text = format!("a\r\n{long}\nb");
        let reader = futures::io::Cursor::new(text.into_bytes());
        let mut lines =
            BoundedLines::new(Box::pin(futures::io::BufReader::with_capacity(7, reader)));
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("a"));
        let cut = lines.next_line().await.unwrap().unwrap();
        assert!(cut.ends_with("…[line cut]") && cut.len() < MAX_LINE_BYTES + 20);
        assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("b"));
        assert_eq!(lines.next_line().await.unwrap(), None);
    }
}

/// How a followed log stream ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEnd {
    /// The server closed it: the container stopped (or a previous run's log was read).
    Ended,
    /// It could not be opened or broke, in the server's or the network's words.
    Failed(String),
}

#[derive(Debug, Default)]
struct FeedInner {
    lines: std::collections::VecDeque<String>,
    /// Lines dropped because the reader of the feed fell behind.
    dropped: u64,
    end: Option<FeedEnd>,
    /// A notification is out and the feed has not been drained since.
    notified: bool,
}

/// Lines read from a log stream, waiting for the explorer to take them: a bounded queue
/// shared by the reading task (which pushes, and notifies only when the queue was idle)
/// and the App (which drains it when notified). Notify, then pull: a fast log cannot
/// flood the App's message queue.
#[derive(Clone, Default)]
pub struct LogFeed(std::sync::Arc<std::sync::Mutex<FeedInner>>);

/// What one drain of a feed took.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drained {
    pub lines: Vec<String>,
    pub dropped: u64,
    pub end: Option<FeedEnd>,
}

impl std::fmt::Debug for LogFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogFeed")
    }
}

impl PartialEq for LogFeed {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl LogFeed {
    /// At most this many lines wait in a feed; older ones are dropped first.
    pub const CAP: usize = 10_000;

    fn inner(&self) -> std::sync::MutexGuard<'_, FeedInner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds lines; true when the App should be told (it was not already).
    pub fn push(&self, lines: impl IntoIterator<Item = String>) -> bool {
        let mut inner = self.inner();
        for line in lines {
            if inner.lines.len() == Self::CAP {
                inner.lines.pop_front();
                inner.dropped += 1;
            }
            inner.lines.push_back(line);
        }
        !std::mem::replace(&mut inner.notified, true)
    }

    /// Records the end of the stream; true when the App should be told.
    pub fn finish(&self, end: FeedEnd) -> bool {
        let mut inner = self.inner();
        inner.end = Some(end);
        !std::mem::replace(&mut inner.notified, true)
    }

    /// Takes everything waiting.
    pub fn drain(&self) -> Drained {
        let mut inner = self.inner();
        inner.notified = false;
        Drained {
            lines: std::mem::take(&mut inner.lines).into(),
            dropped: std::mem::take(&mut inner.dropped),
            end: inner.end.take(),
        }
    }
}

/// Opens the log and moves its lines into `feed` until the stream ends; `notify` is
/// called when the feed has news for an idle reader.
pub async fn follow_into(
    client: kube::Client,
    namespace: String,
    pod: String,
    params: LogParams,
    feed: LogFeed,
    notify: impl Fn() + Send,
) {
    let mut lines = match open(&client, &namespace, &pod, &params).await {
        Ok(l) => l,
        Err(e) => {
            if feed.finish(FeedEnd::Failed(e.to_string())) {
                notify();
            }
            return;
        }
    };
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                if feed.push([line]) {
                    notify();
                }
            }
            Ok(None) => {
                if feed.finish(FeedEnd::Ended) {
                    notify();
                }
                return;
            }
            Err(e) => {
                if feed.finish(FeedEnd::Failed(e.to_string())) {
                    notify();
                }
                return;
            }
        }
    }
}
