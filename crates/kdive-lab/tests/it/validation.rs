//! Objects a real kube-apiserver refuses are refused by the lab, with the same Status:
//! 422 `Invalid` from validation (every field error a cause, the message as
//! `errors.NewInvalid` in staging/src/k8s.io/apimachinery/pkg/api/errors/errors.go words it)
//! and 400 `BadRequest` from typed decoding (`transformDecodeError` in
//! staging/src/k8s.io/apiserver/pkg/endpoints/handlers/rest.go over Go's
//! `json.UnmarshalTypeError`). Rules: pkg/api/validation/objectmeta.go and
//! pkg/apis/meta/v1/validation/validation.go (apimachinery), pkg/apis/apps/validation and
//! pkg/apis/core/validation (kubernetes). And nothing refused is stored.

use crate::support as common;

use common::{TestLab, stderr};
use http::Request;
use serde_json::{Value, json};

const DEPLOYS: &str = "/apis/apps/v1/namespaces/default/deployments";
const CONFIG_MAPS: &str = "/api/v1/namespaces/default/configmaps";

async fn send(
    client: &kube::Client,
    method: &str,
    path: &str,
    ct: &str,
    body: &Value,
) -> (u16, Value) {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("Content-Type", ct)
        .body(serde_json::to_vec(body).unwrap())
        .unwrap();
    common::exchange(client, req).await
}

async fn get(client: &kube::Client, path: &str) -> (u16, Value) {
    let req = Request::builder().uri(path).body(Vec::new()).unwrap();
    common::exchange(client, req).await
}

fn deployment(replicas: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}
            }
        }
    })
}

/// The Status of a 422: code, reason, message, and the causes as (reason, field, message).
#[track_caller]
fn assert_invalid(got: &(u16, Value), message: &str, causes: &[(&str, &str, &str)]) {
    let (code, v) = got;
    assert_eq!(*code, 422, "{v}");
    assert_eq!(v["kind"], "Status", "{v}");
    assert_eq!(v["status"], "Failure", "{v}");
    assert_eq!(v["reason"], "Invalid", "{v}");
    assert_eq!(v["code"], 422, "{v}");
    assert_eq!(v["message"], message, "{v}");
    let got_causes: Vec<(String, String, String)> = v["details"]["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("reason"), s("field"), s("message"))
        })
        .collect();
    let want: Vec<(String, String, String)> = causes
        .iter()
        .map(|(r, f, m)| (r.to_string(), f.to_string(), m.to_string()))
        .collect();
    assert_eq!(got_causes, want, "{v}");
}

#[track_caller]
fn assert_bad_request(got: &(u16, Value), message: &str) {
    let (code, v) = got;
    assert_eq!(*code, 400, "{v}");
    assert_eq!(v["kind"], "Status", "{v}");
    assert_eq!(v["reason"], "BadRequest", "{v}");
    assert_eq!(v["message"], message, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_creates_list_every_field_error_and_store_nothing() {
    let lab = TestLab::start().await;
    let c = lab.client().await;

    // One error: no brackets.
    let r = send(
        &c,
        "POST",
        DEPLOYS,
        "application/json",
        &deployment(json!(-1)),
    )
    .await;
    assert_invalid(
        &r,
        "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        &[(
            "FieldValueInvalid",
            "spec.replicas",
            "Invalid value: -1: must be greater than or equal to 0",
        )],
    );
    assert_eq!(r.1["details"]["name"], "web");
    assert_eq!(r.1["details"]["group"], "apps");
    assert_eq!(r.1["details"]["kind"], "Deployment");

    // Several: a label value with a space, a 300-character key, negative replicas, a
    // selector that misses the template.
    let long_key = "k".repeat(300);
    let mut d = deployment(json!(-2));
    d["metadata"]["labels"] = json!({"app": "my app", &long_key: "x"});
    d["spec"]["selector"] = json!({"matchLabels": {"app": "api"}});
    let r = send(&c, "POST", DEPLOYS, "application/json", &d).await;
    let value_msg = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
    let causes = [
        ("FieldValueInvalid", "metadata.labels", format!("Invalid value: \"my app\": {value_msg}")),
        ("FieldValueInvalid", "metadata.labels", format!("Invalid value: \"{long_key}\": name part must be no more than 63 characters")),
        ("FieldValueInvalid", "spec.replicas", "Invalid value: -2: must be greater than or equal to 0".to_string()),
        ("FieldValueInvalid", "spec.template.metadata.labels", "Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`".to_string()),
    ];
    let cause_refs: Vec<(&str, &str, &str)> = causes
        .iter()
        .map(|(r, f, m)| (*r, *f, m.as_str()))
        .collect();
    let joined: Vec<String> = causes.iter().map(|(_, f, m)| format!("{f}: {m}")).collect();
    assert_invalid(
        &r,
        &format!(
            "Deployment.apps \"web\" is invalid: [{}]",
            joined.join(", ")
        ),
        &cause_refs,
    );

    // A missing selector is required.
    let mut d = deployment(json!(1));
    d["spec"].as_object_mut().unwrap().remove("selector");
    let r = send(&c, "POST", DEPLOYS, "application/json", &d).await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["details"]["causes"][0]["reason"], "FieldValueRequired");
    assert_eq!(r.1["details"]["causes"][0]["field"], "spec.selector");
    assert_eq!(r.1["details"]["causes"][0]["message"], "Required value");

    // A label value of 1 MiB, and annotations over 256 KiB.
    let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big", "labels": {"a": "v".repeat(1 << 20)}}});
    let r = send(&c, "POST", CONFIG_MAPS, "application/json", &cm).await;
    assert_eq!(r.0, 422, "{}", r.1["message"]);
    assert_eq!(
        r.1["details"]["causes"][0]["message"]
            .as_str()
            .map(|m| m.ends_with("\": must be no more than 63 characters")),
        Some(true)
    );
    cm["metadata"]["labels"] = json!({});
    cm["metadata"]["annotations"] = json!({"note": "n".repeat(256 * 1024)});
    let r = send(&c, "POST", CONFIG_MAPS, "application/json", &cm).await;
    assert_invalid(
        &r,
        "ConfigMap \"big\" is invalid: metadata.annotations: Too long: may not be more than 262144 bytes",
        &[(
            "FieldValueTooLong",
            "metadata.annotations",
            "Too long: may not be more than 262144 bytes",
        )],
    );

    // Service ports out of range.
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 70000, "targetPort": 0}]}});
    let r = send(
        &c,
        "POST",
        "/api/v1/namespaces/default/services",
        "application/json",
        &svc,
    )
    .await;
    assert_invalid(
        &r,
        "Service \"web\" is invalid: spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive",
        &[(
            "FieldValueInvalid",
            "spec.ports[0].port",
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        )],
    );

    for path in [
        format!("{DEPLOYS}/web"),
        format!("{CONFIG_MAPS}/big"),
        "/api/v1/namespaces/default/services/web".to_string(),
    ] {
        assert_eq!(get(&c, &path).await.0, 404, "{path} was stored");
    }
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_json_types_are_decoding_errors() {
    let lab = TestLab::start().await;
    let c = lab.client().await;
    let r = send(
        &c,
        "POST",
        DEPLOYS,
        "application/json",
        &deployment(json!("three")),
    )
    .await;
    assert_bad_request(
        &r,
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
    );
    let r = send(
        &c,
        "POST",
        DEPLOYS,
        "application/json",
        &deployment(json!(1u64 << 31)),
    )
    .await;
    assert_bad_request(
        &r,
        "Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32",
    );
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"nested": {"a": "b"}}});
    let r = send(&c, "POST", CONFIG_MAPS, "application/json", &cm).await;
    assert_bad_request(
        &r,
        "ConfigMap in version \"v1\" cannot be handled as a ConfigMap: json: cannot unmarshal object into Go struct field ConfigMap.data of type string",
    );
    assert_eq!(get(&c, &format!("{DEPLOYS}/web")).await.0, 404);
    assert_eq!(get(&c, &format!("{CONFIG_MAPS}/cfg")).await.0, 404);
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_and_every_patch_type_validate_the_result() {
    let lab = TestLab::start().await;
    let c = lab.client().await;
    let web = format!("{DEPLOYS}/web");
    let (code, _) = send(
        &c,
        "POST",
        DEPLOYS,
        "application/json",
        &deployment(json!(2)),
    )
    .await;
    assert_eq!(code, 201);
    let negative = "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0";
    let cause = [(
        "FieldValueInvalid",
        "spec.replicas",
        "Invalid value: -1: must be greater than or equal to 0",
    )];

    let r = send(&c, "PUT", &web, "application/json", &deployment(json!(-1))).await;
    assert_invalid(&r, negative, &cause);
    let r = send(
        &c,
        "PATCH",
        &web,
        "application/merge-patch+json",
        &json!({"spec": {"replicas": -1}}),
    )
    .await;
    assert_invalid(&r, negative, &cause);
    let r = send(
        &c,
        "PATCH",
        &web,
        "application/strategic-merge-patch+json",
        &json!({"spec": {"replicas": -1}}),
    )
    .await;
    assert_invalid(&r, negative, &cause);
    let r = send(
        &c,
        "PATCH",
        &web,
        "application/json-patch+json",
        &json!([{"op": "replace", "path": "/spec/replicas", "value": -1}]),
    )
    .await;
    assert_invalid(&r, negative, &cause);
    let apply = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": -1}});
    let r = send(
        &c,
        "PATCH",
        &format!("{web}?fieldManager=t&force=true"),
        "application/apply-patch+yaml",
        &apply,
    )
    .await;
    assert_invalid(&r, negative, &cause);

    // A label with a space through a patch.
    let r = send(
        &c,
        "PATCH",
        &web,
        "application/merge-patch+json",
        &json!({"metadata": {"labels": {"app": "a b"}}}),
    )
    .await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["details"]["causes"][0]["field"], "metadata.labels");

    // The selector of an apps/v1 Deployment is immutable.
    let r = send(&c, "PATCH", &web, "application/merge-patch+json", &json!({"spec": {"selector": {"matchLabels": {"app": "web", "v": "2"}}, "template": {"metadata": {"labels": {"v": "2"}}}}})).await;
    assert_invalid(
        &r,
        "Deployment.apps \"web\" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"v\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        &[(
            "FieldValueInvalid",
            "spec.selector",
            "Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"v\":\"2\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        )],
    );

    // Wrong types in a patch: the patched object does not decode (handlers/patch.go).
    let r = send(
        &c,
        "PATCH",
        &web,
        "application/merge-patch+json",
        &json!({"spec": {"replicas": "three"}}),
    )
    .await;
    assert_eq!(r.0, 422, "{}", r.1);
    assert_eq!(r.1["reason"], "Invalid");
    assert_eq!(r.1["details"]["causes"][0]["field"], "patch");
    assert!(r.1["details"].get("kind").is_none(), "{}", r.1);
    let msg = r.1["message"].as_str().unwrap();
    assert!(
        msg.starts_with(" \"\" is invalid: patch: Invalid value: \"{"),
        "{msg}"
    );
    assert!(
        msg.ends_with("\": json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
        "{msg}"
    );
    let r = send(
        &c,
        "PATCH",
        &web,
        "application/strategic-merge-patch+json",
        &json!({"spec": {"replicas": "three"}}),
    )
    .await;
    assert_invalid(
        &r,
        " \"\" is invalid: patch: Invalid value: \"map[spec:map[replicas:three]]\": unrecognized type: int32",
        &[(
            "FieldValueInvalid",
            "patch",
            "Invalid value: \"map[spec:map[replicas:three]]\": unrecognized type: int32",
        )],
    );
    // The strategic path converts 2^31 into an int32 the way Go does: it wraps.
    let r = send(
        &c,
        "PATCH",
        &web,
        "application/strategic-merge-patch+json",
        &json!({"spec": {"replicas": 1u64 << 31}}),
    )
    .await;
    assert_eq!(
        r.1["details"]["causes"][0]["message"],
        "Invalid value: -2147483648: must be greater than or equal to 0",
        "{}",
        r.1
    );

    // The scale subresource validates the Scale (pkg/apis/autoscaling/validation, ValidateScale).
    let r = send(
        &c,
        "PATCH",
        &format!("{web}/scale"),
        "application/merge-patch+json",
        &json!({"spec": {"replicas": -1}}),
    )
    .await;
    assert_invalid(
        &r,
        "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        &cause,
    );
    assert_eq!(r.1["details"]["kind"], "Scale");
    assert_eq!(r.1["details"]["group"], "autoscaling");

    // An apply patch is converted by structured-merge-diff first (structuredmerge.go).
    let apply = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {"replicas": "three"}});
    let r = send(
        &c,
        "PATCH",
        &format!("{web}?fieldManager=t&force=true"),
        "application/apply-patch+yaml",
        &apply,
    )
    .await;
    assert_bad_request(
        &r,
        "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string",
    );

    // Nothing above was stored.
    let (code, v) = get(&c, &web).await;
    assert_eq!(code, 200);
    assert_eq!(v["spec"]["replicas"], 2);
    assert_eq!(v["metadata"]["labels"]["app"], "web");
    assert_eq!(v["metadata"]["generation"], 1);
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_shows_the_servers_words() {
    let lab = TestLab::start().await;
    let manifest = serde_json::to_string(&deployment(json!(-1))).unwrap();
    let Some(out) = lab
        .kubectl_stdin(&["apply", "-f", "-"], Some(&manifest))
        .await
    else {
        return;
    };
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(
            "is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        ),
        "{err}"
    );
    let manifest = serde_json::to_string(&deployment(json!("three"))).unwrap();
    let Some(out) = lab
        .kubectl_stdin(&["create", "--validate=false", "-f", "-"], Some(&manifest))
        .await
    else {
        return;
    };
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("Deployment in version \"v1\" cannot be handled as a Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
        "{err}"
    );
    let Some(out) = lab.kubectl(&["get", "deployments", "-o", "name"]).await else {
        return;
    };
    assert_eq!(common::stdout(&out).trim(), "", "nothing was stored");
    lab.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pod_and_service_ports_follow_core_validation() {
    let lab = TestLab::start().await;
    let c = lab.client().await;
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "nginx",
            "ports": [{"containerPort": 70000}, {"containerPort": 80, "name": "Web"}]}]}});
    let r = send(
        &c,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        &pod,
    )
    .await;
    assert_invalid(
        &r,
        "Pod \"p\" is invalid: [spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive, spec.containers[0].ports[1].name: Invalid value: \"Web\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)]",
        &[
            (
                "FieldValueInvalid",
                "spec.containers[0].ports[0].containerPort",
                "Invalid value: 70000: must be between 1 and 65535, inclusive",
            ),
            (
                "FieldValueInvalid",
                "spec.containers[0].ports[1].name",
                "Invalid value: \"Web\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            ),
        ],
    );
    assert!(r.1["details"].get("group").is_none(), "core group: omitted");
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}, {"port": 81}]}});
    let r = send(
        &c,
        "POST",
        "/api/v1/namespaces/default/services",
        "application/json",
        &svc,
    )
    .await;
    assert_invalid(
        &r,
        "Service \"web\" is invalid: spec.ports[1].name: Required value",
        &[("FieldValueRequired", "spec.ports[1].name", "Required value")],
    );
    assert_eq!(get(&c, "/api/v1/namespaces/default/pods/p").await.0, 404);
    assert_eq!(
        get(&c, "/api/v1/namespaces/default/services/web").await.0,
        404
    );
    // A valid pod still goes in.
    let ok = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "name": "web"}]}]}});
    let r = send(
        &c,
        "POST",
        "/api/v1/namespaces/default/pods",
        "application/json",
        &ok,
    )
    .await;
    assert_eq!(r.0, 201, "{}", r.1);
    lab.stop().await;
}
