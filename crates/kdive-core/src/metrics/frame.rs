//! What the Prometheus poller sends the UI: plain data, one frame per poll.

use std::collections::BTreeMap;

use super::burn::Burn;
use super::slo::SloDef;

/// A series over time: (unix seconds, value).
pub type Points = Vec<(f64, f64)>;

/// An SLO's numbers now and over the chart range.
#[derive(Debug, Clone, PartialEq)]
pub struct SloFrame {
    pub def: SloDef,
    pub burn: Burn,
    /// Burn rate over the short (5m) and long (1h) windows of the fastest page pair.
    pub burn_short: Points,
    pub burn_long: Points,
    /// Budget remaining over the range (the period ratio evaluated at each step).
    pub budget: Points,
}

/// CPU throttling and memory against limits, per pod of a Service (from cAdvisor series).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodResources {
    pub pod: String,
    /// Throttled CFS periods / all periods over 5m.
    pub cpu_throttled: Option<f64>,
    /// Working set / memory limit.
    pub memory_of_limit: Option<f64>,
}

/// One poll of Prometheus.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricsFrame {
    pub prometheus: String,
    /// Evaluation time (unix seconds).
    pub at: i64,
    pub slos: Vec<SloFrame>,
    /// Per namespace of an SLO's Service: its pods' CPU throttling and memory.
    pub resources: BTreeMap<String, Vec<PodResources>>,
    /// The last poll failed: Prometheus's words (the numbers above are from `at`).
    pub error: Option<String>,
}

/// The step of a range query that fills `width` terminal cells (two Braille points per
/// cell) over `range_seconds`, at least 1s and under Prometheus's 11,000-point limit.
pub fn step_for(range_seconds: f64, width: u16) -> f64 {
    let points = (width.max(1) as f64 * 2.0).min(10_000.0);
    (range_seconds / points).max(1.0).ceil()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_follow_the_width() {
        // 1h over 60 cells: 120 points, one every 30s.
        assert_eq!(step_for(3600.0, 60), 30.0);
        // Short ranges never go below 1s.
        assert_eq!(step_for(60.0, 200), 1.0);
        // 30d over 20,000 cells is capped at 10,000 points: 259.2s → 260s.
        assert_eq!(step_for(2_592_000.0, 20_000), 260.0);
    }
}
