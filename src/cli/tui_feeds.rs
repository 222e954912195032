//! The explorer's Prometheus: the one beside the in-process lab, or the one the flags and
//! the kubeconfig name.

use kube::config::Kubeconfig;

use super::slo::PrometheusArgs;
use crate::sources::prometheus::{Prometheus, url_from_kubeconfig};
use kdive_lab::RunningLab;
use kdive_lab::prometheus::{PrometheusChild, PrometheusOptions, start_prometheus_for};

/// Starts Prometheus beside the in-process lab when a binary is there; the error says how
/// to get one.
pub async fn lab_prometheus(lab: &RunningLab) -> Result<PrometheusChild, String> {
    start_prometheus_for(lab, &PrometheusOptions::default())
        .await
        .map_err(|e| e.to_string())
}

/// The Prometheus to poll: `--prometheus`, else the one `kdive lab` recorded in the
/// kubeconfig's cluster entry.
pub fn prometheus_for(
    args: &PrometheusArgs,
    kubeconfig: &Kubeconfig,
    context: &str,
) -> Result<Prometheus, String> {
    let url = match &args.prometheus {
        Some(u) => u.clone(),
        None => url_from_kubeconfig(kubeconfig, (!context.is_empty()).then_some(context))
            .ok_or_else(|| {
                "none given (--prometheus URL) and none recorded in the kubeconfig".to_string()
            })?,
    };
    super::slo::prometheus_at(url, args).map_err(|e| e.to_string())
}
