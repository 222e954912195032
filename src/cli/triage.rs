//! `kdive triage [TARGET]`: the root cause of a broken Service, Deployment, StatefulSet,
//! pod or namespace, with evidence, what changed before it, and the next command.
//! Exit 0 when nothing is critical, 1 when something is, 2 for bad input.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};

use super::slo::PrometheusArgs;
use super::{ClusterArgs, InputError};
use kdive_core::metrics::burn::Burn;
use kdive_core::metrics::{Period, SloDef, Window, discover};
use kdive_core::triage::{self, Finding, PreviousLogs, Report, Severity, Target, TriageInput};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct TriageArgs {
    /// What to triage: svc/NAME, deploy/NAME, sts/NAME, pod/NAME or ns/NAME (default: the
    /// whole namespace)
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// Namespace (default: the context's)
    #[arg(
        short = 'n',
        long,
        value_name = "NAME",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,
    /// Every namespace, and the cluster-wide causes (DNS, nodes)
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// How far before the first symptom to look for what changed (30m, 2h, 1d)
    #[arg(long, default_value = "30m", value_name = "DURATION")]
    pub since: String,
    /// SLO specs whose burn counts as a symptom (Sloth's prometheus/v1 format; recorded
    /// SLOs are found through Prometheus's rules too)
    #[arg(long = "slo", value_name = "FILE")]
    pub slo: Vec<PathBuf>,
    #[command(flatten)]
    pub prometheus: PrometheusArgs,
}

pub async fn run(cluster: &ClusterArgs, args: TriageArgs) -> color_eyre::Result<ExitCode> {
    let window = Window::parse(&args.since)
        .map_err(|e| InputError::new(format!("--since {}: {e}", args.since)))?;
    let window =
        chrono::Duration::seconds(i64::try_from(window.seconds()).unwrap_or(i64::MAX / 2_000));
    let client = cluster.connect().await?;
    let namespace = args
        .namespace
        .clone()
        .unwrap_or_else(|| client.default_namespace().to_string());
    let target = Target::parse(args.target.as_deref(), &namespace, args.all_namespaces)
        .map_err(|e| InputError::new(e.to_string()))?;
    let read_ns = match &target {
        Target::All => None,
        Target::Namespace(ns) => Some(ns.clone()),
        Target::Object { namespace, .. } => Some(namespace.clone()),
    };
    let read = crate::sources::triage_read::read(&client, read_ns.as_deref())
        .await
        .map_err(|f| color_eyre::eyre::eyre!("cannot read the cluster: {f}"))?;
    target
        .check_exists(&read.objects)
        .map_err(|e| InputError::new(e.to_string()))?;
    let mut gaps = read.gaps;
    let slos = slo_burns(cluster, &args, &mut gaps).await?;
    let now = Utc::now();
    let triage_with = |logs: &PreviousLogs, gaps: Vec<String>| {
        triage::triage(&TriageInput {
            objects: &read.objects,
            target: &target,
            now,
            window,
            gaps,
            logs,
            slos: &slos,
            history: None,
        })
    };
    let first = triage_with(&PreviousLogs::new(), gaps.clone());
    let logs = crate::sources::triage_read::previous_logs(&client, &first, &mut gaps).await;
    let report = if logs.is_empty() && gaps == first.gaps {
        first
    } else {
        triage_with(&logs, gaps)
    };
    let text = match args.output {
        Output::Json => serde_json::to_string_pretty(&report)? + "\n",
        Output::Text => render(&report, now),
    };
    super::print_stdout(&text)?;
    Ok(if report.critical() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// SLO burn when there is a Prometheus to ask: `--slo` specs and recorded SLOs. No
/// Prometheus configured is no gap; one that does not answer is.
async fn slo_burns(
    cluster: &ClusterArgs,
    args: &TriageArgs,
    gaps: &mut Vec<String>,
) -> color_eyre::Result<Vec<(SloDef, Burn)>> {
    let specs = super::slo::load_specs(&args.slo)?;
    let prom = match super::slo::connect(cluster, &args.prometheus) {
        Ok(p) => p,
        Err(e) if args.slo.is_empty() && args.prometheus.prometheus.is_none() => {
            let _ = e;
            return Ok(Vec::new());
        }
        Err(e) => return Err(e.into()),
    };
    let period = Period::new(Window::D30).map_err(InputError::new)?;
    let mut defs: Vec<SloDef> = specs
        .iter()
        .flat_map(|l| SloDef::from_spec(l, &period))
        .collect();
    match prom.rules().await {
        Ok(rules) => {
            for d in discover::discover(&rules) {
                if !defs.iter().any(|s| s.id == d.id) {
                    defs.push(d);
                }
            }
        }
        Err(e) => {
            gaps.push(format!("Prometheus unreachable ({e})"));
            return Ok(Vec::new());
        }
    }
    let at = Utc::now().timestamp();
    let mut out = Vec::new();
    for d in defs {
        match prom.observe(&d, at).await {
            Ok(obs) => {
                let burn = d.evaluate(&obs);
                out.push((d, burn));
            }
            Err(e) => {
                gaps.push(format!("SLO {}: {e}", d.id));
            }
        }
    }
    Ok(out)
}

/// The report as a person reads it at 3 a.m.: verdict, then findings, then changes.
pub fn render(r: &Report, now: DateTime<Utc>) -> String {
    let mut s = String::new();
    let what = r
        .target
        .as_ref()
        .map(|t| t.display())
        .unwrap_or_else(|| "all namespaces".into());
    let verdict = match r.verdict {
        triage::Verdict::Healthy => "healthy",
        triage::Verdict::Degraded => "DEGRADED",
        triage::Verdict::Down => "DOWN",
    };
    let _ = writeln!(s, "{what}: {verdict}");
    if !r.gaps.is_empty() {
        let _ = writeln!(s, "confidence reduced: {}", r.gaps.join("; "));
    }
    if r.findings.is_empty() {
        let _ = writeln!(
            s,
            "\nNo findings: every pod, Service and workload looked at is serving."
        );
    }
    for f in &r.findings {
        let _ = writeln!(s);
        render_finding(&mut s, f, now);
    }
    if !r.changes.is_empty() {
        let _ = writeln!(s, "\nWhat changed before:");
        for c in &r.changes {
            let _ = writeln!(
                s,
                "  {} ({} ago)  {}  {}",
                triage_time(c.at),
                kdive_core::duration::age(c.at, now),
                c.object.display(),
                c.what
            );
        }
    }
    s
}

fn render_finding(s: &mut String, f: &Finding, now: DateTime<Utc>) {
    let sev = match f.severity {
        Severity::Critical => "CRITICAL",
        Severity::Warning => "WARNING",
        Severity::Info => "info",
    };
    let _ = writeln!(
        s,
        "{}. {sev} {}  {}",
        f.rank,
        f.cause.code(),
        f.object.display()
    );
    let _ = writeln!(s, "   {}", f.summary);
    if let Some(t) = f.since {
        let _ = writeln!(
            s,
            "   since {} ({} ago)",
            triage_time(t),
            kdive_core::duration::age(t, now)
        );
    }
    for e in &f.evidence {
        let source = e.source.as_str();
        let count = if e.count > 1 {
            format!(" (×{})", e.count)
        } else {
            String::new()
        };
        let _ = writeln!(s, "   {source:<11} {}{count}", e.text);
    }
    if !f.explains.is_empty() {
        let ranks: Vec<String> = f.explains.iter().map(|r| r.to_string()).collect();
        let _ = writeln!(s, "   explains {}", ranks.join(", "));
    }
    for n in &f.next {
        let _ = writeln!(s, "   $ {n}");
    }
}

fn triage_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
