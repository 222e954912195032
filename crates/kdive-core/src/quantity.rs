//! Kubernetes resource quantities (`100m`, `0.5`, `128Mi`, `1Gi`, `1e3`) as integers.

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

/// The quantity in whole units, rounded up (upstream's `Value`): bytes for memory.
pub fn parse_value(s: &str) -> Option<i128> {
    parse_milli(s).map(|m| if m >= 0 { (m + 999) / 1000 } else { m / 1000 })
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

    #[test]
    fn bad_input() {
        for s in ["", "abc", "1.2.3", "12Q", ".", "Mi", "1e"] {
            assert_eq!(parse_milli(s), None, "{s}");
        }
    }
}
