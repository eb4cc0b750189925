//! Numbers in rationales and notes, written the same way by every strategy.

/// Four significant digits and at least one decimal (`312.0`, `0.8734`,
/// `0.0001099`), so small costs keep their digits and readers see at a
/// glance that a value is measured, not counted.
///
/// ```
/// use aiopt_sdk::text::num;
/// assert_eq!(num(0.000_109_93), "0.0001099");
/// assert_eq!(num(312.0), "312.0");
/// ```
pub fn num(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x:.1}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (3 - magnitude).clamp(1, 12) as usize;
    format!("{x:.decimals$}")
}

/// A dollar amount: `$` and [`num`].
pub fn usd(x: f64) -> String {
    format!("${}", num(x))
}

/// `part` against `whole` as a signed percentage with one decimal
/// (`-99.3%`).
pub fn change(part: f64, whole: f64) -> String {
    format!("{:+.1}%", (part / whole - 1.0) * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(312.0), "312.0");
        assert_eq!(num(12.345), "12.35");
        assert_eq!(num(0.87341), "0.8734");
        assert_eq!(num(0.000_109_93), "0.0001099");
        assert_eq!(num(1e-12), "0.000000000001");
        assert_eq!(num(-4.5), "-4.500");
        assert_eq!(num(0.0), "0.0");
        assert_eq!(num(123_456.7), "123456.7");
        assert_eq!(usd(0.01578), "$0.01578");
        assert_eq!(change(0.5, 0.4), "+25.0%");
    }
}
