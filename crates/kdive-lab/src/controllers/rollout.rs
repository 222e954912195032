//! The scaling decisions of the deployment controller (`rolling.go`, `recreate.go`,
//! `sync.go`'s `scale` and `cleanupDeployment`), applied to an in-memory working set so one
//! reconcile can chain them the way upstream chains API calls within one sync.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;

use kdive_core::model::rollout::is_recreate;

use super::EventRecord;
use super::replicaset::{controller_of, from_time, object_ref};
use super::revision::{self, DESIRED_REPLICAS, MAX_REPLICAS};

pub const COMPONENT: &str = "deployment-controller";

/// The Deployment's ReplicaSets as one sync sees them, with every change made so far.
pub struct Working<'a> {
    pub d: &'a Deployment,
    pub replicas: i32,
    pub max_surge: i32,
    pub max_unavailable: i32,
    pub rss: Vec<ReplicaSet>,
    pub new_rs: Option<usize>,
    pub created: Option<usize>,
    pub updated: BTreeSet<usize>,
    pub deleted: BTreeSet<usize>,
    /// Names of every ReplicaSet in the namespace, owned or not (hash collisions).
    pub names_in_use: BTreeSet<String>,
    pub events: Vec<EventRecord>,
    pub now: DateTime<Utc>,
}

pub fn spec_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn set_spec_replicas(rs: &mut ReplicaSet, n: i32) {
    rs.spec.get_or_insert_with(Default::default).replicas = Some(n);
}

pub fn status_replicas(rs: &ReplicaSet) -> i32 {
    rs.status.as_ref().map_or(0, |s| s.replicas)
}

pub fn available(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.available_replicas)
        .unwrap_or(0)
}

pub fn ready(rs: &ReplicaSet) -> i32 {
    rs.status
        .as_ref()
        .and_then(|s| s.ready_replicas)
        .unwrap_or(0)
}

fn created_at(rs: &ReplicaSet) -> Option<DateTime<Utc>> {
    from_time(rs.metadata.creation_timestamp.as_ref()?)
}

impl Working<'_> {
    pub fn old(&self) -> Vec<usize> {
        (0..self.rss.len())
            .filter(|i| Some(*i) != self.new_rs && !self.deleted.contains(i))
            .collect()
    }

    pub fn all(&self) -> Vec<usize> {
        let mut all = self.old();
        all.extend(self.new_rs);
        all
    }

    fn sum(&self, idx: &[usize], f: fn(&ReplicaSet) -> i32) -> i32 {
        idx.iter().map(|i| f(&self.rss[*i])).sum()
    }

    /// `ReplicaSetsByCreationTimestamp`: oldest first, name breaking ties.
    fn by_creation(&self, mut idx: Vec<usize>) -> Vec<usize> {
        idx.sort_by(|a, b| {
            let (a, b) = (&self.rss[*a], &self.rss[*b]);
            created_at(a)
                .cmp(&created_at(b))
                .then_with(|| a.metadata.name.cmp(&b.metadata.name))
        });
        idx
    }

    fn active(&self, idx: Vec<usize>) -> Vec<usize> {
        idx.into_iter()
            .filter(|i| spec_replicas(&self.rss[*i]) > 0)
            .collect()
    }

    /// `scaleReplicaSet`: new size and the replica annotations; an Event when the size moves.
    pub fn scale(&mut self, i: usize, to: i32) -> bool {
        let (desired, max) = (self.replicas, self.replicas + self.max_surge);
        let rs = &mut self.rss[i];
        let from = spec_replicas(rs);
        let annotations_stale = revision::annotation(&rs.metadata, DESIRED_REPLICAS)
            != Some(desired.to_string().as_str())
            || revision::annotation(&rs.metadata, MAX_REPLICAS) != Some(max.to_string().as_str());
        if from == to && !annotations_stale {
            return false;
        }
        set_spec_replicas(rs, to);
        revision::set_replicas_annotations(rs, desired, max);
        self.updated.insert(i);
        if from != to {
            let op = if from < to { "up" } else { "down" };
            let name = rs.metadata.name.clone().unwrap_or_default();
            self.event(format!(
                "Scaled {op} replica set {name} from {from} to {to}"
            ));
        }
        from != to
    }

    /// `scaleReplicaSetAndRecordEvent`: only when the size differs.
    fn scale_if_needed(&mut self, i: usize, to: i32) -> bool {
        spec_replicas(&self.rss[i]) != to && self.scale(i, to)
    }

    pub fn event(&mut self, message: String) {
        self.events.push(EventRecord {
            type_: "Normal",
            reason: "ScalingReplicaSet".into(),
            message,
            involved: object_ref("Deployment", &self.d.metadata),
            component: COMPONENT,
            host: None,
            time: self.now,
        });
    }

    /// `NewRSNewReplicas` for RollingUpdate: grow the new RS up to replicas + maxSurge total.
    pub fn new_rs_new_replicas(&self, new: usize, all: &[usize]) -> i32 {
        let current = self.sum(all, spec_replicas);
        let new_size = spec_replicas(&self.rss[new]);
        let max_total = self.replicas + self.max_surge;
        if current >= max_total {
            return new_size;
        }
        let up = (max_total - current).min(self.replicas - new_size);
        new_size + up.max(0)
    }

    /// `rolloutRolling` minus status: true when something was scaled.
    pub fn rolling(&mut self) -> bool {
        let Some(new) = self.new_rs else {
            return false;
        };
        // reconcileNewReplicaSet
        let new_size = spec_replicas(&self.rss[new]);
        if new_size > self.replicas {
            return self.scale_if_needed(new, self.replicas);
        }
        if new_size < self.replicas {
            let target = self.new_rs_new_replicas(new, &self.all());
            if self.scale_if_needed(new, target) {
                return true;
            }
        }
        self.reconcile_old()
    }

    /// `reconcileOldReplicaSets`.
    fn reconcile_old(&mut self) -> bool {
        let Some(new) = self.new_rs else {
            return false;
        };
        let old = self.old();
        if self.sum(&old, spec_replicas) == 0 {
            return false;
        }
        let all_pods = self.sum(&self.all(), spec_replicas);
        let min_available = self.replicas - self.max_unavailable;
        let new_unavailable = spec_replicas(&self.rss[new]) - available(&self.rss[new]);
        let max_scaled_down = all_pods - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return false;
        }
        // cleanupUnhealthyReplicas: first drop old pods that are not available anyway.
        let mut cleaned = 0;
        for i in self.by_creation(self.active(old.clone())) {
            if cleaned >= max_scaled_down {
                break;
            }
            let (size, avail) = (spec_replicas(&self.rss[i]), available(&self.rss[i]));
            if size == avail {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(size - avail);
            self.scale(i, size - down);
            cleaned += down;
        }
        // scaleDownOldReplicaSetsForRollingUpdate: keep minAvailable available pods.
        let available_pods = self.sum(&self.all(), available);
        let mut scaled = 0;
        if available_pods > min_available {
            let total = available_pods - min_available;
            for i in self.by_creation(old) {
                if scaled >= total {
                    break;
                }
                let size = spec_replicas(&self.rss[i]);
                if size == 0 {
                    continue;
                }
                let down = size.min(total - scaled);
                self.scale(i, size - down);
                scaled += down;
            }
        }
        cleaned + scaled > 0
    }

    /// `scaleDownOldReplicaSetsForRecreate`.
    pub fn recreate_scale_down(&mut self) -> bool {
        let mut scaled = false;
        for i in self.active(self.old()) {
            scaled |= self.scale_if_needed(i, 0);
        }
        scaled
    }

    /// `oldPodsRunning`: old ReplicaSets still report pods, or own pods not yet finished.
    pub fn old_pods_running(&self, pods: &[Pod]) -> bool {
        let old = self.old();
        if self.sum(&old, status_replicas) > 0 {
            return true;
        }
        let old_uids: Vec<&str> = old
            .iter()
            .filter_map(|i| self.rss[*i].metadata.uid.as_deref())
            .collect();
        pods.iter().any(|p| {
            let owned =
                controller_of(&p.metadata).is_some_and(|o| old_uids.contains(&o.uid.as_str()));
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            owned && !matches!(phase, Some("Failed" | "Succeeded"))
        })
    }

    /// `sync.go` `scale`: a scaling event outside a rollout, proportional when several
    /// ReplicaSets are active during a rolling update.
    pub fn proportional_scale(&mut self) {
        let old = self.old();
        let mut all_active = self.active(self.all());
        let latest = match (all_active.len(), self.new_rs) {
            (1, _) => Some(all_active[0]),
            (0, Some(new)) => Some(new),
            // FindActiveOrLatest: the newest old ReplicaSet.
            (0, None) => self.by_creation(old.clone()).last().copied(),
            _ => None,
        };
        if let Some(i) = latest {
            self.scale_if_needed(i, self.replicas);
            return;
        }
        if self.new_rs.is_some_and(|n| self.is_saturated(n)) {
            for i in self.active(old) {
                self.scale_if_needed(i, 0);
            }
            return;
        }
        if is_recreate(self.d) {
            return;
        }
        let current = self.sum(&all_active, spec_replicas);
        let allowed = if self.replicas > 0 {
            self.replicas + self.max_surge
        } else {
            0
        };
        let to_add = allowed - current;
        // Larger first; newer first when adding, older first when removing.
        all_active.sort_by(|a, b| {
            let (ra, rb) = (&self.rss[*a], &self.rss[*b]);
            let by_age = if to_add > 0 {
                created_at(rb).cmp(&created_at(ra))
            } else {
                created_at(ra).cmp(&created_at(rb))
            };
            spec_replicas(rb).cmp(&spec_replicas(ra)).then(by_age)
        });
        let mut added = 0;
        let mut sizes: Vec<(usize, i32)> = Vec::new();
        for &i in &all_active {
            let size = spec_replicas(&self.rss[i]);
            let proportion = if to_add != 0 {
                self.proportion(i, to_add, added)
            } else {
                0
            };
            added += proportion;
            sizes.push((i, size + proportion));
        }
        if added != to_add && !sizes.is_empty() {
            sizes[0].1 = (sizes[0].1 + to_add - added).max(0);
        }
        for (i, size) in sizes {
            self.scale(i, size);
        }
    }

    /// `GetProportion` with `getReplicaSetFraction`.
    fn proportion(&self, i: usize, to_add: i32, added: i32) -> i32 {
        let rs = &self.rss[i];
        let size = spec_replicas(rs);
        if size == 0 || to_add == added {
            return 0;
        }
        let fraction = if self.replicas == 0 {
            -size
        } else {
            let max_now = self.replicas + self.max_surge;
            let before = revision::annotation(&rs.metadata, MAX_REPLICAS)
                .and_then(|v| v.parse::<i32>().ok())
                .filter(|v| *v > 0)
                .unwrap_or_else(|| self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0));
            if before <= 0 {
                return 0; // nothing to scale from; upstream would divide by zero
            }
            let new_size = f64::from(size) * f64::from(max_now) / f64::from(before);
            new_size.round() as i32 - size
        };
        let allowed = to_add - added;
        if to_add > 0 {
            fraction.min(allowed)
        } else {
            fraction.max(allowed)
        }
    }

    /// `IsSaturated`.
    fn is_saturated(&self, i: usize) -> bool {
        let rs = &self.rss[i];
        let desired =
            revision::annotation(&rs.metadata, DESIRED_REPLICAS).and_then(|v| v.parse().ok());
        spec_replicas(rs) == self.replicas
            && desired == Some(self.replicas)
            && available(rs) == self.replicas
    }

    /// `isScalingEvent`: an active ReplicaSet was sized for a different spec.replicas.
    pub fn is_scaling_event(&self) -> bool {
        self.active(self.all()).into_iter().any(|i| {
            revision::annotation(&self.rss[i].metadata, DESIRED_REPLICAS)
                .and_then(|v| v.parse::<i32>().ok())
                .is_some_and(|d| d != self.replicas)
        })
    }

    /// `cleanupDeployment`: delete the oldest revisions beyond revisionHistoryLimit, only
    /// those fully scaled down and observed.
    pub fn cleanup(&mut self) {
        // The API server defaults the limit to 10; absent means unlimited upstream.
        let Some(limit) = self.d.spec.as_ref().and_then(|s| s.revision_history_limit) else {
            return;
        };
        let alive: Vec<usize> = self
            .old()
            .into_iter()
            .filter(|i| self.rss[*i].metadata.deletion_timestamp.is_none())
            .collect();
        let diff = alive.len() as i64 - i64::from(limit.max(0));
        if diff <= 0 {
            return;
        }
        let mut by_revision = self.by_creation(alive);
        by_revision.sort_by_key(|i| kdive_core::model::revision::revision(&self.rss[*i].metadata));
        for i in by_revision.into_iter().take(diff as usize) {
            let rs = &self.rss[i];
            let observed = rs
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .unwrap_or(0);
            if status_replicas(rs) != 0
                || spec_replicas(rs) != 0
                || rs.metadata.generation.unwrap_or(0) > observed
            {
                continue;
            }
            self.deleted.insert(i);
        }
    }
}
