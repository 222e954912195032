//! The real kubectl against the lab, through the generated kubeconfig (fresh cache dir).
//! Each test asserts exit codes and the output a user reads.

use crate::support as common;

use std::time::Duration;

use common::{TestLab, ok, stderr, stdout};

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
        env: [{name: MODE, value: one}]
      - name: side
        image: busybox:1.36
";

macro_rules! kubectl {
    ($lab:expr, $($arg:expr),+ $(,)?) => {
        match $lab.kubectl(&[$($arg),+]).await {
            Some(out) => out,
            None => return,
        }
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_in_all_its_forms() {
    let lab = TestLab::start().await;
    let out = kubectl!(lab, "get", "ns");
    let text = ok(&out);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(
        text.lines().next().unwrap().contains("STATUS"),
        "namespace columns: {text}"
    );
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(ns) && l.contains("Active")),
            "{ns} in {text}"
        );
    }
    let path = lab.write_file("d.yaml", DEPLOY);
    ok(&kubectl!(lab, "apply", "-f", path.to_str().unwrap()));
    ok(&kubectl!(
        lab,
        "run",
        "solo",
        "--image=busybox:1.36",
        "--labels=app=solo",
        "--",
        "sleep",
        "3600"
    ));

    let text = ok(&kubectl!(lab, "get", "pods", "-A"));
    assert!(
        text.lines().next().unwrap().starts_with("NAMESPACE"),
        "{text}"
    );
    assert!(text.contains("solo"), "{text}");

    let text = ok(&kubectl!(lab, "get", "pods", "-o", "wide"));
    let header = text.lines().next().unwrap();
    for col in [
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
    ] {
        assert!(header.contains(col), "wide header has {col}: {header}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("solo") && l.contains("0/1") && l.contains("Pending")),
        "{text}"
    );

    let yaml = ok(&kubectl!(lab, "get", "deploy", "web", "-o", "yaml"));
    assert!(
        yaml.contains("kind: Deployment") && yaml.contains("replicas: 2"),
        "{yaml}"
    );
    assert!(
        yaml.contains("uid:") && yaml.contains("resourceVersion:"),
        "{yaml}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&ok(&kubectl!(lab, "get", "svc", "-A", "-o", "json"))).unwrap();
    assert_eq!(json["kind"], "List");
    assert_eq!(json["items"][0]["metadata"]["name"], "kubernetes");
    assert_eq!(json["items"][0]["spec"]["clusterIP"], "10.96.0.1");

    let text = ok(&kubectl!(
        lab, "get", "pods", "-l", "app=solo", "-o", "name"
    ));
    assert_eq!(text.trim(), "pod/solo");
    let text = ok(&kubectl!(
        lab,
        "get",
        "pods",
        "-l",
        "app!=solo",
        "-o",
        "name"
    ));
    // The Deployment's pods (made by its controllers) may be listed; `solo` never.
    assert!(!text.lines().any(|l| l == "pod/solo"), "{text}");
    let text = ok(&kubectl!(
        lab,
        "get",
        "pods",
        "--field-selector",
        "metadata.name=solo",
        "-o",
        "name"
    ));
    assert_eq!(text.trim(), "pod/solo");
    let text = ok(&kubectl!(
        lab,
        "get",
        "pods",
        "--field-selector",
        "status.phase=Pending",
        "-o",
        "name"
    ));
    // No node exists, so every pod (solo and the Deployment's) is Pending and none is not.
    assert!(text.lines().any(|l| l == "pod/solo"), "{text}");
    let text = ok(&kubectl!(
        lab,
        "get",
        "pods",
        "--field-selector",
        "status.phase!=Pending",
        "-o",
        "name"
    ));
    assert_eq!(text.trim(), "");

    let out = kubectl!(lab, "get", "pods", "--field-selector", "spec.bogus=1");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("field label not supported: spec.bogus"),
        "{}",
        stderr(&out)
    );

    let out = kubectl!(lab, "get", "pod", "nope");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("Error from server (NotFound): pods \"nope\" not found"),
        "{}",
        stderr(&out)
    );

    let text = ok(&kubectl!(lab, "get", "deploy"));
    let header = text.lines().next().unwrap();
    for col in ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(
        text.lines()
            .any(|l| l.starts_with("web") && l.contains("0/2")),
        "{text}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_twice_and_server_side() {
    let lab = TestLab::start().await;
    let path = lab.write_file("d.yaml", DEPLOY);
    let p = path.to_str().unwrap();
    assert_eq!(
        ok(&kubectl!(lab, "apply", "-f", p)).trim(),
        "deployment.apps/web created"
    );
    assert_eq!(
        ok(&kubectl!(lab, "apply", "-f", p)).trim(),
        "deployment.apps/web unchanged"
    );

    // Change the image of one container and the replicas: a three-way strategic merge.
    let changed = DEPLOY
        .replace("replicas: 2", "replicas: 3")
        .replace("nginx:1.27", "nginx:1.28");
    lab.write_file("d.yaml", &changed);
    assert_eq!(
        ok(&kubectl!(lab, "apply", "-f", p)).trim(),
        "deployment.apps/web configured"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&kubectl!(lab, "get", "deploy", "web", "-o", "json"))).unwrap();
    assert_eq!(json["spec"]["replicas"], 3);
    let containers = json["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0]["image"], "nginx:1.28");
    assert_eq!(
        containers[0]["env"][0]["value"], "one",
        "env kept by the merge"
    );
    assert_eq!(json["metadata"]["generation"], 2);

    // Server-side apply: creates, then updates.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: fast\n";
    let cm_path = lab.write_file("cm.yaml", cm);
    let out = ok(&kubectl!(
        lab,
        "apply",
        "--server-side",
        "-f",
        cm_path.to_str().unwrap()
    ));
    assert_eq!(out.trim(), "configmap/settings serverside-applied");
    lab.write_file("cm.yaml", &cm.replace("fast", "slow"));
    ok(&kubectl!(
        lab,
        "apply",
        "--server-side",
        "-f",
        cm_path.to_str().unwrap()
    ));
    let mode = ok(&kubectl!(
        lab,
        "get",
        "cm",
        "settings",
        "-o",
        "jsonpath={.data.mode}"
    ));
    assert_eq!(mode, "slow");

    // Dry run changes nothing.
    lab.write_file("cm.yaml", &cm.replace("fast", "dry"));
    let out = ok(&kubectl!(
        lab,
        "apply",
        "--server-side",
        "--dry-run=server",
        "-f",
        cm_path.to_str().unwrap()
    ));
    assert!(out.contains("(server dry run)"), "{out}");
    let mode = ok(&kubectl!(
        lab,
        "get",
        "cm",
        "settings",
        "-o",
        "jsonpath={.data.mode}"
    ));
    assert_eq!(mode, "slow");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imperative_commands() {
    let lab = TestLab::start().await;
    assert_eq!(
        ok(&kubectl!(
            lab,
            "create",
            "deployment",
            "api",
            "--image=nginx:1.27",
            "--replicas=3",
            "--port=80"
        ))
        .trim(),
        "deployment.apps/api created"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(&kubectl!(lab, "get", "deploy", "api", "-o", "json"))).unwrap();
    assert_eq!(json["spec"]["replicas"], 3);
    assert_eq!(
        json["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"],
        80
    );
    assert_eq!(json["spec"]["selector"]["matchLabels"]["app"], "api");

    assert_eq!(
        ok(&kubectl!(
            lab,
            "create",
            "configmap",
            "cfg",
            "--from-literal=a=1",
            "--from-literal=b=2"
        ))
        .trim(),
        "configmap/cfg created"
    );
    assert_eq!(
        ok(&kubectl!(
            lab,
            "get",
            "cm",
            "cfg",
            "-o",
            "jsonpath={.data.b}"
        )),
        "2"
    );

    assert_eq!(
        ok(&kubectl!(
            lab,
            "run",
            "box",
            "--image=busybox:1.36",
            "--",
            "sleep",
            "60"
        ))
        .trim(),
        "pod/box created"
    );

    assert_eq!(
        ok(&kubectl!(
            lab,
            "expose",
            "deployment",
            "api",
            "--port=80",
            "--target-port=8080"
        ))
        .trim(),
        "service/api exposed"
    );
    let svc: serde_json::Value =
        serde_json::from_str(&ok(&kubectl!(lab, "get", "svc", "api", "-o", "json"))).unwrap();
    assert_eq!(svc["spec"]["selector"]["app"], "api");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], 8080);
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .unwrap()
            .starts_with("10.96.")
    );

    assert_eq!(
        ok(&kubectl!(lab, "scale", "deployment", "api", "--replicas=5")).trim(),
        "deployment.apps/api scaled"
    );
    assert_eq!(
        ok(&kubectl!(
            lab,
            "get",
            "deploy",
            "api",
            "-o",
            "jsonpath={.spec.replicas}"
        )),
        "5"
    );
    // --current-replicas goes through GET and PUT on /scale.
    assert_eq!(
        ok(&kubectl!(
            lab,
            "scale",
            "deployment",
            "api",
            "--current-replicas=5",
            "--replicas=2"
        ))
        .trim(),
        "deployment.apps/api scaled"
    );
    let out = kubectl!(
        lab,
        "scale",
        "deployment",
        "api",
        "--current-replicas=9",
        "--replicas=1"
    );
    assert!(!out.status.success(), "precondition mismatch fails");

    assert_eq!(
        ok(&kubectl!(lab, "label", "deployment", "api", "tier=backend")).trim(),
        "deployment.apps/api labeled"
    );
    assert_eq!(
        ok(&kubectl!(
            lab,
            "annotate",
            "deployment",
            "api",
            "owner=team-a"
        ))
        .trim(),
        "deployment.apps/api annotated"
    );
    let text = ok(&kubectl!(
        lab,
        "get",
        "deploy",
        "-l",
        "tier=backend",
        "-o",
        "name"
    ));
    assert_eq!(text.trim(), "deployment.apps/api");

    // kubectl patch with each --type.
    ok(&kubectl!(
        lab,
        "patch",
        "deployment",
        "api",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.28"}]}}}}"#
    ));
    ok(&kubectl!(
        lab,
        "patch",
        "deployment",
        "api",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"m":"1"}}}"#
    ));
    ok(&kubectl!(
        lab,
        "patch",
        "deployment",
        "api",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":4}]"#
    ));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&kubectl!(lab, "get", "deploy", "api", "-o", "json"))).unwrap();
    let containers = json["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 1);
    assert_eq!(containers[0]["image"], "nginx:1.28");
    assert_eq!(
        containers[0]["ports"][0]["containerPort"], 80,
        "strategic merge kept ports"
    );
    assert_eq!(json["metadata"]["labels"]["m"], "1");
    assert_eq!(json["spec"]["replicas"], 4);

    let text = ok(&kubectl!(lab, "describe", "deployment", "api"));
    assert!(
        text.contains("Name:") && text.contains("api") && text.contains("nginx:1.28"),
        "{text}"
    );
    let text = ok(&kubectl!(lab, "describe", "pod", "box"));
    assert!(text.contains("busybox:1.36"), "{text}");

    // No node runs it (this lab has none): LogLocation's BadRequest
    // (pkg/registry/core/pod/strategy.go).
    let logs = kubectl!(lab, "logs", "box");
    assert!(
        stderr(&logs).contains("pod box does not have a host assigned"),
        "{}",
        stderr(&logs)
    );

    assert_eq!(
        ok(&kubectl!(lab, "delete", "deployment", "api")).trim(),
        "deployment.apps \"api\" deleted"
    );
    assert_eq!(
        ok(&kubectl!(lab, "delete", "pod", "box")).trim(),
        "pod \"box\" deleted"
    );
    let out = kubectl!(lab, "get", "deploy", "api");
    assert!(!out.status.success());
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_follows_changes() {
    let lab = TestLab::start().await;
    if !common::have("kubectl") {
        return;
    }
    ok(&kubectl!(lab, "run", "first", "--image=busybox:1.36"));
    let watch = lab.kubectl(&["get", "pods", "-w", "--request-timeout=8s"]);
    let writer = async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        lab.kubectl(&["run", "second", "--image=busybox:1.36"])
            .await;
        lab.kubectl(&["label", "pod", "first", "x=y"]).await;
    };
    let (out, _) = tokio::join!(watch, writer);
    let out = out.expect("kubectl ran");
    let text = stdout(&out);
    assert!(
        text.lines().next().unwrap_or("").starts_with("NAME"),
        "{text}\n{}",
        stderr(&out)
    );
    assert!(text.lines().any(|l| l.starts_with("first")), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("second")),
        "the watch saw the new pod: {text}"
    );
    assert!(
        text.lines().filter(|l| l.starts_with("first")).count() >= 2,
        "and the label change: {text}"
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_token_is_refused() {
    let lab = TestLab::start().await;
    if !common::have("kubectl") {
        return;
    }
    let text = std::fs::read_to_string(&lab.kubeconfig).unwrap();
    let bad = text.replace(&lab.lab.token, "not-the-token");
    std::fs::write(&lab.kubeconfig, bad).unwrap();
    let out = kubectl!(lab, "get", "pods");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Unauthorized") || stderr(&out).contains("provide credentials"),
        "{}",
        stderr(&out)
    );
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_lifecycle_and_default_service_account() {
    let lab = TestLab::start().await;
    ok(&kubectl!(lab, "create", "namespace", "shop"));
    ok(&kubectl!(
        lab,
        "create",
        "configmap",
        "c",
        "-n",
        "shop",
        "--from-literal=a=b"
    ));
    // The ServiceAccount controller gives every namespace a `default` ServiceAccount.
    let mut found = false;
    for _ in 0..50 {
        let out = kubectl!(lab, "get", "sa", "default", "-n", "shop", "-o", "name");
        if out.status.success() {
            found = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(found, "default ServiceAccount in shop");
    assert!(
        ok(&kubectl!(lab, "get", "sa", "-n", "default", "-o", "name"))
            .contains("serviceaccount/default")
    );

    // A finalizer holds one object, so the namespace stays Terminating until it is released.
    ok(&kubectl!(
        lab,
        "patch",
        "cm",
        "c",
        "-n",
        "shop",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":["kdive.dev/hold"]}}"#
    ));
    ok(&kubectl!(
        lab,
        "delete",
        "namespace",
        "shop",
        "--wait=false"
    ));
    let text = ok(&kubectl!(lab, "get", "ns", "shop"));
    assert!(text.contains("Terminating"), "{text}");
    let out = kubectl!(
        lab,
        "create",
        "configmap",
        "late",
        "-n",
        "shop",
        "--from-literal=a=b"
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("because it is being terminated"),
        "{}",
        stderr(&out)
    );

    ok(&kubectl!(
        lab,
        "patch",
        "cm",
        "c",
        "-n",
        "shop",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#
    ));
    ok(&kubectl!(
        lab,
        "wait",
        "--for=delete",
        "namespace/shop",
        "--timeout=20s"
    ));
    let out = kubectl!(lab, "get", "ns", "shop");
    assert!(stderr(&out).contains("NotFound"), "{}", stderr(&out));
    lab.stop().await;
}
