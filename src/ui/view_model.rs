//! What one frame shows, built from the App after it settles: the header and status bar,
//! the tree, the input line, and the main pane's view. [`super::draw`] reads only this (and
//! the panes' own UI state); it never sees the App or the stores.

use chrono::{DateTime, Utc};

use kdive_core::model::tree::TreeNode;

use super::app::{App, Focus, Input, View, selected_key};
use super::panes;
use super::panes::PaneStates;
use super::panes::chain::ChainView;
use super::panes::detail::DetailView;
use super::panes::lesson::LessonView;
use super::panes::pod::PodView;
use super::panes::query::QueryView;
use super::panes::slo::SloView;
use super::panes::status::StatusView;
use super::panes::triage::TriageView;
use super::panes::watch::WatchView;
use super::panes::workload::WorkloadView;

pub struct ViewModel<'a> {
    pub now: DateTime<Utc>,
    pub status: StatusView,
    pub input: &'a Input,
    pub tree: &'a [TreeNode],
    pub filter: &'a str,
    pub focus: Focus,
    pub main: MainView<'a>,
}

/// The main pane: a pane's view, or a titled message while its data is on the way.
pub enum MainView<'a> {
    Welcome {
        lab_kubeconfig: Option<&'a str>,
    },
    Help,
    Chain {
        title: String,
        view: ChainView<'a>,
    },
    Pod(PodView),
    Workload {
        title: String,
        view: WorkloadView,
    },
    Detail(DetailView),
    Watches(WatchView),
    Slo(SloView),
    /// Why there is no Prometheus to read, in the SLO or query pane.
    NoPrometheus {
        title: &'static str,
        reason: String,
    },
    Query(QueryView),
    Lesson(LessonView),
    Triage(TriageView),
    Logs(panes::logs::LogView<'a>),
    Waiting {
        title: String,
        text: String,
    },
}

impl App {
    /// The frame's view-model, from the last settled state. Pure: reads the App, changes
    /// nothing. `panes` is the panes' UI state, lent out of the App while it draws.
    pub fn view_model(&self, now: DateTime<Utc>, panes: &PaneStates) -> ViewModel<'_> {
        ViewModel {
            now,
            status: StatusView {
                context: self.session.context.clone(),
                scope: self.scope.clone().unwrap_or_else(|| "all".into()),
                view: view_name(&self.view).into(),
                watches: panes::status::watch_summary(&self.watches, now),
                flash: self.flash.as_ref().map(|(t, l, _)| (t.clone(), *l)),
                prometheus: self.prom_outage(now),
                critical: self.triage.critical,
            },
            input: &self.input,
            tree: &self.tree,
            filter: &self.filter,
            focus: self.focus,
            main: self.main_view(now, panes),
        }
    }

    /// The outage banner, while Prometheus is unreachable.
    fn prom_outage(&self, now: DateTime<Utc>) -> Option<String> {
        let down = self.feeds.prom_down.as_ref()?;
        Some(panes::status::prom_outage(down.since, &down.failure, now))
    }

    fn main_view(&self, now: DateTime<Utc>, panes: &PaneStates) -> MainView<'_> {
        let waiting = |title: &str, text: String| MainView::Waiting {
            title: title.into(),
            text,
        };
        match &self.view {
            View::Welcome => MainView::Welcome {
                lab_kubeconfig: self.session.lab_kubeconfig.as_deref(),
            },
            View::Help => MainView::Help,
            View::Chain(k) => {
                let title = format!("Chain {}", k.display());
                match &self.chain {
                    Some(track) if &track.key == k => MainView::Chain {
                        title,
                        view: panes::chain::view(track),
                    },
                    _ => waiting(&title, "loading".into()),
                }
            }
            View::Pod(k) => {
                let objs = self.settled_objects();
                let timeline = self.timeline.as_ref().filter(|t| &t.key == k);
                MainView::Pod(panes::pod::view(&objs, k, timeline, now))
            }
            View::Workload(k) => MainView::Workload {
                title: format!("{} {}", k.kind.name(), k.display()),
                view: panes::workload::view(&self.settled_objects(), k, now),
            },
            View::Detail(k) => MainView::Detail(panes::detail::view(&self.settled_objects(), k)),
            View::Watches => {
                let objs = self.settled_objects();
                let counts = |k| self.stores.len(k);
                let sel = selected_key(panes);
                MainView::Watches(panes::watch::view(
                    &self.watches,
                    &counts,
                    &objs,
                    sel.as_ref(),
                    now,
                ))
            }
            View::Slo => match (&self.feeds.metrics, &self.session.prometheus) {
                (Some(m), _) => MainView::Slo(panes::slo::view(
                    m,
                    &self.settled_objects(),
                    self.feeds.slo_selected,
                    now.timestamp(),
                    self.prom_outage(now),
                )),
                (None, Err(reason)) => MainView::NoPrometheus {
                    title: "SLO burn",
                    reason: reason.clone(),
                },
                (None, Ok(url)) => {
                    waiting("SLO burn", format!("waiting for the first poll of {url}"))
                }
            },
            View::Query => match &self.feeds.query {
                Some(r)
                    if self
                        .feeds
                        .query_pending
                        .as_deref()
                        .is_none_or(|q| q == r.query) =>
                {
                    MainView::Query(panes::query::view(
                        r,
                        self.prom_outage(now),
                        now.timestamp(),
                    ))
                }
                _ => match (&self.session.prometheus, &self.feeds.query_pending) {
                    (Err(reason), _) => MainView::NoPrometheus {
                        title: "Query",
                        reason: reason.clone(),
                    },
                    (Ok(_), Some(q)) => waiting("Query", format!("running {q}")),
                    (Ok(_), None) => waiting("Query", ":query PROMQL or :range PROMQL".into()),
                },
            },
            View::Triage(target) => MainView::Triage(panes::triage::view(
                target,
                self.triage
                    .report
                    .as_ref()
                    .filter(|_| self.triage.target.as_ref() == Some(target)),
                self.triage.selected,
                now,
            )),
            View::Logs(k) => match &self.logs {
                Some(t) if &t.pod == k => MainView::Logs(panes::logs::view(t)),
                _ => waiting(
                    &format!("Logs {}", k.display()),
                    "l on a pod opens its log".into(),
                ),
            },
            View::Lesson => match self.feeds.lesson_view(&self.session.lessons, now) {
                Some(v) => MainView::Lesson(v),
                None => {
                    let id = self.feeds.lesson.as_ref().map_or("", |l| l.id.as_str());
                    waiting(
                        "Lesson",
                        format!("starting lesson {id}: watching its objects"),
                    )
                }
            },
        }
    }
}

fn view_name(v: &View) -> &'static str {
    match v {
        View::Welcome => "welcome",
        View::Chain(_) => "chain",
        View::Pod(_) => "pod",
        View::Workload(_) => "workload",
        View::Detail(_) => "yaml",
        View::Watches => "watches",
        View::Help => "help",
        View::Slo => "slo",
        View::Query => "query",
        View::Lesson => "lesson",
        View::Triage(_) => "triage",
        View::Logs(_) => "logs",
    }
}
