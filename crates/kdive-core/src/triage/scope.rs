//! What to triage: the target a user names (`svc/web`, `deploy/web`, `ns/demo`, …) and the
//! objects it involves — the Service's pods, the Deployment's ReplicaSets, the nodes they
//! run on, the claims they mount — so rules look at those and nothing else.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Node, PersistentVolumeClaim, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::ObjectRef;
use crate::model::Objects;
use crate::model::stored_pod::StoredPod;
use crate::selector::{service_selector, set_matches_labels};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    Service,
    Deployment,
    StatefulSet,
    Pod,
}

impl TargetKind {
    pub fn kind(self) -> &'static str {
        match self {
            TargetKind::Service => "Service",
            TargetKind::Deployment => "Deployment",
            TargetKind::StatefulSet => "StatefulSet",
            TargetKind::Pod => "Pod",
        }
    }

    fn short(self) -> &'static str {
        match self {
            TargetKind::Service => "svc",
            TargetKind::Deployment => "deploy",
            TargetKind::StatefulSet => "sts",
            TargetKind::Pod => "pod",
        }
    }
}

/// What `kdive triage [TARGET]` looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Object {
        kind: TargetKind,
        namespace: String,
        name: String,
    },
    Namespace(String),
    /// Every namespace, and the cluster-wide causes (DNS, nodes).
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TargetError(pub String);

impl Target {
    /// `svc/NAME`, `deploy/NAME`, `sts/NAME`, `pod/NAME` or `ns/NAME` (kubectl's names,
    /// short names and plurals, `deployment.apps/NAME` too); no target is the namespace, or
    /// everything with `all`.
    pub fn parse(arg: Option<&str>, namespace: &str, all: bool) -> Result<Target, TargetError> {
        let Some(arg) = arg else {
            return Ok(if all {
                Target::All
            } else {
                Target::Namespace(namespace.to_string())
            });
        };
        let Some((kind, name)) = arg.split_once('/') else {
            return Err(TargetError(format!(
                "target {arg:?}: expected KIND/NAME (svc/NAME, deploy/NAME, sts/NAME, pod/NAME or ns/NAME)"
            )));
        };
        if name.is_empty() || name.contains('/') {
            return Err(TargetError(format!(
                "target {arg:?}: the name after {kind:?}/ must be one object name"
            )));
        }
        let kind = kind.to_ascii_lowercase();
        let kind = kind.strip_suffix(".apps").unwrap_or(&kind);
        let object = |k: TargetKind| -> Result<Target, TargetError> {
            if all {
                // kubectl's wording for `kubectl get svc/web -A`.
                return Err(TargetError(format!(
                    "target {arg:?}: a resource cannot be retrieved by name across all namespaces"
                )));
            }
            Ok(Target::Object {
                kind: k,
                namespace: namespace.to_string(),
                name: name.to_string(),
            })
        };
        match kind {
            "svc" | "service" | "services" => object(TargetKind::Service),
            "deploy" | "deployment" | "deployments" => object(TargetKind::Deployment),
            "sts" | "statefulset" | "statefulsets" => object(TargetKind::StatefulSet),
            "po" | "pod" | "pods" => object(TargetKind::Pod),
            "ns" | "namespace" | "namespaces" if !all => Ok(Target::Namespace(name.to_string())),
            "ns" | "namespace" | "namespaces" => Err(TargetError(format!(
                "target {arg:?}: a namespace target and --all-namespaces exclude each other"
            ))),
            other => Err(TargetError(format!(
                "target {arg:?}: unknown kind {other:?}; triage takes svc/NAME, deploy/NAME, sts/NAME, pod/NAME or ns/NAME"
            ))),
        }
    }

    pub fn object_ref(&self) -> Option<ObjectRef> {
        match self {
            Target::Object {
                kind,
                namespace,
                name,
            } => Some(ObjectRef::namespaced(kind.kind(), namespace, name)),
            Target::Namespace(ns) => Some(ObjectRef::new("Namespace", None, ns)),
            Target::All => None,
        }
    }

    /// A clear message when the target does not exist, naming what does.
    pub fn check_exists(&self, objects: &Objects) -> Result<(), TargetError> {
        match self {
            Target::All => Ok(()),
            Target::Namespace(ns) => {
                let known: Vec<String> = objects
                    .namespaces
                    .iter()
                    .filter_map(|n| n.metadata.name.clone())
                    .collect();
                if known.is_empty() || known.iter().any(|n| n == ns) {
                    return Ok(());
                }
                Err(TargetError(format!(
                    "namespace {ns:?} not found (namespaces: {})",
                    capped(known)
                )))
            }
            Target::Object {
                kind,
                namespace,
                name,
            } => {
                let names = names_of(objects, *kind, namespace);
                if names.iter().any(|n| n == name) {
                    return Ok(());
                }
                let there = if names.is_empty() {
                    format!("no {}s in namespace {namespace}", kind.kind())
                } else {
                    format!("{}s in {namespace}: {}", kind.kind(), capped(names))
                };
                Err(TargetError(format!(
                    "{}/{name} not found in namespace {namespace} ({there})",
                    kind.short()
                )))
            }
        }
    }
}

fn names_of(objects: &Objects, kind: TargetKind, ns: &str) -> Vec<String> {
    fn of<'a>(metas: impl Iterator<Item = &'a ObjectMeta>, ns: &str) -> Vec<String> {
        let mut v: Vec<String> = metas
            .filter(|m| m.namespace.as_deref() == Some(ns))
            .filter_map(|m| m.name.clone())
            .collect();
        v.sort();
        v
    }
    match kind {
        TargetKind::Service => of(objects.services.iter().map(|o| &o.metadata), ns),
        TargetKind::Deployment => of(objects.deployments.iter().map(|o| &o.metadata), ns),
        TargetKind::StatefulSet => of(objects.stateful_sets.iter().map(|o| &o.metadata), ns),
        TargetKind::Pod => of(objects.pods.iter().map(|o| &o.metadata), ns),
    }
}

fn capped(mut names: Vec<String>) -> String {
    const SHOWN: usize = 12;
    names.sort();
    let more = names.len().saturating_sub(SHOWN);
    names.truncate(SHOWN);
    let mut s = names.join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

pub(crate) fn ns_of(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

pub(crate) fn name_of(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

pub(crate) fn key(kind: &str, meta: &ObjectMeta) -> ObjectRef {
    ObjectRef::new(kind, meta.namespace.as_deref(), name_of(meta))
}

/// The controller owner reference's kind and name.
pub(crate) fn controller_of(meta: &ObjectMeta) -> Option<(&str, &str, &str)> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| (o.kind.as_str(), o.name.as_str(), o.uid.as_str()))
}

/// The objects a target involves.
pub(crate) struct Scope {
    pub services: Vec<Arc<Service>>,
    pub deployments: Vec<Arc<Deployment>>,
    pub replica_sets: Vec<Arc<ReplicaSet>>,
    pub stateful_sets: Vec<Arc<StatefulSet>>,
    pub pods: Vec<Arc<StoredPod>>,
    pub pvcs: Vec<Arc<PersistentVolumeClaim>>,
    pub nodes: Vec<Arc<Node>>,
    /// DNS and every node, not only those the target's pods run on.
    pub cluster_wide: bool,
    /// Pods by namespace and label pair, for selectors (a namespace of 5,000 pods and 500
    /// Services must not cost 2.5 million label comparisons).
    labels: HashMap<(String, String, String), Vec<u32>>,
    by_ns: HashMap<String, Vec<u32>>,
}

impl Scope {
    pub fn of(objects: &Objects, target: &Target) -> Scope {
        let mut s = Scope {
            services: Vec::new(),
            deployments: Vec::new(),
            replica_sets: Vec::new(),
            stateful_sets: Vec::new(),
            pods: Vec::new(),
            pvcs: Vec::new(),
            nodes: Vec::new(),
            cluster_wide: matches!(target, Target::All),
            labels: HashMap::new(),
            by_ns: HashMap::new(),
        };
        let in_ns = |meta: &ObjectMeta, ns: &str| ns_of(meta) == ns;
        match target {
            Target::All | Target::Namespace(_) => {
                let keep = |m: &ObjectMeta| match target {
                    Target::Namespace(ns) => in_ns(m, ns),
                    _ => true,
                };
                s.services = filtered(&objects.services, |o| keep(&o.metadata));
                s.deployments = filtered(&objects.deployments, |o| keep(&o.metadata));
                s.replica_sets = filtered(&objects.replica_sets, |o| keep(&o.metadata));
                s.stateful_sets = filtered(&objects.stateful_sets, |o| keep(&o.metadata));
                s.pods = filtered(&objects.pods, |o| keep(&o.metadata));
                s.pvcs = filtered(&objects.pvcs, |o| keep(&o.metadata));
            }
            Target::Object {
                kind,
                namespace,
                name,
            } => s.gather(objects, *kind, namespace, name),
        }
        s.index_pods();
        s.add_nodes(objects);
        s
    }

    fn gather(&mut self, objects: &Objects, kind: TargetKind, ns: &str, name: &str) {
        let is = |m: &ObjectMeta| ns_of(m) == ns && name_of(m) == name;
        let pods_ns: Vec<&Arc<StoredPod>> = objects.pods_in(ns);
        let mut templates: Vec<BTreeMap<String, String>> = Vec::new();
        match kind {
            TargetKind::Service => {
                self.services = filtered(&objects.services, |o| is(&o.metadata));
                let sel = self
                    .services
                    .first()
                    .and_then(|svc| service_selector(svc.spec.as_ref()).cloned());
                if let Some(sel) = sel {
                    self.pods = pods_ns
                        .iter()
                        .filter(|p| set_matches_labels(&sel, p.metadata.labels.as_ref()))
                        .map(|p| Arc::clone(p))
                        .collect();
                    let selects = |labels: Option<&BTreeMap<String, String>>| {
                        set_matches_labels(&sel, labels)
                    };
                    self.deployments = filtered(&objects.deployments, |d| {
                        ns_of(&d.metadata) == ns
                            && selects(
                                d.spec
                                    .as_ref()
                                    .and_then(|s| s.template.metadata.as_ref()?.labels.as_ref()),
                            )
                    });
                    self.stateful_sets = filtered(&objects.stateful_sets, |d| {
                        ns_of(&d.metadata) == ns
                            && selects(
                                d.spec
                                    .as_ref()
                                    .and_then(|s| s.template.metadata.as_ref()?.labels.as_ref()),
                            )
                    });
                }
            }
            TargetKind::Deployment => {
                self.deployments = filtered(&objects.deployments, |o| is(&o.metadata));
            }
            TargetKind::StatefulSet => {
                self.stateful_sets = filtered(&objects.stateful_sets, |o| is(&o.metadata));
            }
            TargetKind::Pod => {
                self.pods = pods_ns
                    .iter()
                    .filter(|p| p.name() == name)
                    .map(|p| Arc::clone(p))
                    .collect();
                if let Some(pod) = self.pods.first().cloned() {
                    self.add_owner_chain(objects, &pod.metadata);
                    self.services = filtered(&objects.services, |svc| {
                        ns_of(&svc.metadata) == ns
                            && crate::selector::service_selects(
                                svc.spec.as_ref(),
                                pod.metadata.labels.as_ref(),
                            )
                    });
                }
            }
        }
        // The workloads' ReplicaSets and pods, and the Services that select their templates.
        let deploy_uids: HashSet<String> = self
            .deployments
            .iter()
            .filter_map(|d| d.metadata.uid.clone())
            .collect();
        if kind != TargetKind::Pod {
            self.replica_sets = filtered(&objects.replica_sets, |rs| {
                ns_of(&rs.metadata) == ns
                    && controller_of(&rs.metadata)
                        .is_some_and(|(k, _, uid)| k == "Deployment" && deploy_uids.contains(uid))
            });
            let owners: HashSet<String> = self
                .replica_sets
                .iter()
                .filter_map(|r| r.metadata.uid.clone())
                .chain(
                    self.stateful_sets
                        .iter()
                        .filter_map(|s| s.metadata.uid.clone()),
                )
                .collect();
            let have: HashSet<&str> = self.pods.iter().map(|p| p.name()).collect();
            let more: Vec<Arc<StoredPod>> = pods_ns
                .iter()
                .filter(|p| !have.contains(p.name()))
                .filter(|p| {
                    controller_of(&p.metadata).is_some_and(|(_, _, uid)| owners.contains(uid))
                })
                .map(|p| Arc::clone(p))
                .collect();
            self.pods.extend(more);
        }
        for d in &self.deployments {
            templates.extend(
                d.spec
                    .as_ref()
                    .and_then(|s| s.template.metadata.as_ref()?.labels.clone()),
            );
        }
        for d in &self.stateful_sets {
            templates.extend(
                d.spec
                    .as_ref()
                    .and_then(|s| s.template.metadata.as_ref()?.labels.clone()),
            );
        }
        if kind != TargetKind::Service {
            let already: HashSet<String> = self
                .services
                .iter()
                .filter_map(|s| s.metadata.name.clone())
                .collect();
            let more = filtered(&objects.services, |svc| {
                ns_of(&svc.metadata) == ns
                    && !already.contains(name_of(&svc.metadata))
                    && templates
                        .iter()
                        .any(|t| crate::selector::service_selects(svc.spec.as_ref(), Some(t)))
            });
            self.services.extend(more);
        }
        let claims: HashSet<&str> = self
            .pods
            .iter()
            .flat_map(|p| p.summary.claims.iter().map(String::as_str))
            .collect();
        self.pvcs = filtered(&objects.pvcs, |c| {
            ns_of(&c.metadata) == ns && claims.contains(name_of(&c.metadata))
        });
    }

    /// A pod's ReplicaSet and Deployment, or StatefulSet.
    fn add_owner_chain(&mut self, objects: &Objects, meta: &ObjectMeta) {
        let ns = ns_of(meta);
        let Some((kind, _, uid)) = controller_of(meta) else {
            return;
        };
        let uid = uid.to_string();
        match kind {
            "ReplicaSet" => {
                self.replica_sets = filtered(&objects.replica_sets, |r| {
                    ns_of(&r.metadata) == ns && r.metadata.uid.as_deref() == Some(uid.as_str())
                });
                let parent = self
                    .replica_sets
                    .first()
                    .and_then(|rs| controller_of(&rs.metadata))
                    .map(|(_, _, uid)| uid.to_string());
                if let Some(parent) = parent {
                    self.deployments = filtered(&objects.deployments, |d| {
                        ns_of(&d.metadata) == ns
                            && d.metadata.uid.as_deref() == Some(parent.as_str())
                    });
                }
            }
            "StatefulSet" => {
                self.stateful_sets = filtered(&objects.stateful_sets, |r| {
                    ns_of(&r.metadata) == ns && r.metadata.uid.as_deref() == Some(uid.as_str())
                });
            }
            _ => {}
        }
    }

    /// Nodes that are not Ready and run a pod of the scope (every such node when
    /// cluster-wide). Ready nodes yield no finding, so pods are decoded for their node
    /// names only when some node is down.
    fn add_nodes(&mut self, objects: &Objects) {
        let down: Vec<Arc<Node>> = filtered(&objects.nodes, |n| {
            crate::model::node::ready(n) != Some(true)
        });
        if self.cluster_wide || down.is_empty() {
            self.nodes = down;
            return;
        }
        let used: BTreeSet<String> = self.pods.iter().filter_map(|p| node_name_of(p)).collect();
        self.nodes = down
            .into_iter()
            .filter(|n| used.contains(name_of(&n.metadata)))
            .collect();
    }

    fn index_pods(&mut self) {
        for (i, p) in self.pods.iter().enumerate() {
            let ns = ns_of(&p.metadata).to_string();
            self.by_ns.entry(ns.clone()).or_default().push(i as u32);
            for (k, v) in p.metadata.labels.iter().flatten() {
                self.labels
                    .entry((ns.clone(), k.clone(), v.clone()))
                    .or_default()
                    .push(i as u32);
            }
        }
    }

    /// The scope's pods in `ns` that a map selector selects (an empty selector: none).
    pub fn selected(&self, ns: &str, sel: &BTreeMap<String, String>) -> Vec<&Arc<StoredPod>> {
        let mut lists: Vec<&Vec<u32>> = Vec::new();
        for (k, v) in sel {
            match self.labels.get(&(ns.to_string(), k.clone(), v.clone())) {
                Some(l) => lists.push(l),
                None => return Vec::new(),
            }
        }
        lists.sort_by_key(|l| l.len());
        let Some((first, rest)) = lists.split_first() else {
            return Vec::new();
        };
        let rest: Vec<HashSet<u32>> = rest.iter().map(|l| l.iter().copied().collect()).collect();
        first
            .iter()
            .filter(|i| rest.iter().all(|s| s.contains(i)))
            .map(|&i| &self.pods[i as usize])
            .collect()
    }

    pub fn pods_in(&self, ns: &str) -> impl Iterator<Item = &Arc<StoredPod>> {
        self.by_ns
            .get(ns)
            .into_iter()
            .flatten()
            .map(|&i| &self.pods[i as usize])
    }
}

/// `spec.nodeName` without decoding the whole pod.
pub(crate) fn node_name_of(p: &StoredPod) -> Option<String> {
    p.pod().spec.and_then(|s| s.node_name)
}

fn filtered<T>(items: &[Arc<T>], keep: impl Fn(&T) -> bool) -> Vec<Arc<T>> {
    items.iter().filter(|o| keep(o)).cloned().collect()
}
