//! The App's effects on the outside world (the [`Effects`] seam): watching another
//! context, restarting the in-process lab, running lessons and PromQL. The App only asks,
//! with [`Cmd`]s; what this session can do (is there a lab to restart?) is known here, and
//! answered with messages.

pub mod feeds;

use std::sync::Arc;

use kube::config::Kubeconfig;
use tokio::sync::mpsc::UnboundedSender;

use super::msg::{Cmd, Msg};
use crate::sources::kube::{self as ksrc, KubeMsg, Scope};
use crate::sources::kubeconfig_file::KubeconfigFiles;
use crate::sources::prometheus::Prometheus;
use kdive_core::lesson::format::Lesson;
use kdive_lab::{self as lab, LabOptions, RunningLab};

/// Effects the App asks for that need the outside world. Implementations spawn work and
/// report back with messages; they never block.
pub trait Effects {
    fn handle(&mut self, cmd: Cmd, tx: &UnboundedSender<Msg>);
}

/// Does nothing (tests, benches).
pub struct NoEffects;

impl Effects for NoEffects {
    fn handle(&mut self, _cmd: Cmd, _tx: &UnboundedSender<Msg>) {}
}

pub fn sink(tx: &UnboundedSender<Msg>) -> ksrc::Sink {
    let tx = tx.clone();
    Arc::new(move |m: KubeMsg| {
        let _ = tx.send(Msg::Kube(m));
    })
}

/// The explorer's effects on a live cluster, and on the lab when kdive runs one.
pub struct LiveEffects {
    pub(crate) kubeconfig: Kubeconfig,
    /// Where the kubeconfig came from, read again on every context switch.
    pub(crate) kubeconfig_files: Option<KubeconfigFiles>,
    pub(crate) scope: Scope,
    pub(crate) watches: Vec<tokio::task::JoinHandle<()>>,
    /// The in-process lab, when kdive runs one: the capability `:lab restart` asks for.
    pub(crate) lab: Arc<tokio::sync::Mutex<Option<LabHandle>>>,
    /// The lab's bookmark interval, when kdive runs one (its context's watches expect a
    /// bookmark that often).
    pub(crate) lab_bookmarks: Option<std::time::Duration>,
    /// The client and name of the context being watched (lessons run against it); a
    /// context switch replaces them once its client is built.
    pub(crate) current: Arc<std::sync::Mutex<(kube::Client, String)>>,
    pub(crate) prometheus: Option<Prometheus>,
    pub(crate) lessons: Vec<Arc<Lesson>>,
    pub(crate) lesson: feeds::LessonRunner,
    pub(crate) log_stream: feeds::LogStream,
}

/// The in-process lab and what it was started with, so a restart brings the same cluster
/// back on the same address, CA and token.
pub struct LabHandle {
    pub running: RunningLab,
    pub options: LabOptions,
}

/// How long a watch of `context` may stay silent before it is restarted: the lab's context
/// promises a bookmark every `lab_bookmarks`; other servers only their watch timeout.
pub fn stall_after(
    lab_bookmarks: Option<std::time::Duration>,
    context: &str,
) -> std::time::Duration {
    ksrc::stall_window(lab_bookmarks.filter(|_| context == kdive_lab::kubeconfig::NAME))
}

/// Tasks that end with their owner.
struct AbortOnDrop(Vec<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.iter().for_each(tokio::task::JoinHandle::abort);
    }
}

impl Effects for LiveEffects {
    fn handle(&mut self, cmd: Cmd, tx: &UnboundedSender<Msg>) {
        match cmd {
            Cmd::Quit => {}
            Cmd::OpenLesson(id) => {
                let Some(lesson) = self.lessons.iter().find(|l| l.id == id).cloned() else {
                    return;
                };
                let (client, context) = self
                    .current
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                match crate::sources::lesson::progress_path(&context) {
                    Some(file) => self.lesson.open(lesson, client, file, tx.clone()),
                    None => {
                        let _ =
                            tx.send(Msg::Failed("no state directory for lesson progress".into()));
                    }
                }
            }
            Cmd::Lesson(cmd) => self.lesson.send(cmd),
            Cmd::FollowLogs(req) => {
                let (client, _) = self
                    .current
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                self.log_stream.open(req, client, tx.clone());
            }
            Cmd::StopLogs => self.log_stream.stop(),
            Cmd::Query { expr, range } => match &self.prometheus {
                Some(p) => feeds::spawn_query(p.clone(), expr, range, tx.clone()),
                None => {
                    let _ = tx.send(Msg::Failed("no Prometheus to query (see :slo)".into()));
                }
            },
            Cmd::SwitchContext(name) => {
                if let Some(files) = &self.kubeconfig_files {
                    match files.read() {
                        Ok(k) => {
                            self.kubeconfig = k;
                            let names = self.kubeconfig.contexts.iter().map(|c| c.name.clone());
                            let _ = tx.send(Msg::Contexts(names.collect()));
                        }
                        Err(e) => {
                            let _ = tx.send(Msg::Failed(format!("{e}; using the one read before")));
                        }
                    }
                }
                if !self.kubeconfig.contexts.iter().any(|c| c.name == name) {
                    let names: Vec<&str> = self
                        .kubeconfig
                        .contexts
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect();
                    let _ = tx.send(Msg::Failed(format!(
                        "context {name:?} is not in the kubeconfig (contexts: {})",
                        names.join(", ")
                    )));
                    return;
                }
                for w in self.watches.drain(..) {
                    w.abort();
                }
                let (stores, writers) = ksrc::stores();
                let kubeconfig = self.kubeconfig.clone();
                let scope = self.scope.clone();
                let tx2 = tx.clone();
                let current = self.current.clone();
                let stall = stall_after(self.lab_bookmarks, &name);
                // The new watches start once the client is built. The task owns them and
                // aborts them when it is aborted (a dropped JoinHandle would only detach).
                let handle = tokio::spawn(async move {
                    match crate::sources::client_for(&kubeconfig, Some(&name)).await {
                        Ok(client) => {
                            *current.lock().unwrap_or_else(|e| e.into_inner()) =
                                (client.clone(), name.clone());
                            let _ = tx2.send(Msg::Switched {
                                stores,
                                context: name,
                            });
                            let _watches = AbortOnDrop(ksrc::spawn_watches(
                                client,
                                &scope,
                                writers,
                                sink(&tx2),
                                stall,
                            ));
                            std::future::pending::<()>().await;
                        }
                        Err(e) => {
                            let _ = tx2.send(Msg::Failed(format!("cannot switch to {name}: {e}")));
                        }
                    }
                });
                self.watches.push(handle);
            }
            Cmd::RestartLab => {
                let lab = self.lab.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let mut guard = lab.lock().await;
                    let Some(old) = guard.take() else {
                        let _ = tx.send(Msg::Failed(":lab restart needs kdive --lab".into()));
                        return;
                    };
                    let _ = tx.send(Msg::Info("restarting the lab".into()));
                    // The same cluster, but its workloads' pods are new ones: a new seed
                    // gives them new names, as a real cluster's replacements would have.
                    let options = LabOptions {
                        addr: old.running.addr,
                        identity: Some(old.running.identity.clone()),
                        seed: old.options.seed.wrapping_add(1),
                        ..old.options
                    };
                    old.running.shutdown().await;
                    // Down for a moment, as a real restart is: the panes show the outage.
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                    match lab::start(options.clone()).await {
                        Ok(running) => *guard = Some(LabHandle { running, options }),
                        Err(e) => {
                            let _ = tx.send(Msg::Failed(format!("the lab did not restart: {e}")));
                        }
                    }
                });
            }
        }
    }
}
