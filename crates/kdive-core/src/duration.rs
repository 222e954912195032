//! Durations as Kubernetes prints them: apimachinery `pkg/util/duration/duration.go`.

use chrono::{DateTime, Duration, Utc};

/// `duration.HumanDuration`: about 2–3 significant figures (`45s`, `2m30s`, `12m`, `3h5m`,
/// `5d`, `2y10d`). kubectl's AGE column and "(5m ago)" both read this.
pub fn human_duration(d: Duration) -> String {
    // Go truncates toward zero; up to 1s in the future still counts as "now" (clock skew).
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".to_string();
    } else if seconds < 0 {
        return "0s".to_string();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return with_remainder(minutes, "m", seconds % 60, "s");
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        with_remainder(hours, "h", minutes % 60, "m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        with_remainder(hours / 24, "d", hours % 24, "h")
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        with_remainder(hours / 24 / 365, "y", (hours / 24) % 365, "d")
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// `3h` or `3h5m`: the smaller unit only when it is not zero.
fn with_remainder(n: i64, unit: &str, rest: i64, rest_unit: &str) -> String {
    if rest == 0 {
        format!("{n}{unit}")
    } else {
        format!("{n}{unit}{rest}{rest_unit}")
    }
}

/// kubectl's AGE of something that happened at `from`: [`human_duration`] of `now - from`.
pub fn age(from: DateTime<Utc>, now: DateTime<Utc>) -> String {
    human_duration(now - from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_duration_buckets() {
        let s = Duration::seconds;
        let cases = [
            (s(-2), "<invalid>"),
            (Duration::milliseconds(-1999), "0s"), // truncates to -1s: tolerated skew
            (s(-1), "0s"),
            (s(0), "0s"),
            (s(119), "119s"),
            (s(120), "2m"),
            (s(121), "2m1s"),
            (s(599), "9m59s"),
            (s(600), "10m"),
            (s(601), "10m"),
            (s(3 * 3600 - 1), "179m"),
            (s(3 * 3600), "3h"),
            (s(3 * 3600 + 60), "3h1m"),
            (s(8 * 3600 - 1), "7h59m"),
            (s(8 * 3600), "8h"),
            (s(48 * 3600 - 1), "47h"),
            (s(48 * 3600), "2d"),
            (s(49 * 3600), "2d1h"),
            (s(8 * 86400 - 1), "7d23h"),
            (s(8 * 86400), "8d"),
            (s(730 * 86400 - 1), "729d"),
            (s(730 * 86400), "2y"),
            (s(731 * 86400), "2y1d"),
            (s(8 * 365 * 86400 - 1), "7y364d"),
            (s(8 * 365 * 86400), "8y"),
            (s(20 * 365 * 86400), "20y"),
        ];
        for (d, expected) in cases {
            assert_eq!(human_duration(d), expected, "for {d:?}");
        }
    }

    /// The explorer's own AGE used coarse buckets (`2m` at 150s, `2h` at 2.5h, `0s` for any
    /// future time); kubectl's `HumanDuration` (apimachinery `pkg/util/duration/duration.go`)
    /// wins.
    #[test]
    fn explorer_ages_follow_kubectl() {
        let t0 = DateTime::from_timestamp(1_000_000, 0).unwrap();
        let at = |s| t0 + Duration::seconds(s);
        assert_eq!(age(t0, at(59)), "59s");
        assert_eq!(age(t0, at(150)), "2m30s");
        assert_eq!(age(t0, at(600)), "10m");
        assert_eq!(age(t0, at(9000)), "150m");
        assert_eq!(age(t0, at(3 * 3600)), "3h");
        assert_eq!(age(t0, at(3 * 86400)), "3d");
        assert_eq!(age(at(5), t0), "<invalid>");
    }
}
