//! `kdive iptables`: kube-proxy's iptables rules for a node, from files or a cluster, and
//! a packet trace through them.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use serde_json::{Value, json};

use super::{ClusterArgs, InputError};
use kdive_core::manifest::parse_documents;
use kdive_core::model::Objects;
use kdive_core::model::proxy::ip::{Cidr, parse_ip_sloppy};
use kdive_core::model::proxy::trace::{Packet, SourceKind, TraceResult, Verdict, trace};
use kdive_core::model::proxy::{
    IpFamily, KubeProxyConfig, ProxyOptions, TableSel, canonical_text, render, save,
    service_port_plans, service_rules,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableArg {
    Nat,
    Filter,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// kube-proxy's iptables-restore input, in the canonical order of its unit tests
    Restore,
    /// What `iptables-save` shows on the node
    Save,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct IptablesArgs {
    /// YAML or JSON files with Services and EndpointSlices (and optionally Nodes and the
    /// kube-proxy ConfigMap); without -f, read them from the cluster
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Only the rules of this Service
    #[arg(long, value_name = "NS/NAME")]
    pub service: Option<String>,
    /// The node kube-proxy runs on (endpoints on it are local)
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// An address of the node (repeatable; the first is the primary IP and picks IPv4 or IPv6)
    #[arg(long = "node-ip", value_name = "IP")]
    pub node_ips: Vec<String>,
    /// A KubeProxyConfiguration file (kubeproxy.config.k8s.io/v1alpha1)
    #[arg(long, value_name = "FILE")]
    pub proxy_config: Option<PathBuf>,
    /// The iptables binary supports --random-fully
    #[arg(long)]
    pub random_fully: bool,
    /// The kernel has no nfacct counters
    #[arg(long)]
    pub no_nfacct: bool,
    #[arg(long, value_enum, default_value = "all")]
    pub table: TableArg,
    #[arg(long, value_enum, default_value = "restore")]
    pub format: FormatArg,
    /// Follow a packet through the rules
    #[arg(long, num_args = 2, value_names = ["SRC_IP", "DST_IP:PORT[/PROTO]"])]
    pub trace: Option<Vec<String>>,
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    pub output: OutputArg,
}

pub async fn run(cluster: &ClusterArgs, args: IptablesArgs) -> color_eyre::Result<ExitCode> {
    let snapshot = if args.files.is_empty() {
        let client = cluster.connect().await?;
        crate::sources::snapshot::fetch(&client).await?
    } else {
        load_files(&args.files)?
    };
    print!("{}", execute(&snapshot, &args)?);
    Ok(ExitCode::SUCCESS)
}

/// Loads `-f` files, requiring `metadata.name` on every object.
fn load_files(paths: &[PathBuf]) -> Result<Objects, InputError> {
    let mut snapshot = Objects::default();
    for path in paths {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(format!("{shown}: cannot read: {e}")))?;
        for (line, doc) in parse_documents(&shown, &text)? {
            check_names(&doc).map_err(|what| InputError::new(format!("{shown}:{line}: {what}")))?;
            snapshot
                .add_value(doc, kdive_core::model::OtherKinds::Refuse)
                .map_err(|e| InputError::new(format!("{shown}:{line}: {e}")))?;
        }
    }
    Ok(snapshot)
}

/// k8s-openapi fills in missing required fields with defaults, so check the ones the
/// rules depend on here, where the file and line are known.
fn check_names(doc: &Value) -> Result<(), String> {
    let items: Vec<&Value> = match doc.get("items").and_then(Value::as_array) {
        Some(items) => items.iter().collect(),
        None => vec![doc],
    };
    for item in items {
        let kind = item.get("kind").and_then(Value::as_str).unwrap_or("object");
        let Some(name) = item
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
        else {
            return Err(format!("{kind} has no metadata.name"));
        };
        let missing = |what: &str| Err(format!("{kind} {name:?} is missing {what}"));
        match kind {
            "Service" => {
                let ports = item.pointer("/spec/ports").and_then(Value::as_array);
                for (i, port) in ports.into_iter().flatten().enumerate() {
                    if !port.get("port").is_some_and(Value::is_i64) {
                        return missing(&format!("spec.ports[{i}].port"));
                    }
                }
            }
            "EndpointSlice" => {
                if !item.get("addressType").is_some_and(Value::is_string) {
                    return missing("addressType");
                }
                let Some(endpoints) = item.get("endpoints").and_then(Value::as_array) else {
                    return missing("endpoints");
                };
                for (i, ep) in endpoints.iter().enumerate() {
                    if !ep.get("addresses").is_some_and(Value::is_array) {
                        return missing(&format!("endpoints[{i}].addresses"));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Everything after loading: pure apart from reading `--proxy-config`.
pub fn execute(snapshot: &Objects, args: &IptablesArgs) -> Result<String, InputError> {
    let opts = options(snapshot, args)?;
    let rules = render(snapshot, &opts);
    if let Some(t) = &args.trace {
        let (src, dst) = (&t[0], &t[1]);
        let packet = Packet::parse(src, dst)
            .map_err(|e| InputError::new(format!("--trace {src} {dst}: {e}")))?;
        if IpFamily::of(&packet.dst) != opts.family {
            return Err(InputError::new(format!(
                "--trace {src} {dst}: the rules are for {} (pass an --node-ip of the same family)",
                opts.family.as_str()
            )));
        }
        let pod_cidrs = pod_cidrs(snapshot, args, &opts)?;
        let result = trace(&rules, &opts, &packet, &pod_cidrs)
            .map_err(|e| InputError::new(e.to_string()))?;
        return Ok(match args.output {
            OutputArg::Json => format!("{}\n", pretty(&trace_json(&result))),
            OutputArg::Text => trace_text(&result),
        });
    }
    let sel = match args.table {
        TableArg::Nat => TableSel::Nat,
        TableArg::Filter => TableSel::Filter,
        TableArg::All => TableSel::All,
    };
    if let Some(svc) = &args.service {
        let (ns, name) = svc
            .split_once('/')
            .ok_or_else(|| InputError::new(format!("--service {svc}: expected NAMESPACE/NAME")))?;
        let known = snapshot.services.iter().any(|s| {
            s.metadata.name.as_deref() == Some(name)
                && s.metadata.namespace.as_deref().unwrap_or("default") == ns
        });
        if !known {
            return Err(InputError::new(format!("--service {svc}: no such Service")));
        }
        let lines = service_rules(snapshot, &opts, &rules, ns, name);
        if args.output == OutputArg::Json {
            let plans: Vec<_> = service_port_plans(snapshot, &opts)
                .into_iter()
                .filter(|p| p.namespace == ns && p.service == name)
                .collect();
            return Ok(format!(
                "{}\n",
                pretty(&json!({"rules": lines, "ports": plans}))
            ));
        }
        let mut out = String::new();
        let tables: &[(&str, &Vec<String>)] = match sel {
            TableSel::Filter => &[("filter", &lines.filter)],
            TableSel::Nat => &[("nat", &lines.nat)],
            TableSel::All => &[("filter", &lines.filter), ("nat", &lines.nat)],
        };
        for (table, rules) in tables {
            let _ = writeln!(out, "*{table}");
            if *table == "nat" {
                for c in &lines.chains {
                    let _ = writeln!(out, ":{c} - [0:0]");
                }
            }
            for r in rules.iter() {
                let line = match args.format {
                    FormatArg::Restore => r.clone(),
                    FormatArg::Save => save::normalize_rule(r, opts.family),
                };
                let _ = writeln!(out, "{line}");
            }
        }
        return Ok(out);
    }
    let text = match args.format {
        FormatArg::Restore => canonical_text(&rules, sel),
        FormatArg::Save => save::save_text(&rules, sel, &opts),
    };
    Ok(match args.output {
        OutputArg::Text => text,
        OutputArg::Json => {
            let mut tables = serde_json::Map::new();
            let mut current = String::new();
            for line in text.lines() {
                if let Some(t) = line.strip_prefix('*') {
                    current = t.to_string();
                    tables.insert(current.clone(), json!({"chains": [], "rules": []}));
                } else if let Some(entry) = tables.get_mut(&current) {
                    if let Some(c) = line.strip_prefix(':') {
                        push_json(entry, "chains", c.split(' ').next().unwrap_or(""));
                    } else if line.starts_with("-A ") || line.starts_with("-X ") {
                        push_json(entry, "rules", line);
                    }
                }
            }
            format!("{}\n", pretty(&Value::Object(tables)))
        }
    })
}

fn push_json(entry: &mut Value, key: &str, text: &str) {
    if let Some(list) = entry.get_mut(key).and_then(Value::as_array_mut) {
        list.push(Value::from(text));
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// Builds the proxier options from flags, the Node object and the proxy configuration.
fn options(snapshot: &Objects, args: &IptablesArgs) -> Result<ProxyOptions, InputError> {
    let mut opts = ProxyOptions::default();
    let config = proxy_config(snapshot, args)?;
    opts.node_name = args.node_name.clone().unwrap_or_default();
    if opts.node_name.is_empty()
        && let Some(c) = &config
    {
        opts.node_name = c.hostname_override.clone();
    }
    for ip in &args.node_ips {
        let parsed = parse_ip_sloppy(ip)
            .ok_or_else(|| InputError::new(format!("--node-ip {ip}: not an IP address")))?;
        opts.node_ips.push(parsed);
    }
    let node = snapshot.nodes.iter().find(|n| {
        !opts.node_name.is_empty() && n.metadata.name.as_deref() == Some(&opts.node_name)
    });
    if let Some(node) = node {
        opts.node_zone = node
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("topology.kubernetes.io/zone"))
            .cloned();
        if args.node_ips.is_empty() {
            let addresses = node.status.as_ref().and_then(|s| s.addresses.as_ref());
            for kind in ["InternalIP", "ExternalIP"] {
                for a in addresses.into_iter().flatten().filter(|a| a.type_ == kind) {
                    if let Some(ip) = parse_ip_sloppy(&a.address) {
                        opts.node_ips.push(ip);
                    }
                }
            }
        }
    } else if let Some(name) = &args.node_name
        && !args.files.is_empty()
        && !snapshot.nodes.is_empty()
    {
        return Err(InputError::new(format!(
            "--node-name {name}: no such Node in the files"
        )));
    }
    if let Some(first) = opts.node_ips.first() {
        opts.family = IpFamily::of(first);
    }
    if let Some(c) = &config {
        let pod_cidrs = node_pod_cidrs(snapshot, &opts.node_name);
        c.apply(&mut opts, &pod_cidrs);
    }
    opts.random_fully = args.random_fully;
    opts.nfacct = !args.no_nfacct;
    Ok(opts)
}

fn node_pod_cidrs(snapshot: &Objects, node_name: &str) -> Vec<String> {
    snapshot
        .nodes
        .iter()
        .find(|n| n.metadata.name.as_deref() == Some(node_name))
        .and_then(|n| n.spec.as_ref())
        .map(|s| {
            let mut v = s.pod_cidrs.clone().unwrap_or_default();
            v.extend(s.pod_cidr.clone());
            v
        })
        .unwrap_or_default()
}

/// Pod ranges for telling pod sources apart: cluster CIDRs and the node's pod CIDRs.
fn pod_cidrs(
    snapshot: &Objects,
    args: &IptablesArgs,
    opts: &ProxyOptions,
) -> Result<Vec<Cidr>, InputError> {
    let mut texts = node_pod_cidrs(snapshot, &opts.node_name);
    if let Some(c) = proxy_config(snapshot, args)? {
        texts.extend(c.cluster_cidrs);
    }
    Ok(texts
        .iter()
        .filter_map(|t| Cidr::parse_sloppy(t.trim()))
        .collect())
}

/// `--proxy-config`, else the `kube-proxy` ConfigMap in kube-system (key `config.conf`).
fn proxy_config(
    snapshot: &Objects,
    args: &IptablesArgs,
) -> Result<Option<KubeProxyConfig>, InputError> {
    if let Some(path) = &args.proxy_config {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| InputError::new(format!("{shown}: cannot read: {e}")))?;
        return parse_config(&shown, &text).map(Some);
    }
    let cm = snapshot.config_maps.iter().find(|c| {
        c.metadata.name.as_deref() == Some("kube-proxy")
            && c.metadata.namespace.as_deref() == Some("kube-system")
    });
    match cm
        .and_then(|c| c.data.as_ref())
        .and_then(|d| d.get("config.conf"))
    {
        Some(text) => parse_config("ConfigMap kube-system/kube-proxy config.conf", text).map(Some),
        None => Ok(None),
    }
}

fn parse_config(origin: &str, text: &str) -> Result<KubeProxyConfig, InputError> {
    let docs = parse_documents(origin, text)?;
    let (line, doc) = docs
        .into_iter()
        .next()
        .ok_or_else(|| InputError::new(format!("{origin}: empty file")))?;
    // A ConfigMap holding the configuration is accepted too.
    if doc.get("kind").and_then(Value::as_str) == Some("ConfigMap") {
        let inner = doc
            .pointer("/data/config.conf")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                InputError::new(format!(
                    "{origin}:{line}: ConfigMap has no data.config.conf"
                ))
            })?;
        return parse_config(&format!("{origin} (config.conf)"), inner);
    }
    KubeProxyConfig::from_value(&doc).map_err(|e| InputError::new(format!("{origin}:{line}: {e}")))
}

fn trace_json(r: &TraceResult) -> Value {
    json!({
        "verdict": r.verdict,
        "targets": r.targets,
        "masquerade": r.masquerade,
        "path": r.path,
        "source": r.source,
        "rule": r.verdict_rule,
        "steps": r.steps,
    })
}

fn trace_text(r: &TraceResult) -> String {
    let p = &r.packet;
    let dst = match p.dst {
        IpAddr::V6(a) => format!("[{a}]:{}", p.port),
        IpAddr::V4(a) => format!("{a}:{}", p.port),
    };
    let source = match r.source {
        SourceKind::Localhost => "localhost on the node",
        SourceKind::Node => "the node itself",
        SourceKind::Pod => "a pod on this node",
        SourceKind::External => "outside the node",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "packet  {} -> {dst}/{} (source: {source})",
        p.src, p.protocol
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "matched rules:");
    if r.steps.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for s in &r.steps {
        let chance = if s.probability < 1.0 {
            format!("{:>6.2}% ", s.probability * 100.0)
        } else {
            "        ".into()
        };
        let _ = writeln!(out, "  {:<6} {chance}{}", s.table, s.rule);
    }
    let _ = writeln!(out);
    match r.verdict {
        Verdict::Dnat => {
            let n = r.targets.len();
            let _ = writeln!(
                out,
                "verdict: DNAT to {n} endpoint{}",
                if n == 1 { "" } else { "s" }
            );
            let width = r
                .targets
                .iter()
                .map(|t| t.endpoint.len())
                .max()
                .unwrap_or(0);
            for t in &r.targets {
                let _ = writeln!(
                    out,
                    "  {:<width$}  {:>6.2}%  masquerade: {}  via {}",
                    t.endpoint,
                    t.probability * 100.0,
                    if t.masquerade { "yes" } else { "no" },
                    t.path.join(" -> "),
                );
            }
        }
        v => {
            let word = match v {
                Verdict::Reject => "REJECT (the client gets a connection refused)",
                Verdict::Drop => "DROP (the packet is silently dropped)",
                Verdict::Accept => "ACCEPT",
                _ => "no kube-proxy rule handles this packet",
            };
            let _ = writeln!(out, "verdict: {word}");
            if let Some(rule) = &r.verdict_rule {
                let _ = writeln!(out, "  by {rule}");
            }
        }
    }
    let masquerade = match (r.masquerade, r.verdict) {
        (true, _) => "yes (the source is rewritten to the node's address)",
        (false, Verdict::Dnat) => "no (the endpoint sees the original source)",
        (false, _) => "no",
    };
    let _ = writeln!(out, "masquerade: {masquerade}");
    out
}
