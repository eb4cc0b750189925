//! What a study has found so far, as data for charts: the first
//! objective's value per trial with the best feasible value so far and the
//! two-objective Pareto front (knob importance is in `importance`). The
//! dashboard draws these; it computes none of them.

use serde::Serialize;

use super::feasibility::is_feasible;
use crate::profile::{Direction, Objective, Profile, TrialState};
use crate::store::StudyTrial;

/// One complete trial's first-objective value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryPoint {
    pub trial: u32,
    pub value: f64,
    /// The best value of the feasible trials up to this one (absent until
    /// one is feasible).
    pub best: Option<f64>,
    pub feasible: bool,
}

/// The trials on two objectives, the non-dominated feasible ones marked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pareto {
    pub x: String,
    pub y: String,
    pub x_direction: Direction,
    pub y_direction: Direction,
    pub points: Vec<ParetoPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParetoPoint {
    pub trial: u32,
    pub x: f64,
    pub y: f64,
    /// Feasible and not dominated by another feasible trial.
    pub front: bool,
    pub feasible: bool,
}

/// The first objective over the complete trials, in trial order.
pub fn history(profile: &Profile, trials: &[StudyTrial]) -> Vec<HistoryPoint> {
    let Some(objective) = profile.objectives.first() else {
        return Vec::new();
    };
    let mut best: Option<f64> = None;
    complete(trials)
        .filter_map(|t| {
            let value = metric(t, &objective.metric)?;
            let feasible = is_feasible(&profile.constraints, &t.metrics);
            if feasible && best.is_none_or(|b| better(objective.direction, value, b)) {
                best = Some(value);
            }
            Some(HistoryPoint {
                trial: t.number,
                value,
                best,
                feasible,
            })
        })
        .collect()
}

/// The front on the first two objectives; `None` with fewer than two.
pub fn pareto(profile: &Profile, trials: &[StudyTrial]) -> Option<Pareto> {
    let [a, b, ..] = profile.objectives.as_slice() else {
        return None;
    };
    let mut points: Vec<ParetoPoint> = complete(trials)
        .filter_map(|t| {
            Some(ParetoPoint {
                trial: t.number,
                x: metric(t, &a.metric)?,
                y: metric(t, &b.metric)?,
                front: false,
                feasible: is_feasible(&profile.constraints, &t.metrics),
            })
        })
        .collect();
    let dominated = |p: &ParetoPoint, q: &ParetoPoint| dominates(a, b, (q.x, q.y), (p.x, p.y));
    let front: Vec<bool> = points
        .iter()
        .map(|p| p.feasible && !points.iter().any(|q| q.feasible && dominated(p, q)))
        .collect();
    for (p, on_front) in points.iter_mut().zip(front) {
        p.front = on_front;
    }
    Some(Pareto {
        x: a.metric.clone(),
        y: b.metric.clone(),
        x_direction: a.direction,
        y_direction: b.direction,
        points,
    })
}

fn complete(trials: &[StudyTrial]) -> impl Iterator<Item = &StudyTrial> {
    trials.iter().filter(|t| t.state == TrialState::Complete)
}

/// The trial's finite value of metric `name`.
pub(super) fn metric(t: &StudyTrial, name: &str) -> Option<f64> {
    t.metrics
        .iter()
        .find(|(m, _)| m == name)
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
}

/// Whether `x` is strictly better than `than` in `direction`.
pub fn better(direction: Direction, x: f64, than: f64) -> bool {
    match direction {
        Direction::Minimize => x < than,
        Direction::Maximize => x > than,
    }
}

/// Whether `p` is at least as good as `q` on both objectives and better on one.
fn dominates(a: &Objective, b: &Objective, p: (f64, f64), q: (f64, f64)) -> bool {
    let no_worse = |d, x: f64, y: f64| x == y || better(d, x, y);
    no_worse(a.direction, p.0, q.0)
        && no_worse(b.direction, p.1, q.1)
        && (better(a.direction, p.0, q.0) || better(b.direction, p.1, q.1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Constraint, Value};
    use crate::study::testing;

    fn trial(number: u32, recall: f64, latency: f64) -> StudyTrial {
        testing::trial(
            number,
            &[("m", Value::Integer(i64::from(number)))],
            &[("recall", recall), ("latency", latency)],
        )
    }

    fn profile(objectives: &[(&str, Direction)], constraints: Vec<Constraint>) -> Profile {
        let mut p = testing::profile(vec![("m", testing::integer(0, 99))], objectives);
        p.constraints = constraints;
        p
    }

    #[test]
    fn best_so_far_counts_only_feasible_trials() {
        let floor = Constraint {
            metric: "latency".into(),
            low: None,
            high: Some(1.0),
        };
        let p = profile(&[("recall", Direction::Maximize)], vec![floor]);
        let mut running = trial(3, 0.99, 0.1);
        running.state = TrialState::Running;
        let trials = [
            trial(0, 0.5, 2.0),
            trial(1, 0.7, 0.5),
            trial(2, 0.9, 5.0),
            running,
            trial(4, 0.8, 0.2),
        ];
        let h = history(&p, &trials);
        let seen: Vec<(u32, Option<f64>, bool)> = h.iter().map(|x| (x.trial, x.best, x.feasible)).collect();
        assert_eq!(
            seen,
            [
                (0, None, false),
                (1, Some(0.7), true),
                (2, Some(0.7), false),
                (4, Some(0.8), true)
            ]
        );
    }

    #[test]
    fn the_front_holds_the_non_dominated_feasible_trials() {
        let p = profile(
            &[("recall", Direction::Maximize), ("latency", Direction::Minimize)],
            Vec::new(),
        );
        let trials = [
            trial(0, 0.9, 1.0),
            trial(1, 0.8, 2.0), // dominated by 0
            trial(2, 0.95, 3.0),
            trial(3, 0.7, 0.5),
            trial(4, 0.9, 1.0), // equal to 0: neither dominates
        ];
        let front: Vec<u32> = pareto(&p, &trials)
            .expect("two objectives")
            .points
            .iter()
            .filter(|x| x.front)
            .map(|x| x.trial)
            .collect();
        assert_eq!(front, [0, 2, 3, 4]);
        let one = profile(&[("recall", Direction::Maximize)], Vec::new());
        assert!(pareto(&one, &trials).is_none());
    }
}
