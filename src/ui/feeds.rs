//! What the App keeps from its non-kube sources: the latest Prometheus frame, the last
//! query result, and the open lesson with the engine's latest evaluation.

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
    pub slo_selected: usize,
    pub query: Option<QueryResult>,
    /// Sent and not answered yet.
    pub query_pending: Option<String>,
    pub lesson: Option<LessonFeed>,
    /// The lesson step whose focus the tree last followed.
    pub focused_step: Option<(String, usize)>,
}

#[derive(Debug)]
pub struct LessonFeed {
    pub id: String,
    pub update: Option<EngineUpdate>,
}

impl Feeds {
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
