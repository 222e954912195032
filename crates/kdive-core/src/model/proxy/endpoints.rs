//! Which endpoints a service port uses (§6): ready / serving / terminating, traffic
//! policies and topology hints.

use super::config::ProxyOptions;
use super::input::{Endpoint, ServicePortInfo};

/// The outcome of endpoint selection for one service port. Indexes point into
/// [`ServicePortInfo::endpoints`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Endpoints of KUBE-SVC (cluster policy), in rule order.
    pub cluster: Vec<usize>,
    /// Endpoints of KUBE-SVL (local policy), in rule order.
    pub local: Vec<usize>,
    /// Endpoints that get a KUBE-SEP chain.
    pub reachable: Vec<usize>,
    /// Some endpoint is usable anywhere.
    pub has_endpoints: bool,
    /// Topology hints narrowed the cluster endpoints.
    pub topology_used: bool,
    /// Local serving-terminating endpoints stand in for missing local ready ones.
    pub local_fallback: bool,
}

fn serving_terminating(ep: &Endpoint) -> bool {
    ep.serving && ep.terminating
}

/// Selects the endpoints of `sp` on this node (§6, steps 1-5).
pub fn select(sp: &ServicePortInfo, opts: &ProxyOptions) -> Selection {
    let eps = &sp.endpoints;
    let mut sel = Selection::default();
    if sp.uses_cluster_endpoints() {
        let (allowed, topology_used) = topology_filter(eps, opts);
        sel.topology_used = topology_used;
        sel.cluster = (0..eps.len())
            .filter(|&i| eps[i].ready && allowed(i))
            .collect();
        if sel.cluster.is_empty() {
            sel.cluster = (0..eps.len())
                .filter(|&i| serving_terminating(&eps[i]))
                .collect();
        }
        sel.has_endpoints = !sel.cluster.is_empty();
    }
    if !sp.uses_local_endpoints() {
        sel.reachable = sel.cluster.clone();
        return sel;
    }
    let (mut has_local_ready, mut has_local_st) = (false, false);
    for ep in eps {
        if ep.ready {
            sel.has_endpoints = true;
            has_local_ready |= ep.is_local;
        } else if serving_terminating(ep) {
            sel.has_endpoints = true;
            has_local_st |= ep.is_local;
        }
    }
    if has_local_ready {
        sel.local = (0..eps.len())
            .filter(|&i| eps[i].is_local && eps[i].ready)
            .collect();
    } else if has_local_st {
        sel.local = (0..eps.len())
            .filter(|&i| eps[i].is_local && serving_terminating(&eps[i]))
            .collect();
        sel.local_fallback = true;
    }
    sel.reachable = if !sp.uses_cluster_endpoints() {
        sel.local.clone()
    } else if !sel.topology_used && !sel.local_fallback {
        sel.cluster.clone()
    } else {
        // Upstream builds this union in map order; sorted by endpoint string here.
        let mut all = sel.cluster.clone();
        for &i in &sel.local {
            if !all.contains(&i) {
                all.push(i);
            }
        }
        all.sort_unstable();
        all
    };
    sel
}

/// Returns a predicate over endpoint indexes and whether topology narrowed the choice.
fn topology_filter<'a>(
    eps: &'a [Endpoint],
    opts: &'a ProxyOptions,
) -> (Box<dyn Fn(usize) -> bool + 'a>, bool) {
    let ready: Vec<&Endpoint> = eps.iter().filter(|e| e.ready).collect();
    let node = opts.node_name.as_str();
    if opts.prefer_same_traffic_distribution
        && !ready.is_empty()
        && ready.iter().all(|e| e.node_hints.is_some())
        && ready
            .iter()
            .any(|e| e.node_hints.iter().flatten().any(|n| n == node))
    {
        let f = move |i: usize| eps[i].node_hints.iter().flatten().any(|n| n == node);
        return (Box::new(f), true);
    }
    if let Some(zone) = opts.node_zone.as_deref()
        && !ready.is_empty()
        && ready.iter().all(|e| e.zone_hints.is_some())
        && ready
            .iter()
            .any(|e| e.zone_hints.iter().flatten().any(|z| z == zone))
    {
        let f = move |i: usize| eps[i].zone_hints.iter().flatten().any(|z| z == zone);
        return (Box::new(f), true);
    }
    (Box::new(|_| true), false)
}
