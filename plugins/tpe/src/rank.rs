//! Ranking measured trials best first, for the good/bad split.
//!
//! With one objective the order is by its value (negated when maximised).
//! With several it is MOTPE's: non-dominated sorting into fronts, and within
//! a front, with two objectives, greedy hypervolume subset selection (as
//! Optuna 5 breaks the tie at the good group's boundary); with three or
//! more, crowding distance (the most isolated first, so the good group
//! spreads along the front rather than clustering). The good kernels get
//! uniform weights, as in Optuna 5's MOTPE. Constraints come first
//! either way (Optuna's constrained TPE): feasible trials that measured
//! every objective, then feasible ones that did not, then infeasible ones by
//! total violation. Ties keep history order, so the ranking is
//! deterministic.

use std::cmp::Ordering;

use aiopt_sdk::{Direction, Profile, TrialState, TrialView};

/// The rows of the history by role.
pub(crate) struct Split {
    /// Complete trials, best first.
    pub ranked: Vec<usize>,
    pub pruned: Vec<usize>,
    pub running: Vec<usize>,
}

/// Each objective's column in the history and the sign that turns it into
/// a value to minimise (`None` when nobody measured it).
pub(crate) fn objective_columns(profile: &Profile) -> Vec<(Option<usize>, f64)> {
    profile
        .objectives
        .iter()
        .map(|o| {
            let sign = match o.direction {
                Direction::Minimize => 1.0,
                Direction::Maximize => -1.0,
            };
            (profile.metric_index(&o.metric), sign)
        })
        .collect()
}

/// The trial's objectives as values to minimise; `None` when one is missing
/// or not finite.
pub(crate) fn signed_objectives(columns: &[(Option<usize>, f64)], trial: &TrialView) -> Option<Vec<f64>> {
    columns
        .iter()
        .map(|&(c, sign)| {
            let v = trial.metric_at(c?)?;
            v.is_finite().then_some(sign * v)
        })
        .collect()
}

/// How far the trial's metrics lie outside the constraints, summed; a
/// missing or NaN metric is infinitely far. 0 for a feasible trial.
pub(crate) fn violation(profile: &Profile, trial: &TrialView) -> f64 {
    profile
        .constraints
        .iter()
        .map(|c| match profile.trial_metric(trial, &c.metric) {
            Some(v) if !v.is_nan() => {
                let below = c.low.map_or(0.0, |l| (l - v).max(0.0));
                let above = c.high.map_or(0.0, |h| (v - h).max(0.0));
                below + above
            }
            _ => f64::INFINITY,
        })
        .sum()
}

/// Whether `a` dominates `b` (both minimised): no worse anywhere, better
/// somewhere.
pub(crate) fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// The front number of each point (0 = non-dominated), by repeated peeling:
/// O(f · n²), fine for the thousands of trials a study holds.
pub(crate) fn fronts(points: &[Vec<f64>]) -> Vec<usize> {
    let n = points.len();
    let mut front = vec![usize::MAX; n];
    let mut left: Vec<usize> = (0..n).collect();
    let mut level = 0;
    while !left.is_empty() {
        let current: Vec<usize> = left
            .iter()
            .copied()
            .filter(|&i| !left.iter().any(|&j| j != i && dominates(&points[j], &points[i])))
            .collect();
        for &i in &current {
            front[i] = level;
        }
        left.retain(|i| front[*i] == usize::MAX);
        level += 1;
    }
    front
}

/// NSGA-II crowding distance of each member of one front (boundary points
/// infinite).
// `k` indexes each member's objective vector, not `points`: the lint's
// iterator rewrite does not apply.
#[allow(clippy::needless_range_loop)]
fn crowding(points: &[Vec<f64>], members: &[usize]) -> Vec<f64> {
    let m = members.len();
    let mut dist = vec![0.0; m];
    if m <= 2 {
        return vec![f64::INFINITY; m];
    }
    let objectives = points[members[0]].len();
    for k in 0..objectives {
        // Member `w`'s value of objective `k`.
        let at = |w: usize| points[members[w]][k];
        let mut order: Vec<usize> = (0..m).collect();
        order.sort_by(|&a, &b| {
            at(a)
                .partial_cmp(&at(b))
                .unwrap_or(Ordering::Equal)
                .then(a.cmp(&b))
        });
        let lo = at(order[0]);
        let hi = at(order[m - 1]);
        dist[order[0]] = f64::INFINITY;
        dist[order[m - 1]] = f64::INFINITY;
        if hi > lo {
            for w in 1..m - 1 {
                let gap = at(order[w + 1]) - at(order[w - 1]);
                dist[order[w]] += gap / (hi - lo);
            }
        }
    }
    dist
}

/// Members of one front of two objectives (mutually non-dominated, both
/// minimised) in greedy hypervolume-subset-selection order: each next one
/// adds the most hypervolume to those before it. Optuna's MOTPE breaks the
/// tie at the good group's boundary front the same way (HSSP, with the
/// reference point at 1.1 times the front's worst values), so the good group
/// is the subset that covers the most of the front, not only its spread.
///
/// In a 2-D front sorted by the first objective, a point's contribution to
/// a selected set is the rectangle up to its nearest selected neighbours
/// (or the reference point), so each round is two linear sweeps: O(k²).
fn hypervolume_order(points: &[Vec<f64>], members: &[usize]) -> Vec<usize> {
    let mut sorted: Vec<usize> = members.to_vec();
    sorted.sort_by(|&a, &b| {
        points[a][0]
            .total_cmp(&points[b][0])
            .then(points[a][1].total_cmp(&points[b][1]))
            .then(a.cmp(&b))
    });
    let reference = |k: usize| {
        let worst = sorted
            .iter()
            .map(|&i| points[i][k])
            .fold(f64::NEG_INFINITY, f64::max);
        let r = (1.1 * worst).max(0.9 * worst);
        if r == 0.0 {
            1e-12
        } else {
            r
        }
    };
    let (r0, r1) = (reference(0), reference(1));
    let k = sorted.len();
    let mut selected = vec![false; k];
    let mut order = Vec::with_capacity(k);
    let mut ceiling = vec![r1; k];
    let mut wall = vec![r0; k];
    for _ in 0..k {
        // Nearest selected neighbour's second objective to the left and
        // first objective to the right.
        let mut last = r1;
        for w in 0..k {
            ceiling[w] = last;
            if selected[w] {
                last = points[sorted[w]][1];
            }
        }
        let mut last = r0;
        for w in (0..k).rev() {
            wall[w] = last;
            if selected[w] {
                last = points[sorted[w]][0];
            }
        }
        let gain = |w: usize| {
            let p = &points[sorted[w]];
            (wall[w] - p[0]).max(0.0) * (ceiling[w] - p[1]).max(0.0)
        };
        let Some(best) = (0..k)
            .filter(|&w| !selected[w])
            .max_by(|&a, &b| gain(a).total_cmp(&gain(b)).then(b.cmp(&a)))
        else {
            break;
        };
        selected[best] = true;
        order.push(sorted[best]);
    }
    order
}

/// The history split by role, complete trials ranked best first.
pub(crate) fn split_input(profile: &Profile) -> Split {
    let columns = objective_columns(profile);
    let mut measured: Vec<(usize, Vec<f64>)> = Vec::new();
    let mut unmeasured = Vec::new();
    let mut infeasible: Vec<(f64, usize)> = Vec::new();
    let mut pruned = Vec::new();
    let mut running = Vec::new();
    for t in profile.trials() {
        match t.state {
            TrialState::Complete => {}
            TrialState::Pruned => {
                pruned.push(t.index);
                continue;
            }
            TrialState::Running => {
                running.push(t.index);
                continue;
            }
            TrialState::Failed => continue,
        }
        if !profile.is_feasible(&t) {
            infeasible.push((violation(profile, &t), t.index));
            continue;
        }
        match signed_objectives(&columns, &t) {
            Some(v) if !v.is_empty() => measured.push((t.index, v)),
            _ => unmeasured.push(t.index),
        }
    }
    let mut ranked: Vec<usize> = if columns.len() >= 2 {
        let points: Vec<Vec<f64>> = measured.iter().map(|(_, v)| v.clone()).collect();
        let front = fronts(&points);
        // Within a front: hypervolume-greedy position with two objectives,
        // otherwise the most crowding distance first.
        let mut within = vec![0.0; points.len()];
        let levels = front.iter().copied().max().map_or(0, |m| m + 1);
        for level in 0..levels {
            let members: Vec<usize> = (0..points.len()).filter(|&i| front[i] == level).collect();
            if columns.len() == 2 {
                for (position, i) in hypervolume_order(&points, &members).into_iter().enumerate() {
                    within[i] = position as f64;
                }
            } else {
                for (&i, d) in members.iter().zip(crowding(&points, &members)) {
                    within[i] = -d;
                }
            }
        }
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| {
            front[a]
                .cmp(&front[b])
                .then(within[a].partial_cmp(&within[b]).unwrap_or(Ordering::Equal))
                .then(a.cmp(&b))
        });
        order.into_iter().map(|i| measured[i].0).collect()
    } else {
        measured.sort_by(|a, b| {
            a.1[0]
                .partial_cmp(&b.1[0])
                .unwrap_or(Ordering::Equal)
                .then(a.0.cmp(&b.0))
        });
        measured.into_iter().map(|(i, _)| i).collect()
    };
    ranked.extend(unmeasured);
    infeasible.sort_by(|a, b| {
        a.0.partial_cmp(&b.0)
            .unwrap_or(Ordering::Equal)
            .then(a.1.cmp(&b.1))
    });
    ranked.extend(infeasible.into_iter().map(|(_, i)| i));
    Split {
        ranked,
        pruned,
        running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypervolume_order_takes_the_knee_first_and_a_near_duplicate_last() {
        // Reference (1.1, 1.1). Alone, the knee (0.5, 0.5) covers the most;
        // then the two extremes add 0.05 each (the first by position wins
        // the tie); the point next to the knee adds least.
        let points = vec![vec![0.0, 1.0], vec![0.5, 0.5], vec![1.0, 0.0], vec![0.45, 0.55]];
        assert_eq!(hypervolume_order(&points, &[0, 1, 2, 3]), [1, 0, 2, 3]);
        // Crowding distance would put both extremes first.
        let crowd = crowding(&points, &[0, 1, 2, 3]);
        assert!(crowd[0].is_infinite() && crowd[2].is_infinite());
    }
}
