//! Lessons (PURE): the `lesson.md` format, the check language, evaluation over a snapshot of
//! JSON objects with `now` as a parameter, solutions as data, and progress.
//!
//! A lesson grades the end state, never the keystrokes: each step's checks read live objects
//! (the same ones the panes show), and `observe` checks grade what was seen to happen.

pub mod check;
pub mod eval;
pub mod format;
pub mod manifests;
pub mod path;
pub mod progress;
pub mod solution;

#[cfg(test)]
mod tests;

pub use check::{Check, CheckBody, Target, TargetSelector};
pub use eval::{CheckResult, EvalContext, Objects, Outcome, PromAnswer, evaluate};
pub use format::{Lesson, LessonError, Step};
pub use progress::{LessonProgress, Progress, StepProgress, StepStatus};

impl Step {
    /// Evaluates every check of the step (one observation), updating `state`.
    pub fn evaluate(&self, ctx: &EvalContext, state: &mut StepProgress) -> Vec<CheckResult> {
        self.checks
            .iter()
            .map(|c| evaluate(c, ctx, state))
            .collect()
    }

    /// The kinds (and explicit namespaces) the step's checks read, for watches.
    pub fn targets(&self) -> Vec<&Target> {
        let mut out = Vec::new();
        for c in &self.checks {
            check_targets(c, &mut out);
        }
        out
    }
}

fn check_targets<'a>(c: &'a Check, out: &mut Vec<&'a Target>) {
    use check::{Matcher, Op};
    fn matcher<'a>(m: &'a Matcher, out: &mut Vec<&'a Target>) {
        match m {
            Matcher::Ops(ops) => {
                for op in ops {
                    match op {
                        Op::EqualsField(t, _) => out.push(t),
                        Op::Any(e) | Op::All(e) => expect(e, out),
                        _ => {}
                    }
                }
            }
            Matcher::Nested(e) => expect(e, out),
        }
    }
    fn expect<'a>(e: &'a check::Expect, out: &mut Vec<&'a Target>) {
        for (_, m) in &e.0 {
            matcher(m, out);
        }
    }
    match &c.body {
        CheckBody::Match(m) => {
            out.push(&m.target);
            if let check::ObjectTest::Expect(e) = &m.test {
                expect(e, out);
            }
        }
        CheckBody::Observe { entries, .. } => out.extend(entries.iter().map(|e| &e.target)),
        CheckBody::Input { expect: m, .. } | CheckBody::Promql { expect: m, .. } => matcher(m, out),
    }
}

impl Lesson {
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.id == id)
    }

    /// The step to work on: the first one neither done nor skipped (the last when all are).
    pub fn current_step(&self, progress: &LessonProgress) -> usize {
        self.steps
            .iter()
            .position(|s| progress.steps.get(&s.id).and_then(|p| p.status).is_none())
            .unwrap_or(self.steps.len().saturating_sub(1))
    }

    /// Every kind the lesson's checks, setup waits and invariants read.
    pub fn kinds(&self) -> Vec<&'static crate::kinds::Resource> {
        let mut targets: Vec<&Target> = self.steps.iter().flat_map(Step::targets).collect();
        for c in self.setup.wait.iter().chain(&self.invariants) {
            check_targets(c, &mut targets);
        }
        let mut out: Vec<&'static crate::kinds::Resource> = Vec::new();
        for t in targets {
            if !out.contains(&t.kind) {
                out.push(t.kind);
            }
        }
        out
    }
}
