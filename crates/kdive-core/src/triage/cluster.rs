//! Cluster causes: nodes that are not Ready, and cluster DNS with no ready endpoint.

use super::scope::{key, name_of};
use super::services::slice_states;
use super::{Cause, Ctx, Evidence, EvidenceSource, Finding, Severity};
use crate::model::status::utc;
use crate::selector::service_selector;

/// The cluster DNS Service, as kubeadm, EKS and the lab name it.
const DNS_NAMESPACE: &str = "kube-system";
const DNS_SERVICE: &str = "kube-dns";

pub(crate) fn findings(ctx: &Ctx<'_>) -> Vec<Finding> {
    let mut out: Vec<Finding> = ctx
        .scope
        .nodes
        .iter()
        .map(|n| node_not_ready(ctx, n))
        .collect();
    if ctx.scope.cluster_wide {
        out.extend(dns(ctx));
    }
    out
}

fn node_not_ready(ctx: &Ctx<'_>, node: &k8s_openapi::api::core::v1::Node) -> Finding {
    let name = name_of(&node.metadata);
    let cond = crate::model::node::ready_condition(node);
    let status = cond.map(|c| c.status.as_str()).unwrap_or("Unknown");
    let mut f = Finding::new(
        Cause::NodeNotReady,
        Severity::Critical,
        key("Node", &node.metadata),
        format!("node {name} is not Ready (Ready={status}): its pods are out of service"),
    );
    if let Some(c) = cond {
        f.evidence.push(Evidence::new(
            EvidenceSource::Event,
            format!(
                "Ready={} {}: {}",
                c.status,
                c.reason.as_deref().unwrap_or(""),
                c.message.as_deref().unwrap_or("")
            ),
        ));
        f.seen_at(c.last_transition_time.as_ref().map(utc));
    } else {
        f.evidence.push(Evidence::new(
            EvidenceSource::Event,
            "no Ready condition reported",
        ));
    }
    for t in node.spec.iter().flat_map(|s| s.taints.iter().flatten()) {
        if t.key.starts_with("node.kubernetes.io/") {
            f.evidence.push(Evidence::new(
                EvidenceSource::Event,
                format!("taint {}:{}", t.key, t.effect),
            ));
        }
    }
    f.evidence.extend(
        ctx.events
            .seen("Node", "", name, &[])
            .iter()
            .take(5)
            .map(|s| s.evidence()),
    );
    f.next = vec![
        format!("kubectl describe node {name}"),
        format!("kubectl get pods -A -o wide --field-selector spec.nodeName={name}"),
    ];
    f
}

/// `kube-system/kube-dns` without a ready endpoint: no name resolves in the cluster.
fn dns(ctx: &Ctx<'_>) -> Option<Finding> {
    let svc = ctx.objects.services.iter().find(|s| {
        s.metadata.namespace.as_deref() == Some(DNS_NAMESPACE)
            && name_of(&s.metadata) == DNS_SERVICE
    })?;
    let sel = service_selector(svc.spec.as_ref())?;
    let pods = ctx.scope.selected(DNS_NAMESPACE, sel);
    let ready_pods = pods
        .iter()
        .filter(|p| p.summary.ready.0 == p.summary.ready.1 && p.summary.ready.1 > 0)
        .count();
    let ready = slice_states(ctx, DNS_NAMESPACE, DNS_SERVICE).map_or(ready_pods, |s| s.ready);
    if ready > 0 {
        return None;
    }
    let mut f = Finding::new(
        Cause::DnsUnavailable,
        Severity::Critical,
        key("Service", &svc.metadata),
        format!(
            "cluster DNS ({DNS_NAMESPACE}/{DNS_SERVICE}) has no ready endpoint: names do not resolve in any pod ({} DNS pods, none ready)",
            pods.len()
        ),
    );
    f.evidence.push(Evidence::new(
        EvidenceSource::Selector,
        format!("ready endpoints: 0; pods selected: {}", pods.len()),
    ));
    for p in pods.iter().take(4) {
        f.evidence.push(Evidence::new(
            EvidenceSource::Event,
            format!("pod {}: {}", p.name(), p.summary.status),
        ));
    }
    // DNS is the cause a namespace's owners see; what broke it (coredns scaled down or
    // crashing) is named here and ranks below it.
    f.subjects
        .extend(pods.iter().map(|p| key("Pod", &p.metadata)));
    for d in ctx.objects.deployments.iter().filter(|d| {
        d.metadata.namespace.as_deref() == Some(DNS_NAMESPACE)
            && crate::selector::set_matches_labels(
                sel,
                d.spec
                    .as_ref()
                    .and_then(|s| s.template.metadata.as_ref()?.labels.as_ref()),
            )
    }) {
        let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        f.evidence.push(Evidence::new(
            EvidenceSource::Event,
            format!(
                "Deployment {DNS_NAMESPACE}/{}: spec.replicas {replicas}",
                name_of(&d.metadata)
            ),
        ));
        f.subjects.push(key("Deployment", &d.metadata));
    }
    f.needs = f.subjects.clone();
    f.next = vec![
        format!("kubectl get pods -n {DNS_NAMESPACE} -l k8s-app=kube-dns"),
        format!("kubectl get deployment coredns -n {DNS_NAMESPACE}"),
    ];
    Some(f)
}
