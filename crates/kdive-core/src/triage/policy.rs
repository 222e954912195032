//! NetworkPolicy causes: a Service's pods isolated for ingress (some policy selects them
//! with policyType Ingress) where no policy admits anything, or admits only other ports.
//! kube-proxy still routes to such pods and they stay Ready; the CNI drops the packets.
//! Which clients a rule with `from` admits is not judged here: only what no client gets.

use serde_json::Value;

use super::scope::{key, name_of, ns_of};
use super::{Cause, Ctx, Evidence, EvidenceSource, Finding, ObjectRef, Severity};
use crate::selector::{LabelSelector, service_selector};

pub(crate) fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let policies: Vec<&Value> = ctx
        .objects
        .other
        .iter()
        .map(|v| v.as_ref())
        .filter(|v| v["kind"] == "NetworkPolicy")
        .collect();
    if policies.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for svc in &ctx.scope.services {
        let Some(sel) = service_selector(svc.spec.as_ref()) else {
            continue;
        };
        let ns = ns_of(&svc.metadata);
        let pods = ctx.scope.selected(ns, sel);
        let Some(pod) = pods.first() else { continue };
        let labels = pod.metadata.labels.as_ref();
        // The policies of the namespace that isolate these pods for ingress.
        let isolating: Vec<&Value> = policies
            .iter()
            .copied()
            .filter(|p| p["metadata"]["namespace"] == ns && isolates_ingress(p))
            .filter(|p| {
                LabelSelector::from_label_selector_json(&p["spec"]["podSelector"])
                    .is_ok_and(|s| s.matches_labels(labels))
            })
            .collect();
        let Some(first) = isolating.first() else {
            continue;
        };
        let rules: Vec<&Value> = isolating
            .iter()
            .flat_map(|p| p["spec"]["ingress"].as_array().into_iter().flatten())
            .collect();
        let ports: Vec<String> = svc
            .spec
            .iter()
            .flat_map(|s| s.ports.iter().flatten())
            .map(|p| target_text(&crate::model::service::target_port(p)))
            .collect();
        let why = if rules.is_empty() {
            "no ingress rule: every packet to them is dropped".to_string()
        } else if rules.iter().all(|r| admits_none_of(r, &ports)) {
            format!(
                "their ingress rules admit only other ports than the Service's targetPort ({})",
                ports.join(", ")
            )
        } else {
            continue;
        };
        let policy_ref = ObjectRef::namespaced(
            "NetworkPolicy",
            ns,
            first["metadata"]["name"].as_str().unwrap_or(""),
        );
        let names: Vec<&str> = isolating
            .iter()
            .filter_map(|p| p["metadata"]["name"].as_str())
            .collect();
        let svc_name = name_of(&svc.metadata);
        let mut f = Finding::new(
            Cause::NetworkPolicyDenies,
            Severity::Critical,
            policy_ref.clone(),
            format!(
                "NetworkPolicy {} isolates the {} pods of Service {svc_name} for ingress with {why}",
                names.join(", "),
                pods.len()
            ),
        );
        f.subjects.push(key("Service", &svc.metadata));
        f.evidence.push(Evidence::new(
            EvidenceSource::Selector,
            format!(
                "podSelector {} selects pod {} (and the Service's other pods)",
                first["spec"]["podSelector"],
                pod.name()
            ),
        ));
        f.evidence.push(Evidence::new(
            EvidenceSource::Port,
            format!(
                "ingress rules admitting the Service's targetPort ({}): none",
                ports.join(", ")
            ),
        ));
        f.next = vec![
            format!("kubectl describe networkpolicy {} -n {ns}", policy_ref.name),
            format!("kubectl get networkpolicy -n {ns}"),
        ];
        out.push(f);
    }
    out
}

/// `policyTypes`, or its default: Ingress always, Egress when egress rules are given.
fn isolates_ingress(p: &Value) -> bool {
    match p["spec"]["policyTypes"].as_array() {
        Some(types) => types.iter().any(|t| t == "Ingress"),
        None => true,
    }
}

/// A rule whose `ports` all certainly name other ports. A rule without ports admits every
/// port; a named port against a numeric targetPort (or the reverse) may be the same port,
/// so it counts as admitting.
fn admits_none_of(rule: &Value, target_ports: &[String]) -> bool {
    let Some(ports) = rule["ports"].as_array().filter(|p| !p.is_empty()) else {
        return false;
    };
    let numeric = |t: &String| t.parse::<i64>().is_ok();
    !ports.iter().any(|p| match &p["port"] {
        Value::Number(n) => target_ports
            .iter()
            .any(|t| !numeric(t) || t == &n.to_string()),
        Value::String(s) => target_ports.iter().any(|t| numeric(t) || t == s),
        _ => true,
    })
}

fn target_text(t: &k8s_openapi::apimachinery::pkg::util::intstr::IntOrString) -> String {
    match t {
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(n) => n.to_string(),
        k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
    }
}
