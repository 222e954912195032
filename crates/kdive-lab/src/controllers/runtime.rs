//! The watch-and-reconcile loop that drives controllers over the store: every store event
//! maps to keys, keys are queued (deduplicated), each key is reconciled, conflicts and
//! "requeue after" answers come back later. A full resync runs at start and whenever the
//! loop falls behind the event stream. Work is done in bounded batches with a yield between
//! them, so a controller with a long queue never starves the API server.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::deadlines::Deadlines;
use crate::resources::ResourceId;
use crate::store::{Event, EventType, Store, StoreError};

/// What a controller reconciles: a namespace and name of the object it owns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub namespace: String,
    pub name: String,
}

/// One controller of the lab's control plane.
pub trait Controller: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// The resource whose objects are the keys (e.g. namespaces for the namespace controller).
    fn primary(&self) -> ResourceId;
    /// The keys an event (of any resource) makes worth reconciling.
    fn keys_for(&self, event: &Event) -> Vec<Key>;
    /// Drops whatever the controller derived from events: some were missed (the loop fell
    /// behind) and every key is about to be reconciled afresh.
    fn resync(&self) {}
    /// Drops what the controller cached of an object just deleted (decoded copies): after a
    /// burst of thousands of pods, they would outlive the pods for good.
    fn forget_deleted(&self, _event: &Event) {}
    /// Brings the world closer to what `key` asks for. Returns when to look again (in
    /// simulated time, see [`crate::clock`]), if the answer depends on time.
    fn reconcile(&self, store: &Store, key: &Key) -> Result<Option<Duration>, StoreError>;
}

/// At most this many keys are reconciled (or events taken in) before the loop yields, so
/// the API server's tasks get the CPU while a controller works through 50,000 pods.
pub const BATCH: usize = 128;
/// A batch also ends after this long: one key may be slow (a ReplicaSet creating pods).
const BATCH_TIME: Duration = Duration::from_millis(5);

/// Runs `controller` until `stop` changes. Returns a task handle.
pub fn spawn(
    store: Arc<Store>,
    controller: Arc<dyn Controller>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (_, mut events) = store.subscribe();
        let mut queue: BTreeSet<Key> = all_keys(&store, controller.as_ref());
        let mut later = Later::default();
        loop {
            // Take in what already happened before reconciling: a burst of pod events for
            // one ReplicaSet is then one reconcile, not one per event.
            for _ in 0..BATCH {
                match events.try_recv() {
                    Ok(event) => take_in(controller.as_ref(), &event, &mut queue),
                    Err(TryRecvError::Lagged(_)) => {
                        controller.resync();
                        queue.extend(all_keys(&store, controller.as_ref()));
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Closed) => return,
                }
            }
            queue.extend(later.deadlines.pop_due(Instant::now(), BATCH));
            if !queue.is_empty() {
                let started = std::time::Instant::now();
                for _ in 0..BATCH {
                    let Some(key) = queue.pop_first() else { break };
                    reconcile_one(&store, controller.as_ref(), key, &mut later);
                    if started.elapsed() >= BATCH_TIME {
                        break;
                    }
                }
                tokio::task::yield_now().await;
                if stop.has_changed().unwrap_or(true) {
                    return;
                }
                continue;
            }
            tokio::select! {
                received = events.recv() => match received {
                    Ok(event) => take_in(controller.as_ref(), &event, &mut queue),
                    Err(RecvError::Lagged(_)) => {
                        controller.resync();
                        queue.extend(all_keys(&store, controller.as_ref()));
                    }
                    Err(RecvError::Closed) => return,
                },
                // Due keys are taken at the top of the loop.
                _ = sleep_until(later.deadlines.earliest()) => {}
                _ = stop.changed() => return,
            }
        }
    })
}

fn take_in(controller: &dyn Controller, event: &Event, queue: &mut BTreeSet<Key>) {
    if event.kind == EventType::Deleted {
        controller.forget_deleted(event);
    }
    queue.extend(controller.keys_for(event));
}

/// Pending retries and how often each key has failed in a row.
#[derive(Default)]
struct Later {
    deadlines: Deadlines<Key, Instant>,
    failures: HashMap<Key, u32>,
}

/// A key that keeps failing is retried after 1 s, 2 s, 4 s ... up to this (upstream's
/// workqueue backs off exponentially too), so a create refused by quota does not spin.
const MAX_ERROR_RETRY: Duration = Duration::from_secs(16);

fn error_retry(failures: u32) -> Duration {
    let doubled = Duration::from_secs(1).saturating_mul(1 << failures.saturating_sub(1).min(8));
    doubled.min(MAX_ERROR_RETRY)
}

fn reconcile_one(store: &Store, controller: &dyn Controller, key: Key, later: &mut Later) {
    let result = controller.reconcile(store, &key);
    if result.is_ok() {
        later.failures.remove(&key);
    }
    let later_at = |d: Duration| Instant::now() + d;
    match result {
        // Controllers speak simulated time; timers wait real time.
        Ok(Some(after)) => later
            .deadlines
            .schedule(key, later_at(store.clock().real(after))),
        Ok(None) => later.deadlines.remove(&key),
        // Someone else wrote first: look again shortly with fresh state.
        Err(StoreError::Conflict(_)) => {
            later
                .deadlines
                .schedule(key, later_at(Duration::from_millis(20)));
        }
        Err(e) => {
            tracing::warn!(controller = controller.name(), ?key, error = %e, "reconcile failed");
            let n = later.failures.entry(key.clone()).or_default();
            *n = n.saturating_add(1);
            let retry = error_retry(*n);
            later.deadlines.schedule(key, later_at(retry));
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

fn all_keys(store: &Store, controller: &dyn Controller) -> BTreeSet<Key> {
    store
        .list(controller.primary(), None)
        .1
        .iter()
        .map(|s| Key {
            namespace: s.namespace.clone(),
            name: s.name.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{MAX_ERROR_RETRY, error_retry};
    use std::time::Duration;

    #[test]
    fn failing_keys_back_off_to_a_cap() {
        assert_eq!(error_retry(1), Duration::from_secs(1));
        assert_eq!(error_retry(2), Duration::from_secs(2));
        assert_eq!(error_retry(4), Duration::from_secs(8));
        assert_eq!(error_retry(5), MAX_ERROR_RETRY);
        assert_eq!(error_retry(u32::MAX), MAX_ERROR_RETRY);
    }
}
