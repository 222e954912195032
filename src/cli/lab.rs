//! `kdive lab`: run the lab cluster in the foreground.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use color_eyre::eyre::WrapErr;

use super::InputError;
use crate::lab::{self, LabError, LabOptions};

#[derive(Debug, Args)]
pub struct LabArgs {
    /// Address to listen on (loopback only)
    #[arg(long, default_value = "127.0.0.1:0", value_name = "IP:PORT")]
    pub addr: SocketAddr,
    /// Where to write the lab's kubeconfig (default: in the user's state directory)
    #[arg(long, value_name = "PATH")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Seed for the lab's randomness (names, uids), for reproducible runs
    #[arg(long)]
    pub seed: Option<u64>,
}

pub async fn run(args: LabArgs) -> color_eyre::Result<ExitCode> {
    let mut opts = LabOptions {
        addr: args.addr,
        ..LabOptions::default()
    };
    if let Some(seed) = args.seed {
        opts.seed = seed;
    }
    let running = match lab::start(opts).await {
        Ok(r) => r,
        Err(e @ LabError::NotLoopback(_)) => return Err(InputError::new(e.to_string()).into()),
        Err(e) => return Err(e.into()),
    };
    let path = args
        .kubeconfig_out
        .unwrap_or_else(lab::kubeconfig::default_path);
    lab::kubeconfig::write(&path, &running.kubeconfig())
        .wrap_err_with(|| format!("cannot write the kubeconfig to {}", path.display()))?;
    println!("kdive lab is serving the Kubernetes API at {}", running.url);
    println!("kubeconfig: {}", path.display());
    println!("export KUBECONFIG={}", path.display());
    println!("Press Ctrl-C to stop.");
    wait_for_stop().await;
    eprintln!("stopping the lab");
    running.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for_stop() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
