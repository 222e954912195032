//! Chain names (§4 of the spec), probabilities (§5.3) and the masquerade mark (§5.4).

use sha2::{Digest, Sha256};

const BASE32_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// First 16 characters of RFC 4648 base32 (upper case) of sha256(`input`).
/// 16 characters are exactly 80 bits, so only the first 10 digest bytes matter and
/// padding never appears.
pub fn hash16(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    base32_prefix(&digest[..10])
}

/// Base32 of `bytes`, whose length must be a multiple of 5 (no padding needed).
fn base32_prefix(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5);
    push_base32(bytes, &mut out);
    out
}

fn push_base32(bytes: &[u8], out: &mut String) {
    for group in bytes.chunks(5) {
        let mut acc: u64 = 0;
        for &b in group {
            acc = (acc << 8) | u64::from(b);
        }
        // A short final group is left-aligned, as RFC 4648 does before padding.
        let bits = group.len() * 8;
        let chars = bits.div_ceil(5);
        acc <<= chars * 5 - bits;
        for i in (0..chars).rev() {
            out.push(BASE32_ALPHABET[((acc >> (i * 5)) & 31) as usize] as char);
        }
    }
}

/// The chain names of one service port; all share the hash of `N + protocol`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainNames {
    pub svc: String,
    pub svl: String,
    pub ext: String,
    pub fw: String,
}

impl ChainNames {
    /// `port_name` is the string N (§2.3), `protocol` the lower-case protocol.
    pub fn new(port_name: &str, protocol: &str) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(port_name.as_bytes());
        hasher.update(protocol.as_bytes());
        let digest = hasher.finalize();
        let mut h = String::with_capacity(16);
        push_base32(&digest[..10], &mut h);
        let name = |prefix: &str| {
            let mut s = String::with_capacity(prefix.len() + 16);
            s.push_str(prefix);
            s.push_str(&h);
            s
        };
        Self {
            svc: name("KUBE-SVC-"),
            svl: name("KUBE-SVL-"),
            ext: name("KUBE-EXT-"),
            fw: name("KUBE-FW-"),
        }
    }
}

/// `KUBE-SEP-` chain of one endpoint (`endpoint` is `ip:port` or `[ip6]:port`).
pub fn sep_chain(port_name: &str, protocol: &str, endpoint: &str) -> String {
    // Hashing the parts in turn equals hashing their concatenation, without building it.
    let digest = Sha256::new()
        .chain_update(port_name)
        .chain_update(protocol)
        .chain_update(endpoint)
        .finalize();
    let mut s = String::with_capacity(25);
    s.push_str("KUBE-SEP-");
    push_base32(&digest[..10], &mut s);
    s
}

/// Prefixes of the chains that stale-chain cleanup deletes.
pub const SERVICE_CHAIN_PREFIXES: [&str; 5] = [
    "KUBE-SVC-",
    "KUBE-SVL-",
    "KUBE-SEP-",
    "KUBE-FW-",
    "KUBE-EXT-",
];

/// The probability text of rule `i` of `n` (`1/(n-i)` with 10 decimals, like Go `%0.10f`).
pub fn probability_text(i: usize, n: usize) -> String {
    format!("{:.10}", 1.0 / (n - i) as f64)
}

/// The mark string real kube-proxy writes: Go `%#08x` of `1 << bit` (digits padded to 8).
pub fn go_mark(bit: u32) -> String {
    format!("0x{:08x}", 1u64 << bit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_hash_examples() {
        // §4, "Verified examples".
        assert_eq!(hash16("ns1/svc1:p80tcp"), "XPGD46QRK7WJZT7O");
        assert_eq!(hash16("ns1/svc1:p80tcp10.180.0.1:80"), "SXIVWICOYRO3J4NJ");
        assert_eq!(hash16("ns2/svc2:p8080tcp"), "2VJB64SDSIJUP5T6");
        assert_eq!(hash16("ns5/svc5:p80tcp10.180.0.3:80"), "I77PXRDZVX7PMWMN");
        // §11.
        assert_eq!(
            sep_chain("ns1/svc1:p80", "tcp", "10.0.1.1:80"),
            "KUBE-SEP-SNQ3ZNILQDEJNDQO"
        );
    }

    #[test]
    fn base32_rfc4648_vectors() {
        // RFC 4648 §10: "fooba" -> "MZXW6YTB".
        assert_eq!(base32_prefix(b"fooba"), "MZXW6YTB");
        assert_eq!(base32_prefix(b"foobarbazq"), "MZXW6YTBOJRGC6TR");
    }

    #[test]
    fn probabilities_match_spec_table() {
        // §5.3 table: n-i -> X.
        assert_eq!(probability_text(0, 2), "0.5000000000");
        assert_eq!(probability_text(0, 3), "0.3333333333");
        assert_eq!(probability_text(0, 4), "0.2500000000");
        assert_eq!(probability_text(0, 6), "0.1666666667");
        assert_eq!(probability_text(0, 7), "0.1428571429");
        assert_eq!(probability_text(0, 100001), "0.0000099999");
    }

    #[test]
    fn mark_is_go_formatted() {
        assert_eq!(go_mark(14), "0x00004000");
        assert_eq!(go_mark(0), "0x00000001");
    }
}
