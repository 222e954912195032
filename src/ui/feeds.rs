//! What the App keeps from its non-kube sources: the latest Prometheus frame, the last
//! query result, whether Prometheus is reachable, and the open lesson with the engine's
//! latest evaluation.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::sources::lesson_engine::{EngineUpdate, step_started};
use crate::ui::panes::lesson::{self as lesson_pane, LessonView};
use crate::ui::panes::query::QueryResult;
use kdive_core::lesson::format::Lesson;
use kdive_core::metrics::frame::MetricsFrame;

#[derive(Debug, Default)]
pub struct Feeds {
    pub metrics: Option<MetricsFrame>,
    /// Prometheus could not be reached by the last request to it.
    pub prom_down: Option<PromOutage>,
    pub slo_selected: usize,
    pub query: Option<QueryResult>,
    /// Sent and not answered yet.
    pub query_pending: Option<String>,
    pub lesson: Option<LessonFeed>,
    /// The lesson step whose focus the tree last followed.
    pub focused_step: Option<(String, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PromOutage {
    /// When the first failed request came back.
    pub since: DateTime<Utc>,
    /// The latest failure, named.
    pub failure: String,
}

#[derive(Debug)]
pub struct LessonFeed {
    pub id: String,
    pub update: Option<EngineUpdate>,
}

impl Feeds {
    /// Records whether Prometheus answered; an outage keeps the time it began. Returns
    /// whether anything shown changed.
    pub fn prom_reach(&mut self, outage: Option<String>, now: DateTime<Utc>) -> bool {
        match (outage, &mut self.prom_down) {
            (None, down) => down.take().is_some(),
            (Some(failure), Some(down)) => {
                let changed = down.failure != failure;
                down.failure = failure;
                changed
            }
            (Some(failure), down @ None) => {
                *down = Some(PromOutage {
                    since: now,
                    failure,
                });
                true
            }
        }
    }

    /// A query came back. While Prometheus is unreachable a failed query does not replace
    /// the last answer: the pane keeps it, with its age, under the outage banner.
    pub fn query_done(&mut self, result: QueryResult) {
        if self.query_pending.as_deref() == Some(result.query.as_str()) {
            self.query_pending = None;
        }
        let keep_last = result.result.is_err()
            && self.prom_down.is_some()
            && self.query.as_ref().is_some_and(|q| q.result.is_ok());
        if !keep_last {
            self.query = Some(result);
        }
    }

    pub fn open_lesson(&mut self, id: &str) {
        self.lesson = Some(LessonFeed {
            id: id.to_string(),
            update: None,
        });
    }

    pub fn lesson_update(&mut self, update: EngineUpdate) {
        match self.lesson.as_mut() {
            Some(l) if l.id == update.lesson_id => l.update = Some(update),
            _ => {}
        }
    }

    /// The lesson pane's view-model, once the engine has reported.
    pub fn lesson_view(&self, library: &[Arc<Lesson>], now: DateTime<Utc>) -> Option<LessonView> {
        let feed = self.lesson.as_ref()?;
        let lesson = library.iter().find(|l| l.id == feed.id)?;
        let u = feed.update.as_ref()?;
        let step = lesson.steps.get(u.current)?;
        let shown = u.progress.steps.get(&step.id).map_or(0, |s| s.hints_shown);
        let hints = lesson_pane::offered_hints(
            &step.hints,
            shown,
            step_started(&u.progress, &step.id),
            &u.hints_when,
            now,
        );
        Some(lesson_pane::view(
            lesson,
            &u.progress,
            &u.results,
            u.current,
            hints,
        ))
    }
}
