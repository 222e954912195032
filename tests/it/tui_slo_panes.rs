//! Screen snapshots of the SLO and Query panes over fixed metric frames and fixed objects,
//! at 80×24 and 160×48 (ratatui TestBackend, no colour).

use std::collections::BTreeMap;
use std::sync::Arc;

use kdive::sources::prometheus::Series;
use kdive::ui::panes::{query, slo, status};
use kdive::ui::theme::Theme;
use kdive_core::metrics::burn::{Measurement, Observation, Ratio};
use kdive_core::metrics::frame::{MetricsFrame, PodResources, SloFrame};
use kdive_core::metrics::{Period, ServiceRef, SloDef, Window, spec};
use kdive_core::model::objects::Objects;
use kdive_core::model::stored_pod::{NamespaceNames, StoredPod};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;

/// 2026-11-26 10:00:00 UTC.
const AT: i64 = 1_795_687_200;

fn obs(r: [f64; 8], requests_1h: f64, age: f64) -> Observation {
    Observation {
        windows: Period::thirty_days()
            .windows()
            .into_iter()
            .zip(r)
            .map(|(w, r)| Measurement {
                window: w,
                ratio: Ratio::Value(r),
                requests: (w == Window::H1).then_some(requests_1h),
            })
            .collect(),
        data_age_seconds: Some(age),
    }
}

/// Burn rising from 1× to 20× over the last 30 minutes, one point a minute.
fn ramp(to: f64) -> Vec<(f64, f64)> {
    (0..=30)
        .map(|i| {
            (
                (AT - 1800 + i * 60) as f64,
                1.0 + (to - 1.0) * i as f64 / 30.0,
            )
        })
        .collect()
}

fn frame(error: Option<&str>) -> MetricsFrame {
    let l = spec::parse(
        "assets/slo/demo-web.yaml",
        include_str!("../../assets/slo/demo-web.yaml"),
    )
    .unwrap();
    let period = Period::thirty_days();
    let web = SloDef::from_spec(&l, &period).remove(0);
    let mut api = web.clone();
    api.name = "latency".into();
    api.id = "demo-api-latency".into();
    api.objective_percent = 99.0;
    api.service = ServiceRef::parse("demo/api");
    // web: 5m 2% and 1h 1.6% of requests fail (20× and 16×): page. 9 days of data.
    let web_burn = web.evaluate(&obs(
        [0.02, 0.01, 0.016, 0.004, 0.002, 0.001, 0.0008, 0.0005],
        72_000.0,
        9.0 * 86_400.0,
    ));
    // api: quiet, 99% objective, a full period of data.
    let api_burn = api.evaluate(&obs(
        [0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.002],
        36_000.0,
        30.0 * 86_400.0,
    ));
    let mut resources = BTreeMap::new();
    resources.insert(
        "demo".to_string(),
        vec![PodResources {
            pod: "web-7d9f8b6c5d-a1".into(),
            cpu_throttled: Some(0.4),
            memory_of_limit: Some(0.97),
        }],
    );
    MetricsFrame {
        prometheus: "http://127.0.0.1:9090".into(),
        at: AT,
        slos: vec![
            SloFrame {
                def: web,
                burn: web_burn,
                burn_short: ramp(20.0),
                burn_long: ramp(16.0),
                budget: ramp(0.5)
                    .into_iter()
                    .map(|(t, v)| (t, 1.0 - v / 2.0))
                    .collect(),
            },
            SloFrame {
                def: api,
                burn: api_burn,
                burn_short: ramp(0.1),
                burn_long: ramp(0.1),
                budget: vec![],
            },
        ],
        resources,
        error: error.map(str::to_string),
    }
}

fn pod(name: &str, ready: bool) -> serde_json::Value {
    let mut cond =
        json!({"type": "ContainersReady", "status": if ready { "True" } else { "False" }});
    if !ready {
        cond["reason"] = json!("ContainersNotReady");
        cond["message"] = json!("containers with unready status: [web]");
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "demo", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "web", "image": "kdive/demo-web:1.4"}]},
        "status": {
            "phase": "Running",
            "conditions": [cond],
            "containerStatuses": [{
                "name": "web", "ready": ready, "restartCount": if ready { 0 } else { 2 },
                "image": "kdive/demo-web:1.4", "imageID": "",
                "lastState": if ready { json!({}) } else { json!({"terminated": {"exitCode": 137, "reason": "OOMKilled"}}) },
                "state": {"running": {}}
            }]
        }
    })
}

fn objects() -> Objects {
    let svc = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web", "namespace": "demo"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    });
    let deploy = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "demo"},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}},
        "status": {"replicas": 3, "readyReplicas": 2, "availableReplicas": 2}
    });
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abcde", "namespace": "demo",
                     "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [
            {"addresses": ["10.244.1.5"], "conditions": {"ready": true}},
            {"addresses": ["10.244.2.5"], "conditions": {"ready": true}},
            {"addresses": ["10.244.3.5"], "conditions": {"ready": false}}
        ]
    });
    Objects {
        services: vec![Arc::new(serde_json::from_value(svc).unwrap())],
        deployments: vec![Arc::new(serde_json::from_value(deploy).unwrap())],
        endpoint_slices: vec![Arc::new(serde_json::from_value(slice).unwrap())],
        pods: {
            let mut names = NamespaceNames::default();
            [
                "web-7d9f8b6c5d-a1",
                "web-7d9f8b6c5d-b2",
                "web-7d9f8b6c5d-c3",
            ]
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let pod: k8s_openapi::api::core::v1::Pod =
                    serde_json::from_value(pod(n, i != 0)).unwrap();
                Arc::new(StoredPod::new(pod, &mut names))
            })
            .collect()
        },
        ..Objects::default()
    }
}

fn draw(w: u16, h: u16, f: impl FnOnce(&mut ratatui::Frame)) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(f).unwrap();
    t.backend().to_string()
}

#[test]
fn slo_pane_worst_first_with_chart_and_causes() {
    let v = slo::view(&frame(None), &objects(), 0, AT + 5, None);
    assert_eq!(v.rows[0].name, "demo-web-requests-availability");
    assert_eq!(v.rows[1].name, "demo-api-latency");
    let theme = Theme::mono();
    insta::assert_snapshot!(
        "slo_80x24",
        draw(80, 24, |f| slo::render(f, f.area(), &v, true, &theme))
    );
    insta::assert_snapshot!(
        "slo_160x48",
        draw(160, 48, |f| slo::render(f, f.area(), &v, true, &theme))
    );
}

#[test]
fn slo_causes_from_live_objects() {
    let v = slo::view(&frame(None), &objects(), 0, AT, None);
    let causes: Vec<String> = v.detail.unwrap().causes.into_iter().map(|c| c.1).collect();
    assert_eq!(
        causes,
        vec![
            "Deployment web: 2 of 3 ready",
            "1 of 3 pods not ready",
            "2 restarts, 1 last terminated by OOMKilled",
            "web-7d9f8b6c5d-a1: containers with unready status: [web]",
            "1 of 3 endpoints not ready",
            "web-7d9f8b6c5d-a1: CPU throttled 40% of periods",
            "web-7d9f8b6c5d-a1: memory at 97% of its limit",
        ]
    );
}

#[test]
fn slo_pane_stale_frame_says_how_old() {
    let v = slo::view(
        &frame(Some("http://127.0.0.1:9090: no answer within 10s")),
        &objects(),
        1,
        AT + 95,
        None,
    );
    assert_eq!(
        v.stale.as_deref(),
        Some(
            "stale: numbers are 1m 35s old; last poll failed: http://127.0.0.1:9090: no answer within 10s"
        )
    );
    let theme = Theme::mono();
    insta::assert_snapshot!(
        "slo_stale_80x24",
        draw(80, 24, |f| slo::render(f, f.area(), &v, true, &theme))
    );
}

fn series(labels: &[(&str, &str)], points: Vec<(f64, f64)>) -> Series {
    Series {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        points,
    }
}

#[test]
fn query_pane_table_chart_and_error() {
    let theme = Theme::mono();
    let range = query::QueryResult {
        query: "sum by (code) (rate(http_requests_total{service=\"web\"}[1m]))".into(),
        range: Some((AT - 600, AT, 20.0)),
        at: AT,
        result: Ok(vec![
            series(
                &[("code", "200")],
                (0..=30)
                    .map(|i| ((AT - 600 + i * 20) as f64, 200.0 - i as f64))
                    .collect(),
            ),
            series(
                &[("code", "500")],
                (0..=30)
                    .map(|i| ((AT - 600 + i * 20) as f64, i as f64 * 2.0))
                    .collect(),
            ),
        ]),
    };
    let v = query::view(&range, None, AT);
    assert_eq!(v.rows[0].1, "170");
    insta::assert_snapshot!(
        "query_range_80x24",
        draw(80, 24, |f| query::render(f, f.area(), &v, true, &theme))
    );
    insta::assert_snapshot!(
        "query_range_160x48",
        draw(160, 48, |f| query::render(f, f.area(), &v, true, &theme))
    );
    let err = query::QueryResult {
        query: "sum(rate(x[5m]) by".into(),
        range: None,
        at: AT,
        result: Err(
            "bad_data: invalid parameter \"query\": 1:19: parse error: unexpected <by>".into(),
        ),
    };
    insta::assert_snapshot!(
        "query_error_80x24",
        draw(80, 24, |f| query::render(
            f,
            f.area(),
            &query::view(&err, None, AT),
            true,
            &theme
        ))
    );
    let nan = query::QueryResult {
        query: "0/0".into(),
        range: None,
        at: AT,
        result: Ok(vec![series(&[], vec![(AT as f64, f64::NAN)])]),
    };
    assert_eq!(query::view(&nan, None, AT).rows[0].1, "NaN");
}

/// Prometheus went away at 10:00:30 and the last good poll was at 10:00:00; the screen is
/// drawn at 10:01:35.
fn outage() -> Option<String> {
    let at = |t: i64| chrono::DateTime::from_timestamp(t, 0).unwrap();
    Some(status::prom_outage(
        at(AT + 30),
        "connection refused",
        at(AT + 95),
    ))
}

#[test]
fn slo_pane_unreachable_keeps_the_last_frame_with_its_age() {
    // What the poller re-sends when Prometheus refuses: the last good frame, its error set.
    let v = slo::view(
        &frame(Some("http://127.0.0.1:9090: connection refused")),
        &objects(),
        0,
        AT + 95,
        outage(),
    );
    assert_eq!(
        v.outage.as_deref(),
        Some("Prometheus unreachable since 10:00:30 (1m 5s ago): connection refused")
    );
    assert_eq!(
        v.stale.as_deref(),
        Some("showing the last good poll, from 10:00:00 (1m 35s old)")
    );
    assert_eq!(v.rows.len(), 2, "the last frame's SLOs stay");
    let theme = Theme::mono();
    insta::assert_snapshot!(
        "slo_unreachable_80x24",
        draw(80, 24, |f| slo::render(f, f.area(), &v, true, &theme))
    );
}

#[test]
fn slo_pane_unreachable_before_any_good_poll_is_not_no_slos() {
    // No good poll yet: the poller sends an empty frame with the error.
    let empty = MetricsFrame {
        prometheus: "http://127.0.0.1:9090".into(),
        at: AT + 90,
        error: Some("http://127.0.0.1:9090: connection refused".into()),
        ..MetricsFrame::default()
    };
    let v = slo::view(&empty, &objects(), 0, AT + 95, outage());
    let theme = Theme::mono();
    let screen = draw(100, 12, |f| slo::render(f, f.area(), &v, true, &theme));
    assert!(
        screen.contains("Prometheus unreachable since 10:00:30 (1m 5s ago): connection refused"),
        "{screen}"
    );
    assert!(
        screen.contains("No SLO numbers yet: no poll of Prometheus has succeeded."),
        "{screen}"
    );
    assert!(!screen.contains("No SLOs. Pass --slo"), "{screen}");
}

#[test]
fn query_pane_unreachable_keeps_the_last_answer() {
    let last = query::QueryResult {
        query: "up".into(),
        range: None,
        at: AT,
        result: Ok(vec![series(
            &[("__name__", "up"), ("job", "kdive-lab")],
            vec![(AT as f64, 1.0)],
        )]),
    };
    let v = query::view(&last, outage(), AT + 95);
    assert_eq!(
        v.age.as_deref(),
        Some("showing the last answer, from 10:00:00 (1m 35s old)")
    );
    assert_eq!(
        v.rows,
        vec![("up{job=\"kdive-lab\"}".to_string(), "1".to_string())]
    );
    let theme = Theme::mono();
    insta::assert_snapshot!(
        "query_unreachable_80x24",
        draw(80, 24, |f| query::render(f, f.area(), &v, true, &theme))
    );
}
