//! Parsing one `-A CHAIN ...` rule line into matches and a target, for the tracer.
//! Only the matches and targets kube-proxy writes are understood; anything else is an
//! error, so that the tracer never silently skips part of a rule.

use super::ip::{Cidr, parse_ip_sloppy};

#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    Source {
        neg: bool,
        cidr: Cidr,
    },
    Dest {
        neg: bool,
        cidr: Cidr,
    },
    Protocol {
        neg: bool,
        proto: String,
    },
    /// `-i NAME`, or a prefix when the name ends in `+`.
    InInterface {
        neg: bool,
        name: String,
    },
    DestPort {
        neg: bool,
        port: u16,
    },
    SrcType {
        neg: bool,
        kind: String,
    },
    DstType {
        neg: bool,
        kind: String,
    },
    /// `-m statistic --mode random --probability P`.
    Probability(f64),
    /// `-m recent --rcheck`: has this client been sent to `name` before?
    RecentCheck {
        name: String,
    },
    /// `-m recent --set`: always matches, records the client.
    RecentSet {
        name: String,
    },
    Mark {
        neg: bool,
    },
    CtState {
        neg: bool,
        states: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Jump(String),
    Dnat(String),
    SetMark,
    ClearMark,
    Masquerade,
    Return,
    Accept,
    Drop,
    Reject,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub chain: String,
    pub matches: Vec<Match>,
    /// `None` for a rule without `-j` (it only counts packets).
    pub target: Option<Target>,
    pub text: String,
}

/// Splits a rule into words, keeping `"quoted text"` as one word.
fn words(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line.trim();
    while !rest.is_empty() {
        if rest.starts_with('"') {
            let end = rest[1..].find('"').map_or(rest.len(), |i| i + 2);
            out.push(&rest[..end]);
            rest = rest[end..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(&rest[..end]);
            rest = rest[end..].trim_start();
        }
    }
    out
}

fn cidr(text: &str) -> Option<Cidr> {
    if text.contains('/') {
        Cidr::parse_sloppy(text)
    } else {
        let ip = parse_ip_sloppy(text)?;
        Some(Cidr::new(ip, super::ip::IpFamily::of(&ip).max_prefix()))
    }
}

/// Parses one `-A` line. The error names the word that was not understood.
pub fn parse_rule(line: &str) -> Result<Rule, String> {
    let w = words(line);
    if w.len() < 2 || w[0] != "-A" {
        return Err(format!("not a rule: {line}"));
    }
    let mut rule = Rule {
        chain: w[1].to_string(),
        matches: Vec::new(),
        target: None,
        text: line.to_string(),
    };
    let mut i = 2;
    let mut neg = false;
    let mut module = "";
    let (mut recent_name, mut recent_check) = (None, None);
    let next = |i: &mut usize| -> Result<&str, String> {
        *i += 1;
        w.get(*i)
            .copied()
            .ok_or_else(|| format!("missing value after {:?} in: {line}", w[*i - 1]))
    };
    while i < w.len() {
        let word = w[i];
        let bad = |what: &str| format!("{what} {word:?} in: {line}");
        match word {
            "!" => {
                neg = true;
                i += 1;
                continue;
            }
            "-s" | "-d" => {
                let v = next(&mut i)?;
                let c = cidr(v).ok_or_else(|| bad("bad address after"))?;
                rule.matches.push(if word == "-s" {
                    Match::Source { neg, cidr: c }
                } else {
                    Match::Dest { neg, cidr: c }
                });
            }
            "-p" => {
                let v = next(&mut i)?;
                rule.matches.push(Match::Protocol {
                    neg,
                    proto: v.to_string(),
                });
            }
            "-i" => {
                let v = next(&mut i)?;
                rule.matches.push(Match::InInterface {
                    neg,
                    name: v.to_string(),
                });
            }
            "-m" => {
                flush_recent(&mut rule, &mut recent_name, &mut recent_check);
                module = next(&mut i)?;
            }
            "--comment" | "--nfacct-name" | "--mode" | "--seconds" | "--mask" => {
                next(&mut i)?;
            }
            "--reap" | "--rsource" => {}
            "--dport" if matches!(module, "tcp" | "udp" | "sctp") => {
                let v = next(&mut i)?;
                let port = v.parse().map_err(|_| bad("bad port after"))?;
                rule.matches.push(Match::DestPort { neg, port });
            }
            "--src-type" | "--dst-type" if module == "addrtype" => {
                let kind = next(&mut i)?.to_string();
                rule.matches.push(if word == "--src-type" {
                    Match::SrcType { neg, kind }
                } else {
                    Match::DstType { neg, kind }
                });
            }
            "--probability" if module == "statistic" => {
                let v = next(&mut i)?;
                let p: f64 = v.parse().map_err(|_| bad("bad probability after"))?;
                rule.matches.push(Match::Probability(p));
            }
            "--name" if module == "recent" => recent_name = Some(next(&mut i)?.to_string()),
            "--rcheck" | "--set" if module == "recent" => recent_check = Some(word == "--rcheck"),
            "--mark" if module == "mark" => {
                next(&mut i)?;
                rule.matches.push(Match::Mark { neg });
            }
            "--ctstate" if module == "conntrack" => {
                let v = next(&mut i)?;
                rule.matches.push(Match::CtState {
                    neg,
                    states: v.split(',').map(str::to_string).collect(),
                });
            }
            "-j" => {
                flush_recent(&mut rule, &mut recent_name, &mut recent_check);
                let t = next(&mut i)?;
                rule.target = Some(match t {
                    "DNAT" => {
                        if next(&mut i)? != "--to-destination" {
                            return Err(bad("expected --to-destination after DNAT near"));
                        }
                        Target::Dnat(next(&mut i)?.to_string())
                    }
                    "MARK" => match next(&mut i)? {
                        "--or-mark" => {
                            next(&mut i)?;
                            Target::SetMark
                        }
                        "--xor-mark" => {
                            next(&mut i)?;
                            Target::ClearMark
                        }
                        "--set-xmark" => {
                            let v = next(&mut i)?;
                            if v.ends_with("/0x0") {
                                Target::ClearMark
                            } else {
                                Target::SetMark
                            }
                        }
                        _ => return Err(bad("unknown MARK option near")),
                    },
                    "MASQUERADE" => Target::Masquerade,
                    "RETURN" => Target::Return,
                    "ACCEPT" => Target::Accept,
                    "DROP" => Target::Drop,
                    "REJECT" => Target::Reject,
                    chain => Target::Jump(chain.to_string()),
                });
            }
            "--random-fully" | "--reject-with" => {
                if word == "--reject-with" {
                    next(&mut i)?;
                }
            }
            _ => return Err(bad("unknown option")),
        }
        neg = false;
        i += 1;
    }
    flush_recent(&mut rule, &mut recent_name, &mut recent_check);
    Ok(rule)
}

/// `-m recent` takes `--name` and `--set`/`--rcheck` in either order.
fn flush_recent(rule: &mut Rule, name: &mut Option<String>, check: &mut Option<bool>) {
    if let Some(is_check) = check.take() {
        let name = name.take().unwrap_or_else(|| "DEFAULT".to_string());
        rule.matches.push(if is_check {
            Match::RecentCheck { name }
        } else {
            Match::RecentSet { name }
        });
    }
    *name = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_service_and_affinity_rules() {
        let r = parse_rule("-A KUBE-SVC-X -m comment --comment \"ns/s:p cluster IP\" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ").unwrap();
        assert_eq!(r.chain, "KUBE-SVC-X");
        assert_eq!(r.target, Some(Target::Jump("KUBE-MARK-MASQ".into())));
        assert_eq!(r.matches.len(), 4);
        assert!(matches!(r.matches[3], Match::Source { neg: true, .. }));
        let r = parse_rule("-A KUBE-SVC-X -m comment --comment \"a -> b\" -m recent --name KUBE-SEP-A --rcheck --seconds 10800 --reap -j KUBE-SEP-A").unwrap();
        assert_eq!(
            r.matches,
            vec![Match::RecentCheck {
                name: "KUBE-SEP-A".into()
            }]
        );
        let r = parse_rule("-A KUBE-SEP-A -m comment --comment ns/s -m recent --name KUBE-SEP-A --set -m tcp -p tcp -j DNAT --to-destination 10.0.0.1:80").unwrap();
        assert_eq!(
            r.matches[0],
            Match::RecentSet {
                name: "KUBE-SEP-A".into()
            }
        );
        assert_eq!(r.target, Some(Target::Dnat("10.0.0.1:80".into())));
        let r = parse_rule("-A KUBE-FW-X -m comment --comment \"other traffic to ns/s:p will be dropped by KUBE-PROXY-FIREWALL\"").unwrap();
        assert_eq!(r.target, None);
        assert!(parse_rule("-A X -m tcp --frobnicate 1 -j DROP").is_err());
    }
}
