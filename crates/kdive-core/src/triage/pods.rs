//! Pod causes: what kubelet and the scheduler report about each pod (waiting reasons, last
//! terminations, probe Events, the PodScheduled condition), grouped by the workload the
//! pods belong to so 300 crash-looping replicas are one finding, not 300.

use crate::model::status::utc;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

use super::events::Seen;
use super::scope::{controller_of, key, name_of, ns_of};
use super::{Affected, Cause, Ctx, Evidence, EvidenceSource, Finding, ObjectRef, Severity};
use crate::model::pod_readiness::pod_ready;
use crate::model::stored_pod::StoredPod;

/// Restarts older than this are history, not a cause of what is wrong now.
const RECENT_RESTART: i64 = 3600;
/// A pod this new may still be starting: readiness failures then are expected, not a cause.
pub(crate) const STARTING_SECONDS: i64 = 60;
/// Lines of a previous run shown as evidence.
const LOG_LINES: usize = 8;

/// What is wrong with one pod.
struct Problem {
    cause: Cause,
    container: Option<String>,
    summary: String,
    evidence: Vec<Evidence>,
    since: Option<DateTime<Utc>>,
    next: Vec<String>,
    needs: Vec<ObjectRef>,
}

pub(crate) fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    // (owner, cause) → the pods with that problem.
    let mut groups: BTreeMap<(ObjectRef, Cause), Vec<(ObjectRef, Problem)>> = BTreeMap::new();
    let mut totals: BTreeMap<ObjectRef, (usize, usize)> = BTreeMap::new();
    for stored in &ctx.scope.pods {
        let owner = owner_of(ctx, &stored.metadata);
        let total = totals.entry(owner.clone()).or_default();
        total.0 += 1;
        if stored.summary.ready.0 == stored.summary.ready.1 && stored.summary.ready.1 > 0 {
            total.1 += 1;
        }
        if looks_healthy(stored) {
            continue;
        }
        let pod = stored.pod();
        let pod_ref = key("Pod", &pod.metadata);
        for p in problems(ctx, &pod) {
            groups
                .entry((owner.clone(), p.cause))
                .or_default()
                .push((pod_ref.clone(), p));
        }
    }
    let mut out = Vec::new();
    for ((owner, cause), mut pods) in groups {
        // The pod with the most evidence speaks for the group, then the newest.
        pods.sort_by(|a, b| {
            (b.1.evidence.len().cmp(&a.1.evidence.len()))
                .then(b.1.since.cmp(&a.1.since))
                .then(a.0.cmp(&b.0))
        });
        let (total, ready) = totals.get(&owner).copied().unwrap_or((pods.len(), 0));
        let count = pods.len();
        let (first_ref, first) = &pods[0];
        let severity = if ready == 0 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut f = Finding::new(cause, severity, first_ref.clone(), String::new());
        f.summary = if owner.kind == "Pod" {
            first.summary.clone()
        } else {
            format!(
                "{} ({count} of {total} pods of {})",
                first.summary,
                owner.display()
            )
        };
        f.evidence = first.evidence.clone();
        if count > 1 {
            let others: Vec<&str> = pods[1..]
                .iter()
                .take(5)
                .map(|(r, _)| r.name.as_str())
                .collect();
            let more = count - 1 - others.len();
            let mut text = format!("also: {}", others.join(", "));
            if more > 0 {
                text.push_str(&format!(" and {more} more"));
            }
            let source = first
                .evidence
                .first()
                .map_or(EvidenceSource::Event, |e| e.source);
            f.evidence.push(Evidence::new(source, text));
        }
        for (_, p) in &pods {
            f.seen_at(p.since);
        }
        f.next = first.next.clone();
        f.container = first.container.clone();
        f.subjects = pods.iter().map(|(r, _)| r.clone()).collect();
        f.needs = pods.iter().flat_map(|(_, p)| p.needs.clone()).collect();
        f.needs.sort();
        f.needs.dedup();
        if owner.kind != "Pod" {
            f.owner = Some(owner.clone());
            f.affected = Some(Affected { count, of: total });
        }
        out.push(f);
    }
    out.extend(claim_findings(ctx));
    out
}

/// Running, every container ready, never restarted: nothing to decode.
fn looks_healthy(p: &StoredPod) -> bool {
    if p.metadata.deletion_timestamp.is_some() {
        return true;
    }
    let s = &p.summary;
    matches!(&*s.status, "Completed" | "Succeeded" | "Evicted")
        || (&*s.status == "Running" && s.ready.0 == s.ready.1 && s.restarts == 0)
}

/// The workload that owns the pod: its Deployment through the ReplicaSet, its StatefulSet,
/// its direct controller, or the pod itself.
pub(crate) fn owner_of(
    ctx: &Ctx<'_>,
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
) -> ObjectRef {
    let ns = ns_of(meta);
    match controller_of(meta) {
        Some(("ReplicaSet", rs_name, uid)) => {
            let rs = ctx.index.replica_sets.get(&(ns, uid));
            match rs.and_then(|r| controller_of(&r.metadata)) {
                Some((kind, name, _)) => ObjectRef::namespaced(kind, ns, name),
                None => ObjectRef::namespaced("ReplicaSet", ns, rs_name),
            }
        }
        Some((kind, name, _)) => ObjectRef::namespaced(kind, ns, name),
        None => key("Pod", meta),
    }
}

fn problems(ctx: &Ctx<'_>, pod: &Pod) -> Vec<Problem> {
    let ns = ns_of(&pod.metadata);
    let name = name_of(&pod.metadata);
    let status = pod.status.clone().unwrap_or_default();
    let phase = status.phase.as_deref().unwrap_or("");
    if matches!(phase, "Succeeded" | "Failed") {
        return Vec::new();
    }
    let mut out = Vec::new();
    let scheduled = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled");
    if let Some(c) = scheduled.filter(|c| c.status == "False") {
        out.push(unschedulable(
            ctx,
            pod,
            c.message.as_deref(),
            c.last_transition_time.as_ref().map(utc),
        ));
        return out;
    }
    let statuses = status
        .init_container_statuses
        .iter()
        .flatten()
        .chain(status.container_statuses.iter().flatten());
    for cs in statuses {
        if let Some(p) = container_problem(ctx, pod, cs) {
            out.push(p);
        }
    }
    if out.is_empty() && phase == "Pending" {
        // Sandbox or volumes not ready: FailedMount names what is missing.
        let mounts = ctx.events.seen("Pod", ns, name, &["FailedMount"]);
        if let Some(p) = missing_config(ns, name, None, &mounts) {
            out.push(p);
        }
    }
    out
}

fn unschedulable(
    ctx: &Ctx<'_>,
    pod: &Pod,
    message: Option<&str>,
    at: Option<DateTime<Utc>>,
) -> Problem {
    let ns = ns_of(&pod.metadata);
    let name = name_of(&pod.metadata);
    let mut evidence = Vec::new();
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        evidence.push(Evidence::new(EvidenceSource::Scheduler, m));
    }
    let seen = ctx.events.seen("Pod", ns, name, &["FailedScheduling"]);
    evidence.extend(
        seen.iter()
            .filter(|s| Some(s.message.as_str()) != message)
            .map(|s| s.evidence()),
    );
    if let (Some(first), Some(s)) = (evidence.first_mut(), seen.first()) {
        first.count = first.count.max(s.count);
    }
    // Claims the pod waits for: an unbound claim is the cause behind the scheduler's refusal.
    let needs: Vec<ObjectRef> = pod
        .spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten())
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| ObjectRef::namespaced("PersistentVolumeClaim", ns, &c.claim_name))
        .collect();
    Problem {
        cause: Cause::Unschedulable,
        container: None,
        summary: format!("pod {name} cannot be scheduled"),
        evidence,
        since: at.or(seen.iter().filter_map(|s| s.first).min()),
        next: vec![
            format!("kubectl describe pod {name} -n {ns}"),
            "kubectl describe nodes".to_string(),
        ],
        needs,
    }
}

fn container_problem(ctx: &Ctx<'_>, pod: &Pod, cs: &ContainerStatus) -> Option<Problem> {
    let ns = ns_of(&pod.metadata);
    let name = name_of(&pod.metadata);
    let c = &cs.name;
    let state = cs.state.as_ref();
    let waiting = state.and_then(|s| s.waiting.as_ref());
    let reason = waiting.and_then(|w| w.reason.as_deref()).unwrap_or("");
    let message = waiting.and_then(|w| w.message.as_deref()).unwrap_or("");
    let last = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref());
    let events = |reasons: &[&str]| ctx.events.seen("Pod", ns, name, reasons);
    match reason {
        "ErrImagePull"
        | "ImagePullBackOff"
        | "InvalidImageName"
        | "ErrImageNeverPull"
        | "RegistryUnavailable" => {
            let mut evidence = vec![Evidence::new(
                EvidenceSource::Event,
                format!("container {c} waiting: {reason}{}", colon(message)),
            )];
            evidence.extend(events(&["Failed"]).iter().map(Seen::evidence));
            return Some(Problem {
                cause: Cause::ImagePull,
                container: Some(c.clone()),
                summary: format!("image {} of container {c} cannot be pulled", cs.image),
                since: first_of(&events(&["Failed", "BackOff"])),
                evidence,
                next: vec![
                    format!("kubectl describe pod {name} -n {ns}"),
                    format!(
                        "kubectl get pod {name} -n {ns} -o jsonpath='{{.spec.containers[*].image}}'"
                    ),
                ],
                needs: Vec::new(),
            });
        }
        "CreateContainerConfigError" => {
            let mut seen = events(&["Failed"]);
            seen.retain(|s| {
                s.message.contains("not found") || s.message.contains("couldn't find key")
            });
            let mut p = missing_config(ns, name, Some(c), &seen).unwrap_or(Problem {
                cause: Cause::ConfigMissing,
                container: Some(c.clone()),
                summary: format!("container {c} cannot be configured"),
                evidence: Vec::new(),
                since: None,
                next: vec![format!("kubectl describe pod {name} -n {ns}")],
                needs: Vec::new(),
            });
            if !message.is_empty() && !p.evidence.iter().any(|e| e.text.contains(message)) {
                p.evidence.insert(
                    0,
                    Evidence::new(
                        EvidenceSource::Event,
                        format!("container {c} waiting: {reason}: {message}"),
                    ),
                );
            }
            return Some(p);
        }
        _ => {}
    }
    let recent_exit = last.filter(|t| {
        t.finished_at
            .as_ref()
            .is_none_or(|f| ctx.now - utc(f) < Duration::seconds(RECENT_RESTART))
    });
    let killed_by_liveness = events(&["Killing"])
        .iter()
        .any(|s| s.message.contains("failed liveness probe"));
    let crashing = reason == "CrashLoopBackOff";
    if let Some(t) = recent_exit.filter(|_| crashing || cs.restart_count > 0) {
        let oom = t.reason.as_deref() == Some("OOMKilled");
        let cause = if oom {
            Cause::OomKilled
        } else if killed_by_liveness {
            Cause::LivenessRestarts
        } else if crashing {
            Cause::CrashLoop
        } else {
            // Restarted and running again after an ordinary exit: only worth a finding
            // while it keeps happening.
            return readiness_problem(ctx, pod, cs);
        };
        let mut evidence = vec![Evidence {
            source: EvidenceSource::Termination,
            text: format!(
                "container {c} last terminated: {} (exit code {}){}",
                t.reason.as_deref().unwrap_or("Error"),
                t.exit_code,
                t.finished_at
                    .as_ref()
                    .map(|f| format!(" at {}", super::rfc3339_string(utc(f))))
                    .unwrap_or_default()
            ),
            count: u32::try_from(cs.restart_count.max(1)).unwrap_or(1),
        }];
        if oom && let Some(limit) = memory_limit(pod, c) {
            evidence.push(Evidence::new(
                EvidenceSource::Termination,
                format!("memory limit of {c}: {limit}"),
            ));
        }
        if crashing {
            evidence.push(Evidence::new(
                EvidenceSource::Event,
                format!("container {c} waiting: CrashLoopBackOff{}", colon(message)),
            ));
        }
        let reasons: &[&str] = if cause == Cause::LivenessRestarts {
            &["Unhealthy", "Killing"]
        } else {
            &["BackOff"]
        };
        let seen = events(reasons);
        evidence.extend(
            seen.iter()
                .filter(|s| cause != Cause::LivenessRestarts || s.message.contains("iveness"))
                .map(Seen::evidence),
        );
        evidence.extend(log_lines(ctx, ns, name, c));
        let restarts = cs.restart_count;
        let summary = match cause {
            Cause::OomKilled => {
                format!("container {c} is killed for running out of memory (restarted {restarts}×)")
            }
            Cause::LivenessRestarts => {
                format!("container {c} is restarted by its failing liveness probe ({restarts}×)")
            }
            _ => format!(
                "container {c} keeps exiting with code {} and is restarted with back-off ({restarts}×)",
                t.exit_code
            ),
        };
        let mut next = vec![
            format!("kubectl logs {name} -n {ns} -c {c} --previous"),
            format!("kubectl describe pod {name} -n {ns}"),
        ];
        if oom {
            next.push(format!(
                "kubectl set resources {} -c {c} --limits=memory=<more than now>{}",
                workload_arg(ctx, pod),
                format_args!(" -n {ns}")
            ));
        }
        let since = seen
            .iter()
            .filter_map(|s| s.first)
            .min()
            .or(t.started_at.as_ref().map(utc))
            .or(t.finished_at.as_ref().map(utc));
        return Some(Problem {
            cause,
            container: Some(c.clone()),
            summary,
            evidence,
            since,
            next,
            needs: Vec::new(),
        });
    }
    readiness_problem(ctx, pod, cs)
}

/// A running, started container whose readiness probe fails.
fn readiness_problem(ctx: &Ctx<'_>, pod: &Pod, cs: &ContainerStatus) -> Option<Problem> {
    let ns = ns_of(&pod.metadata);
    let name = name_of(&pod.metadata);
    let c = &cs.name;
    let running = cs.state.as_ref().and_then(|s| s.running.as_ref())?;
    if cs.ready || pod_ready(pod) {
        return None;
    }
    let failed: Vec<Seen> = ctx
        .events
        .seen("Pod", ns, name, &["Unhealthy"])
        .into_iter()
        .filter(|s| {
            s.message.starts_with("Readiness probe") || s.message.starts_with("Startup probe")
        })
        .collect();
    let started = running.started_at.as_ref().map(utc);
    if started.is_some_and(|t| ctx.now - t < starting_window(pod, &cs.name)) {
        return None;
    }
    let mut evidence: Vec<Evidence> = failed
        .iter()
        .map(|s| Evidence {
            source: EvidenceSource::Probe,
            text: s.message.clone(),
            count: s.count,
        })
        .collect();
    if let Some(why) = crate::model::probes::not_ready_reason(pod) {
        evidence.push(Evidence::new(EvidenceSource::Probe, why));
    }
    let since = crate::model::pod_readiness::ready_condition(pod)
        .and_then(|c| c.last_transition_time.as_ref().map(utc))
        .or(first_of(&failed));
    Some(Problem {
        cause: Cause::ReadinessFailing,
        container: Some(c.clone()),
        summary: format!("container {c} runs but fails its readiness probe, so it gets no traffic"),
        evidence,
        since,
        next: vec![
            format!("kubectl describe pod {name} -n {ns}"),
            format!("kubectl logs {name} -n {ns} -c {c}"),
        ],
        needs: Vec::new(),
    })
}

/// How long after start failing readiness is normal: a minute, or the probe's own
/// initial delay plus the failures it tolerates when that is longer.
fn starting_window(pod: &Pod, container: &str) -> Duration {
    let probe = pod
        .spec
        .as_ref()
        .and_then(|s| s.containers.iter().find(|c| c.name == container))
        .and_then(|c| c.readiness_probe.as_ref());
    let probe_secs = probe.map_or(0, |p| {
        i64::from(p.initial_delay_seconds.unwrap_or(0))
            + i64::from(p.period_seconds.unwrap_or(10))
                * i64::from(p.failure_threshold.unwrap_or(3))
    });
    Duration::seconds(STARTING_SECONDS.max(probe_secs))
}

/// Whether the pod was created within the starting window: not ready yet is expected.
pub(crate) fn just_created(p: &StoredPod, now: DateTime<Utc>) -> bool {
    p.metadata
        .creation_timestamp
        .as_ref()
        .is_some_and(|t| now - utc(t) < Duration::seconds(STARTING_SECONDS))
}

/// `configmap "x" not found` (or secret) in the events: the object the pod waits for.
fn missing_config(
    ns: &str,
    pod: &str,
    container: Option<&String>,
    seen: &[Seen],
) -> Option<Problem> {
    let hit = seen
        .iter()
        .find_map(|s| missing_object(&s.message).map(|o| (s, o)))?;
    let (s, (kind, missing)) = hit;
    let object = ObjectRef::namespaced(kind, ns, &missing);
    let resource = kind.to_lowercase();
    Some(Problem {
        cause: Cause::ConfigMissing,
        container: container.cloned(),
        summary: format!("{resource} {missing} that pod {pod} needs does not exist"),
        evidence: seen.iter().map(Seen::evidence).collect(),
        since: s.first,
        next: vec![
            format!("kubectl get {resource} {missing} -n {ns}"),
            format!("kubectl describe pod {pod} -n {ns}"),
        ],
        needs: vec![object],
    })
}

/// Kubelet's `configmap "NAME" not found` / `secret "NAME" not found`, and the mount
/// errors `configmap references non-existent config key` carry the same shape.
fn missing_object(message: &str) -> Option<(&'static str, String)> {
    // Kubelet's managers say the resource singular; an API server's NotFound, plural.
    for (word, kind) in [
        ("configmap \"", "ConfigMap"),
        ("configmaps \"", "ConfigMap"),
        ("secret \"", "Secret"),
        ("secrets \"", "Secret"),
    ] {
        if let Some(i) = message.find(word) {
            let rest = &message[i + word.len()..];
            let end = rest.find('"')?;
            if rest[end..].starts_with("\" not found") {
                return Some((kind, rest[..end].to_string()));
            }
        }
    }
    None
}

/// Pending claims of the scope's pods, and claims they name that do not exist.
fn claim_findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for pvc in &ctx.scope.pvcs {
        let phase = pvc
            .status
            .as_ref()
            .and_then(|s| s.phase.as_deref())
            .unwrap_or("Pending");
        if phase == "Bound" || pvc.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let ns = ns_of(&pvc.metadata);
        let name = name_of(&pvc.metadata);
        let spec = pvc.spec.clone().unwrap_or_default();
        let mut f = Finding::new(
            Cause::PvcPending,
            Severity::Warning,
            key("PersistentVolumeClaim", &pvc.metadata),
            format!("claim {name} is {phase}: no volume is bound to it"),
        );
        let seen = ctx.events.seen("PersistentVolumeClaim", ns, name, &[]);
        f.evidence = seen.iter().map(Seen::evidence).collect();
        let class = spec.storage_class_name.as_deref().unwrap_or("");
        let size = spec
            .resources
            .as_ref()
            .and_then(|r| r.requests.as_ref())
            .and_then(|r| r.get("storage"))
            .map(|q| q.0.clone())
            .unwrap_or_default();
        f.evidence.push(Evidence::new(
            EvidenceSource::Event,
            format!(
                "storageClassName: {}; requests {}",
                if class.is_empty() { "(none)" } else { class },
                if size.is_empty() { "(no size)" } else { &size }
            ),
        ));
        f.seen_at(pvc.metadata.creation_timestamp.as_ref().map(utc));
        f.next = vec![
            format!("kubectl describe pvc {name} -n {ns}"),
            "kubectl get storageclass,pv".to_string(),
        ];
        out.push(f);
    }
    // A claim a pod names that does not exist at all.
    let have: std::collections::HashSet<(&str, &str)> = ctx
        .objects
        .pvcs
        .iter()
        .map(|c| (ns_of(&c.metadata), name_of(&c.metadata)))
        .collect();
    let mut missing: BTreeMap<ObjectRef, (String, Option<DateTime<Utc>>)> = BTreeMap::new();
    // Only pods that wait for it: a claim list that could not be read must not look empty.
    for p in ctx
        .scope
        .pods
        .iter()
        .filter(|p| &*p.summary.status == "Pending")
    {
        let ns = ns_of(&p.metadata);
        for claim in p.summary.claims.iter() {
            if !have.contains(&(ns, claim.as_str())) {
                let at = p.metadata.creation_timestamp.as_ref().map(utc);
                missing
                    .entry(ObjectRef::namespaced("PersistentVolumeClaim", ns, claim))
                    .or_insert((p.name().to_string(), at));
            }
        }
    }
    for (claim, (pod, at)) in missing {
        let ns = claim.namespace.clone().unwrap_or_default();
        let mut f = Finding::new(
            Cause::PvcPending,
            Severity::Warning,
            claim.clone(),
            format!("claim {} that pod {pod} mounts does not exist", claim.name),
        );
        f.evidence.push(Evidence::new(
            EvidenceSource::Scheduler,
            format!("persistentvolumeclaim \"{}\" not found", claim.name),
        ));
        f.seen_at(at);
        f.next = vec![format!("kubectl get pvc -n {ns}")];
        out.push(f);
    }
    out
}

fn memory_limit(pod: &Pod, container: &str) -> Option<String> {
    pod.spec
        .as_ref()?
        .containers
        .iter()
        .find(|c| c.name == container)?
        .resources
        .as_ref()?
        .limits
        .as_ref()?
        .get("memory")
        .map(|q| q.0.clone())
}

/// `deployment/web` (or the pod's direct owner) for `kubectl set …` commands.
fn workload_arg(ctx: &Ctx<'_>, pod: &Pod) -> String {
    let owner = owner_of(ctx, &pod.metadata);
    owner.kubectl()
}

fn log_lines(ctx: &Ctx<'_>, ns: &str, pod: &str, container: &str) -> Vec<Evidence> {
    let Some(lines) = ctx
        .logs
        .get(&(ns.to_string(), pod.to_string(), container.to_string()))
    else {
        return Vec::new();
    };
    let skip = lines.len().saturating_sub(LOG_LINES);
    lines[skip..]
        .iter()
        .map(|l| Evidence::new(EvidenceSource::Log, l.clone()))
        .collect()
}

fn first_of(seen: &[Seen]) -> Option<DateTime<Utc>> {
    seen.iter().filter_map(|s| s.first).min()
}

fn colon(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}
