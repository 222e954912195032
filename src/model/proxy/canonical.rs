//! The canonical (sorted) form of a restore input used by kube-proxy's unit tests (§9),
//! and the plain emission-order text (§1).

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

/// Chain order of §9: KUBE-NODEPORTS, KUBE-SERVICES, other KUBE- chains, the rest;
/// byte order within each group.
fn rank(c: &str) -> u8 {
    match c {
        "KUBE-NODEPORTS" => 0,
        "KUBE-SERVICES" => 1,
        c if c.starts_with("KUBE-") => 2,
        _ => 3,
    }
}

/// FNV-1a: chain names are short and trusted, and SipHash dominated large renders.
#[derive(Default)]
pub(crate) struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf29ce484222325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x100000001b3);
        }
        self.0 = h;
    }
}

pub(crate) type FnvBuild = std::hash::BuildHasherDefault<Fnv>;

/// Writes `table` in canonical order into `out`.
pub fn write_canonical_table(table: &Table, out: &mut String) {
    let mut ranked: Vec<(u8, &str)> = table.chains.iter().map(|c| (rank(c), c.as_str())).collect();
    ranked.sort_unstable();
    let mut chains: Vec<&str> = ranked.into_iter().map(|(_, c)| c).collect();
    chains.dedup();
    // Order rules by the position of their chain, keeping emission order within a chain.
    let mut position: HashMap<&str, u32, FnvBuild> =
        HashMap::with_capacity_and_hasher(chains.len(), FnvBuild::default());
    for (i, c) in chains.iter().enumerate() {
        position.insert(c, i as u32);
    }
    let mut size = 16 + table.name.len();
    let mut order: Vec<(u32, u32)> = Vec::with_capacity(table.rules.len());
    // Rules come in runs of one chain; reuse the last lookup while the chain repeats.
    let mut last: (&str, u32) = ("", u32::MAX);
    for (i, rule) in table.rules.iter().enumerate() {
        size += rule.len() + 1;
        let name = rule_chain(rule);
        if name != last.0 {
            last = (name, position.get(name).copied().unwrap_or(u32::MAX));
        }
        order.push((last.1, i as u32));
    }
    order.sort_unstable();
    size += chains.iter().map(|c| c.len() + 10).sum::<usize>() * 2;
    out.reserve(size);
    out.push('*');
    out.push_str(&table.name);
    out.push('\n');
    for c in &chains {
        out.push(':');
        out.push_str(c);
        out.push_str(" - [0:0]\n");
    }
    let mut start = 0;
    while start < order.len() {
        let chain = order[start].0;
        let end = start + order[start..].iter().take_while(|o| o.0 == chain).count();
        let rules = order[start..end]
            .iter()
            .map(|&(_, i)| table.rules[i as usize].as_str());
        let name = chains.get(chain as usize).copied().unwrap_or("");
        // Both tables sort KUBE-NODEPORTS and KUBE-SERVICES by comment key (§9); in nat
        // KUBE-SERVICES the "must be the last rule" jump stays last.
        if matches!(name, "KUBE-NODEPORTS" | "KUBE-SERVICES") {
            let last_first = table.name == "nat" && name == "KUBE-SERVICES";
            let mut rules: Vec<&str> = rules.collect();
            rules.sort_by_cached_key(|r| {
                let is_last = last_first && r.contains("must be the last rule");
                (is_last, comment_key(r))
            });
            for r in rules {
                out.push_str(r);
                out.push('\n');
            }
        } else {
            for r in rules {
                out.push_str(r);
                out.push('\n');
            }
        }
        start = end;
    }
    if !table.deleted.is_empty() {
        let deleted: std::collections::HashSet<&str> =
            table.deleted.iter().map(String::as_str).collect();
        for c in chains.iter().filter(|c| deleted.contains(*c)) {
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
