//! `kdive slo`: SLO error-budget burn from Prometheus, once (text or JSON);
//! `kdive slo rules`: Sloth's recording and alerting rules for SLO specs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};

use super::{ClusterArgs, InputError};
use crate::sources::prometheus::{PromError, PromOptions, Prometheus, url_from_kubeconfig};
use kdive_core::metrics::burn::{Burn, Exhaustion, human_duration, worst_first};
use kdive_core::metrics::spec::{self, LoadedSpec};
use kdive_core::metrics::window::Severity;
use kdive_core::metrics::{Period, SloDef, Window, discover};

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SloArgs {
    #[command(subcommand)]
    pub action: Option<SloAction>,
    /// SLO spec in Sloth's prometheus/v1 format (repeatable; see assets/slo/demo-web.yaml)
    #[arg(long = "slo", value_name = "FILE")]
    pub slo: Vec<PathBuf>,
    #[command(flatten)]
    pub prometheus: PrometheusArgs,
    /// SLO period: 30d or 28d (Sloth's built-in alert windows)
    #[arg(long, default_value = "30d", value_name = "DURATION")]
    pub period: String,
    /// Evaluate at this instant (unix seconds or RFC 3339) instead of now
    #[arg(long, value_name = "TIME")]
    pub time: Option<String>,
    /// Do not add SLOs that Sloth or Pyrra rules record (found through /api/v1/rules)
    #[arg(long)]
    pub no_discover: bool,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// How to reach Prometheus; shared with the TUI.
#[derive(Debug, Clone, Args, Default)]
pub struct PrometheusArgs {
    /// Prometheus base URL (default: the one `kdive lab` recorded in the kubeconfig)
    #[arg(long, value_name = "URL", env = "KDIVE_PROMETHEUS")]
    pub prometheus: Option<String>,
    /// File holding a bearer token sent to Prometheus
    #[arg(long, value_name = "FILE")]
    pub prometheus_bearer_token_file: Option<PathBuf>,
    /// Timeout of each Prometheus request, in seconds
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    pub prometheus_timeout: f64,
}

#[derive(Debug, Subcommand)]
pub enum SloAction {
    /// Write Prometheus recording and alerting rules (Sloth's names) for SLO specs
    Rules(RulesArgs),
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// SLO spec in Sloth's prometheus/v1 format (repeatable)
    #[arg(long = "slo", value_name = "FILE", required = true)]
    pub slo: Vec<PathBuf>,
    /// SLO period: 30d or 28d
    #[arg(long, default_value = "30d", value_name = "DURATION")]
    pub period: String,
    /// Write the rules to this file instead of stdout
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

pub async fn run(cluster: &ClusterArgs, args: SloArgs) -> color_eyre::Result<ExitCode> {
    if let Some(SloAction::Rules(r)) = args.action {
        return rules(r);
    }
    let period = parse_period(&args.period)?;
    let specs = load_specs(&args.slo)?;
    let prom = connect(cluster, &args.prometheus)?;
    let at = match &args.time {
        Some(t) => parse_time(t)?,
        None => chrono::Utc::now().timestamp(),
    };
    let mut slos: Vec<(SloDef, Option<(usize, usize)>)> = Vec::new();
    for (si, l) in specs.iter().enumerate() {
        for (i, d) in SloDef::from_spec(l, &period).into_iter().enumerate() {
            slos.push((d, Some((si, i))));
        }
    }
    if !args.no_discover {
        match prom.rules().await {
            Ok(rules) => {
                for d in discover::discover(&rules) {
                    if !slos.iter().any(|(s, _)| s.id == d.id) {
                        slos.push((d, None));
                    }
                }
            }
            Err(e @ (PromError::Unreachable { .. } | PromError::Timeout { .. })) => {
                return Ok(unreachable(&e));
            }
            Err(e) => eprintln!("note: SLO discovery through /api/v1/rules failed: {e}"),
        }
    }
    let mut results = Vec::new();
    for (def, from) in &slos {
        let obs = match prom.observe(def, at).await {
            Ok(o) => o,
            Err(e) if e.is_bad_data() => {
                if let Some((si, i)) = from {
                    return Err(locate_bad_query(&prom, &specs[*si], *i, at, &e)
                        .await
                        .into());
                }
                return Err(InputError::new(format!("{}: {e}", def.origin)).into());
            }
            Err(e) => return Ok(unreachable(&e)),
        };
        results.push((def.clone(), def.evaluate(&obs)));
    }
    results.sort_by(|a, b| worst_first((&a.1, a.0.id.as_str()), (&b.1, b.0.id.as_str())));
    let text = match args.output {
        Output::Json => {
            let mut s = serde_json::to_string_pretty(&to_json(&results, at))?;
            s.push('\n');
            s
        }
        Output::Text => render_text(&results, prom.url(), at),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// Prometheus did not answer (or failed): a plain message and exit status 1.
fn unreachable(e: &PromError) -> ExitCode {
    eprintln!("error: cannot query Prometheus: {e}");
    ExitCode::from(1)
}

fn rules(args: RulesArgs) -> color_eyre::Result<ExitCode> {
    let period = parse_period(&args.period)?;
    let specs = load_specs(&args.slo)?;
    let text = kdive_core::metrics::rules::generate(&specs, &period);
    match &args.out {
        Some(path) => std::fs::write(path, text)
            .map_err(|e| InputError::new(format!("{}: cannot write: {e}", path.display())))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn parse_period(text: &str) -> Result<Period, InputError> {
    Window::parse(text)
        .and_then(Period::new)
        .map_err(|e| InputError::new(format!("--period {text}: {e}")))
}

fn parse_time(text: &str) -> Result<i64, InputError> {
    if let Ok(secs) = text.parse::<f64>() {
        return Ok(secs.floor() as i64);
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .map_err(|_| {
            InputError::new(format!(
                "--time: {text:?} is neither unix seconds nor an RFC 3339 time"
            ))
        })
}

/// Reads and parses one spec file; errors name the file (and line, from the parser).
pub fn load_spec(path: &std::path::Path) -> Result<LoadedSpec, InputError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| InputError::new(format!("{origin}: cannot read: {e}")))?;
    spec::parse(&origin, &text).map_err(|e| InputError::new(e.to_string()))
}

pub(crate) fn load_specs(paths: &[PathBuf]) -> Result<Vec<LoadedSpec>, InputError> {
    let mut out: Vec<LoadedSpec> = Vec::new();
    for p in paths {
        let l = load_spec(p)?;
        for slo in &l.spec.slos {
            let id = format!("{}-{}", l.spec.service, slo.name);
            if let Some(prev) = out.iter().find(|o| {
                o.spec
                    .slos
                    .iter()
                    .any(|s| format!("{}-{}", o.spec.service, s.name) == id)
            }) {
                return Err(InputError::new(format!(
                    "{}: SLO {id} is also defined in {}",
                    l.origin, prev.origin
                )));
            }
        }
        out.push(l);
    }
    Ok(out)
}

/// The Prometheus to use: `--prometheus`, else the lab's, recorded in the kubeconfig.
pub fn connect(cluster: &ClusterArgs, args: &PrometheusArgs) -> Result<Prometheus, InputError> {
    let url = match &args.prometheus {
        Some(u) => u.clone(),
        None => {
            let kc = match &cluster.kubeconfig {
                Some(p) => crate::sources::read_kubeconfig(p).ok(),
                None => kube::config::Kubeconfig::read().ok(),
            };
            kc.and_then(|kc| url_from_kubeconfig(&kc, cluster.context.as_deref()))
                .ok_or_else(|| {
                    InputError::new(
                        "no Prometheus: pass --prometheus URL, or run `kdive lab` (with Debian's prometheus package installed) and use the kubeconfig it writes",
                    )
                })?
        }
    };
    prometheus_at(url, args)
}

/// A client for the Prometheus at `url`, after checking the URL and `--prometheus-*` flags.
pub fn prometheus_at(url: String, args: &PrometheusArgs) -> Result<Prometheus, InputError> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(InputError::new(format!(
            "--prometheus: {url:?} is not an http:// or https:// URL"
        )));
    }
    if !(args.prometheus_timeout.is_finite() && args.prometheus_timeout > 0.0) {
        return Err(InputError::new("--prometheus-timeout: must be above 0"));
    }
    Prometheus::new(&PromOptions {
        url,
        bearer_token_file: args.prometheus_bearer_token_file.clone(),
        ca_pem: None,
        timeout: Some(Duration::from_secs_f64(args.prometheus_timeout)),
    })
    .map_err(|e| InputError::new(e.to_string()))
}

/// A spec SLO's queries failed with `bad_data`: find which field, and say it as
/// Prometheus did, at the field's file and line.
async fn locate_bad_query(
    prom: &Prometheus,
    l: &LoadedSpec,
    index: usize,
    at: i64,
    original: &PromError,
) -> InputError {
    let slo = &l.spec.slos[index];
    let mut fields = Vec::new();
    if let Some(e) = &slo.sli.events {
        fields.push(("sli.events.error_query", &e.error_query));
        fields.push(("sli.events.total_query", &e.total_query));
    }
    if let Some(r) = &slo.sli.raw {
        fields.push(("sli.raw.error_ratio_query", &r.error_ratio_query));
    }
    for (path, q) in fields {
        let rendered = kdive_core::metrics::query::render_window(q.trim(), Window::M5);
        if let Err(e) = prom.instant(&rendered, Some(at)).await
            && e.is_bad_data()
        {
            return InputError::new(l.slo_error(index, path, e.to_string()).to_string());
        }
    }
    InputError::new(l.slo_error(index, "sli", original.to_string()).to_string())
}

fn windows_json(b: &Burn) -> Value {
    let mut m = serde_json::Map::new();
    for w in &b.windows {
        m.insert(
            w.window.to_string(),
            serde_json::to_value(w).unwrap_or(Value::Null),
        );
    }
    Value::Object(m)
}

pub fn to_json(results: &[(SloDef, Burn)], at: i64) -> Value {
    let slos: Vec<Value> = results
        .iter()
        .map(|(d, b)| {
            let exhaustion = match b.exhaustion {
                Exhaustion::In(s) => json!(s),
                _ => Value::Null,
            };
            let mut notes = Vec::new();
            if let Some(age) = b.partial_period_seconds {
                notes.push(format!(
                    "computed over {} of {}",
                    human_duration(age),
                    b.period
                ));
            }
            if let Some(n) = b.low_traffic_requests {
                notes.push(format!("low traffic: {n:.0} requests in 1h"));
            }
            json!({
                "name": d.name,
                "id": d.id,
                "service": d.service.as_ref().map(|s| s.to_string()),
                "objective": d.objective_percent,
                "period": d.period.window.to_string(),
                "windows": windows_json(b),
                "budget_remaining": b.budget_remaining,
                "time_to_exhaustion_seconds": exhaustion,
                "alerts": {"page": b.page, "ticket": b.ticket},
                "state": b.state.as_str(),
                "notes": notes,
                "engine": d.engine,
                "source": d.origin,
            })
        })
        .collect();
    json!({"evaluated_at": at, "slos": slos})
}

fn pct(v: Option<f64>) -> String {
    match v {
        Some(v) if v.abs() >= 0.1 => format!("{:.1}%", v * 100.0),
        Some(v) => format!("{:.3}%", v * 100.0),
        None => "-".into(),
    }
}

fn burn(v: Option<f64>) -> String {
    match v {
        Some(v) if v >= 100.0 => format!("{v:.0}×"),
        Some(v) => format!("{v:.1}×"),
        None => "-".into(),
    }
}

/// Text for an on-call engineer: one line per SLO worst first, then the detail of each.
pub fn render_text(results: &[(SloDef, Burn)], url: &str, at: i64) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let when = chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| at.to_string());
    let _ = writeln!(out, "Prometheus {url} at {when}");
    if results.is_empty() {
        out.push_str("No SLOs: pass --slo FILE (Sloth prometheus/v1), or record them with Sloth or Pyrra rules.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "\n{:<10} {:<40} {:<16} {:<11} {:>9} {:>8} {:>8}",
        "STATE", "SLO", "SERVICE", "OBJECTIVE", "BUDGET", "BURN 1h", "BURN 5m"
    );
    for (d, b) in results {
        let _ = writeln!(
            out,
            "{:<10} {:<40} {:<16} {:<11} {:>9} {:>8} {:>8}",
            state_label(b),
            d.id,
            d.service.as_ref().map_or("-".into(), |s| s.to_string()),
            format!("{}%/{}", d.objective_percent, d.period.window),
            pct(b.budget_remaining),
            burn(b.window(Window::H1).and_then(|w| w.burn_rate)),
            burn(b.window(Window::M5).and_then(|w| w.burn_rate)),
        );
    }
    for (d, b) in results {
        let _ = writeln!(
            out,
            "\n{} {}  {}% over {}  service {}  ({}; {})",
            state_label(b),
            d.id,
            d.objective_percent,
            d.period.window,
            d.service.as_ref().map_or("-".into(), |s| s.to_string()),
            d.origin,
            match d.engine {
                kdive_core::metrics::Engine::Kdive => "computed by kdive",
                kdive_core::metrics::Engine::Sloth => "Sloth rules",
                kdive_core::metrics::Engine::Pyrra => "Pyrra rules",
            }
        );
        let mut budget = format!("  budget   {} left", pct(b.budget_remaining));
        if let Some(age) = b.partial_period_seconds {
            let _ = write!(
                budget,
                " (computed over {} of {})",
                human_duration(age),
                b.period
            );
        }
        match b.exhaustion {
            Exhaustion::Exhausted => budget.push_str(", exhausted"),
            Exhaustion::In(s) => {
                let _ = write!(
                    budget,
                    ", empty in {} at the 1h burn rate",
                    human_duration(s)
                );
            }
            Exhaustion::NotBurning => budget.push_str(", not burning"),
            Exhaustion::Unknown => {}
        }
        out.push_str(&budget);
        out.push('\n');
        for p in &b.pairs {
            let sev = match p.pair.severity {
                Severity::Page => "page",
                Severity::Ticket => "ticket",
            };
            let mark = if p.firing() {
                "  FIRING"
            } else if p.one_window_over() {
                "  one window over"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "  {sev:<8} {:>3} {:>7} and {:>3} {:>7}  > {}{mark}",
                p.pair.long,
                burn(p.long_burn),
                p.pair.short,
                burn(p.short_burn),
                p.pair.burn_rate
            );
        }
        let errs: Vec<String> = b
            .windows
            .iter()
            .map(|w| {
                format!(
                    "{} {}",
                    w.window,
                    match w.note {
                        Some("no_traffic") => "no traffic".to_string(),
                        Some(_) => "no data".to_string(),
                        None => pct(w.error_ratio),
                    }
                )
            })
            .collect();
        let _ = writeln!(out, "  errors   {}", errs.join("  "));
        if let Some(n) = b.low_traffic_requests {
            let _ = writeln!(
                out,
                "  note     low traffic: {n:.0} requests in 1h; one error burns more than {}×",
                b.pairs[0].pair.burn_rate
            );
        } else if let Some(r) = b.window(Window::H1).and_then(|w| w.requests) {
            let _ = writeln!(out, "  traffic  {r:.0} requests in 1h");
        }
    }
    out
}

fn state_label(b: &Burn) -> &'static str {
    use kdive_core::metrics::burn::State;
    match b.state {
        State::Page => "▲ PAGE",
        State::Ticket => "△ TICKET",
        State::Exhausted => "✗ SPENT",
        State::NoData => "? NO DATA",
        State::NoTraffic => "· NO TRAFFIC",
        State::LowTraffic => "~ LOW TRAFFIC",
        State::Ok => "✓ OK",
    }
}
