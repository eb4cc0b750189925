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
//!
//! A numeric kernel's bandwidth is Optuna 5's, per knob: the larger gap to
//! its neighbouring observations (the bounds count as neighbours, except
//! for the outermost observations), clipped between the range split
//! `min(100, n + 2)` ways and the whole range. Dense regions get narrow
//! kernels, so the search refines around good points as they accumulate;
//! a single Scott-rule width for all kernels (Optuna 3's multivariate
//! choice, tried here first) stays wide and converged measurably worse on
//! the sample-efficiency benchmark (docs/benchmarks.md).
//!
//! Scoring a candidate is the hot loop (candidates × kernels × knobs): it is
//! done a knob at a time over all kernels (column-major centres), with a
//! cheap upper bound for grid cells so that kernels that cannot matter
//! (`e^-30` below the best one) skip the exact, `erfc`-based cell mass.

use aiopt_sdk::{Domain, Rng, Value};

/// A kernel whose upper bound lies this far (in log density) below the
/// best kernel's exact term is left out: all of them together change the
/// density by less than `n · e^-30` relatively.
const PRUNE_BELOW: f64 = 30.0;

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
    /// Gaussian kernels truncated to `[lo, hi]`, per kernel: `sigma`, its
    /// inverse, the log of its mass inside the bounds, and the constant
    /// part of its log density `-ln sigma - ln sqrt(2 pi) - ln_mass`.
    Numeric {
        sigma: Vec<f64>,
        inv_sigma: Vec<f64>,
        ln_mass: Vec<f64>,
        ln_norm: Vec<f64>,
    },
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
    /// Kernel centres per dimension (`columns[j][i]` for kernel `i`; the
    /// category index for categorical dims); the prior kernel, last, sits
    /// at the range centres.
    columns: Vec<Vec<f64>>,
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
        let kernels = n + 1;
        let columns: Vec<Vec<f64>> = dims
            .iter()
            .enumerate()
            .map(|(j, dim)| {
                let (lo, hi) = dim.bounds();
                let prior = match dim {
                    Dim::Categorical { .. } => 0.0,
                    _ => 0.5 * (lo + hi),
                };
                obs.iter().map(|row| row[j]).chain([prior]).collect()
            })
            .collect();
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
        let models = dims
            .iter()
            .zip(&columns)
            .map(|(dim, mus)| match *dim {
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
                    let sigma = neighbour_sigmas(&mus[..n], lo, hi);
                    let ln_mass: Vec<f64> = mus
                        .iter()
                        .zip(&sigma)
                        .map(|(&mu, &s)| ln_normal_mass(lo, hi, mu, s))
                        .collect();
                    // Most kernels of a long history sit at the floor
                    // width: reuse its log rather than one `ln` each.
                    let floor = sigma.iter().copied().fold(f64::INFINITY, f64::min);
                    let ln_floor = floor.ln();
                    let ln_sigma = |s: f64| if s == floor { ln_floor } else { s.ln() };
                    let ln_norm = sigma
                        .iter()
                        .zip(&ln_mass)
                        .map(|(&s, m)| -ln_sigma(s) - LN_SQRT_2PI - m)
                        .collect();
                    let inv_sigma = sigma.iter().map(|s| 1.0 / s).collect();
                    DimModel::Numeric {
                        sigma,
                        inv_sigma,
                        ln_mass,
                        ln_norm,
                    }
                }
            })
            .collect();
        Parzen {
            dims,
            columns,
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
            let mu = self.columns[j][i];
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
    ///
    /// First every kernel's log term is accumulated a knob at a time, exact
    /// for continuous and categorical knobs and as an upper bound for grid
    /// cells (`mass <= min(1, width · max density over the cell)`); then
    /// the exact cell mass is computed only for kernels whose bound comes
    /// within [`PRUNE_BELOW`] of a known exact term.
    pub(crate) fn ln_density(&self, points: &[Point]) -> f64 {
        let kernels = self.kernels();
        let last = kernels - 1;
        let mut bound = self.ln_weights.clone();
        // The part of `bound` that comes from cell knobs (to be replaced
        // by the exact masses).
        let mut cell_bound = Vec::new();
        for ((point, model), mus) in points.iter().zip(&self.models).zip(&self.columns) {
            match (point, model) {
                (
                    Point::Category(c),
                    DimModel::Categorical {
                        k, ln_hit, ln_miss, ..
                    },
                ) => {
                    for (b, &mu) in bound[..last].iter_mut().zip(mus) {
                        *b += if mu as usize == *c { *ln_hit } else { *ln_miss };
                    }
                    bound[last] -= (*k as f64).ln();
                }
                (
                    Point::Continuous(x),
                    DimModel::Numeric {
                        inv_sigma, ln_norm, ..
                    },
                ) => {
                    for i in 0..kernels {
                        let z = (x - mus[i]) * inv_sigma[i];
                        bound[i] += ln_norm[i] - 0.5 * z * z;
                    }
                }
                (
                    Point::Cell(a, b),
                    DimModel::Numeric {
                        inv_sigma,
                        ln_mass,
                        ln_norm,
                        ..
                    },
                ) => {
                    if cell_bound.is_empty() {
                        cell_bound = vec![0.0; kernels];
                    }
                    let ln_width = (b - a).max(f64::MIN_POSITIVE).ln();
                    for i in 0..kernels {
                        let mu = mus[i];
                        let gap = larger(larger(a - mu, mu - b), 0.0);
                        let z = gap * inv_sigma[i];
                        let ln_peak = ln_norm[i] + ln_mass[i];
                        let term = smaller(ln_width + ln_peak - 0.5 * z * z, 0.0) - ln_mass[i];
                        bound[i] += term;
                        cell_bound[i] += term;
                    }
                }
                _ => unreachable!("points follow dims"),
            }
        }
        if cell_bound.is_empty() {
            return log_sum_exp(&bound);
        }
        let top = (0..kernels)
            .max_by(|&x, &y| bound[x].total_cmp(&bound[y]))
            .unwrap_or(last);
        let exact = |i: usize| bound[i] - cell_bound[i] + self.exact_cells(points, i);
        let threshold = exact(top) - PRUNE_BELOW;
        let terms: Vec<f64> = (0..kernels)
            .filter(|&i| bound[i] >= threshold)
            .map(exact)
            .collect();
        log_sum_exp(&terms)
    }

    /// Kernel `i`'s exact log mass over the candidate's grid cells.
    fn exact_cells(&self, points: &[Point], i: usize) -> f64 {
        points
            .iter()
            .zip(&self.models)
            .zip(&self.columns)
            .map(|((point, model), mus)| match (point, model) {
                (
                    Point::Cell(a, b),
                    DimModel::Numeric {
                        inv_sigma, ln_mass, ..
                    },
                ) => {
                    let s = inv_sigma[i];
                    ln_cell_mass((a - mus[i]) * s, (b - mus[i]) * s) - ln_mass[i]
                }
                _ => 0.0,
            })
            .sum()
    }
}

/// Optuna 5's per-kernel bandwidths for one numeric knob: for each
/// observation the larger gap to its neighbours in sorted order (with `lo`
/// and `hi` as outer neighbours, except that the outermost observations
/// use only their inner gap once there are two or more), clipped to
/// `[range / min(100, n + 2), range]`; then the prior's, the whole range.
fn neighbour_sigmas(mus: &[f64], lo: f64, hi: f64) -> Vec<f64> {
    let n = mus.len();
    let range = (hi - lo).max(f64::MIN_POSITIVE);
    let min_sigma = range / (100.0f64).min(n as f64 + 2.0);
    let mut order: Vec<(f64, usize)> = mus.iter().copied().zip(0..).collect();
    order.sort_unstable_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    let sorted: Vec<f64> = std::iter::once(lo)
        .chain(order.iter().map(|&(mu, _)| mu))
        .chain([hi])
        .collect();
    let mut sigma = vec![range; n + 1];
    for (rank, &(_, i)) in order.iter().enumerate() {
        let left = sorted[rank + 1] - sorted[rank];
        let right = sorted[rank + 2] - sorted[rank + 1];
        let gap = match (n >= 2, rank) {
            (true, 0) => right,
            (true, r) if r == n - 1 => left,
            _ => left.max(right),
        };
        sigma[i] = gap.clamp(min_sigma, range);
    }
    sigma
}

/// `max(a, b)` for numbers that are not NaN, as a compare and select:
/// `f64::max` keeps IEEE maxNum's NaN rule, which wasm's `f64.max` lacks,
/// so in wasm32 it is a call into libm's `fmax`, and that call was 5% of a
/// suggestion's time.
#[inline]
fn larger(a: f64, b: f64) -> f64 {
    if a > b {
        a
    } else {
        b
    }
}

/// `min(a, b)` for numbers that are not NaN; see [`larger`].
#[inline]
fn smaller(a: f64, b: f64) -> f64 {
    if a < b {
        a
    } else {
        b
    }
}

const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// `ln Σ e^t`; terms more than [`PRUNE_BELOW`] under the largest skip their
/// `exp` (a software routine in wasm32), changing the sum by less than
/// `n · e^-30` relatively.
fn log_sum_exp(terms: &[f64]) -> f64 {
    let m = terms.iter().copied().fold(f64::NEG_INFINITY, larger);
    if !m.is_finite() {
        return m;
    }
    let floor = -PRUNE_BELOW;
    m + terms
        .iter()
        .map(|t| t - m)
        .filter(|&d| d > floor)
        .map(f64::exp)
        .sum::<f64>()
        .ln()
}

/// Upper tail `P(Z > z)` of the standard normal; exactly 0 or 1 beyond 9
/// (the tail there is below 1e-18), which saves the `exp` for the far side
/// of most kernels.
fn upper(z: f64) -> f64 {
    if z > 9.0 {
        0.0
    } else if z < -9.0 {
        1.0
    } else {
        0.5 * aiopt_sdk::stats::erfc(z / std::f64::consts::SQRT_2)
    }
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
    let (za, zb) = ((lo - mu) / sigma, (hi - mu) / sigma);
    // Beyond 9 sigmas on both sides the missing mass is below 1e-18: the
    // log is 0 to double precision, so skip the two erfc calls (most
    // kernels of a long history are narrow and far from the bounds).
    if za < -9.0 && zb > 9.0 {
        return 0.0;
    }
    normal_mass(za, zb).max(1e-300).ln()
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
    fn normal_mass_of_the_central_95_percent() {
        assert!((normal_mass(-1.96, 1.96) - 0.95).abs() < 1e-4);
    }

    /// The mixture's log density summed over every kernel, no bounds.
    fn brute_force(p: &Parzen, points: &[Point]) -> f64 {
        let terms: Vec<f64> = (0..p.kernels())
            .map(|i| {
                let mut s = p.ln_weights[i];
                for ((point, model), mus) in points.iter().zip(&p.models).zip(&p.columns) {
                    s += match (point, model) {
                        (
                            Point::Category(c),
                            DimModel::Categorical {
                                k, ln_hit, ln_miss, ..
                            },
                        ) => {
                            if i == p.kernels() - 1 {
                                -(*k as f64).ln()
                            } else if *c == mus[i] as usize {
                                *ln_hit
                            } else {
                                *ln_miss
                            }
                        }
                        (Point::Continuous(x), DimModel::Numeric { sigma, ln_norm, .. }) => {
                            let z = (x - mus[i]) / sigma[i];
                            ln_norm[i] - 0.5 * z * z
                        }
                        (Point::Cell(a, b), DimModel::Numeric { sigma, ln_mass, .. }) => {
                            ln_cell_mass((a - mus[i]) / sigma[i], (b - mus[i]) / sigma[i]) - ln_mass[i]
                        }
                        _ => unreachable!(),
                    };
                }
                s
            })
            .collect();
        log_sum_exp(&terms)
    }

    #[test]
    fn pruned_density_matches_the_sum_over_every_kernel() {
        use aiopt_sdk::{IntRange, RealRange};
        let domains = [
            Domain::Real(RealRange {
                low: 0.0,
                high: 1.5,
                log: false,
                step: None,
            }),
            Domain::Real(RealRange {
                low: 1e-5,
                high: 1e-1,
                log: true,
                step: None,
            }),
            Domain::Real(RealRange {
                low: 0.0,
                high: 0.5,
                log: false,
                step: Some(0.05),
            }),
            Domain::Integer(IntRange {
                low: 1,
                high: 8,
                log: false,
                step: None,
            }),
            Domain::Integer(IntRange {
                low: 8,
                high: 512,
                log: true,
                step: None,
            }),
            Domain::choice(["adam", "sgd", "adamw"]),
            Domain::Flag,
        ];
        let refs: Vec<&Domain> = domains.iter().collect();
        let dims: Vec<Dim> = domains.iter().map(Dim::new).collect();
        let mut rng = Rng::new(7);
        for n in [1, 2, 30, 400] {
            let obs: Vec<Vec<f64>> = (0..n)
                .map(|_| {
                    domains
                        .iter()
                        .zip(&dims)
                        .map(|(d, dim)| dim.transform(d.encode(&d.sample(&mut rng)).expect("encodable")))
                        .collect()
                })
                .collect();
            let l = Parzen::fit(&dims, &obs, 1.0);
            let g = Parzen::fit(&dims, &obs[..n / 2], 1.0);
            for _ in 0..50 {
                let c = l.sample(&mut rng, &refs);
                for p in [&l, &g] {
                    let (fast, exact) = (p.ln_density(&c.points), brute_force(p, &c.points));
                    assert!(
                        (fast - exact).abs() <= 1e-9 * exact.abs().max(1.0),
                        "n {n}: {fast} vs {exact}"
                    );
                }
            }
        }
    }

    #[test]
    fn bandwidths_follow_the_gaps_between_neighbours() {
        // Observations 0.1, 0.2, 0.6 in [0, 1]: the outermost use their inner
        // gap (0.1 for 0.1, raised to the floor 1 / 5; 0.4 for 0.6), the
        // middle one its larger gap (0.4); the prior spans the range.
        let s = neighbour_sigmas(&[0.6, 0.1, 0.2], 0.0, 1.0);
        let expected = [0.4, 0.2, 0.4, 1.0];
        for (got, want) in s.iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{s:?}");
        }
        // Clipped below at range / min(100, n + 2).
        let s = neighbour_sigmas(&[0.5, 0.5, 0.5], 0.0, 1.0);
        assert!(s[..3].iter().all(|&x| (x - 0.2).abs() < 1e-12), "{s:?}");
        // One observation: the larger distance to a bound.
        assert_eq!(neighbour_sigmas(&[0.3], 0.0, 1.0), [0.7, 1.0]);
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
