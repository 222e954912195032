//! Burn-rate math (SRE Workbook, "Alerting on SLOs"; research notes §1):
//!
//! - error ratio `E(w) = bad(w) / total(w)`, burn rate `BR(w) = E(w) / (1 - SLO)`;
//! - budget remaining `R = 1 - E(P) / (1 - SLO)` (negative when overspent);
//! - time to exhaustion at the 1h burn rate: `R × P / BR(1h)`;
//! - page: (1h and 5m > 14.4) or (6h and 30m > 6); ticket: (1d and 2h > 3) or (3d and 6h > 1),
//!   both windows of a pair over the same threshold.
//!
//! Pure: measurements in, numbers and states out. Prometheus returns an empty result when
//! the SLI's series do not exist (`NoData`) and NaN for 0/0 when they exist but saw no
//! requests (`NoTraffic`); neither is shown as a number.

use serde::Serialize;

use super::window::{AlertPair, Period, Severity, Window};

/// One window's error ratio as Prometheus answered it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ratio {
    /// Empty result: the SLI's series do not exist (yet).
    NoData,
    /// NaN: the series exist but there were no requests (0/0).
    NoTraffic,
    Value(f64),
}

impl Ratio {
    /// From an instant query's samples (kdive sums nothing: SLI queries return one series).
    pub fn from_samples(values: &[f64]) -> Ratio {
        match values.first() {
            None => Ratio::NoData,
            Some(v) if v.is_nan() => Ratio::NoTraffic,
            Some(v) => Ratio::Value(*v),
        }
    }

    pub fn value(self) -> Option<f64> {
        match self {
            Ratio::Value(v) => Some(v),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    pub window: Window,
    pub ratio: Ratio,
    /// Requests in the window, when the SLI counts events.
    pub requests: Option<f64>,
}

/// What Prometheus answered for one SLO at one evaluation time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observation {
    pub windows: Vec<Measurement>,
    /// Seconds of SLI data within the period (None: unknown).
    pub data_age_seconds: Option<f64>,
}

impl Observation {
    pub fn get(&self, w: Window) -> Option<&Measurement> {
        self.windows.iter().find(|m| m.window == w)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowBurn {
    #[serde(skip)]
    pub window: Window,
    pub error_ratio: Option<f64>,
    pub burn_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requests: Option<f64>,
    /// "no_data" or "no_traffic" when there is no ratio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// One alert pair's evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct PairBurn {
    pub pair: AlertPair,
    pub short_burn: Option<f64>,
    pub long_burn: Option<f64>,
}

impl PairBurn {
    /// Both windows over the threshold: the alert condition holds.
    pub fn firing(&self) -> bool {
        let over = |b: Option<f64>| b.is_some_and(|b| b > self.pair.burn_rate);
        over(self.short_burn) && over(self.long_burn)
    }

    /// Exactly one window over: burning, not (or no longer) alerting.
    pub fn one_window_over(&self) -> bool {
        let over = |b: Option<f64>| b.is_some_and(|b| b > self.pair.burn_rate);
        over(self.short_burn) != over(self.long_burn)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Page,
    Ticket,
    /// Budget remaining at or below zero, no alert firing.
    Exhausted,
    NoData,
    NoTraffic,
    LowTraffic,
    Ok,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Page => "page",
            State::Ticket => "ticket",
            State::Exhausted => "exhausted",
            State::NoData => "no_data",
            State::NoTraffic => "no_traffic",
            State::LowTraffic => "low_traffic",
            State::Ok => "ok",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Exhaustion {
    /// The budget is spent (remaining ≤ 0).
    Exhausted,
    /// Seconds until the budget is gone at the current 1h burn rate.
    In(f64),
    /// The 1h window burns nothing.
    NotBurning,
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Burn {
    pub objective_percent: f64,
    pub period: Window,
    pub windows: Vec<WindowBurn>,
    pub pairs: Vec<PairBurn>,
    pub budget_remaining: Option<f64>,
    pub exhaustion: Exhaustion,
    pub page: bool,
    pub ticket: bool,
    pub state: State,
    /// Requests in the last hour when below the low-traffic threshold.
    pub low_traffic_requests: Option<f64>,
    /// Seconds of data behind the period numbers, when shorter than the period.
    pub partial_period_seconds: Option<f64>,
}

impl Burn {
    pub fn window(&self, w: Window) -> Option<&WindowBurn> {
        self.windows.iter().find(|b| b.window == w)
    }

    pub fn error_budget(&self) -> f64 {
        error_budget(self.objective_percent)
    }
}

/// `1 - SLO` as a ratio: 0.001 for 99.9. Computed as Sloth does (`(100 - objective) / 100`).
pub fn error_budget(objective_percent: f64) -> f64 {
    (100.0 - objective_percent) / 100.0
}

/// Fewer requests than this in 1h and a single error burns faster than the fastest page
/// threshold: `1 / (BR_page × (1 - SLO))`, about 69 requests for 99.9% over 30d.
pub fn low_traffic_threshold(objective_percent: f64, period: &Period) -> f64 {
    1.0 / (period.pairs[0].burn_rate * error_budget(objective_percent))
}

pub fn evaluate(objective_percent: f64, period: &Period, obs: &Observation) -> Burn {
    let budget = error_budget(objective_percent);
    let windows: Vec<WindowBurn> = period
        .windows()
        .into_iter()
        .map(|w| {
            let m = obs.get(w);
            let ratio = m.map_or(Ratio::NoData, |m| m.ratio);
            let error_ratio = ratio.value();
            WindowBurn {
                window: w,
                error_ratio,
                burn_rate: error_ratio.map(|e| e / budget),
                requests: m.and_then(|m| m.requests).filter(|r| r.is_finite()),
                note: match ratio {
                    Ratio::NoData => Some("no_data"),
                    Ratio::NoTraffic => Some("no_traffic"),
                    Ratio::Value(_) => None,
                },
            }
        })
        .collect();
    let burn_of = |w: Window| {
        windows
            .iter()
            .find(|b| b.window == w)
            .and_then(|b| b.burn_rate)
    };
    let pairs: Vec<PairBurn> = period
        .pairs
        .iter()
        .map(|p| PairBurn {
            pair: *p,
            short_burn: burn_of(p.short),
            long_burn: burn_of(p.long),
        })
        .collect();
    let page = pairs
        .iter()
        .any(|p| p.pair.severity == Severity::Page && p.firing());
    let ticket = pairs
        .iter()
        .any(|p| p.pair.severity == Severity::Ticket && p.firing());
    let budget_remaining = burn_of(period.window).map(|br| 1.0 - br);
    let exhaustion = match (budget_remaining, burn_of(Window::H1)) {
        (Some(r), _) if r <= 0.0 => Exhaustion::Exhausted,
        (Some(r), Some(br)) if br > 0.0 => Exhaustion::In(r * period.window.seconds() as f64 / br),
        (Some(_), Some(_)) => Exhaustion::NotBurning,
        _ => Exhaustion::Unknown,
    };
    let short = windows
        .iter()
        .find(|b| b.window == Window::M5)
        .and_then(|b| b.note);
    let all_no_data = windows.iter().all(|b| b.note == Some("no_data"));
    let hour_requests = windows
        .iter()
        .find(|b| b.window == Window::H1)
        .and_then(|b| b.requests);
    let low_traffic_requests =
        hour_requests.filter(|r| *r < low_traffic_threshold(objective_percent, period));
    let state = if page {
        State::Page
    } else if ticket {
        State::Ticket
    } else if budget_remaining.is_some_and(|r| r <= 0.0) {
        State::Exhausted
    } else if all_no_data || short == Some("no_data") {
        State::NoData
    } else if short == Some("no_traffic") {
        State::NoTraffic
    } else if low_traffic_requests.is_some() {
        State::LowTraffic
    } else {
        State::Ok
    };
    let period_secs = period.window.seconds() as f64;
    // Within a minute of the period counts as the whole period (the age has 1m steps).
    let partial_period_seconds = obs
        .data_age_seconds
        .filter(|age| *age + 60.0 < period_secs)
        .map(|age| age.max(0.0));
    Burn {
        objective_percent,
        period: period.window,
        windows,
        pairs,
        budget_remaining,
        exhaustion,
        page,
        ticket,
        state,
        low_traffic_requests,
        partial_period_seconds,
    }
}

/// Worst first: page firing, then ticket, then lowest budget remaining (unknown budgets
/// last), then name.
pub fn worst_first(a: (&Burn, &str), b: (&Burn, &str)) -> std::cmp::Ordering {
    let rank = |x: &Burn| match x.state {
        State::Page => 0,
        State::Ticket => 1,
        _ => 2,
    };
    rank(a.0)
        .cmp(&rank(b.0))
        .then_with(|| match (a.0.budget_remaining, b.0.budget_remaining) {
            (Some(x), Some(y)) => x.total_cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        })
        .then_with(|| a.1.cmp(b.1))
}

/// `2d 3h`, `45m`, `30s`: the two largest units, for durations shown to people.
pub fn human_duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return "?".to_string();
    }
    let s = seconds.round() as u64;
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    let parts: Vec<String> = [(d, "d"), (h, "h"), (m, "m"), (sec, "s")]
        .iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    if parts.is_empty() {
        "0s".to_string()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests;
