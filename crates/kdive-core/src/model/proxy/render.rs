//! Writes kube-proxy's restore input (§7), in kube-proxy's own emission order.
//! [`super::canonical`] turns it into the sorted form of §9.

use std::borrow::Cow;
use std::collections::HashSet;

use super::config::ProxyOptions;
use super::endpoints::{Selection, select};
use super::input::ServicePortInfo;
use super::ip::{IpFamily, endpoint_host, ip_text};
use super::naming::{SERVICE_CHAIN_PREFIXES, probability_text};

/// One table of a restore input: chain declarations, rules (`-A ...` lines) and
/// deleted chains, each in emission order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub name: String,
    pub chains: Vec<String>,
    pub rules: Vec<String>,
    pub deleted: Vec<String>,
}

/// The restore input kube-proxy writes on a full sync: `*filter` then `*nat`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ruleset {
    pub filter: Table,
    pub nat: Table,
    /// More than 1000 endpoints: endpoint rules carry no comments (§7.2).
    pub large_cluster: bool,
}

const LARGE_CLUSTER_THRESHOLD: usize = 1000;
const NODEPORTS_LAST: &str =
    "\"kubernetes service nodeports; NOTE: this must be the last rule in this chain\"";

/// Appends one rule made of `words` joined by spaces.
fn push(rules: &mut Vec<String>, words: &[&str]) {
    let len = words.iter().map(|w| w.len() + 1).sum();
    let mut line = String::with_capacity(len);
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(w);
    }
    rules.push(line);
}

/// Renders the full restore input for `ports` (already of `opts.family`).
pub fn render_ports(ports: &[ServicePortInfo], opts: &ProxyOptions) -> Ruleset {
    let mark = opts.masquerade_mark.as_str();
    let ipv4 = opts.family == IpFamily::IPv4;
    let localhost_nps = opts.localhost_node_ports_effective();
    let mut filter = Table {
        name: "filter".into(),
        ..Table::default()
    };
    let mut nat = Table {
        name: "nat".into(),
        ..Table::default()
    };
    for c in [
        "KUBE-SERVICES",
        "KUBE-EXTERNAL-SERVICES",
        "KUBE-FORWARD",
        "KUBE-NODEPORTS",
        "KUBE-PROXY-FIREWALL",
    ] {
        filter.chains.push(c.into());
    }
    for c in [
        "KUBE-SERVICES",
        "KUBE-NODEPORTS",
        "KUBE-POSTROUTING",
        "KUBE-MARK-MASQ",
    ] {
        nat.chains.push(c.into());
    }
    let mark_mask = format!("{mark}/{mark}");
    push(
        &mut nat.rules,
        &[
            "-A KUBE-POSTROUTING -m mark ! --mark",
            &mark_mask,
            "-j RETURN",
        ],
    );
    push(
        &mut nat.rules,
        &["-A KUBE-POSTROUTING -j MARK --xor-mark", mark],
    );
    let mut masq = String::from(
        "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE",
    );
    if opts.random_fully {
        masq.push_str(" --random-fully");
    }
    nat.rules.push(masq);
    push(
        &mut nat.rules,
        &["-A KUBE-MARK-MASQ -j MARK --or-mark", mark],
    );
    if ipv4 && localhost_nps {
        filter.chains.push("KUBE-FIREWALL".into());
        filter.rules.push("-A KUBE-FIREWALL -m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP".into());
    }

    let selections: Vec<Selection> = ports.iter().map(|sp| select(sp, opts)).collect();
    let total_endpoints: usize = ports.iter().map(|sp| sp.endpoints.len()).sum();
    // About 3 rules and 1 chain per endpoint plus a few per port: reserve once.
    nat.rules.reserve(3 * total_endpoints + 6 * ports.len());
    nat.chains.reserve(total_endpoints + 3 * ports.len());
    let large_cluster = total_endpoints > LARGE_CLUSTER_THRESHOLD;
    // The `--probability` texts depend only on how many endpoints are left: format each
    // once (float formatting is slow).
    let most = ports.iter().map(|sp| sp.endpoints.len()).max().unwrap_or(0);
    let ctx = Ctx {
        opts,
        large_cluster,
        localhost_nps,
        probabilities: (0..=most).map(|m| probability_text(0, m)).collect(),
    };
    for (sp, sel) in ports.iter().zip(&selections) {
        ctx.service_port(sp, sel, &mut filter, &mut nat);
    }

    // Stale service chains (§7.3): declared (which flushes them) and deleted.
    if !opts.existing_nat_chains.is_empty() {
        let written: HashSet<&str> = nat.chains.iter().map(String::as_str).collect();
        let stale: Vec<String> = opts
            .existing_nat_chains
            .iter()
            .filter(|c| SERVICE_CHAIN_PREFIXES.iter().any(|p| c.starts_with(p)))
            .filter(|c| !written.contains(c.as_str()))
            .cloned()
            .collect();
        for c in stale {
            nat.chains.push(c.clone());
            nat.deleted.push(c);
        }
    }

    if opts.node_ports_match_all() {
        let extra = match (opts.family, localhost_nps) {
            (IpFamily::IPv6, _) => " ! -d ::1/128",
            (IpFamily::IPv4, false) => " ! -d 127.0.0.0/8",
            (IpFamily::IPv4, true) => "",
        };
        nat.rules.push(format!(
            "-A KUBE-SERVICES -m comment --comment {NODEPORTS_LAST} -m addrtype --dst-type LOCAL{extra} -j KUBE-NODEPORTS"
        ));
    } else {
        let cidrs = opts.node_port_cidrs();
        let mut seen = Vec::new();
        for ip in &opts.node_ips {
            let skip_loopback = opts.family == IpFamily::IPv6 || !localhost_nps;
            if IpFamily::of(ip) != opts.family
                || seen.contains(ip)
                || (skip_loopback && ip.is_loopback())
                || !cidrs.iter().any(|c| c.contains(ip))
            {
                continue;
            }
            seen.push(*ip);
            nat.rules.push(format!(
                "-A KUBE-SERVICES -m comment --comment {NODEPORTS_LAST} -d {ip} -j KUBE-NODEPORTS"
            ));
        }
    }

    if !opts.conntrack_tcp_be_liberal {
        if opts.nfacct {
            filter.rules.push("-A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP".into());
        } else {
            filter
                .rules
                .push("-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP".into());
        }
    }
    push(
        &mut filter.rules,
        &[
            "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark",
            &mark_mask,
            "-j ACCEPT",
        ],
    );
    filter.rules.push("-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT".into());

    Ruleset {
        filter,
        nat,
        large_cluster,
    }
}

struct Ctx<'a> {
    opts: &'a ProxyOptions,
    large_cluster: bool,
    localhost_nps: bool,
    /// `probabilities[m]` is the text of `1/m`.
    probabilities: Vec<String>,
}

impl Ctx<'_> {
    fn probability(&self, remaining: usize) -> Cow<'_, str> {
        match self.probabilities.get(remaining) {
            Some(p) => Cow::Borrowed(p),
            None => Cow::Owned(probability_text(0, remaining)),
        }
    }

    /// Steps 1-12 of §7.2 for one service port.
    fn service_port(
        &self,
        sp: &ServicePortInfo,
        sel: &Selection,
        filter: &mut Table,
        nat: &mut Table,
    ) {
        let n = sp.name.as_str();
        let p = sp.protocol.as_str();
        let ch = &sp.chains;
        let cip = ip_text(&sp.cluster_ip);
        let port = sp.port.to_string();
        let has_endpoints = sel.has_endpoints;
        let internal_chain = if sp.internal_policy_local {
            &ch.svl
        } else {
            &ch.svc
        };
        let external_policy_chain = if sp.external_policy_local {
            &ch.svl
        } else {
            &ch.svc
        };
        let has_internal = has_endpoints && (!sp.internal_policy_local || !sel.local.is_empty());
        let has_external = has_endpoints && (!sp.external_policy_local || !sel.local.is_empty());
        let uses_svc = !sel.cluster.is_empty() && sp.uses_cluster_endpoints();
        let uses_svl = !sel.local.is_empty() && sp.uses_local_endpoints();
        let uses_ext = has_endpoints && sp.externally_accessible();
        let uses_fw =
            has_endpoints && !sp.load_balancer_vips.is_empty() && !sp.source_ranges.is_empty();
        let lb_target = if uses_fw { &ch.fw } else { &ch.ext };

        // Comments are built only when a rule uses them: most ports need few.
        let filter_comment = if !has_endpoints {
            q(&[n, " has no endpoints"])
        } else if !has_internal || !has_external {
            q(&[n, " has no local endpoints"])
        } else {
            String::new()
        };
        let (int_filter, ext_filter) = if !has_endpoints {
            (
                Some(("REJECT", &filter_comment)),
                Some(("REJECT", &filter_comment)),
            )
        } else {
            (
                (!has_internal).then_some(("DROP", &filter_comment)),
                (!has_external).then_some(("DROP", &filter_comment)),
            )
        };

        // 1. Cluster IP.
        let cluster_comment = q(&[n, " cluster IP"]);
        if has_internal {
            push(
                &mut nat.rules,
                &[
                    "-A KUBE-SERVICES -m comment --comment",
                    &cluster_comment,
                    "-m",
                    p,
                    "-p",
                    p,
                    "-d",
                    &cip,
                    "--dport",
                    &port,
                    "-j",
                    internal_chain,
                ],
            );
        } else if let Some((target, comment)) = int_filter {
            push(
                &mut filter.rules,
                &[
                    "-A KUBE-SERVICES -m comment --comment",
                    comment,
                    "-m",
                    p,
                    "-p",
                    p,
                    "-d",
                    &cip,
                    "--dport",
                    &port,
                    "-j",
                    target,
                ],
            );
        }
        // 2. External IPs.
        let external_comment = if sp.external_ips.is_empty() {
            String::new()
        } else {
            q(&[n, " external IP"])
        };
        for eip in &sp.external_ips {
            let eip = eip.to_string();
            if has_endpoints {
                push(
                    &mut nat.rules,
                    &[
                        "-A KUBE-SERVICES -m comment --comment",
                        &external_comment,
                        "-m",
                        p,
                        "-p",
                        p,
                        "-d",
                        &eip,
                        "--dport",
                        &port,
                        "-j",
                        &ch.ext,
                    ],
                );
            }
            if let Some((target, comment)) = ext_filter {
                push(
                    &mut filter.rules,
                    &[
                        "-A KUBE-EXTERNAL-SERVICES -m comment --comment",
                        comment,
                        "-m",
                        p,
                        "-p",
                        p,
                        "-d",
                        &eip,
                        "--dport",
                        &port,
                        "-j",
                        target,
                    ],
                );
            }
        }
        // 3. Load-balancer VIPs.
        let (lb_comment, fw_comment) = if sp.load_balancer_vips.is_empty() {
            (String::new(), String::new())
        } else {
            (
                q(&[n, " loadbalancer IP"]),
                q(&[n, " traffic not accepted by ", &ch.fw]),
            )
        };
        for vip in &sp.load_balancer_vips {
            let vip = vip.to_string();
            if has_endpoints {
                push(
                    &mut nat.rules,
                    &[
                        "-A KUBE-SERVICES -m comment --comment",
                        &lb_comment,
                        "-m",
                        p,
                        "-p",
                        p,
                        "-d",
                        &vip,
                        "--dport",
                        &port,
                        "-j",
                        lb_target,
                    ],
                );
            }
            if uses_fw {
                push(
                    &mut filter.rules,
                    &[
                        "-A KUBE-PROXY-FIREWALL -m comment --comment",
                        &fw_comment,
                        "-m",
                        p,
                        "-p",
                        p,
                        "-d",
                        &vip,
                        "--dport",
                        &port,
                        "-j DROP",
                    ],
                );
            }
        }
        // 4. VIPs without usable endpoints.
        if let Some((target, comment)) = ext_filter {
            for vip in &sp.load_balancer_vips {
                push(
                    &mut filter.rules,
                    &[
                        "-A KUBE-EXTERNAL-SERVICES -m comment --comment",
                        comment,
                        "-m",
                        p,
                        "-p",
                        p,
                        "-d",
                        &vip.to_string(),
                        "--dport",
                        &port,
                        "-j",
                        target,
                    ],
                );
            }
        }
        // 5. Node port.
        if sp.node_port != 0 {
            let np = sp.node_port.to_string();
            if has_endpoints {
                if self.localhost_nps && self.opts.nfacct {
                    push(
                        &mut nat.rules,
                        &[
                            "-A KUBE-NODEPORTS -m comment --comment",
                            n,
                            "-m",
                            p,
                            "-p",
                            p,
                            "-d 127.0.0.0/8 --dport",
                            &np,
                            "-m nfacct --nfacct-name localhost_nps_accepted_pkts -j",
                            &ch.ext,
                        ],
                    );
                }
                push(
                    &mut nat.rules,
                    &[
                        "-A KUBE-NODEPORTS -m comment --comment",
                        n,
                        "-m",
                        p,
                        "-p",
                        p,
                        "--dport",
                        &np,
                        "-j",
                        &ch.ext,
                    ],
                );
            }
            if let Some((target, comment)) = ext_filter {
                push(
                    &mut filter.rules,
                    &[
                        "-A KUBE-EXTERNAL-SERVICES -m comment --comment",
                        comment,
                        "-m addrtype --dst-type LOCAL -m",
                        p,
                        "-p",
                        p,
                        "--dport",
                        &np,
                        "-j",
                        target,
                    ],
                );
            }
        }
        // 6. Health-check node port, with or without endpoints.
        if sp.health_check_node_port != 0 {
            let hc_comment = q(&[n, " health check node port"]);
            push(
                &mut filter.rules,
                &[
                    "-A KUBE-NODEPORTS -m comment --comment",
                    &hc_comment,
                    "-m tcp -p tcp --dport",
                    &sp.health_check_node_port.to_string(),
                    "-j ACCEPT",
                ],
            );
        }
        // 7. Masquerade off-cluster traffic to the cluster IP.
        if has_internal {
            let mut words = vec![
                "-A",
                internal_chain,
                "-m comment --comment",
                &cluster_comment,
                "-m",
                p,
                "-p",
                p,
                "-d",
                &cip,
                "--dport",
                &port,
            ];
            let not_local = self.opts.local_detector.if_not_local();
            if self.opts.masquerade_all {
                words.push("-j KUBE-MARK-MASQ");
                push(&mut nat.rules, &words);
            } else if let Some(args) = &not_local {
                words.extend(args.iter().map(String::as_str));
                words.push("-j KUBE-MARK-MASQ");
                push(&mut nat.rules, &words);
            }
        }
        // 8. EXT chain.
        if uses_ext {
            nat.chains.push(ch.ext.clone());
            if !sp.external_policy_local {
                let c = q(&["masquerade traffic for ", n, " external destinations"]);
                push(
                    &mut nat.rules,
                    &[
                        "-A",
                        &ch.ext,
                        "-m comment --comment",
                        &c,
                        "-j KUBE-MARK-MASQ",
                    ],
                );
            } else {
                if let Some(args) = self.opts.local_detector.if_local() {
                    let c = q(&["pod traffic for ", n, " external destinations"]);
                    let mut words = vec!["-A", &ch.ext, "-m comment --comment", &c];
                    words.extend(args.iter().map(String::as_str));
                    words.extend(["-j", &ch.svc]);
                    push(&mut nat.rules, &words);
                }
                let c = q(&["masquerade LOCAL traffic for ", n, " external destinations"]);
                push(
                    &mut nat.rules,
                    &[
                        "-A",
                        &ch.ext,
                        "-m comment --comment",
                        &c,
                        "-m addrtype --src-type LOCAL -j KUBE-MARK-MASQ",
                    ],
                );
                let c = q(&["route LOCAL traffic for ", n, " external destinations"]);
                push(
                    &mut nat.rules,
                    &[
                        "-A",
                        &ch.ext,
                        "-m comment --comment",
                        &c,
                        "-m addrtype --src-type LOCAL -j",
                        &ch.svc,
                    ],
                );
            }
            if has_external {
                push(
                    &mut nat.rules,
                    &["-A", &ch.ext, "-j", external_policy_chain],
                );
            }
        }
        // 9. FW chain.
        if uses_fw {
            nat.chains.push(ch.fw.clone());
            for cidr in &sp.source_ranges {
                push(
                    &mut nat.rules,
                    &[
                        "-A",
                        &ch.fw,
                        "-m comment --comment",
                        &lb_comment,
                        "-s",
                        &cidr.to_string(),
                        "-j",
                        &ch.ext,
                    ],
                );
            }
            let node_allowed = self
                .opts
                .primary_ip()
                .is_some_and(|ip| sp.source_ranges.iter().any(|c| c.contains(&ip)));
            if node_allowed {
                for vip in &sp.load_balancer_vips {
                    push(
                        &mut nat.rules,
                        &[
                            "-A",
                            &ch.fw,
                            "-m comment --comment",
                            &lb_comment,
                            "-s",
                            &vip.to_string(),
                            "-j",
                            &ch.ext,
                        ],
                    );
                }
            }
            let c = q(&[
                "other traffic to ",
                n,
                " will be dropped by KUBE-PROXY-FIREWALL",
            ]);
            push(&mut nat.rules, &["-A", &ch.fw, "-m comment --comment", &c]);
        }
        // 10, 11. SVC and SVL chains.
        if uses_svc {
            nat.chains.push(ch.svc.clone());
            self.endpoint_rules(sp, &ch.svc, &sel.cluster, &mut nat.rules);
        }
        if uses_svl {
            nat.chains.push(ch.svl.clone());
            self.endpoint_rules(sp, &ch.svl, &sel.local, &mut nat.rules);
        }
        // 12. SEP chains.
        for &i in &sel.reachable {
            let ep = &sp.endpoints[i];
            nat.chains.push(ep.sep_chain.clone());
            let sep = ep.sep_chain.as_str();
            let mut line = Line::new(sep, 64 + n.len());
            if !self.large_cluster {
                line.words(&["-m comment --comment", n]);
            }
            line.words(&["-s", endpoint_host(&ep.endpoint), "-j KUBE-MARK-MASQ"]);
            nat.rules.push(line.0);
            let mut line = Line::new(sep, 96 + n.len() + sep.len());
            if !self.large_cluster {
                line.words(&["-m comment --comment", n]);
            }
            if sp.affinity_seconds.is_some() {
                line.words(&["-m recent --name", sep, "--set"]);
            }
            line.words(&["-m", p, "-p", p, "-j DNAT --to-destination", &ep.endpoint]);
            nat.rules.push(line.0);
        }
    }

    /// The jumps of a KUBE-SVC/KUBE-SVL chain to its endpoints (§7.2, "Endpoint rules").
    fn endpoint_rules(
        &self,
        sp: &ServicePortInfo,
        chain: &str,
        list: &[usize],
        rules: &mut Vec<String>,
    ) {
        let start = |i: usize| {
            let mut line = Line::new(chain, 128 + sp.name.len());
            if !self.large_cluster {
                line.word("-m comment --comment \"");
                line.0.push_str(&sp.name);
                line.0.push_str(" -> ");
                line.0.push_str(&sp.endpoints[i].endpoint);
                line.0.push('"');
            }
            line
        };
        if let Some(seconds) = sp.affinity_seconds {
            for &i in list {
                let sep = sp.endpoints[i].sep_chain.as_str();
                let mut line = start(i);
                line.words(&["-m recent --name", sep, "--rcheck --seconds"]);
                line.display(&seconds);
                line.words(&["--reap -j", sep]);
                rules.push(line.0);
            }
        }
        let n = list.len();
        for (k, &i) in list.iter().enumerate() {
            let mut line = start(i);
            if k + 1 < n {
                line.words(&[
                    "-m statistic --mode random --probability",
                    &self.probability(n - k),
                ]);
            }
            line.words(&["-j", &sp.endpoints[i].sep_chain]);
            rules.push(line.0);
        }
    }
}

/// A double-quoted comment made of `parts` (the quotes are part of the rule text, §5.2).
fn q(parts: &[&str]) -> String {
    let mut s = String::with_capacity(2 + parts.iter().map(|p| p.len()).sum::<usize>());
    s.push('"');
    for p in parts {
        s.push_str(p);
    }
    s.push('"');
    s
}

/// A rule being written: `-A CHAIN` and then words separated by single spaces.
struct Line(String);

impl Line {
    fn new(chain: &str, capacity: usize) -> Line {
        let mut s = String::with_capacity(capacity);
        s.push_str("-A ");
        s.push_str(chain);
        Line(s)
    }

    fn word(&mut self, w: &str) {
        self.0.push(' ');
        self.0.push_str(w);
    }

    fn words(&mut self, ws: &[&str]) {
        for w in ws {
            self.word(w);
        }
    }

    fn display(&mut self, v: &impl std::fmt::Display) {
        use std::fmt::Write;
        self.0.push(' ');
        let _ = write!(self.0, "{v}");
    }
}
