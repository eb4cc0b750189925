//! Which knobs mattered: PED-ANOVA (Watanabe et al., IJCAI 2023), as
//! Optuna's `PedAnovaImportanceEvaluator` computes it.
//!
//! It lives in the host, not in a strategy, because it reads a study's
//! history and nothing else: every study gets it whichever strategy
//! proposed the trials (Optuna keeps `optuna.importance` apart from its
//! samplers for the same reason), and no contract field is needed to carry
//! it out of a plugin.
//!
//! A knob matters for reaching the best results when the best trials are
//! distributed over it differently from all trials. For each knob, the
//! values of the best 10% of the trials and of all trials are counted on a
//! grid (see [`Grid::new`]), smoothed by a one-dimensional Parzen estimator
//! with Scott's bandwidth, and compared by the Pearson divergence
//! `Σ q (p / q − 1)²`. Unlike a variance decomposition it needs no model of
//! the objective and is not dominated by the worst trials, and it costs a
//! few grid evaluations per knob, so every analysis can afford it.

use serde::Serialize;

use super::analysis::metric;
use super::feasibility::is_feasible;
use crate::profile::{Direction, Domain, Objective, Profile, TrialState, Value};
use crate::store::StudyTrial;

/// The top group is the best `1 / TOP_DIVISOR` of the trials, rounded up:
/// the best 10%, Optuna's default `target_quantile`.
const TOP_DIVISOR: usize = 10;

/// Grid points for a continuous knob (Optuna's `n_steps`).
const GRID_STEPS: usize = 50;

/// Fewest trials in the top group for the comparison to say anything.
const MIN_TOP: usize = 3;

/// The fewest trials whose best 10% (rounded up) holds [`MIN_TOP`]
/// trials.
pub const MIN_TRIALS: usize = (MIN_TOP - 1) * TOP_DIVISOR + 1;

/// How much each knob mattered for one objective.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Importance {
    pub metric: String,
    pub direction: Direction,
    /// The feasible complete trials that measured the metric: the trials
    /// compared.
    pub trials: usize,
    /// Each knob's share (summing to 1), largest first; empty when
    /// `reason` says why there are none.
    pub knobs: Vec<KnobImportance>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnobImportance {
    pub knob: String,
    pub importance: f64,
}

/// Knob importance for each objective of the study, in objective order.
pub fn importance(profile: &Profile, trials: &[StudyTrial]) -> Vec<Importance> {
    let feasible: Vec<(Vec<f64>, &StudyTrial)> = trials
        .iter()
        .filter(|t| t.state == TrialState::Complete && is_feasible(&profile.constraints, &t.metrics))
        .filter_map(|t| Some((encoded(profile, &t.config)?, t)))
        .collect();
    profile
        .objectives
        .iter()
        .map(|objective| {
            let rows: Vec<(&[f64], f64)> = feasible
                .iter()
                .filter_map(|(values, t)| Some((values.as_slice(), metric(t, &objective.metric)?)))
                .collect();
            for_objective(profile, objective, &rows)
        })
        .collect()
}

/// `rows` are (knob values, objective value) of the feasible complete
/// trials that measured the objective.
fn for_objective(profile: &Profile, objective: &Objective, rows: &[(&[f64], f64)]) -> Importance {
    let mut result = Importance {
        metric: objective.metric.clone(),
        direction: objective.direction,
        trials: rows.len(),
        knobs: Vec::new(),
        reason: None,
    };
    if rows.len() < MIN_TRIALS {
        result.reason = Some(format!(
            "needs at least {MIN_TRIALS} feasible complete trials with `{}`, so that their best 10% are \
             {MIN_TOP} or more; the study has {}",
            objective.metric,
            rows.len()
        ));
        return result;
    }
    match ped_anova(profile, rows, objective.direction == Direction::Minimize) {
        Some(knobs) => result.knobs = knobs,
        None => {
            result.reason = Some(format!(
                "the best 10% of the trials are spread over every knob as all trials are, so no knob stands \
                 out for `{}`",
                objective.metric
            ))
        }
    }
    result
}

/// The trial's knob values in search-space order, encoded as the history
/// encodes them; `None` when a knob is missing, of another kind or not
/// finite, so a stray row cannot skew the grid.
fn encoded(profile: &Profile, config: &[(String, Value)]) -> Option<Vec<f64>> {
    profile
        .space
        .iter()
        .map(|param| {
            let value = &config.iter().find(|(name, _)| *name == param.name)?.1;
            param.domain.encode(value).filter(|x| x.is_finite())
        })
        .collect()
}

/// Each knob's share of the total divergence, largest first (ties by
/// name); `None` when no knob shows any difference.
fn ped_anova(profile: &Profile, rows: &[(&[f64], f64)], minimize: bool) -> Option<Vec<KnobImportance>> {
    let top = top_group(rows, minimize);
    let mut shares: Vec<KnobImportance> = profile
        .space
        .iter()
        .enumerate()
        .map(|(j, param)| {
            let grid = Grid::new(&param.domain);
            let cell = |i: usize| grid.cell(rows[i].0[j]);
            let all = grid.density((0..rows.len()).map(cell));
            let best = grid.density(top.iter().map(|&i| cell(i)));
            let divergence: f64 = all
                .iter()
                .zip(&best)
                .map(|(&q, &p)| {
                    let (q, p) = (q + 1e-12, p + 1e-12);
                    q * (p / q - 1.0).powi(2)
                })
                .sum();
            KnobImportance {
                knob: param.name.clone(),
                importance: divergence,
            }
        })
        .collect();
    let total: f64 = shares.iter().map(|s| s.importance).sum();
    if !(total > 0.0 && total.is_finite()) {
        return None;
    }
    for share in &mut shares {
        share.importance /= total;
    }
    shares.sort_by(|a, b| b.importance.total_cmp(&a.importance).then(a.knob.cmp(&b.knob)));
    Some(shares)
}

/// The rows at least as good as the `ceil(n / 10)`-th best: the best 10%,
/// with every row tied with the last of them (as Optuna's quantile filter).
fn top_group(rows: &[(&[f64], f64)], minimize: bool) -> Vec<usize> {
    let loss = |i: usize| if minimize { rows[i].1 } else { -rows[i].1 };
    let mut sorted: Vec<f64> = (0..rows.len()).map(loss).collect();
    sorted.sort_by(f64::total_cmp);
    let cutoff = sorted[rows.len().div_ceil(TOP_DIVISOR) - 1];
    (0..rows.len()).filter(|&i| loss(i) <= cutoff).collect()
}

/// A knob's evaluation grid: `size` points, categorical or ordered.
#[derive(Debug)]
struct Grid {
    size: usize,
    categorical: bool,
    log: bool,
    /// Ordered grids: the range in transformed (`ln` for log) space.
    lo: f64,
    hi: f64,
}

impl Grid {
    /// Optuna's grid: a point per label; for a log-scaled integer about
    /// one per doubling (`ceil(log2(span + 1)) + 1`); a point per step of
    /// a stepped knob; [`GRID_STEPS`] at most, and for a continuous range.
    fn new(domain: &Domain) -> Grid {
        let steps = |span: f64, step: f64| ((span / step).round() + 1.0).min(GRID_STEPS as f64) as usize;
        let (size, categorical, log, low, high) = match *domain {
            Domain::Choice { ref values } => (values.len().max(1), true, false, 0.0, 0.0),
            Domain::Flag => (2, true, false, 0.0, 0.0),
            Domain::Integer { low, high, log, step } => {
                let span = high as f64 - low as f64;
                let size = if log {
                    ((span + 1.0).log2().ceil() as usize + 1).min(GRID_STEPS)
                } else {
                    steps(span, step.unwrap_or(1).max(1) as f64)
                };
                (size, false, log, low as f64, high as f64)
            }
            Domain::Real { low, high, log, step } => {
                let size = match step {
                    Some(s) if s > 0.0 => steps(high - low, s),
                    _ => GRID_STEPS,
                };
                (size, false, log, low, high)
            }
        };
        let mut grid = Grid {
            size: size.max(1),
            categorical,
            log,
            lo: 0.0,
            hi: 0.0,
        };
        grid.lo = grid.transform(low);
        grid.hi = grid.transform(high);
        grid
    }

    fn transform(&self, x: f64) -> f64 {
        if self.log {
            x.max(f64::MIN_POSITIVE).ln()
        } else {
            x
        }
    }

    /// The grid point nearest an encoded value; a value midway between
    /// two points goes to the lower one, as in Optuna.
    fn cell(&self, x: f64) -> usize {
        if self.categorical {
            return (x.max(0.0) as usize).min(self.size - 1);
        }
        if self.size == 1 || self.hi <= self.lo {
            return 0;
        }
        let spacing = (self.hi - self.lo) / (self.size - 1) as f64;
        let t = ((self.transform(x) - self.lo) / spacing - 0.5).ceil();
        (t.max(0.0) as usize).min(self.size - 1)
    }

    /// Optuna's smoothed density over the grid of observations at `cells`:
    /// one kernel per occupied point (weighted by its count) plus a prior
    /// kernel (weight 1).
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
        if self.categorical {
            self.categorical_density(&occupied)
        } else {
            self.ordered_density(&occupied)
        }
    }

    /// Kernel at label `k`: `(1 + a)` on `k`, `a` on every label, with
    /// `a = prior / kernels`, normalised; the prior is uniform.
    fn categorical_density(&self, occupied: &[(f64, f64)]) -> Vec<f64> {
        let prior = 1.0;
        let total = occupied.iter().map(|o| o.1).sum::<f64>() + prior;
        let g = self.size as f64;
        let a = prior / (occupied.len() + 1) as f64;
        let mut pdf = vec![prior / total / g; self.size];
        for &(k, c) in occupied {
            let norm = 1.0 + a * g;
            for (label, p) in pdf.iter_mut().enumerate() {
                let hit = if label == k as usize { 1.0 } else { 0.0 };
                *p += c / total * (hit + a) / norm;
            }
        }
        pdf
    }

    /// Gaussians over grid indices, truncated to the grid, with Scott's
    /// bandwidth (at least 0.5 / 1.64, so 90% of a kernel spans a grid
    /// point); the prior is centred with the grid's width as its sigma.
    fn ordered_density(&self, occupied: &[(f64, f64)]) -> Vec<f64> {
        let prior = 1.0;
        let observed: f64 = occupied.iter().map(|o| o.1).sum();
        let total = observed + prior;
        let g = self.size as f64;
        let mean = occupied.iter().map(|(k, c)| k * c).sum::<f64>() / observed;
        let variance =
            occupied.iter().map(|(k, c)| c * (k - mean).powi(2)).sum::<f64>() / (observed - 1.0).max(1.0);
        let scott = 1.059 * (interquartile_range(occupied) / 1.34).min(variance.sqrt()) * observed.powf(-0.2);
        let sigma = scott.max(0.5 / 1.64);
        let kernels = occupied
            .iter()
            .map(|&(k, c)| (k, sigma, c))
            .chain([((g - 1.0) / 2.0, g, prior)]);
        let mut pdf = vec![0.0; self.size];
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

/// The interquartile range of sorted `(index, count)` pairs, with Optuna's
/// quartiles: the first point whose running count reaches `⌊n / 4⌋`, and
/// the first whose running count passes `⌊3n / 4⌋`.
fn interquartile_range(occupied: &[(f64, f64)]) -> f64 {
    let total: f64 = occupied.iter().map(|o| o.1).sum();
    let mut running = 0.0;
    let cumulative: Vec<f64> = occupied
        .iter()
        .map(|o| {
            running += o.1;
            running
        })
        .collect();
    let last = occupied.len() - 1;
    let q1 = cumulative.partition_point(|&c| c < (total / 4.0).floor());
    let q3 = cumulative.partition_point(|&c| c <= (total * 3.0 / 4.0).floor());
    occupied[q3.min(last)].0 - occupied[q1.min(last)].0
}

/// `P(za < Z < zb)` for a standard normal `Z`, from the tails so it keeps
/// its precision far from the mean.
fn normal_mass(za: f64, zb: f64) -> f64 {
    let upper = |z: f64| 0.5 * libm::erfc(z / std::f64::consts::SQRT_2);
    let m = if za >= 0.0 {
        upper(za) - upper(zb)
    } else if zb <= 0.0 {
        upper(-zb) - upper(-za)
    } else {
        1.0 - upper(zb) - upper(-za)
    };
    m.max(0.0)
}

#[cfg(test)]
mod tests;
