//! What changed: template differences and the explorer's change log.

use chrono::Duration;
use serde_json::json;

use super::tests::{deployment, healthy_web, now, objects, service};
use super::*;
use crate::model::kind::Kind;

#[test]
fn template_changes_read_like_kubectl_set() {
    let a = deployment("web", 2, 2, "shop/web:1");
    let mut b = a.clone();
    let c = &mut b["spec"]["template"]["spec"]["containers"][0];
    c["image"] = json!("shop/web:2");
    c["env"] = json!([{"name": "MODE", "value": "fast"}]);
    c["resources"] = json!({"limits": {"memory": "32Mi"}});
    c["readinessProbe"] = json!({"httpGet": {"path": "/healthz", "port": "http"}});
    let t = |v: &serde_json::Value| {
        let d: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(v.clone()).unwrap();
        TemplateSummary::of(&d.spec.unwrap().template)
    };
    assert_eq!(
        template_changes(&t(&a), &t(&b)),
        [
            "image web: shop/web:1 → shop/web:2",
            "env web: +MODE",
            "readiness probe web: http-get /ready:http → http-get /healthz:http",
            "resources web: limits.memory 64Mi → 32Mi",
        ]
    );
    assert!(template_changes(&t(&a), &t(&a)).is_empty());
}

#[test]
fn the_change_log_learns_first_then_records_differences_only() {
    let mut log = ChangeLog::new();
    let kinds = [Kind::Deployment, Kind::Service, Kind::ConfigMap];
    let first = objects(healthy_web());
    log.observe(&first, &kinds, now());
    assert!(log.is_empty(), "what was there at start is not a change");

    let mut docs = healthy_web();
    docs[0] = deployment("web", 0, 0, "shop/web:2");
    docs[4] = service("web", json!({"app": "wbe"}), json!("http"));
    docs.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": "shop", "resourceVersion": "7"}, "data": {"k": "secret-ish"}}));
    log.observe(&objects(docs.clone()), &kinds, now() + Duration::seconds(5));
    let got: Vec<(String, String)> = log
        .since(now())
        .map(|c| (c.object.name.clone(), c.what.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "web".to_string(),
                "scaled 2 → 0; image web: shop/web:1 → shop/web:2".to_string()
            ),
            ("web".to_string(), "selector app=web → app=wbe".to_string()),
            ("cfg".to_string(), "created".to_string()),
        ]
    );
    docs[5]["metadata"]["resourceVersion"] = json!("8");
    log.observe(&objects(docs), &kinds, now() + Duration::seconds(9));
    let last = log.since(now()).last().unwrap();
    assert_eq!(last.what, "data changed", "names only, never values");

    // Bounded per object.
    for i in 0..20 {
        let mut d = healthy_web();
        d[0] = deployment("web", i, i, "shop/web:1");
        log.observe(
            &objects(d),
            &kinds,
            now() + Duration::seconds(20 + i64::from(i)),
        );
    }
    let web = log
        .since(now())
        .filter(|c| c.object.kind == "Deployment")
        .count();
    assert_eq!(web, 8);
}

#[test]
fn the_change_log_feeds_what_changed_for_the_target() {
    let mut log = ChangeLog::new();
    let kinds = [Kind::Service];
    log.observe(
        &objects(healthy_web()),
        &kinds,
        now() - Duration::minutes(20),
    );
    let mut docs = healthy_web();
    docs[4] = service("web", json!({"app": "wbe"}), json!("http"));
    let o = objects(docs);
    log.observe(&o, &kinds, now() - Duration::minutes(10));
    let target = Target::parse(Some("svc/web"), "shop", false).unwrap();
    let logs = PreviousLogs::new();
    let r = triage(&TriageInput {
        objects: &o,
        target: &target,
        now: now(),
        window: Duration::minutes(30),
        gaps: Vec::new(),
        logs: &logs,
        slos: &[],
        history: Some(&log),
    });
    assert_eq!(r.changes.len(), 1, "{:?}", r.changes);
    assert_eq!(r.changes[0].what, "selector app=web → app=wbe");
    assert_eq!(rfc3339_string(r.changes[0].at), "2026-12-05T02:50:00Z");
}
