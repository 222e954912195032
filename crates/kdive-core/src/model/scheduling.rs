//! Which nodes a pod may land on, as the scheduler's filter plugins decide: taints and
//! tolerations (`Toleration.ToleratesTaint` in `staging/src/k8s.io/api/core/v1/toleration.go`)
//! and node affinity (`staging/src/k8s.io/component-helpers/scheduling/corev1/nodeaffinity`).
//! The lab's scheduler enforces these; the panes can explain a Pending pod with them.

use k8s_openapi::api::core::v1::{
    Node, NodeSelectorRequirement, NodeSelectorTerm, Pod, Taint, Toleration,
};

pub const TAINT_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
pub const TAINT_NOT_READY: &str = "node.kubernetes.io/not-ready";
pub const TAINT_UNREACHABLE: &str = "node.kubernetes.io/unreachable";

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
    let ready = crate::model::node::ready_condition(node).map(|c| c.status.as_str());
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
pub fn affinity_matches(pod: &Pod, node: &Node) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return true;
    };
    let selector_ok = spec.node_selector.as_ref().is_none_or(|sel| {
        crate::selector::set_matches(sel, |k| label(node, k).map(String::as_str))
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
