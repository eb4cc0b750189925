//! Conversions between the host's model and the WIT wire types, in one place.
//!
//! Outputs from a plugin are untrusted: conversion only maps them to the
//! host's types (a NaN stays a NaN), and `runtime::validate` then checks
//! them against the profile in the same call, so nothing unchecked leaves
//! the runtime. The one exception is a strategy's own error message, which
//! is escaped and cut here because it becomes an error, not data.

mod study_input;
pub use study_input::StudyInput;

use super::bindings::wit;
use super::error::{RuntimeError, StrategyErrorKind};
use super::PluginInfo;
use crate::profile::{self, Config, Profile, Value};
use crate::report::{terminal, Estimate, Proposal, Report};

/// The profile as the guest sees it, with history and request data in the
/// contract's flat, indexed form (see the WIT `history` record for why).
pub fn profile_to_wit(p: &Profile) -> wit::Profile {
    let trials: Vec<TrialRef<'_>> = p.trials.iter().map(TrialRef::from).collect();
    profile_with_history(p, &trials)
}

/// What the history conversion reads of a trial, borrowed: a study's
/// trials are sent without first being copied into a profile.
#[derive(Debug, Clone, Copy)]
pub struct TrialRef<'a> {
    pub number: u32,
    pub config: &'a Config,
    pub metrics: &'a [(String, f64)],
    pub state: profile::TrialState,
}

impl<'a> From<&'a profile::Trial> for TrialRef<'a> {
    fn from(t: &'a profile::Trial) -> TrialRef<'a> {
        TrialRef {
            number: t.number,
            config: &t.config,
            metrics: &t.metrics,
            state: t.state,
        }
    }
}

/// `p` with `trials` as its history (in place of `p.trials`).
pub fn profile_with_history(p: &Profile, trials: &[TrialRef<'_>]) -> wit::Profile {
    wit::Profile {
        name: p.name.clone(),
        model_kind: p.kind.clone(),
        space: p.space.iter().map(param_to_wit).collect(),
        baseline: config_to_wit(&p.baseline),
        objectives: p
            .objectives
            .iter()
            .map(|o| wit::Objective {
                metric: o.metric.clone(),
                direction: match o.direction {
                    profile::Direction::Minimize => wit::Direction::Minimize,
                    profile::Direction::Maximize => wit::Direction::Maximize,
                },
            })
            .collect(),
        constraints: p
            .constraints
            .iter()
            .map(|c| wit::Constraint {
                metric: c.metric.clone(),
                low: c.low,
                high: c.high,
            })
            .collect(),
        workload: wit::Workload {
            requests_per_day: p.workload.requests_per_day,
            peak_requests_per_second: p.workload.peak_requests_per_second,
            mean_input_tokens: p.workload.mean_input_tokens,
            mean_output_tokens: p.workload.mean_output_tokens,
        },
        history: history_to_wit(p, trials),
        requests: request_log_to_wit(&p.requests),
        options: config_to_wit(&p.options),
    }
}

/// Objective and constraint metrics first (so strategies find them at fixed
/// places), then every other measured metric in order of first appearance.
pub(crate) fn metric_columns(p: &Profile, trials: &[TrialRef<'_>]) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    let named = p.objectives.iter().map(|o| o.metric.as_str());
    let constrained = p.constraints.iter().map(|c| c.metric.as_str());
    for metric in named.chain(constrained) {
        if !columns.iter().any(|c| c == metric) {
            columns.push(metric.to_string());
        }
    }
    // Trials of one study measure the same metrics in the same order: a
    // trial whose names are the previous one's adds nothing, and checking
    // that is one comparison per metric instead of a search of the columns.
    let mut previous: &[(String, f64)] = &[];
    for t in trials {
        if same_names(t.metrics, previous) {
            continue;
        }
        for (metric, _) in t.metrics {
            if !columns.iter().any(|c| c == metric) {
                columns.push(metric.clone());
            }
        }
        previous = t.metrics;
    }
    columns
}

fn same_names(a: &[(String, f64)], b: &[(String, f64)]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((x, _), (y, _))| x == y)
}

/// `metrics`' value of `column`, whose index among the metric columns is
/// `k`: trials usually hold the columns' order, so position `k` is tried
/// before a search.
fn metric_value(metrics: &[(String, f64)], k: usize, column: &str) -> f64 {
    match metrics.get(k) {
        Some((name, v)) if name == column => *v,
        _ => metrics
            .iter()
            .find(|(name, _)| name == column)
            .map_or(f64::NAN, |(_, v)| *v),
    }
}

/// The history as flat row-major blocks (see the WIT `history` record):
/// one copy each instead of an allocation per trial. A trial that misses a
/// knob of the space, or whose value no longer fits it, is left out: the
/// contract promises complete rows.
pub(crate) fn history_to_wit(p: &Profile, trials: &[TrialRef<'_>]) -> wit::History {
    let metric_names = metric_columns(p, trials);
    let mut history = wit::History {
        numbers: Vec::with_capacity(trials.len()),
        states: Vec::with_capacity(trials.len()),
        values: Vec::with_capacity(trials.len() * p.space.len()),
        metric_names,
        metrics: Vec::new(),
    };
    history.metrics.reserve(trials.len() * history.metric_names.len());
    let mut row = Vec::with_capacity(p.space.len());
    for t in trials {
        push_trial(&mut history, p, t, &mut row);
    }
    history
}

/// Appends `t` as the history's last row, unless its configuration is
/// incomplete (see [`history_to_wit`]); whether it did. `row` is scratch
/// space, reused so that a row allocates nothing.
pub(crate) fn push_trial(
    history: &mut wit::History,
    p: &Profile,
    t: &TrialRef<'_>,
    row: &mut Vec<f64>,
) -> bool {
    row.clear();
    let complete = p.space.iter().enumerate().all(|(i, param)| {
        // Trials are stored in space order; fall back to a lookup by name.
        let value = match t.config.get(i) {
            Some((name, v)) if *name == param.name => Some(v),
            _ => t
                .config
                .iter()
                .find(|(name, _)| *name == param.name)
                .map(|(_, v)| v),
        };
        value
            .and_then(|v| param.domain.encode(v))
            .map(|x| row.push(x))
            .is_some()
    });
    if !complete {
        return false;
    }
    history.numbers.push(t.number);
    history.states.push(state_to_wit(t.state));
    history.values.extend_from_slice(row);
    let columns = &history.metric_names;
    history.metrics.extend(
        columns
            .iter()
            .enumerate()
            .map(|(k, m)| metric_value(t.metrics, k, m)),
    );
    true
}

/// Rewrites row `row` of the history with `t`'s state and metrics (after a
/// tell: its configuration never changes).
pub(crate) fn rewrite_outcome(history: &mut wit::History, row: usize, t: &TrialRef<'_>) {
    history.states[row] = state_to_wit(t.state);
    let width = history.metric_names.len();
    let cells = &mut history.metrics[row * width..(row + 1) * width];
    for (k, (cell, column)) in cells.iter_mut().zip(&history.metric_names).enumerate() {
        *cell = metric_value(t.metrics, k, column);
    }
}

/// Whether every metric `t` measured has a column in `history`.
pub(crate) fn has_columns_for(history: &wit::History, t: &TrialRef<'_>) -> bool {
    t.metrics.iter().enumerate().all(|(k, (name, _))| {
        history.metric_names.get(k) == Some(name) || history.metric_names.iter().any(|c| c == name)
    })
}

fn state_to_wit(state: profile::TrialState) -> wit::TrialState {
    match state {
        profile::TrialState::Complete => wit::TrialState::Complete,
        profile::TrialState::Failed => wit::TrialState::Failed,
        profile::TrialState::Running => wit::TrialState::Running,
        profile::TrialState::Pruned => wit::TrialState::Pruned,
    }
}

fn request_log_to_wit(log: &profile::RequestLog) -> wit::RequestLog {
    wit::RequestLog {
        served_by: log.served_by.clone(),
        categories: log.categories.clone(),
        records: log
            .records
            .iter()
            .map(|r| wit::RequestRecord {
                served_by: r.served_by,
                prompt: r.prompt,
                category: r.category,
                latency_ms: r.latency_ms,
                input_tokens: r.input_tokens,
                output_tokens: r.output_tokens,
                cost_usd: r.cost_usd,
                score: r.score,
                timestamp_ms: r.timestamp_ms,
            })
            .collect(),
        extra_metrics: log.extra_metrics.clone(),
        extra: log.extra.clone(),
    }
}

fn param_to_wit(p: &profile::Param) -> wit::Param {
    let domain = match &p.domain {
        profile::Domain::Real { low, high, log, step } => wit::Domain::Real(wit::RealRange {
            low: *low,
            high: *high,
            log: *log,
            step: *step,
        }),
        profile::Domain::Integer { low, high, log, step } => wit::Domain::Integer(wit::IntRange {
            low: *low,
            high: *high,
            log: *log,
            step: *step,
        }),
        profile::Domain::Choice { values } => wit::Domain::Choice(values.clone()),
        profile::Domain::Flag => wit::Domain::Flag,
    };
    wit::Param {
        name: p.name.clone(),
        domain,
    }
}

fn value_to_wit(v: &Value) -> wit::Value {
    match v {
        Value::Real(x) => wit::Value::Real(*x),
        Value::Integer(i) => wit::Value::Integer(*i),
        Value::Choice(s) => wit::Value::Choice(s.clone()),
        Value::Flag(b) => wit::Value::Flag(*b),
    }
}

fn config_to_wit(c: &Config) -> Vec<wit::Assignment> {
    c.iter()
        .map(|(name, value)| wit::Assignment {
            name: name.clone(),
            value: value_to_wit(value),
        })
        .collect()
}

/// Counts the bytes of strings and list elements in a plugin's output, so
/// that an oversized answer is refused before it travels further.
pub(super) trait OutputSize {
    fn output_size(&self) -> u64;
}

impl OutputSize for wit::Value {
    fn output_size(&self) -> u64 {
        match self {
            wit::Value::Choice(s) => 8 + s.len() as u64,
            _ => 8,
        }
    }
}

impl OutputSize for wit::Assignment {
    fn output_size(&self) -> u64 {
        self.name.len() as u64 + self.value.output_size()
    }
}

impl<T: OutputSize> OutputSize for Vec<T> {
    fn output_size(&self) -> u64 {
        self.iter().map(OutputSize::output_size).sum::<u64>() + 8
    }
}

impl OutputSize for wit::Estimate {
    fn output_size(&self) -> u64 {
        self.metric.len() as u64 + 24
    }
}

impl OutputSize for wit::Proposal {
    fn output_size(&self) -> u64 {
        (self.title.len() + self.rationale.len()) as u64
            + self.config.output_size()
            + self.predicted.output_size()
    }
}

impl OutputSize for String {
    fn output_size(&self) -> u64 {
        self.len() as u64
    }
}

impl OutputSize for wit::Report {
    fn output_size(&self) -> u64 {
        self.proposals.output_size() + self.notes.output_size()
    }
}

fn value_from_wit(v: wit::Value) -> Value {
    match v {
        wit::Value::Real(x) => Value::Real(x),
        wit::Value::Integer(i) => Value::Integer(i),
        wit::Value::Choice(s) => Value::Choice(s),
        wit::Value::Flag(b) => Value::Flag(b),
    }
}

/// A configuration as the host's type, unchecked (see the module docs).
pub fn config_from_wit(c: Vec<wit::Assignment>) -> Config {
    c.into_iter().map(|a| (a.name, value_from_wit(a.value))).collect()
}

/// A report as the host's type, unchecked (see the module docs).
pub fn report_from_wit(r: wit::Report) -> Report {
    Report {
        proposals: r
            .proposals
            .into_iter()
            .map(|p| Proposal {
                title: p.title,
                config: config_from_wit(p.config),
                predicted: p
                    .predicted
                    .into_iter()
                    .map(|e| Estimate {
                        metric: e.metric,
                        value: e.value,
                        low: e.low,
                        high: e.high,
                    })
                    .collect(),
                rationale: p.rationale,
            })
            .collect(),
        notes: r.notes,
    }
}

/// Longest strategy error message kept; the rest is cut with a marker.
const MAX_ERROR_BYTES: usize = 4096;

/// The error a strategy returned on purpose. Its message is plugin text
/// headed for a terminal and a problem+json `detail`: escaped
/// (`report::terminal`) and cut at [`MAX_ERROR_BYTES`].
pub fn strategy_error(e: wit::Error) -> RuntimeError {
    let (kind, message) = match e {
        wit::Error::InvalidInput(m) => (StrategyErrorKind::InvalidInput, m),
        wit::Error::Unsupported(m) => (StrategyErrorKind::Unsupported, m),
        wit::Error::Failed(m) => (StrategyErrorKind::Failed, m),
    };
    let message = if message.len() > MAX_ERROR_BYTES {
        let cut = message.floor_char_boundary(MAX_ERROR_BYTES);
        format!(
            "{}… [{} bytes cut]",
            terminal::escape(&message[..cut]),
            message.len() - cut
        )
    } else {
        terminal::escape(&message).into_owned()
    };
    RuntimeError::Strategy { kind, message }
}

/// What a plugin says about itself as the host's type, unchecked (see
/// `runtime::validate::info`).
pub fn info_from_wit(i: wit::PluginInfo) -> PluginInfo {
    PluginInfo {
        name: i.name,
        version: i.version,
        kinds: i
            .kinds
            .into_iter()
            .map(|k| match k {
                wit::Kind::Tuning => super::Kind::Tuning,
                wit::Kind::Performance => super::Kind::Performance,
                wit::Kind::Cost => super::Kind::Cost,
                wit::Kind::Quality => super::Kind::Quality,
            })
            .collect(),
        summary: i.summary,
        options: i
            .options
            .into_iter()
            .map(|o| super::OptionSpec {
                name: o.name,
                summary: o.summary,
                default: value_from_wit(o.default),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{Direction, Domain, Objective, Param, Trial, TrialState, Workload};

    fn trial(number: u32, config: Config, metrics: &[(&str, f64)]) -> Trial {
        Trial {
            number,
            config,
            metrics: metrics.iter().map(|(m, v)| (m.to_string(), *v)).collect(),
            state: TrialState::Complete,
        }
    }

    fn profile() -> Profile {
        let knob = |n: &str, v: Value| (n.to_string(), v);
        Profile {
            name: "p".into(),
            kind: "k".into(),
            description: None,
            space: vec![
                Param {
                    name: "a".into(),
                    domain: Domain::Flag,
                },
                Param {
                    name: "b".into(),
                    domain: Domain::Integer {
                        low: 0,
                        high: 9,
                        log: false,
                        step: None,
                    },
                },
            ],
            baseline: vec![knob("a", Value::Flag(true)), knob("b", Value::Integer(1))],
            objectives: vec![Objective {
                metric: "latency_ms".into(),
                direction: Direction::Minimize,
            }],
            constraints: Vec::new(),
            workload: Workload::default(),
            trials: vec![
                // Stored out of space order: still converted by name.
                trial(
                    0,
                    vec![knob("b", Value::Integer(2)), knob("a", Value::Flag(false))],
                    &[("accuracy", 0.5)],
                ),
                trial(1, vec![knob("a", Value::Flag(true))], &[("latency_ms", 3.0)]),
                trial(
                    2,
                    vec![knob("a", Value::Flag(true)), knob("b", Value::Integer(4))],
                    &[("latency_ms", 7.0)],
                ),
            ],
            requests: Default::default(),
            options: Vec::new(),
        }
    }

    #[test]
    fn history_is_flat_row_major_with_objectives_first() {
        let h = profile_to_wit(&profile()).history;
        assert_eq!(h.metric_names, vec!["latency_ms", "accuracy"]);
        // Trial 1 misses knob `b` and is not sent.
        assert_eq!(h.numbers, vec![0, 2]);
        assert_eq!(h.values, vec![0.0, 2.0, 1.0, 4.0]);
        assert!(h.metrics[0].is_nan());
        assert_eq!(h.metrics[1], 0.5);
        assert_eq!(h.metrics[2], 7.0);
        assert!(h.metrics[3].is_nan());
    }

    #[test]
    fn strategy_error_messages_are_escaped_and_cut() {
        let error = strategy_error(wit::Error::Failed(format!("red \x1b[31m{}", "x".repeat(10_000))));
        let RuntimeError::Strategy { kind, message } = error else {
            panic!("a strategy error")
        };
        assert_eq!(kind, StrategyErrorKind::Failed);
        assert!(message.starts_with("red \\u{1b}[31mxxx"), "{message}");
        assert!(
            message.ends_with("bytes cut]") && message.len() < 4200,
            "{message}"
        );
    }

    #[test]
    fn values_encode_by_domain() {
        let choice = Domain::Choice {
            values: vec!["x".into(), "y".into()],
        };
        assert_eq!(choice.encode(&Value::Choice("y".into())), Some(1.0));
        assert_eq!(choice.encode(&Value::Choice("z".into())), None);
        assert_eq!(Domain::Flag.encode(&Value::Flag(true)), Some(1.0));
        let real = Domain::Real {
            low: 0.0,
            high: 1.0,
            log: false,
            step: None,
        };
        assert_eq!(real.encode(&Value::Real(0.25)), Some(0.25));
        assert_eq!(real.encode(&Value::Flag(true)), None);
    }
}
