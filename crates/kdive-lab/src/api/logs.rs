//! `GET pods/{name}/log`: the simulated container's log (see `sim::logs`), with the real
//! API's options: container, previous, tailLines, limitBytes, sinceSeconds/sinceTime,
//! timestamps and follow. The body is streamed in bounded chunks; a follow ends when the
//! run ends, the pod goes away or the client hangs up.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use k8s_openapi::api::core::v1::{Container, Pod};
use kdive_core::field_errors::{BadValue, FieldError};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::ApiState;
use super::query::Query;
use super::status::ApiError;
use crate::resources::ResourceId;
use crate::sim::catalog::Catalog;
use crate::sim::logs::{LogPlan, Run, rfc3339_nano, select_run};
use crate::store::{Event, EventType, Store};

/// Bytes gathered before a chunk is sent; with the channel's depth this bounds the memory
/// one log request holds, however long the log.
const CHUNK: usize = 32 * 1024;
const DEPTH: usize = 4;
/// How often a follow looks at the clock and the pod again (wall-clock).
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// What to send, decided from the query.
#[derive(Debug, Clone)]
struct Options {
    tail: Option<usize>,
    limit_bytes: Option<usize>,
    /// Milliseconds since the epoch.
    since: Option<i64>,
    timestamps: bool,
    follow: bool,
}

fn validate(q: &Query, name: &str, now: i64) -> Result<Options, ApiError> {
    // ValidatePodLogOptions (pkg/apis/core/validation/validation.go).
    let mut errs = Vec::new();
    if q.limit_bytes == Some(0) {
        errs.push(FieldError::invalid(
            "limitBytes",
            BadValue::Int(0),
            "must be greater than 0",
        ));
    }
    if q.since_seconds == Some(0) {
        errs.push(FieldError::invalid(
            "sinceSeconds",
            BadValue::Int(0),
            "must be greater than 0",
        ));
    }
    if q.since_seconds.is_some() && q.since_time.is_some() {
        errs.push(FieldError::forbidden(
            "",
            "at most one of `sinceTime` or `sinceSeconds` may be specified",
        ));
    }
    if !errs.is_empty() {
        return Err(ApiError::invalid_group_kind(
            "",
            "PodLogOptions",
            "PodLogOptions",
            name,
            &errs,
        ));
    }
    let since = match (&q.since_time, q.since_seconds) {
        (Some(t), _) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "parsing time {t:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse"
                    ))
                })?
                .timestamp_millis(),
        ),
        (None, Some(s)) => Some(now.saturating_sub(s.min(1 << 40) as i64 * 1000)),
        _ => None,
    };
    Ok(Options {
        tail: q.tail_lines,
        limit_bytes: q.limit_bytes,
        since,
        timestamps: q.timestamps,
        follow: q.follow,
    })
}

/// The container the request names: `container`, or the only one.
fn container_of(pod: &Pod, name: &str, q: &Query) -> Result<Container, ApiError> {
    let spec = pod.spec.clone().unwrap_or_default();
    let all = || {
        spec.containers
            .iter()
            .chain(spec.init_containers.iter().flatten())
    };
    match &q.container {
        Some(c) => all().find(|x| &x.name == c).cloned().ok_or_else(|| {
            ApiError::bad_request(format!("container {c} is not valid for pod {name}"))
        }),
        None if spec.containers.len() == 1 => Ok(spec.containers[0].clone()),
        None => {
            let names: Vec<&str> = spec.containers.iter().map(|c| c.name.as_str()).collect();
            Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )))
        }
    }
}

pub fn serve(
    st: &ApiState,
    res: ResourceId,
    ns: &str,
    name: &str,
    q: &Query,
) -> Result<Response, ApiError> {
    let value = st
        .store
        .get(res, ns, name)
        .ok_or_else(|| super::objects::not_found(res, name))?
        .value();
    let pod: Pod = serde_json::from_value(value)
        .map_err(|e| ApiError::new(500, "InternalError", format!("decoding pod: {e}")))?;
    let container = container_of(&pod, name, q)?;
    if pod
        .spec
        .as_ref()
        .and_then(|s| s.node_name.as_deref())
        .unwrap_or("")
        .is_empty()
    {
        // LogLocation (pkg/registry/core/pod/strategy.go) before any kubelet is asked.
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }
    let now = st.store.now().timestamp_millis();
    let opts = validate(q, name, now)?;
    let run = select_run(&pod, &container.name, q.previous).map_err(ApiError::bad_request)?;
    let (tx, rx) = mpsc::channel(DEPTH);
    let job = Job {
        store: st.store.clone(),
        catalog: st.catalog.clone(),
        res,
        ns: ns.to_string(),
        name: name.to_string(),
        pod,
        container,
        run,
        opts,
    };
    tokio::spawn(job.pump(tx));
    let mut resp = Response::new(Body::from_stream(ReceiverStream::new(rx)));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    Ok(resp)
}

type Tx = mpsc::Sender<Result<Bytes, std::io::Error>>;

struct Job {
    store: Arc<Store>,
    catalog: Arc<Catalog>,
    res: ResourceId,
    ns: String,
    name: String,
    pod: Pod,
    container: Container,
    run: Run,
    opts: Options,
}

/// Collects lines into chunks and stops at limitBytes.
struct Writer {
    tx: Tx,
    buf: Vec<u8>,
    left: usize,
    timestamps: bool,
    /// The time of the last line written and how many lines had that time: a follow goes
    /// on from there, so lines the pod's newer state adds in the past (a shutdown seen
    /// late) are still sent.
    last_at: i64,
    ties: usize,
    /// Lines written in the last moments, by time and text: a follow looks back over them,
    /// because a deletion's timestamp has whole seconds and its shutdown lines may fall
    /// before the last line already sent.
    recent: std::collections::VecDeque<(i64, u64)>,
}

/// How far a follow looks back for lines the pod's newer state placed in the past.
const LOOKBACK_MS: i64 = 2_000;
/// Recent lines remembered to send none twice (a log this fast is cut short, not grown).
const RECENT_MAX: usize = 4_096;

fn line_key(at: i64, text: &str) -> (i64, u64) {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    (at, h.finish())
}

impl Writer {
    /// False when the client went away or the byte limit was reached.
    async fn line(&mut self, at: i64, text: &str) -> bool {
        if self.left == 0 {
            return false;
        }
        let key = line_key(at, text);
        if at <= self.last_at && self.recent.contains(&key) {
            return true;
        }
        if self.recent.len() == RECENT_MAX {
            self.recent.pop_front();
        }
        self.recent.push_back(key);
        if at == self.last_at {
            self.ties += 1;
        } else {
            self.last_at = at;
            self.ties = 1;
        }
        let start = self.buf.len();
        if self.timestamps {
            self.buf.extend_from_slice(rfc3339_nano(at).as_bytes());
            self.buf.push(b' ');
        }
        self.buf.extend_from_slice(text.as_bytes());
        self.buf.push(b'\n');
        let written = self.buf.len() - start;
        if written >= self.left {
            self.buf.truncate(start + self.left);
            self.left = 0;
            let _ = self.flush().await;
            return false;
        }
        self.left -= written;
        self.buf.len() < CHUNK || self.flush().await
    }

    async fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.send(Ok(chunk)).await.is_ok()
    }
}

impl Job {
    fn now(&self) -> i64 {
        self.store.now().timestamp_millis()
    }

    /// Sends lines in [from, to) of the current plan; false when the client is gone or the
    /// limit was reached.
    async fn send(&self, w: &mut Writer, from: i64, to: i64, skip: usize) -> bool {
        let plan = LogPlan::new(&self.catalog, &self.pod, &self.container, &self.run);
        // Lines are made as they are read; a chunk is handed over as soon as it fills.
        let mut lines = plan.lines(from, to).skip(skip);
        loop {
            let batch: Vec<_> = lines.by_ref().take(256).collect();
            if batch.is_empty() {
                return true;
            }
            for l in batch {
                if !w.line(l.at, &l.text).await {
                    return false;
                }
            }
            // A long log is made in slices, leaving the runtime to other requests between.
            tokio::task::yield_now().await;
        }
    }

    fn plan_end(&self) -> Option<i64> {
        LogPlan::new(&self.catalog, &self.pod, &self.container, &self.run).end()
    }

    /// How far the log goes now. An ended run's log is complete, even where its last
    /// moments (placed within the status's whole second) fall after the clock's now.
    fn horizon(&self) -> i64 {
        let now = self.now() + 1;
        match (&self.run.end, self.plan_end()) {
            (Some(_), Some(end)) => end.saturating_add(1).max(now),
            _ => now,
        }
    }

    async fn pump(mut self, tx: Tx) {
        let mut w = Writer {
            tx,
            buf: Vec::new(),
            left: self.opts.limit_bytes.unwrap_or(usize::MAX),
            timestamps: self.opts.timestamps,
            last_at: i64::MIN,
            ties: 0,
            recent: std::collections::VecDeque::new(),
        };
        let (_, mut events) = self.store.subscribe();
        let from = self
            .opts
            .since
            .unwrap_or(i64::MIN)
            .max(self.run.started - 1_000);
        let to = self.horizon();
        let (from, skip) = match self.opts.tail {
            Some(n) => LogPlan::new(&self.catalog, &self.pod, &self.container, &self.run)
                .tail_from(n, from, to),
            None => (from, 0),
        };
        if self.opts.tail == Some(0) || !self.send(&mut w, from, to, skip).await {
            let _ = w.flush().await;
            return;
        }
        let mut sent_to = to;
        loop {
            if !w.flush().await || !self.opts.follow || self.plan_end().is_some_and(|e| e < sent_to)
            {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(FOLLOW_POLL) => {}
                _ = w.tx.closed() => return,
            }
            // The pod now: has the run ended, is it being deleted, is it gone?
            let (value, gone) = self.latest(&mut events);
            let Some(pod) = value.and_then(|v| serde_json::from_value::<Pod>(v).ok()) else {
                return;
            };
            // A run that no longer shows (restarted twice since) has nothing more to say.
            let Some(run) = same_run(&pod, &self.container.name, &self.run.container_id) else {
                return;
            };
            self.run = run;
            self.pod = pod;
            let to = self.horizon();
            // From a little before the last line: what was sent is skipped by the writer.
            let (from, skip) = if w.last_at == i64::MIN {
                (sent_to, 0)
            } else {
                (w.last_at.saturating_sub(LOOKBACK_MS), 0)
            };
            if !self.send(&mut w, from, to, skip).await {
                let _ = w.flush().await;
                return;
            }
            sent_to = to;
            if gone {
                let _ = w.flush().await;
                return;
            }
        }
    }

    /// The pod's latest version from the store's events (a deleted pod's last state is
    /// in its DELETED event), and whether it is gone.
    fn latest(&self, events: &mut broadcast::Receiver<Arc<Event>>) -> (Option<Value>, bool) {
        let mut last = None;
        loop {
            match events.try_recv() {
                Ok(e)
                    if e.resource == self.res && e.namespace == self.ns && e.name == self.name =>
                {
                    last = Some(e)
                }
                Ok(_) => {}
                Err(broadcast::error::TryRecvError::Lagged(_)) => last = None,
                Err(_) => break,
            }
        }
        match last {
            Some(e) if e.kind == EventType::Deleted => (Some(e.object.value()), true),
            _ => {
                let now = self.store.get(self.res, &self.ns, &self.name);
                let gone = now.is_none();
                (now.map(|s| s.value()), gone)
            }
        }
    }
}

/// The followed run as the pod shows it now (running still, or terminated).
fn same_run(pod: &Pod, container: &str, id: &str) -> Option<Run> {
    [false, true]
        .into_iter()
        .filter_map(|previous| select_run(pod, container, previous).ok())
        .find(|r| r.container_id == id)
}
