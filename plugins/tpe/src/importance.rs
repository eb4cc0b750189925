//! Which knobs mattered: PED-ANOVA (Watanabe et al., IJCAI 2023), as
//! Optuna's `PedAnovaImportanceEvaluator` computes it.
//!
//! A knob matters for reaching the best results when the best trials are
//! distributed over it differently from all trials. For each knob, the
//! values of the top `TARGET_QUANTILE` trials and of all trials are counted
//! on a grid (at most [`GRID_STEPS`] points; a label or grid value each when
//! there are fewer), smoothed by a one-dimensional Parzen estimator with
//! Scott's bandwidth, and compared by the Pearson divergence
//! `Σ q (p / q − 1)²`. Unlike a variance decomposition it needs no model of
//! the objective and is not dominated by the worst trials, and it costs a
//! few grid evaluations per knob, so every `recommend` can afford it.

use aiopt_sdk::{Domain, Profile, TrialView};

use crate::parzen::{normal_mass, Dim};

/// The top share of trials whose distribution is compared with all trials
/// (Optuna's default `target_quantile`).
const TARGET_QUANTILE: f64 = 0.1;

/// Grid points for a continuous knob (Optuna's `n_steps`).
const GRID_STEPS: usize = 50;

/// Fewest trials in the top group for the comparison to say anything.
const MIN_TOP: usize = 3;

/// Each knob's share of the total importance (summing to 1), largest first,
/// for the first objective over `rows` (trial, objective value) of feasible
/// complete trials; `None` when fewer than `MIN_TOP / TARGET_QUANTILE`
/// trials or no knob shows any difference.
pub(crate) fn ped_anova<'p>(
    profile: &'p Profile,
    rows: &[(&TrialView, f64)],
    minimize: bool,
) -> Option<Vec<(f64, &'p str)>> {
    let n = rows.len();
    let top_count = (TARGET_QUANTILE * n as f64).ceil() as usize;
    if top_count < MIN_TOP || top_count >= n {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (rows[a].1, rows[b].1);
        let by_value = if minimize {
            x.total_cmp(&y)
        } else {
            y.total_cmp(&x)
        };
        by_value.then(a.cmp(&b))
    });
    let top = &order[..top_count];
    let mut shares: Vec<(f64, &str)> = profile
        .space
        .iter()
        .enumerate()
        .map(|(j, param)| {
            let grid = Grid::new(&param.domain);
            let cell = |i: usize| grid.cell(rows[i].0.values[j]);
            let all = grid.density((0..n).map(cell));
            let best = grid.density(top.iter().map(|&i| cell(i)));
            let divergence: f64 = all
                .iter()
                .zip(&best)
                .map(|(&q, &p)| {
                    let (q, p) = (q + 1e-12, p + 1e-12);
                    q * (p / q - 1.0).powi(2)
                })
                .sum();
            (divergence, param.name.as_str())
        })
        .collect();
    let total: f64 = shares.iter().map(|s| s.0).sum();
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    for share in &mut shares {
        share.0 /= total;
    }
    shares.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    Some(shares)
}

/// A knob's evaluation grid: `size` points, categorical or ordered.
struct Grid {
    size: usize,
    categorical: bool,
    /// Ordered grids: the transformed range and the knob's transform.
    lo: f64,
    hi: f64,
    dim: Dim,
}

impl Grid {
    fn new(domain: &Domain) -> Grid {
        let dim = Dim::new(domain);
        let cardinality = domain.cardinality().unwrap_or(u128::MAX);
        let categorical = matches!(domain, Domain::Choice(_) | Domain::Flag);
        let (lo, hi) = match domain {
            Domain::Real(r) => (dim.transform(r.low), dim.transform(r.high)),
            Domain::Integer(r) => (dim.transform(r.low as f64), dim.transform(r.high as f64)),
            _ => (0.0, 0.0),
        };
        let size = if categorical {
            cardinality as usize
        } else {
            cardinality.clamp(1, GRID_STEPS as u128) as usize
        };
        Grid {
            size,
            categorical,
            lo,
            hi,
            dim,
        }
    }

    /// The grid point nearest an encoded history value.
    fn cell(&self, x: f64) -> usize {
        if self.categorical {
            return (x.max(0.0) as usize).min(self.size - 1);
        }
        if self.size == 1 || self.hi <= self.lo {
            return 0;
        }
        let t = (self.dim.transform(x) - self.lo) / (self.hi - self.lo) * (self.size - 1) as f64;
        (t.round().max(0.0) as usize).min(self.size - 1)
    }

    /// Optuna's smoothed density over the grid of observations at `cells`:
    /// one kernel per occupied point (weighted by its count) plus a prior
    /// kernel (weight 1): a categorical kernel for labels, otherwise a
    /// Gaussian over grid indices with Scott's bandwidth (at least 0.5 /
    /// 1.64, so 90% of a kernel spans a grid point) and its mass per cell.
    fn density(&self, cells: impl Iterator<Item = usize>) -> Vec<f64> {
        let mut counts = vec![0.0; self.size];
        for c in cells {
            counts[c] += 1.0;
        }
        let occupied: Vec<(f64, f64)> = counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0.0)
            .map(|(k, &c)| (k as f64, c))
            .collect();
        let observed: f64 = occupied.iter().map(|o| o.1).sum();
        let prior = 1.0;
        let total = observed + prior;
        let g = self.size as f64;
        let mut pdf = vec![0.0; self.size];
        if self.categorical {
            // Kernel at label `k`: (1 + a) on `k`, `a` on every label, with
            // `a = prior / kernels`, normalised; the prior is uniform.
            let a = prior / (occupied.len() + 1) as f64;
            for &(k, c) in &occupied {
                let norm = 1.0 + a * g;
                for (label, p) in pdf.iter_mut().enumerate() {
                    let hit = if label == k as usize { 1.0 } else { 0.0 };
                    *p += c / total * (hit + a) / norm;
                }
            }
            for p in &mut pdf {
                *p += prior / total / g;
            }
            return pdf;
        }
        let mean = occupied.iter().map(|(k, c)| k * c).sum::<f64>() / observed;
        let variance =
            occupied.iter().map(|(k, c)| c * (k - mean).powi(2)).sum::<f64>() / (observed - 1.0).max(1.0);
        let iqr = weighted_quantile(&occupied, 0.75) - weighted_quantile(&occupied, 0.25);
        let scott = 1.059 * (iqr / 1.34).min(variance.sqrt()) * observed.powf(-0.2);
        let sigma = scott.max(0.5 / 1.64);
        let kernels = occupied
            .iter()
            .map(|&(k, c)| (k, sigma, c))
            .chain([((g - 1.0) / 2.0, g, prior)]);
        for (mu, s, weight) in kernels {
            let inside = normal_mass((-0.5 - mu) / s, (g - 0.5 - mu) / s).max(1e-300);
            for (k, p) in pdf.iter_mut().enumerate() {
                let k = k as f64;
                *p += weight / total * normal_mass((k - 0.5 - mu) / s, (k + 0.5 - mu) / s) / inside;
            }
        }
        pdf
    }
}

/// The grid index at cumulative weight share `q` of sorted `(index,
/// weight)` pairs.
fn weighted_quantile(occupied: &[(f64, f64)], q: f64) -> f64 {
    let total: f64 = occupied.iter().map(|o| o.1).sum();
    let mut acc = 0.0;
    for &(k, c) in occupied {
        acc += c;
        if acc >= q * total {
            return k;
        }
    }
    occupied.last().map_or(0.0, |o| o.0)
}
