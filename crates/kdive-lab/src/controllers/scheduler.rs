//! The scheduler (`default-scheduler`): for one pending pod, the default profile's filters
//! (NodeUnschedulable, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit), its
//! main scores (TaintToleration, NodeAffinity, NodeResourcesFit least-allocated,
//! NodeResourcesBalancedAllocation) and a seeded tiebreak; or the FailedScheduling message
//! upstream's `FitError` builds, including the preemption part.
//!
//! A loop calls [`schedule`] for each pod with no `spec.nodeName` (and again when nodes or
//! bound pods change, or after `requeue_after`), then posts the binding.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::{
    Binding, Node, ObjectReference, PersistentVolumeClaim, Pod, PodCondition, Taint, Toleration,
};
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

use super::{Change, EventRecord};
use kdive_core::quantity::{parse_milli, parse_value};

pub const SCHEDULER_NAME: &str = "default-scheduler";
/// Requests assumed for scoring when a container sets none (upstream's non-zero defaults).
const DEFAULT_MILLI_CPU: i128 = 100;
const DEFAULT_MEMORY: i128 = 200 * 1024 * 1024;
/// Unschedulable pods are retried at the latest after this long (upstream's
/// podMaxInUnschedulablePodsDuration), or earlier on a relevant cluster change.
pub const UNSCHEDULABLE_RETRY: Duration = Duration::from_secs(300);

pub struct ScheduleInput<'a> {
    pub pod: &'a Pod,
    pub nodes: &'a [Node],
    /// All pods: those bound to a node and not finished use its resources and host ports.
    /// Shared, so the loop hands over its cache without copying thousands of pods.
    pub pods: &'a [Arc<Pod>],
    pub now: DateTime<Utc>,
    /// Breaks ties between equally scored nodes; the loop draws it from the lab's seeded RNG.
    pub seed: u64,
    /// The claims of the pod's namespace and the StorageClasses, for VolumeBinding's
    /// PreFilter.
    pub claims: &'a [Arc<PersistentVolumeClaim>],
    pub classes: &'a [Arc<StorageClass>],
}

#[derive(Debug, Default, PartialEq)]
pub struct ScheduleOutput {
    /// The pods/binding body; the API server sets `spec.nodeName` and PodScheduled=True.
    pub binding: Option<Binding>,
    /// PodScheduled=False with reason Unschedulable (or SchedulingGated), when it changes.
    pub status: Option<Change<Pod>>,
    pub events: Vec<EventRecord>,
    /// Nodes where evicting lower-priority pods would make room. Upstream would nominate one
    /// and evict; this scheduler does not preempt (yet), the loop may.
    pub preemption_candidates: Vec<String>,
    pub requeue_after: Option<Duration>,
}

/// Why a node was filtered out: upstream's Status with its code and reasons.
#[derive(Debug, Clone, PartialEq)]
struct Rejection {
    reasons: Vec<String>,
    /// UnschedulableAndUnresolvable: preemption cannot help on this node.
    unresolvable: bool,
}

fn reject(reason: impl Into<String>, unresolvable: bool) -> Result<(), Rejection> {
    Err(Rejection {
        reasons: vec![reason.into()],
        unresolvable,
    })
}

/// Schedules one pod, or explains why it cannot be.
pub fn schedule(input: &ScheduleInput) -> ScheduleOutput {
    let pod = input.pod;
    let mut out = ScheduleOutput::default();
    let spec = match pod.spec.as_ref() {
        Some(s) => s,
        None => return out,
    };
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    // Not ours: bound already, being deleted, finished, or for another scheduler.
    if spec.node_name.as_deref().is_some_and(|n| !n.is_empty())
        || pod.metadata.deletion_timestamp.is_some()
        || matches!(phase, Some("Succeeded") | Some("Failed"))
        || spec.scheduler_name.as_deref().unwrap_or(SCHEDULER_NAME) != SCHEDULER_NAME
    {
        return out;
    }
    if spec
        .scheduling_gates
        .as_ref()
        .is_some_and(|g| !g.is_empty())
    {
        out.status = condition_change(
            pod,
            "SchedulingGated",
            "Scheduling is blocked due to non-empty scheduling gates",
            input.now,
        );
        return out;
    }
    if input.nodes.is_empty() {
        return unschedulable(pod, "no nodes available to schedule pods".into(), input.now);
    }
    if let Some(reason) = volume_binding_prefilter(pod, input.claims, input.classes) {
        return prefilter_rejection(pod, input, reason);
    }
    let usage = node_usage(input.pods, pod);
    let mut feasible = Vec::new();
    let mut rejected: Vec<(&Node, Rejection)> = Vec::new();
    for node in input.nodes {
        let u = usage.get(node_name(node)).cloned().unwrap_or_default();
        match filter(pod, node, &u) {
            Ok(()) => feasible.push((node, u)),
            Err(r) => rejected.push((node, r)),
        }
    }
    if feasible.is_empty() {
        let n = input.nodes.len();
        let mut msg = format!("0/{n} nodes are available:");
        msg += &format!(" {}.", histogram(rejected.iter().map(|(_, r)| r)));
        let post = preemption(
            pod,
            &rejected,
            input.pods,
            &usage,
            &mut out.preemption_candidates,
        );
        if let Some(p) = post {
            // The post-filter message ends with its own period and gets another: real
            // messages end in "scheduling..".
            msg += &format!(" preemption: {p}.");
        }
        let candidates = std::mem::take(&mut out.preemption_candidates);
        out = unschedulable(pod, msg, input.now);
        out.preemption_candidates = candidates;
        return out;
    }
    let chosen = pick(pod, &feasible, input.seed);
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    out.binding = Some(Binding {
        metadata: ObjectMeta {
            name: Some(name.clone()),
            namespace: Some(ns.clone()),
            uid: pod.metadata.uid.clone(),
            ..Default::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(chosen.clone()),
            ..Default::default()
        },
    });
    out.events.push(event(
        pod,
        "Normal",
        "Scheduled",
        format!("Successfully assigned {ns}/{name} to {chosen}"),
        input.now,
    ));
    out
}

fn unschedulable(pod: &Pod, message: String, now: DateTime<Utc>) -> ScheduleOutput {
    ScheduleOutput {
        status: condition_change(pod, "Unschedulable", &message, now),
        events: vec![event(pod, "Warning", "FailedScheduling", message, now)],
        requeue_after: Some(UNSCHEDULABLE_RETRY),
        ..Default::default()
    }
}

/// Reasons counted per node and sorted as strings ("1 Insufficient cpu, 2 node(s) ..."),
/// exactly as upstream sorts them (so "10 x" sorts before "2 y").
fn histogram<'a>(rs: impl Iterator<Item = &'a Rejection>) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rs {
        for reason in &r.reasons {
            *counts.entry(reason).or_default() += 1;
        }
    }
    let mut v: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
    v.sort();
    v.join(", ")
}

/// DefaultPreemption's verdict as text. Nodes rejected as unresolvable are "not helpful";
/// on the others, all lower-priority pods are removed and the filters re-run.
/// VolumeBinding's PreFilter (pkg/scheduler/framework/plugins/volumebinding/
/// volume_binding.go, `podHasPVCs` and `PreFilter`): a claim that is missing, lost or being
/// deleted, or an unbound claim whose class binds immediately, rejects every node.
pub fn volume_binding_prefilter(
    pod: &Pod,
    claims: &[Arc<PersistentVolumeClaim>],
    classes: &[Arc<StorageClass>],
) -> Option<String> {
    let mut unbound_immediate = false;
    for v in pod.spec.as_ref()?.volumes.iter().flatten() {
        let Some(source) = &v.persistent_volume_claim else {
            continue;
        };
        let name = &source.claim_name;
        let Some(claim) = claims
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name.as_str()))
        else {
            return Some(format!("persistentvolumeclaim \"{name}\" not found"));
        };
        let phase = claim.status.as_ref().and_then(|s| s.phase.as_deref());
        let volume = claim
            .spec
            .as_ref()
            .and_then(|s| s.volume_name.as_deref())
            .unwrap_or("");
        if phase == Some("Lost") {
            return Some(format!(
                "persistentvolumeclaim \"{name}\" bound to non-existent persistentvolume \"{volume}\""
            ));
        }
        if claim.metadata.deletion_timestamp.is_some() {
            return Some(format!("persistentvolumeclaim \"{name}\" is being deleted"));
        }
        if phase != Some("Bound") && !delays_binding(claim, classes) {
            unbound_immediate = true;
        }
    }
    unbound_immediate.then(|| "pod has unbound immediate PersistentVolumeClaims".to_string())
}

/// `volume.IsDelayBindingMode`: no class name, or a class that does not exist, binds
/// immediately; only a WaitForFirstConsumer class waits for the pod.
fn delays_binding(claim: &PersistentVolumeClaim, classes: &[Arc<StorageClass>]) -> bool {
    let class = claim
        .spec
        .as_ref()
        .and_then(|s| s.storage_class_name.as_deref())
        .unwrap_or("");
    !class.is_empty()
        && classes.iter().any(|c| {
            c.metadata.name.as_deref() == Some(class)
                && c.volume_binding_mode.as_deref() == Some("WaitForFirstConsumer")
        })
}

/// `FitError.Error()` for a PreFilter rejection (pkg/scheduler/framework/types.go): the
/// plugin's message once, not per node, then what preemption says of every node rejected
/// as unresolvable.
fn prefilter_rejection(pod: &Pod, input: &ScheduleInput, reason: String) -> ScheduleOutput {
    let n = input.nodes.len();
    let rejected: Vec<(&Node, Rejection)> = input
        .nodes
        .iter()
        .map(|node| {
            (
                node,
                Rejection {
                    reasons: vec![reason.clone()],
                    unresolvable: true,
                },
            )
        })
        .collect();
    let mut msg = format!("0/{n} nodes are available: {reason}.");
    let mut none = Vec::new();
    let usage = BTreeMap::new();
    if let Some(p) = preemption(pod, &rejected, input.pods, &usage, &mut none) {
        msg += &format!(" preemption: {p}.");
    }
    unschedulable(pod, msg, input.now)
}

fn preemption(
    pod: &Pod,
    rejected: &[(&Node, Rejection)],
    pods: &[Arc<Pod>],
    usage: &BTreeMap<String, Usage>,
    candidates: &mut Vec<String>,
) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    if spec.preemption_policy.as_deref() == Some("Never") {
        return Some("not eligible due to preemptionPolicy=Never.".into());
    }
    let prio = spec.priority.unwrap_or(0);
    let mut statuses = Vec::new();
    for (node, r) in rejected {
        if r.unresolvable {
            statuses.push(Rejection {
                reasons: vec!["Preemption is not helpful for scheduling".into()],
                unresolvable: true,
            });
            continue;
        }
        let lower: Vec<Pod> = bound_pods(pods, pod)
            .filter(|p| {
                p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(node_name(node))
            })
            .filter(|p| p.spec.as_ref().and_then(|s| s.priority).unwrap_or(0) < prio)
            .cloned()
            .collect();
        if lower.is_empty() {
            statuses.push(Rejection {
                reasons: vec!["No preemption victims found for incoming pod".into()],
                unresolvable: true,
            });
            continue;
        }
        let mut u = usage.get(node_name(node)).cloned().unwrap_or_default();
        for v in &lower {
            u.remove(v);
        }
        match filter(pod, node, &u) {
            Ok(()) => candidates.push(node_name(node).to_string()),
            Err(r) => statuses.push(r),
        }
    }
    // With a candidate, preemption succeeds and adds no message.
    if !candidates.is_empty() {
        return None;
    }
    Some(format!(
        "0/{} nodes are available: {}.",
        rejected.len(),
        histogram(statuses.iter())
    ))
}

fn node_name(n: &Node) -> &str {
    n.metadata.name.as_deref().unwrap_or("")
}

fn event(
    pod: &Pod,
    type_: &'static str,
    reason: &str,
    message: String,
    now: DateTime<Utc>,
) -> EventRecord {
    EventRecord {
        type_,
        reason: reason.into(),
        message,
        involved: super::object_ref("v1", "Pod", &pod.metadata),
        component: SCHEDULER_NAME,
        host: None,
        time: now,
    }
}

fn to_time(t: DateTime<Utc>) -> Option<Time> {
    k8s_openapi::jiff::Timestamp::from_second(t.timestamp())
        .ok()
        .map(Time)
}

/// PodScheduled=False with this reason and message, unless the pod already says so
/// (upstream skips the status write then). The transition time moves only when the
/// status does.
fn condition_change(
    pod: &Pod,
    reason: &str,
    message: &str,
    now: DateTime<Utc>,
) -> Option<Change<Pod>> {
    let mut p = pod.clone();
    let status = p.status.get_or_insert_with(Default::default);
    let conds = status.conditions.get_or_insert_with(Vec::new);
    let old = conds.iter().position(|c| c.type_ == "PodScheduled");
    if let Some(i) = old {
        let c = &conds[i];
        if c.status == "False"
            && c.reason.as_deref() == Some(reason)
            && c.message.as_deref() == Some(message)
        {
            return None;
        }
    }
    let transition = match old.map(|i| &conds[i]) {
        Some(c) if c.status == "False" => c.last_transition_time.clone(),
        _ => to_time(now),
    };
    let new = PodCondition {
        type_: "PodScheduled".into(),
        status: "False".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        last_transition_time: transition,
        ..Default::default()
    };
    match old {
        Some(i) => conds[i] = new,
        None => conds.push(new),
    }
    if status.phase.is_none() {
        status.phase = Some("Pending".into());
    }
    Some(Change::UpdateStatus(p))
}

// ---- resources ---------------------------------------------------------------------------

/// A pod's effective requests: cpu in millicores, memory and ephemeral storage in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Requests {
    pub milli_cpu: i128,
    pub memory: i128,
    pub ephemeral: i128,
}

impl Requests {
    fn add(self, o: Requests) -> Requests {
        Requests {
            milli_cpu: self.milli_cpu + o.milli_cpu,
            memory: self.memory + o.memory,
            ephemeral: self.ephemeral + o.ephemeral,
        }
    }
    fn max(self, o: Requests) -> Requests {
        Requests {
            milli_cpu: self.milli_cpu.max(o.milli_cpu),
            memory: self.memory.max(o.memory),
            ephemeral: self.ephemeral.max(o.ephemeral),
        }
    }
}

/// One container's requests. A limit without a request counts as the request (the API
/// server defaults it so). With `non_zero`, unset cpu/memory take upstream's scoring
/// defaults (100m, 200Mi). Unparseable quantities count as zero (the API server would have
/// rejected them).
fn container_requests(c: &k8s_openapi::api::core::v1::Container, non_zero: bool) -> Requests {
    let r = c.resources.as_ref();
    let get = |name: &str, milli: bool| -> Option<i128> {
        let q = r
            .and_then(|r| r.requests.as_ref().and_then(|m| m.get(name)))
            .or_else(|| r.and_then(|r| r.limits.as_ref().and_then(|m| m.get(name))))?;
        if milli {
            parse_milli(&q.0)
        } else {
            parse_value(&q.0)
        }
    };
    Requests {
        milli_cpu: get("cpu", true).unwrap_or(if non_zero { DEFAULT_MILLI_CPU } else { 0 }),
        memory: get("memory", false).unwrap_or(if non_zero { DEFAULT_MEMORY } else { 0 }),
        ephemeral: get("ephemeral-storage", false).unwrap_or(0),
    }
}

/// Upstream's pod request: containers plus sidecars (restartable init containers), or the
/// largest plain init container on top of the sidecars started before it, whichever is
/// more; plus the pod overhead.
pub fn pod_requests(pod: &Pod, non_zero: bool) -> Requests {
    let Some(spec) = pod.spec.as_ref() else {
        return Requests::default();
    };
    let mut sum = spec.containers.iter().fold(Requests::default(), |a, c| {
        a.add(container_requests(c, non_zero))
    });
    let mut sidecars = Requests::default();
    let mut init_max = Requests::default();
    for c in spec.init_containers.iter().flatten() {
        let r = container_requests(c, non_zero);
        if c.restart_policy.as_deref() == Some("Always") {
            sidecars = sidecars.add(r);
        } else {
            init_max = init_max.max(sidecars.add(r));
        }
    }
    sum = sum.add(sidecars).max(init_max);
    if let Some(o) = spec.overhead.as_ref() {
        sum = sum.add(Requests {
            milli_cpu: o.get("cpu").and_then(|q| parse_milli(&q.0)).unwrap_or(0),
            memory: o.get("memory").and_then(|q| parse_value(&q.0)).unwrap_or(0),
            ephemeral: 0,
        });
    }
    sum
}

/// What the pods bound to one node use.
#[derive(Debug, Clone, Default)]
struct Usage {
    pods: usize,
    requested: Requests,
    non_zero: Requests,
    /// (protocol, hostIP, hostPort) in use.
    host_ports: Vec<(String, String, i32)>,
}

impl Usage {
    fn remove(&mut self, p: &Pod) {
        let (r, nz) = (pod_requests(p, false), pod_requests(p, true));
        self.pods = self.pods.saturating_sub(1);
        self.requested = self.requested.add(Requests {
            milli_cpu: -r.milli_cpu,
            memory: -r.memory,
            ephemeral: -r.ephemeral,
        });
        self.non_zero = self.non_zero.add(Requests {
            milli_cpu: -nz.milli_cpu,
            memory: -nz.memory,
            ephemeral: -nz.ephemeral,
        });
        for hp in host_ports(p) {
            if let Some(i) = self.host_ports.iter().position(|x| *x == hp) {
                self.host_ports.remove(i);
            }
        }
    }
}

fn host_ports(p: &Pod) -> Vec<(String, String, i32)> {
    let spec = p.spec.as_ref();
    spec.into_iter()
        .flat_map(|s| {
            s.containers
                .iter()
                .chain(s.init_containers.iter().flatten())
        })
        .flat_map(|c| c.ports.iter().flatten())
        .filter(|cp| cp.host_port.unwrap_or(0) > 0)
        .map(|cp| {
            (
                cp.protocol.clone().unwrap_or_else(|| "TCP".into()),
                cp.host_ip
                    .clone()
                    .filter(|i| !i.is_empty())
                    .unwrap_or_else(|| "0.0.0.0".into()),
                cp.host_port.unwrap_or(0),
            )
        })
        .collect()
}

/// Pods the scheduler's cache holds as bound: with a node, not finished (its informer
/// excludes Succeeded and Failed pods), not the pod being scheduled.
fn bound_pods<'a>(pods: &'a [Arc<Pod>], me: &'a Pod) -> impl Iterator<Item = &'a Pod> + 'a {
    pods.iter().map(|p| &**p).filter(move |p| {
        let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
        p.spec
            .as_ref()
            .and_then(|s| s.node_name.as_deref())
            .is_some_and(|n| !n.is_empty())
            && !matches!(phase, Some("Succeeded") | Some("Failed"))
            && !(p.metadata.namespace == me.metadata.namespace
                && p.metadata.name == me.metadata.name)
    })
}

fn node_usage(pods: &[Arc<Pod>], me: &Pod) -> BTreeMap<String, Usage> {
    let mut m: BTreeMap<String, Usage> = BTreeMap::new();
    for p in bound_pods(pods, me) {
        let node = p
            .spec
            .as_ref()
            .and_then(|s| s.node_name.clone())
            .unwrap_or_default();
        let u = m.entry(node).or_default();
        u.pods += 1;
        u.requested = u.requested.add(pod_requests(p, false));
        u.non_zero = u.non_zero.add(pod_requests(p, true));
        u.host_ports.extend(host_ports(p));
    }
    m
}

/// Node allocatable (status.allocatable, else capacity): (milli cpu, memory, ephemeral, pods).
fn allocatable(node: &Node) -> (i128, i128, i128, i128) {
    let st = node.status.as_ref();
    let get = |name: &str, milli: bool| -> i128 {
        let q = st
            .and_then(|s| s.allocatable.as_ref().and_then(|m| m.get(name)))
            .or_else(|| st.and_then(|s| s.capacity.as_ref().and_then(|m| m.get(name))));
        q.and_then(|q| {
            if milli {
                parse_milli(&q.0)
            } else {
                parse_value(&q.0)
            }
        })
        .unwrap_or(0)
    };
    (
        get("cpu", true),
        get("memory", false),
        get("ephemeral-storage", false),
        get("pods", false),
    )
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;

#[path = "scheduler_filters.rs"]
mod filters;
use filters::{filter, pick};
