//! `kdive` with no subcommand: the explorer TUI, on a kubeconfig context or on the
//! in-process lab (`--lab`).

use std::process::ExitCode;
use std::sync::Arc;

use color_eyre::eyre::WrapErr;
use kube::config::Kubeconfig;
use tokio::sync::mpsc;

use super::{ClusterArgs, InputError};
use crate::sources::kube::{self as ksrc, Scope};
use crate::sources::kubeconfig_file::KubeconfigFiles;
use crate::ui::app::{App, Session};
use crate::ui::effects::feeds::spawn_slo_poller;
use crate::ui::effects::{LabHandle, LiveEffects, sink};
use crate::ui::run::RunOptions;
use crate::ui::theme::Theme;

pub struct TuiArgs {
    pub cluster: ClusterArgs,
    /// `--lab` and its options: the explorer on an in-process lab.
    pub lab: Option<super::lab::LabArgs>,
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
    if let Some(lab_args) = &args.lab
        && need_terminal().is_err()
    {
        // Scripts and CI start `kdive --lab` without a terminal: run the lab alone.
        eprintln!("note: no terminal, so no explorer; running the lab in the foreground");
        return super::lab::run(lab_args.clone()).await;
    }
    let mut lab_prometheus = None;
    let (target, lab_path) = if let Some(lab_args) = &args.lab {
        let started = super::lab::start(lab_args)
            .await
            .wrap_err("cannot start the lab")?;
        eprintln!(
            "kdive lab at {}\nexport KUBECONFIG={}",
            started.running.url,
            started.kubeconfig_path.display()
        );
        let kubeconfig = Kubeconfig::from_yaml(&started.kubeconfig).wrap_err("lab kubeconfig")?;
        let path = started.kubeconfig_path.clone();
        lab_prometheus = Some(started.prometheus);
        lab_handle = Some(LabHandle {
            running: started.running,
            options: started.options,
        });
        (
            Target {
                kubeconfig,
                context: None,
            },
            Some(path),
        )
    } else {
        let kubeconfig = match &args.cluster.kubeconfig {
            Some(path) => crate::sources::read_kubeconfig(path).map_err(InputError::from)?,
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
    let scope = if args.all_namespaces || (args.lab.is_some() && args.namespace.is_none()) {
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
    let lab_bookmarks = lab_handle
        .as_ref()
        .map(|h: &LabHandle| h.options.bookmark_interval);
    let watches = ksrc::spawn_watches(
        client.clone(),
        &watch_scope,
        writers,
        sink(&tx),
        crate::ui::effects::stall_after(lab_bookmarks, &context),
    );
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
    // The lab's own kubeconfig is rewritten only by a restart with the same identity.
    let kubeconfig_files = match &lab_path {
        Some(_) => None,
        None => Some(KubeconfigFiles::locate(args.cluster.kubeconfig.as_deref())),
    };
    let kubeconfig_watch = kubeconfig_files
        .clone()
        .map(|f| crate::sources::kubeconfig_file::spawn_watch(f, tx.clone()));
    let mut effects = LiveEffects {
        kubeconfig: target.kubeconfig.clone(),
        kubeconfig_files,
        scope: watch_scope,
        watches,
        lab: Arc::new(tokio::sync::Mutex::new(lab_handle)),
        lab_bookmarks,
        current: Arc::new(std::sync::Mutex::new((client, context.clone()))),
        prometheus: prometheus.ok(),
        lessons,
        lesson: Default::default(),
        log_stream: Default::default(),
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
    if let Some(w) = kubeconfig_watch {
        w.abort();
    }
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
        lab.running.shutdown().await;
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
