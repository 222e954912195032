//! Object name validation with the apiserver's own messages.

use super::resources::ResourceId;

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SERVICE_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/// The message for an invalid `metadata.name`, or None when it is valid.
pub fn name_error(res: ResourceId, name: &str) -> Option<String> {
    let kind = res.info().kind;
    let (ok, max, msg) = match kind {
        "Namespace" => (is_label(name), 63, LABEL_MSG),
        "Service" => (is_dns1035(name), 63, SERVICE_MSG),
        _ => (is_subdomain(name), 253, SUBDOMAIN_MSG),
    };
    if name.len() > max {
        return Some(format!(
            "Invalid value: {name:?}: must be no more than {max} characters"
        ));
    }
    (!ok).then(|| format!("Invalid value: {name:?}: {msg}"))
}

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn is_dns1035(s: &str) -> bool {
    is_label(s) && s.as_bytes()[0].is_ascii_lowercase()
}

fn is_subdomain(s: &str) -> bool {
    !s.is_empty() && s.split('.').all(is_label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::resources::lookup;

    #[test]
    fn names() {
        let pods = lookup("", "v1", "pods").unwrap();
        let svc = lookup("", "v1", "services").unwrap();
        assert_eq!(name_error(pods, "web-1.a"), None);
        assert!(
            name_error(pods, "Web_1")
                .unwrap()
                .contains("RFC 1123 subdomain")
        );
        assert!(name_error(svc, "1web").unwrap().contains("DNS-1035"));
        assert!(name_error(pods, "-a").is_some());
    }
}
