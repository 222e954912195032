//! Structure-aware fuzzing: valid objects of every kind the controllers read, with one field
//! swapped for a hostile value (wrong type, out of range, huge, empty), sent as create,
//! replace and merge patch to the demo cluster while its controllers, scheduler and
//! kubelets run. The server answers every request below 500, and no task of the lab
//! panics: whatever it accepted, the controllers survive.

use crate::support as common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::TestLab;
use http::Request;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Panics on the lab's threads, whatever task they were in: the API server runs on this
/// test's runtime (threads named below), the simulation on the lab's own thread.
static LAB_PANICS: AtomicUsize = AtomicUsize::new(0);
const THREAD: &str = "fuzz-lab";
const SIMULATION_THREAD: &str = "kdive-lab-sim";

fn count_lab_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if matches!(
            std::thread::current().name(),
            Some(THREAD | SIMULATION_THREAD)
        ) {
            LAB_PANICS.fetch_add(1, Ordering::SeqCst);
        }
        previous(info);
    }));
}

async fn send(client: &kube::Client, method: &str, path: &str, ct: &str, body: &Value) -> u16 {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", ct)
        .body(serde_json::to_vec(body).unwrap().into())
        .unwrap();
    client
        .send(req)
        .await
        .expect("a response")
        .status()
        .as_u16()
}

/// One valid object per kind the lab's controllers and kubelets act on, and where it goes.
fn seeds() -> Vec<(&'static str, Value)> {
    let tpl = json!({"metadata": {"labels": {"app": "fz"}},
        "spec": {"containers": [{"name": "c", "image": "kdive/demo-web:1.4",
            "ports": [{"name": "http", "containerPort": 8080}],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
            "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1}}]}});
    vec![
        (
            "/apis/apps/v1/namespaces/demo/deployments",
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "fz"}, "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "fz"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
            "template": tpl.clone()}}),
        ),
        (
            "/apis/apps/v1/namespaces/demo/replicasets",
            json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "fz-rs"}, "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "fz"}},
            "template": tpl.clone()}}),
        ),
        (
            "/apis/apps/v1/namespaces/demo/statefulsets",
            json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "fz-db"}, "spec": {"replicas": 1, "serviceName": "fz",
            "selector": {"matchLabels": {"app": "fz"}}, "template": tpl.clone(),
            "volumeClaimTemplates": [{"metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}),
        ),
        (
            "/api/v1/namespaces/demo/pods",
            json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "fz-pod", "labels": {"app": "fz"}}, "spec": tpl["spec"].clone()}),
        ),
        (
            "/api/v1/namespaces/demo/services",
            json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "fz"}, "spec": {"selector": {"app": "fz"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}),
        ),
        (
            "/apis/discovery.k8s.io/v1/namespaces/demo/endpointslices",
            json!({"apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice", "metadata": {"name": "fz-manual", "labels": {"kubernetes.io/service-name": "fz"}},
            "addressType": "IPv4", "endpoints": [{"addresses": ["10.9.9.9"], "conditions": {"ready": true}}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}),
        ),
        (
            "/api/v1/namespaces/demo/configmaps",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "fz-cm"}, "data": {"k": "v"}}),
        ),
        (
            "/api/v1/namespaces/demo/persistentvolumeclaims",
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "fz-claim"}, "spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
        (
            "/api/v1/nodes",
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "fz-node",
            "labels": {"topology.kubernetes.io/zone": "z"}}, "spec": {"podCIDR": "10.250.0.0/24"}}),
        ),
    ]
}

/// Every path into the object (objects and arrays included), as JSON pointer segments.
fn paths(v: &Value, at: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                at.push(k.clone());
                out.push(at.clone());
                paths(child, at, out);
                at.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                at.push(i.to_string());
                out.push(at.clone());
                paths(child, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

fn hostile() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None), // the field removed
        Just(Some(json!(-1))),
        Just(Some(json!(0))),
        Just(Some(json!(2147483648_i64))),
        Just(Some(json!(i64::MAX))),
        Just(Some(json!(1e300))),
        Just(Some(json!(-0.5))),
        Just(Some(json!(""))),
        Just(Some(json!("three"))),
        Just(Some(json!("a b/c"))),
        Just(Some(json!("x".repeat(70_000)))),
        Just(Some(json!(null))),
        Just(Some(json!(true))),
        Just(Some(json!([]))),
        Just(Some(json!({}))),
        Just(Some(json!({"nested": {"map": [1, "two", null]}}))),
        Just(Some(json!(["a", 1, {}]))),
        any::<i64>().prop_map(|n| Some(json!(n))),
        "[ -~]{0,40}".prop_map(|s| Some(json!(s))),
    ]
}

fn mutate(mut obj: Value, path: &[String], with: Option<Value>) -> Value {
    let (last, parent) = path.split_last().expect("a non-empty path");
    let pointer: String = parent.iter().map(|s| format!("/{s}")).collect();
    let Some(target) = obj.pointer_mut(&pointer) else {
        return obj;
    };
    match (target, with) {
        (Value::Object(m), None) => {
            m.remove(last);
        }
        (Value::Object(m), Some(v)) => {
            m.insert(last.clone(), v);
        }
        (Value::Array(a), with) => {
            if let Ok(i) = last.parse::<usize>()
                && i < a.len()
            {
                match with {
                    None => {
                        a.remove(i);
                    }
                    Some(v) => a[i] = v,
                }
            }
        }
        _ => {}
    }
    obj
}

#[test]
fn hostile_fields_in_every_kind_never_break_the_lab() {
    let _heavy = common::heavy_permit();
    count_lab_panics();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(THREAD)
        .enable_all()
        .build()
        .unwrap();
    let (lab, client) = rt.block_on(async {
        let lab = TestLab::demo(23).await;
        let c = lab.client().await;
        (lab, c)
    });
    let seeds = seeds();
    let cases: Vec<(usize, Vec<String>)> = seeds
        .iter()
        .enumerate()
        .flat_map(|(i, (_, obj))| {
            let mut out = Vec::new();
            paths(obj, &mut Vec::new(), &mut out);
            // apiVersion and kind only ever get a 400; the rest reach the controllers.
            out.retain(|p| p[0] != "apiVersion" && p[0] != "kind");
            out.into_iter().map(move |p| (i, p))
        })
        .collect();
    let config = ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(case in 0..cases.len(), with in hostile(), how in 0..3usize)| {
        let (seed_i, path) = &cases[case];
        let (collection, seed) = &seeds[*seed_i];
        let bad = mutate(seed.clone(), path, with.clone());
        let name = seed["metadata"]["name"].as_str().unwrap();
        let item = format!("{collection}/{name}");
        let code = rt.block_on(async {
            match how {
                // Create (the object may exist from an earlier case: then 409).
                0 => send(&client, "POST", collection, "application/json", &bad).await,
                // Replace what is there (or 404).
                1 => send(&client, "PUT", &item, "application/json", &bad).await,
                // Merge-patch just the hostile field onto a valid object.
                _ => {
                    send(&client, "POST", collection, "application/json", seed).await;
                    let mut patch = json!({});
                    let mut at = &mut patch;
                    for (i, seg) in path.iter().enumerate() {
                        if i + 1 == path.len() {
                            at[seg.as_str()] = with.clone().unwrap_or(Value::Null);
                        } else {
                            at = &mut at[seg.as_str()];
                        }
                    }
                    send(&client, "PATCH", &item, "application/merge-patch+json", &patch).await
                }
            }
        });
        prop_assert!(code < 500, "{code} for {how} of {item} with /{} = {with:?}", path.join("/"));
        prop_assert_eq!(LAB_PANICS.load(Ordering::SeqCst), 0, "a lab task panicked (see stderr)");
    });
    // Let the controllers, scheduler and kubelets work through what was accepted.
    rt.block_on(async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            send(&client, "GET", "/version", "application/json", &json!({})).await,
            200
        );
        lab.stop().await;
    });
    assert_eq!(
        LAB_PANICS.load(Ordering::SeqCst),
        0,
        "a lab task panicked (see stderr)"
    );
}
