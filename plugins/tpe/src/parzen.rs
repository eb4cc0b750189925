//! The transformed search space and the multivariate Parzen estimator.
//!
//! TPE models densities, not the objective, so every knob is mapped to a
//! space where a kernel makes sense (Watanabe 2023, section 3):
//!
//! * a continuous real lives in `[low, high]`, or `[ln low, ln high]` when
//!   log-scaled, with a truncated Gaussian kernel;
//! * a stepped real or an integer is a continuous variable over the grid's
//!   cells (`[low - step/2, high + step/2]`, logged when log-scaled) whose
//!   samples are rounded to the grid; its density at a grid point is the
//!   kernel's mass over that point's cell, so coarse grids (an integer in
//!   1..=4) are scored by probability rather than by a density at a point;
//! * a choice (and a flag, as two categories) has a categorical kernel:
//!   most mass on the observed label, the rest spread evenly over the others
//!   (Aitchison–Aitken smoothing, with Optuna's prior-weight amount).
//!
//! An estimator is multivariate: kernel `i` is one observation across all
//! knobs, so dependencies between knobs (a large model only pays off with a
//! large batch) are kept, which independent per-knob estimators lose.

use aiopt_sdk::{Domain, Rng, Value};

/// Scott-like bandwidth factor used by Optuna's multivariate TPE.
const SIGMA0_MAGNITUDE: f64 = 0.2;

/// One knob in the transformed space.
#[derive(Clone, Debug)]
pub(crate) enum Dim {
    /// A continuous real: `t = x` or `ln x` over `[lo, hi]`.
    Continuous { lo: f64, hi: f64, log: bool },
    /// A grid of `n` numbers (stepped real or integer), value `k` being the
    /// domain's `grid_value(k)`; `lo`, `hi` bound the cells in `t` space.
    Discrete {
        lo: f64,
        hi: f64,
        log: bool,
        low: f64,
        step: f64,
        n: u64,
        raw_lo: f64,
        raw_hi: f64,
    },
    /// `k` unordered categories, encoded as their index.
    Categorical { k: usize },
}

impl Dim {
    /// The transformed dimension of a valid domain.
    pub(crate) fn new(domain: &Domain) -> Dim {
        let t = |x: f64, log: bool| if log { x.ln() } else { x };
        match domain {
            Domain::Real(r) if r.step.is_none() => Dim::Continuous {
                lo: t(r.low, r.log),
                hi: t(r.high, r.log),
                log: r.log,
            },
            Domain::Real(_) | Domain::Integer(_) => {
                let (low, high, step, log) = match domain {
                    Domain::Real(r) => (r.low, r.high, r.step.unwrap_or(1.0), r.log),
                    Domain::Integer(r) => (r.low as f64, r.high as f64, r.step.unwrap_or(1) as f64, r.log),
                    _ => unreachable!(),
                };
                let n = domain.cardinality().unwrap_or(1).clamp(1, u64::MAX as u128) as u64;
                let top = domain
                    .grid_value(u128::from(n - 1))
                    .and_then(|v| v.as_f64())
                    .unwrap_or(high);
                let half = step / 2.0;
                // A log-scaled cell must stay positive.
                let raw_lo = if log && low - half <= 0.0 {
                    low / 2.0
                } else {
                    low - half
                };
                let raw_hi = top + half;
                Dim::Discrete {
                    lo: t(raw_lo, log),
                    hi: t(raw_hi, log),
                    log,
                    low,
                    step,
                    n,
                    raw_lo,
                    raw_hi,
                }
            }
            Domain::Choice(labels) => Dim::Categorical {
                k: labels.len().max(1),
            },
            Domain::Flag => Dim::Categorical { k: 2 },
        }
    }

    /// The history number `x` (see `Domain::encode`) in transformed space.
    pub(crate) fn transform(&self, x: f64) -> f64 {
        match *self {
            Dim::Continuous { log, .. } | Dim::Discrete { log, .. } if log => x.max(f64::MIN_POSITIVE).ln(),
            _ => x,
        }
    }

    fn bounds(&self) -> (f64, f64) {
        match *self {
            Dim::Continuous { lo, hi, .. } | Dim::Discrete { lo, hi, .. } => (lo, hi),
            Dim::Categorical { k } => (0.0, k as f64),
        }
    }

    /// The grid index nearest transformed value `t` (discrete dims).
    fn snap(&self, t: f64) -> u64 {
        match *self {
            Dim::Discrete {
                log, low, step, n, ..
            } => {
                let x = if log { t.exp() } else { t };
                ((x - low) / step).round().clamp(0.0, (n - 1) as f64) as u64
            }
            _ => 0,
        }
    }

    /// The cell of grid value `x` in transformed space.
    fn cell(&self, x: f64) -> (f64, f64) {
        match *self {
            Dim::Discrete {
                log,
                step,
                raw_lo,
                raw_hi,
                ..
            } => {
                let a = (x - step / 2.0).max(raw_lo);
                let b = (x + step / 2.0).min(raw_hi);
                if log {
                    (a.ln(), b.ln())
                } else {
                    (a, b)
                }
            }
            _ => (x, x),
        }
    }
}

/// A candidate's coordinate in one dimension, ready to be scored.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Point {
    Continuous(f64),
    /// A grid point's cell `[a, b]` in transformed space.
    Cell(f64, f64),
    Category(usize),
}

/// A drawn candidate: the value of each knob and its coordinates.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    pub values: Vec<Value>,
    pub points: Vec<Point>,
}

/// Per-dimension kernel parameters shared by all kernels of an estimator.
#[derive(Clone, Debug)]
enum DimModel {
    /// Gaussian kernels truncated to `[lo, hi]`: per kernel `sigma` and the
    /// log of its mass inside the bounds.
    Numeric { sigma: Vec<f64>, ln_mass: Vec<f64> },
    /// Categorical kernels: probability of the observed label and of each
    /// other label (the prior kernel is uniform).
    Categorical {
        k: usize,
        p_hit: f64,
        ln_hit: f64,
        ln_miss: f64,
    },
}

/// A mixture of `n + 1` joint kernels: one per observation and a prior
/// (centred, as wide as the range, uniform over labels), the last.
pub(crate) struct Parzen<'a> {
    dims: &'a [Dim],
    /// Kernel centres, row-major `kernel × dim` (category index for
    /// categorical dims); the prior row is the range centres.
    mus: Vec<f64>,
    ln_weights: Vec<f64>,
    /// Cumulative normalised weights, for picking a kernel.
    cumulative: Vec<f64>,
    models: Vec<DimModel>,
}

/// Optuna's default observation weights: equal for the 25 newest, a linear
/// ramp from `1/n` up to 1 for older ones (oldest first), so old trials
/// fade once the history is long.
fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let mut w: Vec<f64> = (0..ramp)
        .map(|i| {
            let start = 1.0 / n as f64;
            if ramp == 1 {
                start
            } else {
                start + (1.0 - start) * i as f64 / (ramp - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

impl<'a> Parzen<'a> {
    /// Fits the estimator to `obs` (transformed rows, oldest first).
    pub(crate) fn fit(dims: &'a [Dim], obs: &[Vec<f64>], prior_weight: f64) -> Self {
        let n = obs.len();
        let d = dims.len();
        let kernels = n + 1;
        let mut mus = Vec::with_capacity(kernels * d);
        for row in obs {
            mus.extend_from_slice(row);
        }
        for dim in dims {
            let (lo, hi) = dim.bounds();
            mus.push(match dim {
                Dim::Categorical { .. } => 0.0,
                _ => 0.5 * (lo + hi),
            });
        }
        let mut weights = default_weights(n);
        weights.push(prior_weight);
        let total: f64 = weights.iter().sum();
        let ln_weights = weights.iter().map(|w| (w / total).ln()).collect();
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w / total;
                acc
            })
            .collect();
        let scott = SIGMA0_MAGNITUDE * (n.max(1) as f64).powf(-1.0 / (d as f64 + 4.0));
        let models = dims
            .iter()
            .enumerate()
            .map(|(j, dim)| match *dim {
                Dim::Categorical { k } => {
                    // Optuna: `prior_weight / kernels` added to every label,
                    // 1 to the observed one, normalised.
                    let a = prior_weight / kernels as f64;
                    let denom = 1.0 + k as f64 * a;
                    let p_hit = (1.0 + a) / denom;
                    DimModel::Categorical {
                        k,
                        p_hit,
                        ln_hit: p_hit.ln(),
                        ln_miss: (a / denom).max(f64::MIN_POSITIVE).ln(),
                    }
                }
                _ => {
                    let (lo, hi) = dim.bounds();
                    let range = (hi - lo).max(f64::MIN_POSITIVE);
                    // Optuna's magic clip: no kernel narrower than the range
                    // split among the kernels (at most 100 ways).
                    let min_sigma = range / (100.0f64).min(1.0 + kernels as f64);
                    let sigma: Vec<f64> = (0..kernels)
                        .map(|i| {
                            if i == n {
                                range
                            } else {
                                (scott * range).clamp(min_sigma, range)
                            }
                        })
                        .collect();
                    let ln_mass = (0..kernels)
                        .map(|i| ln_normal_mass(lo, hi, mus[i * d + j], sigma[i]))
                        .collect();
                    DimModel::Numeric { sigma, ln_mass }
                }
            })
            .collect();
        Parzen {
            dims,
            mus,
            ln_weights,
            cumulative,
            models,
        }
    }

    fn kernels(&self) -> usize {
        self.ln_weights.len()
    }

    /// Draws one candidate: a kernel by weight, then each knob from it.
    pub(crate) fn sample(&self, rng: &mut Rng, domains: &[&Domain]) -> Candidate {
        let u = rng.f64();
        let last = self.kernels() - 1;
        let i = self.cumulative.iter().position(|&c| u < c).unwrap_or(last);
        let d = self.dims.len();
        let mut values = Vec::with_capacity(d);
        let mut points = Vec::with_capacity(d);
        for (j, (dim, model)) in self.dims.iter().zip(&self.models).enumerate() {
            let mu = self.mus[i * d + j];
            let domain = domains[j];
            match (dim, model) {
                (Dim::Categorical { k }, DimModel::Categorical { p_hit, .. }) => {
                    let c = if i == last {
                        rng.index(*k)
                    } else {
                        let obs = mu as usize;
                        if *k == 1 || rng.f64() < *p_hit {
                            obs
                        } else {
                            // Uniform among the other labels.
                            let r = rng.index(k - 1);
                            if r >= obs {
                                r + 1
                            } else {
                                r
                            }
                        }
                    };
                    values.push(domain.grid_value(c as u128).unwrap_or_else(|| domain.sample(rng)));
                    points.push(Point::Category(c));
                }
                (_, DimModel::Numeric { sigma, .. }) => {
                    let (lo, hi) = dim.bounds();
                    let t = truncated_normal(rng, mu, sigma[i], lo, hi);
                    match *dim {
                        Dim::Continuous { lo: l, hi: h, log } => {
                            let value = match domain {
                                Domain::Real(r) => {
                                    let x = if log { t.exp() } else { t };
                                    x.clamp(r.low, r.high)
                                }
                                _ => t,
                            };
                            values.push(Value::Real(value));
                            let back = dim.transform(value).clamp(l, h);
                            points.push(Point::Continuous(back));
                        }
                        _ => {
                            let kk = dim.snap(t);
                            let value = domain
                                .grid_value(u128::from(kk))
                                .unwrap_or_else(|| domain.sample(rng));
                            let x = value.as_f64().unwrap_or(0.0);
                            let (a, b) = dim.cell(x);
                            values.push(value);
                            points.push(Point::Cell(a, b));
                        }
                    }
                }
                _ => unreachable!("models follow dims"),
            }
        }
        Candidate { values, points }
    }

    /// `ln p(candidate)` under the mixture (log-sum-exp over kernels).
    pub(crate) fn ln_density(&self, points: &[Point]) -> f64 {
        let d = self.dims.len();
        let last = self.kernels() - 1;
        let mut terms = Vec::with_capacity(self.kernels());
        for i in 0..self.kernels() {
            let mut s = self.ln_weights[i];
            for (j, (point, model)) in points.iter().zip(&self.models).enumerate() {
                let mu = self.mus[i * d + j];
                s += match (point, model) {
                    (
                        Point::Category(c),
                        DimModel::Categorical {
                            k, ln_hit, ln_miss, ..
                        },
                    ) => {
                        if i == last {
                            -(*k as f64).ln()
                        } else if *c == mu as usize {
                            *ln_hit
                        } else {
                            *ln_miss
                        }
                    }
                    (Point::Continuous(x), DimModel::Numeric { sigma, ln_mass }) => {
                        let z = (x - mu) / sigma[i];
                        -0.5 * z * z - sigma[i].ln() - LN_SQRT_2PI - ln_mass[i]
                    }
                    (Point::Cell(a, b), DimModel::Numeric { sigma, ln_mass }) => {
                        ln_cell_mass((a - mu) / sigma[i], (b - mu) / sigma[i]) - ln_mass[i]
                    }
                    _ => unreachable!("points follow dims"),
                };
            }
            terms.push(s);
        }
        log_sum_exp(&terms)
    }
}

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

fn log_sum_exp(terms: &[f64]) -> f64 {
    let m = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + terms.iter().map(|t| (t - m).exp()).sum::<f64>().ln()
}

/// `erfc(x)` with fractional error below 1.2e-7 everywhere (Numerical
/// Recipes' Chebyshev fit): enough to rank candidates, and pure arithmetic
/// so it is the same in every run.
fn erfc(x: f64) -> f64 {
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

/// Upper tail `P(Z > z)` of the standard normal.
fn upper(z: f64) -> f64 {
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// `P(za < Z < zb)`, computed from the tails so it keeps its precision far
/// from the mean.
fn normal_mass(za: f64, zb: f64) -> f64 {
    let m = if za >= 0.0 {
        upper(za) - upper(zb)
    } else if zb <= 0.0 {
        upper(-zb) - upper(-za)
    } else {
        1.0 - upper(zb) - upper(-za)
    };
    m.max(0.0)
}

/// `ln P(za < Z < zb)`; for a narrow cell or one far in a tail, where the
/// difference of tails loses its digits, the midpoint rule in log space.
fn ln_cell_mass(za: f64, zb: f64) -> f64 {
    let width = zb - za;
    if width < 0.25 || za.min(zb).abs().min(za.max(zb).abs()) > 5.0 && za * zb > 0.0 {
        let mid = 0.5 * (za + zb);
        return -0.5 * mid * mid - LN_SQRT_2PI + width.max(f64::MIN_POSITIVE).ln();
    }
    normal_mass(za, zb).max(1e-300).ln()
}

/// `ln` of the mass of `N(mu, sigma)` inside `[lo, hi]`. Kernels are centred
/// inside the bounds and at most as wide as the range, so this is at least
/// `ln 0.38`: no underflow.
fn ln_normal_mass(lo: f64, hi: f64, mu: f64, sigma: f64) -> f64 {
    normal_mass((lo - mu) / sigma, (hi - mu) / sigma).max(1e-300).ln()
}

/// A draw from `N(mu, sigma)` truncated to `[lo, hi]`, by rejection (the
/// mass inside is at least 0.38, see [`ln_normal_mass`]); clamped after 100
/// rejections, which practically never happens.
fn truncated_normal(rng: &mut Rng, mu: f64, sigma: f64, lo: f64, hi: f64) -> f64 {
    let mut x = mu;
    for _ in 0..100 {
        let u1 = 1.0 - rng.f64();
        let u2 = rng.f64();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        x = mu + sigma * z;
        if (lo..=hi).contains(&x) {
            return x;
        }
    }
    x.clamp(lo, hi)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erfc_matches_reference_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
        assert!((normal_mass(-1.96, 1.96) - 0.95).abs() < 1e-4);
    }

    #[test]
    fn weights_ramp_old_observations() {
        assert_eq!(default_weights(3), [1.0, 1.0, 1.0]);
        let w = default_weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-12);
        assert_eq!(w[29], 1.0);
    }
}
