//! apimachinery's validation.go cases, and where kdive's former copies differed.

use super::*;

#[test]
fn dns1123_labels_subdomains_and_dns1035_labels() {
    assert!(is_dns1123_label("kdive-demo").is_empty());
    assert!(is_dns1123_label("1abc").is_empty());
    assert_eq!(is_dns1123_label("Web"), vec![DNS1123_LABEL_MSG]);
    assert_eq!(is_dns1123_label("-a"), vec![DNS1123_LABEL_MSG]);
    assert_eq!(is_dns1123_label(""), vec![DNS1123_LABEL_MSG]);
    assert_eq!(
        is_dns1123_label(&"a".repeat(64)),
        vec!["must be no more than 63 characters"]
    );
    assert!(is_dns1123_subdomain("web.example.com").is_empty());
    assert_eq!(is_dns1123_subdomain("a..b"), vec![DNS1123_SUBDOMAIN_MSG]);
    assert!(is_dns1035_label("web").is_empty());
    assert_eq!(is_dns1035_label("1web"), vec![DNS1035_LABEL_MSG]);
    assert_eq!(is_dns1035_label(""), vec![DNS1035_LABEL_MSG]);
}

/// `IsQualifiedName` and `IsValidLabelValue` report every problem, not the first
/// (staging/src/k8s.io/apimachinery/pkg/util/validation/validation.go); the selector's
/// former copy stopped at the first.
#[test]
fn qualified_names_and_label_values_report_every_problem() {
    assert!(is_qualified_name("app.kubernetes.io/name").is_empty());
    let long_and_bad = format!("-{}", "a".repeat(63));
    assert_eq!(
        is_qualified_name(&long_and_bad),
        vec![
            "name part must be no more than 63 characters".to_string(),
            NAME_PART_MSG.to_string()
        ]
    );
    assert_eq!(
        is_qualified_name("/a"),
        vec!["prefix part must be non-empty"]
    );
    assert_eq!(
        is_qualified_name("a/"),
        vec![
            "name part must be non-empty".to_string(),
            NAME_PART_MSG.to_string()
        ]
    );
    assert_eq!(is_qualified_name("a/b/c"), vec![QUALIFIED_NAME_MSG]);
    assert!(is_valid_label_value("").is_empty());
    assert_eq!(
        is_valid_label_value(&long_and_bad),
        vec![
            "must be no more than 63 characters".to_string(),
            LABEL_VALUE_MSG.to_string()
        ]
    );
}
