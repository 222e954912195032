//! Kubernetes resource quantities (`100m`, `0.5`, `128Mi`, `1Gi`, `1e3`) as integers, with
//! `resource.Quantity` semantics (apimachinery `pkg/api/resource/quantity.go`).

/// The quantity in thousandths of its unit, rounded up as upstream's `MilliValue` does
/// (so `1.0005` cpu is 1001m). `None` when it does not parse or overflows.
pub fn parse_milli(s: &str) -> Option<i128> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, suffix) = s.split_at(num_end);
    if num.is_empty() || num == "." || num.matches('.').count() > 1 {
        return None;
    }
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    let mantissa: i128 = format!("{int}{frac}").parse().ok()?;
    // value = mantissa / 10^frac_digits * 2^bin * 10^dec
    let (bin, dec): (u32, i32) = match suffix {
        "" => (0, 0),
        "Ki" => (10, 0),
        "Mi" => (20, 0),
        "Gi" => (30, 0),
        "Ti" => (40, 0),
        "Pi" => (50, 0),
        "Ei" => (60, 0),
        "n" => (0, -9),
        "u" => (0, -6),
        "m" => (0, -3),
        "k" => (0, 3),
        "M" => (0, 6),
        "G" => (0, 9),
        "T" => (0, 12),
        "P" => (0, 15),
        "E" => (0, 18),
        e if e.starts_with(['e', 'E']) => (0, e[1..].parse().ok()?),
        _ => return None,
    };
    // Work in thousandths: shift the decimal exponent by 3.
    let exp = dec + 3 - frac.len() as i32;
    let mut v = mantissa.checked_mul(1i128.checked_shl(bin)?)?;
    if exp >= 0 {
        v = v.checked_mul(10i128.checked_pow(exp as u32)?)?;
    } else {
        let d = 10i128.checked_pow((-exp) as u32)?;
        v = (v + d - 1) / d;
    }
    Some(if neg { -v } else { v })
}

/// The quantity in whole units, rounded away from zero (upstream's `Value`): bytes for memory.
pub fn parse_value(s: &str) -> Option<i128> {
    parse_milli(s).map(|m| {
        let whole = (m.abs() + 999) / 1000;
        if m < 0 { -whole } else { whole }
    })
}

/// A CPU request or limit in millicores (`MilliValue`), as a float for the lab's
/// simulation. None when it does not parse or is negative (the API rejects those).
pub fn cpu_millicores(s: &str) -> Option<f64> {
    parse_milli(s).filter(|m| *m >= 0).map(|m| m as f64)
}

/// A memory request or limit in bytes (`Value`), as a float for the lab's simulation. None
/// when it does not parse or is negative.
pub fn memory_bytes(s: &str) -> Option<f64> {
    parse_value(s).filter(|v| *v >= 0).map(|v| v as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_forms() {
        assert_eq!(parse_milli("100m"), Some(100));
        assert_eq!(parse_milli("0.5"), Some(500));
        assert_eq!(parse_milli("2"), Some(2000));
        assert_eq!(parse_milli("1.5"), Some(1500));
        // 250000u = 0.25 cores.
        assert_eq!(parse_milli("250000u"), Some(250));
        // 1.0005 cores rounds up to 1001m.
        assert_eq!(parse_milli("1.0005"), Some(1001));
        assert_eq!(parse_milli(".5"), Some(500));
    }

    #[test]
    fn memory_forms() {
        // 128Mi = 128 * 2^20 = 134217728 bytes.
        assert_eq!(parse_value("128Mi"), Some(134_217_728));
        // 1Gi = 2^30.
        assert_eq!(parse_value("1Gi"), Some(1_073_741_824));
        assert_eq!(parse_value("1G"), Some(1_000_000_000));
        assert_eq!(parse_value("1e3"), Some(1000));
        assert_eq!(parse_value("1.5Gi"), Some(1_610_612_736));
        // 100m bytes rounds up to 1 byte.
        assert_eq!(parse_value("100m"), Some(1));
        assert_eq!(parse_value("64"), Some(64));
    }

    /// The lab's float copy differed from `resource.Quantity` (apimachinery
    /// `pkg/api/resource/quantity.go`); the Quantity rules win.
    #[test]
    fn the_lab_reads_quantities_as_the_api_does() {
        // `n` and `u` are decimal SI suffixes; the float copy rejected them.
        assert_eq!(cpu_millicores("500000000n"), Some(500.0));
        assert_eq!(cpu_millicores("250000u"), Some(250.0));
        // `MilliValue` and `Value` round up: no fractional millicores or bytes.
        assert_eq!(cpu_millicores("1.0005"), Some(1001.0));
        assert_eq!(memory_bytes("0.5"), Some(1.0));
        // An exponent is the whole suffix: `1e3k` is not a quantity.
        assert_eq!(memory_bytes("1e3k"), None);
        assert_eq!(memory_bytes("-1Mi"), None);
        assert_eq!(memory_bytes("128Mi"), Some(134_217_728.0));
    }

    /// `Value` rounds away from zero, like `MilliValue` (`negativeScaleInt64` in
    /// apimachinery `pkg/api/resource/amount.go`); this copy used to truncate toward zero.
    #[test]
    fn negative_values_round_away_from_zero() {
        assert_eq!(parse_value("-1.5"), Some(-2));
        assert_eq!(parse_milli("-1.0005"), Some(-1001));
    }

    #[test]
    fn bad_input() {
        for s in ["", "abc", "1.2.3", "12Q", ".", "Mi", "1e"] {
            assert_eq!(parse_milli(s), None, "{s}");
        }
    }
}
