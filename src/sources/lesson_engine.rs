//! The lesson engine task: watches what the lesson's checks read, re-evaluates the current
//! step on every change (and on a tick, for `for:` durations and timed hints), latches a
//! step done when its checks pass and moves on, saves progress, and reports each new state
//! through a callback (the App turns it into a message).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::lesson::{self as live, LiveObjects};
use kdive_core::lesson::eval::{all_pass, match_check};
use kdive_core::lesson::progress::{LessonProgress, StepStatus};
use kdive_core::lesson::{CheckResult, EvalContext, Lesson};

/// What the App may ask of the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum EngineCmd {
    /// Evaluate now (the check-now key).
    CheckNow,
    /// Answer an input check of the current step.
    Answer {
        check: String,
        value: String,
    },
    /// Reveal the next hint of the current step.
    NextHint,
    /// Work on this step (by index) instead.
    Goto(usize),
    Stop,
}

/// The engine's view of the lesson after an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineUpdate {
    pub lesson_id: String,
    pub current: usize,
    pub progress: LessonProgress,
    /// Latest results by step id (the current step's are fresh).
    pub results: BTreeMap<String, Vec<CheckResult>>,
    /// For each hint of the current step: whether its `when` holds now.
    pub hints_when: Vec<bool>,
    /// The watches failed to start (retrying), or progress could not be saved.
    pub error: Option<String>,
    /// Every step is done (the final re-check of all steps passed).
    pub finished: bool,
}

/// Starts the engine for `lesson` on `client`, keeping progress in `progress_file`
/// (normally [`live::progress_path`] of the context).
pub fn spawn(
    client: kube::Client,
    lesson: Arc<Lesson>,
    progress_file: PathBuf,
    report: impl Fn(EngineUpdate) + Send + 'static,
) -> (
    tokio::task::JoinHandle<()>,
    mpsc::UnboundedSender<EngineCmd>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(run(client, lesson, progress_file, rx, report));
    (task, tx)
}

async fn run(
    client: kube::Client,
    lesson: Arc<Lesson>,
    progress_file: PathBuf,
    mut rx: mpsc::UnboundedReceiver<EngineCmd>,
    report: impl Fn(EngineUpdate),
) {
    let mut all = live::load_progress_file(&progress_file).unwrap_or_default();
    let mut progress = all.lessons.get(&lesson.id).cloned().unwrap_or_default();
    let mut saved = progress.clone();
    let mut current = lesson.current_step(&progress);
    let mut results: BTreeMap<String, Vec<CheckResult>> = BTreeMap::new();
    let mut last_sent: Option<EngineUpdate> = None;
    let mut objects = loop {
        match LiveObjects::start(&client, live::watch_keys(&lesson), Duration::from_secs(30)).await
        {
            Ok(o) => break o,
            Err(e) => {
                report(EngineUpdate {
                    lesson_id: lesson.id.clone(),
                    current,
                    progress: progress.clone(),
                    results: results.clone(),
                    hints_when: Vec::new(),
                    error: Some(e.to_string()),
                    finished: false,
                });
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    cmd = rx.recv() => if matches!(cmd, None | Some(EngineCmd::Stop)) { return },
                }
            }
        }
    };
    loop {
        let now = Utc::now();
        let objs = objects.objects();
        let ctx = EvalContext::offline(&objs, &lesson.namespace, now);
        let step = &lesson.steps[current];
        let state = progress.step(&step.id);
        state.started_at.get_or_insert(now);
        let rs = step.evaluate(&ctx, state);
        // Steps latch: done once, they stay done; only a step that just passed moves on.
        let newly_done = all_pass(&rs) && state.latch(StepStatus::Done, now);
        results.insert(step.id.clone(), rs);
        let hints_when: Vec<bool> = step
            .hints
            .iter()
            .map(|h| {
                h.when
                    .as_ref()
                    .is_some_and(|w| match_check(w, &ctx).is_ok())
            })
            .collect();
        let mut finished = false;
        if newly_done {
            let next = lesson.current_step(&progress);
            if next != current {
                current = next;
                progress
                    .step(&lesson.steps[current].id)
                    .started_at
                    .get_or_insert(now);
            } else {
                // The last step is done: re-check every step, as at the end of a course.
                finished = final_recheck(&lesson, &ctx, &mut progress, &mut results);
            }
        }
        let mut error = None;
        // Saved whenever it differs from what is on disk: sightings, answers, hints, steps.
        if progress != saved {
            progress.started_at.get_or_insert(now);
            all.lessons.insert(lesson.id.clone(), progress.clone());
            match live::save_progress_file(&progress_file, &all) {
                Ok(()) => saved = progress.clone(),
                Err(e) => error = Some(e.to_string()),
            }
        }
        let update = EngineUpdate {
            lesson_id: lesson.id.clone(),
            current,
            progress: progress.clone(),
            results: results.clone(),
            hints_when,
            error,
            finished,
        };
        if last_sent.as_ref() != Some(&update) {
            report(update.clone());
            last_sent = Some(update);
        }
        // Wait for a change, a command, or the tick that moves `for:` timers and hints.
        tokio::select! {
            _ = objects.next(Duration::from_millis(500)) => {}
            cmd = rx.recv() => match cmd {
                None | Some(EngineCmd::Stop) => return,
                Some(EngineCmd::CheckNow) => {}
                Some(EngineCmd::Answer { check, value }) => {
                    progress.step(&lesson.steps[current].id).answers.insert(check, value);
                }
                Some(EngineCmd::NextHint) => {
                    let step = &lesson.steps[current];
                    let st = progress.step(&step.id);
                    st.hints_shown = (st.hints_shown + 1).min(step.hints.len());
                }
                Some(EngineCmd::Goto(i)) if i < lesson.steps.len() => current = i,
                Some(EngineCmd::Goto(_)) => {}
            },
        }
    }
}

/// Evaluates every step once more; a step that no longer passes shows it (its status stays:
/// steps are latched). True when all pass.
fn final_recheck(
    lesson: &Lesson,
    ctx: &EvalContext,
    progress: &mut LessonProgress,
    results: &mut BTreeMap<String, Vec<CheckResult>>,
) -> bool {
    let mut all = true;
    for s in &lesson.steps {
        let rs = s.evaluate(ctx, progress.step(&s.id));
        all &= all_pass(&rs);
        results.insert(s.id.clone(), rs);
    }
    all
}

/// When a step was started, for timed hints.
pub fn step_started(progress: &LessonProgress, step: &str) -> Option<DateTime<Utc>> {
    progress.steps.get(step).and_then(|s| s.started_at)
}
