//! Time windows and the multiwindow, multi-burn-rate alert table (SRE Workbook, "Alerting on
//! SLOs"; the same table Sloth ships as its built-in 30d and 28d alert windows).

use std::fmt;

/// A window, in whole seconds. Formats the way Prometheus formats durations (`5m`, `1d`,
/// `30d`, `4w`), which is also how Sloth names its recording rules (`ratio_rate30d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window(pub u64);

pub const MINUTE: u64 = 60;
pub const HOUR: u64 = 3600;
pub const DAY: u64 = 86_400;

impl Window {
    pub const M5: Window = Window(5 * MINUTE);
    pub const M30: Window = Window(30 * MINUTE);
    pub const H1: Window = Window(HOUR);
    pub const H2: Window = Window(2 * HOUR);
    pub const H6: Window = Window(6 * HOUR);
    pub const D1: Window = Window(DAY);
    pub const D3: Window = Window(3 * DAY);
    pub const D28: Window = Window(28 * DAY);
    pub const D30: Window = Window(30 * DAY);

    pub fn seconds(self) -> u64 {
        self.0
    }

    /// Parses a Prometheus duration (`90s`, `5m`, `1h30m`, `30d`, `4w`, `1y`).
    /// Milliseconds are not accepted: SLO windows are whole seconds.
    pub fn parse(text: &str) -> Result<Window, String> {
        let bad = || format!("{text:?} is not a duration such as 5m, 1h, 30d or 4w");
        if text.is_empty() {
            return Err(bad());
        }
        let mut total: u64 = 0;
        let mut digits = String::new();
        let mut last_unit = u64::MAX;
        for c in text.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                'y' => 365 * DAY,
                'w' => 7 * DAY,
                'd' => DAY,
                'h' => HOUR,
                'm' => MINUTE,
                's' => 1,
                _ => return Err(bad()),
            };
            // Units must come largest first, each once (as Prometheus requires).
            if digits.is_empty() || unit >= last_unit {
                return Err(bad());
            }
            let n: u64 = digits.parse().map_err(|_| bad())?;
            total = n
                .checked_mul(unit)
                .and_then(|v| total.checked_add(v))
                .ok_or_else(bad)?;
            digits.clear();
            last_unit = unit;
        }
        if !digits.is_empty() || total == 0 {
            return Err(bad());
        }
        Ok(Window(total))
    }
}

impl fmt::Display for Window {
    /// Prometheus's `model.Duration.String`: years and weeks only when exact (`30d`, not
    /// `4w2d`), then days, hours, minutes, seconds.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        if rest == 0 {
            return f.write_str("0s");
        }
        for (unit, size, exact) in [
            ("y", 365 * DAY, true),
            ("w", 7 * DAY, true),
            ("d", DAY, false),
            ("h", HOUR, false),
            ("m", MINUTE, false),
            ("s", 1, false),
        ] {
            if exact && !rest.is_multiple_of(size) {
                continue;
            }
            let n = rest / size;
            if n > 0 {
                write!(f, "{n}{unit}")?;
                rest -= n * size;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Page,
    Ticket,
}

/// One row of the alert table: fire when both windows burn faster than `burn_rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertPair {
    pub severity: Severity,
    pub short: Window,
    pub long: Window,
    /// Percent of the period's budget the long window may consume before the alert fires.
    pub budget_percent: f64,
    /// `budget_percent × period / long`: 14.4, 6, 3 and 1 for a 30d period.
    pub burn_rate: f64,
}

/// The SLO period and its alert table. Sloth's built-in windows exist for 30d and 28d; the
/// table keeps the workbook's budget percentages and scales the burn rates to the period.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub window: Window,
    pub pairs: [AlertPair; 4],
}

/// The windows kdive computes, shortest first; the period comes last.
pub const SHORT_WINDOWS: [Window; 7] = [
    Window::M5,
    Window::M30,
    Window::H1,
    Window::H2,
    Window::H6,
    Window::D1,
    Window::D3,
];

impl Period {
    pub fn new(window: Window) -> Result<Period, String> {
        if window != Window::D30 && window != Window::D28 {
            return Err(
                "no built-in alert windows for this period (Sloth ships them for 30d and 28d)"
                    .to_string(),
            );
        }
        let pair = |severity, short, long: Window, budget_percent: f64| AlertPair {
            severity,
            short,
            long,
            budget_percent,
            // Integer numerator and denominator, so 30d gives exactly 14.4, 6, 3 and 1.
            burn_rate: (budget_percent * window.0 as f64) / (100.0 * long.0 as f64),
        };
        Ok(Period {
            window,
            pairs: [
                pair(Severity::Page, Window::M5, Window::H1, 2.0),
                pair(Severity::Page, Window::M30, Window::H6, 5.0),
                pair(Severity::Ticket, Window::H2, Window::D1, 10.0),
                pair(Severity::Ticket, Window::H6, Window::D3, 10.0),
            ],
        })
    }

    pub fn thirty_days() -> Period {
        Period::new(Window::D30).unwrap_or_else(|_| unreachable!("30d is built in"))
    }

    /// Every window kdive evaluates for this period: the seven short ones and the period.
    pub fn windows(&self) -> Vec<Window> {
        let mut w = SHORT_WINDOWS.to_vec();
        w.push(self.window);
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_prometheus() {
        let cases = [
            (300, "5m"),
            (1800, "30m"),
            (3600, "1h"),
            (7200, "2h"),
            (86_400, "1d"),
            (3 * 86_400, "3d"),
            (30 * 86_400, "30d"),
            (28 * 86_400, "4w"),
            (365 * 86_400, "1y"),
            (5400, "1h30m"),
            (90, "1m30s"),
        ];
        for (secs, text) in cases {
            assert_eq!(Window(secs).to_string(), text);
            assert_eq!(Window::parse(text), Ok(Window(secs)), "{text}");
        }
    }

    #[test]
    fn rejects_bad_durations() {
        for text in ["", "5", "m", "5x", "1m1h", "0s", "1.5h", "5ms"] {
            assert!(Window::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn thirty_day_table_is_the_workbooks() {
        let p = Period::thirty_days();
        let rates: Vec<f64> = p.pairs.iter().map(|a| a.burn_rate).collect();
        assert_eq!(rates, vec![14.4, 6.0, 3.0, 1.0]);
        assert_eq!(p.pairs[0].short, Window::M5);
        assert_eq!(p.pairs[0].long, Window::H1);
        assert_eq!(p.pairs[3].short, Window::H6);
        assert_eq!(p.pairs[3].long, Window::D3);
    }

    #[test]
    fn twenty_eight_days_scales_the_rates() {
        // 2% of 672h in 1h = 13.44; 5% of 672h in 6h = 5.6; 10% in 24h = 2.8; 10% in 72h = 0.933.
        let p = Period::new(Window::D28).unwrap();
        assert!((p.pairs[0].burn_rate - 13.44).abs() < 1e-12);
        assert!((p.pairs[1].burn_rate - 5.6).abs() < 1e-12);
        assert!((p.pairs[2].burn_rate - 2.8).abs() < 1e-12);
        assert!((p.pairs[3].burn_rate - 0.9333333333333333).abs() < 1e-12);
        assert!(Period::new(Window(7 * DAY)).is_err());
    }
}
