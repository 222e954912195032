//! A Prometheus outage end to end with the real binary: the lab's Prometheus is killed under
//! the SLO poller; the poller names the failure and re-sends the last good frame, the
//! explorer says "unreachable since" over that frame, and when the lab has started
//! Prometheus again the next poll clears the banner.

use std::time::{Duration, Instant};

use kdive::sources::prometheus::{PromOptions, Prometheus};
use kdive::sources::slo_poll::{self, PollConfig};
use kdive::ui::app::View;
use kdive::ui::msg::Msg;
use kdive_core::metrics::frame::MetricsFrame;
use kdive_lab::prometheus::{PrometheusOptions, start_prometheus_for};
use tokio::sync::mpsc;

use crate::support::tui::{demo_app, screen};
use crate::support::{TestLab, have, heavy_permit};

type Polled = (MetricsFrame, Option<String>);

/// The next poll that satisfies `pred`, within `within`.
async fn next_poll(
    rx: &mut mpsc::UnboundedReceiver<Polled>,
    within: Duration,
    what: &str,
    pred: impl Fn(&Polled) -> bool,
) -> Polled {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(p)) if pred(&p) => return p,
            Ok(Some(_)) => {}
            Ok(None) => panic!("the poller stopped before {what}"),
            Err(_) => panic!("no poll with {what} within {within:?}"),
        }
    }
}

/// Feeds one poll to the explorer as the effects do, and draws the SLO pane.
fn draw_poll(
    app: &mut kdive::ui::app::App,
    p: &Polled,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    app.update(Msg::PromReach(p.1.clone()), at);
    app.update(Msg::Metrics(Box::new(p.0.clone())), at);
    screen(app, 160, 48, at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prom_outage_is_shown_over_the_last_frame_and_clears_when_it_is_back() {
    if !have("prometheus") {
        return;
    }
    let _heavy = heavy_permit();
    let lab = TestLab::start().await;
    let child = start_prometheus_for(&lab.lab, &PrometheusOptions::default())
        .await
        .expect("prometheus starts");
    let prom = Prometheus::new(&PromOptions {
        url: child.url.clone(),
        timeout: Some(Duration::from_secs(3)),
        ..PromOptions::default()
    })
    .expect("client");
    let cfg = PollConfig {
        slos: Vec::new(),
        discover: true,
        interval: Duration::from_millis(300),
        range_seconds: 600.0,
        width: 60,
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Polled>();
    let poller = slo_poll::spawn(prom, cfg, move |frame, outage| {
        tx.send((frame, outage)).is_ok()
    });

    // A good poll first: the demo SLOs' rules are loaded, so discovery finds them.
    let good = next_poll(&mut rx, Duration::from_secs(30), "the demo SLOs", |p| {
        p.1.is_none() && !p.0.slos.is_empty()
    })
    .await;
    let slo_id = good.0.slos[0].def.id.clone();

    let pid = child.pid().expect("running");
    // SAFETY: SIGKILL to the Prometheus child this test started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
    // A request cut off mid-flight may fail otherwise first; down, the port refuses.
    let down = next_poll(
        &mut rx,
        Duration::from_secs(20),
        "connection refused",
        |p| p.1.as_deref() == Some("connection refused"),
    )
    .await;
    // The last good frame, re-sent: same SLOs, same evaluation time or later good ones.
    assert!(down.0.slos.iter().any(|s| s.def.id == slo_id));
    assert!(down.0.at >= good.0.at && down.0.error.is_some());

    let (mut app, _w) = demo_app();
    app.session.prometheus = Ok(child.url.clone());
    app.view = View::Slo;
    let start = chrono::Utc::now();
    let text = draw_poll(&mut app, &down, start);
    let since = start.format("%H:%M:%S").to_string();
    assert!(
        text.contains(&format!(
            "Prometheus unreachable since {since} (0s ago): connection refused"
        )),
        "{text}"
    );
    assert!(text.contains("showing the last good poll, from"), "{text}");
    assert!(
        text.contains(&slo_id[..16]),
        "the last frame's SLOs stay:\n{text}"
    );

    // The lab starts Prometheus again on the same port; the poller reaches it.
    let back = next_poll(&mut rx, Duration::from_secs(60), "Prometheus back", |p| {
        p.1.is_none() && p.0.error.is_none()
    })
    .await;
    assert_eq!(child.restarts(), 1);
    let text = draw_poll(&mut app, &back, start + chrono::Duration::seconds(5));
    assert!(!text.contains("unreachable"), "{text}");
    assert!(!text.contains("showing the last good poll"), "{text}");

    poller.abort();
    child.stop().await;
    lab.stop().await;
}

/// The lab's HTTPS port stands in for a Prometheus behind TLS and bearer tokens.
#[tokio::test]
async fn prom_failures_are_named_tls_and_unauthorized() {
    let lab = TestLab::start().await;
    let untrusted = Prometheus::new(&PromOptions {
        url: lab.lab.url.clone(),
        timeout: Some(Duration::from_secs(5)),
        ..PromOptions::default()
    })
    .expect("client");
    let e = untrusted
        .instant("up", None)
        .await
        .expect_err("untrusted CA");
    let outage = e.outage().unwrap_or_default();
    assert!(
        outage.starts_with("TLS: invalid peer certificate"),
        "{outage} ({e})"
    );
    let no_token = Prometheus::new(&PromOptions {
        url: lab.lab.url.clone(),
        ca_pem: Some(lab.lab.ca_pem.clone()),
        timeout: Some(Duration::from_secs(5)),
        ..PromOptions::default()
    })
    .expect("client");
    let e = no_token.instant("up", None).await.expect_err("no token");
    let outage = e.outage().unwrap_or_default();
    assert!(outage.starts_with("401 Unauthorized"), "{outage} ({e})");
    lab.stop().await;
}
