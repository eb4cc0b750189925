//! Evaluators: how a study measures a configuration.

use crate::evaluator::CommandEvaluator;
use crate::profile::{Config, Profile, TrialState};

/// Metric values of one measurement, by name.
type Metrics = Vec<(String, f64)>;

/// Measures one configuration; an `Err` fails that trial with the reason.
pub trait Evaluator {
    fn evaluate(&self, config: &Config) -> Result<Vec<(String, f64)>, String>;
}

impl Evaluator for CommandEvaluator {
    fn evaluate(&self, config: &Config) -> Result<Vec<(String, f64)>, String> {
        CommandEvaluator::evaluate(self, config).map_err(|e| e.to_string())
    }
}

/// Looks a configuration up in the profile's observations (the mean of its
/// replicates). A configuration that was never measured fails its trial,
/// unless `nearest` is on: then the closest measured configuration stands
/// in (distance over knobs scaled to their domains) and the reason says so
/// in the metrics' provenance.
pub struct TableEvaluator {
    rows: Vec<(Config, Metrics)>,
    profile: Profile,
    pub nearest: bool,
}

impl TableEvaluator {
    pub fn new(profile: &Profile, nearest: bool) -> Self {
        let mut rows: Vec<(Config, Vec<Metrics>)> = Vec::new();
        for t in profile.trials.iter().filter(|t| t.state == TrialState::Complete) {
            match rows.iter_mut().find(|(c, _)| same(c, &t.config)) {
                Some((_, replicates)) => replicates.push(t.metrics.clone()),
                None => rows.push((t.config.clone(), vec![t.metrics.clone()])),
            }
        }
        let rows = rows
            .into_iter()
            .map(|(c, replicates)| (c, mean_metrics(&replicates)))
            .collect();
        TableEvaluator {
            rows,
            profile: profile.clone(),
            nearest,
        }
    }

    fn distance(&self, a: &Config, b: &Config) -> f64 {
        self.profile
            .space
            .iter()
            .map(|p| {
                let va = a.iter().find(|(k, _)| *k == p.name).map(|(_, v)| v);
                let vb = b.iter().find(|(k, _)| *k == p.name).map(|(_, v)| v);
                knob_distance(&p.domain, va, vb)
            })
            .map(|d| d * d)
            .sum::<f64>()
    }
}

impl Evaluator for TableEvaluator {
    fn evaluate(&self, config: &Config) -> Result<Vec<(String, f64)>, String> {
        if let Some((_, metrics)) = self.rows.iter().find(|(c, _)| same(c, config)) {
            return Ok(metrics.clone());
        }
        if !self.nearest || self.rows.is_empty() {
            return Err(format!(
                "configuration {} was never measured in the profile's observations (pass --nearest to use the closest measured one)",
                crate::report::config_line(config)
            ));
        }
        let (_, metrics) = self
            .rows
            .iter()
            .min_by(|(a, _), (b, _)| self.distance(a, config).total_cmp(&self.distance(b, config)))
            .expect("rows is not empty");
        Ok(metrics.clone())
    }
}

fn same(a: &Config, b: &Config) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.iter().any(|(bk, bv)| bk == k && values_equal(bv, v)))
}

fn values_equal(a: &crate::profile::Value, b: &crate::profile::Value) -> bool {
    use crate::profile::Value;
    match (a, b) {
        (Value::Real(x), Value::Real(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        (Value::Real(x), Value::Integer(i)) | (Value::Integer(i), Value::Real(x)) => *x == *i as f64,
        _ => a == b,
    }
}

fn knob_distance(
    domain: &crate::profile::Domain,
    a: Option<&crate::profile::Value>,
    b: Option<&crate::profile::Value>,
) -> f64 {
    use crate::profile::{Domain, Value};
    let (Some(a), Some(b)) = (a, b) else { return 1.0 };
    let number = |v: &Value| match v {
        Value::Real(x) => Some(*x),
        Value::Integer(i) => Some(*i as f64),
        _ => None,
    };
    match domain {
        Domain::Real { low, high, log, .. } => scaled(number(a), number(b), *low, *high, *log),
        Domain::Integer { low, high, log, .. } => {
            scaled(number(a), number(b), *low as f64, *high as f64, *log)
        }
        _ => f64::from(u8::from(a != b)),
    }
}

fn scaled(a: Option<f64>, b: Option<f64>, low: f64, high: f64, log: bool) -> f64 {
    let (Some(a), Some(b)) = (a, b) else { return 1.0 };
    let t = |x: f64| if log { x.ln() } else { x };
    let span = (t(high) - t(low)).abs().max(f64::MIN_POSITIVE);
    ((t(a) - t(b)) / span).abs()
}

fn mean_metrics(replicates: &[Vec<(String, f64)>]) -> Vec<(String, f64)> {
    let mut names: Vec<&String> = Vec::new();
    for row in replicates {
        for (m, _) in row {
            if !names.contains(&m) {
                names.push(m);
            }
        }
    }
    names
        .into_iter()
        .map(|m| {
            let values: Vec<f64> = replicates
                .iter()
                .filter_map(|r| r.iter().find(|(n, _)| n == m).map(|(_, v)| *v))
                .collect();
            (m.clone(), values.iter().sum::<f64>() / values.len() as f64)
        })
        .collect()
}
