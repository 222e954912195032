//! How a Deployment replaces its pods: the strategy and, for RollingUpdate, the fenceposts
//! (maxSurge/maxUnavailable resolved to pod counts) exactly as the deployment controller
//! computes them (`ResolveFenceposts`, `MaxSurge`, `MaxUnavailable` in kubernetes
//! `pkg/controller/deployment/util/deployment_util.go`).

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The API server defaults both fenceposts to this when `rollingUpdate` is left out.
pub const DEFAULT_FENCEPOST: &str = "25%";

/// A Deployment's strategy with its bounds resolved against `spec.replicas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Every old pod is scaled down and gone before any new pod is created: no surge, and
    /// the Deployment is fully unavailable in between.
    Recreate,
    /// Pods may total `replicas + max_surge`; at least `replicas - max_unavailable` stay
    /// available.
    RollingUpdate {
        max_surge: i32,
        max_unavailable: i32,
    },
}

impl Strategy {
    /// `MaxSurge`: 0 for Recreate.
    pub fn max_surge(self) -> i32 {
        match self {
            Strategy::Recreate => 0,
            Strategy::RollingUpdate { max_surge, .. } => max_surge,
        }
    }

    /// `MaxUnavailable`: 0 for Recreate.
    pub fn max_unavailable(self) -> i32 {
        match self {
            Strategy::Recreate => 0,
            Strategy::RollingUpdate {
                max_unavailable, ..
            } => max_unavailable,
        }
    }
}

/// `IsRollingUpdate` negated. An absent type is RollingUpdate, as the API server defaults it.
pub fn is_recreate(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.strategy.as_ref())
        .and_then(|s| s.type_.as_deref())
        == Some("Recreate")
}

/// The Deployment's strategy with its fenceposts, or the error the controller's sync fails
/// with for a malformed value.
pub fn strategy(d: &Deployment) -> Result<Strategy, String> {
    if is_recreate(d) {
        return Ok(Strategy::Recreate);
    }
    let spec = d.spec.clone().unwrap_or_default();
    let replicas = spec.replicas.unwrap_or(1);
    let rolling = spec
        .strategy
        .and_then(|s| s.rolling_update)
        .unwrap_or_default();
    let default = IntOrString::String(DEFAULT_FENCEPOST.into());
    let (max_surge, unavailable) = resolve_fenceposts(
        rolling.max_surge.as_ref().unwrap_or(&default),
        rolling.max_unavailable.as_ref().unwrap_or(&default),
        replicas,
    )?;
    // `MaxUnavailable` caps at replicas (and is 0 for 0 replicas).
    let max_unavailable = unavailable.min(replicas.max(0));
    Ok(Strategy::RollingUpdate {
        max_surge,
        max_unavailable,
    })
}

/// `(maxSurge, maxUnavailable)` as the controller uses them: `(0, 0)` for Recreate.
pub fn fenceposts(d: &Deployment) -> Result<(i32, i32), String> {
    strategy(d).map(|s| (s.max_surge(), s.max_unavailable()))
}

/// `ResolveFenceposts`: percentages of `desired`, surge rounded up and unavailable down;
/// when both come to 0 unavailable becomes 1 so the rollout can still progress.
pub fn resolve_fenceposts(
    max_surge: &IntOrString,
    max_unavailable: &IntOrString,
    desired: i32,
) -> Result<(i32, i32), String> {
    let surge = scaled_value(max_surge, desired, true)?;
    let unavailable = scaled_value(max_unavailable, desired, false)?;
    if surge == 0 && unavailable == 0 {
        return Ok((0, 1));
    }
    Ok((surge, unavailable))
}

/// `intstr.GetScaledValueFromIntOrPercent`: an int as is, `"N%"` of `total` rounded as
/// asked; any other string is an error. Integer arithmetic, so no float rounding creeps in.
pub fn scaled_value(v: &IntOrString, total: i32, round_up: bool) -> Result<i32, String> {
    match v {
        IntOrString::Int(n) => Ok(*n),
        IntOrString::String(s) => {
            let percent: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| format!("invalid value for IntOrString: invalid value {s:?}"))?;
            let product = percent * i64::from(total);
            let value = if round_up {
                (product + 99).div_euclid(100)
            } else {
                product.div_euclid(100)
            };
            Ok(value as i32)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment};

    fn pct(s: &str) -> IntOrString {
        IntOrString::String(s.into())
    }

    fn deployment(
        replicas: i32,
        type_: Option<&str>,
        surge: Option<IntOrString>,
        unavailable: Option<IntOrString>,
    ) -> Deployment {
        let rolling = RollingUpdateDeployment {
            max_surge: surge,
            max_unavailable: unavailable,
        };
        Deployment {
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                strategy: Some(DeploymentStrategy {
                    type_: type_.map(str::to_string),
                    rolling_update: Some(rolling),
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_quarter_of_three_replicas_surges_one_and_keeps_all_available() {
        // deployment_util.go ResolveFenceposts: ceil(0.75) = 1, floor(0.75) = 0.
        assert_eq!(resolve_fenceposts(&pct("25%"), &pct("25%"), 3), Ok((1, 0)));
        // Left out, the API server's 25%/25% applies.
        assert_eq!(
            strategy(&deployment(3, None, None, None)),
            Ok(Strategy::RollingUpdate {
                max_surge: 1,
                max_unavailable: 0
            })
        );
        assert_eq!(resolve_fenceposts(&pct("25%"), &pct("25%"), 10), Ok((3, 2)));
    }

    #[test]
    fn both_fenceposts_zero_makes_unavailable_one() {
        // deployment_util.go ResolveFenceposts: "we should set maxUnavailable to 1".
        assert_eq!(
            resolve_fenceposts(&IntOrString::Int(0), &pct("10%"), 3),
            Ok((0, 1))
        );
    }

    #[test]
    fn max_unavailable_caps_at_replicas() {
        // deployment_util.go MaxUnavailable: capped at spec.replicas, 0 for 0 replicas.
        let d = deployment(
            2,
            None,
            Some(IntOrString::Int(0)),
            Some(IntOrString::Int(5)),
        );
        assert_eq!(fenceposts(&d), Ok((0, 2)));
        assert_eq!(fenceposts(&deployment(0, None, None, None)), Ok((0, 0)));
    }

    #[test]
    fn recreate_has_no_surge_and_no_unavailable_budget() {
        // deployment_util.go MaxSurge/MaxUnavailable return 0 unless IsRollingUpdate; the
        // workload pane used to show RollingUpdate bounds for Recreate Deployments.
        let d = deployment(3, Some("Recreate"), None, None);
        assert!(is_recreate(&d));
        assert_eq!(strategy(&d), Ok(Strategy::Recreate));
        assert_eq!(fenceposts(&d), Ok((0, 0)));
    }

    #[test]
    fn only_percentages_are_valid_strings() {
        // intstr.GetScaledValueFromIntOrPercent: "string is not a percentage" is an error,
        // not 25% (the workload pane's old fallback) nor a plain number.
        assert!(scaled_value(&pct("lots"), 3, true).is_err());
        assert!(scaled_value(&pct("2"), 3, true).is_err());
        assert!(scaled_value(&pct("12.5%"), 8, true).is_err());
        assert_eq!(scaled_value(&pct("12%"), 8, true), Ok(1));
        assert_eq!(scaled_value(&pct("12%"), 8, false), Ok(0));
    }
}
