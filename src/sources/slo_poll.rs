//! The Prometheus poller: evaluates every SLO (spec files plus those Sloth or Pyrra rules
//! record) at one instant, with range data for the charts, and hands the frame to a sink
//! (the TUI wraps it in a message). A failed poll re-sends the last frame marked stale with
//! Prometheus's words, so the pane shows old numbers with their age, never a freeze.

use std::collections::BTreeMap;
use std::time::Duration;

use kdive_core::metrics::burn::worst_first;
use kdive_core::metrics::frame::{MetricsFrame, PodResources, Points, SloFrame, step_for};
use kdive_core::metrics::{SloDef, Window, discover};

use super::prometheus::{PromError, Prometheus, Series};

#[derive(Debug, Clone)]
pub struct PollConfig {
    pub slos: Vec<SloDef>,
    /// Add SLOs found through `/api/v1/rules`.
    pub discover: bool,
    pub interval: Duration,
    /// Chart range in seconds.
    pub range_seconds: f64,
    /// Width of the chart in cells: sets the step.
    pub width: u16,
}

fn burn_points(series: &[Series], budget: f64) -> Points {
    series
        .first()
        .map(|s| {
            s.points
                .iter()
                .filter(|p| p.1.is_finite())
                .map(|(t, v)| (*t, v / budget))
                .collect()
        })
        .unwrap_or_default()
}

/// One poll at `at` (unix seconds).
pub async fn poll_once(
    prom: &Prometheus,
    cfg: &PollConfig,
    at: i64,
) -> Result<MetricsFrame, PromError> {
    let mut defs = cfg.slos.clone();
    if cfg.discover {
        // Discovery is best effort (a managed Prometheus may not serve /api/v1/rules), but
        // a Prometheus that cannot be reached is an outage, not "no SLOs".
        match prom.rules().await {
            Ok(rules) => {
                for d in discover::discover(&rules) {
                    if !defs.iter().any(|s| s.id == d.id) {
                        defs.push(d);
                    }
                }
            }
            Err(e) if e.outage().is_some() => return Err(e),
            Err(_) => {}
        }
    }
    let step = step_for(cfg.range_seconds, cfg.width);
    let start = at - cfg.range_seconds as i64;
    let mut slos = Vec::new();
    for def in defs {
        let obs = prom.observe(&def, at).await?;
        let burn = def.evaluate(&obs);
        let budget = burn.error_budget();
        let range = |w: Window| {
            let q = def.ratio_query(w);
            async move {
                match q {
                    Some(q) => prom.range(&q, start, at, step).await,
                    None => Ok(Vec::new()),
                }
            }
        };
        let (short, long, period) = futures::join!(
            range(Window::M5),
            range(Window::H1),
            range(def.period.window)
        );
        let budget_points = burn_points(&period?, budget)
            .into_iter()
            .map(|(t, b)| (t, 1.0 - b))
            .collect();
        slos.push(SloFrame {
            burn_short: burn_points(&short?, budget),
            burn_long: burn_points(&long?, budget),
            budget: budget_points,
            def,
            burn,
        });
    }
    slos.sort_by(|a, b| worst_first((&a.burn, a.def.id.as_str()), (&b.burn, b.def.id.as_str())));
    let mut resources = BTreeMap::new();
    let namespaces: std::collections::BTreeSet<String> = slos
        .iter()
        .filter_map(|s| s.def.service.as_ref().map(|r| r.namespace.clone()))
        .collect();
    for ns in namespaces {
        resources.insert(ns.clone(), pod_resources(prom, &ns, at).await?);
    }
    Ok(MetricsFrame {
        prometheus: prom.url().to_string(),
        at,
        slos,
        resources,
        error: None,
    })
}

/// CPU throttling (CPUThrottlingHigh's ratio) and working set against the limit per pod.
async fn pod_resources(
    prom: &Prometheus,
    ns: &str,
    at: i64,
) -> Result<Vec<PodResources>, PromError> {
    let throttled = format!(
        "sum by (pod) (increase(container_cpu_cfs_throttled_periods_total{{namespace=\"{ns}\",container!=\"\"}}[5m])) / sum by (pod) (increase(container_cpu_cfs_periods_total{{namespace=\"{ns}\",container!=\"\"}}[5m]))"
    );
    let memory = format!(
        "max by (pod) (container_memory_working_set_bytes{{namespace=\"{ns}\",container!=\"\"}} / (container_spec_memory_limit_bytes{{namespace=\"{ns}\",container!=\"\"}} > 0))"
    );
    let (t, m) = futures::join!(
        prom.instant(&throttled, Some(at)),
        prom.instant(&memory, Some(at))
    );
    let mut by_pod: BTreeMap<String, PodResources> = BTreeMap::new();
    for s in t? {
        if let (Some(pod), Some(p)) = (s.labels.get("pod"), s.points.first()) {
            let e = by_pod.entry(pod.clone()).or_default();
            e.pod = pod.clone();
            e.cpu_throttled = Some(p.1).filter(|v| v.is_finite());
        }
    }
    for s in m? {
        if let (Some(pod), Some(p)) = (s.labels.get("pod"), s.points.first()) {
            let e = by_pod.entry(pod.clone()).or_default();
            e.pod = pod.clone();
            e.memory_of_limit = Some(p.1).filter(|v| v.is_finite());
        }
    }
    Ok(by_pod.into_values().collect())
}

/// Polls every `cfg.interval` until the sink returns false (the UI is gone). The sink gets
/// the frame and, when Prometheus could not be reached, why ([`PromError::outage`]).
pub fn spawn(
    prom: Prometheus,
    cfg: PollConfig,
    mut sink: impl FnMut(MetricsFrame, Option<String>) -> bool + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Option<MetricsFrame> = None;
        loop {
            let at = chrono::Utc::now().timestamp();
            let (frame, outage) = match poll_once(&prom, &cfg, at).await {
                Ok(f) => {
                    last = Some(f.clone());
                    (f, None)
                }
                Err(e) => {
                    let mut f = last.clone().unwrap_or_else(|| MetricsFrame {
                        prometheus: prom.url().to_string(),
                        at,
                        ..MetricsFrame::default()
                    });
                    f.error = Some(e.to_string());
                    (f, e.outage())
                }
            };
            if !sink(frame, outage) {
                return;
            }
            tokio::time::sleep(cfg.interval).await;
        }
    })
}
