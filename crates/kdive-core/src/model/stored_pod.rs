//! A Pod as the explorer keeps it in memory: metadata as it came, what the tree and lists
//! show precomputed, and the spec and status as compact JSON, decoded for the one pod a pane
//! looks at.
//!
//! Why: k8s-openapi's `Pod` spends most of its size on fields that are almost always absent
//! (`PodSpec` is 1.4 KiB inline, each `Container` 2.1 KiB, each `Volume` 3.2 KiB), so a
//! small pod costs ~8.6 KiB in structs against ~2 KiB as JSON. At 20,000 pods that decides
//! whether the explorer fits in 300 MiB.

use k8s_openapi::api::core::v1::{Pod, PodSpec, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::pod_columns::pod_columns;
use crate::model::status::{self, Health};

// `repr(C)`: what every settle reads of every pod (namespace, health) sits in the first
// cache line, next to the reference counts the snapshot has just touched.
#[derive(Debug, Clone, PartialEq)]
#[repr(C)]
pub struct StoredPod {
    /// The namespace again, shared by all pods of it: grouping compares pointers.
    namespace: Arc<str>,
    pub summary: PodSummary,
    pub metadata: ObjectMeta,
    /// `{"spec":…,"status":…}` as JSON.
    body: Box<[u8]>,
}

/// What the tree, the lists and the counts read for every pod.
#[derive(Debug, Clone, PartialEq)]
#[repr(C)]
pub struct PodSummary {
    pub health: Health,
    /// kubectl's STATUS column.
    pub status: Box<str>,
    /// Ready and total containers.
    pub ready: (u16, u16),
    pub restarts: i32,
    /// Claims of the pod's persistentVolumeClaim volumes.
    pub claims: Box<[String]>,
}

#[derive(Serialize)]
struct BodyRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    spec: Option<&'a PodSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<&'a PodStatus>,
}

#[derive(Deserialize)]
struct Body {
    spec: Option<PodSpec>,
    status: Option<PodStatus>,
}

impl StoredPod {
    /// Compacts a pod; its namespace name is shared through `names`.
    pub fn new(pod: Pod, names: &mut NamespaceNames) -> StoredPod {
        // One `printPod` pass gives STATUS, READY and RESTARTS, as kubectl shows them.
        let columns = pod_columns(&pod);
        let summary = PodSummary {
            health: status::health_of(&pod, &columns.status),
            status: columns.status.into(),
            ready: (clamp(columns.ready), clamp(columns.total)),
            restarts: status::clamp_i32(columns.restarts),
            claims: pod
                .spec
                .as_ref()
                .and_then(|s| s.volumes.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|v| Some(v.persistent_volume_claim.as_ref()?.claim_name.clone()))
                .collect(),
        };
        let body = BodyRef {
            spec: pod.spec.as_ref(),
            status: pod.status.as_ref(),
        };
        // Serializing plain structs into a Vec cannot fail.
        let body = serde_json::to_vec(&body).unwrap_or_default();
        StoredPod {
            namespace: names.intern(pod.metadata.namespace.as_deref().unwrap_or("")),
            metadata: pod.metadata,
            summary,
            body: body.into_boxed_slice(),
        }
    }

    /// The whole pod again.
    pub fn pod(&self) -> Pod {
        // What `new` wrote always reads back; a failure would only lose spec and status.
        let body: Body = serde_json::from_slice(&self.body).unwrap_or(Body {
            spec: None,
            status: None,
        });
        Pod {
            metadata: self.metadata.clone(),
            spec: body.spec,
            status: body.status,
        }
    }

    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or("")
    }

    /// Bytes held for spec and status.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }
}

/// Pods by namespace with their tallies: one pass over all pods, shared by every tree built
/// from the same snapshot (a key press redraws the tree without touching 20,000 pods).
#[derive(Debug, Default, Clone)]
pub struct PodGroups {
    by_ns: HashMap<String, NsPods>,
}

#[derive(Debug, Clone)]
pub struct NsPods {
    /// Positions in the snapshot's pod list.
    pub at: Vec<u32>,
    /// The worst health of the namespace's pods.
    pub health: Health,
    /// Pods whose health is Warn or Bad.
    pub not_ok: usize,
}

impl Default for NsPods {
    fn default() -> NsPods {
        NsPods {
            at: Vec::new(),
            health: Health::None,
            not_ok: 0,
        }
    }
}

impl PodGroups {
    pub fn of<P: std::ops::Deref<Target = StoredPod>>(pods: &[P]) -> PodGroups {
        // By the interned name's address: no string is read per pod.
        let mut by_ptr: HashMap<*const u8, usize> = HashMap::new();
        let mut groups: Vec<(&Arc<str>, NsPods)> = Vec::new();
        for (i, p) in pods.iter().enumerate() {
            let g = *by_ptr
                .entry(Arc::as_ptr(&p.namespace) as *const u8)
                .or_insert_with(|| {
                    groups.push((&p.namespace, NsPods::default()));
                    groups.len() - 1
                });
            let group = &mut groups[g].1;
            let h = p.summary.health;
            group.at.push(i as u32);
            group.health = group.health.worst(h);
            group.not_ok += usize::from(matches!(h, Health::Warn | Health::Bad));
        }
        let mut by_ns: HashMap<String, NsPods> = HashMap::with_capacity(groups.len());
        for (ns, g) in groups {
            match by_ns.get_mut(&**ns) {
                // Equal names behind two addresses: not while one store's pods share one
                // interner, but pods from two would then cost a merge, not wrong groups.
                Some(same) => {
                    same.at.extend(g.at);
                    same.at.sort_unstable();
                    same.health = same.health.worst(g.health);
                    same.not_ok += g.not_ok;
                }
                None => {
                    by_ns.insert(ns.to_string(), g);
                }
            }
        }
        PodGroups { by_ns }
    }

    pub fn get(&self, ns: &str) -> Option<&NsPods> {
        self.by_ns.get(ns)
    }
}

/// One shared string per namespace name (namespaces are few, pods many). Whoever stores
/// pods owns one, for as long as it keeps them.
#[derive(Debug, Default)]
pub struct NamespaceNames(HashSet<Arc<str>>);

impl NamespaceNames {
    pub fn intern(&mut self, ns: &str) -> Arc<str> {
        if let Some(n) = self.0.get(ns) {
            return n.clone();
        }
        let n: Arc<str> = ns.into();
        self.0.insert(n.clone());
        n
    }
}

fn clamp(n: usize) -> u16 {
    n.min(u16::MAX as usize) as u16
}

impl k8s_openapi::Resource for StoredPod {
    const API_VERSION: &'static str = <Pod as k8s_openapi::Resource>::API_VERSION;
    const GROUP: &'static str = <Pod as k8s_openapi::Resource>::GROUP;
    const KIND: &'static str = <Pod as k8s_openapi::Resource>::KIND;
    const VERSION: &'static str = <Pod as k8s_openapi::Resource>::VERSION;
    const URL_PATH_SEGMENT: &'static str = <Pod as k8s_openapi::Resource>::URL_PATH_SEGMENT;
    type Scope = <Pod as k8s_openapi::Resource>::Scope;
}

impl k8s_openapi::Metadata for StoredPod {
    type Ty = ObjectMeta;
    fn metadata(&self) -> &ObjectMeta {
        &self.metadata
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        serde_saphyr::from_str(yaml).expect("pod yaml")
    }

    const WEB: &str = r#"
metadata: {name: web-1, namespace: demo, labels: {app: web}}
spec:
  containers:
  - name: web
    image: nginx
    ports: [{name: http, containerPort: 8080}]
    readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 5}
  - name: sidecar
    image: envoy
  volumes:
  - {name: data, persistentVolumeClaim: {claimName: data-web-1}}
  - {name: cache, emptyDir: {}}
status:
  phase: Running
  podIP: 10.244.1.7
  conditions: [{type: Ready, status: "False"}]
  containerStatuses:
  - {name: web, ready: false, restartCount: 2, image: nginx, imageID: "", state: {running: {}}}
  - {name: sidecar, ready: true, restartCount: 1, image: envoy, imageID: "", state: {running: {}}}
"#;

    #[test]
    fn the_whole_pod_reads_back() {
        let p = pod(WEB);
        let stored = StoredPod::new(p.clone(), &mut NamespaceNames::default());
        assert_eq!(stored.pod(), p);
        let empty = Pod {
            metadata: p.metadata.clone(),
            ..Default::default()
        };
        assert_eq!(
            StoredPod::new(empty.clone(), &mut NamespaceNames::default()).pod(),
            empty
        );
    }

    #[test]
    fn the_summary_is_what_the_status_functions_say() {
        let p = pod(WEB);
        let s = StoredPod::new(p.clone(), &mut NamespaceNames::default()).summary;
        assert_eq!(&*s.status, status::pod_status(&p));
        assert_eq!(&*s.status, "Running");
        assert_eq!(s.health, Health::Warn, "running but not ready");
        assert_eq!(s.ready, (1, 2));
        assert_eq!(s.restarts, 3);
        assert_eq!(&*s.claims, ["data-web-1".to_string()]);
    }

    #[test]
    fn pods_are_grouped_by_namespace_with_their_worst_health() {
        let named = |ns: &str, name: &str, ready: bool| {
            let mut p = pod(WEB);
            p.metadata.namespace = Some(ns.into());
            p.metadata.name = Some(name.into());
            for c in p
                .status
                .as_mut()
                .unwrap()
                .container_statuses
                .iter_mut()
                .flatten()
            {
                c.ready = ready;
            }
            p.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status =
                if ready { "True" } else { "False" }.into();
            std::sync::Arc::new(StoredPod::new(p, &mut NamespaceNames::default()))
        };
        let pods = vec![
            named("a", "a-1", true),
            named("b", "b-1", true),
            named("a", "a-2", false),
            named("a", "a-3", true),
        ];
        let g = PodGroups::of(&pods);
        let a = g.get("a").expect("namespace a");
        assert_eq!(a.at, [0, 2, 3]);
        assert_eq!((a.health, a.not_ok), (Health::Warn, 1));
        let b = g.get("b").expect("namespace b");
        assert_eq!(
            (b.at.as_slice(), b.health, b.not_ok),
            (&[1u32][..], Health::Ok, 0)
        );
        assert!(g.get("c").is_none());
    }

    #[test]
    fn it_costs_a_fraction_of_the_typed_pod() {
        let stored = StoredPod::new(pod(WEB), &mut NamespaceNames::default());
        let typed = std::mem::size_of::<Pod>()
            + 2 * std::mem::size_of::<k8s_openapi::api::core::v1::Container>();
        assert!(
            std::mem::size_of::<StoredPod>() + stored.body_len() < typed / 3,
            "{} + {} bytes against {typed}",
            std::mem::size_of::<StoredPod>(),
            stored.body_len()
        );
    }
}
