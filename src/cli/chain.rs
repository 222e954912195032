//! `kdive chain svc/NAME`: a Service's chain as a readable diagram or JSON.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{ClusterArgs, InputError};
use kdive_core::model::Objects;
use kdive_core::model::chain::{
    self, ChainOptions, EndpointView, PortChain, ServiceChain, TargetPort,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ChainArgs {
    /// The Service: svc/NAME, service/NAME or NAME
    #[arg(value_name = "svc/NAME")]
    pub service: String,
    /// Namespace of the Service
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Read objects from these YAML/JSON files instead of the cluster
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// The cluster's DNS domain
    #[arg(long, default_value = "cluster.local", value_name = "DOMAIN")]
    pub cluster_domain: String,
    /// Show the kube-proxy rules of this node (default: the first node by name)
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
}

pub async fn run(cluster: &ClusterArgs, args: ChainArgs) -> color_eyre::Result<ExitCode> {
    let name = service_name(&args.service)?;
    let snap = snapshot(cluster, &args.files).await?;
    let opts = ChainOptions {
        cluster_domain: args.cluster_domain.clone(),
        node: args.node.clone(),
        ..ChainOptions::default()
    };
    let chain = chain::build(&snap, &args.namespace, name, &opts)
        .map_err(|e| InputError::new(format!("{e}{}", origin(&args.files))))?;
    match args.output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&chain)?),
        Output::Text => print!("{}", render(&chain)),
    }
    Ok(ExitCode::SUCCESS)
}

fn service_name(arg: &str) -> Result<&str, InputError> {
    let name = match arg.split_once('/') {
        Some(("svc" | "service" | "services", n)) => n,
        Some((kind, _)) => {
            return Err(InputError::new(format!(
                "{arg:?}: expected svc/NAME, got kind {kind:?}"
            )));
        }
        None => arg,
    };
    if name.is_empty() {
        return Err(InputError::new(format!(
            "{arg:?}: the Service name is empty"
        )));
    }
    Ok(name)
}

/// " (in FILES)" for error messages when objects came from files.
pub(crate) fn origin(files: &[PathBuf]) -> String {
    if files.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        format!(" in {}", names.join(", "))
    }
}

/// Objects from `-f` files (checked for required fields, errors at `file:line`), or one
/// read of the live cluster.
pub(crate) async fn snapshot(
    cluster: &ClusterArgs,
    files: &[PathBuf],
) -> color_eyre::Result<Objects> {
    if files.is_empty() {
        let client = cluster.connect().await?;
        return Ok(crate::sources::snapshot::fetch(&client).await?);
    }
    Ok(load_checked(files)?)
}

/// Like [`super::input::load_files`], and also rejects objects without `metadata.name`, which
/// every object the chain and DNS views read must have.
pub(crate) fn load_checked(files: &[PathBuf]) -> Result<Objects, InputError> {
    let mut snap = Objects::default();
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(format!("{}: cannot read: {e}", path.display())))?;
        let origin = path.display().to_string();
        for (line, doc) in kdive_core::manifest::parse_documents(&origin, &text)? {
            check_names(&doc, path, line)?;
            snap.add_value(doc, kdive_core::model::OtherKinds::Refuse)
                .map_err(|e| InputError::new(format!("{origin}:{line}: {e}")))?;
        }
    }
    Ok(snap)
}

fn check_names(doc: &serde_json::Value, path: &Path, line: usize) -> Result<(), InputError> {
    let kind = doc.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if kind.ends_with("List") {
        for item in doc
            .get("items")
            .and_then(|i| i.as_array())
            .into_iter()
            .flatten()
        {
            check_names(item, path, line)?;
        }
        return Ok(());
    }
    if kind.is_empty() {
        return Ok(()); // Objects::add_value reports it.
    }
    let at = |what: String| InputError::new(format!("{}:{line}: {what}", path.display()));
    let name = doc
        .pointer("/metadata/name")
        .and_then(|n| n.as_str())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| at(format!("{kind} has no metadata.name")))?;
    // Fields the API server requires but the typed structs would quietly default.
    let missing = match kind {
        "EndpointSlice" => required_field(doc, "/addressType").or_else(|| {
            each(doc, "/endpoints", |i, e| {
                e.get("addresses")
                    .is_none_or(|a| !a.is_array())
                    .then(|| format!("endpoints[{i}].addresses"))
            })
        }),
        "Pod" => doc
            .pointer("/spec/containers")
            .is_none_or(|c| !c.is_array())
            .then(|| "spec.containers".to_string()),
        "Service" => each(doc, "/spec/ports", |i, p| {
            p.get("port")
                .is_none_or(|n| !n.is_i64())
                .then(|| format!("spec.ports[{i}].port"))
        }),
        _ => None,
    };
    match missing {
        Some(field) => Err(at(format!("{kind} {name:?} is missing {field}"))),
        None => Ok(()),
    }
}

fn required_field(doc: &serde_json::Value, pointer: &str) -> Option<String> {
    let present = doc
        .pointer(pointer)
        .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
    (!present).then(|| pointer.trim_start_matches('/').replace('/', "."))
}

fn each(
    doc: &serde_json::Value,
    pointer: &str,
    f: impl Fn(usize, &serde_json::Value) -> Option<String>,
) -> Option<String> {
    doc.pointer(pointer)
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
        .enumerate()
        .find_map(|(i, v)| f(i, v))
}

/// The human-readable diagram: Service → port → endpoints → pods → nodes.
pub fn render(c: &ServiceChain) -> String {
    let mut o = String::new();
    let s = &c.service;
    let ips = if s.headless {
        "headless (clusterIP None)".to_string()
    } else if s.cluster_ips.is_empty() {
        "no cluster IP".to_string()
    } else {
        s.cluster_ips.join(", ")
    };
    let _ = writeln!(
        o,
        "Service {}/{}  {}  {}",
        s.namespace, s.name, s.type_, ips
    );
    if let Some(ext) = &s.external_name {
        let _ = writeln!(o, "  externalName {ext}");
    }
    let sel = match &s.selector {
        Some(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
        None => "(none)".into(),
    };
    let _ = write!(
        o,
        "  selector {sel} · sessionAffinity {}",
        s.session_affinity
    );
    if let Some(p) = &s.internal_traffic_policy {
        let _ = write!(o, " · internalTrafficPolicy {p}");
    }
    if let Some(p) = &s.external_traffic_policy {
        let _ = write!(o, " · externalTrafficPolicy {p}");
    }
    if s.publish_not_ready_addresses {
        let _ = write!(o, " · publishNotReadyAddresses");
    }
    o.push('\n');
    for p in &c.ports {
        port_section(&mut o, p, c);
    }
    let any_unused = c
        .ports
        .iter()
        .flat_map(|p| &p.endpoints)
        .any(|e| e.probability.is_none());
    if matches!(c.proxy, chain::ProxyView::Rendered { .. }) && any_unused {
        let _ = writeln!(
            o,
            "\n(% = share of new connections to the cluster IP; unused = not in kube-proxy's list: \
             it uses ready endpoints, and serving terminating ones only when none is ready)"
        );
    }
    section(&mut o, "Pods");
    if c.pods.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for p in &c.pods {
        let ready = if p.ready { "Ready" } else { "NotReady" };
        let term = if p.terminating { " · terminating" } else { "" };
        let _ = writeln!(
            o,
            "  {}  {} {}{}  restarts {}  {}  on {}{}",
            p.name,
            p.phase,
            ready,
            term,
            p.restarts,
            p.pod_ip.as_deref().unwrap_or("no IP"),
            p.node_name.as_deref().unwrap_or("(unscheduled)"),
            if p.matches_selector {
                ""
            } else {
                "  (not selected)"
            }
        );
        if let Some(r) = &p.not_ready_reason {
            let _ = writeln!(o, "    why not ready: {r}");
        }
        for ct in &p.containers {
            let probes: Vec<String> = ct
                .probes
                .iter()
                .map(|pr| {
                    let port = match (&pr.port, &pr.port_problem) {
                        (_, Some(problem)) => format!(" ✗ {problem}"),
                        (Some(n), None) if pr.action.contains(&format!(":{n}")) => String::new(),
                        (Some(n), None) => format!(" (= {n})"),
                        (None, None) => String::new(),
                    };
                    format!(
                        "{} {}{port} every {}s",
                        pr.kind, pr.action, pr.period_seconds
                    )
                })
                .collect();
            let _ = writeln!(
                o,
                "    container {}: {}, ready {}{}",
                ct.name,
                ct.state,
                ct.ready,
                if probes.is_empty() {
                    String::new()
                } else {
                    format!("; {}", probes.join("; "))
                }
            );
        }
    }
    section(&mut o, "Nodes");
    if c.nodes.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for n in &c.nodes {
        if !n.found {
            let _ = writeln!(
                o,
                "  {}  (not in the snapshot)  pods: {}",
                n.name,
                n.pods.join(", ")
            );
            continue;
        }
        let ready = match n.ready {
            Some(true) => "Ready",
            Some(false) => "NotReady",
            None => "Ready unknown",
        };
        let _ = writeln!(
            o,
            "  {}  zone {}  {}  {}  pods: {}",
            n.name,
            n.zone.as_deref().unwrap_or("-"),
            n.internal_ip.as_deref().unwrap_or("-"),
            ready,
            if n.pods.is_empty() {
                "-".into()
            } else {
                n.pods.join(", ")
            }
        );
    }
    section(&mut o, "EndpointSlices");
    if c.endpoint_slices.is_empty() {
        let _ = writeln!(o, "  (none)");
    }
    for sl in &c.endpoint_slices {
        let ports: Vec<String> = sl
            .ports
            .iter()
            .map(|p| {
                format!(
                    "{}{}/{}",
                    p.name
                        .as_deref()
                        .map(|n| format!("{n} "))
                        .unwrap_or_default(),
                    p.port.map_or("*".into(), |n| n.to_string()),
                    p.protocol
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "  {}  {}  ports [{}]  {} endpoint(s)",
            sl.name,
            sl.address_type,
            ports.join(", "),
            sl.endpoints
        );
    }
    section(&mut o, "DNS names");
    for d in &c.dns_names {
        let data: Vec<String> = d
            .records
            .iter()
            .map(|r| {
                if r.type_ == d.qtype.as_str() {
                    r.data.clone()
                } else {
                    format!("{} {}", r.type_, r.data)
                }
            })
            .collect();
        let ans = if data.is_empty() {
            format!("{:?} (no records)", d.rcode)
        } else {
            data.join(", ")
        };
        let _ = writeln!(o, "  {} {}  → {}", d.qtype.as_str(), d.name, ans);
    }
    section(&mut o, "kube-proxy");
    proxy_section(&mut o, &c.proxy, &c.service.type_);
    if !c.warnings.is_empty() {
        section(&mut o, "Warnings");
        for w in &c.warnings {
            let _ = writeln!(o, "  ! {w}");
        }
    }
    o
}

fn section(o: &mut String, title: &str) {
    let _ = writeln!(o, "\n{title}");
}

fn port_section(o: &mut String, p: &PortChain, c: &ServiceChain) {
    let target = match &p.target_port {
        TargetPort::Number(n) => n.to_string(),
        TargetPort::Name(n) => format!("{n:?}"),
    };
    let node_port = p
        .node_port
        .map(|n| format!(" nodePort {n}"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "\nport {} {}/{}{} → targetPort {}",
        p.name.as_deref().unwrap_or("(unnamed)"),
        p.port,
        p.protocol,
        node_port,
        target
    );
    if matches!(p.target_port, TargetPort::Name(_)) && !p.target_ports.is_empty() {
        let per_pod: Vec<String> = p
            .target_ports
            .iter()
            .map(|r| match (r.port, &r.problem) {
                (Some(n), _) => format!("{} → {n}", r.pod),
                (None, _) => format!("{} → ✗", r.pod),
            })
            .collect();
        let _ = writeln!(o, "│ resolved per pod: {}", per_pod.join(" · "));
    }
    let rows = p.endpoints.len() + usize::from(!p.excluded.is_empty());
    if rows == 0 {
        let _ = writeln!(o, "└─ no endpoints");
        return;
    }
    for (i, e) in p.endpoints.iter().enumerate() {
        let last = i + 1 == rows;
        let (branch, cont) = if last {
            ("└─", "   ")
        } else {
            ("├─", "│  ")
        };
        let share = match (&c.proxy, e.probability) {
            (chain::ProxyView::Rendered { .. }, Some(p)) => format!("{:>6}  ", percent(p)),
            (chain::ProxyView::Rendered { .. }, None) => "unused  ".to_string(),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "{branch} {}  {}{share}{}",
            e.endpoint,
            state(e),
            where_(e, c)
        );
        if let Some(why) = &e.why {
            let _ = writeln!(o, "{cont}   {why}");
        }
    }
    if !p.excluded.is_empty() {
        let _ = writeln!(
            o,
            "└─ selected by the Service but not an endpoint of this port:"
        );
        for x in &p.excluded {
            let _ = writeln!(o, "     ✗ {}: {}", x.pod, x.detail);
        }
    }
}

fn proxy_section(o: &mut String, p: &chain::ProxyView, svc_type: &str) {
    let (node, ports, rules) = match p {
        chain::ProxyView::Unavailable { reason } => {
            let _ = writeln!(o, "  no rules: {reason}");
            return;
        }
        chain::ProxyView::Rendered { node, ports, rules } => (node, ports, rules),
    };
    let node_name = if node.name.is_empty() {
        "(no node)"
    } else {
        &node.name
    };
    let _ = writeln!(
        o,
        "  on {node_name} ({}, {})",
        node.family.as_str(),
        node.config
    );
    for n in &node.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    for plan in ports {
        let _ = write!(o, "  {} {}/{}: ", plan.name, plan.port, plan.protocol);
        if !plan.has_endpoints {
            let _ = writeln!(o, "no usable endpoints: REJECT");
            continue;
        }
        if plan.internal.is_empty() {
            let _ = writeln!(
                o,
                "no local endpoint on this node: DROP ({})",
                plan.internal_chain
            );
            continue;
        }
        let eps: Vec<String> = plan
            .internal
            .iter()
            .map(|c| format!("{} {}", c.endpoint, percent(c.probability)))
            .collect();
        let _ = writeln!(
            o,
            "cluster IP → {} → {}",
            plan.internal_chain,
            eps.join(", ")
        );
        if plan.node_port != 0 || svc_type == "LoadBalancer" {
            let eps: Vec<String> = plan
                .external
                .iter()
                .map(|c| format!("{} {}", c.endpoint, percent(c.probability)))
                .collect();
            let via = if plan.node_port != 0 {
                format!("node port {}", plan.node_port)
            } else {
                "load balancer".to_string()
            };
            let target = if eps.is_empty() {
                "no local endpoint on this node: DROP".to_string()
            } else {
                eps.join(", ")
            };
            let _ = writeln!(o, "    {via} → {} → {target}", plan.external_chain);
        }
        if let Some(s) = plan.session_affinity_seconds {
            let _ = writeln!(
                o,
                "    sessionAffinity ClientIP: a client sticks to its endpoint for {s}s"
            );
        }
    }
    if !rules.nat.is_empty() {
        let _ = writeln!(o, "  nat rules:");
        for l in &rules.nat {
            let _ = writeln!(o, "    {l}");
        }
    }
    if !rules.filter.is_empty() {
        let _ = writeln!(o, "  filter rules:");
        for l in &rules.filter {
            let _ = writeln!(o, "    {l}");
        }
    }
}

fn percent(p: f64) -> String {
    let v = p * 100.0;
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}%")
    } else {
        format!("{v:.1}%")
    }
}

fn state(e: &EndpointView) -> String {
    let s = match (e.ready, e.serving, e.terminating) {
        (true, _, false) => "ready",
        (true, _, true) => "ready, terminating",
        (false, true, true) => "terminating, serving",
        (false, false, true) => "terminating, not serving",
        (false, true, false) => "not ready, serving",
        (false, false, false) => "not ready",
    };
    format!("{s:<24}")
}

fn where_(e: &EndpointView, c: &ServiceChain) -> String {
    let pod = match &e.target_ref {
        Some(r) if r.kind == "Pod" => format!("pod {}", r.name),
        Some(r) => format!("{} {}", r.kind, r.name),
        None => "(no targetRef)".into(),
    };
    let node = match &e.node_name {
        Some(n) => {
            let zone = e.zone.clone().or_else(|| {
                c.nodes
                    .iter()
                    .find(|x| &x.name == n)
                    .and_then(|x| x.zone.clone())
            });
            match zone {
                Some(z) => format!("{n} ({z})"),
                None => n.clone(),
            }
        }
        None => "(no node)".into(),
    };
    format!("{pod}  on {node}  [slice {}]", e.slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_argument_forms() {
        assert_eq!(service_name("svc/web").unwrap(), "web");
        assert_eq!(service_name("service/web").unwrap(), "web");
        assert_eq!(service_name("web").unwrap(), "web");
        assert!(service_name("pod/web").is_err());
        assert!(service_name("svc/").is_err());
    }
}
