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

/// A word-at-a-time hash (FxHash rounds, then a murmur3 finaliser so the low bits the
/// table indexes with are mixed too). Chain names and keys are short and trusted, and
/// SipHash, then byte-wise FNV, dominated large renders.
#[derive(Default)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    fn round(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        word[..bytes.len()].copy_from_slice(bytes);
        self.0 =
            (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517cc1b727220a95);
    }
}

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51afd7ed558ccd);
        h ^ (h >> 33)
    }
    fn write(&mut self, bytes: &[u8]) {
        // The length keeps zero padding from making "a" and "a\0" collide.
        self.round(&(bytes.len() as u64).to_le_bytes());
        for chunk in bytes.chunks(8) {
            self.round(chunk);
        }
    }
}

pub(crate) type FastBuild = std::hash::BuildHasherDefault<FastHasher>;

/// Sort key of a chain name: rank, then byte order. Most names share `KUBE-`, so the next
/// eight bytes are compared as one integer first (zero padding sorts a prefix first, as
/// byte order does); ties fall back to the whole name.
fn chain_key(c: &str) -> (u8, u64, &str) {
    let rank = rank(c);
    let tail = if rank == 2 {
        &c.as_bytes()[5..]
    } else {
        c.as_bytes()
    };
    let mut word = [0u8; 8];
    let n = tail.len().min(8);
    word[..n].copy_from_slice(&tail[..n]);
    (rank, u64::from_be_bytes(word), c)
}

/// Writes `table` in canonical order into `out`.
pub fn write_canonical_table(table: &Table, out: &mut String) {
    let mut keyed: Vec<(u8, u64, &str)> = table.chains.iter().map(|c| chain_key(c)).collect();
    keyed.sort_unstable();
    let mut chains: Vec<&str> = keyed.into_iter().map(|(_, _, c)| c).collect();
    chains.dedup();
    let mut position: HashMap<&str, u32, FastBuild> =
        HashMap::with_capacity_and_hasher(chains.len(), FastBuild::default());
    for (i, c) in chains.iter().enumerate() {
        position.insert(c, i as u32);
    }
    // Order rules by the position of their chain, keeping emission order within a chain:
    // a counting sort. Rules of undeclared chains go last, in one group.
    let unknown = chains.len() as u32;
    let mut size = 16 + table.name.len();
    let mut bucket_of: Vec<u32> = Vec::with_capacity(table.rules.len());
    // Buckets 0..=unknown, counted at starts[bucket + 2].
    let mut starts = vec![0u32; chains.len() + 3];
    // Rules come in runs of one chain; reuse the last lookup while the chain repeats.
    let mut last: (&str, u32) = ("", unknown);
    for rule in &table.rules {
        size += rule.len() + 1;
        let name = rule_chain(rule);
        if name != last.0 {
            last = (name, position.get(name).copied().unwrap_or(unknown));
        }
        bucket_of.push(last.1);
        starts[last.1 as usize + 2] += 1;
    }
    for b in 2..starts.len() {
        starts[b] += starts[b - 1];
    }
    // starts[b + 1] is now where bucket b begins; it advances as the bucket fills, so
    // afterwards starts[b] .. starts[b + 1] is bucket b.
    let mut order = vec![0u32; table.rules.len()];
    for (i, &b) in bucket_of.iter().enumerate() {
        let slot = &mut starts[b as usize + 1];
        order[*slot as usize] = i as u32;
        *slot += 1;
    }
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
    for bucket in 0..=chains.len() {
        let group = &order[starts[bucket] as usize..starts[bucket + 1] as usize];
        let rules = group.iter().map(|&i| table.rules[i as usize].as_str());
        let name = chains.get(bucket).copied().unwrap_or("");
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
    fn fast_hasher_tells_apart_names_that_differ_late() {
        use std::hash::BuildHasher;
        let b = FastBuild::default();
        let h = |s: &str| b.hash_one(s);
        assert_ne!(
            h("KUBE-SEP-AAAAAAAAAAAAAAAA"),
            h("KUBE-SEP-AAAAAAAAAAAAAAAB")
        );
        assert_ne!(h("KUBE-SEP-AAAAAAAA"), h("KUBE-SEP-AAAAAAAA\0"));
        assert_eq!(h("KUBE-SVC-X"), h("KUBE-SVC-X"));
    }
}
