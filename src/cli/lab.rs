//! `kdive lab`: run the lab cluster in the foreground.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use color_eyre::eyre::WrapErr;

use super::InputError;
use kdive_lab::prometheus::{PrometheusChild, PrometheusOptions, start_prometheus_for};
use kdive_lab::scenario::Scenario;
use kdive_lab::{self as lab, LabError, LabOptions, RunningLab};

#[derive(Debug, Clone, Args)]
pub struct LabArgs {
    /// Address to listen on (loopback only; default 127.0.0.1:0, any free port)
    #[arg(long, value_name = "IP:PORT")]
    pub addr: Option<SocketAddr>,
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
    /// Run the simulated clock this many times faster than real time (default 1)
    #[arg(long, value_name = "N", value_parser = parse_speed)]
    pub speed: Option<f64>,
    /// The Prometheus binary to start beside the lab (default: `prometheus` on PATH)
    #[arg(long, value_name = "PATH", conflicts_with = "no_prometheus")]
    pub prometheus_bin: Option<PathBuf>,
    /// Do not start Prometheus even when one is on PATH
    #[arg(long)]
    pub no_prometheus: bool,
    /// Keep the lab's CA, token and resourceVersion counter in this directory, so a
    /// restarted lab is trusted by the kubeconfigs written before and its versions keep
    /// counting up (objects start again from the scenario)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Refuse to create pods beyond this many, as a ResourceQuota would (default 100000)
    #[arg(long, value_name = "N")]
    pub max_pods: Option<usize>,
}

impl LabArgs {
    pub fn speed(&self) -> f64 {
        self.speed.unwrap_or(1.0)
    }

    /// The options given, by flag, for "--X needs --lab".
    pub fn given(&self) -> Vec<&'static str> {
        let flags = [
            ("--addr", self.addr.is_some()),
            ("--kubeconfig-out", self.kubeconfig_out.is_some()),
            ("--seed", self.seed.is_some()),
            ("--scenario", self.scenario.is_some()),
            ("--empty", self.empty),
            ("--speed", self.speed.is_some()),
            ("--prometheus-bin", self.prometheus_bin.is_some()),
            ("--no-prometheus", self.no_prometheus),
            ("--data-dir", self.data_dir.is_some()),
            ("--max-pods", self.max_pods.is_some()),
        ];
        flags.into_iter().filter(|f| f.1).map(|f| f.0).collect()
    }

    /// The scenario to start (and restart) with: none, a file, or the demo cluster.
    pub fn scenario(&self) -> Result<Option<Arc<Scenario>>, InputError> {
        if self.empty {
            return Ok(None);
        }
        Ok(Some(Arc::new(match &self.scenario {
            Some(path) => Scenario::load(path).map_err(|e| InputError::new(e.to_string()))?,
            None => Scenario::demo(),
        })))
    }
}

/// A lab started with its options: the server, Prometheus beside it (or why not), and the
/// kubeconfig written for kubectl and kdive.
pub struct StartedLab {
    pub running: RunningLab,
    /// What it was started with (a restart starts the same cluster again).
    pub options: LabOptions,
    pub prometheus: Result<PrometheusChild, String>,
    pub kubeconfig_path: PathBuf,
    pub kubeconfig: String,
}

impl StartedLab {
    pub async fn stop(self) {
        if let Ok(p) = self.prometheus {
            p.stop().await;
        }
        self.running.shutdown().await;
    }
}

/// Starts the lab as `kdive lab` and `kdive --lab` both do.
pub async fn start(args: &LabArgs) -> color_eyre::Result<StartedLab> {
    let scenario = args.scenario()?;
    let mut opts = LabOptions {
        addr: args.addr.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0))),
        speed: args.speed(),
        scenario,
        data_dir: args.data_dir.clone(),
        ..LabOptions::default()
    };
    if let Some(max) = args.max_pods {
        opts.max_pods = Some(max);
    }
    if let Some(seed) = args.seed {
        opts.seed = seed;
    }
    let running = match lab::start(opts.clone()).await {
        Ok(r) => r,
        Err(e @ (LabError::NotLoopback(_) | LabError::Scenario(_) | LabError::DataDir(_))) => {
            return Err(InputError::new(e.to_string()).into());
        }
        Err(e) => return Err(e.into()),
    };
    let prometheus = if args.no_prometheus {
        Err("not started (--no-prometheus)".to_string())
    } else {
        let opts = PrometheusOptions {
            binary: args.prometheus_bin.clone(),
            ..PrometheusOptions::default()
        };
        match start_prometheus_for(&running, &opts).await {
            Ok(p) => Ok(p),
            // A named binary that does not work is an error; a missing optional one is not.
            Err(e) if args.prometheus_bin.is_some() => {
                running.shutdown().await;
                return Err(InputError::new(format!("--prometheus-bin: {e}")).into());
            }
            Err(e) => Err(format!("not started: {e}")),
        }
    };
    let kubeconfig_path = args
        .kubeconfig_out
        .clone()
        .unwrap_or_else(lab::kubeconfig::default_path);
    let kubeconfig = lab::kubeconfig::render_with_prometheus(
        &running.url,
        &running.ca_pem,
        &running.token,
        prometheus.as_ref().ok().map(|p| p.url.as_str()),
    );
    let started = StartedLab {
        running,
        options: opts,
        prometheus,
        kubeconfig_path,
        kubeconfig,
    };
    if let Err(e) = lab::kubeconfig::write(&started.kubeconfig_path, &started.kubeconfig) {
        let path = started.kubeconfig_path.display().to_string();
        started.stop().await;
        return Err(e).wrap_err_with(|| format!("cannot write the kubeconfig to {path}"));
    }
    Ok(started)
}

pub(crate) fn parse_speed(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.01..=1000.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a speed between 0.01 and 1000")),
    }
}

pub async fn run(args: LabArgs) -> color_eyre::Result<ExitCode> {
    let stopped = stop_signal();
    let lab = start(&args).await?;
    let summary = match (&lab.options.scenario, &args.scenario) {
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
    let prometheus_line = match &lab.prometheus {
        Ok(p) => format!(
            "Prometheus ({}) at {}, scraping the lab every 1s; SLO specs: assets/slo/",
            p.binary.display(),
            p.url
        ),
        Err(why) => format!("Prometheus: {why}"),
    };
    // One write, errors ignored: a closed stdout (`kdive lab | head -1`) must not stop the lab.
    let path = lab.kubeconfig_path.display();
    let announcement = format!(
        "kdive lab is serving the Kubernetes API at {}\nkubeconfig: {path}\nexport KUBECONFIG={path}\nscenario: {summary}; clock speed {}x\n{prometheus_line}\nPress Ctrl-C to stop.\n",
        lab.running.url,
        args.speed()
    );
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(announcement.as_bytes());
        let _ = out.flush();
    }
    stopped.await;
    eprintln!("stopping the lab");
    lab.stop().await;
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
