//! The canonical (sorted) form of a restore input used by kube-proxy's unit tests (§9),
//! and the plain emission-order text (§1).

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

/// A chain name as a sort key: rank (§9), then byte order. The first 32 bytes are held
/// inline as big-endian words (kube-proxy's names have at most 28), so sorting and
/// matching compare integers and rarely follow the pointer to the name.
#[derive(Debug, Clone, Copy)]
struct ChainKey<'a> {
    rank: u8,
    head: [u64; 4],
    name: &'a str,
}

const HEAD_LEN: usize = 32;

impl<'a> ChainKey<'a> {
    fn new(name: &'a str) -> Self {
        let mut bytes = [0u8; HEAD_LEN];
        let n = name.len().min(HEAD_LEN);
        bytes[..n].copy_from_slice(&name.as_bytes()[..n]);
        let mut head = [0u64; 4];
        for (word, chunk) in head.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            *word = u64::from_be_bytes(w);
        }
        ChainKey {
            rank: rank(name),
            head,
            name,
        }
    }
}

impl Ord for ChainKey<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.rank, self.head)
            .cmp(&(other.rank, other.head))
            .then_with(|| {
                // Equal zero-padded heads: a name of at most 32 bytes is a prefix of the
                // other one (so the length decides), unless both are longer.
                if self.name.len() > HEAD_LEN && other.name.len() > HEAD_LEN {
                    self.name.cmp(other.name)
                } else {
                    self.name.len().cmp(&other.name.len())
                }
            })
    }
}

impl PartialOrd for ChainKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for ChainKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Eq for ChainKey<'_> {}

/// Consecutive rules of one chain: `len` rules from index `first`.
struct Run<'a> {
    key: ChainKey<'a>,
    first: u32,
    len: u32,
}

/// Writes `table` in canonical order into `out`.
pub fn write_canonical_table(table: &Table, out: &mut String) {
    let mut chains: Vec<ChainKey> = table.chains.iter().map(|c| ChainKey::new(c)).collect();
    chains.sort_unstable();
    chains.dedup();
    // Rules come in runs of one chain. Sorted like the chains (and by first rule, which
    // keeps emission order within a chain), the runs line up with the chains in one
    // merge: no lookups scattered over memory.
    let mut runs: Vec<Run> = Vec::new();
    let mut lens: Vec<usize> = Vec::with_capacity(table.rules.len());
    for (i, rule) in table.rules.iter().enumerate() {
        lens.push(rule.len());
        let name = rule_chain(rule);
        match runs.last_mut() {
            Some(run) if run.key.name == name => run.len += 1,
            _ => runs.push(Run {
                key: ChainKey::new(name),
                first: i as u32,
                len: 1,
            }),
        }
    }
    runs.sort_unstable_by(|a, b| a.key.cmp(&b.key).then(a.first.cmp(&b.first)));

    // The output order of the rules; rules of undeclared chains go last, as emitted.
    let mut order: Vec<u32> = Vec::with_capacity(table.rules.len());
    let indexes = |run: &Run| run.first..run.first + run.len;
    let mut undeclared: Vec<&Run> = Vec::new();
    let mut next = 0;
    for chain in &chains {
        while next < runs.len() && runs[next].key < *chain {
            undeclared.push(&runs[next]);
            next += 1;
        }
        let start = order.len();
        while next < runs.len() && runs[next].key == *chain {
            order.extend(indexes(&runs[next]));
            next += 1;
        }
        sort_by_comment(table, chain.name, &mut order[start..]);
    }
    undeclared.extend(&runs[next..]);
    undeclared.sort_unstable_by_key(|r| r.first);
    order.extend(undeclared.into_iter().flat_map(indexes));

    let deleted: Vec<&str> = if table.deleted.is_empty() {
        Vec::new()
    } else {
        let deleted: std::collections::HashSet<&str> =
            table.deleted.iter().map(String::as_str).collect();
        chains
            .iter()
            .map(|c| c.name)
            .filter(|c| deleted.contains(c))
            .collect()
    };
    let size = 16
        + table.name.len()
        + chains.iter().map(|c| c.name.len() + 10).sum::<usize>()
        + lens.iter().map(|l| l + 1).sum::<usize>()
        + deleted.iter().map(|c| c.len() + 4).sum::<usize>();
    out.reserve(size);
    out.push('*');
    out.push_str(&table.name);
    out.push('\n');
    for c in &chains {
        out.push(':');
        out.push_str(c.name);
        out.push_str(" - [0:0]\n");
    }
    append_rules(&table.rules, &lens, &order, out);
    for c in deleted {
        out.push_str("-X ");
        out.push_str(c);
        out.push('\n');
    }
    out.push_str("COMMIT\n");
}

/// Both tables sort KUBE-NODEPORTS and KUBE-SERVICES by comment key (§9), stably; in nat
/// KUBE-SERVICES the "must be the last rule" jump stays last.
fn sort_by_comment(table: &Table, chain: &str, order: &mut [u32]) {
    if !matches!(chain, "KUBE-NODEPORTS" | "KUBE-SERVICES") {
        return;
    }
    let last_first = table.name == "nat" && chain == "KUBE-SERVICES";
    order.sort_by_cached_key(|&i| {
        let r = table.rules[i as usize].as_str();
        let is_last = last_first && r.contains("must be the last rule");
        (is_last, comment_key(r))
    });
}

/// Appends `rules` in `order` (a permutation of their indexes), one per line. Reading
/// the rules as emitted and writing each to its place beats gathering them in output
/// order: the reads stream and the scattered writes do not stall the way loads do.
fn append_rules(rules: &[String], lens: &[usize], order: &[u32], out: &mut String) {
    debug_assert_eq!(order.len(), rules.len());
    let mut bytes = std::mem::take(out).into_bytes();
    let mut at = vec![0usize; rules.len()];
    let mut end = bytes.len();
    for &i in order {
        at[i as usize] = end;
        end += lens[i as usize] + 1;
    }
    // Newlines everywhere first; each rule then fills in its own bytes.
    bytes.resize(end, b'\n');
    for (rule, &start) in rules.iter().zip(&at) {
        bytes[start..start + rule.len()].copy_from_slice(rule.as_bytes());
    }
    // Only whole strings were copied in, so the bytes are UTF-8.
    *out = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn table(chains: &[&str], rules: &[&str]) -> Table {
        Table {
            name: "nat".into(),
            chains: chains.iter().map(|c| c.to_string()).collect(),
            rules: rules.iter().map(|r| r.to_string()).collect(),
            deleted: Vec::new(),
        }
    }

    #[test]
    fn chains_by_rank_then_bytes_and_rules_grouped_in_emission_order() {
        let t = table(
            &[
                "OTHER",
                "KUBE-SVC-B",
                "KUBE-SEP-AAAAAAAAB",
                "KUBE-SERVICES",
                "KUBE-SEP-AAAAAAAA",
                "KUBE-",
                "KUBE-NODEPORTS",
                "KUBE-SEP-AAAAAAAA",
            ],
            &[
                "-A KUBE-SVC-B -j 1",
                "-A UNDECLARED -j 2",
                "-A KUBE-SEP-AAAAAAAAB -j 3",
                "-A KUBE-SVC-B -j 4",
                "-A OTHER -j 5",
                "-A KUBE-SEP-AAAAAAAA -j 6",
                "-A UNDECLARED2 -j 7",
                "-A KUBE-SVC-B -j 8",
                "-A KUBE- -j 9",
            ],
        );
        let mut out = String::new();
        write_canonical_table(&t, &mut out);
        // Rank 2 names that agree on the eight bytes after "KUBE-" fall back to the whole
        // name (the shorter first); rules of undeclared chains come last, as emitted.
        let expected = "*nat\n\
            :KUBE-NODEPORTS - [0:0]\n\
            :KUBE-SERVICES - [0:0]\n\
            :KUBE- - [0:0]\n\
            :KUBE-SEP-AAAAAAAA - [0:0]\n\
            :KUBE-SEP-AAAAAAAAB - [0:0]\n\
            :KUBE-SVC-B - [0:0]\n\
            :OTHER - [0:0]\n\
            -A KUBE- -j 9\n\
            -A KUBE-SEP-AAAAAAAA -j 6\n\
            -A KUBE-SEP-AAAAAAAAB -j 3\n\
            -A KUBE-SVC-B -j 1\n\
            -A KUBE-SVC-B -j 4\n\
            -A KUBE-SVC-B -j 8\n\
            -A OTHER -j 5\n\
            -A UNDECLARED -j 2\n\
            -A UNDECLARED2 -j 7\n\
            COMMIT\n";
        assert_eq!(out, expected);
    }

    #[test]
    fn chain_keys_order_like_rank_then_bytes() {
        let long = "KUBE-SEP-ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let names = [
            "KUBE-SERVICES",
            "KUBE-NODEPORTS",
            "KUBE-",
            "KUBE-A",
            "KUBE-A\0",
            "KUBE-A\0\0",
            "KUBE-SEP-ABCDEFGHIJKLMNOPQRSTUVW",
            "KUBE-SEP-ABCDEFGHIJKLMNOPQRSTUVW\0",
            long,
            "KUBE-SEP-ABCDEFGHIJKLMNOPQRSTUVWXYY",
            "KUBE-SEP-ABCDEFGHIJKLMNOPQRSTUVWXYZ0",
            "KUBE-SEP-ABCDEFGHIJKLMNOPQRSTUVW\0\0\0",
            "A-CHAIN",
            "",
            "KUBE-SVC-B",
        ];
        let mut by_key: Vec<&str> = names.to_vec();
        by_key.sort_by_key(|n| ChainKey::new(n));
        let mut by_definition: Vec<&str> = names.to_vec();
        by_definition.sort_by_key(|n| (rank(n), *n));
        assert_eq!(by_key, by_definition);
        for a in names {
            for b in names {
                assert_eq!(ChainKey::new(a) == ChainKey::new(b), a == b, "{a:?} {b:?}");
            }
        }
        // Equal names in different memory are equal keys, long ones too.
        let built = ["KUBE-SEP-", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"].concat();
        assert_eq!(ChainKey::new(long), ChainKey::new(&built));
    }
}
