//! Follows one packet through the rendered rule *text*: nat `KUBE-SERVICES` (from
//! PREROUTING, or OUTPUT for packets the node sends), then the filter chains kube-proxy
//! writes, in the order the built-in chains jump to them (§7.6). Random (`statistic`)
//! rules split the walk; each branch keeps its probability.

use std::collections::HashMap;
use std::net::IpAddr;

use super::canonical::rule_chain;
use super::config::{LocalDetector, ProxyOptions};
use super::ip::{Cidr, parse_ip_sloppy};
use super::render::{Ruleset, Table};
use super::trace_rule::{Match, Rule, Target, parse_rule};

/// A packet to trace: the first packet of a new connection.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Packet {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub port: u16,
    /// `tcp`, `udp` or `sctp`.
    pub protocol: String,
}

/// Why a trace request is not usable.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TraceError {
    #[error("invalid source IP {0:?}")]
    BadSource(String),
    #[error("invalid destination {0:?}: expected IP:PORT[/tcp|udp|sctp] ([IPv6]:PORT for IPv6)")]
    BadDestination(String),
    #[error("invalid port in {0:?}: expected 1-65535")]
    BadPort(String),
    #[error("invalid protocol {0:?}: expected tcp, udp or sctp")]
    BadProtocol(String),
    #[error("cannot interpret rule: {0}")]
    Rule(String),
}

impl Packet {
    /// Parses `SRC_IP` and `DST_IP:PORT[/proto]` (IPv6 as `[ip]:port`).
    pub fn parse(src: &str, dst: &str) -> Result<Packet, TraceError> {
        let src_ip = parse_ip_sloppy(src).ok_or_else(|| TraceError::BadSource(src.into()))?;
        let (addr, protocol) = match dst.rsplit_once('/') {
            Some((a, p)) => (a, p.to_ascii_lowercase()),
            None => (dst, "tcp".to_string()),
        };
        if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
            return Err(TraceError::BadProtocol(protocol));
        }
        let (host, port) = if let Some(rest) = addr.strip_prefix('[') {
            let (h, p) = rest
                .split_once("]:")
                .ok_or_else(|| TraceError::BadDestination(dst.into()))?;
            (h, p)
        } else {
            addr.rsplit_once(':')
                .ok_or_else(|| TraceError::BadDestination(dst.into()))?
        };
        let dst_ip = parse_ip_sloppy(host).ok_or_else(|| TraceError::BadDestination(dst.into()))?;
        let port: u16 = port
            .parse()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| TraceError::BadPort(dst.into()))?;
        if src_ip.is_ipv4() != dst_ip.is_ipv4() {
            return Err(TraceError::BadDestination(format!(
                "{dst} (source and destination are of different IP families)"
            )));
        }
        Ok(Packet {
            src: src_ip,
            dst: dst_ip,
            port,
            protocol,
        })
    }
}

/// Where the packet comes from, which decides the hooks it passes and `--src-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A loopback address on the node.
    Localhost,
    /// One of the node's own addresses.
    Node,
    /// A pod on this node (matched by the local-traffic detector or the pod CIDRs).
    Pod,
    /// Anything else.
    External,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Dnat,
    Reject,
    Drop,
    Accept,
    /// No kube-proxy rule decided anything.
    None,
}

/// One reachable DNAT target.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceTarget {
    pub endpoint: String,
    pub probability: f64,
    pub masquerade: bool,
    /// The chains this branch went through.
    pub path: Vec<String>,
}

/// A rule that matched, with the table it is in and the branch probability at that point.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    pub table: String,
    pub rule: String,
    pub probability: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TraceResult {
    pub verdict: Verdict,
    /// DNAT targets in rule order.
    pub targets: Vec<TraceTarget>,
    /// Marked for masquerade (on any branch).
    pub masquerade: bool,
    /// Chains entered, in the order first entered (filter chains as `filter:NAME`).
    pub path: Vec<String>,
    pub source: SourceKind,
    pub packet: Packet,
    /// Every matching rule, in walk order.
    pub steps: Vec<Step>,
    /// The rule that decided a REJECT, DROP or ACCEPT verdict.
    pub verdict_rule: Option<String>,
}

#[derive(Debug, Clone)]
struct Branch {
    prob: f64,
    masq: bool,
    dnat: Option<String>,
    path: Vec<String>,
}

enum End {
    /// A terminal target: DNAT (in `Branch::dnat`), ACCEPT, DROP or REJECT.
    Verdict(Verdict, Branch, Option<String>),
    /// The chain ran out or returned.
    Return(Branch),
}

struct Walker<'a> {
    chains: HashMap<&'a str, Vec<Rule>>,
    table: &'static str,
    env: &'a Env,
    steps: &'a mut Vec<Step>,
}

struct Env {
    packet: Packet,
    local_ips: Vec<IpAddr>,
    source: SourceKind,
    detector: LocalDetector,
}

impl Env {
    fn is_local(&self, ip: &IpAddr) -> bool {
        ip.is_loopback() || self.local_ips.contains(ip)
    }
}

fn parse_table(table: &Table) -> Result<HashMap<&str, Vec<Rule>>, TraceError> {
    let mut chains: HashMap<&str, Vec<Rule>> = HashMap::new();
    for line in &table.rules {
        let rule = parse_rule(line).map_err(TraceError::Rule)?;
        chains.entry(rule_chain(line)).or_default().push(rule);
    }
    Ok(chains)
}

/// Traces `packet` through `rules` on the node of `opts`. `pod_cidrs` tells pod sources
/// apart when the detector matches interfaces rather than addresses.
pub fn trace(
    rules: &Ruleset,
    opts: &ProxyOptions,
    packet: &Packet,
    pod_cidrs: &[Cidr],
) -> Result<TraceResult, TraceError> {
    let nat = parse_table(&rules.nat)?;
    let filter = parse_table(&rules.filter)?;
    let local_ips = opts.node_ips.clone();
    let source = if packet.src.is_loopback() {
        SourceKind::Localhost
    } else if local_ips.contains(&packet.src) {
        SourceKind::Node
    } else if matches!(&opts.local_detector, LocalDetector::Cidr(c) if c.contains(&packet.src))
        || pod_cidrs.iter().any(|c| c.contains(&packet.src))
    {
        SourceKind::Pod
    } else {
        SourceKind::External
    };
    let env = Env {
        packet: packet.clone(),
        local_ips,
        source,
        detector: opts.local_detector.clone(),
    };
    let mut steps = Vec::new();
    let start = Branch {
        prob: 1.0,
        masq: false,
        dnat: None,
        path: Vec::new(),
    };
    let nat_ends = Walker {
        chains: nat,
        table: "nat",
        env: &env,
        steps: &mut steps,
    }
    .run("KUBE-SERVICES", start, 0);
    let mut filter_walker = Walker {
        chains: filter,
        table: "filter",
        env: &env,
        steps: &mut steps,
    };
    let mut outcomes: Vec<(Verdict, Branch, Option<String>)> = Vec::new();
    for end in nat_ends {
        let (branch, dnat_verdict) = match end {
            End::Verdict(v, b, _) => (b, v == Verdict::Dnat),
            End::Return(b) => (b, false),
        };
        // Filter hooks see the translated destination.
        let dst = branch
            .dnat
            .as_deref()
            .and_then(endpoint_ip)
            .unwrap_or(env.packet.dst);
        let hooks: &[&str] = if matches!(source, SourceKind::Localhost | SourceKind::Node) {
            &["KUBE-PROXY-FIREWALL", "KUBE-SERVICES", "KUBE-FIREWALL"]
        } else if env.is_local(&dst) {
            &[
                "KUBE-PROXY-FIREWALL",
                "KUBE-NODEPORTS",
                "KUBE-EXTERNAL-SERVICES",
                "KUBE-FIREWALL",
            ]
        } else {
            &[
                "KUBE-PROXY-FIREWALL",
                "KUBE-FORWARD",
                "KUBE-SERVICES",
                "KUBE-EXTERNAL-SERVICES",
            ]
        };
        let mut decided = None;
        for hook in hooks {
            let ends = filter_walker.run_with_dst(hook, branch.clone(), dst);
            if let Some(End::Verdict(v, b, rule)) =
                ends.into_iter().find(|e| matches!(e, End::Verdict(..)))
            {
                decided = Some((v, b, rule));
                break;
            }
        }
        match decided {
            Some((Verdict::Accept, b, _)) if dnat_verdict => {
                outcomes.push((Verdict::Dnat, b, None))
            }
            Some(d) => outcomes.push(d),
            None if dnat_verdict => outcomes.push((Verdict::Dnat, branch, None)),
            None => outcomes.push((Verdict::None, branch, None)),
        }
    }
    Ok(summarize(outcomes, env, steps))
}

fn summarize(
    outcomes: Vec<(Verdict, Branch, Option<String>)>,
    env: Env,
    steps: Vec<Step>,
) -> TraceResult {
    let mut targets: Vec<TraceTarget> = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut verdict = Verdict::None;
    let mut verdict_rule = None;
    let mut masquerade = false;
    for (v, b, rule) in &outcomes {
        for c in &b.path {
            if !path.contains(c) {
                path.push(c.clone());
            }
        }
        masquerade |= b.masq;
        if *v == Verdict::Dnat {
            let endpoint = b.dnat.clone().unwrap_or_default();
            match targets.iter_mut().find(|t| t.endpoint == endpoint) {
                Some(t) => t.probability += b.prob,
                None => targets.push(TraceTarget {
                    endpoint,
                    probability: b.prob,
                    masquerade: b.masq,
                    path: b.path.clone(),
                }),
            }
        } else if verdict == Verdict::None && *v != Verdict::None {
            verdict = *v;
            verdict_rule = rule.clone();
        }
    }
    if !targets.is_empty() {
        verdict = Verdict::Dnat;
        verdict_rule = None;
    }
    for t in &mut targets {
        t.probability = (t.probability * 1e6).round() / 1e6;
    }
    TraceResult {
        verdict,
        targets,
        masquerade,
        path,
        source: env.source,
        packet: env.packet,
        steps,
        verdict_rule,
    }
}

fn endpoint_ip(endpoint: &str) -> Option<IpAddr> {
    let host = match endpoint.strip_prefix('[') {
        Some(rest) => rest.split_once(']')?.0,
        None => endpoint.rsplit_once(':')?.0,
    };
    parse_ip_sloppy(host)
}

impl Walker<'_> {
    fn run(&mut self, chain: &str, branch: Branch, depth: usize) -> Vec<End> {
        let dst = self.env.packet.dst;
        self.run_chain(chain, branch, dst, depth)
    }

    fn run_with_dst(&mut self, chain: &str, branch: Branch, dst: IpAddr) -> Vec<End> {
        let mut ends = Vec::new();
        self.run_from(chain, 0, branch, dst, 0, &mut ends);
        ends
    }

    fn run_chain(&mut self, chain: &str, branch: Branch, dst: IpAddr, depth: usize) -> Vec<End> {
        let mut ends = Vec::new();
        self.run_from(chain, 0, branch, dst, depth, &mut ends);
        ends
    }

    fn label(&self, chain: &str) -> String {
        if self.table == "nat" {
            chain.to_string()
        } else {
            format!("filter:{chain}")
        }
    }

    /// Runs `chain` from rule `start`, pushing every way out of it to `ends`.
    fn run_from(
        &mut self,
        chain: &str,
        start: usize,
        mut branch: Branch,
        dst: IpAddr,
        depth: usize,
        ends: &mut Vec<End>,
    ) {
        // Rule sets kube-proxy writes are at most a few chains deep; this stops loops.
        if depth > 32 {
            ends.push(End::Return(branch));
            return;
        }
        let count = self.chains.get(chain).map_or(0, Vec::len);
        let label = self.label(chain);
        // nat chains count as entered; filter chains only once a rule in them matches.
        if start == 0 && self.table == "nat" {
            branch.path.push(label.clone());
        }
        for idx in start..count {
            let rule = self.chains[chain][idx].clone();
            let Some(p) = self.matches(&rule, &branch, dst) else {
                continue;
            };
            // With a random match the packet skips this rule with probability 1 - p;
            // that branch is walked after the matching one, so targets stay in rule order.
            let miss = (p < 1.0).then(|| {
                let mut miss = branch.clone();
                miss.prob *= 1.0 - p;
                miss
            });
            branch.prob *= p;
            if !branch.path.contains(&label) {
                branch.path.push(label.clone());
            }
            self.steps.push(Step {
                table: self.table.to_string(),
                rule: rule.text.clone(),
                probability: (branch.prob * 1e6).round() / 1e6,
            });
            if let Some(rest) = self.apply((chain, idx), &rule, branch, dst, depth, ends) {
                self.run_from(chain, idx + 1, rest, dst, depth, ends);
            }
            if let Some(miss) = miss {
                self.run_from(chain, idx + 1, miss, dst, depth, ends);
            }
            return;
        }
        ends.push(End::Return(branch));
    }

    /// Applies the target of a matching rule. Returns the branch when the walk goes on
    /// with the next rule of the same chain.
    fn apply(
        &mut self,
        (chain, idx): (&str, usize),
        rule: &Rule,
        mut branch: Branch,
        dst: IpAddr,
        depth: usize,
        ends: &mut Vec<End>,
    ) -> Option<Branch> {
        let verdict = match &rule.target {
            None | Some(Target::Masquerade) => return Some(branch),
            Some(Target::SetMark) => {
                branch.masq = true;
                return Some(branch);
            }
            Some(Target::ClearMark) => {
                branch.masq = false;
                return Some(branch);
            }
            Some(Target::Return) => {
                ends.push(End::Return(branch));
                return None;
            }
            Some(Target::Jump(next)) => {
                let mut rest = Vec::new();
                for end in self.run_chain(next, branch, dst, depth + 1) {
                    match end {
                        End::Return(b) => rest.push(b),
                        v => ends.push(v),
                    }
                }
                // Branches that came back continue after the jump, in order.
                for b in rest {
                    self.run_from(chain, idx + 1, b, dst, depth, ends);
                }
                return None;
            }
            Some(Target::Dnat(to)) => {
                branch.dnat = Some(to.clone());
                Verdict::Dnat
            }
            Some(Target::Accept) => Verdict::Accept,
            Some(Target::Drop) => Verdict::Drop,
            Some(Target::Reject) => Verdict::Reject,
        };
        ends.push(End::Verdict(verdict, branch, Some(rule.text.clone())));
        None
    }

    /// `None` when the rule does not match; otherwise the probability that it does.
    fn matches(&self, rule: &Rule, branch: &Branch, dst: IpAddr) -> Option<f64> {
        let env = self.env;
        let pkt = &env.packet;
        let dport = match branch.dnat.as_deref().and_then(|d| d.rsplit_once(':')) {
            Some((_, p)) if self.table == "filter" => p.parse().unwrap_or(pkt.port),
            _ => pkt.port,
        };
        let mut prob = 1.0;
        for m in &rule.matches {
            let ok = match m {
                Match::Source { neg, cidr } => cidr.contains(&pkt.src) != *neg,
                Match::Dest { neg, cidr } => cidr.contains(&dst) != *neg,
                Match::Protocol { neg, proto } => (*proto == pkt.protocol) != *neg,
                Match::InInterface { neg, name } => {
                    // The packet arrives on the pod interface exactly when it is from a pod.
                    let is_pod_iface = matches!(
                        &env.detector,
                        LocalDetector::BridgeInterface(i) if i == name
                    ) || matches!(
                        &env.detector,
                        LocalDetector::InterfaceNamePrefix(p) if format!("{p}+") == *name
                    );
                    (is_pod_iface && env.source == SourceKind::Pod) != *neg
                }
                Match::DestPort { neg, port } => (*port == dport) != *neg,
                Match::SrcType { neg, kind } => {
                    let local = matches!(env.source, SourceKind::Localhost | SourceKind::Node);
                    (kind == "LOCAL" && local) != *neg
                }
                Match::DstType { neg, kind } => (kind == "LOCAL" && env.is_local(&dst)) != *neg,
                Match::Probability(p) => {
                    prob *= p;
                    true
                }
                // A new client has no affinity entry yet.
                Match::RecentCheck { .. } => false,
                Match::RecentSet { .. } => true,
                Match::Mark { neg } => branch.masq != *neg,
                Match::CtState { neg, states } => {
                    let dnat = branch.dnat.is_some();
                    let hit = states.iter().any(|s| s == "NEW" || (s == "DNAT" && dnat));
                    hit != *neg
                }
            };
            if !ok {
                return None;
            }
        }
        Some(prob)
    }
}
