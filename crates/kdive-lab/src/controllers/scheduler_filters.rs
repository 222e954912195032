//! The scheduler's filter and score plugins, in the default profile's order.

use super::*;

pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";

pub const MSG_UNSCHEDULABLE: &str = "node(s) were unschedulable";
pub const MSG_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
pub const MSG_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";

/// Upstream's `Toleration.ToleratesTaint`: empty effect matches all effects, empty key
/// (with Exists) all keys; operator defaults to Equal.
pub fn tolerates(t: &Toleration, taint: &Taint) -> bool {
    if t.effect
        .as_deref()
        .is_some_and(|e| !e.is_empty() && e != taint.effect)
    {
        return false;
    }
    if t.key
        .as_deref()
        .is_some_and(|k| !k.is_empty() && k != taint.key)
    {
        return false;
    }
    match t.operator.as_deref().unwrap_or("Equal") {
        "Exists" => true,
        "Equal" | "" => t.value.as_deref().unwrap_or("") == taint.value.as_deref().unwrap_or(""),
        _ => false,
    }
}

/// The node's taints, plus the NoSchedule taint the node lifecycle controller adds when
/// the Ready condition is not True (the lab may not run that controller): not-ready for
/// False or no condition yet, unreachable for Unknown.
pub fn effective_taints(node: &Node) -> Vec<Taint> {
    let mut taints = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.clone())
        .unwrap_or_default();
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.as_str());
    let key = match ready {
        Some("True") => None,
        Some("Unknown") => Some(TAINT_UNREACHABLE),
        _ => Some(TAINT_NOT_READY),
    };
    if let Some(key) = key
        && !taints
            .iter()
            .any(|t| t.key == key && t.effect == "NoSchedule")
    {
        taints.push(Taint {
            key: key.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        });
    }
    taints
}

fn tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or(&[])
}

fn label<'a>(node: &'a Node, key: &str) -> Option<&'a String> {
    node.metadata.labels.as_ref().and_then(|l| l.get(key))
}

/// One requirement against the node's labels. Gt/Lt compare integers; a missing label or
/// an unparseable value never matches.
fn requirement_matches(r: &NodeSelectorRequirement, node: &Node, field: bool) -> bool {
    let value = if field {
        // matchFields supports only metadata.name.
        (r.key == "metadata.name")
            .then(|| node.metadata.name.clone())
            .flatten()
    } else {
        label(node, &r.key).cloned()
    };
    let values = r.values.as_deref().unwrap_or(&[]);
    match r.operator.as_str() {
        "In" => value.is_some_and(|v| values.contains(&v)),
        "NotIn" => !value.is_some_and(|v| values.contains(&v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let (Some(v), [bound]) = (value, values) else {
                return false;
            };
            match (v.parse::<i64>(), bound.parse::<i64>()) {
                (Ok(v), Ok(b)) => (r.operator == "Gt" && v > b) || (r.operator == "Lt" && v < b),
                _ => false,
            }
        }
        _ => false,
    }
}

/// A term matches when all its expressions and fields do; an empty term matches nothing.
pub fn term_matches(t: &NodeSelectorTerm, node: &Node) -> bool {
    let exprs = t.match_expressions.as_deref().unwrap_or(&[]);
    let fields = t.match_fields.as_deref().unwrap_or(&[]);
    if exprs.is_empty() && fields.is_empty() {
        return false;
    }
    exprs.iter().all(|r| requirement_matches(r, node, false))
        && fields.iter().all(|r| requirement_matches(r, node, true))
}

/// nodeSelector and required node affinity (terms ORed) both hold.
fn affinity_matches(pod: &Pod, node: &Node) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return true;
    };
    let selector_ok = spec.node_selector.as_ref().is_none_or(|sel| {
        kdive_core::selector::set_matches(sel, |k| label(node, k).map(String::as_str))
    });
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    selector_ok
        && required.is_none_or(|r| r.node_selector_terms.iter().any(|t| term_matches(t, node)))
}

/// Runs the filters in the default profile's order; the first failing one decides.
pub(super) fn filter(pod: &Pod, node: &Node, used: &Usage) -> Result<(), Rejection> {
    let tols = tolerations(pod);
    // NodeUnschedulable: a cordoned node, unless the pod tolerates the unschedulable taint.
    if node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true) {
        let t = Taint {
            key: TAINT_UNSCHEDULABLE.into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        if !tols.iter().any(|tol| tolerates(tol, &t)) {
            return reject(MSG_UNSCHEDULABLE, true);
        }
    }
    // TaintToleration: the first NoSchedule/NoExecute taint not tolerated.
    if let Some(t) = effective_taints(node)
        .iter()
        .filter(|t| t.effect == "NoSchedule" || t.effect == "NoExecute")
        .find(|t| !tols.iter().any(|tol| tolerates(tol, t)))
    {
        let msg = format!(
            "node(s) had untolerated taint {{{}: {}}}",
            t.key,
            t.value.as_deref().unwrap_or("")
        );
        return reject(msg, true);
    }
    // NodeAffinity.
    if !affinity_matches(pod, node) {
        return reject(MSG_AFFINITY, true);
    }
    // NodePorts: same protocol and port, and the host IPs overlap (0.0.0.0 overlaps all).
    let wanted = host_ports(pod);
    if wanted.iter().any(|(proto, ip, port)| {
        used.host_ports.iter().any(|(p2, ip2, port2)| {
            proto == p2 && port == port2 && (ip == ip2 || ip == "0.0.0.0" || ip2 == "0.0.0.0")
        })
    }) {
        return reject(MSG_PORTS, false);
    }
    // NodeResourcesFit: every shortage is reported. Asking for more than the node has in
    // total cannot be fixed by preemption (unresolvable).
    let (cpu, mem, eph, max_pods) = allocatable(node);
    let req = pod_requests(pod, false);
    let mut reasons = Vec::new();
    let mut unresolvable = false;
    if used.pods as i128 + 1 > max_pods {
        reasons.push("Too many pods".to_string());
    }
    let checks = [
        (req.milli_cpu, cpu, used.requested.milli_cpu, "cpu"),
        (req.memory, mem, used.requested.memory, "memory"),
        (
            req.ephemeral,
            eph,
            used.requested.ephemeral,
            "ephemeral-storage",
        ),
    ];
    for (want, alloc, in_use, name) in checks {
        if want > 0 && want > alloc - in_use {
            reasons.push(format!("Insufficient {name}"));
            unresolvable |= want > alloc;
        }
    }
    if !reasons.is_empty() {
        return Err(Rejection {
            reasons,
            unresolvable,
        });
    }
    Ok(())
}

/// Upstream's DefaultNormalizeScore: scale to 0..100 by the maximum; `reverse` flips it.
/// All zero: 0 each, or 100 each when reversed.
fn normalize(scores: &mut [i64], reverse: bool) {
    let max = scores.iter().copied().max().unwrap_or(0);
    for s in scores.iter_mut() {
        let v = if max == 0 { 0 } else { *s * 100 / max };
        *s = if reverse { 100 - v } else { v };
    }
}

/// The total score of each feasible node (TaintToleration ×3, NodeAffinity ×2,
/// least-allocated ×1, balanced allocation ×1), with the pod added to the node.
pub(super) fn scores(pod: &Pod, feasible: &[(&Node, Usage)]) -> Vec<i64> {
    let tols: Vec<&Toleration> = tolerations(pod)
        .iter()
        .filter(|t| {
            t.effect.as_deref().unwrap_or("").is_empty()
                || t.effect.as_deref() == Some("PreferNoSchedule")
        })
        .collect();
    let mut taint: Vec<i64> = feasible
        .iter()
        .map(|(n, _)| {
            effective_taints(n)
                .iter()
                .filter(|t| {
                    t.effect == "PreferNoSchedule" && !tols.iter().any(|tol| tolerates(tol, t))
                })
                .count() as i64
        })
        .collect();
    normalize(&mut taint, true);
    let preferred = pod
        .spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|a| {
            a.preferred_during_scheduling_ignored_during_execution
                .clone()
        })
        .unwrap_or_default();
    let mut aff: Vec<i64> = feasible
        .iter()
        .map(|(n, _)| {
            preferred
                .iter()
                .filter(|p| p.weight != 0 && term_matches(&p.preference, n))
                .map(|p| p.weight as i64)
                .sum()
        })
        .collect();
    normalize(&mut aff, false);
    let nz = pod_requests(pod, true);
    feasible
        .iter()
        .enumerate()
        .map(|(i, (n, u))| {
            let (cpu, mem, _, _) = allocatable(n);
            let rc = u.non_zero.milli_cpu + nz.milli_cpu;
            let rm = u.non_zero.memory + nz.memory;
            let least = |req: i128, cap: i128| {
                if cap == 0 || req > cap {
                    0
                } else {
                    (cap - req) * 100 / cap
                }
            };
            let least_score = ((least(rc, cpu) + least(rm, mem)) / 2) as i64;
            let frac = |req: i128, cap: i128| {
                if cap == 0 {
                    1.0
                } else {
                    (req as f64 / cap as f64).min(1.0)
                }
            };
            // Two resources: the standard deviation is half their difference.
            let std = (frac(rc, cpu) - frac(rm, mem)).abs() / 2.0;
            let balanced = ((1.0 - std) * 100.0) as i64;
            3 * taint[i] + 2 * aff[i] + least_score + balanced
        })
        .collect()
}

/// splitmix64: a fixed, portable mix of the seed.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The highest-scoring node; ties broken by the seed (upstream picks uniformly at random).
pub(super) fn pick(pod: &Pod, feasible: &[(&Node, Usage)], seed: u64) -> String {
    let s = scores(pod, feasible);
    let best = s.iter().copied().max().unwrap_or(0);
    let top: Vec<&str> = feasible
        .iter()
        .zip(&s)
        .filter(|(_, sc)| **sc == best)
        .map(|((n, _), _)| node_name(n))
        .collect();
    top[(mix(seed) % top.len() as u64) as usize].to_string()
}
