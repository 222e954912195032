// Expected words from apimachinery v0.32.0 (pkg/api/validation/objectmeta.go,
// pkg/apis/meta/v1/validation/validation.go, pkg/util/validation/validation.go) and
// kubernetes pkg/apis/apps/validation/validation.go, pkg/apis/core/validation/validation.go.

use super::*;
use crate::field_errors::{ErrorType, invalid_message};
use serde_json::json;

fn messages(kind: &str, obj: &Value) -> Vec<String> {
    validate(kind, obj, Write::Create)
        .iter()
        .map(ToString::to_string)
        .collect()
}

fn deployment(spec: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": spec})
}

fn valid_spec() -> Value {
    json!({
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}]}
        }
    })
}

#[test]
fn a_valid_deployment_has_no_errors() {
    assert!(messages("Deployment", &deployment(valid_spec())).is_empty());
}

#[test]
fn negative_replicas_are_invalid() {
    let mut spec = valid_spec();
    spec["replicas"] = json!(-1);
    let errs = validate("Deployment", &deployment(spec), Write::Create);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "spec.replicas");
    assert_eq!(errs[0].kind, ErrorType::Invalid);
    assert_eq!(
        errs[0].body(),
        "Invalid value: -1: must be greater than or equal to 0"
    );
    assert_eq!(
        invalid_message("Deployment.apps", "web", &errs),
        "Deployment.apps \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    );
}

#[test]
fn a_missing_selector_is_required_and_matches_nothing() {
    let mut spec = valid_spec();
    spec.as_object_mut().unwrap().remove("selector");
    assert_eq!(
        messages("Deployment", &deployment(spec)),
        [
            "spec.selector: Required value",
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        ]
    );
}

#[test]
fn a_selector_that_misses_the_template_and_an_empty_one() {
    let mut spec = valid_spec();
    spec["selector"] = json!({"matchLabels": {"app": "api"}});
    assert_eq!(
        messages("Deployment", &deployment(spec.clone())),
        [
            "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`"
        ]
    );
    spec["selector"] = json!({});
    assert_eq!(
        messages("ReplicaSet", &deployment(spec.clone())),
        [
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment"
        ]
    );
    assert_eq!(
        messages("StatefulSet", &deployment(spec)),
        [
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for statefulset"
        ]
    );
}

#[test]
fn label_keys_and_values_follow_validate_labels() {
    let long_key = "k".repeat(300);
    let obj = json!({"metadata": {"name": "x", "labels": {"a": "has space", &long_key: "v"}}});
    let errs = messages("ConfigMap", &obj);
    assert_eq!(
        errs,
        [
            "metadata.labels: Invalid value: \"has space\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".to_string(),
            format!("metadata.labels: Invalid value: \"{long_key}\": name part must be no more than 63 characters"),
        ]
    );
    let big = "a".repeat(1 << 20);
    let errs = messages("ConfigMap", &json!({"metadata": {"labels": {"a": big}}}));
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].ends_with("\": must be no more than 63 characters"),
        "{}",
        &errs[0][..80]
    );
}

#[test]
fn annotations_keys_and_total_size() {
    let obj = json!({"metadata": {"annotations": {"Example.com/Ok": "x", "bad key": "y"}}});
    assert_eq!(
        messages("ConfigMap", &obj),
        [
            "metadata.annotations: Invalid value: \"bad key\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
        ]
    );
    let exactly = "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_B - 1);
    assert!(
        messages(
            "ConfigMap",
            &json!({"metadata": {"annotations": {"a": exactly}}})
        )
        .is_empty()
    );
    let over = "v".repeat(TOTAL_ANNOTATION_SIZE_LIMIT_B);
    let errs = validate(
        "ConfigMap",
        &json!({"metadata": {"annotations": {"a": over}}}),
        Write::Create,
    );
    assert_eq!(errs[0].kind, ErrorType::TooLong);
    assert_eq!(
        errs[0].to_string(),
        "metadata.annotations: Too long: may not be more than 262144 bytes"
    );
}

#[test]
fn finalizers_and_owner_references() {
    let obj = json!({"metadata": {
        "finalizers": ["orphan", "foregroundDeletion"],
        "ownerReferences": [{"apiVersion": "apps/", "kind": "ReplicaSet", "name": "", "uid": "u"}]
    }});
    assert_eq!(
        messages("Pod", &obj)[..3],
        [
            "metadata.ownerReferences.apiVersion: Invalid value: \"apps/\": version must not be empty",
            "metadata.ownerReferences.name: Invalid value: \"\": name must not be empty",
            "metadata.finalizers: Invalid value: []string{\"orphan\", \"foregroundDeletion\"}: finalizer orphan and foregroundDeletion cannot be both set",
        ]
    );
}

#[test]
fn containers_and_their_ports() {
    let mut spec = valid_spec();
    spec["template"]["spec"] = json!({"containers": [
        {"name": "web", "image": "", "ports": [{"containerPort": 70000, "name": "Http"}, {"containerPort": 0, "protocol": "FOO"}]},
        {"name": "web", "image": "x"}
    ]});
    assert_eq!(
        messages("Deployment", &deployment(spec)),
        [
            "spec.template.spec.containers[0].image: Required value",
            "spec.template.spec.containers[0].ports[0].name: Invalid value: \"Http\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.template.spec.containers[0].ports[1].containerPort: Required value",
            "spec.template.spec.containers[0].ports[1].protocol: Unsupported value: \"FOO\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
            "spec.template.spec.containers[1].name: Duplicate value: \"web\"",
        ]
    );
    let pod = json!({"metadata": {"name": "p"}, "spec": {}});
    assert_eq!(messages("Pod", &pod), ["spec.containers: Required value"]);
}

#[test]
fn workload_templates_must_restart_always() {
    let mut spec = valid_spec();
    spec["template"]["spec"]["restartPolicy"] = json!("Never");
    assert_eq!(
        messages("ReplicaSet", &deployment(spec)),
        [
            "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""
        ]
    );
}

#[test]
fn rolling_update_parameters() {
    let mut spec = valid_spec();
    spec["strategy"] =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}});
    assert_eq!(
        messages("Deployment", &deployment(spec.clone())),
        [
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0"
        ]
    );
    spec["strategy"] = json!({"rollingUpdate": {"maxUnavailable": "150%", "maxSurge": -1}});
    assert_eq!(
        messages("Deployment", &deployment(spec)),
        [
            "spec.strategy.rollingUpdate.maxSurge: Invalid value: -1: must be greater than or equal to 0",
            "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:1, IntVal:0, StrVal:\"150%\"}: must not be greater than 100%",
        ]
    );
}

#[test]
fn service_ports() {
    let svc = json!({"metadata": {"name": "web"}, "spec": {
        "selector": {"app": "web"},
        "ports": [
            {"name": "http", "port": 0, "targetPort": 70000},
            {"port": 80, "targetPort": "Web_Port", "protocol": "TCP"},
            {"name": "http", "port": 80}
        ]
    }});
    assert_eq!(
        messages("Service", &svc),
        [
            "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
            "spec.ports[0].targetPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
            "spec.ports[1].name: Required value",
            "spec.ports[1].targetPort: Invalid value: \"Web_Port\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
            "spec.ports[2].name: Duplicate value: \"http\"",
            "spec.ports[2]: Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
        ]
    );
    let none = json!({"spec": {"type": "Magic"}});
    assert_eq!(
        messages("Service", &none),
        [
            "spec.ports: Required value",
            "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
        ]
    );
    let headless = json!({"spec": {"clusterIP": "None", "selector": {"app": "x y"}}});
    assert_eq!(messages("Service", &headless).len(), 1);
}

#[test]
fn config_map_keys_and_size() {
    let cm = json!({"data": {"bad key": "v", "ok": "x"}, "binaryData": {"ok": "eA=="}});
    assert_eq!(
        messages("ConfigMap", &cm),
        [
            "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
            "data[ok]: Invalid value: \"ok\": duplicate of key present in binaryData",
        ]
    );
    let big = json!({"data": {"a": "x".repeat(MAX_SECRET_SIZE + 1)}});
    assert_eq!(
        messages("ConfigMap", &big),
        [": Too long: may not be more than 1048576 bytes"]
    );
}

#[test]
fn updates_keep_selectors_and_statefulset_fields() {
    let old = deployment(valid_spec());
    let mut new = old.clone();
    new["spec"]["selector"] = json!({"matchLabels": {"app": "web", "tier": "x"}});
    new["spec"]["template"]["metadata"]["labels"]["tier"] = json!("x");
    let errs: Vec<String> = validate("Deployment", &new, Write::Update { old: &old })
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"web\", \"tier\":\"x\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"
        ]
    );
    let mut sts = old.clone();
    sts["spec"]["serviceName"] = json!("a");
    let mut changed = sts.clone();
    changed["spec"]["replicas"] = json!(5);
    assert!(validate("StatefulSet", &changed, Write::Update { old: &sts }).is_empty());
    changed["spec"]["serviceName"] = json!("b");
    assert_eq!(
        validate("StatefulSet", &changed, Write::Update { old: &sts })[0].to_string(),
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"
    );
    // A status write checks metadata only.
    let mut bad = old.clone();
    bad["spec"]["replicas"] = json!(-3);
    assert!(validate("Deployment", &bad, Write::Status).is_empty());
}
