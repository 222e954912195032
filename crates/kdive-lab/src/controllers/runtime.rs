//! The watch-and-reconcile loop that drives controllers over the store: every store event
//! maps to keys, keys are queued (deduplicated), each key is reconciled, conflicts and
//! "requeue after" answers come back later. A full resync runs at start and whenever the
//! loop falls behind the event stream.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::resources::ResourceId;
use crate::store::{Event, Store, StoreError};

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
    /// Brings the world closer to what `key` asks for. Returns when to look again (in
    /// simulated time, see [`crate::clock`]), if the answer depends on time.
    fn reconcile(&self, store: &Store, key: &Key) -> Result<Option<Duration>, StoreError>;
}

/// Runs `controller` until `stop` changes. Returns a task handle.
pub fn spawn(
    store: Arc<Store>,
    controller: Arc<dyn Controller>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let (_, mut events) = store.subscribe();
        let mut queue: BTreeSet<Key> = all_keys(&store, controller.as_ref());
        let mut later: BTreeMap<Key, Instant> = BTreeMap::new();
        loop {
            // Drain the queue before waiting: reconciles are quick, in-memory writes.
            while let Some(key) = queue.pop_first() {
                match controller.reconcile(&store, &key) {
                    // Controllers speak simulated time; timers wait real time.
                    Ok(Some(after)) => {
                        later.insert(key, Instant::now() + store.clock().real(after));
                    }
                    Ok(None) => {
                        later.remove(&key);
                    }
                    // Someone else wrote first: look again shortly with fresh state.
                    Err(StoreError::Conflict(_)) => {
                        later.insert(key, Instant::now() + Duration::from_millis(20));
                    }
                    Err(e) => {
                        tracing::warn!(controller = controller.name(), ?key, error = %e, "reconcile failed");
                        later.insert(key, Instant::now() + Duration::from_secs(1));
                    }
                }
            }
            let next = later.values().min().copied();
            tokio::select! {
                received = events.recv() => match received {
                    Ok(event) => queue.extend(controller.keys_for(&event)),
                    Err(RecvError::Lagged(_)) => {
                        controller.resync();
                        queue.extend(all_keys(&store, controller.as_ref()));
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = sleep_until(next) => {
                    let now = Instant::now();
                    let due: Vec<Key> = later.iter().filter(|(_, t)| **t <= now).map(|(k, _)| k.clone()).collect();
                    for key in due {
                        later.remove(&key);
                        queue.insert(key);
                    }
                }
                _ = stop.changed() => return,
            }
        }
    })
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
