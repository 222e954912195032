//! Container logs, derived on request from the pod (spec, status) and the time: no log text
//! is stored. A run's log is a few one-off lines (start-up, last words) plus periodic
//! streams (probe requests in the access log, memory reports, checkpoints), each line at a
//! computable time, so counting, tailing and following cost no more than the lines sent.

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod};

use super::catalog::{Catalog, repository};
use super::log_text::{Flavor, Speaker};
use super::probes::{ProbeKind, Timing, resolve_port};
use super::process::{HttpOutcome, Process};

const MIB: f64 = 1024.0 * 1024.0;
/// How often a growing App reports its memory.
const MEMORY_EVERY_MS: i64 = 10_000;
/// postgres's default checkpoint_timeout.
const CHECKPOINT_EVERY_MS: i64 = 300_000;
/// kubelet's minimum grace period.
const MIN_GRACE_MS: i64 = 2_000;

/// One container incarnation, as the pod status shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub container_id: String,
    /// Milliseconds since the epoch (the status has whole seconds).
    pub started: i64,
    pub end: Option<Ended>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ended {
    pub finished: i64,
    pub code: i32,
    pub reason: String,
}

fn time_ms(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> i64 {
    t.map_or(0, |t| t.0.as_millisecond())
}

fn status_of<'p>(pod: &'p Pod, container: &str) -> Option<&'p ContainerStatus> {
    let st = pod.status.as_ref()?;
    st.container_statuses
        .iter()
        .flatten()
        .chain(st.init_container_statuses.iter().flatten())
        .find(|s| s.name == container)
}

fn terminated_run(
    t: &k8s_openapi::api::core::v1::ContainerStateTerminated,
    fallback_id: &str,
) -> Run {
    Run {
        container_id: t
            .container_id
            .clone()
            .unwrap_or_else(|| fallback_id.to_string()),
        started: time_ms(t.started_at.as_ref()),
        end: Some(Ended {
            finished: time_ms(t.finished_at.as_ref()),
            code: t.exit_code,
            reason: t.reason.clone().unwrap_or_default(),
        }),
    }
}

/// The run whose log kubelet serves, or its error, worded as kubelet's
/// `validateContainerLogStatus` (pkg/kubelet/kubelet_pods.go) words it.
pub fn select_run(pod: &Pod, container: &str, previous: bool) -> Result<Run, String> {
    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
    let Some(cs) = status_of(pod, container) else {
        return Err(format!(
            "container {container:?} in pod {pod_name:?} is not available"
        ));
    };
    let state = cs.state.clone().unwrap_or_default();
    let last = cs
        .last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .filter(|t| t.container_id.as_deref().is_some_and(|id| !id.is_empty()));
    let id = cs.container_id.as_deref().unwrap_or("");
    if previous {
        return last.map(|t| terminated_run(t, "")).ok_or_else(|| {
            format!("previous terminated container {container:?} in pod {pod_name:?} not found")
        });
    }
    if let Some(r) = &state.running {
        return Ok(Run {
            container_id: id.to_string(),
            started: time_ms(r.started_at.as_ref()),
            end: None,
        });
    }
    if let Some(t) = &state.terminated {
        return Ok(terminated_run(t, id));
    }
    if let Some(t) = last {
        return Ok(terminated_run(t, ""));
    }
    match state.waiting.as_ref().and_then(|w| w.reason.as_deref()) {
        Some("ErrImagePull") => Err(format!(
            "container {container:?} in pod {pod_name:?} is waiting to start: image can't be pulled"
        )),
        Some("ImagePullBackOff") => Err(format!(
            "container {container:?} in pod {pod_name:?} is waiting to start: trying and failing to pull image"
        )),
        Some(reason) => Err(format!(
            "container {container:?} in pod {pod_name:?} is waiting to start: {reason}"
        )),
        None => Err(format!(
            "container {container:?} in pod {pod_name:?} is waiting to start - no logs yet"
        )),
    }
}

/// One log line: its time (ms since the epoch) and text.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub at: i64,
    pub text: String,
}

#[derive(Debug, Clone)]
enum Tick {
    Probe {
        path: String,
        port: i32,
        timeout: f64,
    },
    Memory,
    Checkpoint,
}

/// Lines at `first + k * period` for every k with a time before `until`.
#[derive(Debug, Clone)]
struct Periodic {
    first: i64,
    period: i64,
    until: i64,
    tick: Tick,
}

impl Periodic {
    /// The first index with a time at or after `t`.
    fn index_at(&self, t: i64) -> i64 {
        if t <= self.first {
            0
        } else {
            (t - self.first).saturating_add(self.period - 1) / self.period
        }
    }

    /// How many of its lines fall in [from, to).
    fn count(&self, from: i64, to: i64) -> i64 {
        let to = to.min(self.until);
        if to <= from {
            return 0;
        }
        (self.index_at(to) - self.index_at(from)).max(0)
    }

    fn at(&self, k: i64) -> i64 {
        self.first.saturating_add(k.saturating_mul(self.period))
    }
}

/// A run's whole log, as a recipe.
pub struct LogPlan<'a> {
    process: Process<'a>,
    speaker: Speaker<'a>,
    started: i64,
    /// When the log ends (the run's end or the moment it will end); `None`: still open.
    end: Option<i64>,
    once: Vec<Line>,
    streams: Vec<Periodic>,
    remote: String,
    limit_mib: Option<f64>,
}

fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Ten years: longer waits and delays (a knob of 1e300) are as good as never.
const MAX_SPAN_MS: i64 = 10 * 366 * 86_400_000;

fn secs_ms(s: f64) -> i64 {
    ((s * 1000.0).round() as i64).clamp(0, MAX_SPAN_MS)
}

impl<'a> LogPlan<'a> {
    /// The plan of `run` of container `c` of `pod`.
    pub fn new(catalog: &'a Catalog, pod: &Pod, c: &'a Container, run: &Run) -> LogPlan<'a> {
        let image_ref = c.image.as_deref().unwrap_or("");
        let image = catalog.lookup(image_ref);
        let h = hash(&run.container_id);
        let process = Process::new(image, c, h);
        let speaker = Speaker {
            flavor: Flavor::of(&repository(image_ref)),
            image: image_ref,
        };
        // The status keeps whole seconds; the run really began a little after.
        let started = run.started + (h % 700) as i64;
        let startup = secs_ms(process.startup_seconds());
        let ready_at = started + startup;
        let port = process.ports().first().map(|(p, _, _)| *p);
        let mut once: Vec<Line> = Vec::new();
        let mut push = |at: i64, text: String| once.push(Line { at, text });
        for (at, text) in speaker.start(started, ready_at, port) {
            push(at, text);
        }
        for (after, text) in process.script_output() {
            push(started + secs_ms(after), text);
        }
        let grace = grace_ms(pod);
        let limit_mib = process.memory_limit().map(|l| l / MIB);
        // How the run ends (or will): by itself, or stopped by SIGTERM.
        let natural = process
            .natural_exit()
            .map(|e| (started + secs_ms(e.after), e));
        let sigterm_at = pod.metadata.deletion_timestamp.as_ref().map(|ts| {
            let grace = pod.metadata.deletion_grace_period_seconds.unwrap_or(0);
            ts.0.as_millisecond() - grace.clamp(0, MAX_SPAN_MS / 1000) * 1000
        });
        let mut end = None;
        let mut stop_at = None;
        let stopped_early = |finished: i64, code: i32| {
            natural
                .as_ref()
                .is_none_or(|(at, e)| (finished - at).abs() > 1_500 || e.code != code)
        };
        let sigterm_plan = |at: i64| match process.on_sigterm() {
            Some((delay, _)) if secs_ms(delay) < grace => (false, Some(at + secs_ms(delay))),
            Some(_) => (false, None),
            None => (true, None),
        };
        match (&run.end, sigterm_at) {
            (Some(e), deleted) if e.reason != "OOMKilled" && stopped_early(e.finished, e.code) => {
                // Stopped from outside: deletion, a failed liveness probe, SIGKILL. The status
                // has whole seconds; a deletion gives the precise moments.
                let finished = e.finished.max(started);
                let (ignored, clean) = sigterm_plan(finished);
                let delay = clean.map_or(grace, |done| done - finished);
                let (term_at, finished) = match deleted {
                    Some(d) if d <= finished + 999 => {
                        let done = if e.code == 137 { d + grace } else { d + delay };
                        (d, done.clamp(finished, finished + 999))
                    }
                    _ if e.code == 137 => (finished - grace, finished),
                    _ => (finished - delay, finished),
                };
                let term_at = term_at.max(started);
                for text in speaker.sigterm(term_at, ignored) {
                    push(term_at, text);
                }
                if e.code != 137 {
                    for text in speaker.stopped(finished) {
                        push(finished, text);
                    }
                }
                end = Some(finished);
                stop_at = Some(term_at);
            }
            (None, Some(term_at)) if natural.as_ref().is_none_or(|(at, _)| *at > term_at) => {
                let term_at = term_at.max(started);
                let (ignored, clean) = sigterm_plan(term_at);
                for text in speaker.sigterm(term_at, ignored) {
                    push(term_at, text);
                }
                let done = clean.unwrap_or(term_at + grace);
                if clean.is_some() {
                    for text in speaker.stopped(done) {
                        push(done, text);
                    }
                }
                end = Some(done);
                stop_at = Some(term_at);
            }
            (e, _) => {
                if let Some((at, exit)) = &natural {
                    let at = match e {
                        Some(e) => (*at).min(e.finished + 999),
                        None => *at,
                    };
                    let last = match exit.reason {
                        "OOMKilled" => {
                            let mib = process.memory_bytes((at - started) as f64 / 1000.0) / MIB;
                            let lines = speaker.near_oom(at - 200, mib, limit_mib.unwrap_or(mib));
                            lines.into_iter().map(|l| (at - 200, l)).collect()
                        }
                        _ if !process.missing_env().is_empty() => speaker
                            .missing_env(at, &process.missing_env())
                            .into_iter()
                            .map(|l| (at, l))
                            .collect(),
                        _ if speaker.flavor == Flavor::Shell => Vec::new(),
                        _ => speaker
                            .crash(at, exit.code)
                            .into_iter()
                            .map(|l| (at, l))
                            .collect::<Vec<_>>(),
                    };
                    for (t, text) in last {
                        push(t.max(started), text);
                    }
                    end = Some(at.max(started));
                } else if let Some(e) = e {
                    end = Some(e.finished.max(started));
                }
            }
        }
        once.retain(|l| end.is_none_or(|e| l.at <= e));
        once.sort_by_key(|l| l.at);
        // A process answers no request at the moment it dies.
        let streams_end = stop_at.or(end).unwrap_or(i64::MAX);
        let mut streams = Vec::new();
        if speaker.flavor.access_log() {
            streams.extend(probe_streams(&process, c, started, streams_end, h));
        }
        let growth = process
            .knob("MEMORY_GROWTH_MB_PER_MIN")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .is_some_and(|g| g > 0.0);
        if growth && speaker.flavor == Flavor::App {
            streams.push(Periodic {
                first: ready_at + MEMORY_EVERY_MS,
                period: MEMORY_EVERY_MS,
                until: streams_end.min(end.map_or(i64::MAX, |e| e - 500)),
                tick: Tick::Memory,
            });
        }
        if speaker.flavor == Flavor::Postgres && process.missing_env().is_empty() {
            streams.push(Periodic {
                first: ready_at + CHECKPOINT_EVERY_MS,
                period: CHECKPOINT_EVERY_MS,
                until: streams_end,
                tick: Tick::Checkpoint,
            });
        }
        let remote = pod
            .status
            .as_ref()
            .and_then(|s| s.host_ip.clone())
            .unwrap_or_else(|| "10.244.0.1".into());
        LogPlan {
            process,
            speaker,
            started,
            end,
            once,
            streams,
            remote,
            limit_mib,
        }
    }

    /// When the log ends, if the run has ended or its end is already known.
    pub fn end(&self) -> Option<i64> {
        self.end
    }

    /// How many lines fall in [from, to).
    pub fn count(&self, from: i64, to: i64) -> usize {
        let once = self
            .once
            .iter()
            .filter(|l| l.at >= from && l.at < to)
            .count();
        let periodic: i64 = self.streams.iter().map(|s| s.count(from, to)).sum();
        once + periodic.max(0) as usize
    }

    /// Where the last `n` lines before `to` begin: a time, and how many lines at that time
    /// to skip (several lines can share a millisecond).
    pub fn tail_from(&self, n: usize, from: i64, to: i64) -> (i64, usize) {
        let total = self.count(from, to);
        if total <= n {
            return (from, 0);
        }
        // The largest t with count(t, to) >= n.
        let (mut lo, mut hi) = (from, to);
        while i128::from(hi) - i128::from(lo) > 1 {
            let mid = ((i128::from(lo) + i128::from(hi)) / 2) as i64;
            if self.count(mid, to) >= n {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        (lo, self.count(lo, to) - n)
    }

    /// The lines in [from, to), in time order, made as they are read.
    pub fn lines(&self, from: i64, to: i64) -> Lines<'_, 'a> {
        let to = self.end.map_or(to, |e| to.min(e + 1));
        Lines {
            plan: self,
            once: self.once.partition_point(|l| l.at < from),
            next: self.streams.iter().map(|s| s.index_at(from)).collect(),
            to,
        }
    }

    fn render(&self, s: &Periodic, at: i64) -> String {
        let t = (at - self.started) as f64 / 1000.0;
        match &s.tick {
            Tick::Probe {
                path,
                port,
                timeout,
            } => {
                let status = match self.process.http_get(t, *port, path, *timeout, at as u64) {
                    HttpOutcome::Status(code) => code,
                    // Answered after the prober gave up; the server still logs it.
                    _ => 200,
                };
                let remote = format!("{}:{}", self.remote, 40_000 + (at / 1000) % 20_000);
                let remote = if self.speaker.flavor == Flavor::Nginx {
                    self.remote.clone()
                } else {
                    remote
                };
                self.speaker
                    .access(at, &remote, path, status, "kube-probe/1.32")
            }
            Tick::Memory => {
                self.speaker
                    .memory(at, self.process.memory_bytes(t) / MIB, self.limit_mib)
            }
            Tick::Checkpoint => self.speaker.checkpoint(at),
        }
    }
}

/// The time-ordered merge of a plan's one-off lines and streams.
pub struct Lines<'p, 'a> {
    plan: &'p LogPlan<'a>,
    once: usize,
    next: Vec<i64>,
    to: i64,
}

impl Iterator for Lines<'_, '_> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        let once_at = self.plan.once.get(self.once).map(|l| l.at);
        let stream = self
            .plan
            .streams
            .iter()
            .zip(&self.next)
            .enumerate()
            .map(|(i, (s, k))| (i, s.at(*k), s))
            .filter(|(_, at, s)| *at < s.until)
            .min_by_key(|(_, at, _)| *at);
        match (once_at, stream) {
            (Some(o), Some((_, at, _))) if o <= at && o < self.to => {
                self.once += 1;
                self.plan.once.get(self.once - 1).cloned()
            }
            (Some(o), None) if o < self.to => {
                self.once += 1;
                self.plan.once.get(self.once - 1).cloned()
            }
            (_, Some((i, at, s))) if at < self.to => {
                self.next[i] += 1;
                Some(Line {
                    at,
                    text: self.plan.render(s, at),
                })
            }
            _ => None,
        }
    }
}

/// The pod's grace period in ms, with kubelet's minimum.
fn grace_ms(pod: &Pod) -> i64 {
    let secs = pod
        .metadata
        .deletion_grace_period_seconds
        .or_else(|| pod.spec.as_ref()?.termination_grace_period_seconds)
        .unwrap_or(30);
    (secs.clamp(0, MAX_SPAN_MS / 1000) * 1000).max(MIN_GRACE_MS)
}

/// The HTTP probes the server answers, one stream each, from the first tick at which its
/// port is open (before that the prober's connection is refused: nothing is logged).
fn probe_streams(
    process: &Process<'_>,
    c: &Container,
    started: i64,
    until: i64,
    h: u64,
) -> Vec<Periodic> {
    let open = process.startup_seconds();
    let listening = process.listening(open);
    [
        ProbeKind::Startup,
        ProbeKind::Liveness,
        ProbeKind::Readiness,
    ]
    .into_iter()
    .enumerate()
    .filter_map(|(i, kind)| {
        let probe = kind.of(c)?;
        let get = probe.http_get.as_ref()?;
        let port = resolve_port(&get.port, c).ok()?;
        listening.iter().find(|(p, _, http)| *p == port && *http)?;
        let timing = Timing::of(probe);
        let period = timing.period_seconds * 1000;
        let from = secs_ms(open).max(timing.initial_delay_seconds * 1000);
        // Each probe worker ticks on its own schedule, a little apart from the others.
        let jitter = ((h >> (i * 16)) % 250) as i64;
        let first = started + (from + period - 1) / period * period + jitter;
        // A startup probe stops at its first success.
        let until = if kind == ProbeKind::Startup {
            until.min(first + 1)
        } else {
            until
        };
        Some(Periodic {
            first,
            period,
            until,
            tick: Tick::Probe {
                path: get.path.clone().unwrap_or_else(|| "/".into()),
                port,
                timeout: timing.timeout_seconds as f64,
            },
        })
    })
    .collect()
}

/// Go's `time.RFC3339Nano`: trailing zeros of the fraction dropped.
pub fn rfc3339_nano(ms: i64) -> String {
    let dt = chrono::TimeZone::timestamp_millis_opt(&chrono::Utc, ms)
        .single()
        .unwrap_or_default();
    let frac = format!("{:09}", dt.timestamp_subsec_nanos());
    let frac = frac.trim_end_matches('0');
    let base = dt.format("%Y-%m-%dT%H:%M:%S");
    if frac.is_empty() {
        format!("{base}Z")
    } else {
        format!("{base}.{frac}Z")
    }
}
