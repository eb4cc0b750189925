//! Builders for strategy tests: the knobs, spaces and profiles that native
//! tests of a strategy write again and again. Public so that third-party
//! strategies can test with them too; nothing in a plugin's run uses them.

use crate::{Config, Direction, Domain, IntRange, Objective, Param, Profile, RealRange, RequestLog, Value};

/// A real knob.
pub fn real(name: &str, low: f64, high: f64, log: bool, step: Option<f64>) -> Param {
    Param::new(name, Domain::Real(RealRange { low, high, log, step }))
}

/// An integer knob.
pub fn int(name: &str, low: i64, high: i64, log: bool, step: Option<i64>) -> Param {
    Param::new(name, Domain::Integer(IntRange { low, high, log, step }))
}

/// A space with every knob kind: continuous, log-scaled and stepped reals
/// and integers, a choice and a flag.
pub fn every_kind_space() -> Vec<Param> {
    vec![
        real("temperature", 0.0, 1.5, false, None),
        real("learning_rate", 1e-5, 1e-1, true, None),
        real("top_p", 0.5, 1.0, false, Some(0.05)),
        real("penalty", 0.01, 10.0, true, Some(0.01)),
        int("batch_size", 1, 64, false, None),
        int("max_tokens", 16, 4096, true, None),
        int("replicas", 2, 16, false, Some(2)),
        Param::new("model", Domain::choice(["small", "medium", "large"])),
        Param::new("cache", Domain::Flag),
    ]
}

/// The values of a configuration, in its order (as a trial is written).
pub fn values(config: &Config) -> Vec<Value> {
    config.iter().map(|a| a.value.clone()).collect()
}

/// An objective on `metric`.
pub fn objective(metric: &str, direction: Direction) -> Objective {
    Objective {
        metric: metric.into(),
        direction,
    }
}

/// A deployment whose one knob `model` chooses among the configurations
/// `log` was served by (baseline: the first), maximizing `quality_score`
/// and minimizing `cost_per_request_usd`: the shape of a request-log
/// strategy's test.
pub fn served_models_profile(log: RequestLog) -> Profile {
    let mut p = Profile {
        name: "llm".into(),
        space: vec![Param::new("model", Domain::choice(log.served_by.clone()))],
        objectives: vec![
            objective("quality_score", Direction::Maximize),
            objective("cost_per_request_usd", Direction::Minimize),
        ],
        ..Profile::default()
    };
    if let Some(first) = log.served_by.first() {
        p.baseline = p.config_from_values([Value::Choice(first.clone())]);
    }
    p.requests = log;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_served_models_profile_chooses_among_the_log_labels() {
        let log = RequestLog {
            served_by: vec!["big".into(), "small".into()],
            ..RequestLog::default()
        };
        let p = served_models_profile(log);
        assert_eq!(p.space.len(), 1);
        assert_eq!(p.space[0].domain.cardinality(), Some(2));
        assert_eq!(values(&p.baseline), [Value::Choice("big".into())]);
        assert_eq!(p.requests.served_by.len(), 2);
        assert!(p.validate_space().is_ok());
        assert!(every_kind_space()
            .iter()
            .all(|param| param.domain.validate().is_ok()));
    }
}
