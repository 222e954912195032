//! Ranking: causes before the symptoms they explain, the worst and widest cause first; and
//! the verdict on the target.

use std::collections::{BTreeSet, HashMap};

use super::scope::{Target, TargetKind, name_of, ns_of};
use super::{Ctx, Finding, ObjectRef, Severity, Verdict};
use crate::metrics::SloDef;
use crate::metrics::burn::Burn;

/// Merges duplicates, links each finding to what it explains, raises a cause to the
/// severity of what it explains, and orders: unexplained causes, explained causes,
/// symptoms. Ranks start at 1.
pub(crate) fn rank(findings: Vec<Finding>) -> Vec<Finding> {
    let mut findings = merge(findings);
    let n = findings.len();
    let edges = links(&findings);
    // What each finding explains, directly or through others (a walk over the sparse
    // links): a cause is as severe as the worst of it, and weighs as much as it explains.
    let mut severity = Vec::with_capacity(n);
    let mut weight = Vec::with_capacity(n);
    let mut seen = vec![usize::MAX; n];
    for a in 0..n {
        let (mut worst, mut count) = (findings[a].severity, 0);
        let mut stack: Vec<usize> = edges[a].iter().copied().collect();
        while let Some(b) = stack.pop() {
            if seen[b] != a {
                seen[b] = a;
                count += 1;
                worst = worst.max(findings[b].severity);
                stack.extend(edges[b].iter().copied());
            }
        }
        severity.push(worst);
        weight.push(count);
    }
    let mut explained = vec![false; n];
    for targets in &edges {
        for &b in targets {
            explained[b] = true;
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let group = |i: usize| {
            if findings[i].cause.is_symptom() {
                2
            } else if explained[i] {
                1
            } else {
                0
            }
        };
        group(a)
            .cmp(&group(b))
            .then(severity[b].cmp(&severity[a]))
            .then(weight[b].cmp(&weight[a]))
            .then(findings[b].cause.depth().cmp(&findings[a].cause.depth()))
            .then(since_key(&findings[a]).cmp(&since_key(&findings[b])))
            .then(findings[a].cause.cmp(&findings[b].cause))
            .then(findings[a].object.cmp(&findings[b].object))
    });
    let mut rank_of = vec![0; n];
    for (r, &i) in order.iter().enumerate() {
        rank_of[i] = r + 1;
    }
    for i in 0..n {
        findings[i].rank = rank_of[i];
        findings[i].severity = severity[i];
        let mut explains: Vec<usize> = edges[i].iter().map(|&b| rank_of[b]).collect();
        explains.sort_unstable();
        findings[i].explains = explains;
    }
    findings.sort_by_key(|f| f.rank);
    findings
}

/// Which findings each explains: A explains B when B needs an object A is about, or when
/// both are about the same objects and A is the deeper cause (a used-up quota behind a
/// stuck rollout, a crash behind a failing probe). Symptoms explain nothing; of two findings
/// that would explain each other, the deeper one is the cause. Indexed by object, so a
/// namespace of hundreds of findings does not compare every pair.
fn links(findings: &[Finding]) -> Vec<BTreeSet<usize>> {
    let n = findings.len();
    let mut about: HashMap<&ObjectRef, Vec<usize>> = HashMap::new();
    for (a, f) in findings.iter().enumerate() {
        if !f.cause.is_symptom() {
            for s in &f.subjects {
                about.entry(s).or_default().push(a);
            }
        }
    }
    let mut edges: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for (b, f) in findings.iter().enumerate() {
        for need in &f.needs {
            for &a in about.get(need).into_iter().flatten() {
                if a != b {
                    edges[a].insert(b);
                }
            }
        }
        if !f.cause.is_symptom() {
            for s in &f.subjects {
                for &a in about.get(s).into_iter().flatten() {
                    if a != b && findings[a].cause.depth() > f.cause.depth() {
                        edges[a].insert(b);
                    }
                }
            }
        }
    }
    for a in 0..n {
        let mutual: Vec<usize> = edges[a]
            .iter()
            .copied()
            .filter(|&b| b > a && edges[b].contains(&a))
            .collect();
        for b in mutual {
            if findings[a].cause.depth() >= findings[b].cause.depth() {
                edges[b].remove(&a);
            } else {
                edges[a].remove(&b);
            }
        }
    }
    edges
}

fn since_key(f: &Finding) -> (bool, Option<chrono::DateTime<chrono::Utc>>) {
    (f.since.is_none(), f.since)
}

/// One finding per cause and object: two rules may reach the same (a workload at zero
/// replicas, through a Service and as the target).
fn merge(findings: Vec<Finding>) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for f in findings {
        match out
            .iter_mut()
            .find(|o| o.cause == f.cause && o.object == f.object)
        {
            Some(o) => {
                o.severity = o.severity.max(f.severity);
                o.serves_nothing |= f.serves_nothing;
                o.subjects.extend(f.subjects);
                o.subjects.sort();
                o.subjects.dedup();
                o.needs.extend(f.needs);
                o.needs.sort();
                o.needs.dedup();
                o.seen_at(f.since);
                for e in f.evidence {
                    if !o.evidence.contains(&e) {
                        o.evidence.push(e);
                    }
                }
                if o.summary.len() < f.summary.len() {
                    o.summary = f.summary;
                }
            }
            None => out.push(f),
        }
    }
    out
}

/// `down` when the target serves nothing, `degraded` when it serves with a critical or
/// warning finding, `healthy` otherwise.
pub(crate) fn verdict(
    ctx: &Ctx<'_>,
    target: &Target,
    findings: &[Finding],
    slos: &[(SloDef, Burn)],
) -> Verdict {
    let service_down = |ns: &str, name: &str| {
        findings.iter().any(|f| {
            f.serves_nothing
                && f.object.kind == "Service"
                && f.object.namespace.as_deref() == Some(ns)
                && f.object.name == name
        }) || slos.iter().any(|(d, b)| {
            d.service
                .as_ref()
                .is_some_and(|s| s.namespace == ns && s.name == name)
                && super::services::all_failing(b)
        })
    };
    let selector_services: Vec<(&str, &str)> = ctx
        .scope
        .services
        .iter()
        .filter(|s| crate::selector::service_selector(s.spec.as_ref()).is_some())
        .map(|s| (ns_of(&s.metadata), name_of(&s.metadata)))
        .collect();
    let down = match target {
        Target::Object {
            kind: TargetKind::Service,
            namespace,
            name,
        } => service_down(namespace, name),
        Target::Object {
            kind: TargetKind::Pod,
            ..
        } => ctx
            .scope
            .pods
            .first()
            .is_some_and(|p| p.summary.ready.0 < p.summary.ready.1 || p.summary.ready.1 == 0),
        Target::Object {
            kind,
            namespace,
            name,
        } => {
            let (desired, ready) = workload_counts(ctx, *kind, namespace, name);
            (desired > 0 && ready == 0)
                || (!selector_services.is_empty()
                    && selector_services.iter().all(|(ns, n)| service_down(ns, n)))
        }
        Target::Namespace(_) | Target::All => {
            !selector_services.is_empty()
                && selector_services.iter().all(|(ns, n)| service_down(ns, n))
        }
    };
    if down {
        Verdict::Down
    } else if findings.iter().any(|f| f.severity >= Severity::Warning) {
        Verdict::Degraded
    } else {
        Verdict::Healthy
    }
}

fn workload_counts(ctx: &Ctx<'_>, kind: TargetKind, ns: &str, name: &str) -> (i32, i32) {
    let is = |m: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta| {
        ns_of(m) == ns && name_of(m) == name
    };
    match kind {
        TargetKind::Deployment => ctx
            .scope
            .deployments
            .iter()
            .find(|d| is(&d.metadata))
            .map(|d| crate::model::status::deployment_replicas(d))
            .unwrap_or((0, 0)),
        TargetKind::StatefulSet => ctx
            .scope
            .stateful_sets
            .iter()
            .find(|d| is(&d.metadata))
            .map(|d| crate::model::status::stateful_set_replicas(d))
            .unwrap_or((0, 0)),
        _ => (0, 0),
    }
}
