//! generateName suffixes and name validation messages.

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;

/// The errors as their messages (`field: body`).
fn validate_names(resource: &str, name: &str, generate_name: &str) -> Vec<String> {
    super::validate_names(resource, name, generate_name)
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn generated_suffix_uses_the_alphabet_and_keeps_the_base() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..200 {
        let name = generate_name("web-", &mut rng);
        assert_eq!(name.len(), 9);
        assert!(name.starts_with("web-"));
        assert!(
            name[4..].chars().all(|c| SUFFIX_ALPHABET.contains(c)),
            "{name}"
        );
    }
}

#[test]
fn generated_names_depend_on_the_rng_only() {
    let a = generate_name("x-", &mut StdRng::seed_from_u64(1));
    let b = generate_name("x-", &mut StdRng::seed_from_u64(1));
    let c = generate_name("x-", &mut StdRng::seed_from_u64(2));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn long_base_is_cut_to_58() {
    let base = "a".repeat(70);
    let name = generate_name(&base, &mut StdRng::seed_from_u64(3));
    // 58 + 5 = 63: still a valid label.
    assert_eq!(name.len(), 63);
    assert!(name.starts_with(&"a".repeat(58)));
    // The alphabet has no 'a', so exactly 58 of the base's characters were kept.
    assert!(!name[58..].contains('a'));
    // A multi-byte character across the cut is not split.
    let wide = format!("{}é", "a".repeat(57));
    let name = generate_name(&wide, &mut StdRng::seed_from_u64(3));
    assert!(name.starts_with(&"a".repeat(57)));
    assert_eq!(name.len(), 62);
}

#[test]
fn rules_per_resource() {
    assert_eq!(name_rule("pods"), NameRule::Dns1123Subdomain);
    assert_eq!(name_rule("configmaps"), NameRule::Dns1123Subdomain);
    assert_eq!(name_rule("namespaces"), NameRule::Dns1123Label);
    assert_eq!(name_rule("services"), NameRule::Dns1035Label);
    assert_eq!(name_rule("clusterroles"), NameRule::PathSegment);
    assert_eq!(name_rule("widgets"), NameRule::Dns1123Subdomain);
}

#[test]
fn subdomain_message_is_the_apiservers() {
    assert_eq!(
        validate_names("pods", "Web_1", ""),
        [
            "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ]
    );
    assert!(validate_names("pods", "web-1.a", "").is_empty());
    assert!(validate_names("deployments", "a", "").is_empty());
    for bad in ["-a", "a-", "a..b", ".a", "a.", "A"] {
        assert_eq!(validate_names("pods", bad, "").len(), 1, "{bad}");
    }
    // Too long and still valid characters: only the length error.
    let long = "a".repeat(254);
    assert_eq!(
        validate_names("configmaps", &long, ""),
        [format!(
            "metadata.name: Invalid value: \"{long}\": must be no more than 253 characters"
        )]
    );
    assert!(validate_names("configmaps", &"a".repeat(253), "").is_empty());
}

#[test]
fn label_and_dns1035_messages() {
    let e = validate_names("namespaces", "team.a", "");
    assert_eq!(
        e,
        [
            "metadata.name: Invalid value: \"team.a\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
    assert!(validate_names("namespaces", "123", "").is_empty());
    // Services must start with a letter.
    let e = validate_names("services", "1web", "");
    assert_eq!(
        e,
        [
            "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
        ]
    );
    // 64 characters that are otherwise fine: just the length error.
    let long = "a".repeat(64);
    assert_eq!(
        validate_names("services", &long, ""),
        [format!(
            "metadata.name: Invalid value: \"{long}\": must be no more than 63 characters"
        )]
    );
    // Both errors when both apply.
    assert_eq!(validate_names("namespaces", &"A".repeat(64), "").len(), 2);
}

#[test]
fn rbac_names_are_path_segments() {
    assert!(validate_names("clusterroles", "system:controller:job-controller", "").is_empty());
    assert_eq!(
        validate_names("roles", "a/b", ""),
        ["metadata.name: Invalid value: \"a/b\": may not contain '/'"]
    );
    assert_eq!(
        validate_names("rolebindings", "..", ""),
        ["metadata.name: Invalid value: \"..\": may not be '..'"]
    );
    assert_eq!(validate_names("roles", "%/", "").len(), 2);
}

#[test]
fn required_and_generate_name() {
    assert_eq!(
        validate_names("pods", "", ""),
        ["metadata.name: Required value: name or generateName is required"]
    );
    // A generateName may end in '-'; the generated name itself is also checked.
    assert!(validate_names("pods", "web-x7k2p", "web-").is_empty());
    assert!(validate_names("services", "web-x7k2p", "web-").is_empty());
    let e = validate_names("pods", "Web-x7k2p", "Web-");
    assert_eq!(e.len(), 2);
    assert!(e[0].starts_with(
        "metadata.generateName: Invalid value: \"Web-\": a lowercase RFC 1123 subdomain"
    ));
    assert!(e[1].starts_with("metadata.name: Invalid value: \"Web-x7k2p\""));
}

#[test]
fn invalid_status_message() {
    use kdive_core::field_errors::invalid_message;
    let one = super::validate_names("pods", "Web_1", "");
    let msg = invalid_message("Pod", "Web_1", &one);
    assert!(msg.starts_with("Pod \"Web_1\" is invalid: metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain"));
}
