//! The resource tree: Nodes, then namespaces → Services, Deployments → ReplicaSets → Pods,
//! StatefulSets → Pods → PVCs, other Pods, ConfigMaps, Secrets, PVCs. Ids are stable
//! (`Kind/ns/name` for objects, `group:ns:Kind` for groups), so selection and open state
//! survive every update.
//!
//! Children of closed nodes are not built (a placeholder keeps the node openable): with
//! 20,000 pods the tree costs what is on screen, not what is in the cluster.

use std::collections::HashMap;
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube_core::PartialObjectMeta;

use super::kind::Kind;
use super::objects::{ObjKey, Objects};
use super::revision::revision;
use super::status::{self, Health};
use super::stored_pod::StoredPod;

#[derive(Debug, Clone, PartialEq)]
pub struct TreeNode {
    pub id: String,
    pub text: String,
    /// Counts and states after the name (`3/3`, `Running`, `5 pods`).
    pub detail: String,
    pub health: Health,
    pub target: Option<ObjKey>,
    pub children: Vec<TreeNode>,
}

pub const PLACEHOLDER: &str = "…";

pub struct TreeOptions<'a> {
    /// Only this namespace (None: all).
    pub scope: Option<&'a str>,
    /// Case-insensitive substring of object names; ancestors of matches are kept.
    pub filter: &'a str,
    pub is_open: &'a dyn Fn(&str) -> bool,
}

pub fn group_id(ns: &str, kind: Kind) -> String {
    format!("group:{ns}:{}", kind.name())
}

pub fn namespace_id(ns: &str) -> String {
    ObjKey::new(Kind::Namespace, None, ns).id()
}

pub const NODES_ID: &str = "group::Node";

pub fn build(objs: &Objects, opts: &TreeOptions) -> Vec<TreeNode> {
    let filter = opts.filter.to_ascii_lowercase();
    let ctx = Ctx {
        objs,
        filter: &filter,
        is_open: opts.is_open,
        ix: Index::new(objs),
    };
    let mut roots = Vec::new();
    if opts.scope.is_none() {
        roots.extend(ctx.nodes_group());
    }
    let mut namespaces: Vec<String> = objs
        .namespaces
        .iter()
        .filter_map(|n| n.metadata.name.clone())
        .filter(|n| opts.scope.is_none_or(|s| s == n))
        .collect();
    namespaces.sort();
    for ns in namespaces {
        roots.extend(ctx.namespace(&ns));
    }
    roots
}

struct Ctx<'a> {
    objs: &'a Objects,
    filter: &'a str,
    is_open: &'a dyn Fn(&str) -> bool,
    ix: Index<'a>,
}

type ByKey<'a, K> = HashMap<&'a str, Vec<&'a Arc<K>>>;

/// Everything grouped once per build (by namespace, owner uid, Service name), so the tree
/// costs one pass over the objects however many namespaces and workloads there are. Pods,
/// most of the objects, are grouped once per snapshot instead ([`Objects::pod_groups`]).
struct Index<'a> {
    /// A namespace's pods by owner uid, built when an open namespace first needs them.
    pods_by_owner: std::cell::RefCell<HashMap<String, ByKey<'a, StoredPod>>>,
    services: ByKey<'a, Service>,
    /// Keyed by `namespace/service`.
    slices_by_service: HashMap<String, Vec<&'a Arc<EndpointSlice>>>,
    deployments: ByKey<'a, Deployment>,
    replica_sets: ByKey<'a, ReplicaSet>,
    replica_sets_by_owner: ByKey<'a, ReplicaSet>,
    stateful_sets: ByKey<'a, StatefulSet>,
    config_maps: ByKey<'a, ConfigMap>,
    secrets: ByKey<'a, PartialObjectMeta<Secret>>,
    pvcs: ByKey<'a, PersistentVolumeClaim>,
}

fn by_ns<K: kube_core::Resource>(items: &[Arc<K>]) -> ByKey<'_, K> {
    let mut m: ByKey<K> = HashMap::new();
    for o in items {
        m.entry(o.meta().namespace.as_deref().unwrap_or(""))
            .or_default()
            .push(o);
    }
    m
}

fn by_controller<'a, K: kube_core::Resource + 'a>(
    items: impl IntoIterator<Item = &'a Arc<K>>,
) -> ByKey<'a, K> {
    let mut m: ByKey<K> = HashMap::new();
    for o in items {
        let owner = o
            .meta()
            .owner_references
            .as_ref()
            .and_then(|o| o.iter().find(|r| r.controller == Some(true)))
            .map_or("", |r| r.uid.as_str());
        m.entry(owner).or_default().push(o);
    }
    m
}

impl<'a> Index<'a> {
    fn new(objs: &'a Objects) -> Index<'a> {
        let mut slices_by_service: HashMap<String, Vec<&Arc<EndpointSlice>>> = HashMap::new();
        for s in &objs.endpoint_slices {
            if let Some(svc) = s
                .metadata
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/service-name"))
            {
                let ns = s.metadata.namespace.as_deref().unwrap_or("");
                slices_by_service
                    .entry(format!("{ns}/{svc}"))
                    .or_default()
                    .push(s);
            }
        }
        Index {
            pods_by_owner: Default::default(),
            services: by_ns(&objs.services),
            slices_by_service,
            deployments: by_ns(&objs.deployments),
            replica_sets: by_ns(&objs.replica_sets),
            replica_sets_by_owner: by_controller(&objs.replica_sets),
            stateful_sets: by_ns(&objs.stateful_sets),
            config_maps: by_ns(&objs.config_maps),
            secrets: by_ns(&objs.secrets),
            pvcs: by_ns(&objs.pvcs),
        }
    }
}

fn get<'m, 'a, K>(m: &'m ByKey<'a, K>, key: &str) -> &'m [&'a Arc<K>] {
    m.get(key).map_or(&[], Vec::as_slice)
}

fn get_str<'m, 'a, K>(m: &'m HashMap<String, Vec<&'a Arc<K>>>, key: &str) -> &'m [&'a Arc<K>] {
    m.get(key).map_or(&[], Vec::as_slice)
}

fn name_of<K: kube_core::Resource>(o: &K) -> &str {
    o.meta().name.as_deref().unwrap_or("")
}

fn sorted<'a, K: kube_core::Resource + 'a>(
    items: impl Iterator<Item = &'a Arc<K>>,
) -> Vec<&'a Arc<K>> {
    let mut v: Vec<_> = items.collect();
    v.sort_by(|a, b| name_of(a.as_ref()).cmp(name_of(b.as_ref())));
    v
}

impl Ctx<'_> {
    fn filtering(&self) -> bool {
        !self.filter.is_empty()
    }

    fn matches(&self, name: &str) -> bool {
        self.filter.is_empty() || name.to_ascii_lowercase().contains(self.filter)
    }

    /// Open when the user opened it, or when a filter is on (matches must show).
    fn open(&self, id: &str) -> bool {
        self.filtering() || (self.is_open)(id)
    }

    /// A node with children built only when open; None when filtered out.
    fn branch(
        &self,
        mut node: TreeNode,
        self_matches: bool,
        has_children: bool,
        children: impl FnOnce() -> Vec<TreeNode>,
    ) -> Option<TreeNode> {
        if self.open(&node.id) {
            node.children = children();
            if self.filtering() && !self_matches && node.children.is_empty() {
                return None;
            }
        } else if self.filtering() && !self_matches {
            return None;
        } else if has_children {
            node.children = vec![leaf(format!("{}/{PLACEHOLDER}", node.id), PLACEHOLDER)];
        }
        Some(node)
    }

    fn nodes_group(&self) -> Option<TreeNode> {
        let nodes = sorted(self.objs.nodes.iter());
        if nodes.is_empty() {
            return None;
        }
        let health = nodes
            .iter()
            .map(|n| node_health(n))
            .fold(Health::None, Health::worst);
        let ready = nodes
            .iter()
            .filter(|n| node_health(n) == Health::Ok)
            .count();
        let group = TreeNode {
            id: NODES_ID.into(),
            text: format!("Nodes ({})", nodes.len()),
            detail: format!("{ready}/{} Ready", nodes.len()),
            health,
            target: None,
            children: Vec::new(),
        };
        self.branch(group, false, !nodes.is_empty(), || {
            nodes
                .iter()
                .filter(|n| self.matches(name_of(n.as_ref())))
                .map(|n| {
                    let h = node_health(n);
                    let detail = if h == Health::Ok { "Ready" } else { "NotReady" };
                    object_node(
                        ObjKey::new(Kind::Node, None, name_of(n.as_ref())),
                        detail.into(),
                        h,
                    )
                })
                .collect()
        })
    }

    fn namespace(&self, ns: &str) -> Option<TreeNode> {
        let (count, health, not_ok) = self
            .objs
            .pod_groups()
            .get(ns)
            .map_or((0, Health::None, 0), |g| (g.at.len(), g.health, g.not_ok));
        let detail = match (count, not_ok) {
            (0, _) => "no pods".to_string(),
            (n, 0) => format!("{n} pods"),
            (n, k) => format!("{n} pods, {k} not ready"),
        };
        let node = object_node(ObjKey::new(Kind::Namespace, None, ns), detail, health);
        self.branch(node, self.matches(ns), true, || {
            let mut groups = Vec::new();
            groups.extend(self.services(ns));
            groups.extend(self.deployments(ns));
            groups.extend(self.stateful_sets(ns));
            groups.extend(self.other_pods(ns, &self.objs.pods_in(ns)));
            groups.extend(self.simple_group(ns, Kind::ConfigMap));
            groups.extend(self.simple_group(ns, Kind::Secret));
            groups.extend(self.simple_group(ns, Kind::PersistentVolumeClaim));
            groups
        })
    }

    fn group(
        &self,
        ns: &str,
        kind: Kind,
        label: &str,
        count: usize,
        health: Health,
        children: impl FnOnce() -> Vec<TreeNode>,
    ) -> Option<TreeNode> {
        if count == 0 {
            return None;
        }
        let node = TreeNode {
            id: group_id(ns, kind),
            text: format!("{label} ({count})"),
            detail: String::new(),
            health,
            target: None,
            children: Vec::new(),
        };
        self.branch(node, false, true, children)
    }

    fn services(&self, ns: &str) -> Option<TreeNode> {
        let svcs = sorted(get(&self.ix.services, ns).iter().copied());
        let ready_of = |svc: &str| -> (usize, usize) {
            let mut ready = 0;
            let mut total = 0;
            for s in get_str(&self.ix.slices_by_service, &format!("{ns}/{svc}")) {
                for e in &s.endpoints {
                    total += 1;
                    if e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true) {
                        ready += 1;
                    }
                }
            }
            (ready, total)
        };
        let rows: Vec<(TreeNode, bool)> = svcs
            .iter()
            .map(|s| {
                let name = name_of(s.as_ref());
                let spec = s.spec.as_ref();
                let ty = spec
                    .and_then(|s| s.type_.clone())
                    .unwrap_or_else(|| "ClusterIP".into());
                let ip = spec.and_then(|s| s.cluster_ip.clone()).unwrap_or_default();
                let has_selector = crate::selector::service_selector(spec).is_some();
                let (ready, total) = ready_of(name);
                let health = if !has_selector {
                    Health::None
                } else if total == 0 {
                    Health::Bad
                } else {
                    status::replicas_health(total as i32, ready as i32)
                };
                let ip = if crate::model::service::is_headless(s) {
                    "headless".to_string()
                } else {
                    ip
                };
                (
                    object_node(
                        ObjKey::new(Kind::Service, Some(ns), name),
                        format!("{ty} {ip} {ready}/{total} ready"),
                        health,
                    ),
                    self.matches(name),
                )
            })
            .collect();
        let health = rows
            .iter()
            .map(|(n, _)| n.health)
            .fold(Health::None, Health::worst);
        self.group(ns, Kind::Service, "Services", rows.len(), health, || {
            rows.into_iter()
                .filter(|(_, m)| *m)
                .map(|(n, _)| n)
                .collect()
        })
    }

    fn pod_node(&self, pod: &StoredPod, with_claims: bool) -> Option<TreeNode> {
        let ns = pod.metadata.namespace.as_deref().unwrap_or("");
        let name = pod.name();
        let s = &pod.summary;
        let (ready, total) = s.ready;
        let restarts = s.restarts;
        let key = ObjKey::new(Kind::Pod, Some(ns), name);
        let claims: &[String] = if with_claims { &s.claims } else { &[] };
        let restarts = if restarts > 0 {
            format!(" ↻{restarts}")
        } else {
            String::new()
        };
        let node = object_node(
            key,
            format!("{} {ready}/{total}{restarts}", s.status),
            s.health,
        );
        let self_matches = self.matches(name);
        self.branch(node, self_matches, !claims.is_empty(), || {
            claims
                .iter()
                .filter(|c| self_matches || self.matches(c))
                .map(|c| self.pvc_leaf(ns, c))
                .collect()
        })
    }

    fn pvc_leaf(&self, ns: &str, claim: &str) -> TreeNode {
        let pvc = get(&self.ix.pvcs, ns)
            .iter()
            .find(|p| name_of(p.as_ref()) == claim);
        let state = crate::model::objects::ClaimState::of(pvc.map(|p| p.as_ref()));
        let volume = state
            .volume
            .as_ref()
            .map(|v| format!(" → {v}"))
            .unwrap_or_default();
        object_node(
            ObjKey::new(Kind::PersistentVolumeClaim, Some(ns), claim),
            format!("{}{volume}", state.phase),
            if state.bound() {
                Health::Ok
            } else {
                Health::Warn
            },
        )
    }

    /// The pods a controller owns, unsorted.
    fn owned_pods(&self, ns: &str, uid: Option<&str>) -> Vec<&Arc<StoredPod>> {
        let mut by_owner = self.ix.pods_by_owner.borrow_mut();
        let owners = by_owner
            .entry(ns.to_string())
            .or_insert_with(|| by_controller(self.objs.pods_in(ns)));
        get(owners, uid.unwrap_or("-")).to_vec()
    }

    /// The rows of a controller's pods, by name (only an open controller asks).
    fn pod_rows(&self, ns: &str, uid: Option<&str>, with_claims: bool) -> Vec<TreeNode> {
        let mut pods = self.owned_pods(ns, uid);
        pods.sort_by(|a, b| a.name().cmp(b.name()));
        pods.iter()
            .filter_map(|p| self.pod_node(p, with_claims))
            .collect()
    }

    fn deployments(&self, ns: &str) -> Option<TreeNode> {
        let deps = sorted(get(&self.ix.deployments, ns).iter().copied());
        let mut health = Health::None;
        let rows: Vec<TreeNode> = deps
            .iter()
            .filter_map(|d| {
                let name = name_of(d.as_ref());
                let (desired, ready) = status::deployment_replicas(d);
                let h = status::replicas_health(desired, ready);
                health = health.worst(h);
                let key = ObjKey::new(Kind::Deployment, Some(ns), name);
                let uid = d.metadata.uid.as_deref();
                let mut sets = sorted(
                    get(&self.ix.replica_sets_by_owner, uid.unwrap_or("-"))
                        .iter()
                        .copied(),
                );
                // Newest revision first, as `rollout history` reads backwards.
                sets.sort_by_key(|rs| std::cmp::Reverse(revision(&rs.metadata)));
                let node = object_node(key, format!("{ready}/{desired}"), h);
                self.branch(node, self.matches(name), !sets.is_empty(), || {
                    sets.iter()
                        .filter_map(|rs| {
                            let rs_name = name_of(rs.as_ref());
                            let (desired, ready) = status::replica_set_replicas(rs);
                            let key = ObjKey::new(Kind::ReplicaSet, Some(ns), rs_name);
                            let uid = rs.metadata.uid.as_deref();
                            let has_pods = !self.owned_pods(ns, uid).is_empty();
                            let node = object_node(
                                key,
                                format!("rev {} {ready}/{desired}", revision(&rs.metadata)),
                                status::replicas_health(desired, ready),
                            );
                            self.branch(node, self.matches(rs_name), has_pods, || {
                                self.pod_rows(ns, uid, false)
                            })
                        })
                        .collect()
                })
            })
            .collect();
        self.group(
            ns,
            Kind::Deployment,
            "Deployments",
            deps.len(),
            health,
            || rows,
        )
    }

    fn stateful_sets(&self, ns: &str) -> Option<TreeNode> {
        let sets = sorted(get(&self.ix.stateful_sets, ns).iter().copied());
        let mut health = Health::None;
        let rows: Vec<TreeNode> = sets
            .iter()
            .filter_map(|s| {
                let name = name_of(s.as_ref());
                let (desired, ready) = status::stateful_set_replicas(s);
                let h = status::replicas_health(desired, ready);
                health = health.worst(h);
                let key = ObjKey::new(Kind::StatefulSet, Some(ns), name);
                let uid = s.metadata.uid.as_deref();
                let has_pods = !self.owned_pods(ns, uid).is_empty();
                let node = object_node(key, format!("{ready}/{desired}"), h);
                self.branch(node, self.matches(name), has_pods, || {
                    self.pod_rows(ns, uid, true)
                })
            })
            .collect();
        self.group(
            ns,
            Kind::StatefulSet,
            "StatefulSets",
            sets.len(),
            health,
            || rows,
        )
    }

    /// Pods no ReplicaSet or StatefulSet of this namespace owns (bare pods, DaemonSet or
    /// Job pods, orphans).
    fn other_pods(&self, ns: &str, pods: &[&Arc<StoredPod>]) -> Option<TreeNode> {
        let owned: std::collections::HashSet<&str> = get(&self.ix.replica_sets, ns)
            .iter()
            .filter_map(|r| r.metadata.uid.as_deref())
            .chain(
                get(&self.ix.stateful_sets, ns)
                    .iter()
                    .filter_map(|s| s.metadata.uid.as_deref()),
            )
            .collect();
        let mut others: Vec<&Arc<StoredPod>> = pods
            .iter()
            .copied()
            .filter(|p| {
                let owner = p
                    .metadata
                    .owner_references
                    .as_ref()
                    .and_then(|o| o.iter().find(|r| r.controller == Some(true)));
                owner.is_none_or(|o| !owned.contains(o.uid.as_str()))
            })
            .collect();
        others.sort_by(|a, b| a.name().cmp(b.name()));
        let health = others
            .iter()
            .map(|p| p.summary.health)
            .fold(Health::None, Health::worst);
        self.group(ns, Kind::Pod, "Pods", others.len(), health, || {
            others
                .iter()
                .filter_map(|p| self.pod_node(p, true))
                .collect()
        })
    }

    fn simple_group(&self, ns: &str, kind: Kind) -> Option<TreeNode> {
        let (label, rows): (&str, Vec<TreeNode>) = match kind {
            Kind::ConfigMap => (
                "ConfigMaps",
                sorted(get(&self.ix.config_maps, ns).iter().copied())
                    .iter()
                    .map(|c| {
                        let keys = c.data.as_ref().map_or(0, |d| d.len())
                            + c.binary_data.as_ref().map_or(0, |d| d.len());
                        simple(
                            Kind::ConfigMap,
                            ns,
                            name_of(c.as_ref()),
                            format!("{keys} keys"),
                        )
                    })
                    .collect(),
            ),
            Kind::Secret => (
                "Secrets",
                sorted(get(&self.ix.secrets, ns).iter().copied())
                    .iter()
                    .map(|c| {
                        simple(
                            Kind::Secret,
                            ns,
                            name_of(c.as_ref()),
                            "values not loaded".into(),
                        )
                    })
                    .collect(),
            ),
            _ => (
                "PersistentVolumeClaims",
                sorted(get(&self.ix.pvcs, ns).iter().copied())
                    .iter()
                    .map(|c| self.pvc_leaf(ns, name_of(c.as_ref())))
                    .collect(),
            ),
        };
        let health = rows
            .iter()
            .map(|n| n.health)
            .fold(Health::None, Health::worst);
        let count = rows.len();
        self.group(ns, kind, label, count, health, || {
            rows.into_iter().filter(|n| self.matches(&n.text)).collect()
        })
    }
}

fn simple(kind: Kind, ns: &str, name: &str, detail: String) -> TreeNode {
    object_node(ObjKey::new(kind, Some(ns), name), detail, Health::None)
}

/// The row of one object, named by its key, with no children yet.
fn object_node(key: ObjKey, detail: String, health: Health) -> TreeNode {
    TreeNode {
        id: key.id(),
        text: key.name.clone(),
        detail,
        health,
        target: Some(key),
        children: Vec::new(),
    }
}

fn leaf(id: String, text: &str) -> TreeNode {
    TreeNode {
        id,
        text: text.into(),
        detail: String::new(),
        health: Health::None,
        target: None,
        children: Vec::new(),
    }
}

fn node_health(n: &k8s_openapi::api::core::v1::Node) -> Health {
    let ready = n
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status == "True");
    match ready {
        Some(true) => Health::Ok,
        Some(false) => Health::Bad,
        None => Health::Warn,
    }
}

/// Ids of the ancestors an object would be under, so the UI can open them to reveal it.
pub fn ancestors_of(objs: &Objects, key: &ObjKey) -> Vec<String> {
    let Some(ns) = key.namespace.as_deref() else {
        return vec![NODES_ID.into()];
    };
    let mut ids = vec![namespace_id(ns)];
    match key.kind {
        Kind::Pod => {
            let pod = super::objects::find(&objs.pods, key);
            let owner = pod
                .and_then(|p| p.metadata.owner_references.as_ref())
                .and_then(|o| o.iter().find(|r| r.controller == Some(true)));
            match owner {
                Some(o) if o.kind == "ReplicaSet" => {
                    let rs = objs
                        .replica_sets
                        .iter()
                        .find(|r| r.metadata.uid.as_deref() == Some(o.uid.as_str()));
                    let dep = rs
                        .and_then(|r| r.metadata.owner_references.as_ref())
                        .and_then(|o| o.iter().find(|r| r.kind == "Deployment"));
                    if let (Some(rs), Some(dep)) = (rs, dep) {
                        ids.push(group_id(ns, Kind::Deployment));
                        ids.push(ObjKey::new(Kind::Deployment, Some(ns), &dep.name).id());
                        ids.push(
                            ObjKey::new(Kind::ReplicaSet, Some(ns), name_of(rs.as_ref())).id(),
                        );
                    } else {
                        ids.push(group_id(ns, Kind::Pod));
                    }
                }
                Some(o) if o.kind == "StatefulSet" => {
                    ids.push(group_id(ns, Kind::StatefulSet));
                    ids.push(ObjKey::new(Kind::StatefulSet, Some(ns), &o.name).id());
                }
                _ => ids.push(group_id(ns, Kind::Pod)),
            }
        }
        Kind::Namespace => ids.clear(),
        Kind::ReplicaSet => {
            let rs = super::objects::find(&objs.replica_sets, key);
            if let Some(dep) = rs
                .and_then(|r| r.metadata.owner_references.as_ref())
                .and_then(|o| o.iter().find(|r| r.kind == "Deployment"))
            {
                ids.push(group_id(ns, Kind::Deployment));
                ids.push(ObjKey::new(Kind::Deployment, Some(ns), &dep.name).id());
            }
        }
        kind => ids.push(group_id(ns, kind)),
    }
    ids
}
