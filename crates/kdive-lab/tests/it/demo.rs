//! The demo cluster at 10x speed, end to end with the real kubectl: nodes Ready, CoreDNS and
//! the web Deployment rolled out, postgres with Bound PVCs, traffic counted on `/metrics`,
//! and errors counted when every ready web pod is killed.

use crate::support as common;

use std::time::{Duration, Instant};

use common::{TestLab, ok, stdout};

/// Polls `kubectl args` until `done(stdout)` or the deadline; returns the last output.
async fn until(
    lab: &TestLab,
    args: &[&str],
    within: Duration,
    done: impl Fn(&str) -> bool,
) -> String {
    let deadline = Instant::now() + within;
    loop {
        let out = lab.kubectl(args).await.expect("kubectl present");
        let text = stdout(&out);
        if out.status.success() && done(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "kubectl {args:?} did not reach the expected state within {within:?}; last output:\n{text}{}",
            common::stderr(&out)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Sum of `http_requests_total` samples for service `web`, split into (2xx, other).
fn web_requests(metrics: &str) -> (f64, f64) {
    let mut ok = 0.0;
    let mut bad = 0.0;
    for line in metrics.lines() {
        if !line.starts_with("http_requests_total{") || !line.contains("service=\"web\"") {
            continue;
        }
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let code = line
            .split("code=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("");
        if code.starts_with('2') {
            ok += value;
        } else {
            bad += value;
        }
    }
    (ok, bad)
}

async fn scrape(client: &kube::Client) -> String {
    let req = http::Request::get("/metrics").body(Vec::new()).unwrap();
    client.request_text(req).await.expect("/metrics answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_cluster_runs_and_its_traffic_is_measured() {
    if !common::have("kubectl") {
        return;
    }
    let started = Instant::now();
    let lab = TestLab::demo(11).await;
    let minute = Duration::from_secs(60);

    until(&lab, &["get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}"], minute, |s| {
        s.matches("=True").count() == 3
    })
    .await;
    ok(&lab
        .kubectl(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            "demo",
            "--timeout=45s",
        ])
        .await
        .unwrap());
    ok(&lab
        .kubectl(&[
            "rollout",
            "status",
            "deployment/coredns",
            "-n",
            "kube-system",
            "--timeout=45s",
        ])
        .await
        .unwrap());
    ok(&lab
        .kubectl(&[
            "rollout",
            "status",
            "statefulset/postgres",
            "-n",
            "demo",
            "--timeout=45s",
        ])
        .await
        .unwrap());
    // Created once, in order, and never rolled: no pod of the set was deleted.
    let deletes = ok(&lab
        .kubectl(&[
            "get",
            "events",
            "-n",
            "demo",
            "--field-selector",
            "reason=SuccessfulDelete",
            "-o",
            "name",
        ])
        .await
        .unwrap());
    assert_eq!(deletes.trim(), "", "the StatefulSet deleted pods");
    let pvcs = until(
        &lab,
        &[
            "get",
            "pvc",
            "-n",
            "demo",
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.status.phase} {end}",
        ],
        minute,
        |s| s.matches("=Bound").count() == 3,
    )
    .await;
    assert_eq!(
        pvcs.trim(),
        "data-postgres-0=Bound data-postgres-1=Bound data-postgres-2=Bound"
    );
    let dns = until(
        &lab,
        &[
            "get",
            "endpointslices",
            "-n",
            "kube-system",
            "-l",
            "kubernetes.io/service-name=kube-dns",
            "-o",
            "jsonpath={range .items[*].endpoints[*]}{.conditions.ready} {end}",
        ],
        minute,
        |s| s.matches("true").count() == 2,
    )
    .await;
    assert_eq!(dns.trim(), "true true");

    // Traffic: counters move between two scrapes.
    let client = lab.client().await;
    let (first_ok, _) = web_requests(&scrape(&client).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (second_ok, _) = web_requests(&scrape(&client).await);
    assert!(
        second_ok > first_ok,
        "2xx count moved: {first_ok} → {second_ok}"
    );

    // Kill every ready web pod: until replacements are ready, requests fail.
    ok(&lab
        .kubectl(&[
            "delete",
            "pods",
            "-n",
            "demo",
            "-l",
            "app=web",
            "--wait=false",
        ])
        .await
        .unwrap());
    let deadline = Instant::now() + minute;
    loop {
        let (_, bad) = web_requests(&scrape(&client).await);
        if bad > 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "no non-2xx request was counted");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And the Deployment heals.
    ok(&lab
        .kubectl(&[
            "rollout",
            "status",
            "deployment/web",
            "-n",
            "demo",
            "--timeout=45s",
        ])
        .await
        .unwrap());
    eprintln!(
        "demo cluster test took {:.1}s",
        started.elapsed().as_secs_f64()
    );
    lab.stop().await;
}
