//! Sources: the kube client and one-shot reads from a cluster.

pub mod failure;
pub mod kube;
pub mod kubeconfig_file;
pub mod lesson;
pub mod lesson_engine;
pub mod logs;
pub mod prometheus;
pub mod slo_poll;
pub mod snapshot;
pub mod triage_read;

use std::path::Path;

use ::kube::config::{KubeConfigOptions, Kubeconfig};

/// Why a cluster could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(
        "no kubeconfig found (set KUBECONFIG, pass --kubeconfig, or run `kdive lab` and use the kubeconfig it writes)"
    )]
    NoKubeconfig,
    #[error("kubeconfig: {0}")]
    Config(String),
    #[error("{0}")]
    Read(String),
}

/// Builds a client from a kubeconfig file (else `$KUBECONFIG` or `~/.kube/config`) and a
/// context (else the current one).
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<::kube::Client, ConnectError> {
    let kubeconfig = match kubeconfig {
        Some(path) => read_kubeconfig(path)?,
        None => Kubeconfig::read().map_err(|_| ConnectError::NoKubeconfig)?,
    };
    client_for(&kubeconfig, context).await
}

/// A kubeconfig named on the command line: one file, or a `KUBECONFIG`-style list merged as
/// kubectl merges it (the first file to set a name wins).
pub fn read_kubeconfig(path: &Path) -> Result<Kubeconfig, ConnectError> {
    let files = kubeconfig_file::KubeconfigFiles::locate(Some(path));
    // The message names the file that failed.
    files.read().map_err(ConnectError::Read)
}

/// A client for one context of a kubeconfig already read (None: its current context).
pub async fn client_for(
    kubeconfig: &Kubeconfig,
    context: Option<&str>,
) -> Result<::kube::Client, ConnectError> {
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..Default::default()
    };
    let config = ::kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
        .await
        .map_err(|e| ConnectError::Config(format!("context {:?}: {e}", context.unwrap_or(""))))?;
    ::kube::Client::try_from(config).map_err(|e| match failure::Failure::in_chain(&e) {
        Some(f @ failure::Failure::Credentials(_)) => ConnectError::Config(f.to_string()),
        _ => ConnectError::Config(e.to_string()),
    })
}

/// The kubeconfig context kdive uses (`--context`, else the current one): lesson progress
/// is saved per context.
pub fn context_name(kubeconfig: Option<&Path>, context: Option<&str>) -> String {
    if let Some(c) = context {
        return c.to_string();
    }
    let kubeconfig = match kubeconfig {
        Some(path) => read_kubeconfig(path).ok(),
        None => Kubeconfig::read().ok(),
    };
    kubeconfig
        .and_then(|k| k.current_context)
        .unwrap_or_else(|| "default".into())
}
