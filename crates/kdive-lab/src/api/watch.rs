//! Watch: NDJSON framing, bookmarks, initial-events-end, and 410 Expired as an ERROR event.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

use super::ApiState;
use super::filter::Filter;
use super::query::Query;
use super::representation::{Representation, partial};
use super::status::ApiError;
use crate::resources::ResourceId;
use crate::store::{Event, EventType, StoreError, Stored, watch_line};
use crate::table::{TableOptions, object_table};

/// What to watch and how.
struct WatchSpec {
    res: ResourceId,
    namespace: Option<String>,
    filter: Filter,
    bookmarks: bool,
    initial_events_end: bool,
    deadline: tokio::time::Instant,
    bookmark_every: Duration,
    /// The objects, Tables, or only metadata.
    rep: Representation,
}

pub fn serve(
    st: Arc<ApiState>,
    res: ResourceId,
    namespace: Option<String>,
    q: &Query,
    accept: &str,
) -> Result<Response, ApiError> {
    let filter = Filter::from_query(q, res)?;
    let send_initial = q.send_initial_events == Some(true);
    if send_initial && q.resource_version_match.as_deref() != Some("NotOlderThan") {
        return Err(ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled or resourceVersionMatch is set to NotOlderThan",
        ));
    }
    if !send_initial && q.resource_version_match.is_some() {
        return Err(ApiError::new(
            422,
            "Invalid",
            "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ));
    }
    // RV unset or "0": start with the current state. With sendInitialEvents, the same, and
    // an initial-events-end bookmark after it.
    let from = match q.resource_version.as_deref() {
        None | Some("0") => None,
        Some(_) if send_initial => None,
        Some(rv) => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv:?}")))?,
        ),
    };
    let timeout = q
        .timeout_seconds
        .map(Duration::from_secs)
        .unwrap_or(st.default_watch_timeout);
    let spec = WatchSpec {
        res,
        namespace,
        filter,
        bookmarks: q.allow_watch_bookmarks,
        initial_events_end: send_initial && q.allow_watch_bookmarks,
        deadline: tokio::time::Instant::now() + timeout,
        bookmark_every: st.bookmark_interval,
        rep: Representation::from_accept(accept, q)?.for_watch(),
    };
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    match st.store.watch(res, spec.namespace.as_deref(), from) {
        Ok(start) => {
            let store = st.store.clone();
            tokio::spawn(async move {
                let _ = pump(store, spec, start, tx).await;
            });
        }
        Err(StoreError::Expired { requested, oldest }) => {
            // 200 and an ERROR event: kube-rs and client-go relist only on this.
            let status = ApiError::new(
                410,
                "Expired",
                format!("too old resource version: {requested} ({oldest})"),
            );
            let line = watch_line("ERROR", status.to_json().to_string().as_bytes());
            let _ = tx.try_send(Ok(line));
        }
        Err(e) => return Err(ApiError::from_store(e, res.info(), "")),
    }
    let mut resp = Response::new(Body::from_stream(ReceiverStream::new(rx)));
    *resp.status_mut() = StatusCode::OK;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

type Tx = mpsc::Sender<Result<Bytes, std::io::Error>>;

/// Sends the initial state or backlog, then live events, bookmarks, and closes at the
/// deadline. Returns when the client goes away.
async fn pump(
    store: Arc<crate::store::Store>,
    spec: WatchSpec,
    start: crate::store::WatchStart,
    tx: Tx,
) -> Result<(), ()> {
    let mut encoder = Encoder {
        rep: spec.rep,
        sent_columns: false,
        store: store.clone(),
    };
    for stored in &start.initial {
        if spec.filter.matches(stored) {
            let line = encoder.line(spec.res, "ADDED", stored, None);
            send(&tx, line).await?;
        }
    }
    if spec.initial_events_end {
        send(&tx, bookmark(&spec, start.rv, true)).await?;
    }
    for event in &start.backlog {
        if let Some(line) = frame(&spec, &mut encoder, event) {
            send(&tx, line).await?;
        }
    }
    let mut receiver = start.receiver;
    let mut compacted = start.compacted;
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + spec.bookmark_every,
        spec.bookmark_every,
    );
    let deadline = tokio::time::sleep_until(spec.deadline);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            received = receiver.recv() => match received {
                // The receiver was subscribed under the store lock at `start.rv`: it holds
                // exactly the events after the initial state or backlog, with no overlap.
                Ok(event) => {
                    // Coalesce what is already queued into one write: under load this turns
                    // thousands of small TLS records and syscalls into a few large ones.
                    let mut batch = Vec::new();
                    if let Some(line) = frame(&spec, &mut encoder, &event) {
                        batch.extend_from_slice(&line);
                    }
                    while batch.len() < MAX_BATCH {
                        match receiver.try_recv() {
                            Ok(event) => {
                                if let Some(line) = frame(&spec, &mut encoder, &event) {
                                    batch.extend_from_slice(&line);
                                }
                            }
                            Err(broadcast::error::TryRecvError::Lagged(_)) => {
                                let _ = send(&tx, Bytes::from(batch)).await;
                                return Ok(());
                            }
                            Err(_) => break,
                        }
                    }
                    if !batch.is_empty() {
                        send(&tx, Bytes::from(batch)).await?;
                    }
                }
                // Fell behind the fan-out: end the watch, as upstream's cacher terminates
                // a watcher that does not keep up (`cache_watcher.go`, "Forcing watcher
                // close due to unresponsiveness"). The client watches again from the last
                // version it got: from history, or 410 Expired and a relist if it is older.
                Err(broadcast::error::RecvError::Lagged(_)) => return Ok(()),
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            },
            _ = ticker.tick(), if spec.bookmarks => {
                // Drain what is queued first, so the bookmark's RV covers it.
                let rv = store.resource_version();
                loop {
                    match receiver.try_recv() {
                        Ok(event) => if let Some(line) = frame(&spec, &mut encoder, &event) { send(&tx, line).await?; },
                        Err(broadcast::error::TryRecvError::Lagged(_)) => return Ok(()),
                        Err(_) => break,
                    }
                }
                send(&tx, bookmark(&spec, rv, false)).await?;
            }
            _ = &mut deadline => {
                if spec.bookmarks {
                    let _ = send(&tx, bookmark(&spec, store.resource_version(), false)).await;
                }
                return Ok(());
            }
            _ = compacted.changed() => {
                let floor = *compacted.borrow();
                let status = ApiError::new(
                    410,
                    "Expired",
                    format!("too old resource version: {} ({floor})", start.rv),
                );
                let _ = send(&tx, watch_line("ERROR", status.to_json().to_string().as_bytes())).await;
                return Ok(());
            }
            _ = tx.closed() => return Ok(()),
        }
    }
}

/// Upper bound of one coalesced write.
const MAX_BATCH: usize = 256 * 1024;

async fn send(tx: &Tx, line: Bytes) -> Result<(), ()> {
    tx.send(Ok(line)).await.map_err(|_| ())
}

fn in_scope(spec: &WatchSpec, event: &Event) -> bool {
    event.resource == spec.res
        && spec
            .namespace
            .as_deref()
            .is_none_or(|ns| ns == event.namespace)
}

/// Frames an event for this watcher. With selectors, an object that starts matching is
/// ADDED and one that stops matching is DELETED, as the real server does.
fn frame(spec: &WatchSpec, encoder: &mut Encoder, event: &Event) -> Option<Bytes> {
    if !in_scope(spec, event) {
        return None;
    }
    let kind = if spec.filter.is_empty() {
        event.kind.as_str()
    } else {
        let now = spec.filter.matches(&event.object);
        let before = event
            .prev
            .as_deref()
            .is_some_and(|p: &Stored| spec.filter.matches(p));
        match (event.kind, before, now) {
            (EventType::Deleted, _, true) | (EventType::Added, _, true) => event.kind.as_str(),
            (EventType::Modified, true, true) => "MODIFIED",
            (EventType::Modified, false, true) => "ADDED",
            (EventType::Modified, true, false) => "DELETED",
            _ => return None,
        }
    };
    // The store encoded the event once; it serves every watcher that wants it as it is.
    let as_stored = (kind == event.kind.as_str()).then_some(&event.line);
    Some(encoder.line(spec.res, kind, &event.object, as_stored))
}

/// Per-watch encoding of event objects: as stored, as metadata only, or as Tables
/// (`kubectl get -w`, column definitions only in the first event).
struct Encoder {
    rep: Representation,
    sent_columns: bool,
    store: Arc<crate::store::Store>,
}

impl Encoder {
    /// `as_stored` is the store's encoding of the event, when its type is unchanged.
    fn line(
        &mut self,
        res: ResourceId,
        kind: &str,
        object: &Stored,
        as_stored: Option<&Bytes>,
    ) -> Bytes {
        match self.rep {
            Representation::Table(include_object) => {
                let opts = TableOptions {
                    include_object,
                    column_definitions: !self.sent_columns,
                };
                self.sent_columns = true;
                let table =
                    object_table(res.info().plural, &object.value(), self.store.now(), &opts);
                watch_line(kind, table.to_string().as_bytes())
            }
            Representation::Metadata | Representation::MetadataList => {
                watch_line(kind, partial(&object.value()).to_string().as_bytes())
            }
            Representation::Object => match as_stored {
                Some(line) => line.clone(),
                None => watch_line(kind, &object.json),
            },
        }
    }
}

fn bookmark(spec: &WatchSpec, rv: u64, initial_end: bool) -> Bytes {
    let info = spec.res.info();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let obj = match spec.rep {
        Representation::Metadata | Representation::MetadataList => {
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta})
        }
        _ => json!({"kind": info.kind, "apiVersion": info.api_version(), "metadata": meta}),
    };
    watch_line("BOOKMARK", obj.to_string().as_bytes())
}
