//! The canonical (sorted) form of a restore input used by kube-proxy's unit tests (§9),
//! and the plain emission-order text (§1).

use std::cmp::Ordering;
use std::collections::HashMap;

use super::render::{Ruleset, Table};

/// Which tables to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TableSel {
    Filter,
    Nat,
    #[default]
    All,
}

impl TableSel {
    pub fn tables<'a>(&self, rules: &'a Ruleset) -> Vec<&'a Table> {
        match self {
            TableSel::Filter => vec![&rules.filter],
            TableSel::Nat => vec![&rules.nat],
            TableSel::All => vec![&rules.filter, &rules.nat],
        }
    }
}

/// The chain a `-A CHAIN ...` rule belongs to.
pub fn rule_chain(rule: &str) -> &str {
    rule.strip_prefix("-A ")
        .and_then(|r| r.split(' ').next())
        .unwrap_or("")
}

/// The value of `--comment` in a rule, without quotes.
pub fn rule_comment(rule: &str) -> Option<&str> {
    let pos = rule.find("--comment ")?;
    let rest = &rule[pos + "--comment ".len()..];
    if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split_once('"').map(|(c, _)| c)
    } else {
        rest.split(' ').next()
    }
}

/// The §9 sort key: the comment cut at its first space or colon.
pub fn comment_key(rule: &str) -> &str {
    let c = rule_comment(rule).unwrap_or("");
    c.split([' ', ':']).next().unwrap_or("")
}

fn chain_order(a: &str, b: &str) -> Ordering {
    let rank = |c: &str| match c {
        "KUBE-NODEPORTS" => 0,
        "KUBE-SERVICES" => 1,
        c if c.starts_with("KUBE-") => 2,
        _ => 3,
    };
    rank(a).cmp(&rank(b)).then_with(|| a.cmp(b))
}

/// Writes `table` in canonical order into `out`.
pub fn write_canonical_table(table: &Table, out: &mut String) {
    let mut chains: Vec<&str> = table.chains.iter().map(String::as_str).collect();
    chains.sort_by(|a, b| chain_order(a, b));
    chains.dedup();
    let mut by_chain: HashMap<&str, Vec<&str>> = HashMap::with_capacity(chains.len());
    for rule in &table.rules {
        by_chain.entry(rule_chain(rule)).or_default().push(rule);
    }
    out.push('*');
    out.push_str(&table.name);
    out.push('\n');
    for c in &chains {
        out.push(':');
        out.push_str(c);
        out.push_str(" - [0:0]\n");
    }
    for c in &chains {
        let Some(rules) = by_chain.get_mut(c) else {
            continue;
        };
        // Both tables sort KUBE-NODEPORTS and KUBE-SERVICES by comment key (§9).
        let sorted = matches!(*c, "KUBE-NODEPORTS" | "KUBE-SERVICES");
        if sorted {
            let last_first = table.name == "nat" && *c == "KUBE-SERVICES";
            rules.sort_by(|a, b| {
                let is_last = |r: &str| last_first && r.contains("must be the last rule");
                is_last(a)
                    .cmp(&is_last(b))
                    .then_with(|| comment_key(a).cmp(comment_key(b)))
            });
        }
        for r in rules.iter() {
            out.push_str(r);
            out.push('\n');
        }
    }
    for c in &chains {
        if table.deleted.iter().any(|d| d == c) {
            out.push_str("-X ");
            out.push_str(c);
            out.push('\n');
        }
    }
    out.push_str("COMMIT\n");
}

/// The canonical text of the selected tables (filter before nat).
pub fn canonical_text(rules: &Ruleset, sel: TableSel) -> String {
    let mut out = String::new();
    for t in sel.tables(rules) {
        write_canonical_table(t, &mut out);
    }
    out
}

/// The restore input exactly as kube-proxy would write it (emission order).
pub fn restore_text(rules: &Ruleset, sel: TableSel) -> String {
    let mut out = String::new();
    for t in sel.tables(rules) {
        out.push_str(&format!("*{}\n", t.name));
        for c in &t.chains {
            out.push_str(&format!(":{c} - [0:0]\n"));
        }
        for r in &t.rules {
            out.push_str(r);
            out.push('\n');
        }
        for d in &t.deleted {
            out.push_str(&format!("-X {d}\n"));
        }
        out.push_str("COMMIT\n");
    }
    out
}
