//! Recording core/v1 Events as client-go's recorder does: a repeat of the same event (same
//! object, type, reason, message and source) updates the existing Event's `count` and
//! `lastTimestamp` instead of creating another, so `kubectl describe` shows `(x4 over 2m)`;
//! and from the tenth different message for the same object and reason within ten minutes
//! (a ReplicaSet's "Created pod: ..." in a scale-up), one "(combined from similar events)"
//! Event counts them all (client-go's `EventAggregator`, `tools/record/events_cache.go`).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::EventRecord;
use crate::resources::{ResourceId, lookup};
use crate::store::{Store, StoreError, UpdateScope, WriteOptions, format_time};

/// The aggregation key: what makes two events "the same" for counting.
type AggregateKey = (String, String, String, String, &'static str, String, String);
/// What makes two events "similar" (all but the message): `EventAggregatorByReasonFunc`.
type SimilarKey = (
    String,
    String,
    String,
    String,
    &'static str,
    String,
    &'static str,
);

/// Messages seen lately for one similar key (`aggregateRecord`).
struct Similar {
    messages: BTreeSet<String>,
    last: DateTime<Utc>,
    used: u64,
}

/// `defaultAggregateMaxEvents` and `defaultAggregateIntervalInSeconds`.
const AGGREGATE_MAX_EVENTS: usize = 10;
const AGGREGATE_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::seconds(600);
/// Stands for the message in the aggregation key of a combined event, which is counted
/// whatever its latest message.
const COMBINED: &str = "\u{1}combined";

pub struct EventRecorder {
    store: Arc<Store>,
    /// Aggregate key → name of the Event that counts it, and when it was last used.
    names: Mutex<HashMap<AggregateKey, (String, u64)>>,
    sequence: AtomicU64,
    /// Similar events seen lately, for combining.
    similar: Mutex<HashMap<SimilarKey, Similar>>,
    /// Counts uses of keys (the LRU order of `names` and `similar`).
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
            similar: Mutex::new(HashMap::new()),
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
        let use_ = self.uses.fetch_add(1, Ordering::Relaxed);
        let combined = self.combine(event, &namespace, use_);
        let message = combined.as_deref().unwrap_or(&event.message);
        let key: AggregateKey = (
            namespace.clone(),
            involved.uid.clone().unwrap_or_default(),
            involved.name.clone().unwrap_or_default(),
            event.reason.clone(),
            event.component,
            event.host.clone().unwrap_or_default(),
            format!(
                "{}\u{0}{}",
                event.type_,
                if combined.is_some() {
                    COMBINED
                } else {
                    message
                }
            ),
        );
        let stamp = format_time(event.time);
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
                    // A combined event shows the latest of the messages it counts.
                    next["message"] = json!(message);
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
            "message": message,
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
                forget_least_recent(&mut names, |(_, used)| *used);
                Ok(())
            }
            // The namespace is going away: nothing to report into.
            Err(StoreError::NamespaceNotFound(_) | StoreError::Forbidden(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl EventRecorder {
    /// `EventAggregator.EventAggregate`: remembers the message among the similar events of
    /// the last ten minutes; from the tenth different one on, returns the combined message
    /// to record instead.
    fn combine(&self, event: &EventRecord, namespace: &str, use_: u64) -> Option<String> {
        let involved = &event.involved;
        let key: SimilarKey = (
            namespace.to_string(),
            involved.uid.clone().unwrap_or_default(),
            involved.name.clone().unwrap_or_default(),
            event.reason.clone(),
            event.component,
            event.host.clone().unwrap_or_default(),
            event.type_,
        );
        let mut similar = self.similar.lock().unwrap_or_else(|p| p.into_inner());
        let record = similar.entry(key).or_insert_with(|| Similar {
            messages: BTreeSet::new(),
            last: event.time,
            used: use_,
        });
        if event.time - record.last > AGGREGATE_INTERVAL {
            record.messages.clear();
        }
        record.messages.insert(event.message.clone());
        record.last = event.time;
        record.used = use_;
        let combine = record.messages.len() >= AGGREGATE_MAX_EVENTS;
        if combine {
            // "do not grow our local key set any larger than max"
            record.messages.pop_first();
        }
        forget_least_recent(&mut similar, |s| s.used);
        combine.then(|| format!("(combined from similar events): {}", event.message))
    }
}

/// How many aggregate keys are remembered: client-go's correlator keeps an LRU cache of
/// this many (`maxLruCacheEntries` in `tools/record/events_cache.go`). Without a bound the
/// keys of every pod that ever lived would stay.
const REMEMBERED: usize = 4096;

/// Forgets the least recently used half once over [`REMEMBERED`]: a forgotten key's next
/// event starts a new Event, as after an LRU eviction.
fn forget_least_recent<K, V>(map: &mut HashMap<K, V>, used: impl Fn(&V) -> u64) {
    if map.len() <= REMEMBERED {
        return;
    }
    let mut uses: Vec<u64> = map.values().map(&used).collect();
    uses.sort_unstable();
    let cutoff = uses[uses.len() / 2];
    map.retain(|_, v| used(v) >= cutoff);
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
        forget_least_recent(&mut names, |(_, used)| *used);
        assert!(names.len() <= REMEMBERED / 2 + 1, "{}", names.len());
        assert!(names.contains_key(&key(0)));
        assert!(names.contains_key(&key(REMEMBERED)));
        assert!(!names.contains_key(&key(1)));
    }

    /// As `TestEventAggregate` upstream: nine different messages are nine Events, the tenth
    /// and later ones count on one combined Event showing the latest message.
    #[test]
    fn similar_events_from_the_tenth_message_on_are_combined() {
        let store = store_with_namespace();
        let recorder = EventRecorder::new(store.clone());
        for i in 1..=12 {
            recorder.record(&backoff(&store, &format!("m{i}")));
        }
        let (_, items) = store.list(events(), Some("demo"));
        assert_eq!(items.len(), 10);
        let combined: Vec<Value> = items
            .iter()
            .map(|e| e.value())
            .filter(|e| e["count"] != 1)
            .collect();
        assert_eq!(combined.len(), 1, "{items:?}");
        assert_eq!(combined[0]["count"], 3);
        assert_eq!(
            combined[0]["message"],
            "(combined from similar events): m12"
        );
    }
}
