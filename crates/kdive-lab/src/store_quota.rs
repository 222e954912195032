//! The lab's object-count quota: a cap on pods so a `replicas: 1000000` cannot take the
//! machine, refused in the words of the ResourceQuota admission plugin.

use super::StoreError;

/// The name the refusal gives, as a real ResourceQuota object's name would appear.
pub const MAX_PODS_QUOTA: &str = "kdive-lab-max-pods";

/// The refusal of one more pod when `used` already reach `max`: quota admission's
/// `admission.NewForbidden(a, fmt.Errorf("exceeded quota: %s, requested: %s, used: %s,
/// limited: %s", ...))`, which apierrors words as `pods "<name>" is forbidden: <err>`.
pub fn exceeded(max: Option<usize>, used: usize, name: &str) -> Option<StoreError> {
    let max = max?;
    if used < max {
        return None;
    }
    Some(StoreError::Forbidden(format!(
        "pods {name:?} is forbidden: exceeded quota: {MAX_PODS_QUOTA}, requested: pods=1, used: pods={used}, limited: pods={max}"
    )))
}

#[cfg(test)]
mod tests {
    use super::exceeded;

    #[test]
    fn refuses_only_at_the_cap_in_quota_admission_words() {
        assert!(exceeded(None, 1_000_000, "web-1").is_none());
        assert!(exceeded(Some(3), 2, "web-1").is_none());
        let e = exceeded(Some(3), 3, "web-1").expect("refused").to_string();
        assert_eq!(
            e,
            "pods \"web-1\" is forbidden: exceeded quota: kdive-lab-max-pods, requested: pods=1, used: pods=3, limited: pods=3"
        );
    }
}
