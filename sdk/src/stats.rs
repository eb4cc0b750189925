//! Small statistics strategies share: means and 95% t-intervals.
//!
//! Benchmarks are noisy and often replicated only a few times, so a
//! recommendation must say how sure it is. The Student t-interval is the
//! honest interval for a handful of replicates; it is implemented here with a
//! fixed table (no special functions), so it gives the same bits everywhere.

#![forbid(unsafe_code)]

use crate::Estimate;

/// Two-sided 95% critical values of Student's t for 1 to 30 degrees of
/// freedom.
const T95: [f64; 30] = [
    12.706_204_7,
    4.302_652_7,
    3.182_446_3,
    2.776_445_1,
    2.570_581_8,
    2.446_911_8,
    2.364_624_3,
    2.306_004_1,
    2.262_157_2,
    2.228_138_9,
    2.200_985_2,
    2.178_812_8,
    2.160_368_7,
    2.144_786_7,
    2.131_449_5,
    2.119_905_3,
    2.109_815_6,
    2.100_922_0,
    2.093_024_1,
    2.085_963_4,
    2.079_613_8,
    2.073_873_1,
    2.068_657_6,
    2.063_898_6,
    2.059_538_6,
    2.055_529_4,
    2.051_830_5,
    2.048_407_1,
    2.045_229_6,
    2.042_272_5,
];

/// The two-sided 95% critical value of Student's t with `df` degrees of
/// freedom: exact to 7 digits up to 30, then a Cornish–Fisher expansion
/// around the normal quantile (error below 1e-4). `df == 0` gives infinity:
/// one observation says nothing about spread.
pub fn t_critical_95(df: u64) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T95[df as usize - 1],
        _ => {
            let z = 1.959_963_984_540_054_f64;
            let d = df as f64;
            let z3 = z * z * z;
            let z5 = z3 * z * z;
            z + (z3 + z) / (4.0 * d) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * d * d)
        }
    }
}

/// The mean, sample standard deviation and 95% t-interval of a sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// How many values.
    pub n: usize,
    /// Their arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor `n - 1`); 0 for one value.
    pub std_dev: f64,
    /// `mean - t * std_dev / sqrt(n)`; equals `mean` for one value.
    pub low: f64,
    /// `mean + t * std_dev / sqrt(n)`; equals `mean` for one value.
    pub high: f64,
}

impl Summary {
    /// Summarises `values`; `None` when empty. With a single value the
    /// interval collapses to the value itself (rather than an infinite
    /// interval), and callers should say that it rests on one measurement.
    pub fn of(values: &[f64]) -> Option<Summary> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Some(Summary {
                n,
                mean,
                std_dev: 0.0,
                low: mean,
                high: mean,
            });
        }
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
        let std_dev = var.sqrt();
        let half = t_critical_95(n as u64 - 1) * std_dev / (n as f64).sqrt();
        Some(Summary {
            n,
            mean,
            std_dev,
            low: mean - half,
            high: mean + half,
        })
    }

    /// The summary as a WIT [`Estimate`] of `metric`.
    pub fn estimate(&self, metric: &str) -> Estimate {
        Estimate {
            metric: metric.to_string(),
            value: self.mean,
            low: self.low,
            high: self.high,
        }
    }
}

/// `erfc(x)` with fractional error below 1.2e-7 everywhere (Numerical
/// Recipes' Chebyshev fit): enough for densities, tails and interval
/// arithmetic in strategies, and pure arithmetic (no libm call that may
/// differ between platforms) so it is the same in every run.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// `P(Z <= z)` of the standard normal, from [`erfc`].
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

/// A percentile-bootstrap 95% interval of a statistic of `n` paired
/// observations: `statistic` gets the indices of one resample (drawn with
/// replacement, `n` of them) and returns its value; the interval is the
/// 2.5th and 97.5th percentiles over `resamples` resamples.
///
/// Paired because strategies compare options on the same requests (a
/// cheap model and a strong one answering the same prompts): resampling
/// the requests, not each option's values separately, keeps the pairing
/// and gives the narrower, honest interval of the difference. `None` when
/// `n` or `resamples` is 0. Deterministic for a given `rng` state.
pub fn bootstrap_interval(
    n: usize,
    resamples: usize,
    rng: &mut crate::Rng,
    mut statistic: impl FnMut(&[usize]) -> f64,
) -> Option<(f64, f64)> {
    if n == 0 || resamples == 0 {
        return None;
    }
    let mut indices = vec![0; n];
    let mut values: Vec<f64> = (0..resamples)
        .map(|_| {
            for slot in indices.iter_mut() {
                *slot = rng.index(n);
            }
            statistic(&indices)
        })
        .collect();
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Some((at(0.025), at(0.975)))
}

/// The mean of `values` with its percentile-bootstrap 95% interval (see
/// [`bootstrap_interval`]); `None` when empty.
pub fn bootstrap_mean(values: &[f64], resamples: usize, rng: &mut crate::Rng) -> Option<(f64, f64, f64)> {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let (low, high) = bootstrap_interval(values.len(), resamples, rng, |idx| {
        idx.iter().map(|&i| values[i]).sum::<f64>() / idx.len() as f64
    })?;
    Some((mean, low, high))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_mean_covers_the_mean_and_narrows_with_n() {
        let mut rng = crate::Rng::new(1);
        let small: Vec<f64> = (0..20).map(|i| f64::from(i % 2)).collect();
        let large: Vec<f64> = (0..2000).map(|i| f64::from(i % 2)).collect();
        let (m, lo, hi) = bootstrap_mean(&small, 2000, &mut rng).unwrap();
        assert_eq!(m, 0.5);
        assert!(lo < 0.5 && hi > 0.5, "{lo} {hi}");
        // A proportion's 95% half-width is about 1.96 sqrt(p(1-p)/n).
        assert!(
            ((hi - lo) / 2.0 - 1.96 * (0.25f64 / 20.0).sqrt()).abs() < 0.05,
            "{lo} {hi}"
        );
        let (_, lo2, hi2) = bootstrap_mean(&large, 2000, &mut rng).unwrap();
        assert!(hi2 - lo2 < (hi - lo) / 5.0, "{lo2} {hi2}");
        assert!(bootstrap_mean(&[], 100, &mut rng).is_none());
        // Same seed, same interval.
        let again = bootstrap_mean(&small, 2000, &mut crate::Rng::new(1)).unwrap();
        assert_eq!(
            again,
            bootstrap_mean(&small, 2000, &mut crate::Rng::new(1)).unwrap()
        );
    }

    #[test]
    fn erfc_matches_reference_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
    }

    #[test]
    fn critical_values() {
        assert_eq!(t_critical_95(0), f64::INFINITY);
        assert!((t_critical_95(1) - 12.7062).abs() < 1e-4);
        assert!((t_critical_95(30) - 2.04227).abs() < 1e-5);
        // Reference values 2.03951 (31), 2.00030 (60), 1.97993 (120).
        assert!((t_critical_95(31) - 2.03951).abs() < 1e-4);
        assert!((t_critical_95(60) - 2.00030).abs() < 1e-4);
        assert!((t_critical_95(120) - 1.97993).abs() < 1e-4);
        assert!((t_critical_95(1_000_000) - 1.96).abs() < 1e-3);
    }

    #[test]
    fn summaries() {
        assert_eq!(Summary::of(&[]), None);
        let one = Summary::of(&[5.0]).unwrap();
        assert_eq!((one.mean, one.low, one.high), (5.0, 5.0, 5.0));
        let s = Summary::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.mean, 2.0);
        assert_eq!(s.std_dev, 1.0);
        let half = 4.302_652_7 / 3f64.sqrt();
        assert!((s.high - (2.0 + half)).abs() < 1e-12);
        assert!((s.low - (2.0 - half)).abs() < 1e-12);
        let e = s.estimate("x");
        assert_eq!((e.metric.as_str(), e.value), ("x", 2.0));
    }
}
