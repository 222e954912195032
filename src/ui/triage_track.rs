//! The explorer's triage: the change log it keeps while it watches (so "what changed" is
//! exact when kdive was running), the open Triage pane's report (refreshed as objects
//! change), and the status bar's count of critical findings in the current namespace.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};

use kdive_core::metrics::SloDef;
use kdive_core::metrics::burn::Burn;
use kdive_core::model::Objects;
use kdive_core::model::kind::Kind;
use kdive_core::model::objects::ObjKey;
use kdive_core::triage::{self, ChangeLog, PreviousLogs, Report, Target, TargetKind, TriageInput};

/// How often the status bar's count is computed at most: it triages a whole namespace.
const COUNT_EVERY_SECONDS: i64 = 5;
/// What "what changed" looks back over, before the first symptom.
const WINDOW_MINUTES: i64 = 30;
/// Kinds whose changes the log records.
const LOGGED: [Kind; 6] = [
    Kind::Deployment,
    Kind::StatefulSet,
    Kind::Service,
    Kind::ConfigMap,
    Kind::Secret,
    Kind::Node,
];

#[derive(Debug, Default)]
pub struct TriageTrack {
    pub log: ChangeLog,
    /// The Triage pane's target and report, while it is open.
    pub target: Option<Target>,
    pub report: Option<Report>,
    /// The finding the cursor is on (an index into the report's findings).
    pub selected: usize,
    /// Critical findings in the tree's namespace (all namespaces: the whole cluster).
    pub critical: Option<usize>,
    pending: HashSet<Kind>,
    stale: bool,
    count_stale: bool,
    counted_at: Option<DateTime<Utc>>,
    /// What the explorer could not watch (403s), which triage must admit to.
    pub gaps: Vec<String>,
}

impl TriageTrack {
    /// Kinds changed since the last settle: the log and both reports need a new look.
    pub fn changed(&mut self, kinds: &HashSet<Kind>) {
        if kinds.is_empty() {
            return;
        }
        self.pending
            .extend(kinds.iter().copied().filter(|k| LOGGED.contains(k)));
        self.stale = true;
        self.count_stale = true;
    }

    pub fn open(&mut self, target: Target) {
        if self.target.as_ref() != Some(&target) {
            self.target = Some(target);
            self.report = None;
            self.selected = 0;
        }
        self.stale = true;
    }

    /// Brings the log, the open report and (at most every few seconds) the count up to date.
    /// Returns whether anything shown changed.
    pub fn settle(
        &mut self,
        objs: &Objects,
        scope: Option<&str>,
        pane_open: bool,
        slos: &[(SloDef, Burn)],
        now: DateTime<Utc>,
    ) -> bool {
        if !self.pending.is_empty() {
            let kinds: Vec<Kind> = self.pending.drain().collect();
            self.log.observe(objs, &kinds, now);
        }
        let mut shown = false;
        if pane_open
            && (self.stale || self.report.is_none())
            && let Some(target) = &self.target
        {
            let report = self.run(objs, target, slos, now);
            self.selected = self.selected.min(report.findings.len().saturating_sub(1));
            self.report = Some(report);
            self.stale = false;
            shown = true;
        }
        let due = self
            .counted_at
            .is_none_or(|t| now - t >= Duration::seconds(COUNT_EVERY_SECONDS));
        if (self.count_stale || self.critical.is_none()) && due && !objs.namespaces.is_empty() {
            let target = match scope {
                Some(ns) => Target::Namespace(ns.to_string()),
                None => Target::All,
            };
            let count = self.run(objs, &target, slos, now).critical();
            shown |= self.critical != Some(count);
            self.critical = Some(count);
            self.counted_at = Some(now);
            self.count_stale = false;
        }
        shown
    }

    /// Whether the count waits for its next turn (the run loop settles again then).
    pub fn count_due(&self, now: DateTime<Utc>) -> bool {
        self.count_stale
            && self
                .counted_at
                .is_none_or(|t| now - t >= Duration::seconds(COUNT_EVERY_SECONDS))
    }

    fn run(
        &self,
        objs: &Objects,
        target: &Target,
        slos: &[(SloDef, Burn)],
        now: DateTime<Utc>,
    ) -> Report {
        let logs = PreviousLogs::new();
        triage::triage(&TriageInput {
            objects: objs,
            target,
            now,
            window: Duration::minutes(WINDOW_MINUTES),
            gaps: self.gaps.clone(),
            logs: &logs,
            slos,
            history: Some(&self.log),
        })
    }

    pub fn select(&mut self, delta: isize) {
        let n = self.report.as_ref().map_or(0, |r| r.findings.len());
        if n == 0 {
            self.selected = 0;
            return;
        }
        let at = self.selected as isize + delta;
        self.selected = at.clamp(0, n as isize - 1) as usize;
    }

    /// The object of the finding under the cursor, as the tree and views name it.
    pub fn selected_object(&self) -> Option<ObjKey> {
        let f = self.report.as_ref()?.findings.get(self.selected)?;
        let kind = Kind::ALL.into_iter().find(|k| k.name() == f.object.kind)?;
        Some(ObjKey::new(
            kind,
            f.object.namespace.as_deref(),
            &f.object.name,
        ))
    }
}

/// The triage target for a tree selection: the object itself when triage takes its kind,
/// else its namespace (or everything, for cluster-scoped objects).
pub fn target_for(key: Option<&ObjKey>, scope: Option<&str>) -> Target {
    let Some(key) = key else {
        return scope.map_or(Target::All, |ns| Target::Namespace(ns.to_string()));
    };
    let kind = match key.kind {
        Kind::Service => Some(TargetKind::Service),
        Kind::Deployment => Some(TargetKind::Deployment),
        Kind::StatefulSet => Some(TargetKind::StatefulSet),
        Kind::Pod => Some(TargetKind::Pod),
        _ => None,
    };
    match (kind, &key.namespace) {
        (Some(kind), Some(ns)) => Target::Object {
            kind,
            namespace: ns.clone(),
            name: key.name.clone(),
        },
        (None, _) if key.kind == Kind::Namespace => Target::Namespace(key.name.clone()),
        (_, Some(ns)) => Target::Namespace(ns.clone()),
        (_, None) => Target::All,
    }
}

/// `:triage [TARGET]`: `svc/web` in the tree's namespace, `ns/x`, or the scope.
pub fn parse_target(arg: Option<&str>, scope: Option<&str>) -> Result<Target, String> {
    match (arg, scope) {
        (None, None) => Ok(Target::All),
        (arg, Some(ns)) => Target::parse(arg, ns, false).map_err(|e| e.to_string()),
        (Some(arg), None) if arg.starts_with("ns/") || arg.starts_with("namespace/") => {
            Target::parse(Some(arg), "default", false).map_err(|e| e.to_string())
        }
        (Some(arg), None) => Err(format!(
            "{arg}: pick a namespace first (:ns NAME), or name one with ns/NAME"
        )),
    }
}
