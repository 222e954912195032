//! What changed before the first symptom: Deployment revisions with their template diff,
//! scale events, edits by people (managedFields), node conditions, and — when the explorer
//! was running — every change it watched happen ([`ChangeLog`]).

use crate::model::status::utc;
use std::collections::{BTreeSet, HashMap, VecDeque};

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::scope::{key, name_of, ns_of};
use super::template_diff::{TemplateSummary, template_changes};
use super::workloads::replica_sets_of;
use super::{Change, Ctx, ObjectRef};
use crate::model::Objects;
use crate::model::kind::Kind;
use crate::model::revision::revision;

/// Changes kept by the explorer in all, and per object: the last few differences, never
/// whole copies (the explorer's memory budget counts them).
const MAX_CHANGES: usize = 2000;
const MAX_PER_OBJECT: usize = 8;
/// Scale events shown per workload.
const MAX_SCALE_EVENTS: usize = 6;
/// Writers whose edits are the cluster's own work, not a person's change.
const CONTROLLERS: &[&str] = &[
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kdive-lab",
];

pub(crate) fn changes_in_window(
    ctx: &Ctx<'_>,
    history: Option<&ChangeLog>,
    from: DateTime<Utc>,
) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    let mut watched: BTreeSet<ObjectRef> = BTreeSet::new();
    for d in &ctx.scope.deployments {
        let d_ref = key("Deployment", &d.metadata);
        watched.insert(d_ref.clone());
        let sets = replica_sets_of(ctx, d);
        for pair in sets.windows(2) {
            let (old, new) = (&pair[0], &pair[1]);
            let Some(at) = new.metadata.creation_timestamp.as_ref().map(utc) else {
                continue;
            };
            if at < from {
                continue;
            }
            let a = old
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .map(TemplateSummary::of);
            let b = new
                .spec
                .as_ref()
                .and_then(|s| s.template.as_ref())
                .map(TemplateSummary::of);
            let diff = match (a, b) {
                (Some(a), Some(b)) => template_changes(&a, &b).join("; "),
                _ => String::new(),
            };
            let mut what = format!(
                "revision {} (ReplicaSet {})",
                revision(&new.metadata),
                name_of(&new.metadata)
            );
            if !diff.is_empty() {
                what.push_str(": ");
                what.push_str(&diff);
            }
            out.push(Change {
                at,
                object: d_ref.clone(),
                what,
            });
        }
        let ns = ns_of(&d.metadata);
        let scaled = ctx.events.seen(
            "Deployment",
            ns,
            name_of(&d.metadata),
            &["ScalingReplicaSet"],
        );
        for s in scaled
            .iter()
            .filter(|s| s.last.is_some_and(|t| t >= from))
            .take(MAX_SCALE_EVENTS)
        {
            out.push(Change {
                at: s.last.unwrap_or(from),
                object: d_ref.clone(),
                what: s.message.clone(),
            });
        }
        out.extend(edits(&d.metadata, "Deployment", from));
    }
    for s in &ctx.scope.stateful_sets {
        watched.insert(key("StatefulSet", &s.metadata));
        out.extend(edits(&s.metadata, "StatefulSet", from));
    }
    for s in &ctx.scope.services {
        watched.insert(key("Service", &s.metadata));
        out.extend(edits(&s.metadata, "Service", from));
    }
    for (kind, ns, name) in consumed_config(ctx) {
        let r = ObjectRef::namespaced(kind, &ns, &name);
        watched.insert(r.clone());
        let meta = match kind {
            "ConfigMap" => ctx
                .objects
                .config_maps
                .iter()
                .find(|c| ns_of(&c.metadata) == ns && name_of(&c.metadata) == name)
                .map(|c| &c.metadata),
            _ => ctx
                .objects
                .secrets
                .iter()
                .find(|c| ns_of(&c.metadata) == ns && name_of(&c.metadata) == name)
                .map(|c| &c.metadata),
        };
        if let Some(meta) = meta {
            out.extend(edits(meta, kind, from));
        }
    }
    for n in &ctx.scope.nodes {
        watched.insert(key("Node", &n.metadata));
        if let Some(c) = crate::model::node::ready_condition(n)
            && let Some(at) = c
                .last_transition_time
                .as_ref()
                .map(utc)
                .filter(|t| *t >= from)
        {
            out.push(Change {
                at,
                object: key("Node", &n.metadata),
                what: format!(
                    "Ready became {} ({})",
                    c.status,
                    c.reason.as_deref().unwrap_or("")
                ),
            });
        }
    }
    if let Some(h) = history {
        for c in h.since(from).filter(|c| watched.contains(&c.object)) {
            // A revision the ReplicaSets already told about, seen live as the same edit.
            let dup = out.iter().any(|o| {
                o.object == c.object
                    && (o.at - c.at).num_seconds().abs() <= 10
                    && o.what.contains(&c.what)
            });
            if !dup {
                out.push(c.clone());
            }
        }
    }
    out.sort_by(|a, b| {
        b.at.cmp(&a.at)
            .then(a.object.cmp(&b.object))
            .then(a.what.cmp(&b.what))
    });
    out.dedup_by(|a, b| a.at == b.at && a.object == b.object && a.what == b.what);
    out
}

/// Writes by people or tools other than the cluster's controllers, from managedFields
/// (real API servers keep them; the time is that manager's last write).
fn edits(meta: &ObjectMeta, kind: &str, from: DateTime<Utc>) -> Vec<Change> {
    let mut out = Vec::new();
    for m in meta.managed_fields.iter().flatten() {
        let manager = m.manager.as_deref().unwrap_or("");
        let Some(at) = m.time.as_ref().map(utc) else {
            continue;
        };
        if at < from || CONTROLLERS.contains(&manager) || m.subresource.as_deref() == Some("status")
        {
            continue;
        }
        // The creating write is not an edit.
        if meta
            .creation_timestamp
            .as_ref()
            .is_some_and(|c| (at - utc(c)).num_seconds().abs() < 2)
        {
            continue;
        }
        out.push(Change {
            at,
            object: key(kind, meta),
            what: format!(
                "edited by {manager} ({})",
                m.operation.as_deref().unwrap_or("Update")
            ),
        });
    }
    out
}

/// ConfigMaps and Secrets the scope's workloads and pods read.
fn consumed_config(ctx: &Ctx<'_>) -> BTreeSet<(&'static str, String, String)> {
    let mut out = BTreeSet::new();
    let templates = ctx
        .scope
        .deployments
        .iter()
        .filter_map(|d| Some((ns_of(&d.metadata), &d.spec.as_ref()?.template)))
        .chain(
            ctx.scope
                .stateful_sets
                .iter()
                .filter_map(|d| Some((ns_of(&d.metadata), &d.spec.as_ref()?.template))),
        );
    for (ns, t) in templates {
        for (kind, name) in TemplateSummary::config_refs(t) {
            out.insert((kind, ns.to_string(), name));
        }
    }
    out
}

/// What the explorer saw change, kept small: for each watched object a fingerprint of what
/// matters (replicas and template essentials, selector and ports, resourceVersion of
/// ConfigMaps and Secrets, node readiness) and the last differences.
#[derive(Debug, Default)]
pub struct ChangeLog {
    last: HashMap<ObjectRef, Fingerprint>,
    changes: VecDeque<Change>,
    primed: BTreeSet<Kind>,
}

#[derive(Debug, Clone, PartialEq)]
enum Fingerprint {
    Workload {
        replicas: i32,
        template: TemplateSummary,
    },
    Service {
        selector: String,
        ports: String,
        type_: String,
    },
    Data {
        version: String,
    },
    Node {
        ready: String,
    },
}

impl ChangeLog {
    pub fn new() -> ChangeLog {
        ChangeLog::default()
    }

    /// Compares the kinds that changed with what was seen before. The first look at a kind
    /// only learns it: objects there at start are not changes.
    pub fn observe(&mut self, objects: &Objects, kinds: &[Kind], now: DateTime<Utc>) {
        for &kind in kinds {
            let current: Vec<(ObjectRef, Fingerprint)> = match kind {
                Kind::Deployment => objects
                    .deployments
                    .iter()
                    .map(|d| {
                        let spec = d.spec.as_ref();
                        (
                            key("Deployment", &d.metadata),
                            workload(spec.and_then(|s| s.replicas), spec.map(|s| &s.template)),
                        )
                    })
                    .collect(),
                Kind::StatefulSet => objects
                    .stateful_sets
                    .iter()
                    .map(|d| {
                        let spec = d.spec.as_ref();
                        (
                            key("StatefulSet", &d.metadata),
                            workload(spec.and_then(|s| s.replicas), spec.map(|s| &s.template)),
                        )
                    })
                    .collect(),
                Kind::Service => objects
                    .services
                    .iter()
                    .map(|s| {
                        let spec = s.spec.clone().unwrap_or_default();
                        let ports: Vec<String> = spec
                            .ports
                            .iter()
                            .flatten()
                            .map(|p| {
                                format!(
                                    "{}→{}",
                                    p.port,
                                    serde_json::to_string(&p.target_port).unwrap_or_default()
                                )
                            })
                            .collect();
                        let selector: Vec<String> = spec
                            .selector
                            .iter()
                            .flatten()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect();
                        (
                            key("Service", &s.metadata),
                            Fingerprint::Service {
                                selector: selector.join(","),
                                ports: ports.join(","),
                                type_: spec.type_.unwrap_or_default(),
                            },
                        )
                    })
                    .collect(),
                Kind::ConfigMap => objects
                    .config_maps
                    .iter()
                    .map(|c| (key("ConfigMap", &c.metadata), data(&c.metadata)))
                    .collect(),
                Kind::Secret => objects
                    .secrets
                    .iter()
                    .map(|c| (key("Secret", &c.metadata), data(&c.metadata)))
                    .collect(),
                Kind::Node => objects
                    .nodes
                    .iter()
                    .map(|n| {
                        let ready = crate::model::node::ready_condition(n)
                            .map(|c| {
                                format!("{} ({})", c.status, c.reason.as_deref().unwrap_or(""))
                            })
                            .unwrap_or_else(|| "Unknown".into());
                        (key("Node", &n.metadata), Fingerprint::Node { ready })
                    })
                    .collect(),
                _ => continue,
            };
            let learning = self.primed.insert(kind);
            let mut present: BTreeSet<ObjectRef> = BTreeSet::new();
            for (r, fp) in current {
                present.insert(r.clone());
                let before = self.last.insert(r.clone(), fp.clone());
                if learning {
                    continue;
                }
                match before {
                    None => self.record(now, r, "created".into()),
                    Some(old) if old != fp => {
                        if let Some(what) = describe(&old, &fp) {
                            self.record(now, r, what);
                        }
                    }
                    _ => {}
                }
            }
            let gone: Vec<ObjectRef> = self
                .last
                .keys()
                .filter(|r| kind_of(r) == Some(kind) && !present.contains(*r))
                .cloned()
                .collect();
            for r in gone {
                self.last.remove(&r);
                if !learning {
                    self.record(now, r, "deleted".into());
                }
            }
        }
    }

    fn record(&mut self, at: DateTime<Utc>, object: ObjectRef, what: String) {
        let mine = self.changes.iter().filter(|c| c.object == object).count();
        if mine >= MAX_PER_OBJECT
            && let Some(i) = self.changes.iter().position(|c| c.object == object)
        {
            self.changes.remove(i);
        }
        if self.changes.len() >= MAX_CHANGES {
            self.changes.pop_front();
        }
        self.changes.push_back(Change { at, object, what });
    }

    pub fn since(&self, from: DateTime<Utc>) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.at >= from)
    }

    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

fn kind_of(r: &ObjectRef) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.name() == r.kind)
}

fn workload(
    replicas: Option<i32>,
    template: Option<&k8s_openapi::api::core::v1::PodTemplateSpec>,
) -> Fingerprint {
    Fingerprint::Workload {
        replicas: replicas.unwrap_or(1),
        template: template.map(TemplateSummary::of).unwrap_or_default(),
    }
}

fn data(meta: &ObjectMeta) -> Fingerprint {
    Fingerprint::Data {
        version: meta.resource_version.clone().unwrap_or_default(),
    }
}

fn describe(old: &Fingerprint, new: &Fingerprint) -> Option<String> {
    match (old, new) {
        (
            Fingerprint::Workload {
                replicas: a,
                template: ta,
            },
            Fingerprint::Workload {
                replicas: b,
                template: tb,
            },
        ) => {
            let mut parts = Vec::new();
            if a != b {
                parts.push(format!("scaled {a} → {b}"));
            }
            parts.extend(template_changes(ta, tb));
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        (
            Fingerprint::Service {
                selector: sa,
                ports: pa,
                type_: ta,
            },
            Fingerprint::Service {
                selector: sb,
                ports: pb,
                type_: tb,
            },
        ) => {
            let mut parts = Vec::new();
            if sa != sb {
                parts.push(format!("selector {sa} → {sb}"));
            }
            if pa != pb {
                parts.push(format!("ports {pa} → {pb}"));
            }
            if ta != tb {
                parts.push(format!("type {ta} → {tb}"));
            }
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        // Names only: what changed inside a ConfigMap or Secret is not kept.
        (Fingerprint::Data { .. }, Fingerprint::Data { .. }) => Some("data changed".into()),
        (Fingerprint::Node { ready: a }, Fingerprint::Node { ready: b }) => {
            Some(format!("Ready {a} → {b}"))
        }
        _ => None,
    }
}
