//! A Node's Ready condition, as `GetNodeCondition` in
//! `staging/src/k8s.io/component-helpers/node/util/conditions.go` finds it (the first of its
//! type). kubectl's node printer differs (the last wins) and keeps its own rule in the lab's
//! table printer.

use k8s_openapi::api::core::v1::{Node, NodeCondition};

/// The node's first `Ready` condition.
pub fn ready_condition(node: &Node) -> Option<&NodeCondition> {
    node.status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == "Ready")
}

/// True, False, or None when the kubelet has not reported (or the status is Unknown).
pub fn ready(node: &Node) -> Option<bool> {
    match ready_condition(node)?.status.as_str() {
        "True" => Some(true),
        "False" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(conditions: &[(&str, &str)]) -> Node {
        let cs: Vec<_> = conditions
            .iter()
            .map(|(t, s)| serde_json::json!({"type": t, "status": s}))
            .collect();
        serde_json::from_value(
            serde_json::json!({"metadata": {"name": "n"}, "status": {"conditions": cs}}),
        )
        .unwrap()
    }

    #[test]
    fn first_ready_condition_counts() {
        assert_eq!(
            ready(&node(&[("MemoryPressure", "False"), ("Ready", "True")])),
            Some(true)
        );
        assert_eq!(
            ready(&node(&[("Ready", "False"), ("Ready", "True")])),
            Some(false)
        );
        assert_eq!(ready(&node(&[("Ready", "Unknown")])), None);
        assert_eq!(ready(&node(&[])), None);
    }
}
