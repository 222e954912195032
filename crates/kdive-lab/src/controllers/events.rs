//! Recording core/v1 Events as client-go's recorder does: a repeat of the same event (same
//! object, type, reason, message and source) updates the existing Event's `count` and
//! `lastTimestamp` instead of creating another, so `kubectl describe` shows `(x4 over 2m)`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::EventRecord;
use crate::resources::{ResourceId, lookup};
use crate::store::{Store, StoreError, UpdateScope, WriteOptions, format_time};

/// The aggregation key: what makes two events "the same" for counting.
type AggregateKey = (String, String, String, String, &'static str, String, String);

pub struct EventRecorder {
    store: Arc<Store>,
    /// Aggregate key → name of the Event that counts it, and when it was last used.
    names: Mutex<HashMap<AggregateKey, (String, u64)>>,
    sequence: AtomicU64,
    /// Counts uses of aggregate keys (the LRU order of `names`).
    uses: AtomicU64,
}

fn events() -> ResourceId {
    lookup("", "v1", "events").expect("events are served")
}

impl EventRecorder {
    pub fn new(store: Arc<Store>) -> EventRecorder {
        EventRecorder {
            store,
            names: Mutex::new(HashMap::new()),
            sequence: AtomicU64::new(0),
            uses: AtomicU64::new(0),
        }
    }

    /// Writes (or counts) one event. Failures are logged, never fatal: events are
    /// best-effort in Kubernetes too.
    pub fn record(&self, event: &EventRecord) {
        if let Err(e) = self.try_record(event) {
            tracing::debug!(reason = %event.reason, error = %e, "event not recorded");
        }
    }

    pub fn record_all(&self, events: &[EventRecord]) {
        for e in events {
            self.record(e);
        }
    }

    fn try_record(&self, event: &EventRecord) -> Result<(), StoreError> {
        let involved = &event.involved;
        // Cluster-scoped objects' events live in `default`, as the real recorder puts them.
        let namespace = involved
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".to_string());
        let key: AggregateKey = (
            namespace.clone(),
            involved.uid.clone().unwrap_or_default(),
            involved.name.clone().unwrap_or_default(),
            event.reason.clone(),
            event.component,
            event.host.clone().unwrap_or_default(),
            format!("{}\u{0}{}", event.type_, event.message),
        );
        let stamp = format_time(event.time);
        let use_ = self.uses.fetch_add(1, Ordering::Relaxed);
        let existing = self
            .names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&key)
            .map(|(name, used)| {
                *used = use_;
                name.clone()
            });
        if let Some(name) = existing {
            let counted = self.store.update_with(
                events(),
                &namespace,
                &name,
                UpdateScope::Internal,
                &WriteOptions::default(),
                |current| {
                    let mut next = current.clone();
                    let count = current.get("count").and_then(Value::as_i64).unwrap_or(1);
                    next["count"] = json!(count + 1);
                    next["lastTimestamp"] = json!(stamp);
                    Ok(next)
                },
            );
            match counted {
                Ok(_) => return Ok(()),
                // Deleted meanwhile (e.g. `kubectl delete events`): start a new one.
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed);
        let nanos = event.time.timestamp_nanos_opt().unwrap_or_default() as u64;
        let name = format!(
            "{}.{:x}",
            involved.name.as_deref().unwrap_or("unknown"),
            nanos.wrapping_add(seq)
        );
        let mut source = json!({"component": event.component});
        if let Some(host) = &event.host {
            source["host"] = json!(host);
        }
        let obj = json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": serde_json::to_value(involved).unwrap_or_default(),
            "reason": event.reason,
            "message": event.message,
            "source": source,
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "type": event.type_,
            "eventTime": null,
            "reportingComponent": event.component,
            "reportingInstance": event.host.clone().unwrap_or_default(),
        });
        match self
            .store
            .create(events(), &namespace, obj, &WriteOptions::default())
        {
            Ok(_) => {
                let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
                names.insert(key, (name, use_));
                forget_least_recent(&mut names);
                Ok(())
            }
            // The namespace is going away: nothing to report into.
            Err(StoreError::NamespaceNotFound(_) | StoreError::Forbidden(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// How many aggregate keys are remembered: client-go's correlator keeps an LRU cache of
/// this many (`maxLruCacheEntries` in `tools/record/events_cache.go`). Without a bound the
/// keys of every pod that ever lived would stay.
const REMEMBERED: usize = 4096;

/// Forgets the least recently used half once over [`REMEMBERED`]: a forgotten key's next
/// event starts a new Event, as after an LRU eviction.
fn forget_least_recent(names: &mut HashMap<AggregateKey, (String, u64)>) {
    if names.len() <= REMEMBERED {
        return;
    }
    let mut used: Vec<u64> = names.values().map(|(_, u)| *u).collect();
    used.sort_unstable();
    let cutoff = used[used.len() / 2];
    names.retain(|_, (_, u)| *u >= cutoff);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::LabClock;
    use k8s_openapi::api::core::v1::ObjectReference;

    fn store_with_namespace() -> Arc<Store> {
        let store = Arc::new(Store::new(Arc::new(LabClock::default()), 1));
        let ns = lookup("", "v1", "namespaces").unwrap();
        store
            .create(
                ns,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}),
                &WriteOptions::default(),
            )
            .unwrap();
        store
    }

    fn backoff(store: &Store, message: &str) -> EventRecord {
        EventRecord {
            type_: "Warning",
            reason: "BackOff".into(),
            message: message.into(),
            involved: ObjectReference {
                kind: Some("Pod".into()),
                namespace: Some("demo".into()),
                name: Some("web-1".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            component: "kubelet",
            host: Some("node-a".into()),
            time: store.now(),
        }
    }

    #[test]
    fn repeats_are_counted_on_one_event_and_new_messages_get_their_own() {
        let store = store_with_namespace();
        let recorder = EventRecorder::new(store.clone());
        let msg = "Back-off restarting failed container web in pod web-1_demo(u1)";
        for _ in 0..3 {
            recorder.record(&backoff(&store, msg));
        }
        recorder.record(&backoff(&store, "something else"));
        let (_, items) = store.list(events(), Some("demo"));
        assert_eq!(items.len(), 2);
        let counted: Vec<i64> = items
            .iter()
            .map(|e| e.value()["count"].as_i64().unwrap())
            .collect();
        assert!(counted.contains(&3) && counted.contains(&1), "{counted:?}");
        let first = items
            .iter()
            .map(|e| e.value())
            .find(|e| e["message"] == msg)
            .unwrap();
        assert_eq!(
            first["source"],
            json!({"component": "kubelet", "host": "node-a"})
        );
        assert_eq!(first["involvedObject"]["name"], "web-1");
        assert!(
            first["metadata"]["name"]
                .as_str()
                .unwrap()
                .starts_with("web-1.")
        );
    }

    #[test]
    fn a_deleted_event_is_recreated_on_the_next_repeat() {
        let store = store_with_namespace();
        let recorder = EventRecorder::new(store.clone());
        recorder.record(&backoff(&store, "m"));
        let (_, items) = store.list(events(), Some("demo"));
        store
            .delete(events(), "demo", &items[0].name, &Default::default())
            .unwrap();
        recorder.record(&backoff(&store, "m"));
        let (_, items) = store.list(events(), Some("demo"));
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].value()["count"], 1);
    }

    #[test]
    fn the_least_recently_used_half_of_the_keys_goes_over_the_bound() {
        let key = |i: usize| -> AggregateKey {
            let s = i.to_string();
            (
                s.clone(),
                s.clone(),
                s,
                String::new(),
                "c",
                String::new(),
                String::new(),
            )
        };
        let mut names: HashMap<AggregateKey, (String, u64)> = (0..=REMEMBERED)
            .map(|i| (key(i), (format!("e{i}"), i as u64)))
            .collect();
        // The first key was used again lately: it stays.
        names.insert(key(0), ("e0".into(), REMEMBERED as u64 + 1));
        forget_least_recent(&mut names);
        assert!(names.len() <= REMEMBERED / 2 + 1, "{}", names.len());
        assert!(names.contains_key(&key(0)));
        assert!(names.contains_key(&key(REMEMBERED)));
        assert!(!names.contains_key(&key(1)));
    }
}
