//! Events by the object they are about, aggregated as `kubectl describe` shows them: one
//! line per reason and message, with the number of times it happened.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Event;

use super::scope::Scope;
use super::{Evidence, EvidenceSource};
use crate::model::Objects;
use crate::model::status::{utc, utc_micro};

pub(crate) struct EventIndex<'a> {
    by_object: HashMap<(&'a str, &'a str, &'a str), Vec<&'a Event>>,
}

/// One reason and message about an object, summed over the Events that carry it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub reason: String,
    pub message: String,
    pub count: u32,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
}

impl Seen {
    pub fn evidence(&self) -> Evidence {
        Evidence {
            source: EvidenceSource::Event,
            text: format!("{}: {}", self.reason, self.message),
            count: self.count,
        }
    }
}

impl<'a> EventIndex<'a> {
    pub fn of(objects: &'a Objects, scope: &Scope) -> EventIndex<'a> {
        let _ = scope;
        let mut by_object: HashMap<(&str, &str, &str), Vec<&Event>> = HashMap::new();
        for e in &objects.events {
            let o = &e.involved_object;
            by_object
                .entry((
                    o.kind.as_deref().unwrap_or(""),
                    o.namespace.as_deref().unwrap_or(""),
                    o.name.as_deref().unwrap_or(""),
                ))
                .or_default()
                .push(e);
        }
        EventIndex { by_object }
    }

    /// The object's events whose reason is one of `reasons` (all when empty), aggregated,
    /// the most frequent first.
    pub fn seen(&self, kind: &str, ns: &str, name: &str, reasons: &[&str]) -> Vec<Seen> {
        let Some(list) = self.by_object.get(&(kind, ns, name)) else {
            return Vec::new();
        };
        let mut out: Vec<Seen> = Vec::new();
        for e in list {
            let reason = e.reason.as_deref().unwrap_or("");
            if !reasons.is_empty() && !reasons.contains(&reason) {
                continue;
            }
            let message = e.message.as_deref().unwrap_or("").trim().to_string();
            let (first, last) = times(e);
            let count = count(e);
            match out
                .iter_mut()
                .find(|s| s.reason == reason && s.message == message)
            {
                Some(s) => {
                    s.count = s.count.saturating_add(count);
                    s.first = earliest(s.first, first);
                    s.last = latest(s.last, last);
                }
                None => out.push(Seen {
                    reason: reason.to_string(),
                    message,
                    count,
                    first,
                    last,
                }),
            }
        }
        out.sort_by(|a, b| b.count.cmp(&a.count).then(b.last.cmp(&a.last)));
        out
    }
}

/// `count`, or the series' count for events.k8s.io-style series; at least 1.
fn count(e: &Event) -> u32 {
    let n = e
        .series
        .as_ref()
        .and_then(|s| s.count)
        .or(e.count)
        .unwrap_or(1);
    u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

/// When it first and last happened, from whichever fields the reporter filled.
fn times(e: &Event) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let first = e
        .first_timestamp
        .as_ref()
        .map(utc)
        .or(e.event_time.as_ref().map(utc_micro))
        .or(e.metadata.creation_timestamp.as_ref().map(utc));
    let last = e
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref().map(utc_micro))
        .or(e.last_timestamp.as_ref().map(utc))
        .or(first);
    (first, last)
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
