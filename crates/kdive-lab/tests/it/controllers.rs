//! The lab's controllers, live, driven by the real kubectl: Deployments roll out through
//! ReplicaSets, Services get EndpointSlices and Endpoints, the scheduler binds or explains.

use crate::support as common;

use std::time::Duration;

use common::{TestLab, ok, stdout};
use k8s_openapi::api::core::v1::Node;
use kdive_lab::LabOptions;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

macro_rules! kubectl {
    ($lab:expr, $($arg:expr),+ $(,)?) => {
        match $lab.kubectl(&[$($arg),+]).await {
            Some(out) => out,
            None => return,
        }
    };
}

/// How long a test waits for the control plane to converge before failing.
const DEADLINE: Duration = Duration::from_secs(30);

async fn start() -> TestLab {
    TestLab::start_with(LabOptions {
        seed: 7,
        speed: 10.0,
        ..LabOptions::default()
    })
    .await
}

/// A Ready node with room for the tests' pods; nodes are plain objects in the lab.
async fn add_node(lab: &TestLab, name: &str) {
    let nodes: Api<Node> = Api::all(lab.client().await);
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": {"podCIDR": "10.244.7.0/24"},
        "status": {
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
        },
    }))
    .expect("node");
    nodes
        .create(&PostParams::default(), &node)
        .await
        .expect("node created");
    nodes
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": node.status})),
        )
        .await
        .expect("node status");
}

/// Runs kubectl until `done` accepts its stdout, or fails with the last output.
async fn eventually(lab: &TestLab, args: &[&str], done: impl Fn(&str) -> bool) -> Option<String> {
    let start = tokio::time::Instant::now();
    loop {
        let out = lab.kubectl(args).await?;
        let text = stdout(&out);
        if out.status.success() && done(&text) {
            return Some(text);
        }
        assert!(
            start.elapsed() < DEADLINE,
            "kubectl {args:?} never satisfied the condition; last output:\n{text}\n{}",
            common::stderr(&out)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const SLICE_IPS: &[&str] = &[
    "get",
    "endpointslices",
    "-l",
    "kubernetes.io/service-name=web",
    "-o",
    "jsonpath={range .items[*].endpoints[*]}{.addresses[0]}{\" \"}{.conditions.ready}{\"\\n\"}{end}",
];

fn ready_endpoints(text: &str) -> usize {
    text.lines().filter(|l| l.ends_with(" true")).count()
}

/// `create deployment` + `expose`, waited until all replicas are ready behind the Service.
async fn web(lab: &TestLab, replicas: usize) -> Option<()> {
    add_node(lab, "node-a").await;
    let r = format!("--replicas={replicas}");
    ok(&lab
        .kubectl(&["create", "deployment", "web", "--image=nginx", &r])
        .await?);
    ok(&lab
        .kubectl(&["expose", "deployment", "web", "--port", "80"])
        .await?);
    ok(&lab
        .kubectl(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await?);
    eventually(lab, SLICE_IPS, |t| ready_endpoints(t) == replicas).await?;
    Some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_and_expose_fill_endpoint_slices_and_endpoints() {
    let lab = start().await;
    if web(&lab, 3).await.is_none() {
        return;
    }
    let pods = ok(&kubectl!(
        lab,
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[*].status.podIP}"
    ));
    let mut pod_ips: Vec<&str> = pods.split_whitespace().collect();
    pod_ips.sort();
    assert_eq!(pod_ips.len(), 3, "{pods}");

    let slices = ok(&kubectl!(
        lab,
        SLICE_IPS[0],
        SLICE_IPS[1],
        SLICE_IPS[2],
        SLICE_IPS[3],
        SLICE_IPS[4],
        SLICE_IPS[5]
    ));
    let mut slice_ips: Vec<&str> = slices.lines().filter_map(|l| l.split(' ').next()).collect();
    slice_ips.sort();
    assert_eq!(slice_ips, pod_ips);

    let text = eventually(
        &lab,
        &[
            "get",
            "endpoints",
            "web",
            "-o",
            "jsonpath={.subsets[*].addresses[*].ip}",
        ],
        |t| t.split_whitespace().count() == 3,
    )
    .await
    .unwrap_or_default();
    let mut ep_ips: Vec<&str> = text.split_whitespace().collect();
    ep_ips.sort();
    assert_eq!(ep_ips, pod_ips);

    // The Deployment, its ReplicaSet and their events as kubectl shows them.
    let text = ok(&kubectl!(lab, "get", "deployment", "web"));
    assert!(
        text.lines().nth(1).is_some_and(|l| l.contains("3/3")),
        "{text}"
    );
    let events = ok(&kubectl!(
        lab,
        "get",
        "events",
        "-o",
        "jsonpath={range .items[*]}{.reason}{\"|\"}{.message}{\"\\n\"}{end}"
    ));
    assert!(
        events.lines().any(
            |l| l.starts_with("ScalingReplicaSet|Scaled up replica set web-")
                && l.ends_with(" from 0 to 3")
        ),
        "{events}"
    );
    assert_eq!(
        events
            .lines()
            .filter(|l| l.starts_with("SuccessfulCreate|Created pod: web-"))
            .count(),
        3,
        "{events}"
    );
    assert_eq!(
        events
            .lines()
            .filter(
                |l| l.starts_with("Scheduled|Successfully assigned default/web-")
                    && l.ends_with(" to node-a")
            )
            .count(),
        3,
        "{events}"
    );
    // The API server's own `kubernetes` Endpoints are left alone.
    let text = ok(&kubectl!(
        lab,
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=kubernetes",
        "-o",
        "name"
    ));
    assert_eq!(text.lines().count(), 1, "{text}");
    lab.stop().await;
}

/// The name of the ReplicaSet holding the Deployment's replicas.
async fn active_replica_set(lab: &TestLab) -> Option<String> {
    let text = lab
        .kubectl(&[
            "get",
            "rs",
            "-l",
            "app=web",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name} {.spec.replicas}{\"\\n\"}{end}",
        ])
        .await?;
    let text = ok(&text);
    let active: Vec<&str> = text
        .lines()
        .filter(|l| !l.ends_with(" 0"))
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert_eq!(active.len(), 1, "{text}");
    Some(active[0].to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn set_image_then_undo_returns_to_the_previous_replica_set() {
    let lab = start().await;
    if web(&lab, 3).await.is_none() {
        return;
    }
    let first = active_replica_set(&lab).await.unwrap_or_default();
    ok(&kubectl!(
        lab,
        "set",
        "image",
        "deployment/web",
        "nginx=nginx:1.27"
    ));
    ok(&kubectl!(
        lab,
        "rollout",
        "status",
        "deployment/web",
        "--timeout=60s"
    ));
    let second = active_replica_set(&lab).await.unwrap_or_default();
    assert_ne!(first, second);
    let image = ok(&kubectl!(
        lab,
        "get",
        "rs",
        &second,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}"
    ));
    assert_eq!(image, "nginx:1.27");

    ok(&kubectl!(lab, "rollout", "undo", "deployment/web"));
    ok(&kubectl!(
        lab,
        "rollout",
        "status",
        "deployment/web",
        "--timeout=60s"
    ));
    eventually(
        &lab,
        &["get", "rs", &second, "-o", "jsonpath={.spec.replicas}"],
        |t| t == "0",
    )
    .await;
    assert_eq!(active_replica_set(&lab).await.unwrap_or_default(), first);

    // The revision annotation lives on the Deployment (written with an update, not /status).
    let rev = ok(&kubectl!(
        lab,
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}"
    ));
    assert_eq!(rev, "3");
    let history = ok(&kubectl!(lab, "rollout", "history", "deployment/web"));
    let revisions: Vec<&str> = history
        .lines()
        .skip_while(|l| !l.starts_with("REVISION"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(revisions, ["2", "3"], "{history}");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_changes_the_endpoint_slice() {
    let lab = start().await;
    if web(&lab, 3).await.is_none() {
        return;
    }
    ok(&kubectl!(lab, "scale", "deployment", "web", "--replicas=5"));
    eventually(&lab, SLICE_IPS, |t| {
        ready_endpoints(t) == 5 && t.lines().count() == 5
    })
    .await;
    ok(&kubectl!(lab, "scale", "deployment", "web", "--replicas=1"));
    eventually(&lab, SLICE_IPS, |t| {
        ready_endpoints(t) == 1 && t.lines().count() == 1
    })
    .await;
    ok(&kubectl!(
        lab,
        "rollout",
        "status",
        "deployment/web",
        "--timeout=60s"
    ));
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_pod_is_replaced_under_a_new_name() {
    let lab = start().await;
    if web(&lab, 3).await.is_none() {
        return;
    }
    let names = "jsonpath={range .items[*]}{.metadata.name} {.status.podIP}{\"\\n\"}{end}";
    let before = ok(&kubectl!(lab, "get", "pods", "-l", "app=web", "-o", names));
    let (victim, victim_ip) = before
        .lines()
        .next()
        .and_then(|l| l.split_once(' '))
        .unwrap_or_default();
    ok(&kubectl!(lab, "delete", "pod", victim));
    let after = eventually(&lab, &["get", "pods", "-l", "app=web", "-o", names], |t| {
        let lines: Vec<&str> = t.lines().collect();
        lines.len() == 3 && lines.iter().all(|l| !l.starts_with(&format!("{victim} ")))
    })
    .await
    .unwrap_or_default();
    let old: Vec<&str> = before.lines().filter_map(|l| l.split(' ').next()).collect();
    let replacement = after
        .lines()
        .find(|l| !old.iter().any(|o| l.starts_with(&format!("{o} "))))
        .unwrap_or_else(|| panic!("a new pod in {after}"));
    let (name, ip) = replacement.split_once(' ').unwrap_or_default();
    assert!(name.starts_with("web-") && name != victim, "{after}");
    // The IP comes from the kubelet; compare only once it has one.
    if !ip.is_empty() {
        assert_ne!(ip, victim_ip, "{before}\n{after}");
    }
    lab.stop().await;
}

const PINNED: &str = "apiVersion: v1
kind: Pod
metadata:
  name: pinned
spec:
  nodeSelector: {disktype: ssd}
  containers:
  - name: web
    image: nginx
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unschedulable_pod_stays_pending_with_a_counted_failed_scheduling_event() {
    let lab = start().await;
    add_node(&lab, "node-a").await;
    let path = lab.write_file("pinned.yaml", PINNED);
    ok(&kubectl!(
        lab,
        "apply",
        "-f",
        path.to_str().unwrap_or_default()
    ));
    // Real schedulers end this message with two periods (the post-filter message's own,
    // then the FitError's); kubectl shows it so.
    let message = "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. \
                   preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling..";
    let failed = "jsonpath={range .items[?(@.reason==\"FailedScheduling\")]}{.involvedObject.name}|{.source.component}|{.type}|{.count}|{.message}{\"\\n\"}{end}";
    let text = eventually(&lab, &["get", "events", "-o", failed], |t| !t.is_empty()).await;
    let Some(text) = text else { return };
    assert_eq!(
        text.trim_end(),
        format!("pinned|default-scheduler|Warning|1|{message}")
    );

    let cond = "jsonpath={.status.phase} {.status.conditions[?(@.type==\"PodScheduled\")].status} {.status.conditions[?(@.type==\"PodScheduled\")].reason}";
    let text = ok(&kubectl!(lab, "get", "pod", "pinned", "-o", cond));
    assert_eq!(text, "Pending False Unschedulable");
    let describe = ok(&kubectl!(lab, "describe", "pod", "pinned"));
    assert!(
        describe.contains("FailedScheduling") && describe.contains(message),
        "{describe}"
    );

    // A node change retries the pod; the same verdict counts on the same Event.
    ok(&kubectl!(lab, "label", "node", "node-a", "zone=a"));
    let text = eventually(&lab, &["get", "events", "-o", failed], |t| {
        t.contains("|2|")
    })
    .await
    .unwrap_or_default();
    assert_eq!(
        text.trim_end(),
        format!("pinned|default-scheduler|Warning|2|{message}")
    );

    // A node that matches takes it.
    ok(&kubectl!(lab, "label", "node", "node-a", "disktype=ssd"));
    eventually(
        &lab,
        &["get", "pod", "pinned", "-o", "jsonpath={.spec.nodeName}"],
        |t| t == "node-a",
    )
    .await;
    lab.stop().await;
}

/// Relabelling a pod moves it between Services: the endpoint controllers' membership
/// (kept from pod events) follows, in both directions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabelling_a_pod_moves_it_between_services() {
    let lab = start().await;
    if web(&lab, 2).await.is_none() {
        return;
    }
    let yaml = "apiVersion: v1\nkind: Service\nmetadata: {name: blue}\nspec: {selector: {tier: blue}, ports: [{port: 80}]}\n";
    let path = lab.write_file("blue.yaml", yaml);
    ok(&kubectl!(lab, "apply", "-f", path.to_str().unwrap()));
    let blue_ips: &[&str] = &[
        "get",
        "endpointslices",
        "-l",
        "kubernetes.io/service-name=blue",
        "-o",
        "jsonpath={range .items[*].endpoints[*]}{.addresses[0]}{\"\\n\"}{end}",
    ];
    // Known empty first, so later changes go through the kept membership.
    eventually(
        &lab,
        &[
            "get",
            "endpointslices",
            "-l",
            "kubernetes.io/service-name=blue",
            "-o",
            "name",
        ],
        |t| t.lines().count() == 1,
    )
    .await;
    let names = ok(&kubectl!(
        lab,
        "get",
        "pods",
        "-l",
        "app=web",
        "-o",
        "jsonpath={.items[0].metadata.name} {.items[0].status.podIP}"
    ));
    let (pod, ip) = names.split_once(' ').expect("name and IP");
    assert!(ip.starts_with("10.244."), "{names}");
    ok(&kubectl!(lab, "label", "pod", pod, "tier=blue"));
    eventually(&lab, blue_ips, |t| t.trim() == ip).await;
    ok(&kubectl!(lab, "label", "pod", pod, "tier-"));
    eventually(&lab, blue_ips, |t| t.trim().is_empty()).await;
    lab.stop().await;
}

/// The leak of the reliability issue: a Deployment of many replicas deleted a moment after
/// its creation, three times. The Deployment controller may still create the ReplicaSet (and
/// the ReplicaSet controller pods) from copies read before the deletion; those dependents of
/// a gone owner are collected, as the real garbage collector collects them, so nothing stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_deleted_right_after_creation_leaves_nothing_behind() {
    use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{DeleteParams, ListParams};
    let lab = start().await;
    let client = lab.client().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    for round in 0..3 {
        let d: Deployment = serde_json::from_value(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": format!("burst-{round}")},
            "spec": {"replicas": 500,
                "selector": {"matchLabels": {"app": "burst"}},
                "template": {"metadata": {"labels": {"app": "burst"}},
                    "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}}
        }))
        .unwrap();
        deployments
            .create(&PostParams::default(), &d)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        deployments
            .delete(&format!("burst-{round}"), &DeleteParams::background())
            .await
            .unwrap();
    }
    let started = std::time::Instant::now();
    loop {
        let left_sets = sets.list(&ListParams::default()).await.unwrap().items.len();
        let left_pods = pods
            .list(&ListParams::default().labels("app=burst"))
            .await
            .unwrap()
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .count();
        if left_sets == 0 && left_pods == 0 {
            break;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "{left_sets} ReplicaSets and {left_pods} pods outlived their deleted Deployments"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    lab.stop().await;
}
