//! The lab's `/metrics` text: the registry's counters (traffic, probes) and, computed at
//! scrape time, kube-state-metrics and cAdvisor subsets.
//!
//! A real cluster exposes these on several targets, and Prometheus adds `job` (and for the
//! kubelet `metrics_path`) while scraping. The lab serves them on one endpoint, so it writes
//! those labels itself: scrape it with `honor_labels: true` and queries written for a
//! kube-prometheus-stack cluster work unchanged.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Endpoints, Node, Pod};

use super::pods::PodView;
use super::scrape_ksm;
use crate::metrics::{FamilySet, Kind, Labels, Registry};
use crate::resources::{ResourceId, lookup};
use crate::sim::catalog::Catalog;
use crate::store::Store;
use kdive_core::quantity::memory_bytes;

/// CFS enforcement period (kernel default 100 ms).
const CFS_PERIOD_SECONDS: f64 = 0.1;

/// What scrapes remember: OOM kills seen, per pod uid and container, by container ID, so
/// `container_oom_events_total` only grows while the pod exists.
#[derive(Default)]
pub struct ScrapeState {
    ooms: Mutex<HashMap<String, HashMap<String, BTreeSet<String>>>>,
}

/// The scrape-time labels a family gets when it came from the registry.
pub fn registry_job_labels(family: &str) -> Labels {
    match family {
        "prober_probe_total" => vec![
            ("job", "kubelet".to_string()),
            ("metrics_path", "/metrics/probes".to_string()),
        ],
        _ => Vec::new(),
    }
}

fn list<T: serde::de::DeserializeOwned>(store: &Store, r: Option<ResourceId>) -> Vec<T> {
    let Some(r) = r else { return Vec::new() };
    store
        .list(r, None)
        .1
        .iter()
        .filter_map(|s| serde_json::from_slice(&s.json).ok())
        .collect()
}

/// The whole `/metrics` text.
pub fn render(
    store: &Store,
    registry: &Registry,
    catalog: &Catalog,
    seed: u64,
    state: &ScrapeState,
) -> String {
    let pods: Vec<Pod> = list(store, lookup("", "v1", "pods"));
    let mut f = FamilySet::new();
    scrape_ksm::pods(&mut f, &pods);
    scrape_ksm::deployments(
        &mut f,
        &list::<Deployment>(store, lookup("apps", "v1", "deployments")),
    );
    scrape_ksm::statefulsets(
        &mut f,
        &list::<StatefulSet>(store, lookup("apps", "v1", "statefulsets")),
    );
    scrape_ksm::endpoints(
        &mut f,
        &list::<Endpoints>(store, lookup("", "v1", "endpoints")),
    );
    scrape_ksm::nodes(&mut f, &list::<Node>(store, lookup("", "v1", "nodes")));
    state.note_ooms(&pods);
    cadvisor(&mut f, &pods, catalog, seed, store.now(), state);
    let mut out = String::new();
    registry.render_with(&mut out, registry_job_labels);
    f.render(&mut out);
    out
}

impl ScrapeState {
    /// Records every OOM kill the pods' statuses show; forgets pods that are gone.
    pub fn note_ooms(&self, pods: &[Pod]) {
        let mut ooms = self.ooms.lock().unwrap_or_else(|p| p.into_inner());
        let live: BTreeSet<&str> = pods
            .iter()
            .filter_map(|p| p.metadata.uid.as_deref())
            .collect();
        ooms.retain(|uid, _| live.contains(uid.as_str()));
        for pod in pods {
            let Some(uid) = pod.metadata.uid.as_deref() else {
                continue;
            };
            let statuses = pod
                .status
                .as_ref()
                .and_then(|s| s.container_statuses.as_deref())
                .unwrap_or(&[]);
            for cs in statuses {
                let terms = [
                    cs.state.as_ref().and_then(|s| s.terminated.as_ref()),
                    cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()),
                ];
                for t in terms.into_iter().flatten() {
                    if t.reason.as_deref() == Some("OOMKilled") {
                        let id = t.container_id.clone().unwrap_or_else(|| {
                            t.finished_at
                                .as_ref()
                                .map(|f| f.0.to_string())
                                .unwrap_or_default()
                        });
                        ooms.entry(uid.to_string())
                            .or_default()
                            .entry(cs.name.clone())
                            .or_default()
                            .insert(id);
                    }
                }
            }
        }
    }

    fn oom_count(&self, uid: &str, container: &str) -> usize {
        let ooms = self.ooms.lock().unwrap_or_else(|p| p.into_inner());
        ooms.get(uid)
            .and_then(|m| m.get(container))
            .map_or(0, BTreeSet::len)
    }
}

/// Totals of one cgroup (a container, or the pod summing its containers).
#[derive(Default)]
struct Usage {
    cpu_seconds: f64,
    periods: Option<(f64, f64)>,
    working_set: f64,
    limit: f64,
    ooms: usize,
}

pub fn cadvisor(
    f: &mut FamilySet,
    pods: &[Pod],
    catalog: &Catalog,
    seed: u64,
    now: DateTime<Utc>,
    state: &ScrapeState,
) {
    for pod in pods {
        let view = PodView::from_pod(pod);
        if view.containers.iter().all(|c| c.started_at.is_none()) {
            continue;
        }
        let node = pod
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        let qos = pod
            .status
            .as_ref()
            .and_then(|s| s.qos_class.as_deref())
            .unwrap_or("BestEffort")
            .to_lowercase();
        let pod_cgroup = if qos == "guaranteed" {
            format!("/kubepods/pod{}", view.uid)
        } else {
            format!("/kubepods/{qos}/pod{}", view.uid)
        };
        let statuses = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or(&[]);
        let mut pod_total = Usage::default();
        let (mut all_cpu_limited, mut all_mem_limited) = (true, true);
        for c in &view.containers {
            let Some((process, t)) = view.process(c, catalog, seed, now) else {
                all_cpu_limited = false;
                all_mem_limited = false;
                continue;
            };
            let limits = c.spec.resources.as_ref().and_then(|r| r.limits.as_ref());
            let mem_limit = limits
                .and_then(|l| l.get("memory"))
                .and_then(|q| memory_bytes(&q.0));
            let cpu_limited = limits.is_some_and(|l| l.contains_key("cpu"));
            let (millicores, throttled) = process.cpu(t);
            let periods = (t / CFS_PERIOD_SECONDS).floor();
            let usage = Usage {
                cpu_seconds: millicores / 1000.0 * t,
                periods: cpu_limited.then_some((periods, if throttled { periods } else { 0.0 })),
                working_set: process.memory_bytes(t).min(mem_limit.unwrap_or(f64::MAX)),
                limit: mem_limit.unwrap_or(0.0),
                ooms: state.oom_count(&view.uid, &c.spec.name),
            };
            all_cpu_limited &= cpu_limited;
            all_mem_limited &= mem_limit.is_some();
            let id = statuses
                .iter()
                .find(|s| s.name == c.spec.name)
                .and_then(|s| s.container_id.as_deref())
                .unwrap_or("");
            let runtime_id = id.rsplit("://").next().unwrap_or(id).to_string();
            let labels = |extra: Option<(&'static str, String)>| -> Labels {
                cadvisor_labels(
                    &c.spec.name,
                    extra,
                    &format!("{pod_cgroup}/{runtime_id}"),
                    c.spec.image.as_deref().unwrap_or(""),
                    &runtime_id,
                    &view,
                    &node,
                )
            };
            write_usage(f, &usage, &labels);
            pod_total.cpu_seconds += usage.cpu_seconds;
            pod_total.working_set += usage.working_set;
            pod_total.limit += usage.limit;
            pod_total.ooms += usage.ooms;
            // The pod cgroup has run as long as its longest-running container.
            if let Some((p, t)) = usage.periods {
                let (tp, tt) = pod_total.periods.unwrap_or((0.0, 0.0));
                pod_total.periods = Some((tp.max(p), tt.max(t)));
            }
        }
        // The pod cgroup gets a CPU quota / memory limit only when every container has one.
        if !all_cpu_limited {
            pod_total.periods = None;
        }
        if !all_mem_limited {
            pod_total.limit = 0.0;
        }
        let labels = |extra: Option<(&'static str, String)>| -> Labels {
            cadvisor_labels("", extra, &pod_cgroup, "", "", &view, &node)
        };
        write_usage(f, &pod_total, &labels);
    }
}

/// cAdvisor's labels (sorted, as the kubelet writes them) plus the scrape's.
fn cadvisor_labels(
    container: &str,
    extra: Option<(&'static str, String)>,
    id: &str,
    image: &str,
    name: &str,
    pod: &PodView,
    node: &str,
) -> Labels {
    let mut l: Labels = vec![("container", container.to_string())];
    l.extend(extra);
    l.extend([
        ("id", id.to_string()),
        ("image", image.to_string()),
        ("job", "kubelet".to_string()),
        ("metrics_path", "/metrics/cadvisor".to_string()),
        ("name", name.to_string()),
        ("namespace", pod.namespace.clone()),
        ("node", node.to_string()),
        ("pod", pod.name.clone()),
    ]);
    l
}

fn write_usage(
    f: &mut FamilySet,
    u: &Usage,
    labels: &dyn Fn(Option<(&'static str, String)>) -> Labels,
) {
    f.add(
        "container_cpu_usage_seconds_total",
        "Cumulative cpu time consumed in seconds.",
        Kind::Counter,
        labels(Some(("cpu", "total".to_string()))),
        u.cpu_seconds,
    );
    if let Some((periods, throttled)) = u.periods {
        f.add(
            "container_cpu_cfs_periods_total",
            "Number of elapsed enforcement period intervals.",
            Kind::Counter,
            labels(None),
            periods,
        );
        f.add(
            "container_cpu_cfs_throttled_periods_total",
            "Number of throttled period intervals.",
            Kind::Counter,
            labels(None),
            throttled,
        );
    }
    f.add(
        "container_memory_working_set_bytes",
        "Current working set in bytes.",
        Kind::Gauge,
        labels(None),
        u.working_set.round(),
    );
    f.add(
        "container_spec_memory_limit_bytes",
        "Memory limit for the container.",
        Kind::Gauge,
        labels(None),
        u.limit.round(),
    );
    f.add(
        "container_oom_events_total",
        "Count of out of memory events observed for the container",
        Kind::Counter,
        labels(None),
        u.ooms as f64,
    );
}
