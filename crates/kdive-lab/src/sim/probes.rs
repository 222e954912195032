//! kubelet's prober: runs one probe against a simulated process and keeps each probe
//! worker's result with its thresholds, as `pkg/kubelet/prober` does.

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::process::{HttpOutcome, Process};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Startup,
    Liveness,
    Readiness,
}

impl ProbeKind {
    /// As kubelet writes it at the start of event messages.
    pub fn title(self) -> &'static str {
        match self {
            ProbeKind::Startup => "Startup",
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
        }
    }

    pub fn of(self, c: &Container) -> Option<&Probe> {
        match self {
            ProbeKind::Startup => c.startup_probe.as_ref(),
            ProbeKind::Liveness => c.liveness_probe.as_ref(),
            ProbeKind::Readiness => c.readiness_probe.as_ref(),
        }
    }
}

/// A probe's timing with the API server's defaults filled in (values below the minimum,
/// which validation would reject, also take the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    pub initial_delay_seconds: i64,
    pub period_seconds: i64,
    pub timeout_seconds: i64,
    pub success_threshold: u32,
    pub failure_threshold: u32,
}

impl Timing {
    pub fn of(p: &Probe) -> Timing {
        let pos = |v: Option<i32>, d: i64| v.map(i64::from).filter(|v| *v >= 1).unwrap_or(d);
        Timing {
            initial_delay_seconds: p.initial_delay_seconds.map_or(0, |v| i64::from(v.max(0))),
            period_seconds: pos(p.period_seconds, 10),
            timeout_seconds: pos(p.timeout_seconds, 1),
            success_threshold: pos(p.success_threshold, 1) as u32,
            failure_threshold: pos(p.failure_threshold, 3) as u32,
        }
    }
}

/// One probe run: success, or the Unhealthy event message kubelet records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure(String),
}

/// `host:port` as Go's `net.JoinHostPort` writes it.
fn join_host_port(host: &str, port: i32) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// A probe port: a number, or a name looked up in the container's ports.
pub fn resolve_port(port: &IntOrString, c: &Container) -> Result<i32, String> {
    let n = match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(s) => match s.parse::<i32>() {
            Ok(n) => n,
            Err(_) => c
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(s.as_str()))
                .map(|p| p.container_port)
                .ok_or_else(|| format!("port {s} not found"))?,
        },
    };
    if (1..=65535).contains(&n) {
        Ok(n)
    } else {
        Err(format!("invalid port number: {n}"))
    }
}

/// Runs `probe` of `kind` at `t` seconds after the container started. `key` varies per run
/// so random knobs draw afresh.
pub fn run(
    kind: ProbeKind,
    probe: &Probe,
    c: &Container,
    pod_ip: &str,
    process: &Process<'_>,
    t: f64,
    key: u64,
) -> Outcome {
    let timeout = Timing::of(probe).timeout_seconds as f64;
    let failed =
        |output: String| Outcome::Failure(format!("{} probe failed: {output}", kind.title()));
    // kubelet: "errored" is a probe it could not run; it counts as a failure.
    let errored = |err: String| {
        Outcome::Failure(format!(
            "{} probe errored and resulted in unknown state: {err}",
            kind.title()
        ))
    };
    if let Some(h) = &probe.http_get {
        let port = match resolve_port(&h.port, c) {
            Ok(p) => p,
            Err(e) => return errored(e),
        };
        let host = h
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .unwrap_or(pod_ip);
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
        let path = match h.path.as_deref().unwrap_or("") {
            "" => String::new(),
            p if p.starts_with('/') => p.to_string(),
            p => format!("/{p}"),
        };
        let addr = join_host_port(host, port);
        let url = format!("{scheme}://{addr}{path}");
        let local = host == pod_ip;
        return match process.http_get(
            t,
            port,
            if path.is_empty() { "/" } else { &path },
            timeout,
            key,
        ) {
            _ if !local => failed(format!("Get \"{url}\": dial tcp {addr}: i/o timeout")),
            HttpOutcome::Status(s) if (200..400).contains(&s) => Outcome::Success,
            HttpOutcome::Status(s) => failed(format!("HTTP probe failed with statuscode: {s}")),
            HttpOutcome::Refused => failed(format!(
                "Get \"{url}\": dial tcp {addr}: connect: connection refused"
            )),
            HttpOutcome::Timeout => failed(format!(
                "Get \"{url}\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
            )),
            HttpOutcome::Eof => failed(format!("Get \"{url}\": EOF")),
        };
    }
    if let Some(tcp) = &probe.tcp_socket {
        let port = match resolve_port(&tcp.port, c) {
            Ok(p) => p,
            Err(e) => return errored(e),
        };
        let host = tcp
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .unwrap_or(pod_ip);
        let addr = join_host_port(host, port);
        return if host != pod_ip {
            failed(format!("dial tcp {addr}: i/o timeout"))
        } else if process.accepts_tcp(t, port) {
            Outcome::Success
        } else {
            failed(format!("dial tcp {addr}: connect: connection refused"))
        };
    }
    if let Some(g) = &probe.grpc {
        // Served as "SERVING" by whatever listens on the port; no health service modelled.
        let addr = join_host_port(pod_ip, g.port);
        return if process.accepts_tcp(t, g.port) && process.latency_seconds() < timeout {
            Outcome::Success
        } else {
            failed(format!(
                "timeout: failed to connect service \"{addr}\" within {}s",
                timeout as i64
            ))
        };
    }
    if let Some(e) = &probe.exec {
        let cmd = e.command.clone().unwrap_or_default();
        let (code, output) = process.exec(t, &cmd);
        return if code == 0 {
            Outcome::Success
        } else {
            failed(output)
        };
    }
    errored("missing probe handler".into())
}

/// The result kubelet's results manager holds for one probe of one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Unknown,
    Success,
    Failure,
}

/// One probe worker's memory: the held result and the run of equal raw results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worker {
    pub kind: ProbeKind,
    pub held: Held,
    last: Option<bool>,
    run: u32,
    /// After a liveness/startup failure kills the container, the worker waits for a new one.
    pub on_hold: bool,
}

impl Worker {
    /// A worker for a new container: readiness starts failed, liveness succeeded, startup
    /// unknown (kubelet's initial values).
    pub fn new(kind: ProbeKind) -> Worker {
        let held = match kind {
            ProbeKind::Readiness => Held::Failure,
            ProbeKind::Liveness => Held::Success,
            ProbeKind::Startup => Held::Unknown,
        };
        Worker {
            kind,
            held,
            last: None,
            run: 0,
            on_hold: false,
        }
    }

    /// Records one raw result; returns the new held result if it changed.
    pub fn record(&mut self, success: bool, timing: &Timing) -> Option<Held> {
        if self.last == Some(success) {
            self.run += 1;
        } else {
            self.last = Some(success);
            self.run = 1;
        }
        let threshold = if success {
            timing.success_threshold
        } else {
            timing.failure_threshold
        };
        if self.run < threshold {
            return None;
        }
        let new = if success {
            Held::Success
        } else {
            Held::Failure
        };
        if !success && self.kind != ProbeKind::Readiness {
            self.on_hold = true;
            self.run = 0;
        }
        (new != self.held).then(|| {
            self.held = new;
            new
        })
    }
}
