//! Service causes (a selector that matches nothing, a targetPort nobody declares) and the
//! Service symptoms they and the pod causes explain: no ready endpoints, SLO burn.

use crate::model::status::utc;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::core::v1::{Pod, Service, ServicePort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::scope::{key, name_of, ns_of};
use super::{Cause, Ctx, Evidence, EvidenceSource, Finding, ObjectRef, Severity};
use crate::metrics::SloDef;
use crate::metrics::burn::{Burn, State};
use crate::model::service;
use crate::model::stored_pod::StoredPod;
use crate::selector::{service_selector, set_matches_labels};

/// Label EndpointSlices carry to name their Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

pub(crate) fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for svc in &ctx.scope.services {
        let spec = svc.spec.as_ref();
        if spec.and_then(|s| s.type_.as_deref()) == Some("ExternalName") {
            continue;
        }
        // Without a selector someone else writes the endpoints: nothing to check here.
        let Some(sel) = service_selector(spec) else {
            continue;
        };
        let ns = ns_of(&svc.metadata);
        let selected: Vec<&Arc<StoredPod>> = ctx
            .scope
            .selected(ns, sel)
            .into_iter()
            .filter(|p| serving(p))
            .collect();
        let workloads = workloads_selected(ctx, ns, sel);
        if selected.is_empty() {
            out.extend(no_pods(ctx, svc, sel, &workloads));
        }
        out.extend(port_mismatches(ctx, svc, &selected));
        out.extend(endpoints(ctx, svc, &selected, &workloads));
    }
    out
}

/// Pods that can serve: not terminating, not finished.
fn serving(p: &StoredPod) -> bool {
    p.metadata.deletion_timestamp.is_none()
        && !matches!(
            &*p.summary.status,
            "Completed" | "Succeeded" | "Evicted" | "Error"
        )
}

/// Deployments and StatefulSets whose pod template the selector matches, with replicas.
fn workloads_selected(
    ctx: &Ctx<'_>,
    ns: &str,
    sel: &BTreeMap<String, String>,
) -> Vec<(ObjectRef, i32)> {
    let mut out = Vec::new();
    for d in ctx
        .objects
        .deployments
        .iter()
        .filter(|d| ns_of(&d.metadata) == ns)
    {
        let spec = d.spec.as_ref();
        let labels = spec.and_then(|s| s.template.metadata.as_ref()?.labels.as_ref());
        if set_matches_labels(sel, labels) {
            out.push((
                key("Deployment", &d.metadata),
                spec.and_then(|s| s.replicas).unwrap_or(1),
            ));
        }
    }
    for d in ctx
        .objects
        .stateful_sets
        .iter()
        .filter(|d| ns_of(&d.metadata) == ns)
    {
        let spec = d.spec.as_ref();
        let labels = spec.and_then(|s| s.template.metadata.as_ref()?.labels.as_ref());
        if set_matches_labels(sel, labels) {
            out.push((
                key("StatefulSet", &d.metadata),
                spec.and_then(|s| s.replicas).unwrap_or(1),
            ));
        }
    }
    out
}

/// The selector selects no pod: a workload it would select is at zero replicas, or nothing
/// it could select exists (a typo, the usual case), named with the labels it missed.
fn no_pods(
    ctx: &Ctx<'_>,
    svc: &Service,
    sel: &BTreeMap<String, String>,
    workloads: &[(ObjectRef, i32)],
) -> Vec<Finding> {
    let ns = ns_of(&svc.metadata);
    let name = name_of(&svc.metadata);
    let svc_ref = key("Service", &svc.metadata);
    let zero: Vec<&ObjectRef> = workloads
        .iter()
        .filter(|(_, r)| *r == 0)
        .map(|(o, _)| o)
        .collect();
    if !zero.is_empty() {
        return zero
            .into_iter()
            .map(|w| super::workloads::scaled_to_zero(ctx, w, Some(&svc_ref)))
            .collect();
    }
    if !workloads.is_empty() {
        // Pods should exist and do not: the workload's own findings say why.
        return Vec::new();
    }
    let selector = selector_text(sel);
    let mut f = Finding::new(
        Cause::SelectorMatchesNothing,
        Severity::Critical,
        svc_ref.clone(),
        format!(
            "Service {name}'s selector {selector} matches no pod and no workload's pod template"
        ),
    );
    f.evidence.push(Evidence::new(
        EvidenceSource::Selector,
        format!("Service selector {selector}"),
    ));
    let near = near_misses(ctx, ns, sel);
    for (who, labels, differs) in near.iter().take(3) {
        f.evidence.push(Evidence::new(
            EvidenceSource::Selector,
            format!("{who} has {}: {differs}", selector_text(labels)),
        ));
    }
    f.seen_at(last_write(&svc.metadata));
    f.serves_nothing = true;
    f.next = vec![
        format!("kubectl get pods -n {ns} -l {} ", selector.replace(' ', ""))
            .trim_end()
            .to_string(),
        format!("kubectl get pods -n {ns} --show-labels"),
    ];
    if let Some((_, labels, _)) = near.first() {
        let fixed: BTreeMap<&String, &String> = sel
            .keys()
            .map(|k| (k, labels.get(k).unwrap_or(&sel[k])))
            .collect();
        if fixed.iter().all(|(k, v)| labels.get(*k) == Some(*v)) {
            let json = serde_json::json!({"spec": {"selector": fixed}});
            f.next
                .push(format!("kubectl patch service {name} -n {ns} -p '{json}'"));
        }
    }
    vec![f]
}

/// Pod templates (and pods no workload owns) of the namespace closest to the selector:
/// the most pairs matched, then the values nearest by edit distance (`wbe` for `web`).
/// Labels are shown for the selector's keys only.
fn near_misses(
    ctx: &Ctx<'_>,
    ns: &str,
    sel: &BTreeMap<String, String>,
) -> Vec<(String, BTreeMap<String, String>, String)> {
    let mut candidates: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for d in ctx
        .objects
        .deployments
        .iter()
        .filter(|d| ns_of(&d.metadata) == ns)
    {
        if let Some(l) = d
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref()?.labels.clone())
        {
            candidates.push((
                format!("Deployment {}'s pod template", name_of(&d.metadata)),
                l,
            ));
        }
    }
    for d in ctx
        .objects
        .stateful_sets
        .iter()
        .filter(|d| ns_of(&d.metadata) == ns)
    {
        if let Some(l) = d
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref()?.labels.clone())
        {
            candidates.push((
                format!("StatefulSet {}'s pod template", name_of(&d.metadata)),
                l,
            ));
        }
    }
    for p in ctx.objects.pods_in(ns) {
        if super::scope::controller_of(&p.metadata).is_none()
            && let Some(l) = &p.metadata.labels
        {
            candidates.push((format!("pod {}", p.name()), l.clone()));
        }
    }
    let mut scored: Vec<Scored> = candidates
        .into_iter()
        .filter_map(|(who, labels)| {
            let shown: BTreeMap<String, String> = sel
                .keys()
                .filter_map(|k| Some((k.clone(), labels.get(k)?.clone())))
                .collect();
            let matched = sel
                .iter()
                .filter(|(k, v)| labels.get(*k) == Some(*v))
                .count();
            let distance: usize = sel
                .iter()
                .map(|(k, v)| {
                    labels
                        .get(k)
                        .map_or(v.len().max(1) * 2, |have| edit_distance(v, have))
                })
                .sum();
            // Close enough to be a slip: some pair right, or every value a short edit away.
            let close = sel.iter().all(|(k, v)| {
                labels
                    .get(k)
                    .is_some_and(|h| edit_distance(v, h) <= v.len().div_ceil(2))
            });
            if matched == 0 && !close {
                return None;
            }
            let differs: Vec<String> = sel
                .iter()
                .filter(|(k, v)| labels.get(*k) != Some(*v))
                .map(|(k, v)| match labels.get(k) {
                    Some(have) => format!("{k}={have}, not {v}"),
                    None => format!("no label {k}"),
                })
                .collect();
            Some((matched, distance, who, shown, differs.join("; ")))
        })
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    scored
        .into_iter()
        .map(|(_, _, w, l, d)| (w, l, d))
        .collect()
}

/// Pairs matched, edit distance, who, their labels for the selector's keys, what differs.
type Scored = (usize, usize, String, BTreeMap<String, String>, String);

/// Levenshtein distance, for telling a typo from a different label.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// When the object was last written: its newest managedFields time (real API servers keep
/// them), else its creation.
fn last_write(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> Option<chrono::DateTime<chrono::Utc>> {
    meta.managed_fields
        .iter()
        .flatten()
        .filter_map(|m| m.time.as_ref().map(utc))
        .max()
        .or(meta.creation_timestamp.as_ref().map(utc))
}

fn selector_text(sel: &BTreeMap<String, String>) -> String {
    sel.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Service ports whose targetPort the selected pods do not declare: a name no container
/// port has (the pod is then no endpoint for that port), or a number while the containers
/// declare only others.
fn port_mismatches(ctx: &Ctx<'_>, svc: &Service, selected: &[&Arc<StoredPod>]) -> Vec<Finding> {
    let Some(ports) = svc.spec.as_ref().and_then(|s| s.ports.as_ref()) else {
        return Vec::new();
    };
    if selected.is_empty() {
        return Vec::new();
    }
    // Pods of one template declare the same ports: look at one per distinct label set.
    let mut samples: Vec<Pod> = Vec::new();
    let mut seen = BTreeSet::new();
    for p in selected {
        if samples.len() < 4 && seen.insert(p.metadata.labels.clone()) {
            samples.push(ports_of(ctx, p));
        }
    }
    let mut out = Vec::new();
    for (i, sp) in ports.iter().enumerate() {
        let bad: Vec<&Pod> = samples.iter().filter(|pod| !declares(pod, sp)).collect();
        if bad.is_empty() {
            continue;
        }
        let name = name_of(&svc.metadata);
        let ns = ns_of(&svc.metadata);
        let target = service::target_port(sp);
        let target_text = match &target {
            IntOrString::Int(n) => n.to_string(),
            IntOrString::String(s) => format!("\"{s}\""),
        };
        let port_name = sp
            .name
            .as_deref()
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        let all = bad.len() == samples.len();
        let mut f = Finding::new(
            Cause::TargetPortMismatch,
            if all {
                Severity::Critical
            } else {
                Severity::Warning
            },
            key("Service", &svc.metadata),
            format!(
                "Service {name} port {}{port_name} sends to targetPort {target_text}, which its pods do not declare",
                sp.port
            ),
        );
        f.evidence.push(Evidence::new(
            EvidenceSource::Port,
            format!(
                "Service port {}{port_name}/{} → targetPort {target_text}",
                sp.port,
                service::protocol(sp)
            ),
        ));
        for pod in &bad {
            f.evidence.push(Evidence::new(
                EvidenceSource::Port,
                format!("pod {} declares {}", name_of(&pod.metadata), declared(pod)),
            ));
        }
        f.seen_at(last_write(&svc.metadata));
        f.serves_nothing = all && ports.len() == 1;
        f.next.push(format!(
            "kubectl get endpointslices -n {ns} -l {SERVICE_NAME_LABEL}={name} -o yaml"
        ));
        if let Some(fix) = single_port(bad[0], sp) {
            f.next.push(format!(
                "kubectl patch service {name} -n {ns} --type=json -p '[{{\"op\":\"replace\",\"path\":\"/spec/ports/{i}/targetPort\",\"value\":{fix}}}]'"
            ));
        }
        out.push(f);
    }
    out
}

/// A pod as far as its ports go: its ReplicaSet's template when it has one (typed already;
/// 500 Services must not decode 500 pods), else the pod itself.
fn ports_of(ctx: &Ctx<'_>, p: &StoredPod) -> Pod {
    let ns = ns_of(&p.metadata);
    let template = super::scope::controller_of(&p.metadata)
        .filter(|(kind, _, _)| *kind == "ReplicaSet")
        .and_then(|(_, _, uid)| ctx.index.replica_sets.get(&(ns, uid)))
        .and_then(|rs| rs.spec.as_ref()?.template.as_ref()?.spec.clone());
    match template {
        Some(spec) => Pod {
            metadata: p.metadata.clone(),
            spec: Some(spec),
            status: None,
        },
        None => p.pod(),
    }
}

/// Whether some container declares the port the targetPort selects (`FindPort` for names;
/// for numbers, only when the pod declares any ports at all).
fn declares(pod: &Pod, sp: &ServicePort) -> bool {
    let declared: Vec<(Option<&str>, i32, &str)> = service::serving_containers(pod)
        .flat_map(|c| c.ports.iter().flatten())
        .map(|p| {
            (
                p.name.as_deref(),
                p.container_port,
                p.protocol.as_deref().unwrap_or("TCP"),
            )
        })
        .collect();
    match service::target_port(sp) {
        IntOrString::String(_) => service::find_port(pod, sp).is_some(),
        IntOrString::Int(n) => {
            declared.is_empty()
                || declared
                    .iter()
                    .any(|(_, p, proto)| *p == n && *proto == service::protocol(sp))
        }
    }
}

fn declared(pod: &Pod) -> String {
    let ports: Vec<String> = service::serving_containers(pod)
        .flat_map(|c| {
            c.ports.iter().flatten().map(move |p| {
                let name = p
                    .name
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default();
                format!(
                    "{}:{}/{}{name}",
                    c.name,
                    p.container_port,
                    p.protocol.as_deref().unwrap_or("TCP")
                )
            })
        })
        .collect();
    if ports.is_empty() {
        "no ports".into()
    } else {
        ports.join(", ")
    }
}

/// The one port of the Service's protocol the pod declares: the obvious fix.
fn single_port(pod: &Pod, sp: &ServicePort) -> Option<String> {
    let ports: Vec<&k8s_openapi::api::core::v1::ContainerPort> = service::serving_containers(pod)
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|p| p.protocol.as_deref().unwrap_or("TCP") == service::protocol(sp))
        .collect();
    match (ports.as_slice(), service::target_port(sp)) {
        ([p], IntOrString::String(_)) => Some(
            p.name
                .as_ref()
                .map_or(p.container_port.to_string(), |n| format!("\"{n}\"")),
        ),
        ([p], IntOrString::Int(_)) => Some(p.container_port.to_string()),
        _ => None,
    }
}

/// No (or too few) ready endpoints: the symptom users see as 503s and timeouts.
fn endpoints(
    ctx: &Ctx<'_>,
    svc: &Service,
    selected: &[&Arc<StoredPod>],
    workloads: &[(ObjectRef, i32)],
) -> Option<Finding> {
    let ns = ns_of(&svc.metadata);
    let name = name_of(&svc.metadata);
    let slices = slice_states(ctx, ns, name);
    let not_ready: Vec<&Arc<StoredPod>> = selected
        .iter()
        .copied()
        .filter(|p| {
            p.summary.ready.0 < p.summary.ready.1
                || p.summary.ready.1 == 0
                || &*p.summary.status != "Running"
                || slices
                    .as_ref()
                    .is_some_and(|s| s.not_ready.contains(p.name()))
        })
        .collect();
    let (ready, total) = match &slices {
        Some(s) => (s.ready, s.all.max(selected.len())),
        None => (selected.len() - not_ready.len(), selected.len()),
    };
    if total > 0 && ready >= total && not_ready.is_empty() {
        return None;
    }
    let starting = !not_ready.is_empty()
        && not_ready.iter().all(|p| {
            super::pods::just_created(p, ctx.now)
                && p.summary.restarts == 0
                && matches!(
                    &*p.summary.status,
                    "Running" | "ContainerCreating" | "Pending" | "PodInitializing"
                )
        });
    let severity = if starting {
        Severity::Info
    } else if ready == 0 {
        Severity::Critical
    } else {
        Severity::Warning
    };
    let summary = if starting {
        format!(
            "Service {name} has {ready} of {total} endpoints ready; the others are pods that have just started"
        )
    } else if ready == 0 {
        format!(
            "Service {name} has no ready endpoints ({} pods selected, none ready): requests to it fail",
            selected.len()
        )
    } else {
        format!("Service {name} has {ready} of {total} endpoints ready")
    };
    let mut f = Finding::new(
        Cause::EndpointsNotReady,
        severity,
        key("Service", &svc.metadata),
        summary,
    );
    f.serves_nothing = ready == 0;
    f.evidence.push(Evidence::new(
        EvidenceSource::Selector,
        format!(
            "ready endpoints: {ready}; selected pods: {}; not ready: {}",
            selected.len(),
            not_ready.len()
        ),
    ));
    f.needs.push(key("Service", &svc.metadata));
    f.needs.extend(workloads.iter().map(|(w, _)| w.clone()));
    for p in &not_ready {
        f.needs.push(key("Pod", &p.metadata));
        let pod = p.pod();
        if let Some(node) = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) {
            f.needs.push(ObjectRef::new("Node", None, node));
        }
        f.seen_at(
            crate::model::pod_readiness::ready_condition(&pod)
                .and_then(|c| c.last_transition_time.as_ref().map(utc)),
        );
        for claim in p.summary.claims.iter() {
            f.needs
                .push(ObjectRef::namespaced("PersistentVolumeClaim", ns, claim));
        }
    }
    f.needs.sort();
    f.needs.dedup();
    f.next = vec![
        format!("kubectl get endpointslices -n {ns} -l {SERVICE_NAME_LABEL}={name}"),
        format!("kdive chain svc/{name} -n {ns}"),
    ];
    Some(f)
}

/// Ready and all endpoints over the Service's EndpointSlices (`ready` unset counts as ready,
/// as consumers must read it), and the pods named as not ready; `None` when it has none
/// (not written yet, or not readable).
pub(crate) struct SliceState {
    pub ready: usize,
    pub all: usize,
    pub not_ready: BTreeSet<String>,
}

pub(crate) fn slice_states(ctx: &Ctx<'_>, ns: &str, name: &str) -> Option<SliceState> {
    let mut any = false;
    let mut ready = BTreeSet::new();
    let mut all = BTreeSet::new();
    let mut not_ready = BTreeSet::new();
    for s in ctx.index.slices.get(&(ns, name)).into_iter().flatten() {
        any = true;
        // Endpoints of a slice without ports carry no traffic: kube-proxy skips them (a
        // named targetPort the pods do not declare leaves the slice port-less).
        if s.ports.as_ref().is_none_or(|p| p.is_empty()) {
            for e in &s.endpoints {
                if let Some(pod) = e.target_ref.as_ref().and_then(|t| t.name.clone()) {
                    not_ready.insert(pod.clone());
                    all.insert(pod);
                }
            }
            continue;
        }
        for e in &s.endpoints {
            let pod = e
                .target_ref
                .as_ref()
                .filter(|t| t.kind.as_deref() == Some("Pod"))
                .and_then(|t| t.name.clone());
            let id = pod.clone().unwrap_or_else(|| e.addresses.join(","));
            if e.conditions.as_ref().and_then(|c| c.ready) != Some(false) {
                ready.insert(id.clone());
            } else if let Some(pod) = pod {
                not_ready.insert(pod);
            }
            all.insert(id);
        }
    }
    any.then_some(SliceState {
        ready: ready.len(),
        all: all.len(),
        not_ready,
    })
}

/// SLOs of the scope's Services that are burning their budget: a symptom as loud as it gets.
pub(crate) fn slo_findings(ctx: &Ctx<'_>, slos: &[(SloDef, Burn)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for (def, burn) in slos {
        let Some(svc_ref) = &def.service else {
            continue;
        };
        let Some(svc) = ctx.scope.services.iter().find(|s| {
            ns_of(&s.metadata) == svc_ref.namespace && name_of(&s.metadata) == svc_ref.name
        }) else {
            continue;
        };
        let severity = match burn.state {
            State::Page => Severity::Critical,
            State::Ticket | State::Exhausted => Severity::Warning,
            _ => continue,
        };
        let mut f = Finding::new(
            Cause::SloBurn,
            severity,
            key("Service", &svc.metadata),
            format!(
                "SLO {} of Service {} is burning its error budget ({})",
                def.name,
                svc_ref.name,
                burn.state.as_str()
            ),
        );
        for w in &burn.windows {
            if let (Some(ratio), Some(rate)) = (w.error_ratio, w.burn_rate) {
                f.evidence.push(Evidence::new(
                    EvidenceSource::Metric,
                    format!(
                        "{}: {:.2}% of requests fail, burn rate {rate:.1}× (objective {}%)",
                        w.window,
                        ratio * 100.0,
                        burn.objective_percent
                    ),
                ));
            }
        }
        if let Some(left) = burn.budget_remaining {
            f.evidence.push(Evidence::new(
                EvidenceSource::Metric,
                format!("error budget remaining: {:.1}%", left * 100.0),
            ));
        }
        f.needs.push(key("Service", &svc.metadata));
        if let Some(sel) = service_selector(svc.spec.as_ref()) {
            let ns = ns_of(&svc.metadata);
            f.needs.extend(
                ctx.scope
                    .selected(ns, sel)
                    .iter()
                    .map(|p| key("Pod", &p.metadata)),
            );
            f.needs
                .extend(workloads_selected(ctx, ns, sel).into_iter().map(|(w, _)| w));
        }
        f.next = vec![
            format!("kdive slo"),
            format!("kdive chain svc/{} -n {}", svc_ref.name, svc_ref.namespace),
        ];
        out.push(f);
    }
    out
}

/// Whether every request fails, by the shortest window that has a ratio.
pub(crate) fn all_failing(burn: &Burn) -> bool {
    burn.windows
        .iter()
        .filter_map(|w| w.error_ratio.map(|r| (w.window, r)))
        .min_by_key(|(w, _)| *w)
        .is_some_and(|(_, r)| r >= 0.99)
}
