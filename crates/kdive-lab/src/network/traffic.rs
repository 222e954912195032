//! Simulated client traffic: the `lab.kdive.dev/v1alpha1` `Traffic` document, the rate
//! accounting, and what one request gets back from the pod its route picked.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::pods::PodView;
use super::proxy::PortRef;
use crate::metrics::{Labels, Registry};
use crate::sim::catalog::Catalog;
use crate::sim::process::HttpOutcome;

pub const API_VERSION: &str = "lab.kdive.dev/v1alpha1";
pub const KIND: &str = "Traffic";
/// The most requests one spec may ask for per simulated second.
pub const MAX_RATE: f64 = 10_000.0;
/// In-cluster round trip added to every answer, seconds.
pub const NETWORK_RTT: f64 = 0.0005;
/// client_golang `prometheus.DefBuckets`.
pub const DEF_BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// One `Traffic` document: steady requests to a Service.
#[derive(Debug, Clone, PartialEq)]
pub struct TrafficSpec {
    pub name: String,
    pub namespace: String,
    pub service: String,
    /// `None`: the Service's first port.
    pub port: Option<PortRef>,
    pub rate_per_second: f64,
    pub path: String,
    pub method: String,
    /// `None`: spread over every node.
    pub from_node: Option<String>,
    pub timeout_seconds: f64,
}

impl TrafficSpec {
    /// Reads a decoded document; errors name the field.
    pub fn from_value(doc: &Value) -> Result<TrafficSpec, String> {
        let api_version = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
        if api_version != API_VERSION || kind != KIND {
            return Err(format!(
                "expected apiVersion {API_VERSION} and kind {KIND}, got {api_version:?} and {kind:?}"
            ));
        }
        let string = |path: &str, field: &str| -> Result<Option<String>, String> {
            match doc.pointer(path) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
                Some(_) => Err(format!("{field}: expected a non-empty string")),
            }
        };
        let number = |path: &str, field: &str| -> Result<Option<f64>, String> {
            match doc.pointer(path) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v
                    .as_f64()
                    .filter(|n| n.is_finite())
                    .map(Some)
                    .ok_or_else(|| format!("{field}: expected a number")),
            }
        };
        let name = string("/metadata/name", "metadata.name")?.ok_or("metadata.name: required")?;
        let namespace =
            string("/metadata/namespace", "metadata.namespace")?.unwrap_or("default".into());
        let service = string("/spec/service", "spec.service")?.ok_or("spec.service: required")?;
        let port = match doc.pointer("/spec/port") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(PortRef::Name(s.clone())),
            Some(v) => match v.as_i64() {
                Some(n) if (1..=65535).contains(&n) => Some(PortRef::Number(n as i32)),
                _ => return Err("spec.port: expected a port number 1..65535 or a port name".into()),
            },
        };
        let rate_per_second = number("/spec/ratePerSecond", "spec.ratePerSecond")?
            .ok_or("spec.ratePerSecond: required")?;
        if !(rate_per_second > 0.0 && rate_per_second <= MAX_RATE) {
            return Err(format!(
                "spec.ratePerSecond: must be above 0 and at most {MAX_RATE}, got {rate_per_second}"
            ));
        }
        let path = string("/spec/path", "spec.path")?.unwrap_or("/".into());
        if !path.starts_with('/') {
            return Err(format!("spec.path: must start with \"/\", got {path:?}"));
        }
        let method = string("/spec/method", "spec.method")?.unwrap_or("GET".into());
        if !METHODS.contains(&method.as_str()) {
            return Err(format!(
                "spec.method: {method:?} is not one of {}",
                METHODS.join(", ")
            ));
        }
        let from_node = string("/spec/fromNode", "spec.fromNode")?;
        let timeout_seconds = number("/spec/timeoutSeconds", "spec.timeoutSeconds")?.unwrap_or(1.0);
        if !(timeout_seconds > 0.0 && timeout_seconds <= 3600.0) {
            return Err(format!(
                "spec.timeoutSeconds: must be above 0 and at most 3600, got {timeout_seconds}"
            ));
        }
        Ok(TrafficSpec {
            name,
            namespace,
            service,
            port,
            rate_per_second,
            path,
            method,
            from_node,
            timeout_seconds,
        })
    }
}

/// Requests due per tick at a steady rate, carrying the fraction to the next tick.
#[derive(Debug, Clone, PartialEq)]
pub struct RateAccumulator {
    pub rate: f64,
    carry: f64,
}

impl RateAccumulator {
    pub fn new(rate: f64) -> RateAccumulator {
        RateAccumulator { rate, carry: 0.0 }
    }

    /// How many requests `elapsed` simulated seconds bring, at most `cap` (the rest is
    /// dropped, like a client that cannot keep up, so a stalled task does not burst).
    pub fn due(&mut self, elapsed: f64, cap: u64) -> u64 {
        let total = self.carry + self.rate * elapsed.max(0.0);
        let n = total.floor();
        self.carry = total - n;
        (n as u64).min(cap)
    }
}

/// What a client got back.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The app answered with this status after `latency` seconds.
    Status { code: u16, latency: f64 },
    /// The pod IP exists but nothing listens on the port (RST).
    Refused,
    /// The port accepted and closed without an HTTP answer.
    Reset,
    /// The Service has no endpoints: kube-proxy's REJECT rule.
    NoEndpoints,
    /// No answer within the timeout (dropped, an IP nobody owns, a slow app).
    Timeout,
}

impl Answer {
    /// The code a mesh sidecar or ingress reports, and the observed duration.
    pub fn code_and_duration(&self, timeout: f64) -> (u16, f64) {
        match self {
            Answer::Status { code, latency } => (*code, *latency),
            Answer::Refused | Answer::Reset | Answer::NoEndpoints => (503, NETWORK_RTT),
            Answer::Timeout => (504, timeout),
        }
    }
}

/// Asks the pod behind the chosen endpoint: the answer and the container that served it
/// (or owns the port), `""` when unknown.
pub fn ask_pod(
    pod: Option<&PodView>,
    port: i32,
    spec: &TrafficSpec,
    catalog: &Catalog,
    seed: u64,
    key: u64,
    now: DateTime<Utc>,
) -> (Answer, String) {
    // Packets to an address no pod owns are never answered (the veth is gone).
    let Some(pod) = pod else {
        return (Answer::Timeout, String::new());
    };
    let declared = pod
        .containers
        .iter()
        .find(|c| {
            c.spec
                .ports
                .iter()
                .flatten()
                .any(|p| p.container_port == port)
        })
        .map(|c| c.spec.name.clone())
        .unwrap_or_default();
    for c in &pod.containers {
        let Some((process, t)) = pod.process(c, catalog, seed, now) else {
            continue;
        };
        if !process.accepts_tcp(t, port) {
            continue;
        }
        let answer = match process.http_get(t, port, &spec.path, spec.timeout_seconds, key) {
            HttpOutcome::Status(code) => Answer::Status {
                code,
                latency: process.latency_seconds() + NETWORK_RTT,
            },
            HttpOutcome::Refused => Answer::Refused,
            HttpOutcome::Eof => Answer::Reset,
            HttpOutcome::Timeout => Answer::Timeout,
        };
        return (answer, c.spec.name.clone());
    }
    (Answer::Refused, declared)
}

/// The labels of one request's series.
pub struct RequestLabels<'a> {
    pub spec: &'a TrafficSpec,
    pub pod: &'a str,
    pub container: &'a str,
}

/// Counts `n` requests with the same answer in `http_requests_total` and
/// `http_request_duration_seconds`.
pub fn record(metrics: &Registry, l: &RequestLabels<'_>, answer: &Answer, n: u64) {
    let (code, duration) = answer.code_and_duration(l.spec.timeout_seconds);
    let labels: Labels = vec![
        ("namespace", l.spec.namespace.clone()),
        ("service", l.spec.service.clone()),
        ("job", l.spec.service.clone()),
        ("pod", l.pod.to_string()),
        ("container", l.container.to_string()),
        ("code", code.to_string()),
        ("method", l.spec.method.clone()),
        ("route", l.spec.path.clone()),
    ];
    metrics.inc(
        "http_requests_total",
        "Total number of HTTP requests by status code, as the mesh sidecar reports them.",
        labels.clone(),
        n as f64,
    );
    metrics.observe_n(
        "http_request_duration_seconds",
        "Duration of HTTP requests in seconds, as the mesh sidecar reports them.",
        &DEF_BUCKETS,
        labels,
        duration,
        n,
    );
}
