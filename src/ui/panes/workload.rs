//! Deployments and StatefulSets: revisions, ReplicaSets and their scale, rollout progress
//! against maxSurge/maxUnavailable; ordinals and their claims.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use ratatui::text::Line;

use crate::ui::theme::Theme;
use kdive_core::duration;
use kdive_core::model::kind::Kind;
use kdive_core::model::objects::{ObjKey, Objects, find};
use kdive_core::model::revision::{controller_revision_hash, revision};
use kdive_core::model::rollout::{self, Strategy};
use kdive_core::model::status::{self, Health};

pub struct WorkloadView {
    pub lines: Vec<(Health, String)>,
}

fn pct(v: &Option<IntOrString>) -> String {
    match v {
        Some(IntOrString::Int(i)) => i.to_string(),
        Some(IntOrString::String(s)) => s.clone(),
        None => rollout::DEFAULT_FENCEPOST.into(),
    }
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
    let updated = st.updated_replicas.unwrap_or(0);
    let total = st.replicas.unwrap_or(0);
    let available = st.available_replicas.unwrap_or(0);
    let resolved = rollout::strategy(d);
    // Recreate has no fenceposts (validation forbids rollingUpdate with it).
    let fenceposts = match resolved {
        Ok(Strategy::Recreate) => String::new(),
        _ => format!(
            "  maxSurge {}  maxUnavailable {}",
            pct(&ru.max_surge),
            pct(&ru.max_unavailable)
        ),
    };
    l.push((
        Health::None,
        format!(
            "  strategy {}{fenceposts}  revision {}",
            strategy.type_.as_deref().unwrap_or("RollingUpdate"),
            revision(&d.metadata)
        ),
    ));
    l.push(match resolved {
        Ok(Strategy::Recreate) => (
            Health::None,
            format!(
                "  rollout: {updated} of {desired} updated; pods {total}, available {available}; Recreate stops every old pod before starting new ones (no surge, unavailable in between)"
            ),
        ),
        Ok(Strategy::RollingUpdate {
            max_surge,
            max_unavailable,
        }) => (
            Health::None,
            format!(
                "  rollout: {updated} of {desired} updated; pods {total} ≤ {desired} + maxSurge {max_surge} = {}; available {available} ≥ {desired} − maxUnavailable {max_unavailable} = {}",
                desired + max_surge,
                desired - max_unavailable,
            ),
        ),
        // The controller's sync fails on this too, so there are no bounds to show.
        Err(e) => (Health::Bad, format!("  rollout: {e}")),
    });
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
                    .map(|t| format!(" ({} ago)", duration::age(status::utc(t), now)))
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
    sets.sort_by_key(|rs| std::cmp::Reverse(revision(&rs.metadata)));
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
                revision(&rs.metadata),
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
                    controller_revision_hash(&p.metadata)
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
    use std::sync::Arc;

    use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn rollout_lines(strategy: DeploymentStrategy) -> Vec<String> {
        let d = Deployment {
            metadata: ObjectMeta {
                name: Some("web".into()),
                namespace: Some("demo".into()),
                ..Default::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(3),
                strategy: Some(strategy),
                ..Default::default()
            }),
            ..Default::default()
        };
        let objs = Objects {
            deployments: vec![Arc::new(d)],
            ..Default::default()
        };
        let key = ObjKey::new(Kind::Deployment, Some("demo"), "web");
        let v = view(&objs, &key, Utc::now());
        v.lines
            .into_iter()
            .map(|(_, t)| t)
            .skip(1)
            .take(2)
            .collect()
    }

    #[test]
    fn recreate_shows_no_surge_bounds() {
        // deployment_util.go MaxSurge/MaxUnavailable are 0 unless the strategy is
        // RollingUpdate; this pane used to print 25% bounds for Recreate too.
        let lines = rollout_lines(DeploymentStrategy {
            type_: Some("Recreate".into()),
            rolling_update: None,
        });
        assert_eq!(lines[0], "  strategy Recreate  revision 0");
        assert!(
            lines[1].contains("Recreate stops every old pod"),
            "{}",
            lines[1]
        );
        assert!(!lines[1].contains("maxSurge"), "{}", lines[1]);
    }

    #[test]
    fn a_malformed_percentage_is_an_error_not_a_quarter() {
        // intstr.GetScaledValueFromIntOrPercent fails the controller's sync; the pane used
        // to fall back to 25%.
        let lines = rollout_lines(DeploymentStrategy {
            type_: Some("RollingUpdate".into()),
            rolling_update: Some(k8s_openapi::api::apps::v1::RollingUpdateDeployment {
                max_surge: Some(IntOrString::String("lots".into())),
                max_unavailable: None,
            }),
        });
        assert!(
            lines[1].starts_with("  rollout: invalid value"),
            "{}",
            lines[1]
        );
    }
}
