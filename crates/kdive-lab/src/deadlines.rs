//! Pending "look again at" times per key, for controllers and kubelets with tens of
//! thousands of keys: the next deadline and the due keys are found without a scan. A heap
//! orders the deadlines; a map holds each key's current one, so an entry superseded by a
//! reschedule or a removal is recognised (and dropped) when it reaches the top.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;

pub struct Deadlines<K, T> {
    heap: BinaryHeap<Reverse<(T, u64, K)>>,
    /// Each key's live deadline and the sequence number of its heap entry.
    current: HashMap<K, (T, u64)>,
    seq: u64,
}

impl<K: Clone + Eq + Hash + Ord, T: Copy + Ord> Default for Deadlines<K, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Clone + Eq + Hash + Ord, T: Copy + Ord> Deadlines<K, T> {
    pub fn new() -> Self {
        Deadlines {
            heap: BinaryHeap::new(),
            current: HashMap::new(),
            seq: 0,
        }
    }

    /// Sets `key`'s deadline to `at`, replacing any earlier or later one.
    pub fn schedule(&mut self, key: K, at: T) {
        self.seq += 1;
        self.current.insert(key.clone(), (at, self.seq));
        self.heap.push(Reverse((at, self.seq, key)));
        // Stale entries pile up when keys are rescheduled often; rebuild before they dominate.
        if self.heap.len() > 64 + 2 * self.current.len() {
            self.compact();
        }
    }

    pub fn remove(&mut self, key: &K) {
        self.current.remove(key);
    }

    pub fn get(&self, key: &K) -> Option<T> {
        self.current.get(key).map(|(t, _)| *t)
    }

    pub fn len(&self) -> usize {
        self.current.len()
    }

    pub fn is_empty(&self) -> bool {
        self.current.is_empty()
    }

    /// The earliest live deadline.
    pub fn earliest(&mut self) -> Option<T> {
        self.drop_stale();
        self.heap.peek().map(|Reverse((t, _, _))| *t)
    }

    /// Removes and returns up to `limit` keys whose deadline is at or before `now`, earliest
    /// first.
    pub fn pop_due(&mut self, now: T, limit: usize) -> Vec<K> {
        let mut due = Vec::new();
        while due.len() < limit {
            self.drop_stale();
            match self.heap.peek() {
                Some(Reverse((t, _, _))) if *t <= now => {}
                _ => break,
            }
            if let Some(Reverse((_, _, key))) = self.heap.pop() {
                self.current.remove(&key);
                due.push(key);
            }
        }
        due
    }

    fn live(&self, at: T, seq: u64, key: &K) -> bool {
        self.current.get(key) == Some(&(at, seq))
    }

    fn drop_stale(&mut self) {
        while let Some(Reverse((t, s, k))) = self.heap.peek() {
            if self.live(*t, *s, k) {
                return;
            }
            self.heap.pop();
        }
    }

    fn compact(&mut self) {
        let heap = std::mem::take(&mut self.heap);
        self.heap = heap
            .into_iter()
            .filter(|Reverse((t, s, k))| self.live(*t, *s, k))
            .collect();
    }
}

#[cfg(test)]
mod tests {
    use super::Deadlines;

    #[test]
    fn earliest_first_and_only_when_due() {
        let mut d: Deadlines<&str, u32> = Deadlines::new();
        d.schedule("b", 20);
        d.schedule("a", 10);
        d.schedule("c", 30);
        assert_eq!(d.earliest(), Some(10));
        assert!(d.pop_due(9, 100).is_empty());
        assert_eq!(d.pop_due(20, 100), vec!["a", "b"]);
        assert_eq!(d.earliest(), Some(30));
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn rescheduled_earlier_or_later_keeps_only_the_last_deadline() {
        let mut d: Deadlines<&str, u32> = Deadlines::new();
        d.schedule("a", 50);
        d.schedule("a", 5);
        assert_eq!(d.earliest(), Some(5));
        d.schedule("a", 100);
        assert_eq!(d.earliest(), Some(100));
        assert_eq!(d.get(&"a"), Some(100));
        // The stale entries at 5 and 50 do not make it due early, nor twice.
        assert!(d.pop_due(60, 100).is_empty());
        assert_eq!(d.pop_due(100, 100), vec!["a"]);
        assert!(d.pop_due(1000, 100).is_empty());
        assert_eq!(d.earliest(), None);
    }

    #[test]
    fn removed_keys_never_come_due() {
        let mut d: Deadlines<&str, u32> = Deadlines::new();
        d.schedule("a", 1);
        d.schedule("b", 2);
        d.remove(&"a");
        assert_eq!(d.earliest(), Some(2));
        assert_eq!(d.pop_due(10, 100), vec!["b"]);
        assert!(d.is_empty());
        // Scheduled again after removal: live again.
        d.schedule("a", 3);
        assert_eq!(d.pop_due(10, 100), vec!["a"]);
    }

    #[test]
    fn many_due_at_once_come_out_in_bounded_batches() {
        let mut d: Deadlines<u32, u32> = Deadlines::new();
        for k in 0..10_000 {
            d.schedule(k, k % 7);
        }
        let mut seen = Vec::new();
        loop {
            let batch = d.pop_due(6, 256);
            assert!(batch.len() <= 256);
            if batch.is_empty() {
                break;
            }
            seen.extend(batch);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..10_000).collect::<Vec<_>>());
        assert_eq!(d.earliest(), None);
    }

    #[test]
    fn frequent_reschedules_do_not_grow_the_heap_without_bound() {
        let mut d: Deadlines<u32, u32> = Deadlines::new();
        for round in 0..1_000 {
            for k in 0..10 {
                d.schedule(k, round);
            }
        }
        assert!(d.heap.len() <= 64 + 2 * 10 + 1, "{}", d.heap.len());
        assert_eq!(d.earliest(), Some(999));
        assert_eq!(d.pop_due(999, 100).len(), 10);
    }
}
