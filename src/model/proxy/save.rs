//! What `iptables-save` prints for the rules (§10).
use super::canonical::TableSel;
use super::config::ProxyOptions;
use super::render::Ruleset;

pub fn save_text(_rules: &Ruleset, _sel: TableSel, _opts: &ProxyOptions) -> String {
    String::new()
}
