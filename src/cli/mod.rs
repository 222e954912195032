//! Command-line definitions and dispatch. One file per subcommand.

pub mod chain;
pub mod dns;
pub mod input;
pub mod iptables;
pub mod lab;
pub mod lesson;
pub mod slo;
pub mod triage;
pub mod tui;
pub mod tui_feeds;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Bad input from the user (a file, a flag value, a name that does not exist).
/// The message names what and where; the process exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

impl InputError {
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "kdive",
    version,
    about = "Kubernetes deep dives in the terminal"
)]
pub struct Cli {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Start the embedded lab cluster in-process and use it (with the options of `kdive lab`)
    #[arg(long)]
    pub lab: bool,
    #[command(flatten)]
    pub lab_options: lab::LabArgs,
    #[command(flatten)]
    pub prometheus: slo::PrometheusArgs,
    /// Show (and watch) only this namespace
    #[arg(
        short = 'n',
        long,
        value_name = "NAME",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,
    /// Show all namespaces (the default unless the context names one)
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How to reach a cluster; shared by every subcommand that reads one.
#[derive(Debug, Clone, Args, Default)]
pub struct ClusterArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)
    #[arg(long, global = true, env = "KUBECONFIG", value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
}

impl ClusterArgs {
    /// A client for the chosen kubeconfig and context.
    pub async fn connect(&self) -> Result<kube::Client, InputError> {
        crate::sources::connect(self.kubeconfig.as_deref(), self.context.as_deref())
            .await
            .map_err(InputError::from)
    }

    /// The context in use (lesson progress is kept per context).
    pub fn context_name(&self) -> String {
        crate::sources::context_name(self.kubeconfig.as_deref(), self.context.as_deref())
    }
}

impl From<crate::sources::ConnectError> for InputError {
    fn from(e: crate::sources::ConnectError) -> Self {
        InputError::new(e.to_string())
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the embedded lab cluster in the foreground
    Lab(lab::LabArgs),
    /// Render kube-proxy's iptables rules (and trace a packet through them)
    Iptables(iptables::IptablesArgs),
    /// Show a Service's chain: endpoints, pods, nodes, kube-proxy rules, DNS names
    Chain(chain::ChainArgs),
    /// Resolve a name as a pod's resolver and CoreDNS would
    Dns(dns::DnsArgs),
    /// SLO error-budget burn from Prometheus (and `slo rules`: Sloth's rules for SLO specs)
    Slo(slo::SloArgs),
    /// Lessons: list, show, start, check, solve, reset, lint
    Lesson(lesson::LessonArgs),
    /// Name the root cause of a broken Service, workload, pod or namespace, with evidence,
    /// what changed before it, and the next command
    Triage(triage::TriageArgs),
}

/// Runs the parsed command line and maps errors to exit codes:
/// 0 success, 1 failure, 2 bad input.
pub fn main(cli: Cli) -> ExitCode {
    disable_transparent_huge_pages();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(report) => {
            if let Some(input) = report.downcast_ref::<InputError>() {
                eprintln!("error: {input}");
                return ExitCode::from(2);
            }
            eprintln!("Error: {report:?}");
            ExitCode::from(1)
        }
    }
}

/// Writes a command's output; a reader that went away (`| head`) is not an error.
pub fn print_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

/// The explorer's heap is millions of small objects spread thinly over the allocator's
/// arenas, which it asks to be backed by huge pages: every touched 2 MiB then counts whole
/// (about 30 MiB more RSS with 20,000 pods, for no speed a TUI would notice). Linux only;
/// elsewhere, and if the kernel refuses, nothing changes.
pub fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process; no memory is passed.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

async fn dispatch(cli: Cli) -> color_eyre::Result<ExitCode> {
    match cli.command {
        Some(Command::Lab(args)) => lab::run(args).await,
        Some(Command::Iptables(args)) => iptables::run(&cli.cluster, args).await,
        Some(Command::Chain(args)) => chain::run(&cli.cluster, args).await,
        Some(Command::Dns(args)) => dns::run(&cli.cluster, args).await,
        Some(Command::Slo(args)) => slo::run(&cli.cluster, args).await,
        Some(Command::Lesson(args)) => lesson::run(&cli.cluster, args).await,
        Some(Command::Triage(args)) => triage::run(&cli.cluster, args).await,
        None => {
            let given = cli.lab_options.given();
            if !cli.lab && !given.is_empty() {
                return Err(InputError::new(format!(
                    "{} {} --lab (or the `kdive lab` command)",
                    given.join(", "),
                    if given.len() == 1 { "needs" } else { "need" }
                ))
                .into());
            }
            tui::run(tui::TuiArgs {
                cluster: cli.cluster,
                lab: cli.lab.then_some(cli.lab_options),
                namespace: cli.namespace,
                all_namespaces: cli.all_namespaces,
                prometheus: cli.prometheus,
            })
            .await
        }
    }
}
