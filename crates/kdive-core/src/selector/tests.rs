//! Label and field selector parsing, errors and matching.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use std::collections::BTreeMap;

use super::{
    FieldSelector, LabelSelector, SelectorError, service_selector, service_selects,
    set_matches_labels,
};

fn labels(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

fn sel(s: &str) -> LabelSelector {
    LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

fn err(s: &str) -> String {
    LabelSelector::parse(s).unwrap_err().to_string()
}

#[test]
fn empty_selector_matches_everything() {
    let s = sel("");
    assert!(s.is_everything());
    assert!(s.matches(&labels(json!({}))));
    assert!(sel("   ").is_everything());
}

#[test]
fn equality_operators() {
    let web = labels(json!({"app": "web", "tier": "fe"}));
    let db = labels(json!({"app": "db"}));
    for s in ["app=web", "app==web", " app = web ", "app=web,tier=fe"] {
        assert!(sel(s).matches(&web), "{s}");
        assert!(!sel(s).matches(&db), "{s}");
    }
    // != also matches objects without the label.
    let ne = sel("tier!=fe");
    assert!(!ne.matches(&web));
    assert!(ne.matches(&db));
    // `a=` selects the empty value, not "missing".
    let empty = sel("app=");
    assert!(empty.matches(&labels(json!({"app": ""}))));
    assert!(!empty.matches(&db));
    assert!(!empty.matches(&labels(json!({}))));
}

#[test]
fn set_operators() {
    let s = sel("env in (prod, staging),tier notin (db)");
    assert!(s.matches(&labels(json!({"env": "prod", "tier": "fe"}))));
    assert!(s.matches(&labels(json!({"env": "staging"}))));
    assert!(!s.matches(&labels(json!({"env": "dev"}))));
    assert!(!s.matches(&labels(json!({"env": "prod", "tier": "db"}))));
    assert!(!s.matches(&labels(json!({"tier": "fe"}))));
    // `()` is the set of the empty string.
    assert!(sel("a in ()").matches(&labels(json!({"a": ""}))));
    assert!(sel("a in (,x)").matches(&labels(json!({"a": ""}))));
    // `in` as a value is an identifier.
    assert!(sel("a in (in,notin)").matches(&labels(json!({"a": "notin"}))));
}

#[test]
fn existence_operators() {
    let has = labels(json!({"canary": "x"}));
    let none = labels(json!({}));
    assert!(sel("canary").matches(&has));
    assert!(!sel("canary").matches(&none));
    assert!(sel("!canary").matches(&none));
    assert!(!sel("! canary").matches(&has));
}

#[test]
fn numeric_comparisons() {
    let l = labels(json!({"gen": "5"}));
    assert!(sel("gen>4").matches(&l));
    assert!(!sel("gen>5").matches(&l));
    assert!(sel("gen<6").matches(&l));
    assert!(!sel("gen<6").matches(&labels(json!({"gen": "x"}))));
    assert!(err("gen>x").contains("must be an integer"));
}

#[test]
fn prefixed_keys_and_display() {
    let s = sel("kubernetes.io/cluster-service=true,app.kubernetes.io/name in (b,a),!x");
    assert!(s.matches(&labels(
        json!({"kubernetes.io/cluster-service": "true", "app.kubernetes.io/name": "a"})
    )));
    // Requirements print sorted by key, values sorted.
    assert_eq!(
        s.to_string(),
        "app.kubernetes.io/name in (a,b),kubernetes.io/cluster-service=true,!x"
    );
}

#[test]
fn syntax_errors_name_the_token() {
    assert_eq!(err("a=b,"), "found '', expected: identifier after ','");
    assert_eq!(
        err(",a"),
        "found ',', expected: !, identifier, or 'end of string'"
    );
    // After a key, anything but `,` or the end must be an operator.
    assert_eq!(
        err("a b"),
        "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"
    );
    assert_eq!(
        err("!=a"),
        "found '!=', expected: !, identifier, or 'end of string'"
    );
    assert_eq!(
        err("a in x"),
        "unable to parse requirement: found 'x', expected: '('"
    );
    assert_eq!(
        err("a in (x"),
        "unable to parse requirement: found '', expected: ',', ')' or identifier"
    );
    assert_eq!(
        err("a in (x y)"),
        "unable to parse requirement: found 'y', expected: ',', ')' or identifier"
    );
    assert_eq!(
        err("a=(x)"),
        "unable to parse requirement: found '(', expected: identifier"
    );
    assert_eq!(
        err("a notin x"),
        "unable to parse requirement: found 'x', expected: '('"
    );
    assert_eq!(err("!a=b"), "found '=', expected: ',' or 'end of string'");
    assert_eq!(
        err("!"),
        "unable to parse requirement: found '', expected: identifier after '!'"
    );
}

#[test]
fn invalid_keys_and_values() {
    let e = err("Bad_Key-=x");
    assert!(e.starts_with("unable to parse requirement: key: Invalid value: \"Bad_Key-\": name part must consist of"), "{e}");
    let e = err("Example.com/a=b");
    assert!(
        e.contains(
            "key: Invalid value: \"Example.com/a\": prefix part a lowercase RFC 1123 subdomain"
        ),
        "{e}"
    );
    assert!(err("a/b/c").contains("a qualified name must consist of"));
    assert!(err("/a").contains("prefix part must be non-empty"));
    assert!(err("a/").contains("name part must be non-empty"));
    let long = "k".repeat(64);
    assert!(err(&long).contains("name part must be no more than 63 characters"));
    let e = err("a=-x");
    assert!(
        e.contains("values[0][a]: Invalid value: \"-x\": a valid label must be an empty string"),
        "{e}"
    );
    let e = err(&format!("a={}", "v".repeat(64)));
    assert!(e.contains("must be no more than 63 characters"), "{e}");
    // 63 characters is fine for both.
    assert!(LabelSelector::parse(&format!("{}={}", "k".repeat(63), "v".repeat(63))).is_ok());
}

#[test]
fn from_label_selector_json() {
    let s = LabelSelector::from_label_selector_json(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["prod", "staging"]},
            {"key": "tier", "operator": "NotIn", "values": ["db"]},
            {"key": "track", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"}]}))
    .unwrap();
    assert!(s.matches(&labels(json!({"app": "web", "env": "prod", "track": "x"}))));
    assert!(!s.matches(&labels(json!({"app": "web", "env": "prod"}))));
    assert!(!s.matches(&labels(
        json!({"app": "web", "env": "prod", "track": "x", "legacy": "1"})
    )));
    assert!(!s.matches(&labels(
        json!({"app": "web", "env": "prod", "track": "x", "tier": "db"})
    )));
    assert_eq!(
        s.to_string(),
        "app=web,env in (prod,staging),!legacy,tier notin (db),track"
    );

    let all = LabelSelector::from_label_selector_json(&json!({})).unwrap();
    assert!(all.matches(&labels(json!({"x": "y"}))));
    let nothing = LabelSelector::from_label_selector_json(&Value::Null).unwrap();
    assert!(!nothing.matches(&labels(json!({}))));
    assert!(!nothing.is_everything());

    let bad_op = LabelSelector::from_label_selector_json(
        &json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}),
    );
    assert_eq!(
        bad_op.unwrap_err().to_string(),
        "\"Near\" is not a valid label selector operator"
    );
    let empty_in = LabelSelector::from_label_selector_json(
        &json!({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]}),
    );
    assert!(
        empty_in
            .unwrap_err()
            .to_string()
            .contains("values set can't be empty")
    );
    let exists_values = LabelSelector::from_label_selector_json(
        &json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
    );
    assert_eq!(
        exists_values.unwrap_err().to_string(),
        "values: Invalid value: []string{\"x\"}: values set must be empty for exists and does not exist"
    );
    let bad_value = LabelSelector::from_label_selector_json(&json!({"matchLabels": {"a": "b c"}}));
    assert!(
        bad_value
            .unwrap_err()
            .to_string()
            .contains("values[0][a]: Invalid value: \"b c\"")
    );
    assert!(LabelSelector::from_label_selector_json(&json!("app=web")).is_err());
}

#[test]
fn matches_with_lookup() {
    let s = sel("app=web");
    assert!(s.matches_with(|k| (k == "app").then_some("web")));
    assert!(!s.matches_with(|_| None));
}

fn pod() -> Value {
    json!({"metadata": {"name": "web-1", "namespace": "default"},
           "spec": {"nodeName": "node-1", "restartPolicy": "Always", "schedulerName": "default-scheduler",
                    "serviceAccountName": "default", "hostNetwork": true},
           "status": {"phase": "Running", "podIP": "10.0.0.9", "podIPs": [{"ip": "10.0.0.7"}],
                      "nominatedNodeName": "node-2"}})
}

fn fmatch(s: &str, resource: &str, obj: &Value) -> bool {
    FieldSelector::parse(s, resource)
        .unwrap_or_else(|e| panic!("{s:?}: {e}"))
        .matches(obj)
}

#[test]
fn field_selector_operators() {
    let p = pod();
    assert!(fmatch("", "pods", &p));
    assert!(fmatch("metadata.name=web-1", "pods", &p));
    assert!(fmatch("metadata.name==web-1", "pods", &p));
    assert!(!fmatch("metadata.name!=web-1", "pods", &p));
    assert!(fmatch(
        "metadata.name!=web-2,metadata.namespace=default",
        "pods",
        &p
    ));
    assert!(!fmatch(
        "metadata.name=web-1,metadata.namespace=kube-system",
        "pods",
        &p
    ));
    // The first `=` splits; a second one in the value must be escaped.
    assert_eq!(
        FieldSelector::parse("metadata.name=a=b", "pods")
            .unwrap_err()
            .to_string(),
        "invalid field selector: unescaped character in value: ="
    );
    let s = FieldSelector::parse("metadata.name=a\\=b", "pods").unwrap();
    assert!(s.uses_only_metadata());
    let mixed = FieldSelector::parse("metadata.name=a,spec.nodeName=n", "pods").unwrap();
    assert!(!mixed.uses_only_metadata());
    assert_eq!(s.exact_value("metadata.name"), Some("a=b"));
    assert_eq!(s.exact_value("metadata.namespace"), None);
}

#[test]
fn pod_fields() {
    let p = pod();
    for s in [
        "spec.nodeName=node-1",
        "spec.host=node-1",
        "spec.restartPolicy=Always",
        "spec.schedulerName=default-scheduler",
        "spec.serviceAccountName=default",
        "spec.hostNetwork=true",
        "status.phase=Running",
        // status.podIP comes from podIPs[0], as the server computes it.
        "status.podIP=10.0.0.7",
        "status.nominatedNodeName=node-2",
        // The server has no selectable value for podIPs: it compares as "".
        "status.podIPs=",
    ] {
        assert!(fmatch(s, "pods", &p), "{s}");
    }
    let lone = json!({"metadata": {"name": "x"}, "status": {"podIP": "10.9.9.9"}});
    assert!(fmatch("status.podIP=10.9.9.9", "pods", &lone));
    let bare = json!({"metadata": {"name": "x"}});
    // Missing strings are "", a missing bool is "false".
    assert!(fmatch("spec.nodeName=", "pods", &bare));
    assert!(fmatch("spec.nodeName!=node-1", "pods", &bare));
    assert!(fmatch("spec.hostNetwork=false", "pods", &bare));
    assert!(fmatch("metadata.namespace=", "pods", &bare));
}

#[test]
fn other_resource_fields() {
    let ev = json!({"metadata": {"name": "e"}, "involvedObject": {"kind": "Pod", "name": "web-1",
        "namespace": "default", "uid": "u1", "apiVersion": "v1", "resourceVersion": "5", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "reportingComponent": "kubelet", "source": {"component": "kubelet", "host": "n"}, "type": "Warning"});
    assert!(fmatch(
        "involvedObject.name=web-1,involvedObject.namespace=default,involvedObject.uid=u1",
        "events",
        &ev
    ));
    for s in [
        "involvedObject.kind=Pod",
        "involvedObject.apiVersion=v1",
        "involvedObject.resourceVersion=5",
        "involvedObject.fieldPath=spec.containers{app}",
        "reason=BackOff",
        "reportingComponent=kubelet",
        "source=kubelet",
        "type=Warning",
    ] {
        assert!(fmatch(s, "events", &ev), "{s}");
    }
    let secret = json!({"metadata": {"name": "s"}, "type": "kubernetes.io/tls"});
    assert!(fmatch("type=kubernetes.io/tls", "secrets", &secret));
    let ns = json!({"metadata": {"name": "prod"}, "status": {"phase": "Active"}});
    assert!(fmatch("status.phase=Active", "namespaces", &ns));
    let node = json!({"metadata": {"name": "n1"}, "spec": {"unschedulable": true}});
    assert!(fmatch("spec.unschedulable=true", "nodes", &node));
    assert!(fmatch(
        "spec.unschedulable=false",
        "nodes",
        &json!({"metadata": {"name": "n2"}})
    ));
    let rs = json!({"metadata": {"name": "r"}, "status": {"replicas": 3}});
    assert!(fmatch("status.replicas=3", "replicasets", &rs));
    assert!(fmatch("status.replicas=0", "replicasets", &json!({})));
    // metadata.name works on every resource, including ones without a printer.
    assert!(fmatch(
        "metadata.name=x",
        "widgets",
        &json!({"metadata": {"name": "x"}})
    ));
}

#[test]
fn field_selector_errors() {
    assert_eq!(
        FieldSelector::parse("spec.replicas=3", "deployments"),
        Err(SelectorError::UnsupportedField("spec.replicas".into()))
    );
    assert_eq!(
        FieldSelector::parse("type=Opaque", "configmaps")
            .unwrap_err()
            .to_string(),
        "field label not supported: type"
    );
    // Pod fields are not event fields.
    assert!(FieldSelector::parse("spec.nodeName=a", "events").is_err());
    // Whitespace is part of the field name, as on the real server.
    assert!(FieldSelector::parse(" metadata.name=a", "pods").is_err());
    assert_eq!(
        FieldSelector::parse("metadata.name", "pods")
            .unwrap_err()
            .to_string(),
        "invalid selector: 'metadata.name'; can't understand 'metadata.name'"
    );
    assert!(
        FieldSelector::parse("metadata.name=a\\x", "pods")
            .unwrap_err()
            .to_string()
            .contains("invalid escape sequence")
    );
}

#[test]
fn field_selector_escapes() {
    let obj = json!({"metadata": {"name": "a,b=c\\d"}});
    assert!(fmatch("metadata.name=a\\,b\\=c\\\\d", "pods", &obj));
    // Empty terms (",,") are skipped.
    assert!(fmatch(",metadata.name=a\\,b\\=c\\\\d,", "pods", &obj));
}

proptest! {
    #[test]
    fn label_parse_never_panics(s in "\\PC{0,40}") {
        if let Ok(sel) = LabelSelector::parse(&s) {
            let _ = sel.matches(&Map::new());
            // Printing and re-parsing a valid selector gives the same selector.
            let again = LabelSelector::parse(&sel.to_string());
            prop_assert_eq!(again.as_ref().ok(), Some(&sel));
        }
    }

    #[test]
    fn label_parse_selector_alphabet(s in "[a-z!=(), ]{0,30}") {
        let _ = LabelSelector::parse(&s);
    }

    #[test]
    fn field_parse_never_panics(s in "\\PC{0,40}", resource in "(pods|events|nodes|x)") {
        if let Ok(sel) = FieldSelector::parse(&s, &resource) {
            let _ = sel.matches(&json!({}));
        }
    }
}

/// One valid requirement in query syntax, with optional spaces around tokens.
fn requirement_text() -> impl Strategy<Value = String> {
    let key = "([a-z]{1,3}\\.io/)?[a-z][a-z0-9]{0,4}";
    let value = "[a-z0-9]{0,3}";
    (
        key,
        value,
        prop::collection::vec("[a-z0-9]{0,3}", 1..4),
        0..8usize,
        " ?",
    )
        .prop_map(|(k, v, vs, op, sp)| match op {
            0 => format!("{k}{sp}={sp}{v}"),
            1 => format!("{k}=={v}"),
            2 => format!("{k}{sp}!={sp}{v}"),
            3 => format!("{k} in ({})", vs.join(",")),
            4 => format!("{k} notin{sp}({})", vs.join(", ")),
            5 => k,
            6 => format!("!{sp}{k}"),
            _ => format!("{k}>{}", v.len()),
        })
}

proptest! {
    #[test]
    fn valid_selectors_parse_print_and_match_the_same(
        reqs in prop::collection::vec(requirement_text(), 1..4),
        labels in prop::collection::btree_map("[a-z][a-z0-9]{0,4}", "[a-z0-9]{0,3}", 0..4),
    ) {
        let text = reqs.join(" , ");
        let parsed = LabelSelector::parse(&text);
        prop_assert!(parsed.is_ok(), "{text}: {parsed:?}");
        let parsed = parsed.unwrap();
        let again = LabelSelector::parse(&parsed.to_string()).unwrap();
        prop_assert_eq!(&again, &parsed);
        let map: Map<String, Value> = labels.into_iter().map(|(k, v)| (k, json!(v))).collect();
        prop_assert_eq!(again.matches(&map), parsed.matches(&map));
    }
}

fn set(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `labels.SelectorFromSet`: every pair must be present with the same value, and an empty
/// set is `Everything()` (staging/src/k8s.io/apimachinery/pkg/labels/selector.go).
#[test]
fn a_set_selector_needs_every_pair_and_an_empty_one_matches_all() {
    let labels = set(&[("app", "web"), ("tier", "front")]);
    assert!(set_matches_labels(&set(&[("app", "web")]), Some(&labels)));
    assert!(!set_matches_labels(
        &set(&[("app", "web"), ("x", "y")]),
        Some(&labels)
    ));
    assert!(!set_matches_labels(&set(&[("app", "db")]), Some(&labels)));
    assert!(set_matches_labels(&set(&[]), None));
    assert!(!set_matches_labels(&set(&[("app", "web")]), None));
}

/// A Service without a selector gets no endpoints from the controllers
/// (pkg/controller/endpointslice/endpointslice_controller.go: `Spec.Selector == nil`); an
/// empty map is stored as nil, so it selects nothing either, unlike an empty set.
#[test]
fn a_service_without_a_selector_selects_nothing() {
    use k8s_openapi::api::core::v1::ServiceSpec;
    let labels = set(&[("app", "web")]);
    let spec = |sel: Option<BTreeMap<String, String>>| ServiceSpec {
        selector: sel,
        ..ServiceSpec::default()
    };
    assert!(service_selects(
        Some(&spec(Some(set(&[("app", "web")])))),
        Some(&labels)
    ));
    assert!(!service_selects(Some(&spec(Some(set(&[])))), Some(&labels)));
    assert!(!service_selects(Some(&spec(None)), Some(&labels)));
    assert!(!service_selects(None, Some(&labels)));
    assert!(service_selector(Some(&spec(Some(set(&[]))))).is_none());
}

/// `metav1.LabelSelectorAsSelector`: `{}` selects everything, expressions apply
/// (staging/src/k8s.io/apimachinery/pkg/apis/meta/v1/helpers.go).
#[test]
fn a_typed_label_selector_matches_like_its_json() {
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{
        LabelSelector as Meta, LabelSelectorRequirement,
    };
    let labels = set(&[("app", "web"), ("tier", "front")]);
    let everything = LabelSelector::from_meta(&Meta::default()).unwrap();
    assert!(everything.is_everything());
    assert!(everything.matches_labels(None));
    let sel = LabelSelector::from_meta(&Meta {
        match_labels: Some(set(&[("app", "web")])),
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: "tier".into(),
            operator: "NotIn".into(),
            values: Some(vec!["db".into()]),
        }]),
    })
    .unwrap();
    assert!(sel.matches_labels(Some(&labels)));
    assert!(!sel.matches_labels(Some(&set(&[("app", "web"), ("tier", "db")]))));
    assert!(!sel.matches_labels(None));
    let bad = Meta {
        match_labels: Some(set(&[("bad key", "x")])),
        ..Meta::default()
    };
    assert!(LabelSelector::from_meta(&bad).is_err());
}

/// `validateLabelKey` joins every `IsQualifiedName` problem with "; "
/// (staging/src/k8s.io/apimachinery/pkg/labels/selector.go); the former copy in this
/// module reported only the first.
#[test]
fn a_key_with_several_problems_reports_them_all() {
    let key = format!("-{}", "a".repeat(63));
    let e = err(&format!("{key}=x"));
    assert!(
        e.contains("name part must be no more than 63 characters; name part must consist of"),
        "{e}"
    );
    assert!(err("a/=x").contains("name part must be non-empty; name part must consist of"));
}
