//! State the App keeps over time: the open chain and its changes, a pod's readiness and
//! slice-membership timeline, and per-kind watch statistics.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use crate::sources::kube::{NoteType, Skipped, Stores, WatchNote, WatchState};
use kdive_core::model::chain::changes::ChainChanges;
use kdive_core::model::chain::{self, ChainOptions, ServiceChain};
use kdive_core::model::kind::Kind;
use kdive_core::model::objects::{ObjKey, Objects};

const EVENTS_KEPT: usize = 60;
const RATE_WINDOW: Duration = Duration::seconds(10);

pub struct ChainTrack {
    pub key: ObjKey,
    pub stale: bool,
    pub model: Result<ServiceChain, String>,
    /// Which rows just changed and which endpoints left (the core's diff of builds).
    pub changes: ChainChanges,
}

impl ChainTrack {
    pub fn new(key: ObjKey) -> ChainTrack {
        ChainTrack {
            key,
            stale: true,
            model: Err("loading".into()),
            changes: ChainChanges::default(),
        }
    }

    pub fn refresh(&mut self, objs: &Objects, now: DateTime<Utc>) {
        let ns = self.key.namespace.clone().unwrap_or_default();
        let snap = objs.chain_subset(&ns, &self.key.name);
        self.model = chain::build(&snap, &ns, &self.key.name, &ChainOptions::default())
            .map_err(|e| e.to_string());
        self.stale = false;
        self.changes.observe(self.model.as_ref().ok(), now);
    }

    /// Whether a watch event can change this chain: its namespace's Services, slices and
    /// pods, any Node, kube-proxy's configuration, or a relist.
    pub fn affected_by(&self, note: &WatchNote) -> bool {
        match note.kind {
            _ if note.ty == NoteType::Listed => true,
            Kind::Node => true,
            Kind::ConfigMap => note.namespace.as_deref() == Some("kube-system"),
            Kind::Service | Kind::EndpointSlice | Kind::Pod => note.namespace == self.key.namespace,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TimelineEntry {
    pub at: DateTime<Utc>,
    pub what: String,
    /// Ready (true) or not (false) after this entry, when it is about readiness.
    pub ready: Option<bool>,
}

/// A pod's readiness transitions next to its EndpointSlice membership, as observed.
pub struct PodTimeline {
    pub key: ObjKey,
    pub entries: Vec<TimelineEntry>,
    last_ready: Option<bool>,
    last_membership: Option<String>,
    seeded: bool,
}

impl PodTimeline {
    pub fn new(key: ObjKey) -> PodTimeline {
        PodTimeline {
            key,
            entries: Vec::new(),
            last_ready: None,
            last_membership: None,
            seeded: false,
        }
    }

    pub fn observe(&mut self, stores: &Stores, now: DateTime<Utc>) {
        let ns = self.key.namespace.clone().unwrap_or_default();
        let pod = stores
            .pods
            .get(&kube::runtime::reflector::ObjectRef::new(&self.key.name).within(&ns));
        let Some(pod) = pod.map(|p| p.pod()) else {
            if self.last_ready.is_some() {
                self.push(now, "pod deleted".into(), Some(false));
                self.last_ready = None;
            }
            return;
        };
        let conditions = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.clone())
            .unwrap_or_default();
        if !self.seeded {
            // What happened before the pane opened, from the conditions' transition times.
            let mut seeded: Vec<TimelineEntry> = conditions
                .iter()
                .filter_map(|c| {
                    let at = kdive_core::model::status::utc(c.last_transition_time.as_ref()?);
                    Some(TimelineEntry {
                        at,
                        what: format!("{} = {}", c.type_, c.status),
                        ready: (c.type_ == "Ready").then_some(c.status == "True"),
                    })
                })
                .collect();
            seeded.sort_by_key(|e| e.at);
            self.entries.extend(seeded);
            self.seeded = true;
        }
        let ready_condition = kdive_core::model::pod_readiness::ready_condition(&pod);
        let ready = ready_condition.map(|c| c.status == "True");
        if let Some(r) = ready
            && self.last_ready.is_some()
            && self.last_ready != Some(r)
        {
            let at = ready_condition
                .and_then(|c| {
                    c.last_transition_time
                        .as_ref()
                        .map(kdive_core::model::status::utc)
                })
                .unwrap_or(now);
            self.push(
                at,
                format!("Ready = {}", if r { "True" } else { "False" }),
                Some(r),
            );
        }
        self.last_ready = ready.or(self.last_ready);
        let membership = membership(stores, &ns, &self.key.name);
        if self.last_membership.as_ref() != Some(&membership) {
            self.push(now, membership.clone(), None);
            self.last_membership = Some(membership);
        }
    }

    fn push(&mut self, at: DateTime<Utc>, what: String, ready: Option<bool>) {
        self.entries.push(TimelineEntry { at, what, ready });
        if self.entries.len() > 40 {
            self.entries.remove(0);
        }
    }
}

/// Which slices list the pod, and with what conditions.
fn membership(stores: &Stores, ns: &str, pod: &str) -> String {
    let mut parts = Vec::new();
    for s in stores.endpoint_slices.state() {
        if s.metadata.namespace.as_deref() != Some(ns) {
            continue;
        }
        for e in &s.endpoints {
            if e.target_ref.as_ref().and_then(|t| t.name.as_deref()) == Some(pod) {
                let c = e.conditions.clone().unwrap_or_default();
                let ready = c.ready.unwrap_or(true);
                let terminating = c.terminating.unwrap_or(false);
                parts.push(format!(
                    "{} {}{}",
                    s.metadata.name.as_deref().unwrap_or(""),
                    if ready { "ready" } else { "not ready" },
                    if terminating { ", terminating" } else { "" }
                ));
            }
        }
    }
    if parts.is_empty() {
        "in no EndpointSlice".into()
    } else {
        format!("EndpointSlice {}", parts.join("; "))
    }
}

#[derive(Debug, Clone, Default)]
pub struct WatchStats {
    pub state: Option<WatchState>,
    pub since: Option<DateTime<Utc>>,
    pub total: u64,
    pub lists: u64,
    recent: VecDeque<DateTime<Utc>>,
    pub last: VecDeque<WatchNote>,
    /// Objects the server has that could not be decoded, by namespace and name.
    pub skipped: BTreeMap<(Option<String>, String), Skipped>,
}

impl WatchStats {
    pub fn set_state(&mut self, state: WatchState, now: DateTime<Utc>) {
        if self.state.as_ref() != Some(&state) {
            self.since = Some(now);
        }
        self.state = Some(state);
    }

    /// Objects a list or an event could not decode; a list replaces the set.
    pub fn skipped(&mut self, relisted: bool, objects: Vec<Skipped>) {
        if relisted {
            self.skipped.clear();
        }
        for o in objects {
            self.skipped
                .insert((o.namespace.clone(), o.name.clone()), o);
        }
    }

    pub fn note(&mut self, note: WatchNote) {
        if matches!(
            note.ty,
            NoteType::Added | NoteType::Modified | NoteType::Deleted
        ) {
            // Decoded (or deleted) now: no longer skipped.
            self.skipped
                .remove(&(note.namespace.clone(), note.name.clone()));
        }
        if note.ty == NoteType::Listed {
            self.lists += 1;
        } else if note.ty != NoteType::Bookmark {
            self.total += 1;
            self.recent.push_back(note.at);
            while self.recent.len() > 5000 {
                self.recent.pop_front();
            }
        }
        self.last.push_back(note);
        while self.last.len() > EVENTS_KEPT {
            self.last.pop_front();
        }
    }

    /// Events per second over the last 10 s.
    pub fn rate(&self, now: DateTime<Utc>) -> f64 {
        let n = self
            .recent
            .iter()
            .filter(|t| now - **t <= RATE_WINDOW)
            .count();
        n as f64 / RATE_WINDOW.num_seconds() as f64
    }
}
