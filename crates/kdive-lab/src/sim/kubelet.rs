//! kubelet's container state machine for one pod: creation, probes, exits, restarts with
//! CrashLoopBackOff back-off, graceful termination, and the pod status it writes.
//!
//! Pure: `step(state, input)` simulates every due moment up to `input.now` and returns the
//! new state, the status to write, the events, and when to call again.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use k8s_openapi::api::core::v1::{Container, ObjectReference, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::catalog::Catalog;
use super::probes::{self, Held, Outcome, ProbeKind, Timing, Worker};
use super::process::Process;
use crate::controllers::{EventRecord, object_ref};

mod status;
use status::pod_status;

/// Sandbox creation and the (cached) image before the first container starts.
pub const CREATE_MS: i64 = 1_000;
pub const BACKOFF_INITIAL_MS: i64 = 10_000;
/// PLEG's relist period: an exit shows as Terminated (e.g. `OOMKilled` in `kubectl get
/// pods`) until kubelet's next sync turns it into `CrashLoopBackOff`.
pub const RELIST_MS: i64 = 1_000;
pub const BACKOFF_MAX_MS: i64 = 300_000;
const DEFAULT_GRACE_SECONDS: i64 = 30;

/// What kubelet reads for one pod.
#[derive(Debug, Clone)]
pub struct Input<'a> {
    pub pod: &'a Pod,
    pub catalog: &'a Catalog,
    pub node_name: &'a str,
    pub host_ip: &'a str,
    /// Allocated from the node's podCIDR by the caller.
    pub pod_ip: &'a str,
    pub seed: u64,
    pub now: DateTime<Utc>,
}

/// What kubelet would do.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The status to write (through `/status`).
    pub status: PodStatus,
    pub events: Vec<EventRecord>,
    /// Call `step` again at this time at the latest (a probe, an exit, a back-off end).
    pub next_wakeup: Option<DateTime<Utc>>,
    /// The pod was deleted and all its containers stopped: delete it with grace 0.
    pub delete: bool,
    /// Every probe run, in time order: what kubelet counts in `prober_probe_total`.
    pub probes: Vec<ProbeRun>,
}

/// The `result` label of `prober_probe_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeResult {
    Successful,
    Failed,
    /// The probe could not be run (e.g. a named port that does not exist).
    Unknown,
}

impl ProbeResult {
    pub fn as_str(self) -> &'static str {
        match self {
            ProbeResult::Successful => "successful",
            ProbeResult::Failed => "failed",
            ProbeResult::Unknown => "unknown",
        }
    }
}

/// One probe kubelet ran.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeRun {
    pub kind: ProbeKind,
    pub container: String,
    pub result: ProbeResult,
    pub time: DateTime<Utc>,
}

/// A finished container incarnation.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub started: i64,
    pub finished: i64,
    pub code: i32,
    pub reason: String,
    pub container_id: String,
}

/// A pending stop: SIGTERM was sent; it exits at `at` with `code`.
#[derive(Debug, Clone, PartialEq)]
struct Stop {
    at: i64,
    code: i32,
    reason: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Creating {
        until: i64,
    },
    Running {
        since: i64,
        stop: Option<Stop>,
    },
    /// Waiting `CrashLoopBackOff` until `until`; until `relisted` the exit itself shows.
    BackOff {
        until: i64,
        relisted: bool,
    },
    /// Stopped for good (restart policy or pod deletion); `None` if it never ran.
    Done {
        term: Option<Term>,
    },
}

/// kubelet's memory of one container.
#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSim {
    phase: Phase,
    pub restart_count: i32,
    pub last: Option<Term>,
    /// The exit before `last`: the lastState while `last` still shows as the state.
    before_last: Option<Term>,
    incarnation: u32,
    workers: Vec<(Worker, i64)>,
    /// (current back-off, time of the exit it was computed from): flowcontrol.Backoff.
    backoff: Option<(i64, i64)>,
    /// When `ready` last changed, and to what.
    ready_change: (bool, i64),
}

/// kubelet's memory of one pod; start from `PodSim::default()`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PodSim {
    /// Milliseconds since the epoch when kubelet first saw the pod.
    origin: Option<i64>,
    containers: BTreeMap<String, ContainerSim>,
    /// Condition type → (status, lastTransitionTime ms).
    conditions: BTreeMap<&'static str, (bool, i64)>,
    /// When the deletion was noticed (SIGTERM time).
    deleting: Option<i64>,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn time(ms: i64) -> Time {
    // Kubernetes writes Time with second precision.
    let secs = ms.div_euclid(1000);
    Time(k8s_openapi::jiff::Timestamp::from_second(secs).unwrap_or_default())
}

fn datetime(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn hex64(parts: &[&str]) -> String {
    let mut out = String::new();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        h = (h ^ 0xff).wrapping_mul(0x100_0000_01b3);
    }
    for i in 0..4u64 {
        let v = (super::process::unit_random(h, i) * (u64::MAX as f64)) as u64;
        out.push_str(&format!("{v:016x}"));
    }
    out
}

/// `name_namespace(uid)`, as kubelet's `format.Pod` writes a pod in messages.
pub fn format_pod(pod: &Pod) -> String {
    format!(
        "{}_{}({})",
        pod.metadata.name.as_deref().unwrap_or(""),
        pod.metadata.namespace.as_deref().unwrap_or(""),
        pod.metadata.uid.as_deref().unwrap_or("")
    )
}

/// The `imageID` a containerd node reports: the repository with a digest.
pub fn image_id(image: &str) -> String {
    let repo = image.split('@').next().unwrap_or(image);
    let last = repo.rfind('/').map_or(0, |i| i + 1);
    let repo = match repo[last..].find(':') {
        Some(i) => &repo[..last + i],
        None => repo,
    };
    let full = match repo.matches('/').count() {
        0 => format!("docker.io/library/{repo}"),
        _ if !repo.split('/').next().unwrap_or("").contains('.') => format!("docker.io/{repo}"),
        _ => repo.to_string(),
    };
    format!("{full}@sha256:{}", hex64(&[image]))
}

struct Ctx<'a, 'b> {
    input: &'b Input<'a>,
    events: Vec<EventRecord>,
    probes: Vec<ProbeRun>,
    grace_ms: i64,
}

impl Ctx<'_, '_> {
    fn event(
        &mut self,
        at: i64,
        c: &Container,
        type_: &'static str,
        reason: &str,
        message: String,
    ) {
        let pod = self.input.pod;
        self.events.push(EventRecord {
            type_,
            reason: reason.to_string(),
            message,
            involved: ObjectReference {
                field_path: Some(format!("spec.containers{{{}}}", c.name)),
                ..object_ref("v1", "Pod", &pod.metadata)
            },
            component: "kubelet",
            host: Some(self.input.node_name.to_string()),
            time: datetime(at),
        });
    }

    fn container_id(&self, c: &Container, incarnation: u32) -> String {
        let uid = self.input.pod.metadata.uid.as_deref().unwrap_or("");
        format!(
            "containerd://{}",
            hex64(&[uid, &c.name, &incarnation.to_string()])
        )
    }
}

fn make_process<'c>(input: &Input<'c>, c: &Container, incarnation: u32) -> Process<'c> {
    let name_hash = u64::from_str_radix(&hex64(&[&c.name])[..16], 16).unwrap_or(0);
    let seed = input.seed ^ name_hash ^ u64::from(incarnation).wrapping_mul(0x9E37_79B9);
    let image = input.catalog.lookup(c.image.as_deref().unwrap_or(""));
    Process::new(image, c, seed)
}

/// Go's `time.Duration` text for whole seconds: `10s`, `1m20s`, `5m0s`.
pub fn go_duration(secs: i64) -> String {
    if secs < 60 {
        format!("{secs}s")
    } else if secs < 3600 {
        format!("{}m{}s", secs / 60, secs % 60)
    } else {
        format!("{}h{}m{}s", secs / 3600, secs % 3600 / 60, secs % 60)
    }
}

fn grace_of(pod: &Pod, override_seconds: Option<i64>) -> i64 {
    let secs = override_seconds
        .or_else(|| pod.spec.as_ref()?.termination_grace_period_seconds)
        .unwrap_or(DEFAULT_GRACE_SECONDS);
    // kubelet never gives less than its minimum of 2 seconds.
    secs.max(2) * 1000
}

fn restart_policy(pod: &Pod) -> &str {
    pod.spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or("Always")
}

const KINDS: [ProbeKind; 3] = [
    ProbeKind::Startup,
    ProbeKind::Liveness,
    ProbeKind::Readiness,
];

impl ContainerSim {
    fn new(until: i64) -> ContainerSim {
        ContainerSim {
            phase: Phase::Creating { until },
            restart_count: 0,
            last: None,
            before_last: None,
            incarnation: 0,
            workers: Vec::new(),
            backoff: None,
            ready_change: (false, until - CREATE_MS),
        }
    }

    fn stopping(&self) -> bool {
        matches!(self.phase, Phase::Running { stop: Some(_), .. })
    }

    fn started(&self) -> bool {
        matches!(self.phase, Phase::Running { .. })
            && self
                .workers
                .iter()
                .all(|(w, _)| w.kind != ProbeKind::Startup || w.held == Held::Success)
    }

    fn ready(&self) -> bool {
        self.started()
            && self
                .workers
                .iter()
                .all(|(w, _)| w.kind != ProbeKind::Readiness || w.held == Held::Success)
    }

    /// The earliest moment this container has something to do.
    fn due(&self, input: &Input<'_>, c: &Container, deleting: Option<i64>) -> Option<i64> {
        match &self.phase {
            Phase::Creating { until } => Some(deleting.map_or(*until, |d| d.min(*until))),
            Phase::BackOff { until, relisted } => {
                let shown = self
                    .last
                    .as_ref()
                    .map_or(*until, |l| l.finished + RELIST_MS);
                let next = if *relisted { *until } else { shown.min(*until) };
                Some(deleting.map_or(next, |d| d.min(next)))
            }
            Phase::Done { .. } => None,
            Phase::Running { since, stop } => {
                let exit = make_process(input, c, self.incarnation)
                    .natural_exit()
                    .map(|e| since + (e.after * 1000.0).round() as i64);
                let delete = deleting.filter(|_| stop.is_none()).map(|d| d.max(*since));
                let ticks = self.workers.iter().map(|(_, next)| *next);
                [exit, stop.as_ref().map(|s| s.at), delete]
                    .into_iter()
                    .flatten()
                    .chain(ticks)
                    .min()
            }
        }
    }
}

/// Starts a new incarnation at `t`.
fn start(ctx: &mut Ctx<'_, '_>, sim: &mut ContainerSim, c: &Container, t: i64) {
    sim.incarnation += 1;
    sim.phase = Phase::Running {
        since: t,
        stop: None,
    };
    sim.workers = KINDS
        .into_iter()
        .filter(|k| k.of(c).is_some())
        .map(|k| (Worker::new(k), t))
        .collect();
    let image = c.image.clone().unwrap_or_default();
    ctx.event(
        t,
        c,
        "Normal",
        "Pulled",
        format!("Container image \"{image}\" already present on machine"),
    );
    ctx.event(
        t,
        c,
        "Normal",
        "Created",
        format!("Created container: {}", c.name),
    );
    ctx.event(
        t,
        c,
        "Normal",
        "Started",
        format!("Started container {}", c.name),
    );
}

/// kubelet's `flowcontrol.Backoff.Next`: 10s, doubling to 300s; an entry whose last update
/// is more than twice the maximum (10 minutes) old starts again at 10s.
fn next_backoff(sim: &mut ContainerSim, at: i64) {
    let delay = match sim.backoff {
        Some((d, last)) if at - last <= 2 * BACKOFF_MAX_MS => (d * 2).min(BACKOFF_MAX_MS),
        _ => BACKOFF_INITIAL_MS,
    };
    sim.backoff = Some((delay, at));
}

/// The container exited at `t`: restart it now, wait in back-off, or stop for good.
fn exited(
    ctx: &mut Ctx<'_, '_>,
    sim: &mut ContainerSim,
    c: &Container,
    t: i64,
    code: i32,
    reason: &str,
    deleting: bool,
) {
    let Phase::Running { since, .. } = sim.phase else {
        return;
    };
    let term = Term {
        started: since,
        finished: t,
        code,
        reason: reason.to_string(),
        container_id: ctx.container_id(c, sim.incarnation),
    };
    sim.workers.clear();
    let restart = !deleting
        && match restart_policy(ctx.input.pod) {
            "Never" => false,
            "OnFailure" => code != 0,
            _ => true,
        };
    if !restart {
        sim.phase = Phase::Done { term: Some(term) };
        return;
    }
    sim.before_last = sim.last.replace(term);
    // doBackOff: still within the back-off counted from this exit?
    let in_backoff = sim
        .backoff
        .is_some_and(|(d, last)| t - last <= 2 * BACKOFF_MAX_MS && d > 0);
    if in_backoff {
        let until = t + sim.backoff.map_or(0, |(d, _)| d);
        sim.phase = Phase::BackOff {
            until,
            relisted: false,
        };
        ctx.event(
            t,
            c,
            "Warning",
            "BackOff",
            format!(
                "Back-off restarting failed container {} in pod {}",
                c.name,
                format_pod(ctx.input.pod)
            ),
        );
    } else {
        next_backoff(sim, t);
        sim.restart_count += 1;
        start(ctx, sim, c, t);
    }
}

/// SIGTERM at `t` with `grace_ms`: when it exits, and how.
fn sigterm(input: &Input<'_>, sim: &ContainerSim, c: &Container, t: i64, grace_ms: i64) -> Stop {
    match make_process(input, c, sim.incarnation).on_sigterm() {
        Some((delay, code)) if ((delay * 1000.0).round() as i64) < grace_ms => Stop {
            at: t + (delay * 1000.0).round() as i64,
            code,
            reason: if code == 0 { "Completed" } else { "Error" },
        },
        // SIGKILL at the end of the grace period: 128 + 9.
        _ => Stop {
            at: t + grace_ms,
            code: 137,
            reason: "Error",
        },
    }
}

/// Does everything due for one container at `t`.
fn handle(
    ctx: &mut Ctx<'_, '_>,
    sim: &mut ContainerSim,
    c: &Container,
    t: i64,
    deleting: Option<i64>,
) {
    let input = ctx.input;
    match sim.phase.clone() {
        Phase::Creating { .. } | Phase::BackOff { .. } if deleting.is_some_and(|d| d <= t) => {
            sim.phase = Phase::Done { term: None };
        }
        Phase::Creating { .. } => start(ctx, sim, c, t),
        Phase::BackOff {
            until,
            relisted: false,
        } if t < until => {
            sim.phase = Phase::BackOff {
                until,
                relisted: true,
            };
        }
        Phase::BackOff { .. } => {
            let finished = sim.last.as_ref().map_or(t, |l| l.finished);
            next_backoff(sim, finished);
            sim.restart_count += 1;
            start(ctx, sim, c, t);
        }
        Phase::Done { .. } => {}
        Phase::Running { since, stop } => {
            let process = make_process(input, c, sim.incarnation);
            let natural = process
                .natural_exit()
                .map(|e| (since + (e.after * 1000.0).round() as i64, e));
            // A stop that comes before any natural exit ends it.
            if let Some(s) = stop
                .as_ref()
                .filter(|s| s.at <= t && natural.as_ref().is_none_or(|(at, _)| *at > s.at))
            {
                let (code, reason) = (s.code, s.reason);
                exited(ctx, sim, c, t, code, reason, deleting.is_some());
                return;
            }
            if let Some((_, e)) = natural.filter(|(at, _)| *at <= t) {
                exited(ctx, sim, c, t, e.code, e.reason, deleting.is_some());
                return;
            }
            if stop.is_none() && deleting.is_some_and(|d| d <= t) {
                ctx.event(
                    t,
                    c,
                    "Normal",
                    "Killing",
                    format!("Stopping container {}", c.name),
                );
                let s = sigterm(input, sim, c, t, ctx.grace_ms);
                sim.phase = Phase::Running {
                    since,
                    stop: Some(s),
                };
                return;
            }
            tick_probes(ctx, sim, c, t, since, &process);
        }
    }
}

fn tick_probes(
    ctx: &mut Ctx<'_, '_>,
    sim: &mut ContainerSim,
    c: &Container,
    t: i64,
    since: i64,
    process: &Process<'_>,
) {
    let input = ctx.input;
    let startup_done = sim
        .workers
        .iter()
        .all(|(w, _)| w.kind != ProbeKind::Startup || w.held == Held::Success);
    for i in 0..sim.workers.len() {
        let (worker, next) = &sim.workers[i];
        if *next > t {
            continue;
        }
        let kind = worker.kind;
        let Some(probe) = kind.of(c) else { continue };
        let timing = Timing::of(probe);
        sim.workers[i].1 = next + timing.period_seconds * 1000;
        let stopping = sim.stopping();
        let worker = &sim.workers[i].0;
        // Skips, as the worker's doProbe does: held after a kill, while stopping (only
        // readiness keeps going), before initialDelaySeconds (whole seconds), liveness and
        // readiness until the startup probe succeeded, startup once it has.
        if worker.on_hold
            || (stopping && kind != ProbeKind::Readiness)
            || (t - since) / 1000 < timing.initial_delay_seconds
            || (kind != ProbeKind::Startup && !startup_done)
            || (kind == ProbeKind::Startup && worker.held == Held::Success)
        {
            continue;
        }
        let key = (t as u64) ^ ((i as u64) << 56);
        let outcome = probes::run(
            kind,
            probe,
            c,
            input.pod_ip,
            process,
            (t - since) as f64 / 1000.0,
            key,
        );
        let result = match &outcome {
            Outcome::Success => ProbeResult::Successful,
            // probes::run words a probe it could not run this way, as kubelet does.
            Outcome::Failure(msg) if msg.contains(" probe errored") => ProbeResult::Unknown,
            Outcome::Failure(_) => ProbeResult::Failed,
        };
        ctx.probes.push(ProbeRun {
            kind,
            container: c.name.clone(),
            result,
            time: datetime(t),
        });
        if let Outcome::Failure(msg) = &outcome {
            ctx.event(t, c, "Warning", "Unhealthy", msg.clone());
        }
        let changed = sim.workers[i]
            .0
            .record(outcome == Outcome::Success, &timing);
        if changed == Some(Held::Failure) && kind != ProbeKind::Readiness && !stopping {
            let which = if kind == ProbeKind::Liveness {
                "liveness"
            } else {
                "startup"
            };
            ctx.event(
                t,
                c,
                "Normal",
                "Killing",
                format!(
                    "Container {} failed {which} probe, will be restarted",
                    c.name
                ),
            );
            let grace = grace_of(input.pod, probe.termination_grace_period_seconds);
            let s = sigterm(input, sim, c, t, grace);
            sim.phase = Phase::Running {
                since,
                stop: Some(s),
            };
        }
    }
}

/// Simulates the pod from where `state` left off up to `input.now`.
pub fn step(state: &PodSim, input: &Input<'_>) -> (PodSim, Output) {
    let pod = input.pod;
    let now = ms(input.now);
    let mut st = state.clone();
    let origin = *st.origin.get_or_insert(now);
    let containers: &[Container] = pod.spec.as_ref().map_or(&[], |s| &s.containers);
    // The delete request came `deletionGracePeriodSeconds` before `deletionTimestamp`.
    let del_grace = pod.metadata.deletion_grace_period_seconds;
    let deleting = pod.metadata.deletion_timestamp.as_ref().map(|ts| {
        let at = ts.0.as_millisecond() - del_grace.unwrap_or(0) * 1000;
        *st.deleting.get_or_insert(at.clamp(origin, now))
    });
    let mut ctx = Ctx {
        input,
        events: Vec::new(),
        probes: Vec::new(),
        grace_ms: grace_of(pod, del_grace),
    };
    for c in containers {
        let sim = st
            .containers
            .entry(c.name.clone())
            .or_insert_with(|| ContainerSim::new(origin + CREATE_MS));
        // Every moment has progress (a phase change or a tick a period later); the cap
        // only guards against a bug turning into a hang.
        for _ in 0..1_000_000 {
            let Some(t) = sim.due(input, c, deleting).filter(|t| *t <= now) else {
                break;
            };
            handle(&mut ctx, sim, c, t, deleting);
            let r = sim.ready();
            if r != sim.ready_change.0 {
                sim.ready_change = (r, t);
            }
        }
    }
    let next_wakeup = containers
        .iter()
        .filter_map(|c| st.containers.get(&c.name)?.due(input, c, deleting))
        .min()
        .map(datetime);
    let mut events = ctx.events;
    events.sort_by_key(|e| e.time);
    let mut probes = ctx.probes;
    probes.sort_by_key(|p| p.time);
    let (status, delete) = pod_status(&mut st, input, containers, deleting.is_some(), now);
    (
        st,
        Output {
            status,
            events,
            next_wakeup,
            delete,
            probes,
        },
    )
}
