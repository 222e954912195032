//! Probe and container summaries for a pod, and why a pod is not Ready.
//!
//! JSON shapes (snake_case keys; part of `kdive chain -o json`):
//!
//! ```text
//! ContainerSummary {
//!   "name": "web", "ready": false, "started": true, "restarts": 0,
//!   "state": "running" | "waiting: CrashLoopBackOff" | "terminated: Error (exit 1)" | "unknown",
//!   "ports": [{"name": "http" | null, "port": 8080, "protocol": "TCP"}],
//!   "probes": [ProbeSummary]
//! }
//! ProbeSummary {
//!   "kind": "readiness" | "liveness" | "startup",
//!   "action": "http-get http://:http/healthz" | "tcp-socket :5432" | "exec [pg_isready]" | "grpc :9000" | "none",
//!   "port": 8080 | null,           // the named port resolved against the container's ports
//!   "port_problem": "no container port named \"http\"" | null,
//!   "initial_delay_seconds": 0, "period_seconds": 10, "timeout_seconds": 1,
//!   "success_threshold": 1, "failure_threshold": 3   // API defaults filled in
//! }
//! ```

use k8s_openapi::api::core::v1::{Container, ContainerStatus, Pod, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: i32,
    pub protocol: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeSummary {
    pub kind: &'static str,
    pub action: String,
    pub port: Option<i32>,
    pub port_problem: Option<String>,
    pub initial_delay_seconds: i32,
    pub period_seconds: i32,
    pub timeout_seconds: i32,
    pub success_threshold: i32,
    pub failure_threshold: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ContainerSummary {
    pub name: String,
    pub ready: bool,
    pub started: Option<bool>,
    pub restarts: i32,
    pub state: String,
    pub ports: Vec<ContainerPort>,
    pub probes: Vec<ProbeSummary>,
}

/// The declared ports of one container, protocol defaulted to TCP as the API server does.
pub fn container_ports(c: &Container) -> Vec<ContainerPort> {
    c.ports
        .iter()
        .flatten()
        .map(|p| ContainerPort {
            name: p.name.clone().filter(|n| !n.is_empty()),
            port: p.container_port,
            protocol: p.protocol.clone().unwrap_or_else(|| "TCP".into()),
        })
        .collect()
}

/// Summaries of every regular container of the pod, joined with its status by name.
pub fn containers(pod: &Pod) -> Vec<ContainerSummary> {
    let Some(spec) = &pod.spec else {
        return Vec::new();
    };
    let statuses: &[ContainerStatus] = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or(&[]);
    spec.containers
        .iter()
        .map(|c| {
            let st = statuses.iter().find(|s| s.name == c.name);
            let ports = container_ports(c);
            let probes = [
                ("startup", &c.startup_probe),
                ("liveness", &c.liveness_probe),
                ("readiness", &c.readiness_probe),
            ]
            .into_iter()
            .filter_map(|(kind, p)| p.as_ref().map(|p| summarize(kind, p, &ports)))
            .collect();
            ContainerSummary {
                name: c.name.clone(),
                ready: st.is_some_and(|s| s.ready),
                started: st.and_then(|s| s.started),
                restarts: st.map_or(0, |s| s.restart_count),
                state: st.map_or_else(|| "unknown".to_string(), state_text),
                ports,
                probes,
            }
        })
        .collect()
}

fn state_text(s: &ContainerStatus) -> String {
    let Some(state) = &s.state else {
        return "unknown".into();
    };
    if state.running.is_some() {
        "running".into()
    } else if let Some(w) = &state.waiting {
        format!(
            "waiting: {}",
            w.reason.as_deref().unwrap_or("unknown reason")
        )
    } else if let Some(t) = &state.terminated {
        format!(
            "terminated: {} (exit {})",
            t.reason.as_deref().unwrap_or("unknown reason"),
            t.exit_code
        )
    } else {
        "unknown".into()
    }
}

/// Resolves a port that may be named against the container's declared ports.
fn resolve(port: &IntOrString, ports: &[ContainerPort]) -> (Option<i32>, Option<String>) {
    match port {
        IntOrString::Int(n) => (Some(*n), None),
        IntOrString::String(s) => match s.parse::<i32>() {
            Ok(n) => (Some(n), None),
            Err(_) => match ports.iter().find(|p| p.name.as_deref() == Some(s.as_str())) {
                Some(p) => (Some(p.port), None),
                None => (None, Some(format!("no container port named {s:?}"))),
            },
        },
    }
}

fn port_text(port: &IntOrString) -> String {
    match port {
        IntOrString::Int(n) => n.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn summarize(kind: &'static str, p: &Probe, ports: &[ContainerPort]) -> ProbeSummary {
    let (action, port) = if let Some(h) = &p.http_get {
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
        let path = h.path.as_deref().unwrap_or("/");
        let host = h.host.as_deref().unwrap_or("");
        (
            format!("http-get {scheme}://{host}:{}{path}", port_text(&h.port)),
            Some(&h.port),
        )
    } else if let Some(t) = &p.tcp_socket {
        (format!("tcp-socket :{}", port_text(&t.port)), Some(&t.port))
    } else if let Some(e) = &p.exec {
        let cmd = e.command.clone().unwrap_or_default();
        (format!("exec [{}]", cmd.join(" ")), None)
    } else if let Some(g) = &p.grpc {
        (format!("grpc :{}", g.port), None)
    } else {
        ("none".to_string(), None)
    };
    let (resolved, problem) = match port {
        Some(port) => resolve(port, ports),
        None => (p.grpc.as_ref().map(|g| g.port), None),
    };
    ProbeSummary {
        kind,
        action,
        port: resolved,
        port_problem: problem,
        initial_delay_seconds: p.initial_delay_seconds.unwrap_or(0),
        period_seconds: p.period_seconds.unwrap_or(10),
        timeout_seconds: p.timeout_seconds.unwrap_or(1),
        success_threshold: p.success_threshold.unwrap_or(1),
        failure_threshold: p.failure_threshold.unwrap_or(3),
    }
}

/// A one-line reason a pod is not Ready, built from container states and probes, so the
/// chain view can say *why* an endpoint is not ready. `None` when the pod is Ready.
pub fn not_ready_reason(pod: &Pod) -> Option<String> {
    if crate::model::pod_readiness::pod_ready(pod) {
        return None;
    }
    if pod.metadata.deletion_timestamp.is_some() {
        return Some("pod is terminating".into());
    }
    let phase = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown");
    if phase != "Running" {
        return Some(format!("pod phase is {phase}"));
    }
    let mut reasons = Vec::new();
    for c in containers(pod).iter().filter(|c| !c.ready) {
        if !c.state.starts_with("running") {
            reasons.push(format!("container {} is {}", c.name, c.state));
        } else if c.started == Some(false) {
            reasons.push(format!(
                "container {} has not passed its startup probe",
                c.name
            ));
        } else if let Some(p) = c.probes.iter().find(|p| p.kind == "readiness") {
            reasons.push(format!(
                "container {}: readiness probe failing ({}; failure threshold {} every {}s)",
                c.name, p.action, p.failure_threshold, p.period_seconds
            ));
        } else {
            reasons.push(format!("container {} is not ready", c.name));
        }
    }
    if reasons.is_empty() {
        // Containers are ready but the pod is not: readiness gates or a stale condition.
        let msg = crate::model::pod_readiness::ready_condition(pod)
            .and_then(|c| c.message.clone().or_else(|| c.reason.clone()))
            .unwrap_or_else(|| "Ready condition is not True".into());
        reasons.push(msg);
    }
    Some(reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(yaml: &str) -> Pod {
        serde_saphyr::from_str(yaml).unwrap()
    }

    const NOT_READY: &str = r#"
metadata: {name: p, namespace: demo}
spec:
  containers:
  - name: web
    image: web:1
    ports: [{name: http, containerPort: 8080}]
    readinessProbe:
      httpGet: {path: /ready, port: http}
      periodSeconds: 5
status:
  phase: Running
  conditions: [{type: Ready, status: "False", reason: ContainersNotReady}]
  containerStatuses:
  - name: web
    ready: false
    started: true
    restartCount: 2
    image: web:1
    imageID: ""
    state: {running: {startedAt: "2026-01-01T00:00:00Z"}}
"#;

    #[test]
    fn named_probe_port_is_resolved_and_defaults_filled() {
        let c = containers(&pod(NOT_READY));
        let p = &c[0].probes[0];
        assert_eq!(p.kind, "readiness");
        assert_eq!(p.action, "http-get http://:http/ready");
        assert_eq!(p.port, Some(8080));
        assert_eq!((p.period_seconds, p.failure_threshold), (5, 3));
        assert_eq!(c[0].restarts, 2);
    }

    #[test]
    fn failing_readiness_probe_is_the_reason() {
        let r = not_ready_reason(&pod(NOT_READY)).unwrap();
        assert!(r.contains("readiness probe failing"), "{r}");
        assert!(r.contains("http-get http://:http/ready"), "{r}");
    }

    #[test]
    fn unknown_named_port_is_reported() {
        let y = NOT_READY.replace("port: http}", "port: metrics}");
        let p = &containers(&pod(&y))[0].probes[0];
        assert_eq!(p.port, None);
        assert_eq!(
            p.port_problem.as_deref(),
            Some("no container port named \"metrics\"")
        );
    }
}
