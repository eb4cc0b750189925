//! A proposal against today: which knobs it changes and, per predicted
//! metric, the baseline's measured value, the prediction with its interval
//! and the change in percent. The CLI renders this as text and the API
//! returns it as data, so the two cannot disagree (and the dashboard
//! computes nothing itself).

use serde::Serialize;

use super::Report;
use crate::profile::{Config, Value};

/// One proposal compared (proposals are numbered from 1, as
/// `REPORT.N` names them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub proposal: usize,
    pub changes: Vec<KnobChange>,
    pub metrics: Vec<MetricChange>,
}

/// A knob the proposal sets to another value (`from` is absent when the
/// current configuration does not set the knob).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnobChange {
    pub knob: String,
    pub from: Option<Value>,
    pub to: Value,
}

/// A predicted metric against the baseline's measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricChange {
    pub metric: String,
    /// The baseline's measured value, when the profile has one.
    pub before: Option<f64>,
    pub after: f64,
    pub low: f64,
    pub high: f64,
    /// `(after - before) / |before|` in percent; absent without a nonzero
    /// `before`.
    pub change_percent: Option<f64>,
}

/// Every proposal of `report` against `current` (the configuration it
/// would replace) and `before` (see [`super::baseline_metrics`]).
pub fn compare(report: &Report, current: &Config, before: &[(String, f64)]) -> Vec<Comparison> {
    report
        .proposals
        .iter()
        .enumerate()
        .map(|(i, p)| Comparison {
            proposal: i + 1,
            changes: knob_changes(current, &p.config),
            metrics: p
                .predicted
                .iter()
                .map(|e| {
                    let was = before.iter().find(|(m, _)| *m == e.metric).map(|(_, v)| *v);
                    MetricChange {
                        metric: e.metric.clone(),
                        before: was,
                        after: e.value,
                        low: e.low,
                        high: e.high,
                        change_percent: was.filter(|b| *b != 0.0).map(|b| (e.value - b) / b.abs() * 100.0),
                    }
                })
                .collect(),
        })
        .collect()
}

/// The knobs `after` sets differently from `before`.
pub fn knob_changes(before: &Config, after: &Config) -> Vec<KnobChange> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let old = before.iter().find(|(b, _)| b == k).map(|(_, old)| old);
            (old != Some(v)).then(|| KnobChange {
                knob: k.clone(),
                from: old.cloned(),
                to: v.clone(),
            })
        })
        .collect()
}
