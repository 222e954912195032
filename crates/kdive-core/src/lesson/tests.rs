//! Lesson format and evaluation over fixtures (tests/fixtures/lessons*).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::*;

const FIXTURE: &str = include_str!("../../../../tests/fixtures/lessons/demo/scale/lesson.md");
const FIXTURE_WEB: &str =
    include_str!("../../../../tests/fixtures/lessons/demo/scale/manifests/web.yaml");

fn fixture() -> Lesson {
    let files = BTreeMap::from([("manifests/web.yaml".to_string(), FIXTURE_WEB.to_string())]);
    format::parse("demo/scale/lesson.md", FIXTURE, &files).expect("fixture parses")
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

const NS: &str = "kdive-demo-scale";

fn deployment(spec_replicas: i64, ready: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {"replicas": spec_replicas, "template": {"spec": {"containers": [
            {"name": "web", "image": "kdive/demo-web:1.4"}]}}},
        "status": {"readyReplicas": ready}})
}

/// One EndpointSlice of service web with `ready` ready and `not_ready` not-ready endpoints.
fn slice(ready: usize, not_ready: usize) -> Value {
    let eps: Vec<Value> = (0..ready + not_ready)
        .map(
            |i| json!({"addresses": [format!("10.244.0.{i}")], "conditions": {"ready": i < ready}}),
        )
        .collect();
    json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abc", "namespace": NS, "labels": {"kubernetes.io/service-name": "web"}},
        "endpoints": eps})
}

fn service() -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": NS},
        "spec": {"clusterIP": "10.96.12.34"}})
}

fn run(
    step: &Step,
    objects: Vec<Value>,
    now: DateTime<Utc>,
    state: &mut StepProgress,
) -> Vec<(String, Outcome, String)> {
    run_with(step, objects, now, state, &super::eval::no_prometheus)
}

fn run_with(
    step: &Step,
    objects: Vec<Value>,
    now: DateTime<Utc>,
    state: &mut StepProgress,
    prom: &(dyn Fn(&str) -> PromAnswer + Sync),
) -> Vec<(String, Outcome, String)> {
    let objects = Objects::from_values(objects).unwrap();
    let ctx = EvalContext {
        objects: &objects,
        namespace: NS,
        now,
        promql: prom,
    };
    step.evaluate(&ctx, state)
        .into_iter()
        .map(|r| (r.id, r.outcome, r.message))
        .collect()
}

#[test]
fn fixture_parses_into_steps_with_placeholders_substituted() {
    let l = fixture();
    assert_eq!(l.id, "demo/scale");
    assert_eq!(l.namespace, NS);
    assert_eq!(l.setup.apply, vec!["manifests/web.yaml"]);
    assert_eq!(l.setup.wait.len(), 1);
    assert!(
        l.intro.contains("Intro text for kdive-demo-scale."),
        "{}",
        l.intro
    );
    let ids: Vec<&str> = l.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["scale", "watch-one-leave"]);
    let s = &l.steps[0];
    assert_eq!(s.title, "Scale to four");
    assert_eq!(s.text, "Scale `web` to 4 replicas.");
    assert_eq!(s.line, 25);
    assert_eq!(s.hints.len(), 3);
    assert_eq!(s.hints[1].after, Some(std::time::Duration::from_secs(90)));
    assert_eq!(
        s.focus[0].highlight,
        ["spec.replicas", "status.readyReplicas"]
    );
    assert_eq!(
        s.solution[0].kubectl(&l.namespace),
        "kubectl -n kdive-demo-scale scale deployment/web --replicas=4"
    );
    assert_eq!(l.steps[1].needs, ["scale"]);
    assert!(l.files["manifests/web.yaml"].contains("namespace: kdive-demo-scale"));
    match &l.steps[1].checks[3].body {
        CheckBody::Promql { query, .. } => {
            assert_eq!(
                query,
                "sum(rate(http_requests_total{namespace=\"kdive-demo-scale\"}[1m]))"
            )
        }
        other => panic!("promql expected, got {other:?}"),
    }
    let kinds: Vec<&str> = l.kinds().iter().map(|k| k.kind).collect();
    assert_eq!(kinds, ["Deployment", "EndpointSlice", "Service"]);
}

#[test]
fn matcher_and_total_say_what_was_expected_and_what_is_there() {
    let l = fixture();
    let step = &l.steps[0];
    let mut st = StepProgress::default();
    let r = run(step, vec![deployment(4, 2), slice(2, 2)], t0(), &mut st);
    assert_eq!(
        r[0],
        (
            "four-ready".into(),
            Outcome::Fail,
            "deployment/web: status.readyReplicas: expected 4, got 2".into()
        )
    );
    assert_eq!(
        r[1],
        (
            "four-endpoints".into(),
            Outcome::Fail,
            "EndpointSlices (kubernetes.io/service-name=web): endpoints[*] where conditions.ready = true: expected 4, got 2".into()
        )
    );
    // Missing objects and fields are named as such.
    let r = run(step, vec![], t0(), &mut st);
    assert_eq!(
        r[0].2,
        "deployment/web: not found in namespace kdive-demo-scale"
    );
    assert_eq!(
        r[1].2,
        "EndpointSlices (kubernetes.io/service-name=web): none found"
    );
    let mut d = deployment(4, 0);
    d["status"] = json!({});
    let r = run(step, vec![d], t0(), &mut st);
    assert_eq!(
        r[0].2,
        "deployment/web: status.readyReplicas: expected 4, field absent"
    );
}

#[test]
fn for_duration_waits_then_passes_and_resets_on_failure() {
    let l = fixture();
    let step = &l.steps[0];
    let mut st = StepProgress::default();
    let objs = || vec![deployment(4, 4), slice(4, 0)];
    let r = run(step, objs(), t0(), &mut st);
    assert_eq!(r[0].1, Outcome::Waiting);
    assert_eq!(r[0].2, "holds for 0s so far; must hold for 5s");
    assert_eq!(r[1].1, Outcome::Pass);
    let r = run(step, objs(), t0() + Duration::seconds(4), &mut st);
    assert_eq!(
        (r[0].1, r[0].2.as_str()),
        (Outcome::Waiting, "holds for 4s so far; must hold for 5s")
    );
    // A dip restarts the clock.
    run(
        step,
        vec![deployment(4, 3)],
        t0() + Duration::seconds(4),
        &mut st,
    );
    let r = run(step, objs(), t0() + Duration::seconds(6), &mut st);
    assert_eq!(r[0].1, Outcome::Waiting);
    let r = run(step, objs(), t0() + Duration::seconds(11), &mut st);
    assert_eq!(r[0].1, Outcome::Pass);
}

#[test]
fn observe_sequence_is_graded_on_what_was_seen_even_after_it_is_fixed() {
    let l = fixture();
    let step = &l.steps[1];
    let mut st = StepProgress::default();
    let at = |s: i64| t0() + Duration::seconds(s);
    // An event sequence: 4 ready, a pod goes unready (3), it comes back (4).
    let r = run(step, vec![slice(4, 0), service()], at(0), &mut st);
    assert_eq!(r[0].1, Outcome::Fail);
    assert_eq!(
        r[0].2,
        "not seen yet (step 2 of 3): EndpointSlices (kubernetes.io/service-name=web): count of endpoints[*] where conditions.ready = true is 3; now EndpointSlices (kubernetes.io/service-name=web): endpoints[*] where conditions.ready = true: expected 3, got 4"
    );
    run(step, vec![slice(4, 0)], at(1), &mut st); // still 4: no progress
    assert_eq!(st.observed["left-and-returned"].matched, 1);
    run(step, vec![slice(3, 1)], at(2), &mut st);
    let r = run(step, vec![slice(4, 0), service()], at(3), &mut st);
    assert_eq!(r[0].1, Outcome::Pass, "{r:?}");
    let seen = &st.observed["left-and-returned"];
    assert_eq!(
        seen.sightings.iter().map(|s| s.at).collect::<Vec<_>>(),
        [at(0), at(2), at(3)]
    );
    // The sighting is sticky: a later state does not undo it.
    let r = run(step, vec![slice(1, 3), service()], at(4), &mut st);
    assert_eq!(r[0].1, Outcome::Pass);
    assert_eq!(r[1].1, Outcome::Pass, "never-zero has not seen 0 ready yet");
    // `never` is violated for good once seen.
    run(step, vec![slice(0, 4)], at(5), &mut st);
    let r = run(step, vec![slice(4, 0), service()], at(6), &mut st);
    assert_eq!(r[1].1, Outcome::Fail);
    assert!(
        r[1].2
            .starts_with("seen at 2026-03-01T10:00:05+00:00: EndpointSlices"),
        "{}",
        r[1].2
    );
    // Progress (with sightings) survives a save and load, so a later one-shot check honours it.
    let saved: StepProgress = serde_json::from_str(&serde_json::to_string(&st).unwrap()).unwrap();
    let mut st2 = saved;
    let r = run(step, vec![slice(2, 2), service()], at(7), &mut st2);
    assert_eq!(r[0].1, Outcome::Pass);
}

#[test]
fn input_compares_the_answer_with_a_live_field() {
    let l = fixture();
    let step = &l.steps[1];
    let mut st = StepProgress::default();
    let r = run(step, vec![service()], t0(), &mut st);
    assert_eq!(
        r[2],
        (
            "typed-ip".into(),
            Outcome::Fail,
            "no answer yet (answer with --answer typed-ip=VALUE)".into()
        )
    );
    st.answers.insert("typed-ip".into(), "10.96.0.1".into());
    let r = run(step, vec![service()], t0(), &mut st);
    assert_eq!(
        r[2].2,
        "answer: expected the value of service/web spec.clusterIP, got 10.96.0.1"
    );
    st.answers.insert("typed-ip".into(), " 10.96.12.34 ".into());
    let r = run(step, vec![service()], t0(), &mut st);
    assert_eq!(r[2].1, Outcome::Pass);
}

#[test]
fn promql_is_typed_and_evaluated_from_the_callers_result() {
    let l = fixture();
    let step = &l.steps[1];
    let mut st = StepProgress::default();
    let r = run(step, vec![], t0(), &mut st);
    assert_eq!(
        (r[3].1, r[3].2.as_str()),
        (Outcome::Unknown, "no Prometheus connected")
    );
    let low = |_: &str| PromAnswer::Value(7.5);
    let r = run_with(step, vec![], t0(), &mut st, &low);
    assert_eq!(r[3].1, Outcome::Fail);
    assert!(r[3].2.ends_with(": expected >= 10, got 7.5"), "{}", r[3].2);
    let high = |_: &str| PromAnswer::Value(20.0);
    assert_eq!(
        run_with(step, vec![], t0(), &mut st, &high)[3].1,
        Outcome::Pass
    );
    let empty = |_: &str| PromAnswer::Empty;
    assert!(
        run_with(step, vec![], t0(), &mut st, &empty)[3]
            .2
            .ends_with("empty result")
    );
}

fn check(yaml: &str) -> Check {
    serde_saphyr::from_str::<check::CheckSpec>(yaml)
        .unwrap()
        .validate(0)
        .unwrap()
}

fn eval_once(c: &Check, objects: Vec<Value>) -> (Outcome, String) {
    let objects = Objects::from_values(objects).unwrap();
    let ctx = EvalContext {
        objects: &objects,
        namespace: NS,
        now: t0(),
        promql: &super::eval::no_prometheus,
    };
    let r = evaluate(c, &ctx, &mut StepProgress::default());
    (r.outcome, r.message)
}

fn pod(name: &str, restarts: i64, reason: Option<&str>) -> Value {
    let mut cs = json!({"name": "app", "restartCount": restarts});
    if let Some(r) = reason {
        cs["lastState"] = json!({"terminated": {"reason": r, "exitCode": 137}});
    }
    json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "web"}},
        "status": {"containerStatuses": [cs]}})
}

#[test]
fn quantifiers_any_list_items_and_operators() {
    let oom = check(
        "{id: oom, target: {kind: Pod, selector: app=web}, match: any, expect: {status.containerStatuses: {any: {restartCount: {gte: 1}, lastState.terminated.reason: OOMKilled}}}}",
    );
    let (o, m) = eval_once(&oom, vec![pod("a", 0, None), pod("b", 2, Some("Error"))]);
    assert_eq!(o, Outcome::Fail);
    assert_eq!(
        m,
        "none of 2 Pods passes; e.g. pod/a: status.containerStatuses: expected an item with restartCount = >= 1, lastState.terminated.reason = OOMKilled; 0 of 1 items have it (e.g. restartCount: expected >= 1, got 0)"
    );
    assert_eq!(
        eval_once(
            &oom,
            vec![pod("a", 0, None), pod("b", 2, Some("OOMKilled"))]
        )
        .0,
        Outcome::Pass
    );

    let all = check(
        "{target: {kind: Pod, selector: app=web}, match: all, expect: {'status.containerStatuses[*].restartCount': 0}}",
    );
    let (o, m) = eval_once(&all, vec![pod("a", 0, None), pod("b", 1, None)]);
    assert_eq!(
        (o, m.as_str()),
        (
            Outcome::Fail,
            "pod/b: status.containerStatuses[*].restartCount: expected 0, got 1"
        )
    );

    let none =
        check("{target: {kind: Pod, selector: app=web}, match: none, expect: {metadata.name: b}}");
    assert_eq!(
        eval_once(&none, vec![pod("a", 0, None), pod("b", 0, None)]).1,
        "pod/b: expected none to match, but it does"
    );

    let count = check("{target: {kind: Pod, selector: app=web}, count: {gte: 3}}");
    assert_eq!(
        eval_once(&count, vec![pod("a", 0, None)]).1,
        "Pods (app=web): count: expected >= 3, got 1"
    );

    let ops = check(
        "{target: pod/a, expect: {metadata.name: {in: [x, z]}, status.phase: {absent: true}}}",
    );
    assert_eq!(
        eval_once(&ops, vec![pod("a", 0, None)]).1,
        "pod/a: metadata.name: expected one of [x, z], got a"
    );
    let nested = check("{target: pod/a, expect: {metadata: {labels: {app: api}}}}");
    assert_eq!(
        eval_once(&nested, vec![pod("a", 0, None)]).1,
        "pod/a: metadata.labels.app: expected api, got web"
    );
    let exists = check("{target: pod/a, expect: {status.podIP: {exists: true}}}");
    assert_eq!(
        eval_once(&exists, vec![pod("a", 0, None)]).1,
        "pod/a: status.podIP: expected a value, field absent"
    );
}

/// One broken fixture per error class: (file, line, what the message says).
#[test]
fn broken_lessons_name_file_and_line() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/lessons-broken"
    );
    let cases: &[(&str, usize, &str)] = &[
        ("no-front-matter.md", 1, "expected YAML front matter"),
        ("front-matter-yaml.md", 4, ""),
        ("front-matter-unknown-field.md", 5, "unknown field `titel`"),
        ("step-unknown-field.md", 14, "unknown field `hint`"),
        ("check-unknown-field.md", 15, "unknown field `expct`"),
        ("step-yaml-syntax.md", 14, ""),
        ("unknown-operator.md", 15, "unknown operator `nearly`"),
        ("bad-field-path.md", 15, "unclosed `[`"),
        ("unknown-kind.md", 14, "unknown kind \"gizmo\""),
        ("unknown-check-kind.md", 14, "unknown check kind `shell`"),
        ("bad-duration.md", 15, "duration \"soon\""),
        (
            "unknown-placeholder.md",
            14,
            "unknown placeholder `${namespace}`",
        ),
        ("missing-manifest.md", 6, "no file \"manifests/nope.yaml\""),
        (
            "block-before-heading.md",
            7,
            "must come after its step's heading",
        ),
        ("needs-unknown-step.md", 9, "needs unknown step \"nowhere\""),
        (
            "duplicate-step.md",
            16,
            "step id \"step-one\" is used twice",
        ),
        ("no-checks.md", 12, "a step needs at least one check"),
        ("bad-solution.md", 14, "Service has no scale subresource"),
    ];
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut listed: Vec<String> = cases.iter().map(|c| c.0.to_string()).collect();
    listed.sort();
    assert_eq!(names, listed, "every broken fixture has a case");
    let mut wrong = Vec::new();
    for (file, line, says) in cases {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).unwrap();
        let msg = match format::parse(file, &text, &BTreeMap::new()) {
            Ok(_) => format!("{file}: parsed"),
            Err(e) => e.to_string(),
        };
        if !msg.starts_with(&format!("{file}:{line}: ")) || !msg.contains(says) {
            wrong.push(msg);
        }
    }
    assert!(wrong.is_empty(), "unexpected:\n{}", wrong.join("\n"));
}

#[test]
fn contains_checks_list_membership() {
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "r", "namespace": NS},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]});
    let c =
        check("{target: role/r, expect: {rules: {any: {verbs: {contains: [get, list, watch]}}}}}");
    let (o, m) = eval_once(&c, vec![role.clone()]);
    assert_eq!(o, Outcome::Fail);
    assert!(m.ends_with("verbs: expected a list containing get, list, watch, watch is missing (got [get, list]))"), "{m}");
    let c = check(
        "{target: role/r, expect: {rules: {any: {apiGroups: {contains: ''}, verbs: {contains: get}}}}}",
    );
    assert_eq!(eval_once(&c, vec![role]).0, Outcome::Pass);
}

#[test]
fn target_selectors_read_as_kubectl_does() {
    let pod = json!({"metadata": {"labels": {"app": "web", "tier": "front"}}});
    let matches = |s: &str| TargetSelector::parse(s).unwrap().matches(&pod);
    for s in [
        "app=web",
        "app==web",
        "app=web,tier!=db",
        "tier in (front, back)",
        "app",
        "!db",
        "tier notin (db)",
    ] {
        assert!(matches(s), "{s} should match");
    }
    for s in ["app=db", "app!=web", "tier in (back)", "db", "!app"] {
        assert!(!matches(s), "{s} should not match");
    }
    assert!(TargetSelector::parse("app=web,").is_err());
    assert!(TargetSelector::parse("a b").is_err());
    // The author's text is kept as written (it is shown and passed to `kubectl -l`).
    let s = TargetSelector::parse("tier in (front, back)").unwrap();
    assert_eq!(s.text, "tier in (front, back)");
}

/// Where the lesson's former selector parser and `labels.Parse`
/// (staging/src/k8s.io/apimachinery/pkg/labels/selector.go) differed, the apiserver wins.
#[test]
fn target_selectors_follow_labels_parse() {
    let pod = json!({"metadata": {"labels": {"app": "web", "gen": "3"}}});
    let matches = |s: &str| TargetSelector::parse(s).unwrap().matches(&pod);
    // `>` and `<` are operators, not part of a key named "gen>2".
    assert!(matches("gen>2"));
    assert!(!matches("gen<3"));
    // The lexer needs no space before `(`.
    assert!(matches("app in(web)"));
    // An empty selector is `labels.Everything()`.
    assert!(matches(""));
    // Values and keys are validated; the message is the apiserver's.
    let err = TargetSelector::parse("app=we b").unwrap_err();
    assert_eq!(
        err,
        "selector \"app=we b\": found 'b', expected: ',' or 'end of string'"
    );
    let err = TargetSelector::parse("app=-web").unwrap_err();
    assert!(
        err.starts_with(
            "selector \"app=-web\": unable to parse requirement: values[0][app]: Invalid value: \"-web\": a valid label must be"
        ),
        "{err}"
    );
    assert!(TargetSelector::parse("a/b/c").is_err());
}

#[test]
fn an_invalid_target_selector_names_its_lesson_line() {
    let bad = FIXTURE.replacen(
        "selector: \"kubernetes.io/service-name=web\" }\n    total",
        "selector: \"kubernetes.io/service-name=-web\" }\n    total",
        1,
    );
    assert_ne!(bad, FIXTURE);
    let files = BTreeMap::from([("manifests/web.yaml".to_string(), FIXTURE_WEB.to_string())]);
    let err = format::parse("demo/scale/lesson.md", &bad, &files).unwrap_err();
    assert_eq!(err.file, "demo/scale/lesson.md");
    assert_eq!(err.line, 40, "{err}");
    assert!(err.message.contains("Invalid value: \"-web\""), "{err}");
}
