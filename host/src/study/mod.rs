//! Tuning studies: ask a strategy for configurations, evaluate them, tell
//! the results, repeat. Every `suggest` is stateless: it gets the study's
//! whole history and a seed derived from the study seed and the next trial
//! number, so a study is reproducible and resumes after a crash exactly
//! where it was.

pub mod analysis;
mod evaluate;
pub mod feasibility;
pub mod importance;
#[cfg(test)]
mod testing;

pub use evaluate::{Evaluator, TableEvaluator};
pub use feasibility::NoFeasibleTrial;

use std::time::Duration;

use crate::profile::{Profile, Trial, TrialState};
use crate::runtime::TrialRef;
use crate::runtime::{Limits, Plugin, Runtime, StudyInput};
use crate::store::{Store, StoreError, StudySummary, StudyTrial, Suggested, Told};

/// The reason stored on a trial when the strategy had nothing new to
/// suggest; `study run` stops on it instead of failing trial after trial.
pub const EXHAUSTED: &str = "search space exhausted";

/// How long an asked trial may go without a result before it is handed out
/// again.
pub const DEFAULT_STALE_AFTER: Duration = Duration::from_secs(3600);

/// The seed of the `suggest` that produces trial `number`: a pure function
/// of the study seed and the number, so replays ask the same questions.
pub fn seed_for(study_seed: u64, number: u32) -> u64 {
    let mut z = study_seed ^ (u64::from(number).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The profile a strategy sees for a study: the stored profile with the
/// study's trials as its history (the profile's own observations are what
/// the table evaluator measures against, not history).
pub fn history_profile(profile: &Profile, trials: &[StudyTrial]) -> Profile {
    let mut view = profile.clone();
    view.trials = trials
        .iter()
        .filter(|t| !t.config.is_empty())
        .map(|t| Trial {
            number: t.number,
            config: t.config.clone(),
            metrics: t.metrics.clone(),
            state: t.state,
        })
        .collect();
    view
}

/// A `suggest` for [`Store::ask`]: calls the strategy in the sandbox with
/// the history and the derived seed; a sandbox or strategy failure becomes
/// the reason of one failed trial. `input` is the study's converted input,
/// kept between asks by a caller that asks repeatedly (a server, `study
/// run`); a fresh [`StudyInput::new`] does for one ask.
pub fn suggester<'a>(
    runtime: &'a Runtime,
    plugin: &'a Plugin,
    profile: &'a Profile,
    study: &'a StudySummary,
    limits: &'a Limits,
    input: &'a mut StudyInput,
) -> impl FnMut(&[StudyTrial], u32, u32) -> Suggested + 'a {
    move |history, next, count| {
        update_input(input, profile, history);
        suggest(runtime, plugin, study.seed, limits, input, next, count).0
    }
}

/// Brings a study's kept `suggest` input up to `history`.
pub fn update_input(input: &mut StudyInput, profile: &Profile, history: &[StudyTrial]) {
    input.update(profile, history, |t| TrialRef {
        number: t.number,
        config: &t.config,
        metrics: &t.metrics,
        state: t.state,
    });
}

/// What one `suggest` call for a study cost and how it ended, for metrics
/// and the activity log.
#[derive(Debug, Clone)]
pub struct SuggestCall {
    pub fuel: u64,
    /// The failure, `(kind, message)`, when the call failed.
    pub failure: Option<(String, String)>,
}

/// Asks the strategy for trials `next..next + count` of a study whose
/// input is up to date: the configurations with the call's fuel, or the
/// reason of one failed trial, and what the call cost.
pub fn suggest(
    runtime: &Runtime,
    plugin: &Plugin,
    study_seed: u64,
    limits: &Limits,
    input: &StudyInput,
    next: u32,
    count: u32,
) -> (Suggested, SuggestCall) {
    let seed = seed_for(study_seed, next);
    match runtime.suggest_study(plugin, input, count, seed, limits) {
        Ok(called) if called.value.is_empty() => {
            let reason = format!(
                "{EXHAUSTED}: `{}` had no untried configuration to suggest",
                plugin.info.name
            );
            let call = SuggestCall {
                fuel: called.usage.fuel,
                failure: None,
            };
            (Err(reason), call)
        }
        Ok(called) => {
            let fuel = called.usage.fuel;
            let configs = called.value.into_iter().map(|c| (c, fuel)).collect();
            (Ok(configs), SuggestCall { fuel, failure: None })
        }
        Err(failure) => {
            let reason = format!("`{}` failed: {}", plugin.info.name, failure.error);
            let call = SuggestCall {
                fuel: failure.usage.fuel,
                failure: Some((failure.error.kind().to_string(), reason.clone())),
            };
            (Err(reason), call)
        }
    }
}

/// One step of `study run`: ask `count` trials, evaluate each, tell.
pub fn run_batch(
    store: &mut Store,
    study: &StudySummary,
    count: u32,
    stale_after: Duration,
    suggest: impl FnMut(&[StudyTrial], u32, u32) -> Suggested,
    evaluator: &(dyn Evaluator + Sync),
) -> Result<Vec<StudyTrial>, StoreError> {
    let asked = store.ask(study.id, count, stale_after, suggest)?;
    let outcomes: Vec<(u32, Told)> = std::thread::scope(|scope| {
        let handles: Vec<_> = asked
            .iter()
            .filter(|t| t.state == crate::profile::TrialState::Running)
            .map(|t| {
                let config = t.config.clone();
                let number = t.number;
                scope.spawn(move || match evaluator.evaluate(&config) {
                    Ok(metrics) => (number, Told::Complete(metrics)),
                    Err(reason) => (number, Told::Failed(reason)),
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut told = Vec::new();
    for (number, outcome) in outcomes {
        told.push(store.tell(study.id, number, outcome)?);
    }
    told.extend(
        asked
            .into_iter()
            .filter(|t| t.state != crate::profile::TrialState::Running),
    );
    told.sort_by_key(|t| t.number);
    Ok(told)
}

/// The best complete trial that satisfies every constraint, by the first
/// objective; constrained-out trials are never reported as best.
pub fn best_trial<'t>(profile: &Profile, trials: &'t [StudyTrial]) -> Option<&'t StudyTrial> {
    let feasible = |t: &&StudyTrial| feasibility::is_feasible(&profile.constraints, &t.metrics);
    let objective = profile.objectives.first()?;
    trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter(feasible)
        .filter_map(|t| first_objective_value(profile, t).map(|v| (t, v)))
        .fold(None, |best: Option<(&StudyTrial, f64)>, (t, v)| match best {
            Some((_, bv)) if !analysis::better(objective.direction, v, bv) => best,
            _ => Some((t, v)),
        })
        .map(|(t, _)| t)
}

pub fn first_objective_value(profile: &Profile, trial: &StudyTrial) -> Option<f64> {
    let metric = &profile.objectives.first()?.metric;
    trial.metrics.iter().find(|(m, _)| m == metric).map(|(_, v)| *v)
}
