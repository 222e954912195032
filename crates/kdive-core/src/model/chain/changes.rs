//! What changed in a Service's chain from one build to the next: the rows (endpoints and
//! excluded pods) whose state changed, and when; endpoints that left, and when. The chain
//! pane marks them, so a learner sees a failing probe take a pod out of rotation.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use super::{EndpointView, ExclusionReason, ServiceChain};

/// How long a changed row stays highlighted.
pub const HIGHLIGHT: Duration = Duration::seconds(3);
/// How long a removed endpoint stays listed as gone.
pub const GONE_FOR: Duration = Duration::seconds(10);

/// One row of a chain, as the pane lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowKey {
    /// An endpoint under one Service port (the same address may serve several ports).
    Endpoint {
        port: i32,
        address: String,
        pod: Option<String>,
    },
    /// A selected pod that is not an endpoint of this port.
    Excluded { port: i32, pod: String },
}

impl RowKey {
    pub fn endpoint(port: i32, e: &EndpointView) -> RowKey {
        RowKey::Endpoint {
            port,
            address: e.address.clone(),
            pod: e.target_ref.as_ref().map(|t| t.name.clone()),
        }
    }
}

/// What a row shows that can change.
#[derive(Debug, Clone, PartialEq)]
enum RowState {
    Endpoint {
        ready: bool,
        serving: bool,
        terminating: bool,
        probability: Option<f64>,
        node: Option<String>,
    },
    Excluded(ExclusionReason),
}

fn rows(chain: &ServiceChain) -> impl Iterator<Item = (RowKey, RowState)> + '_ {
    chain.ports.iter().flat_map(|p| {
        let endpoints = p.endpoints.iter().map(move |e| {
            let state = RowState::Endpoint {
                ready: e.ready,
                serving: e.serving,
                terminating: e.terminating,
                probability: e.probability,
                node: e.node_name.clone(),
            };
            (RowKey::endpoint(p.port, e), state)
        });
        let excluded = p.excluded.iter().map(move |x| {
            let key = RowKey::Excluded {
                port: p.port,
                pod: x.pod.clone(),
            };
            (key, RowState::Excluded(x.reason))
        });
        endpoints.chain(excluded)
    })
}

/// An endpoint that left the chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Gone {
    pub port: i32,
    pub address: String,
    pub pod: Option<String>,
    pub at: DateTime<Utc>,
}

/// The chain's rows over time. Feed it every build with [`ChainChanges::observe`].
#[derive(Debug, Default)]
pub struct ChainChanges {
    /// Row → (state, when it last changed; None: not since the pane opened).
    rows: HashMap<RowKey, (RowState, Option<DateTime<Utc>>)>,
    gone: Vec<Gone>,
}

impl ChainChanges {
    /// Diffs a new build (None: the chain could not be built) against the last one. Rows of
    /// the first build with any rows are not changes: they were there when the pane opened.
    pub fn observe(&mut self, chain: Option<&ServiceChain>, now: DateTime<Utc>) {
        let first = self.rows.is_empty();
        let mut seen = HashMap::new();
        for (key, state) in chain.into_iter().flat_map(rows) {
            let changed_at = match self.rows.get(&key) {
                Some((old, at)) if *old == state => *at,
                _ if first => None,
                _ => Some(now),
            };
            seen.insert(key, (state, changed_at));
        }
        for key in self.rows.keys() {
            if let RowKey::Endpoint { port, address, pod } = key
                && !seen.contains_key(key)
            {
                self.gone.push(Gone {
                    port: *port,
                    address: address.clone(),
                    pod: pod.clone(),
                    at: now,
                });
            }
        }
        // An endpoint that came back is no longer gone.
        self.gone.retain(|g| {
            let back = RowKey::Endpoint {
                port: g.port,
                address: g.address.clone(),
                pod: g.pod.clone(),
            };
            now - g.at < GONE_FOR && !seen.contains_key(&back)
        });
        self.rows = seen;
    }

    /// When a row last changed (None: not since the pane opened).
    pub fn changed_at(&self, row: &RowKey) -> Option<DateTime<Utc>> {
        self.rows.get(row).and_then(|(_, at)| *at)
    }

    pub fn is_highlighted(&self, row: &RowKey, now: DateTime<Utc>) -> bool {
        self.changed_at(row).is_some_and(|at| now - at < HIGHLIGHT)
    }

    /// Endpoints that left in the last [`GONE_FOR`].
    pub fn gone(&self) -> &[Gone] {
        &self.gone
    }

    /// Whether anything is still highlighted or listed as gone (the pane keeps redrawing).
    pub fn has_recent(&self, now: DateTime<Utc>) -> bool {
        !self.gone.is_empty()
            || self
                .rows
                .values()
                .any(|(_, at)| at.is_some_and(|at| now - at < HIGHLIGHT + Duration::seconds(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::chain::{ChainOptions, build};

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    fn web() -> ServiceChain {
        build(
            &crate::fixtures::chain_demo(),
            "demo",
            "web",
            &ChainOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_first_build_is_not_a_change_and_a_repeat_changes_nothing() {
        let mut c = ChainChanges::default();
        c.observe(Some(&web()), at(0));
        c.observe(Some(&web()), at(1));
        assert!(!c.has_recent(at(1)));
        let e = &web().ports[0].endpoints[0];
        assert_eq!(c.changed_at(&RowKey::endpoint(80, e)), None);
    }

    #[test]
    fn a_changed_endpoint_is_highlighted_then_fades_and_a_removed_one_is_gone() {
        let mut c = ChainChanges::default();
        let mut chain = web();
        c.observe(Some(&chain), at(0));
        let port = chain.ports[0].port;
        chain.ports[0].endpoints[0].ready = false;
        let removed = chain.ports[0].endpoints.pop().unwrap();
        c.observe(Some(&chain), at(10));
        let changed = RowKey::endpoint(port, &chain.ports[0].endpoints[0]);
        assert!(c.is_highlighted(&changed, at(12)));
        assert!(
            !c.is_highlighted(&changed, at(13)),
            "{HIGHLIGHT:?} later it fades"
        );
        assert_eq!(c.gone().len(), 1);
        assert_eq!(c.gone()[0].address, removed.address);
        // Back before it was forgotten: no longer gone.
        chain.ports[0].endpoints.push(removed);
        c.observe(Some(&chain), at(11));
        assert!(c.gone().is_empty());
    }

    #[test]
    fn gone_endpoints_are_forgotten_after_a_while() {
        let mut c = ChainChanges::default();
        let mut chain = web();
        c.observe(Some(&chain), at(0));
        chain.ports[0].endpoints.pop();
        c.observe(Some(&chain), at(1));
        c.observe(Some(&chain), at(1 + GONE_FOR.num_seconds()));
        assert!(c.gone().is_empty());
    }
}
