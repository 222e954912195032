//! Deployments and StatefulSets: revisions, ReplicaSets and their scale, rollout progress
//! against maxSurge/maxUnavailable; ordinals and their claims.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use ratatui::text::Line;

use crate::ui::theme::Theme;
use kdive_core::model::kind::Kind;
use kdive_core::model::objects::{ObjKey, Objects, find};
use kdive_core::model::status::{self, Health};
use kdive_core::model::tree::revision;

pub struct WorkloadView {
    pub lines: Vec<(Health, String)>,
}

fn pct(v: &Option<IntOrString>, default: &str) -> String {
    match v {
        Some(IntOrString::Int(i)) => i.to_string(),
        Some(IntOrString::String(s)) => s.clone(),
        None => default.into(),
    }
}

/// maxSurge and maxUnavailable as the Deployment controller resolves them: percentages of
/// the desired replicas, surge rounded up, unavailable down, and never both zero.
pub fn rolling_bounds(
    desired: i32,
    surge: &Option<IntOrString>,
    unavailable: &Option<IntOrString>,
) -> (i32, i32) {
    let resolve = |v: &Option<IntOrString>, round_up: bool| -> i32 {
        match v {
            Some(IntOrString::Int(i)) => *i,
            Some(IntOrString::String(s)) => {
                let p: f64 = s.trim_end_matches('%').parse().unwrap_or(25.0);
                let x = f64::from(desired) * p / 100.0;
                (if round_up { x.ceil() } else { x.floor() }) as i32
            }
            None => {
                let x = f64::from(desired) * 0.25;
                (if round_up { x.ceil() } else { x.floor() }) as i32
            }
        }
    };
    let s = resolve(surge, true);
    let u = resolve(unavailable, false);
    if s == 0 && u == 0 { (0, 1) } else { (s, u) }
}

pub fn view(objs: &Objects, key: &ObjKey, now: DateTime<Utc>) -> WorkloadView {
    let mut l = Vec::new();
    match key.kind {
        Kind::Deployment => deployment(&mut l, objs, key, now),
        Kind::StatefulSet => stateful_set(&mut l, objs, key),
        _ => l.push((
            Health::None,
            format!("{} has no workload view", key.kind.name()),
        )),
    }
    WorkloadView { lines: l }
}

fn deployment(l: &mut Vec<(Health, String)>, objs: &Objects, key: &ObjKey, now: DateTime<Utc>) {
    let Some(d) = find(&objs.deployments, key) else {
        l.push((Health::Bad, format!("Deployment {} is gone", key.display())));
        return;
    };
    let spec = d.spec.clone().unwrap_or_default();
    let st = d.status.clone().unwrap_or_default();
    let desired = spec.replicas.unwrap_or(1);
    let strategy = spec.strategy.clone().unwrap_or_default();
    let ru = strategy.rolling_update.clone().unwrap_or_default();
    l.push((
        status::replicas_health(desired, st.ready_replicas.unwrap_or(0)),
        format!(
            "Deployment {}  desired {desired}  updated {}  ready {}  available {}  unavailable {}",
            key.display(),
            st.updated_replicas.unwrap_or(0),
            st.ready_replicas.unwrap_or(0),
            st.available_replicas.unwrap_or(0),
            st.unavailable_replicas.unwrap_or(0)
        ),
    ));
    l.push((
        Health::None,
        format!(
            "  strategy {}  maxSurge {}  maxUnavailable {}  revision {}",
            strategy.type_.as_deref().unwrap_or("RollingUpdate"),
            pct(&ru.max_surge, "25%"),
            pct(&ru.max_unavailable, "25%"),
            revision(d.as_ref())
        ),
    ));
    let total = st.replicas.unwrap_or(0);
    let (surge, unavailable) = rolling_bounds(desired, &ru.max_surge, &ru.max_unavailable);
    let available = st.available_replicas.unwrap_or(0);
    l.push((
        Health::None,
        format!(
            "  rollout: {} of {desired} updated; pods {total} ≤ {desired} + maxSurge {surge} = {}; available {available} ≥ {desired} − maxUnavailable {unavailable} = {}",
            st.updated_replicas.unwrap_or(0),
            desired + surge,
            desired - unavailable,
        ),
    ));
    for c in st.conditions.iter().flatten() {
        let h = if c.status == "True" {
            Health::Ok
        } else {
            Health::Warn
        };
        l.push((
            h,
            format!(
                "  {} {} {}: {}{}",
                c.type_,
                c.status,
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or(""),
                c.last_update_time
                    .as_ref()
                    .map(|t| format!(" ({} ago)", status::age(status::utc(t), now)))
                    .unwrap_or_default()
            ),
        ));
    }
    l.push((Health::None, "#ReplicaSets (newest revision first)".into()));
    let uid = d.metadata.uid.as_deref();
    let mut sets: Vec<_> = objs
        .replica_sets
        .iter()
        .filter(|rs| rs.metadata.namespace == key.namespace)
        .filter(|rs| {
            rs.metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o.iter().any(|r| Some(r.uid.as_str()) == uid))
        })
        .collect();
    sets.sort_by_key(|rs| std::cmp::Reverse(revision(rs.as_ref())));
    for rs in sets {
        let (want, ready) = status::replica_set_replicas(rs);
        let image = rs
            .spec
            .as_ref()
            .and_then(|s| s.template.as_ref())
            .and_then(|t| t.spec.as_ref())
            .map(|s| {
                s.containers
                    .iter()
                    .filter_map(|c| c.image.clone())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        l.push((
            if want == 0 {
                Health::None
            } else {
                status::replicas_health(want, ready)
            },
            format!(
                "  rev {:<3} {}  {ready}/{want}  {image}",
                revision(rs.as_ref()),
                rs.metadata.name.as_deref().unwrap_or("")
            ),
        ));
    }
}

fn stateful_set(l: &mut Vec<(Health, String)>, objs: &Objects, key: &ObjKey) {
    let Some(s) = find(&objs.stateful_sets, key) else {
        l.push((
            Health::Bad,
            format!("StatefulSet {} is gone", key.display()),
        ));
        return;
    };
    let spec = s.spec.clone().unwrap_or_default();
    let st = s.status.clone().unwrap_or_default();
    let desired = spec.replicas.unwrap_or(1);
    l.push((
        status::replicas_health(desired, st.ready_replicas.unwrap_or(0)),
        format!(
            "StatefulSet {}  desired {desired}  ready {}  current {}  updated {}",
            key.display(),
            st.ready_replicas.unwrap_or(0),
            st.current_replicas.unwrap_or(0),
            st.updated_replicas.unwrap_or(0)
        ),
    ));
    let partition = spec
        .update_strategy
        .as_ref()
        .and_then(|u| u.rolling_update.as_ref())
        .and_then(|r| r.partition)
        .unwrap_or(0);
    l.push((
        Health::None,
        format!(
            "  serviceName {}  podManagementPolicy {}  partition {partition}",
            spec.service_name.as_deref().unwrap_or("-"),
            spec.pod_management_policy
                .as_deref()
                .unwrap_or("OrderedReady")
        ),
    ));
    l.push((
        Health::None,
        format!(
            "  currentRevision {}  updateRevision {}",
            st.current_revision.as_deref().unwrap_or("-"),
            st.update_revision.as_deref().unwrap_or("-")
        ),
    ));
    l.push((Health::None, "#Ordinals".into()));
    let name = key.name.as_str();
    let ns = key.namespace.as_deref();
    let claims: Vec<String> = spec
        .volume_claim_templates
        .iter()
        .flatten()
        .filter_map(|t| t.metadata.name.clone())
        .collect();
    for i in 0..desired.max(0) {
        let pod_name = format!("{name}-{i}");
        let pod = find(&objs.pods, &ObjKey::new(Kind::Pod, ns, &pod_name)).map(|p| p.pod());
        let (h, text) = match pod {
            Some(p) => (
                status::pod_health(&p),
                format!(
                    "  {pod_name}  {}  {}  rev {}",
                    status::pod_status(&p),
                    p.status
                        .as_ref()
                        .and_then(|s| s.pod_ip.clone())
                        .unwrap_or_else(|| "-".into()),
                    p.metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("controller-revision-hash"))
                        .cloned()
                        .unwrap_or_default()
                ),
            ),
            None => (Health::Warn, format!("  {pod_name}  (not created yet)")),
        };
        l.push((h, text));
        for c in &claims {
            let pvc_name = format!("{c}-{pod_name}");
            let state = objs.claim(ns.unwrap_or(""), &pvc_name);
            let phase = state.phase.clone();
            let pv = state.volume.clone().unwrap_or_else(|| "-".into());
            l.push((
                if phase == "Bound" {
                    Health::Ok
                } else {
                    Health::Warn
                },
                format!("      PVC {pvc_name} {phase} → {pv}"),
            ));
        }
    }
}

pub fn lines(v: &WorkloadView, theme: &Theme) -> Vec<Line<'static>> {
    super::rows(&v.lines, theme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_bounds_round_like_the_controller() {
        let pct = |s: &str| Some(IntOrString::String(s.into()));
        assert_eq!(rolling_bounds(3, &None, &None), (1, 0));
        assert_eq!(rolling_bounds(10, &pct("25%"), &pct("25%")), (3, 2));
        assert_eq!(
            rolling_bounds(3, &Some(IntOrString::Int(0)), &pct("10%")),
            (0, 1)
        );
        assert_eq!(
            rolling_bounds(4, &Some(IntOrString::Int(2)), &Some(IntOrString::Int(1))),
            (2, 1)
        );
    }
}
