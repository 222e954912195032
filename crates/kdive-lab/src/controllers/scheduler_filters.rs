//! The scheduler's filter and score plugins, in the default profile's order.

use super::*;

pub use kdive_core::model::scheduling::TAINT_UNSCHEDULABLE;

pub const MSG_UNSCHEDULABLE: &str = "node(s) were unschedulable";
pub const MSG_AFFINITY: &str = "node(s) didn't match Pod's node affinity/selector";
pub const MSG_PORTS: &str = "node(s) didn't have free ports for the requested pod ports";

use kdive_core::model::scheduling::{affinity_matches, effective_taints, term_matches, tolerates};

fn tolerations(pod: &Pod) -> &[Toleration] {
    pod.spec
        .as_ref()
        .and_then(|s| s.tolerations.as_deref())
        .unwrap_or(&[])
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
