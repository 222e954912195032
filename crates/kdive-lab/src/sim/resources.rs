//! Resource quantities as the API writes them (`128Mi`, `0.5`, `250m`, `1e3`).

/// A quantity as a plain number, or `None` if it is not one.
pub fn quantity(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q
        .find(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
        .unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        _ => return None,
    };
    let v = n * mult;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// A memory quantity in bytes.
pub fn memory_bytes(q: &str) -> Option<f64> {
    quantity(q)
}

/// A CPU quantity in millicores.
pub fn cpu_millicores(q: &str) -> Option<f64> {
    quantity(q).map(|v| v * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(memory_bytes("128Mi"), Some(134_217_728.0));
        assert_eq!(memory_bytes("1G"), Some(1e9));
        assert_eq!(cpu_millicores("250m"), Some(250.0));
        assert_eq!(cpu_millicores("0.5"), Some(500.0));
        assert_eq!(cpu_millicores("2"), Some(2000.0));
        assert_eq!(memory_bytes("1e3"), Some(1000.0));
        assert_eq!(memory_bytes("12Xi"), None);
        assert_eq!(memory_bytes(""), None);
    }
}
