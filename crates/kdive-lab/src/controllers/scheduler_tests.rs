//! Scheduler tests: every filter, the FailedScheduling message shapes, scoring and the
//! resource arithmetic. Expected values derived by hand in the comments.

use super::filters::*;
use super::*;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 4, 0, 0).unwrap()
}

/// A Ready node with allocatable cpu/memory/110 pods; `extra` is YAML spliced into spec.
fn node(name: &str, cpu: &str, mem: &str, labels: &str, spec: &str) -> Node {
    let y = format!(
        "metadata: {{name: {name}, labels: {{{labels}}}}}\n\
         spec: {{{spec}}}\n\
         status:\n  allocatable: {{cpu: \"{cpu}\", memory: \"{mem}\", pods: \"110\"}}\n  \
         conditions: [{{type: Ready, status: \"True\"}}]\n"
    );
    serde_saphyr::from_str(&y).unwrap()
}

/// A pending pod `demo/web-abc`; `requests` and `spec` are YAML flow fragments.
fn pod(requests: &str, spec: &str) -> Pod {
    let y = format!(
        "metadata: {{name: web-abc, namespace: demo, uid: u1}}\n\
         spec: {{containers: [{{name: web, image: nginx, resources: {{requests: {{{requests}}}}}}}], {spec}}}\n\
         status: {{phase: Pending}}\n"
    );
    serde_saphyr::from_str(&y).unwrap()
}

fn bound(name: &str, node: &str, requests: &str) -> Pod {
    let mut p = pod(requests, "");
    p.metadata.name = Some(name.into());
    p.spec.as_mut().unwrap().node_name = Some(node.into());
    p.status.as_mut().unwrap().phase = Some("Running".into());
    p
}

fn run(pod: &Pod, nodes: &[Node], pods: &[Pod]) -> ScheduleOutput {
    let pods: Vec<std::sync::Arc<Pod>> = pods.iter().cloned().map(std::sync::Arc::new).collect();
    schedule(&ScheduleInput {
        pod,
        nodes,
        pods: &pods,
        now: now(),
        seed: 7,
        claims: &[],
        classes: &[],
    })
}

fn bound_to(out: &ScheduleOutput) -> &str {
    out.binding
        .as_ref()
        .expect("bound")
        .target
        .name
        .as_deref()
        .unwrap()
}

fn failure(out: &ScheduleOutput) -> &str {
    assert!(out.binding.is_none());
    assert_eq!(out.events[0].reason, "FailedScheduling");
    assert_eq!(out.events[0].type_, "Warning");
    &out.events[0].message
}

#[test]
fn binds_to_the_least_allocated_node_with_the_scheduled_event() {
    let nodes = [
        node("n1", "4", "8Gi", "", ""),
        node("n2", "2", "4Gi", "", ""),
    ];
    let p = pod("cpu: 500m, memory: 128Mi", "");
    // n1: least-allocated cpu (4000-500)*100/4000 = 87, memory (8192-128)/8192*100 = 98,
    //     avg 92; balanced 1 - |0.125-0.015625|/2 = 0.945 -> 94; taints 100*3 -> 486.
    // n2: cpu 75, memory 96 -> 85; balanced 1 - |0.25-0.03125|/2 -> 89; -> 474.
    let feasible: Vec<(&Node, Usage)> = nodes.iter().map(|n| (n, Usage::default())).collect();
    assert_eq!(scores(&p, &feasible), [486, 474]);
    let out = run(&p, &nodes, &[]);
    assert_eq!(bound_to(&out), "n1");
    let e = &out.events[0];
    assert_eq!(
        (e.type_, e.reason.as_str(), e.component),
        ("Normal", "Scheduled", "default-scheduler")
    );
    assert_eq!(e.message, "Successfully assigned demo/web-abc to n1");
    assert_eq!(out.status, None);
    let b = out.binding.unwrap();
    assert_eq!(b.metadata.name.as_deref(), Some("web-abc"));
    assert_eq!(b.target.kind.as_deref(), Some("Node"));
}

#[test]
fn insufficient_cpu_and_affinity_message_with_preemption_part() {
    let nodes = [
        node("n1", "1", "4Gi", "zone: a", ""),
        node("n2", "4", "4Gi", "zone: b", ""),
        node("n3", "4", "4Gi", "zone: b", ""),
    ];
    // 2 cpu > n1's 1 cpu allocatable: Insufficient cpu, unresolvable (more than the node
    // has at all); n2, n3 fail the nodeSelector. Preemption helps nowhere.
    let p = pod("cpu: \"2\"", "nodeSelector: {zone: a}");
    let out = run(&p, &nodes, &[]);
    let msg = "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node \
               affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful \
               for scheduling..";
    assert_eq!(failure(&out), msg);
    let Some(Change::UpdateStatus(s)) = &out.status else {
        panic!("{:?}", out.status)
    };
    let c = &s.status.as_ref().unwrap().conditions.as_ref().unwrap()[0];
    assert_eq!(
        (c.type_.as_str(), c.status.as_str()),
        ("PodScheduled", "False")
    );
    assert_eq!(
        (c.reason.as_deref(), c.message.as_deref()),
        (Some("Unschedulable"), Some(msg))
    );
    assert_eq!(out.requeue_after, Some(UNSCHEDULABLE_RETRY));
    // Same verdict again: the condition already says so, no status write; the event repeats.
    let again = run(s, &nodes, &[]);
    assert_eq!(again.status, None);
    assert_eq!(again.events.len(), 1);
}

#[test]
fn full_node_with_equal_priority_pods_has_no_victims() {
    let nodes = [
        node("n1", "1", "1Gi", "", ""),
        node("n2", "1", "1Gi", "", ""),
    ];
    // Each node has 800m of its 1000m requested; the pod wants 500m > 200m left (but not
    // more than allocatable: resolvable). Same priority: nothing to preempt.
    let pods = [bound("a", "n1", "cpu: 800m"), bound("b", "n2", "cpu: 0.8")];
    let out = run(&pod("cpu: 500m", ""), &nodes, &pods);
    assert_eq!(
        failure(&out),
        "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No \
         preemption victims found for incoming pod.."
    );
    // A higher-priority pod could evict them: preemption candidates, no preemption message.
    let mut urgent = pod("cpu: 500m", "priority: 1000");
    urgent.metadata.name = Some("urgent".into());
    let out = run(&urgent, &nodes, &pods);
    assert_eq!(out.preemption_candidates, ["n1", "n2"]);
    assert_eq!(
        failure(&out),
        "0/2 nodes are available: 2 Insufficient cpu."
    );
    // preemptionPolicy Never.
    let never = pod("cpu: 500m", "preemptionPolicy: Never");
    assert_eq!(
        failure(&run(&never, &nodes, &pods)),
        "0/2 nodes are available: 2 Insufficient cpu. preemption: not eligible due to \
         preemptionPolicy=Never.."
    );
}

#[test]
fn memory_math_and_multiple_shortages_per_node() {
    // 1Gi node with 900Mi requested: 124Mi left. 128Mi does not fit (134217728 >
    // 130023424); 0.5 cpu of 0.25 left does not either: both reasons for that node.
    let nodes = [node("n1", "750m", "1Gi", "", "")];
    let pods = [bound("a", "n1", "cpu: 500m, memory: 900Mi")];
    let out = run(&pod("cpu: \"0.5\", memory: 128Mi", ""), &nodes, &pods);
    assert!(
        failure(&out)
            .starts_with("0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory.")
    );
    // 120Mi and 250m fit exactly into what is left.
    assert_eq!(
        bound_to(&run(&pod("cpu: 250m, memory: 120Mi", ""), &nodes, &pods)),
        "n1"
    );
    // Finished pods free their resources.
    let mut done = pods.clone();
    done[0].status.as_mut().unwrap().phase = Some("Succeeded".into());
    assert_eq!(
        bound_to(&run(&pod("cpu: \"0.5\", memory: 128Mi", ""), &nodes, &done)),
        "n1"
    );
}

#[test]
fn limits_count_as_requests_and_init_containers_take_the_max() {
    let p: Pod = serde_saphyr::from_str(
        "metadata: {name: p}\n\
         spec:\n  containers:\n  - {name: a, resources: {limits: {cpu: 200m, memory: 64Mi}}}\n  \
         - {name: b, resources: {requests: {cpu: 100m}}}\n  \
         initContainers:\n  - {name: init, resources: {requests: {cpu: \"1\"}}}\n",
    )
    .unwrap();
    // Containers: cpu 200m (limit) + 100m = 300m; init 1000m is larger: 1000m.
    // Memory: 64Mi from a's limit. Non-zero scoring view: b has no memory -> +200Mi.
    let r = pod_requests(&p, false);
    assert_eq!((r.milli_cpu, r.memory), (1000, 64 * 1024 * 1024));
    let nz = pod_requests(&p, true);
    assert_eq!((nz.milli_cpu, nz.memory), (1000, 264 * 1024 * 1024));
}

#[test]
fn too_many_pods() {
    let mut n = node("n1", "4", "4Gi", "", "");
    n.status
        .as_mut()
        .unwrap()
        .allocatable
        .as_mut()
        .unwrap()
        .insert(
            "pods".into(),
            k8s_openapi::apimachinery::pkg::api::resource::Quantity("1".into()),
        );
    let out = run(&pod("", ""), &[n], &[bound("a", "n1", "")]);
    assert!(failure(&out).starts_with("0/1 nodes are available: 1 Too many pods. preemption:"));
}

#[test]
fn taints_and_tolerations() {
    let taint = "taints: [{key: dedicated, value: gpu, effect: NoSchedule}]";
    let nodes = [node("n1", "4", "4Gi", "", taint)];
    let out = run(&pod("", ""), &nodes, &[]);
    assert!(
        failure(&out).starts_with(
            "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}."
        )
    );
    for tol in [
        "tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]",
        "tolerations: [{key: dedicated, operator: Exists}]",
        "tolerations: [{operator: Exists}]",
    ] {
        assert_eq!(bound_to(&run(&pod("", tol), &nodes, &[])), "n1", "{tol}");
    }
    // Wrong value, or a toleration for another effect, does not help.
    for tol in [
        "tolerations: [{key: dedicated, value: cpu, effect: NoSchedule}]",
        "tolerations: [{key: dedicated, operator: Exists, effect: NoExecute}]",
    ] {
        assert!(run(&pod("", tol), &nodes, &[]).binding.is_none(), "{tol}");
    }
    // PreferNoSchedule does not filter; it only scores: n2 (untainted) wins.
    let soft = [
        node(
            "n1",
            "4",
            "4Gi",
            "",
            "taints: [{key: k, effect: PreferNoSchedule}]",
        ),
        node("n2", "4", "4Gi", "", ""),
    ];
    assert_eq!(bound_to(&run(&pod("", ""), &soft, &[])), "n2");
}

#[test]
fn not_ready_and_cordoned_nodes() {
    let mut down = node("n1", "4", "4Gi", "", "");
    down.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status = "False".into();
    let mut lost = node("n2", "4", "4Gi", "", "");
    lost.status.as_mut().unwrap().conditions.as_mut().unwrap()[0].status = "Unknown".into();
    let cordoned = node("n3", "4", "4Gi", "", "unschedulable: true");
    let out = run(&pod("", ""), &[down, lost, cordoned.clone()], &[]);
    assert_eq!(
        failure(&out),
        "0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, \
         1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 1 node(s) were \
         unschedulable. preemption: 0/3 nodes are available: 3 Preemption is not helpful for \
         scheduling.."
    );
    // DaemonSet-style toleration of the unschedulable taint.
    let tol = "tolerations: [{key: node.kubernetes.io/unschedulable, operator: Exists, effect: NoSchedule}]";
    assert_eq!(bound_to(&run(&pod("", tol), &[cordoned], &[])), "n3");
}

#[test]
fn node_affinity_operators() {
    let nodes = [
        node("n1", "4", "4Gi", "zone: a, gen: \"3\", ssd: \"true\"", ""),
        node("n2", "4", "4Gi", "zone: b, gen: \"5\"", ""),
    ];
    let req = |exprs: &str| {
        format!(
            "affinity: {{nodeAffinity: {{requiredDuringSchedulingIgnoredDuringExecution: \
             {{nodeSelectorTerms: [{{matchExpressions: [{exprs}]}}]}}}}}}"
        )
    };
    let cases = [
        ("{key: zone, operator: In, values: [b]}", "n2"),
        ("{key: zone, operator: NotIn, values: [b]}", "n1"),
        ("{key: ssd, operator: Exists}", "n1"),
        ("{key: ssd, operator: DoesNotExist}", "n2"),
        ("{key: gen, operator: Gt, values: [\"4\"]}", "n2"),
        ("{key: gen, operator: Lt, values: [\"4\"]}", "n1"),
    ];
    for (expr, want) in cases {
        assert_eq!(
            bound_to(&run(&pod("", &req(expr)), &nodes, &[])),
            want,
            "{expr}"
        );
    }
    // Two expressions in one term are ANDed: none matches.
    let out = run(
        &pod(
            "",
            &req(
                "{key: zone, operator: In, values: [a]}, {key: gen, operator: Gt, values: [\"4\"]}",
            ),
        ),
        &nodes,
        &[],
    );
    assert!(failure(&out).starts_with(
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."
    ));
}

#[test]
fn preferred_affinity_outweighs_resource_balance() {
    let nodes = [
        node("n1", "4", "4Gi", "zone: a", ""),
        node("n2", "8", "8Gi", "zone: b", ""),
    ];
    // Without preference n2 (emptier) wins; weight for zone a gives n1 +2*100 = 200.
    assert_eq!(bound_to(&run(&pod("cpu: 1", ""), &nodes, &[])), "n2");
    let pref = "affinity: {nodeAffinity: {preferredDuringSchedulingIgnoredDuringExecution: \
                [{weight: 10, preference: {matchExpressions: [{key: zone, operator: In, values: [a]}]}}]}}";
    assert_eq!(bound_to(&run(&pod("cpu: 1", pref), &nodes, &[])), "n1");
}

#[test]
fn host_port_conflicts() {
    let nodes = [node("n1", "4", "4Gi", "", "")];
    let mut other = bound("a", "n1", "");
    other.spec.as_mut().unwrap().containers[0].ports = Some(vec![
        serde_saphyr::from_str("{containerPort: 80, hostPort: 8080}").unwrap(),
    ]);
    let mut p = pod("", "");
    p.spec.as_mut().unwrap().containers[0].ports =
        other.spec.as_ref().unwrap().containers[0].ports.clone();
    let out = run(&p, &nodes, &[other.clone()]);
    assert!(failure(&out).starts_with(
        "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."
    ));
    // UDP on the same port does not conflict.
    p.spec.as_mut().unwrap().containers[0]
        .ports
        .as_mut()
        .unwrap()[0]
        .protocol = Some("UDP".into());
    assert_eq!(bound_to(&run(&p, &nodes, &[other])), "n1");
}

#[test]
fn ties_are_broken_by_the_seed_and_odd_pods_are_skipped() {
    let nodes = [
        node("n1", "4", "4Gi", "", ""),
        node("n2", "4", "4Gi", "", ""),
    ];
    let p = pod("", "");
    let picks: std::collections::BTreeSet<String> = (0..16)
        .map(|seed| {
            let out = schedule(&ScheduleInput {
                pod: &p,
                nodes: &nodes,
                pods: &[],
                now: now(),
                seed,
                claims: &[],
                classes: &[],
            });
            bound_to(&out).to_string()
        })
        .collect();
    // Identical nodes: different seeds reach both; the same seed always the same one.
    assert_eq!(picks.len(), 2);
    let a = schedule(&ScheduleInput {
        pod: &p,
        nodes: &nodes,
        pods: &[],
        now: now(),
        seed: 3,
        claims: &[],
        classes: &[],
    });
    let b = schedule(&ScheduleInput {
        pod: &p,
        nodes: &nodes,
        pods: &[],
        now: now(),
        seed: 3,
        claims: &[],
        classes: &[],
    });
    assert_eq!(a, b);
    // Already bound, another scheduler, gated: no binding.
    assert_eq!(
        run(&bound("x", "n1", ""), &nodes, &[]),
        ScheduleOutput::default()
    );
    assert_eq!(
        run(&pod("", "schedulerName: other"), &nodes, &[]),
        ScheduleOutput::default()
    );
    let gated = run(&pod("", "schedulingGates: [{name: wait}]"), &nodes, &[]);
    assert!(gated.binding.is_none() && gated.events.is_empty());
    let Some(Change::UpdateStatus(s)) = gated.status else {
        panic!()
    };
    let c = &s.status.unwrap().conditions.unwrap()[0];
    assert_eq!(c.reason.as_deref(), Some("SchedulingGated"));
    // No nodes at all.
    assert_eq!(
        failure(&run(&p, &[], &[])),
        "no nodes available to schedule pods"
    );
}

/// VolumeBinding's PreFilter (pkg/scheduler/framework/plugins/volumebinding/
/// volume_binding.go): a missing claim is named; an unbound claim of an Immediate (or
/// unknown) class rejects the pod with "pod has unbound immediate PersistentVolumeClaims";
/// a WaitForFirstConsumer class does not. The message is FitError's PreFilter form
/// (pkg/scheduler/framework/types.go): the reason once, then preemption's verdict.
#[test]
fn claims_the_pod_waits_for_reject_it_in_prefilter() {
    let nodes = [
        node("n1", "4", "4Gi", "", ""),
        node("n2", "4", "4Gi", "", ""),
    ];
    let p = pod(
        "",
        "volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]",
    );
    let claim = |class: &str, phase: &str| -> std::sync::Arc<PersistentVolumeClaim> {
        std::sync::Arc::new(
            serde_saphyr::from_str(&format!(
                "metadata: {{name: data, namespace: demo}}\n\
                 spec: {{storageClassName: {class}, accessModes: [ReadWriteOnce]}}\n\
                 status: {{phase: {phase}}}\n"
            ))
            .unwrap(),
        )
    };
    let wait: std::sync::Arc<StorageClass> = std::sync::Arc::new(
        serde_saphyr::from_str(
            "metadata: {name: late}\nprovisioner: x\nvolumeBindingMode: WaitForFirstConsumer\n",
        )
        .unwrap(),
    );
    let run_with = |claims: &[std::sync::Arc<PersistentVolumeClaim>]| {
        schedule(&ScheduleInput {
            pod: &p,
            nodes: &nodes,
            pods: &[],
            now: now(),
            seed: 1,
            claims,
            classes: std::slice::from_ref(&wait),
        })
    };
    let msg = |out: &ScheduleOutput| out.events[0].message.clone();
    assert_eq!(
        msg(&run_with(&[])),
        "0/2 nodes are available: persistentvolumeclaim \"data\" not found. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
    );
    let out = run_with(&[claim("nope", "Pending")]);
    assert!(out.binding.is_none());
    assert_eq!(
        msg(&out),
        "0/2 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.."
    );
    assert!(run_with(&[claim("late", "Pending")]).binding.is_some());
    assert!(run_with(&[claim("nope", "Bound")]).binding.is_some());
}
