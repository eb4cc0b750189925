//! Builders for the study modules' unit tests: a profile with a given
//! space and objectives, and a complete trial.

use crate::profile::{Direction, Domain, Objective, Param, Profile, TrialState, Value};
use crate::store::StudyTrial;

/// A valid profile with `space` and `objectives`, no constraints.
pub(crate) fn profile(space: Vec<(&str, Domain)>, objectives: &[(&str, Direction)]) -> Profile {
    let mut p = crate::profile::parse(
        std::path::Path::new("t.toml"),
        "name = \"t\"\nkind = \"t\"\n[[space]]\nname = \"m\"\ntype = \"integer\"\nlow = 0\nhigh = 99\n[baseline]\nm = 0\n",
    )
    .expect("valid");
    p.space = space
        .into_iter()
        .map(|(name, domain)| Param {
            name: name.into(),
            domain,
        })
        .collect();
    p.objectives = objectives
        .iter()
        .map(|(m, d)| Objective {
            metric: (*m).into(),
            direction: *d,
        })
        .collect();
    p
}

/// An integer knob without log scale or step.
pub(crate) fn integer(low: i64, high: i64) -> Domain {
    Domain::Integer {
        low,
        high,
        log: false,
        step: None,
    }
}

/// A complete trial.
pub(crate) fn trial(number: u32, config: &[(&str, Value)], metrics: &[(&str, f64)]) -> StudyTrial {
    StudyTrial {
        number,
        config: config.iter().map(|(k, v)| ((*k).into(), v.clone())).collect(),
        state: TrialState::Complete,
        metrics: metrics.iter().map(|(m, v)| ((*m).into(), *v)).collect(),
        reason: None,
        fuel: None,
        asked_at: String::new(),
        finished_at: None,
    }
}
