//! On-call triage: from the one object set (plus Events, previous-run logs and SLO burn when
//! there are some) to ranked findings that name a root cause with its evidence, what changed
//! before it, and the next command.
//!
//! Rules (`pods`, `services`, `workloads`, `cluster`) each yield findings about *subjects*
//! (the objects at fault) that *need* other objects to be healthy; `rank` links a finding to
//! the symptoms whose needs it touches, so the first finding is a cause, never a symptom.

mod changes;
mod cluster;
mod events;
mod index;
mod pods;
mod policy;
mod rank;
mod scope;
mod services;
mod template_diff;
mod workloads;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_rank;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use crate::metrics::{SloDef, burn::Burn};
use crate::model::Objects;

pub use changes::ChangeLog;
use changes::changes_in_window;
pub use scope::{Target, TargetError, TargetKind};
pub use template_diff::{TemplateSummary, template_changes};

/// Every cause code triage knows. Codes are public API (`-o json`): a new meaning gets a new
/// code, an old code never changes meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause {
    SelectorMatchesNothing,
    ScaledToZero,
    TargetPortMismatch,
    ReadinessFailing,
    LivenessRestarts,
    CrashLoop,
    OomKilled,
    Unschedulable,
    PvcPending,
    ConfigMissing,
    ImagePull,
    RolloutStuck,
    DnsUnavailable,
    NetworkPolicyDenies,
    QuotaExceeded,
    NodeNotReady,
    EndpointsNotReady,
    SloBurn,
}

impl Cause {
    pub const ALL: [Cause; 18] = [
        Cause::SelectorMatchesNothing,
        Cause::ScaledToZero,
        Cause::TargetPortMismatch,
        Cause::ReadinessFailing,
        Cause::LivenessRestarts,
        Cause::CrashLoop,
        Cause::OomKilled,
        Cause::Unschedulable,
        Cause::PvcPending,
        Cause::ConfigMissing,
        Cause::ImagePull,
        Cause::RolloutStuck,
        Cause::DnsUnavailable,
        Cause::NetworkPolicyDenies,
        Cause::QuotaExceeded,
        Cause::NodeNotReady,
        Cause::EndpointsNotReady,
        Cause::SloBurn,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Cause::SelectorMatchesNothing => "selector-matches-nothing",
            Cause::ScaledToZero => "scaled-to-zero",
            Cause::TargetPortMismatch => "target-port-mismatch",
            Cause::ReadinessFailing => "readiness-failing",
            Cause::LivenessRestarts => "liveness-restarts",
            Cause::CrashLoop => "crash-loop",
            Cause::OomKilled => "oom-killed",
            Cause::Unschedulable => "unschedulable",
            Cause::PvcPending => "pvc-pending",
            Cause::ConfigMissing => "config-missing",
            Cause::ImagePull => "image-pull",
            Cause::RolloutStuck => "rollout-stuck",
            Cause::DnsUnavailable => "dns-unavailable",
            Cause::NetworkPolicyDenies => "network-policy-denies",
            Cause::QuotaExceeded => "quota-exceeded",
            Cause::NodeNotReady => "node-not-ready",
            Cause::EndpointsNotReady => "endpoints-not-ready",
            Cause::SloBurn => "slo-burn",
        }
    }

    /// What a user sees and does not control directly: it always has a cause behind it.
    pub fn is_symptom(self) -> bool {
        matches!(self, Cause::EndpointsNotReady | Cause::SloBurn)
    }

    /// How far down the chain from symptom to cause: when two findings could explain each
    /// other, the deeper one is the cause (a node before its pods, a claim before the pod
    /// that waits for it, a pod's failure before the rollout it stalls).
    fn depth(self) -> u8 {
        match self {
            Cause::SloBurn => 0,
            Cause::EndpointsNotReady => 1,
            Cause::RolloutStuck => 2,
            Cause::ReadinessFailing | Cause::LivenessRestarts | Cause::Unschedulable => 3,
            Cause::CrashLoop => 4,
            Cause::OomKilled
            | Cause::ConfigMissing
            | Cause::ImagePull
            | Cause::QuotaExceeded
            | Cause::ScaledToZero
            | Cause::TargetPortMismatch
            | Cause::NetworkPolicyDenies => 5,
            Cause::SelectorMatchesNothing | Cause::PvcPending | Cause::DnsUnavailable => 6,
            Cause::NodeNotReady => 7,
        }
    }
}

impl Serialize for Cause {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// An object a finding or change is about. `namespace` is null for cluster-scoped kinds.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    pub fn namespaced(kind: &str, namespace: &str, name: &str) -> ObjectRef {
        ObjectRef::new(kind, Some(namespace), name)
    }

    /// `Kind ns/name` (or `Kind name`), as summaries print it.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} {ns}/{}", self.kind, self.name),
            None => format!("{} {}", self.kind, self.name),
        }
    }

    /// kubectl's `kind/name` for commands (`deployment/web`).
    pub fn kubectl(&self) -> String {
        format!("{}/{}", self.kind.to_lowercase(), self.name)
    }

    /// ` -n ns` for kubectl commands, empty for cluster-scoped objects.
    pub fn ns_flag(&self) -> String {
        self.namespace
            .as_deref()
            .map(|ns| format!(" -n {ns}"))
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EvidenceSource {
    Event,
    Probe,
    Termination,
    Scheduler,
    Selector,
    Port,
    Log,
    Metric,
}

impl EvidenceSource {
    /// The JSON name, also what the text report and the pane print.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceSource::Event => "event",
            EvidenceSource::Probe => "probe",
            EvidenceSource::Termination => "termination",
            EvidenceSource::Scheduler => "scheduler",
            EvidenceSource::Selector => "selector",
            EvidenceSource::Port => "port",
            EvidenceSource::Log => "log",
            EvidenceSource::Metric => "metric",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    pub source: EvidenceSource,
    pub text: String,
    pub count: u32,
}

impl Evidence {
    pub fn new(source: EvidenceSource, text: impl Into<String>) -> Evidence {
        Evidence {
            source,
            text: text.into(),
            count: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rank: usize,
    pub severity: Severity,
    pub cause: Cause,
    pub object: ObjectRef,
    pub summary: String,
    pub evidence: Vec<Evidence>,
    #[serde(serialize_with = "rfc3339_opt")]
    pub since: Option<DateTime<Utc>>,
    pub next: Vec<String>,
    /// Ranks of the findings this one explains.
    pub explains: Vec<usize>,
    /// The container the evidence is about, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The workload the object belongs to and how many of its pods share the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<ObjectRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub affected: Option<Affected>,
    /// The objects at fault: another finding that needs one of these is explained by this.
    #[serde(skip)]
    pub subjects: Vec<ObjectRef>,
    /// The objects whose health this finding depends on.
    #[serde(skip)]
    pub needs: Vec<ObjectRef>,
    /// The object (a Service) serves nothing: no ready endpoint, or none that can work.
    #[serde(skip)]
    pub serves_nothing: bool,
}

/// `count` of `of` pods (of the owner) share the finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Affected {
    pub count: usize,
    pub of: usize,
}

impl Finding {
    pub fn new(cause: Cause, severity: Severity, object: ObjectRef, summary: String) -> Finding {
        Finding {
            rank: 0,
            severity,
            cause,
            subjects: vec![object.clone()],
            object,
            summary,
            evidence: Vec::new(),
            since: None,
            next: Vec::new(),
            explains: Vec::new(),
            container: None,
            owner: None,
            affected: None,
            needs: Vec::new(),
            serves_nothing: false,
        }
    }

    /// Keeps the earliest of the times given.
    pub(crate) fn seen_at(&mut self, t: Option<DateTime<Utc>>) {
        if let Some(t) = t {
            self.since = Some(self.since.map_or(t, |s| s.min(t)));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Healthy,
    Degraded,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    High,
    Reduced,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    #[serde(serialize_with = "rfc3339")]
    pub at: DateTime<Utc>,
    pub object: ObjectRef,
    pub what: String,
}

/// What `kdive triage -o json` prints (shape in the README).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub target: Option<ObjectRef>,
    pub verdict: Verdict,
    pub confidence: Confidence,
    pub gaps: Vec<String>,
    pub findings: Vec<Finding>,
    pub changes: Vec<Change>,
}

impl Report {
    pub fn critical(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Critical)
            .count()
    }
}

/// The last lines of a container's previous run, by namespace, pod and container.
pub type PreviousLogs = BTreeMap<(String, String, String), Vec<String>>;

/// Everything triage reads. Pure data: the CLI reads it from a cluster, the explorer from
/// its watch stores.
pub struct TriageInput<'a> {
    pub objects: &'a Objects,
    pub target: &'a Target,
    pub now: DateTime<Utc>,
    /// How far before the first symptom "what changed" looks.
    pub window: chrono::Duration,
    /// What could not be read (`events forbidden`): the verdict stands on less.
    pub gaps: Vec<String>,
    pub logs: &'a PreviousLogs,
    pub slos: &'a [(SloDef, Burn)],
    /// Changes the explorer saw happen, when it was running.
    pub history: Option<&'a ChangeLog>,
}

/// Triage of the target: ranked findings, the verdict, and what changed before.
pub fn triage(input: &TriageInput<'_>) -> Report {
    let scope = scope::Scope::of(input.objects, input.target);
    let events = events::EventIndex::of(input.objects, &scope);
    let index = index::Index::of(input.objects);
    let mut findings = Vec::new();
    let ctx = Ctx {
        objects: input.objects,
        scope: &scope,
        events: &events,
        index: &index,
        now: input.now,
        logs: input.logs,
    };
    findings.extend(cluster::findings(&ctx));
    findings.extend(workloads::findings(&ctx, input.target));
    findings.extend(pods::findings(&ctx));
    findings.extend(services::findings(&ctx));
    findings.extend(policy::findings(&ctx));
    findings.extend(services::slo_findings(&ctx, input.slos));
    if let Some(h) = input.history {
        // An edit the explorer saw is when a Service's own mistake began.
        for f in findings.iter_mut().filter(|f| {
            matches!(
                f.cause,
                Cause::SelectorMatchesNothing | Cause::TargetPortMismatch
            )
        }) {
            if let Some(at) = h
                .since(input.now - input.window)
                .filter(|c| c.object == f.object)
                .map(|c| c.at)
                .max()
            {
                f.since = Some(f.since.map_or(at, |s| s.max(at)));
            }
        }
    }
    let findings = rank::rank(findings);
    let verdict = rank::verdict(&ctx, input.target, &findings, input.slos);
    let first_symptom = findings.iter().filter_map(|f| f.since).min();
    let changes = changes_in_window(
        &ctx,
        input.history,
        first_symptom.unwrap_or(input.now) - input.window,
    );
    Report {
        target: input.target.object_ref(),
        verdict,
        confidence: if input.gaps.is_empty() {
            Confidence::High
        } else {
            Confidence::Reduced
        },
        gaps: input.gaps.clone(),
        findings,
        changes,
    }
}

/// What every rule reads.
pub(crate) struct Ctx<'a> {
    pub objects: &'a Objects,
    pub scope: &'a scope::Scope,
    pub events: &'a events::EventIndex<'a>,
    pub index: &'a index::Index<'a>,
    pub now: DateTime<Utc>,
    pub logs: &'a PreviousLogs,
}

pub(crate) fn rfc3339_string(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_string(*t))
}

fn rfc3339_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}
