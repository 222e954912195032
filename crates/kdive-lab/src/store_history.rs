//! The store's history of recent events, what a watch from a resourceVersion starts from:
//! the lab's watch cache. Like upstream's (`staging/src/k8s.io/apiserver/pkg/storage/cacher/`),
//! it is bounded by time as well as size: events older than the fresh duration (the
//! bookmark interval plus 15 s, `DefaultEventFreshDuration`) are dropped beyond a small
//! lower bound, so the thousands of events a burst of pods leaves behind go within about a
//! minute instead of staying until other events push them out. A watch from before the
//! history is `410 Expired` and the client relists, as against a real API server.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Event, ResourceId};

/// Upstream's `DefaultEventFreshDuration` with its default bookmark frequency (1 min).
pub const DEFAULT_FRESH: Duration = Duration::from_secs(75);
/// Events kept whatever their age (upstream's `DefaultLowerBoundCapacity`).
const LOWER_BOUND: usize = 100;
/// And at most this many bytes of them: after a burst of thousands of pods the history,
/// not the objects, would hold most memory.
const MAX_BYTES: usize = 24 << 20;

pub(super) struct History {
    events: VecDeque<(Instant, Arc<Event>)>,
    cap: usize,
    /// Bytes the events hold (see [`Event::held_bytes`]).
    bytes: usize,
    /// Events with a resourceVersion above this are all kept.
    floor: u64,
    fresh: Duration,
    /// Bytes dropped since [`History::take_dropped`] last asked, by any trim.
    dropped: usize,
}

impl History {
    pub fn new(cap: usize) -> Self {
        History {
            events: VecDeque::new(),
            cap: cap.max(1),
            bytes: 0,
            floor: 1,
            fresh: DEFAULT_FRESH,
            dropped: 0,
        }
    }

    /// Events older than `fresh` may be dropped (beyond the lower bound).
    pub fn set_fresh(&mut self, fresh: Duration) {
        self.fresh = fresh;
    }

    /// The oldest resourceVersion a watch may start from.
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Forgets every event; watches from before `floor` are expired.
    pub fn reset(&mut self, floor: u64) {
        self.events = VecDeque::new();
        self.bytes = 0;
        self.floor = floor;
    }

    pub fn push(&mut self, event: Arc<Event>, now: Instant) {
        self.bytes += event.held_bytes();
        self.events.push_back((now, event));
        self.trim(now);
    }

    /// Drops what is over the caps or stale. Returns the bytes dropped.
    pub fn trim(&mut self, now: Instant) -> usize {
        let mut dropped = 0;
        while let Some((at, oldest)) = self.events.front() {
            let len = self.events.len();
            let over = len > self.cap || (self.bytes > MAX_BYTES && len > 1);
            let stale = len > LOWER_BOUND && now.duration_since(*at) > self.fresh;
            if !over && !stale {
                break;
            }
            self.floor = oldest.rv;
            let size = oldest.held_bytes();
            self.bytes -= size;
            dropped += size;
            self.events.pop_front();
        }
        if dropped > 0 && self.events.capacity() > 4 * self.events.len().max(LOWER_BOUND) {
            self.events.shrink_to_fit();
        }
        self.dropped += dropped;
        dropped
    }

    /// The bytes dropped since the last call: most go while events are written (each
    /// write trims), not when housekeeping looks.
    pub fn take_dropped(&mut self) -> usize {
        std::mem::take(&mut self.dropped)
    }

    /// The events after `rv` of one resource (in one namespace, or all).
    pub fn since(&self, rv: u64, res: ResourceId, namespace: Option<&str>) -> Vec<Arc<Event>> {
        self.events
            .iter()
            .map(|(_, e)| e)
            .filter(|e| e.rv > rv && e.resource == res)
            .filter(|e| namespace.is_none_or(|n| n == e.namespace))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EventType, Stored};

    fn event(rv: u64) -> Arc<Event> {
        let object = Arc::new(Stored::from_value(serde_json::json!({"metadata": {}}), rv));
        Arc::new(Event::new(
            rv,
            ResourceId(0),
            String::new(),
            format!("o{rv}"),
            EventType::Added,
            object,
            None,
        ))
    }

    #[test]
    fn stale_events_go_beyond_the_lower_bound_and_raise_the_floor() {
        let mut h = History::new(20_000);
        let start = Instant::now();
        for rv in 2..=1000 {
            h.push(event(rv), start);
        }
        assert_eq!(h.since(1, ResourceId(0), None).len(), 999);
        // Nothing is stale yet.
        assert_eq!(h.trim(start + DEFAULT_FRESH), 0);
        assert!(h.trim(start + DEFAULT_FRESH + Duration::from_secs(1)) > 0);
        assert_eq!(h.since(1, ResourceId(0), None).len(), LOWER_BOUND);
        assert_eq!(h.floor(), 1000 - LOWER_BOUND as u64);
        assert!(h.take_dropped() > 0);
        assert_eq!(h.take_dropped(), 0);
        // A fresh event stays with the last old ones.
        h.push(event(1001), start + Duration::from_secs(100));
        assert_eq!(h.since(0, ResourceId(0), None).len(), LOWER_BOUND);
    }

    #[test]
    fn the_count_cap_holds_whatever_the_age() {
        let mut h = History::new(10);
        let now = Instant::now();
        for rv in 2..=50 {
            h.push(event(rv), now);
        }
        let kept = h.since(0, ResourceId(0), None);
        assert_eq!(kept.len(), 10);
        assert_eq!(kept[0].rv, 41);
        assert_eq!(h.floor(), 40);
    }
}
