//! StatefulSets, claims and volumes, and the garbage collector, through the real kubectl.

use crate::support as common;

use std::sync::Arc;
use std::time::Duration;

use common::{TestLab, ok, stdout};
use k8s_openapi::api::core::v1::Pod;
use kdive_lab::LabOptions;
use kdive_lab::scenario::Scenario;
use kube::Api;
use kube::api::ListParams;
use serde_json::json;
use tokio::time::Instant;

macro_rules! kubectl {
    ($lab:expr, $($arg:expr),+ $(,)?) => {
        match $lab.kubectl(&[$($arg),+]).await {
            Some(out) => out,
            None => return,
        }
    };
}

/// A lab at 10x with one node (its simulated kubelet runs the pods).
async fn fast_lab() -> TestLab {
    let node = "apiVersion: v1\nkind: Node\nmetadata: {name: node-a}\nspec: {podCIDR: 10.244.1.0/24}\nstatus: {allocatable: {cpu: '4', memory: 8Gi, pods: '110'}, capacity: {cpu: '4', memory: 8Gi, pods: '110'}}\n";
    TestLab::start_with(LabOptions {
        seed: 11,
        speed: 10.0,
        scenario: Some(Arc::new(
            Scenario::parse("node.yaml", node).expect("node scenario"),
        )),
        ..LabOptions::default()
    })
    .await
}

/// Polls `check` until it returns Some, or fails after `secs` seconds.
async fn eventually<T, F, Fut>(what: &str, secs: u64, check: F) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const POSTGRES: &str = "apiVersion: v1
kind: Service
metadata: {name: postgres}
spec:
  clusterIP: None
  selector: {app: postgres}
  ports: [{port: 5432, name: pg}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: postgres}
spec:
  serviceName: postgres
  replicas: 3
  selector: {matchLabels: {app: postgres}}
  template:
    metadata: {labels: {app: postgres}}
    spec:
      containers:
      - name: postgres
        image: postgres:16
        ports: [{containerPort: 5432}]
        env: [{name: POSTGRES_PASSWORD, value: lab}]
        volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
";

/// Lines of `kubectl get` output whose first column starts with `prefix`.
fn rows(text: &str, prefix: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statefulset_pods_in_order_with_bound_claims_that_outlive_it() {
    let lab = fast_lab().await;
    let path = lab.write_file("pg.yaml", POSTGRES);
    ok(&kubectl!(lab, "apply", "-f", path.to_str().unwrap()));
    let client = lab.client().await;

    // Record the order in which pods appear: OrderedReady creates one at a time.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let mut order: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while order.len() < 3 {
        assert!(Instant::now() < deadline, "pods so far: {order:?}");
        let list = pods.list(&ListParams::default()).await.unwrap();
        let mut fresh: Vec<String> = list
            .items
            .iter()
            .filter_map(|p| p.metadata.name.clone())
            .filter(|n| !order.contains(n))
            .collect();
        assert!(
            fresh.len() <= 1,
            "two pods appeared at once: {fresh:?} after {order:?}"
        );
        order.append(&mut fresh);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(order, ["postgres-0", "postgres-1", "postgres-2"]);

    let out = ok(&kubectl!(
        lab,
        "rollout",
        "status",
        "statefulset/postgres",
        "--timeout=30s"
    ));
    assert!(
        out.contains("partitioned roll out complete: 3 new pods have been updated..."),
        "{out}"
    );
    let sts = ok(&kubectl!(lab, "get", "statefulset", "postgres"));
    assert_eq!(rows(&sts, "postgres")[0][1], "3/3", "{sts}");

    let pod0 = ok(&kubectl!(lab, "get", "pod", "postgres-0", "-o", "json"));
    let pod0: serde_json::Value = serde_json::from_str(&pod0).unwrap();
    assert_eq!(pod0["spec"]["hostname"], "postgres-0");
    assert_eq!(pod0["spec"]["subdomain"], "postgres");
    assert_eq!(
        pod0["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"],
        "postgres-0"
    );
    assert_eq!(
        pod0["metadata"]["labels"]["apps.kubernetes.io/pod-index"],
        "0"
    );
    assert_eq!(
        pod0["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "data-postgres-0"
    );

    let pvcs = ok(&kubectl!(lab, "get", "pvc"));
    let claims = rows(&pvcs, "data-postgres-");
    assert_eq!(claims.len(), 3, "{pvcs}");
    for (i, row) in claims.iter().enumerate() {
        assert_eq!(row[0], format!("data-postgres-{i}"));
        // NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS ...
        assert_eq!(
            &row[1..6],
            ["Bound", &row[2], "1Gi", "RWO", "standard"],
            "{pvcs}"
        );
        assert!(row[2].starts_with("pvc-"), "{pvcs}");
    }
    let pvs = ok(&kubectl!(lab, "get", "pv"));
    assert_eq!(rows(&pvs, "pvc-").len(), 3, "{pvs}");
    assert!(
        rows(&pvs, "pvc-")
            .iter()
            .all(|r| r[3] == "Delete" && r[4] == "Bound"),
        "{pvs}"
    );
    let events = ok(&kubectl!(lab, "get", "events"));
    assert!(
        events.contains(
            "create Claim data-postgres-0 Pod postgres-0 in StatefulSet postgres success"
        ),
        "{events}"
    );
    assert!(
        events.contains("create Pod postgres-2 in StatefulSet postgres successful"),
        "{events}"
    );

    // Deleting the set takes its pods; the claims (not owned under Retain) stay Bound.
    ok(&kubectl!(lab, "delete", "statefulset", "postgres"));
    eventually("pods gone", 20, || async {
        let list = pods.list(&ListParams::default()).await.unwrap();
        list.items.is_empty().then_some(())
    })
    .await;
    let pvcs = ok(&kubectl!(lab, "get", "pvc"));
    let claims = rows(&pvcs, "data-postgres-");
    assert_eq!(claims.len(), 3, "{pvcs}");
    assert!(claims.iter().all(|r| r[1] == "Bound"), "{pvcs}");
    lab.stop().await;
}

const RETAINED: &str = "apiVersion: v1
kind: PersistentVolume
metadata: {name: keep-me}
spec:
  capacity: {storage: 2Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: manual
  hostPath: {path: /srv/keep-me}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retained_volume_is_released_when_its_claim_goes() {
    let lab = fast_lab().await;
    let path = lab.write_file("pv.yaml", RETAINED);
    ok(&kubectl!(lab, "apply", "-f", path.to_str().unwrap()));
    let row = eventually("claim bound", 20, || async {
        let out = lab.kubectl(&["get", "pvc", "data"]).await?;
        let r = rows(&stdout(&out), "data").pop()?;
        (r[1] == "Bound").then_some(r)
    })
    .await;
    // Static binding: the claim shows the volume's size, not its request.
    assert_eq!(&row[1..6], ["Bound", "keep-me", "2Gi", "RWO", "manual"]);
    let pv = ok(&kubectl!(lab, "get", "pv", "keep-me", "-o", "json"));
    let pv: serde_json::Value = serde_json::from_str(&pv).unwrap();
    assert_eq!(
        pv["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"],
        "yes"
    );
    assert_eq!(
        pv["metadata"]["finalizers"],
        json!(["kubernetes.io/pv-protection"])
    );

    ok(&kubectl!(lab, "delete", "pvc", "data", "--timeout=20s"));
    let row = eventually("volume released", 20, || async {
        let out = lab.kubectl(&["get", "pv", "keep-me"]).await?;
        let r = rows(&stdout(&out), "keep-me").pop()?;
        (r[4] == "Released").then_some(r)
    })
    .await;
    // NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM ...
    assert_eq!(
        &row[..6],
        [
            "keep-me",
            "2Gi",
            "RWO",
            "Retain",
            "Released",
            "default/data"
        ]
    );
    lab.stop().await;
}

const OWNER: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: x}
spec:
  replicas: 0
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: x, image: nginx:1.27}]}
";

fn dependent(name: &str, owner_uid: &str, block: bool, finalizer: bool) -> String {
    let fins = if finalizer {
        "[example.com/hold]"
    } else {
        "[]"
    };
    format!(
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
  finalizers: {fins}
  ownerReferences:
  - {{apiVersion: apps/v1, kind: Deployment, name: x, uid: {owner_uid}, blockOwnerDeletion: {block}}}
"
    )
}

async fn exists(lab: &TestLab, kind: &str, name: &str) -> Option<bool> {
    let out = lab.kubectl(&["get", kind, name, "-o", "name"]).await?;
    Some(out.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let lab = fast_lab().await;
    let path = lab.write_file("owner.yaml", OWNER);
    ok(&kubectl!(lab, "apply", "-f", path.to_str().unwrap()));
    let uid = ok(&kubectl!(
        lab,
        "get",
        "deployment",
        "x",
        "-o",
        "jsonpath={.metadata.uid}"
    ));
    for (name, block, fin) in [
        ("blocking", true, true),
        ("plain", true, false),
        ("nonblocking", false, true),
    ] {
        let p = lab.write_file(&format!("{name}.yaml"), &dependent(name, &uid, block, fin));
        ok(&kubectl!(lab, "apply", "-f", p.to_str().unwrap()));
    }

    ok(&kubectl!(
        lab,
        "delete",
        "deployment",
        "x",
        "--cascade=foreground",
        "--wait=false"
    ));
    // The owner stays, marked, while a blocking dependent is held by its finalizer.
    let owner = ok(&kubectl!(lab, "get", "deployment", "x", "-o", "json"));
    let owner: serde_json::Value = serde_json::from_str(&owner).unwrap();
    assert_eq!(
        owner["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    assert!(owner["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(exists(&lab, "configmap", "plain").await, Some(false));
    for held in ["blocking", "nonblocking"] {
        let cm = ok(&kubectl!(lab, "get", "configmap", held, "-o", "json"));
        let cm: serde_json::Value = serde_json::from_str(&cm).unwrap();
        assert!(
            cm["metadata"]["deletionTimestamp"].is_string(),
            "{held}: {cm}"
        );
    }

    // Releasing the blocking dependent lets the owner go; the non-blocking one never held it.
    ok(&kubectl!(
        lab,
        "patch",
        "configmap",
        "blocking",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#
    ));
    eventually("owner gone", 10, || async {
        (!exists(&lab, "deployment", "x").await?).then_some(())
    })
    .await;
    assert_eq!(exists(&lab, "configmap", "blocking").await, Some(false));
    assert_eq!(exists(&lab, "configmap", "nonblocking").await, Some(true));
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orphan_and_background_deletion() {
    let lab = fast_lab().await;
    let path = lab.write_file("owner.yaml", OWNER);
    ok(&kubectl!(lab, "apply", "-f", path.to_str().unwrap()));
    let uid = ok(&kubectl!(
        lab,
        "get",
        "deployment",
        "x",
        "-o",
        "jsonpath={.metadata.uid}"
    ));
    let p = lab.write_file("d.yaml", &dependent("kept", &uid, true, false));
    ok(&kubectl!(lab, "apply", "-f", p.to_str().unwrap()));
    ok(&kubectl!(
        lab,
        "delete",
        "deployment",
        "x",
        "--cascade=orphan"
    ));
    let refs = ok(&kubectl!(
        lab,
        "get",
        "configmap",
        "kept",
        "-o",
        "jsonpath={.metadata.ownerReferences}"
    ));
    assert_eq!(refs.trim(), "", "orphaned: no owner reference left");

    // Background (kubectl's default): the owner goes at once; a dependent held by a
    // finalizer is marked for deletion rather than left dangling.
    ok(&kubectl!(lab, "apply", "-f", path.to_str().unwrap()));
    let uid = ok(&kubectl!(
        lab,
        "get",
        "deployment",
        "x",
        "-o",
        "jsonpath={.metadata.uid}"
    ));
    let p = lab.write_file("h.yaml", &dependent("held", &uid, true, true));
    ok(&kubectl!(lab, "apply", "-f", p.to_str().unwrap()));
    ok(&kubectl!(lab, "delete", "deployment", "x"));
    assert_eq!(exists(&lab, "deployment", "x").await, Some(false));
    let ts = ok(&kubectl!(
        lab,
        "get",
        "configmap",
        "held",
        "-o",
        "jsonpath={.metadata.deletionTimestamp}"
    ));
    assert!(!ts.trim().is_empty(), "held dependent is being deleted");
    lab.stop().await;
}
