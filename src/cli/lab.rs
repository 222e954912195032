//! `kdive lab`: run the lab cluster in the foreground.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use color_eyre::eyre::WrapErr;

use super::InputError;
use kdive_lab::prometheus::{PrometheusOptions, start_prometheus_for};
use kdive_lab::scenario::Scenario;
use kdive_lab::{self as lab, LabError, LabOptions};

#[derive(Debug, Args)]
pub struct LabArgs {
    /// Address to listen on (loopback only)
    #[arg(long, default_value = "127.0.0.1:0", value_name = "IP:PORT")]
    pub addr: SocketAddr,
    /// Where to write the lab's kubeconfig (default: in the user's state directory)
    #[arg(long, value_name = "PATH")]
    pub kubeconfig_out: Option<PathBuf>,
    /// Seed for the lab's randomness (names, uids, IPs, simulated errors), for reproducible runs
    #[arg(long)]
    pub seed: Option<u64>,
    /// Scenario file to start with instead of the demo cluster (see assets/lab/demo.yaml)
    #[arg(long, value_name = "FILE", conflicts_with = "empty")]
    pub scenario: Option<PathBuf>,
    /// Start an empty cluster (no nodes, no workloads)
    #[arg(long)]
    pub empty: bool,
    /// Run the simulated clock this many times faster than real time
    #[arg(long, default_value_t = 1.0, value_name = "N", value_parser = parse_speed)]
    pub speed: f64,
    /// The Prometheus binary to start beside the lab (default: `prometheus` on PATH)
    #[arg(long, value_name = "PATH", conflicts_with = "no_prometheus")]
    pub prometheus_bin: Option<PathBuf>,
    /// Do not start Prometheus even when one is on PATH
    #[arg(long)]
    pub no_prometheus: bool,
}

impl LabArgs {
    /// The defaults `kdive --lab` uses.
    pub fn demo(kubeconfig_out: Option<PathBuf>) -> LabArgs {
        LabArgs {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig_out,
            seed: None,
            scenario: None,
            empty: false,
            speed: 1.0,
            prometheus_bin: None,
            no_prometheus: false,
        }
    }
}

pub(crate) fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.01..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a speed between 0.01 and 1000")),
    }
}

pub async fn run(args: LabArgs) -> color_eyre::Result<ExitCode> {
    let scenario = if args.empty {
        None
    } else if let Some(path) = &args.scenario {
        Some(Scenario::load(path).map_err(|e| InputError::new(e.to_string()))?)
    } else {
        Some(Scenario::demo())
    };
    let summary = match (&scenario, &args.scenario) {
        (None, _) => "an empty cluster".to_string(),
        (Some(s), path) => format!(
            "{} ({} objects, {} traffic source{})",
            path.as_ref()
                .map_or("the demo cluster".to_string(), |p| p.display().to_string()),
            s.objects.len(),
            s.traffic.len(),
            if s.traffic.len() == 1 { "" } else { "s" }
        ),
    };
    let mut opts = LabOptions {
        addr: args.addr,
        speed: args.speed,
        scenario: scenario.map(Arc::new),
        ..LabOptions::default()
    };
    if let Some(seed) = args.seed {
        opts.seed = seed;
    }
    let stopped = stop_signal();
    let running = match lab::start(opts).await {
        Ok(r) => r,
        Err(e @ (LabError::NotLoopback(_) | LabError::Scenario(_))) => {
            return Err(InputError::new(e.to_string()).into());
        }
        Err(e) => return Err(e.into()),
    };
    let (prometheus, prometheus_line) = if args.no_prometheus {
        (
            None,
            "Prometheus: not started (--no-prometheus)".to_string(),
        )
    } else {
        let opts = PrometheusOptions {
            binary: args.prometheus_bin.clone(),
            ..PrometheusOptions::default()
        };
        match start_prometheus_for(&running, &opts).await {
            Ok(p) => {
                let line = format!(
                    "Prometheus ({}) at {}, scraping the lab every 1s; SLO specs: assets/slo/",
                    p.binary.display(),
                    p.url
                );
                (Some(p), line)
            }
            // A named binary that does not work is an error; a missing optional one is not.
            Err(e) if args.prometheus_bin.is_some() => {
                running.shutdown().await;
                return Err(InputError::new(format!("--prometheus-bin: {e}")).into());
            }
            Err(e) => (None, format!("Prometheus: not started: {e}")),
        }
    };
    let path = args
        .kubeconfig_out
        .unwrap_or_else(lab::kubeconfig::default_path);
    let kubeconfig = lab::kubeconfig::render_with_prometheus(
        &running.url,
        &running.ca_pem,
        &running.token,
        prometheus.as_ref().map(|p| p.url.as_str()),
    );
    if let Err(e) = lab::kubeconfig::write(&path, &kubeconfig) {
        if let Some(p) = prometheus {
            p.stop().await;
        }
        running.shutdown().await;
        return Err(e)
            .wrap_err_with(|| format!("cannot write the kubeconfig to {}", path.display()));
    }
    // One write, errors ignored: a closed stdout (`kdive lab | head -1`) must not stop the lab.
    let announcement = format!(
        "kdive lab is serving the Kubernetes API at {}\nkubeconfig: {}\nexport KUBECONFIG={}\nscenario: {summary}; clock speed {}x\n{prometheus_line}\nPress Ctrl-C to stop.\n",
        running.url,
        path.display(),
        path.display(),
        args.speed
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(announcement.as_bytes());
        let _ = out.flush();
    }
    stopped.await;
    eprintln!("stopping the lab");
    if let Some(p) = prometheus {
        p.stop().await;
    }
    running.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Registers for SIGINT and SIGTERM now (before the lab announces itself, so a signal sent
/// right after the announcement is not lost); the returned future completes on either.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            match (int, term) {
                (Ok(mut int), Ok(mut term)) => {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
