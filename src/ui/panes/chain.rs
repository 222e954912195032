//! The Service chain as a live diagram: DNS names, ClusterIP:port, each endpoint with its
//! conditions, pod, node and share of traffic, pods that match but are excluded (and why),
//! and the Service's kube-proxy rules. Rows that just changed are highlighted.

use chrono::{DateTime, Utc};
use ratatui::text::{Line, Span};

use crate::ui::theme::Theme;
use crate::ui::track::ChainTrack;
use kdive_core::model::chain::changes::RowKey;
use kdive_core::model::chain::{ProxyView, ServiceChain, TargetPort};
use kdive_core::model::status::Health;

use super::{fit, glyph, heading, pad};

/// The chain plus what changed when.
pub struct ChainView<'a> {
    pub chain: Result<&'a ServiceChain, &'a str>,
    pub track: &'a ChainTrack,
}

pub fn view(track: &ChainTrack) -> ChainView<'_> {
    ChainView {
        chain: track.model.as_ref().map_err(String::as_str),
        track,
    }
}

pub fn lines(v: &ChainView, theme: &Theme, width: u16, now: DateTime<Utc>) -> Vec<Line<'static>> {
    let m = match v.chain {
        Ok(m) => m,
        Err(e) => return vec![Line::styled(e.to_string(), theme.health(Health::Bad))],
    };
    let wide = width >= 104;
    let mut out = Vec::new();
    let svc = &m.service;
    let ips = if svc.headless {
        "None (headless)".to_string()
    } else {
        svc.cluster_ips.join(",")
    };
    let selector = svc
        .selector
        .as_ref()
        .map(|s| {
            s.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_else(|| "none".into());
    out.push(Line::from(vec![
        Span::styled(
            format!("Service {}/{}", svc.namespace, svc.name),
            theme.title(),
        ),
        Span::raw(format!("  {}  {ips}  selector {selector}", svc.type_)),
    ]));
    out.push(heading("DNS", theme));
    for d in m.dns_names.iter().take(if wide { 8 } else { 3 }) {
        let data: Vec<&str> = d.records.iter().map(|r| r.data.as_str()).collect();
        out.push(Line::from(format!(
            "  {} {} → {}",
            d.name,
            d.qtype.as_str(),
            fit(&data.join(" "), 60)
        )));
    }
    for p in &m.ports {
        let target = match &p.target_port {
            TargetPort::Number(n) => n.to_string(),
            TargetPort::Name(n) => format!("\"{n}\""),
        };
        let ready = p.endpoints.iter().filter(|e| e.ready).count();
        out.push(Line::from(vec![
            Span::styled(
                format!(
                    "Port {}{}/{} → targetPort {target}",
                    p.name.as_ref().map(|n| format!("{n} ")).unwrap_or_default(),
                    p.port,
                    p.protocol
                ),
                theme.heading(),
            ),
            Span::raw(format!("   {ready}/{} endpoints ready", p.endpoints.len())),
        ]));
        out.push(Line::styled(
            if wide {
                format!(
                    "    {} {} {} {} {} {}",
                    pad("ENDPOINT", 21),
                    pad("COND", 6),
                    pad("POD", 30),
                    pad("NODE", 16),
                    pad("ZONE", 8),
                    "SHARE"
                )
            } else {
                format!(
                    "    {} {} {} SHARE",
                    pad("ENDPOINT", 21),
                    pad("COND", 6),
                    pad("POD", 24)
                )
            },
            theme.muted(),
        ));
        for e in &p.endpoints {
            let pod = e
                .target_ref
                .as_ref()
                .map_or("-".to_string(), |t| t.name.clone());
            let h = if e.ready {
                Health::Ok
            } else if e.serving || e.terminating {
                Health::Warn
            } else {
                Health::Bad
            };
            let cond = format!(
                "{}{}{}",
                if e.ready { "R" } else { "-" },
                if e.serving { "S" } else { "-" },
                if e.terminating { "T" } else { "-" }
            );
            let share = e
                .probability
                .map_or("—".to_string(), |p| format!("{:.1}%", p * 100.0));
            let addr = format!("{}:{}", e.address, e.port);
            let text = if wide {
                format!(
                    " {} {} {} {} {} {share}",
                    pad(&addr, 21),
                    pad(&cond, 6),
                    pad(&pod, 30),
                    pad(e.node_name.as_deref().unwrap_or("-"), 16),
                    pad(e.zone.as_deref().unwrap_or("-"), 8),
                )
            } else {
                format!(
                    " {} {} {} {share}",
                    pad(&addr, 21),
                    pad(&cond, 6),
                    pad(&pod, 24)
                )
            };
            let changed = v
                .track
                .changes
                .is_highlighted(&RowKey::endpoint(p.port, e), now);
            let mark = if changed { "*" } else { " " };
            let mut line = Line::from(vec![
                Span::raw(format!("  {mark}")),
                glyph(h, theme),
                Span::raw(text),
            ]);
            if changed {
                line = line.style(theme.changed());
            }
            out.push(line);
            if let Some(why) = &e.why {
                out.push(Line::styled(format!("       {why}"), theme.muted()));
            }
        }
        if p.endpoints.is_empty() {
            out.push(Line::styled(
                "   ✗ no endpoints: connections to this port are rejected".to_string(),
                theme.health(Health::Bad),
            ));
        }
        for x in &p.excluded {
            out.push(Line::from(vec![
                Span::raw("   "),
                glyph(Health::Warn, theme),
                Span::raw(format!(" excluded {}: {}", x.pod, x.detail)),
            ]));
        }
    }
    for g in v.track.changes.gone() {
        let ago = (now - g.at).num_seconds().max(0);
        out.push(Line::from(vec![
            Span::raw("   "),
            glyph(Health::Bad, theme),
            Span::styled(
                format!(
                    " gone {} ({}) ({ago}s ago)",
                    g.address,
                    g.pod.as_deref().unwrap_or("-")
                ),
                theme.changed(),
            ),
        ]));
    }
    for w in &m.warnings {
        out.push(Line::from(vec![
            glyph(Health::Warn, theme),
            Span::raw(format!(" {w}")),
        ]));
    }
    match &m.proxy {
        ProxyView::Unavailable { reason } => {
            out.push(heading("kube-proxy", theme));
            out.push(Line::styled(format!("  no rules: {reason}"), theme.muted()));
        }
        ProxyView::Rendered { node, rules, .. } => {
            out.push(heading(
                format!(
                    "kube-proxy rules on {} ({})",
                    if node.name.is_empty() {
                        "-"
                    } else {
                        &node.name
                    },
                    node.config
                ),
                theme,
            ));
            for l in rules.nat.iter().chain(rules.filter.iter()) {
                out.push(Line::from(format!("  {l}")));
            }
        }
    }
    out
}
