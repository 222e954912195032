// Messages of Go's `encoding/json` `UnmarshalTypeError.Error()` (as forked in
// sigs.k8s.io/json, which the apiserver's JSON serializer uses) and of
// staging/src/k8s.io/apimachinery/pkg/runtime/converter.go (`fromUnstructured`, v0.32.0).

use super::*;
use serde_json::json;

fn json_error(kind: &str, mut v: Value) -> Option<String> {
    check(kind, &mut v, Decoding::Json)
}

#[test]
fn replicas_of_the_wrong_type_are_decoding_errors() {
    let d =
        |r: Value| json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": r}});
    assert_eq!(
        json_error("Deployment", d(json!("three"))).as_deref(),
        Some(
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
        )
    );
    assert_eq!(
        json_error("Deployment", d(json!(2147483648i64))).as_deref(),
        Some(
            "json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32"
        )
    );
    assert_eq!(
        json_error("Deployment", d(json!(1.5))).as_deref(),
        Some(
            "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"
        )
    );
    // -1 decodes; validation rejects it later.
    assert_eq!(json_error("Deployment", d(json!(-1))), None);
    assert_eq!(json_error("Deployment", d(json!(2147483647))), None);
    assert_eq!(json_error("Deployment", d(Value::Null)), None);
}

#[test]
fn map_values_and_nested_lists_name_the_innermost_struct() {
    let cm = json!({"kind": "ConfigMap", "data": {"a": "b", "nested": {"x": "y"}}});
    assert_eq!(
        json_error("ConfigMap", cm).as_deref(),
        Some("json: cannot unmarshal object into Go struct field ConfigMap.data of type string")
    );
    let labels = json!({"metadata": {"name": "x", "labels": {"n": 5}}});
    assert_eq!(
        json_error("Namespace", labels).as_deref(),
        Some(
            "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"
        )
    );
    let port = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "a", "image": "i", "ports": [{"containerPort": "80"}]}
    ]}}}});
    assert_eq!(
        json_error("Deployment", port).as_deref(),
        Some(
            "json: cannot unmarshal string into Go struct field ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"
        )
    );
    let spec = json!({"spec": "x"});
    assert_eq!(
        json_error("Service", spec).as_deref(),
        Some(
            "json: cannot unmarshal string into Go struct field Service.spec of type v1.ServiceSpec"
        )
    );
    let labels_list = json!({"metadata": {"labels": ["a"]}});
    assert_eq!(
        json_error("Pod", labels_list).as_deref(),
        Some(
            "json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string"
        )
    );
}

#[test]
fn the_first_error_in_document_order_wins() {
    let v: Value = serde_json::from_str(
        r#"{"spec": {"selector": {"matchLabels": {"a": 1}}, "replicas": "x"}}"#,
    )
    .unwrap();
    assert_eq!(
        json_error("Deployment", v).as_deref(),
        Some(
            "json: cannot unmarshal number into Go struct field LabelSelector.spec.selector.matchLabels of type string"
        )
    );
}

#[test]
fn int_or_string_takes_either() {
    let svc = |t: Value| json!({"spec": {"ports": [{"port": 80, "targetPort": t}]}});
    assert_eq!(json_error("Service", svc(json!("http"))), None);
    assert_eq!(json_error("Service", svc(json!(8080))), None);
    assert_eq!(
        json_error("Service", svc(json!(true))).as_deref(),
        Some(
            "json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32"
        )
    );
}

#[test]
fn the_unstructured_converter_words_it_differently_and_wraps_int32() {
    let mut d = json!({"spec": {"replicas": "three"}});
    assert_eq!(
        check("Deployment", &mut d, Decoding::Unstructured).as_deref(),
        Some("unrecognized type: int32")
    );
    let mut d = json!({"spec": {"replicas": 2147483648i64}});
    assert_eq!(check("Deployment", &mut d, Decoding::Unstructured), None);
    assert_eq!(d["spec"]["replicas"], json!(-2147483648));
    let mut cm = json!({"data": {"a": {"b": "c"}}});
    assert_eq!(
        check("ConfigMap", &mut cm, Decoding::Unstructured).as_deref(),
        Some("unrecognized type: string")
    );
    let mut cm = json!({"data": {"a": 1}});
    assert_eq!(
        check("ConfigMap", &mut cm, Decoding::Unstructured).as_deref(),
        Some("cannot convert int64 to string")
    );
    let mut cm = json!({"data": "x"});
    assert_eq!(
        check("ConfigMap", &mut cm, Decoding::Unstructured).as_deref(),
        Some("cannot restore map from string")
    );
    let mut d = json!({"spec": ["x"]});
    assert_eq!(
        check("Deployment", &mut d, Decoding::Unstructured).as_deref(),
        Some("cannot restore struct from: slice")
    );
}

#[test]
fn apply_patches_fail_in_structured_merge_diffs_words() {
    // sigs.k8s.io/structured-merge-diff typed/helpers.go (validateScalar) and typed/validate.go.
    let mut d = json!({"spec": {"replicas": "three"}});
    assert_eq!(
        check("Deployment", &mut d, Decoding::Apply).as_deref(),
        Some(".spec.replicas: expected numeric (int or float), got string")
    );
    let mut cm = json!({"data": {"foo": {"a": "b"}}});
    assert_eq!(
        check("ConfigMap", &mut cm, Decoding::Apply).as_deref(),
        Some(
            ".data.foo: expected string, got &value.valueUnstructured{Value:map[string]interface {}{\"a\":\"b\"}}"
        )
    );
    let mut d =
        json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": 5}]}}}});
    assert_eq!(
        check("Deployment", &mut d, Decoding::Apply).as_deref(),
        Some(
            ".spec.template.spec.containers[name=\"web\"].image: expected string, got &value.valueUnstructured{Value:5}"
        )
    );
    let mut d = json!({"metadata": {"labels": "x"}});
    assert_eq!(
        check("Deployment", &mut d, Decoding::Apply).as_deref(),
        Some(".metadata.labels: expected map, got &{x}")
    );
    // Numbers convert as the unstructured converter does.
    let mut d = json!({"spec": {"replicas": 2147483648i64}});
    assert_eq!(check("Deployment", &mut d, Decoding::Apply), None);
    assert_eq!(d["spec"]["replicas"], json!(-2147483648));
}
