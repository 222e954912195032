//! `kdive` with no subcommand: the explorer TUI, on a kubeconfig context or on the
//! in-process lab (`--lab`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use color_eyre::eyre::WrapErr;
use kube::config::Kubeconfig;
use tokio::sync::mpsc;

use super::{ClusterArgs, InputError};
use crate::sources::kube::{self as ksrc, Scope};
use crate::ui::app::{App, Session};
use crate::ui::effects::feeds::spawn_slo_poller;
use crate::ui::effects::{LiveEffects, sink};
use crate::ui::run::RunOptions;
use crate::ui::theme::Theme;
use kdive_lab::{self as lab, LabOptions};

pub struct TuiArgs {
    pub cluster: ClusterArgs,
    pub lab: bool,
    pub kubeconfig_out: Option<PathBuf>,
    pub speed: f64,
    pub namespace: Option<String>,
    pub all_namespaces: bool,
    pub prometheus: super::slo::PrometheusArgs,
}

struct Target {
    kubeconfig: Kubeconfig,
    context: Option<String>,
}

pub async fn run(args: TuiArgs) -> color_eyre::Result<ExitCode> {
    let mut lab_handle = None;
    if args.lab && need_terminal().is_err() {
        // Scripts and CI start `kdive --lab` without a terminal: run the lab alone.
        eprintln!("note: no terminal, so no explorer; running the lab in the foreground");
        let mut lab_args = super::lab::LabArgs::demo(args.kubeconfig_out);
        lab_args.speed = args.speed;
        return super::lab::run(lab_args).await;
    }
    let mut lab_prometheus = None;
    let (target, lab_path) = if args.lab {
        let running = lab::start(LabOptions {
            scenario: Some(Arc::new(lab::scenario::Scenario::demo())),
            speed: args.speed,
            ..LabOptions::default()
        })
        .await
        .wrap_err("cannot start the lab")?;
        let path = args
            .kubeconfig_out
            .clone()
            .unwrap_or_else(lab::kubeconfig::default_path);
        // Prometheus beside the lab, recorded in its kubeconfig as `kdive lab` does.
        let prom = super::tui_feeds::lab_prometheus(&running).await;
        let text = lab::kubeconfig::render_with_prometheus(
            &running.url,
            &running.ca_pem,
            &running.token,
            prom.as_ref().ok().map(|p| p.url.as_str()),
        );
        lab::kubeconfig::write(&path, &text)
            .wrap_err_with(|| format!("cannot write the kubeconfig to {}", path.display()))?;
        eprintln!(
            "kdive lab at {}\nexport KUBECONFIG={}",
            running.url,
            path.display()
        );
        let kubeconfig = Kubeconfig::from_yaml(&text).wrap_err("lab kubeconfig")?;
        lab_prometheus = Some(prom);
        lab_handle = Some(running);
        (
            Target {
                kubeconfig,
                context: None,
            },
            Some(path),
        )
    } else {
        let kubeconfig = match &args.cluster.kubeconfig {
            Some(path) => Kubeconfig::read_from(path).map_err(|e| {
                InputError::new(format!("{}: cannot read kubeconfig: {e}", path.display()))
            })?,
            None => Kubeconfig::read().map_err(|_| {
                InputError::new(
                    "no kubeconfig found (set KUBECONFIG or pass --kubeconfig); to explore without a cluster, run `kdive --lab`",
                )
            })?,
        };
        (
            Target {
                kubeconfig,
                context: args.cluster.context.clone(),
            },
            None,
        )
    };
    let contexts: Vec<String> = target
        .kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let context = target
        .context
        .clone()
        .or_else(|| target.kubeconfig.current_context.clone())
        .unwrap_or_default();
    if !context.is_empty() && !contexts.contains(&context) {
        return Err(InputError::new(format!(
            "context {context:?} is not in the kubeconfig (contexts: {})",
            contexts.join(", ")
        ))
        .into());
    }
    let context_ns = target
        .kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context)
        .and_then(|c| c.context.as_ref())
        .and_then(|c| c.namespace.clone());
    // The lab's context names `default`, where nothing runs: show it all.
    let scope = if args.all_namespaces || (args.lab && args.namespace.is_none()) {
        None
    } else {
        args.namespace.clone().or(context_ns)
    };
    let watch_scope = match (&args.namespace, args.all_namespaces) {
        (Some(ns), false) => Scope::Namespace(ns.clone()),
        _ => Scope::All,
    };
    need_terminal()?;
    let client = crate::sources::client_for(
        &target.kubeconfig,
        (!context.is_empty()).then_some(&*context),
    )
    .await
    .map_err(InputError::from)?;
    let prometheus = match lab_prometheus.as_ref() {
        Some(Err(reason)) => Err(reason.clone()),
        _ => super::tui_feeds::prometheus_for(&args.prometheus, &target.kubeconfig, &context),
    };
    let lessons: Vec<Arc<kdive_core::lesson::format::Lesson>> = crate::lesson_library::load(None)
        .map(|ls| ls.into_iter().map(Arc::new).collect())
        .unwrap_or_default();

    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stores, writers) = ksrc::stores();
    let watches = ksrc::spawn_watches(client.clone(), &watch_scope, writers, sink(&tx));
    let poller = prometheus
        .as_ref()
        .ok()
        .map(|p| spawn_slo_poller(p.clone(), tx.clone()));
    let session = Session {
        context: context.clone(),
        contexts,
        lab_kubeconfig: lab_path.as_ref().map(|p| p.display().to_string()),
        prometheus: prometheus
            .as_ref()
            .map(|p| p.url().to_string())
            .map_err(Clone::clone),
        lessons: lessons.clone(),
    };
    let mut app = App::new(stores, session, scope);
    let mut effects = LiveEffects {
        kubeconfig: target.kubeconfig.clone(),
        scope: watch_scope,
        watches,
        lab: Arc::new(tokio::sync::Mutex::new(lab_handle)),
        lab_speed: args.speed,
        current: Arc::new(std::sync::Mutex::new((client, context.clone()))),
        prometheus: prometheus.ok(),
        lessons,
        lesson: Default::default(),
    };
    let input = crate::ui::terminal::spawn_input(tx.clone());
    let signals = crate::ui::terminal::spawn_signals(tx.clone());
    let theme = Theme::from_env();
    let result = {
        let (mut terminal, _guard) =
            crate::ui::terminal::enter().wrap_err("cannot set up the terminal")?;
        crate::ui::run::run(
            &mut terminal,
            &mut app,
            &mut rx,
            &tx,
            &mut effects,
            &theme,
            &chrono::Utc::now,
            &RunOptions::default(),
            &mut |_| {},
        )
        .await
    };
    input.abort();
    signals.abort();
    for w in effects.watches.drain(..) {
        w.abort();
    }
    if let Some(p) = poller {
        p.abort();
    }
    effects.lesson.stop();
    if let Some(Ok(p)) = lab_prometheus {
        p.stop().await;
    }
    if let Some(lab) = effects.lab.lock().await.take() {
        lab.shutdown().await;
    }
    result.wrap_err("terminal error")?;
    Ok(ExitCode::SUCCESS)
}

fn need_terminal() -> Result<(), InputError> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        Ok(())
    } else {
        Err(InputError::new(
            "kdive's explorer needs a terminal; for scripts use `kdive chain`, `kdive iptables` or `kdive dns`",
        ))
    }
}
