//! Object names: `generateName` suffixes and `metadata.name` validation with the
//! apiserver's own messages (`ValidateObjectMeta` and the per-resource name functions).

use kdive_core::field_errors::{BadValue, FieldError};
use kdive_core::validation;
use rand::Rng;

/// The characters of generated suffixes (`utilrand.String`: no vowels, no 0/1/3).
pub const SUFFIX_ALPHABET: &str = "bcdfghjklmnpqrstvwxz2456789";
const SUFFIX_LEN: usize = 5;
/// The base is cut so that base + suffix fits a 63-character label.
pub const MAX_GENERATED_BASE_LEN: usize = 63 - SUFFIX_LEN;

/// `SimpleNameGenerator.GenerateName`: the base (cut to 58 bytes) plus 5 random characters.
pub fn generate_name(base: &str, rng: &mut impl Rng) -> String {
    let mut cut = base.len().min(MAX_GENERATED_BASE_LEN);
    while !base.is_char_boundary(cut) {
        cut -= 1;
    }
    let alphabet = SUFFIX_ALPHABET.as_bytes();
    let suffix: String = (0..SUFFIX_LEN)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect();
    format!("{}{suffix}", &base[..cut])
}

/// Which rule a resource's names follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// Most kinds: `example.com`, at most 253 characters.
    Dns1123Subdomain,
    /// Namespaces: one label, at most 63 characters.
    Dns1123Label,
    /// Services: a label that starts with a letter.
    Dns1035Label,
    /// RBAC kinds: anything usable as a URL path segment (`system:controller:x`).
    PathSegment,
}

/// The name rule of a plural resource name.
pub fn name_rule(resource: &str) -> NameRule {
    match resource {
        "namespaces" => NameRule::Dns1123Label,
        "services" => NameRule::Dns1035Label,
        "roles" | "clusterroles" | "rolebindings" | "clusterrolebindings" => NameRule::PathSegment,
        _ => NameRule::Dns1123Subdomain,
    }
}

/// `maskTrailingDash`: a `generateName` may end in '-', since a suffix follows.
fn mask_trailing_dash(s: &str) -> String {
    if s.len() > 1 && s.ends_with('-') {
        // Like the apiserver, this drops the last two bytes (ASCII here: '-' and one more).
        let keep = s.len().saturating_sub(2);
        if s.is_char_boundary(keep) {
            return format!("{}a", &s[..keep]);
        }
    }
    s.to_string()
}

/// The problems with a name under a rule (empty when valid); `prefix` is for a
/// `generateName`, which may end in '-'.
pub fn name_problems(rule: NameRule, name: &str, prefix: bool) -> Vec<String> {
    let name = if prefix && rule != NameRule::PathSegment {
        mask_trailing_dash(name)
    } else {
        name.to_string()
    };
    match rule {
        NameRule::Dns1123Subdomain => validation::is_dns1123_subdomain(&name),
        NameRule::Dns1123Label => validation::is_dns1123_label(&name),
        NameRule::Dns1035Label => validation::is_dns1035_label(&name),
        NameRule::PathSegment => {
            let mut out = Vec::new();
            if name == "." || name == ".." {
                out.push(format!("may not be '{name}'"));
            }
            for bad in ["/", "%"] {
                if name.contains(bad) {
                    out.push(format!("may not contain '{bad}'"));
                }
            }
            out
        }
    }
}

/// The field errors of `metadata.name` and `metadata.generateName` for a create, as
/// `ValidateObjectMeta` words them (e.g. `metadata.name: Invalid value: "Web_1": ...`).
/// `name` is the final name (already generated, if it was).
pub fn validate_names(resource: &str, name: &str, generate_name: &str) -> Vec<FieldError> {
    let rule = name_rule(resource);
    let mut errors = Vec::new();
    if !generate_name.is_empty() {
        for msg in name_problems(rule, generate_name, true) {
            errors.push(FieldError::invalid(
                "metadata.generateName",
                BadValue::Str(generate_name.into()),
                msg,
            ));
        }
    }
    if name.is_empty() {
        errors.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        for msg in name_problems(rule, name, false) {
            errors.push(FieldError::invalid(
                "metadata.name",
                BadValue::Str(name.into()),
                msg,
            ));
        }
    }
    errors
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
