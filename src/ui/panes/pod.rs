//! One pod: networking and DNS, each container's probes with the time-to-action formula,
//! restarts and last termination, requests and limits, volumes → PVC → PV, ConfigMaps and
//! Secrets consumed (names only), probe failures from Events, and the readiness timeline
//! next to EndpointSlice membership.

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{Container, Pod};
use ratatui::text::Line;

use crate::ui::theme::Theme;
use crate::ui::track::PodTimeline;
use kdive_core::duration;
use kdive_core::model::dns::resolv::{PodDnsInput, pod_resolv};
use kdive_core::model::objects::{ObjKey, Objects, find};
use kdive_core::model::probes;
use kdive_core::model::status::{self, Health};

pub struct PodView {
    pub title: String,
    pub lines: Vec<(Health, String)>,
}

/// Builds the pod view as (health, text) rows: `Health::None` rows are plain text,
/// headings start with `#`.
pub fn view(
    objs: &Objects,
    key: &ObjKey,
    timeline: Option<&PodTimeline>,
    now: DateTime<Utc>,
) -> PodView {
    let Some(stored) = find(&objs.pods, key) else {
        return PodView {
            title: key.display(),
            lines: vec![(Health::Bad, format!("pod {} is gone", key.display()))],
        };
    };
    let pod = &stored.pod();
    let summary = &stored.summary;
    let mut l: Vec<(Health, String)> = Vec::new();
    let ns = key.namespace.as_deref().unwrap_or("");
    let st = pod.status.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let (ready, total) = summary.ready;
    l.push((
        summary.health,
        format!(
            "{}  {ready}/{total} ready  restarts {}  age {}",
            summary.status,
            summary.restarts,
            pod.metadata
                .creation_timestamp
                .as_ref()
                .map_or("-".into(), |t| duration::age(status::utc(t), now)),
        ),
    ));
    l.push((Health::None, "#Networking".into()));
    l.push((
        Health::None,
        format!(
            "  IP {}  node {}  hostIP {}",
            st.pod_ip.as_deref().unwrap_or("-"),
            spec.node_name.as_deref().unwrap_or("(not scheduled)"),
            st.host_ip.as_deref().unwrap_or("-")
        ),
    ));
    // Below the IP, where the CNI's rule is known (the AWS VPC CNI on EC2 nodes).
    let node = spec.node_name.as_deref().and_then(|n| {
        find(
            &objs.nodes,
            &ObjKey::new(kdive_core::model::kind::Kind::Node, None, n),
        )
    });
    if let Some(h) = node.and_then(|n| kdive_core::model::vpc_cni::host_side(n, pod)) {
        l.push((
            Health::None,
            format!(
                "  host side (AWS VPC CNI): {}  route {}  rule {}",
                h.interface, h.route, h.rule
            ),
        ));
    }
    // kube-dns's ClusterIP is all kubelet's clusterDNS needs.
    let cluster_dns = find(
        &objs.services,
        &ObjKey::new(
            kdive_core::model::kind::Kind::Service,
            Some("kube-system"),
            "kube-dns",
        ),
    )
    .map(|s| kdive_core::model::dns::coredns::cluster_ips(s))
    .unwrap_or_default();
    let dns = pod_resolv(&PodDnsInput {
        namespace: ns,
        dns_policy: spec.dns_policy.as_deref(),
        host_network: spec.host_network.unwrap_or(false),
        dns_config: spec.dns_config.as_ref(),
        cluster_dns: &cluster_dns,
        cluster_domain: "cluster.local",
        node_resolv: None,
    });
    l.push((
        Health::None,
        format!(
            "  DNS {} (dnsPolicy {}): {}",
            format!("{:?}", dns.mode).to_lowercase(),
            spec.dns_policy.as_deref().unwrap_or("ClusterFirst"),
            dns.resolv_conf.text().trim_end().replace('\n', " | ")
        ),
    ));
    let events: Vec<_> = objs
        .events
        .iter()
        .filter(|e| {
            e.involved_object.kind.as_deref() == Some("Pod")
                && e.involved_object.name.as_deref() == Some(&key.name)
                && e.involved_object.namespace.as_deref() == Some(ns)
        })
        .collect();
    let summaries = probes::containers(pod);
    for c in &spec.containers {
        container(
            &mut l,
            pod,
            c,
            summaries.iter().find(|s| s.name == c.name),
            &events,
        );
    }
    volumes(&mut l, objs, pod, ns);
    l.push((
        Health::None,
        "#Readiness timeline (Ready condition │ EndpointSlice membership)".into(),
    ));
    match timeline {
        Some(t) if !t.entries.is_empty() => {
            for e in t.entries.iter().rev().take(12) {
                let h = match e.ready {
                    Some(true) => Health::Ok,
                    Some(false) => Health::Bad,
                    None => Health::None,
                };
                l.push((h, format!("  {}  {}", e.at.format("%H:%M:%S"), e.what)));
            }
        }
        _ => l.push((Health::None, "  (nothing observed yet)".into())),
    }
    PodView {
        title: key.display(),
        lines: l,
    }
}

fn container(
    l: &mut Vec<(Health, String)>,
    pod: &Pod,
    c: &Container,
    summary: Option<&probes::ContainerSummary>,
    events: &[&std::sync::Arc<k8s_openapi::api::core::v1::Event>],
) {
    let cs = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .and_then(|v| v.iter().find(|s| s.name == c.name));
    l.push((
        Health::None,
        format!(
            "#Container {}  image {}",
            c.name,
            c.image.as_deref().unwrap_or("-")
        ),
    ));
    if let Some(s) = summary {
        l.push((
            if s.ready { Health::Ok } else { Health::Warn },
            format!(
                "  state {}  ready {}  restarts {}",
                s.state, s.ready, s.restarts
            ),
        ));
    }
    if let Some(t) = cs
        .and_then(|s| s.last_state.as_ref())
        .and_then(|s| s.terminated.as_ref())
    {
        l.push((
            Health::Bad,
            format!(
                "  last termination: {} (exit {}){}",
                t.reason.as_deref().unwrap_or("-"),
                t.exit_code,
                t.finished_at
                    .as_ref()
                    .map(|f| format!(" at {}", status::utc(f).format("%H:%M:%S")))
                    .unwrap_or_default()
            ),
        ));
    }
    let res = c.resources.clone().unwrap_or_default();
    let fmt = |m: Option<
        &std::collections::BTreeMap<
            String,
            k8s_openapi::apimachinery::pkg::api::resource::Quantity,
        >,
    >| {
        m.map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.0))
                .collect::<Vec<_>>()
                .join(",")
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "none".into())
    };
    l.push((
        Health::None,
        format!(
            "  requests {}  limits {}",
            fmt(res.requests.as_ref()),
            fmt(res.limits.as_ref())
        ),
    ));
    for p in summary.map(|s| s.probes.as_slice()).unwrap_or_default() {
        let act = p.period_seconds * p.failure_threshold;
        l.push((
            if p.port_problem.is_some() {
                Health::Bad
            } else {
                Health::None
            },
            format!(
                "  {} probe {}  delay {}s period {}s timeout {}s  success {} failure {}",
                p.kind,
                p.action,
                p.initial_delay_seconds,
                p.period_seconds,
                p.timeout_seconds,
                p.success_threshold,
                p.failure_threshold
            ),
        ));
        let consequence = match p.kind {
            "liveness" => "restart",
            "startup" => "restart",
            _ => "removal from endpoints",
        };
        l.push((
            Health::None,
            format!(
                "    time to act: periodSeconds × failureThreshold = {} × {} = {act}s until {consequence}",
                p.period_seconds, p.failure_threshold
            ),
        ));
        if let Some(problem) = &p.port_problem {
            l.push((Health::Bad, format!("    {problem}")));
        }
    }
    let probe_failures: Vec<_> = events
        .iter()
        .filter(|e| e.reason.as_deref() == Some("Unhealthy"))
        .filter(|e| {
            e.involved_object
                .field_path
                .as_deref()
                .is_none_or(|f| f.contains(&format!("{{{}}}", c.name)))
        })
        .collect();
    for e in probe_failures.iter().rev().take(3) {
        l.push((
            Health::Bad,
            format!(
                "    {} (x{})",
                e.message.as_deref().unwrap_or(""),
                e.count.unwrap_or(1)
            ),
        ));
    }
    let mut consumed = Vec::new();
    for env in c.env.iter().flatten() {
        if let Some(from) = &env.value_from {
            if let Some(r) = &from.config_map_key_ref {
                consumed.push(format!(
                    "env {} ← ConfigMap {}[{}]",
                    env.name, r.name, r.key
                ));
            }
            if let Some(r) = &from.secret_key_ref {
                consumed.push(format!("env {} ← Secret {}[{}]", env.name, r.name, r.key));
            }
        }
    }
    for from in c.env_from.iter().flatten() {
        if let Some(r) = &from.config_map_ref {
            consumed.push(format!("envFrom ConfigMap {}", r.name));
        }
        if let Some(r) = &from.secret_ref {
            consumed.push(format!("envFrom Secret {}", r.name));
        }
    }
    for m in c.volume_mounts.iter().flatten() {
        consumed.push(format!(
            "mount {} at {}{}",
            m.name,
            m.mount_path,
            if m.read_only == Some(true) {
                " (ro)"
            } else {
                ""
            }
        ));
    }
    for s in consumed {
        l.push((Health::None, format!("  {s}")));
    }
}

fn volumes(l: &mut Vec<(Health, String)>, objs: &Objects, pod: &Pod, ns: &str) {
    let vols = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.clone())
        .unwrap_or_default();
    if vols.is_empty() {
        return;
    }
    l.push((Health::None, "#Volumes".into()));
    for v in vols {
        if let Some(c) = &v.persistent_volume_claim {
            let state = objs.claim(ns, &c.claim_name);
            let (phase, pv) = (state.phase.clone(), state.volume.clone());
            let pv_detail = pv
                .as_ref()
                .and_then(|name| {
                    objs.pvs
                        .iter()
                        .find(|p| p.metadata.name.as_deref() == Some(name))
                })
                .map(|p| {
                    let spec = p.spec.clone().unwrap_or_default();
                    format!(
                        " ({} {}, reclaim {})",
                        spec.storage_class_name.unwrap_or_default(),
                        spec.capacity
                            .and_then(|c| c.get("storage").map(|q| q.0.clone()))
                            .unwrap_or_default(),
                        spec.persistent_volume_reclaim_policy.unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            l.push((
                if state.bound() {
                    Health::Ok
                } else {
                    Health::Warn
                },
                format!(
                    "  {} → PVC {} {phase} → PV {}{pv_detail}",
                    v.name,
                    c.claim_name,
                    pv.as_deref().unwrap_or("-")
                ),
            ));
        } else if let Some(c) = &v.config_map {
            l.push((Health::None, format!("  {} → ConfigMap {}", v.name, c.name)));
        } else if let Some(s) = &v.secret {
            l.push((
                Health::None,
                format!(
                    "  {} → Secret {} (values not shown)",
                    v.name,
                    s.secret_name.as_deref().unwrap_or("-")
                ),
            ));
        } else if v.projected.is_some() {
            l.push((
                Health::None,
                format!("  {} → projected (token, CA, namespace)", v.name),
            ));
        } else if v.empty_dir.is_some() {
            l.push((Health::None, format!("  {} → emptyDir", v.name)));
        } else {
            l.push((Health::None, format!("  {}", v.name)));
        }
    }
}

pub fn lines(v: &PodView, theme: &Theme) -> Vec<Line<'static>> {
    super::rows(&v.lines, theme)
}
