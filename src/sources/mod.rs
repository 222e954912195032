//! Sources: the kube client and one-shot reads from a cluster.

pub mod kube;
pub mod lesson;
pub mod lesson_engine;
pub mod prometheus;
pub mod slo_poll;
pub mod snapshot;

use ::kube::config::{KubeConfigOptions, Kubeconfig};

use crate::cli::{ClusterArgs, InputError};

/// Why a cluster could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{path}: cannot read kubeconfig: {message}")]
    Kubeconfig { path: String, message: String },
    #[error(
        "no kubeconfig found (set KUBECONFIG, pass --kubeconfig, or run `kdive lab` and use the kubeconfig it writes)"
    )]
    NoKubeconfig,
    #[error("kubeconfig: {0}")]
    Config(String),
}

impl From<ConnectError> for InputError {
    fn from(e: ConnectError) -> Self {
        InputError::new(e.to_string())
    }
}

/// Builds a client from `--kubeconfig`/`$KUBECONFIG`/`~/.kube/config` and `--context`.
pub async fn connect(cluster: &ClusterArgs) -> Result<::kube::Client, ConnectError> {
    let kubeconfig = match &cluster.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).map_err(|e| ConnectError::Kubeconfig {
            path: path.display().to_string(),
            message: e.to_string(),
        })?,
        None => Kubeconfig::read().map_err(|_| ConnectError::NoKubeconfig)?,
    };
    let options = KubeConfigOptions {
        context: cluster.context.clone(),
        ..Default::default()
    };
    let config = ::kube::Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|e| ConnectError::Config(e.to_string()))?;
    ::kube::Client::try_from(config).map_err(|e| ConnectError::Config(e.to_string()))
}

/// The kubeconfig context kdive uses (`--context`, else the current one): lesson progress
/// is saved per context.
pub fn context_name(cluster: &ClusterArgs) -> String {
    if let Some(c) = &cluster.context {
        return c.clone();
    }
    let kubeconfig = match &cluster.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).ok(),
        None => Kubeconfig::read().ok(),
    };
    kubeconfig
        .and_then(|k| k.current_context)
        .unwrap_or_else(|| "default".into())
}
