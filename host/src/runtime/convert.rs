//! Conversions between the host's model and the WIT wire types, in one place.
//!
//! Outputs from a plugin are untrusted: conversion checks their size against
//! the output limit and that numbers are finite, and reports `InvalidOutput`
//! otherwise.

use super::bindings::wit;
use super::error::{RuntimeError, StrategyErrorKind};
use super::PluginInfo;
use crate::profile::{self, Config, Profile, Value};
use crate::report::{Estimate, Proposal, Report};

pub fn profile_to_wit(p: &Profile) -> wit::Profile {
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
        trials: p.trials.iter().map(trial_to_wit).collect(),
        requests: p.requests.iter().map(request_to_wit).collect(),
        options: config_to_wit(&p.options),
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

fn measurements_to_wit(m: &[(String, f64)]) -> Vec<wit::Measurement> {
    m.iter()
        .map(|(metric, value)| wit::Measurement {
            metric: metric.clone(),
            value: *value,
        })
        .collect()
}

fn trial_to_wit(t: &profile::Trial) -> wit::Trial {
    wit::Trial {
        number: t.number,
        config: config_to_wit(&t.config),
        metrics: measurements_to_wit(&t.metrics),
        state: match t.state {
            profile::TrialState::Complete => wit::TrialState::Complete,
            profile::TrialState::Failed => wit::TrialState::Failed,
            profile::TrialState::Running => wit::TrialState::Running,
            profile::TrialState::Pruned => wit::TrialState::Pruned,
        },
    }
}

fn request_to_wit(r: &profile::RequestRecord) -> wit::RequestRecord {
    wit::RequestRecord {
        served_by: r.served_by.clone(),
        prompt: r.prompt.clone(),
        category: r.category.clone(),
        latency_ms: r.latency_ms,
        input_tokens: r.input_tokens,
        output_tokens: r.output_tokens,
        cost_usd: r.cost_usd,
        score: r.score,
        timestamp_ms: r.timestamp_ms,
        extra: measurements_to_wit(&r.extra),
    }
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

fn invalid(why: impl Into<String>) -> RuntimeError {
    RuntimeError::InvalidOutput { why: why.into() }
}

fn value_from_wit(v: wit::Value) -> Result<Value, RuntimeError> {
    Ok(match v {
        wit::Value::Real(x) if x.is_finite() => Value::Real(x),
        wit::Value::Real(x) => return Err(invalid(format!("a knob value is not finite ({x})"))),
        wit::Value::Integer(i) => Value::Integer(i),
        wit::Value::Choice(s) => Value::Choice(s),
        wit::Value::Flag(b) => Value::Flag(b),
    })
}

pub fn config_from_wit(c: Vec<wit::Assignment>) -> Result<Config, RuntimeError> {
    c.into_iter()
        .map(|a| Ok((a.name, value_from_wit(a.value)?)))
        .collect()
}

pub fn report_from_wit(r: wit::Report) -> Result<Report, RuntimeError> {
    let proposals = r
        .proposals
        .into_iter()
        .map(|p| {
            let predicted = p
                .predicted
                .into_iter()
                .map(|e| {
                    if ![e.value, e.low, e.high].iter().all(|x| x.is_finite()) {
                        return Err(invalid(format!("estimate of `{}` is not finite", e.metric)));
                    }
                    if !(e.low <= e.value && e.value <= e.high) {
                        return Err(invalid(format!(
                            "estimate of `{}` has value {} outside its interval [{}, {}]",
                            e.metric, e.value, e.low, e.high
                        )));
                    }
                    Ok(Estimate {
                        metric: e.metric,
                        value: e.value,
                        low: e.low,
                        high: e.high,
                    })
                })
                .collect::<Result<_, _>>()?;
            Ok(Proposal {
                title: p.title,
                config: config_from_wit(p.config)?,
                predicted,
                rationale: p.rationale,
            })
        })
        .collect::<Result<_, RuntimeError>>()?;
    Ok(Report {
        proposals,
        notes: r.notes,
    })
}

pub fn strategy_error(e: wit::Error) -> RuntimeError {
    let (kind, message) = match e {
        wit::Error::InvalidInput(m) => (StrategyErrorKind::InvalidInput, m),
        wit::Error::Unsupported(m) => (StrategyErrorKind::Unsupported, m),
        wit::Error::Failed(m) => (StrategyErrorKind::Failed, m),
    };
    RuntimeError::Strategy { kind, message }
}

pub fn info_from_wit(i: wit::PluginInfo) -> Result<PluginInfo, RuntimeError> {
    if i.name.trim().is_empty() || i.name.len() > 64 {
        return Err(invalid("plugin name must be 1 to 64 characters"));
    }
    if !i
        .name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(format!(
            "plugin name `{}` may only use ASCII letters, digits, `-` and `_`",
            i.name
        )));
    }
    Ok(PluginInfo {
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
            .map(|o| {
                Ok(super::OptionSpec {
                    name: o.name,
                    summary: o.summary,
                    default: value_from_wit(o.default)?,
                })
            })
            .collect::<Result<_, RuntimeError>>()?,
    })
}
