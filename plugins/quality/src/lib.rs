//! Built-in strategy `quality`: the highest quality the cost budget allows,
//! and only where the data shows the gain is real.
//!
//! From the profile's request records (who answered each prompt, what it
//! scored and cost), with 95% percentile-bootstrap intervals over prompts
//! (SDK `stats::bootstrap_mean`), four ways to raise quality are judged:
//!
//! * **best single configuration** (module `single`): the served
//!   configuration with the highest mean score among those that keep every
//!   constraint, compared with the baseline on the prompts both answered.
//! * **route by category** (module `route`): a request's category is known
//!   before it is answered, so a router can send each category to the
//!   configuration strongest on it. The table is learned on one half of the
//!   prompts (the SDK's fixed hash split by the seed) and measured on the
//!   other half against the best single configuration.
//! * **best-of-n** (module `best_of`): n configurations answer every
//!   request and the best answer is kept; learned and measured the same
//!   way. Keeping the best answer needs a judge at run time, and the
//!   records' scores stand in for it, so the quality is an upper bound.
//! * **majority vote**: needs discrete answers to count; the records carry
//!   a continuous score, so it is not evaluated, and a note says so.
//!
//! Every candidate is compared with a paired interval (the same prompts on
//! both sides), and is proposed only when that interval lies above zero;
//! otherwise a note gives the numbers and says the gain is not
//! significant. Proposals never break a constraint: the quality interval's
//! low end must keep a lower bound on quality, the cost interval's high
//! end the cost budget, and a constraint on another metric must be met by
//! the configuration's observations.
//!
//! Without request records, the profile's observations stand in (module
//! `observed`): the feasible configuration with the best measured quality,
//! with t-intervals over replicates. Proposals are ranked by predicted
//! quality; nothing is assumed, and a question the data cannot answer gets
//! a note saying which data it needs.

#![forbid(unsafe_code)]

mod best_of;
mod measure;
mod observed;
mod route;
mod single;

use aiopt_sdk::served::{Needs, ServedLog};
use aiopt_sdk::{
    Constraint, Direction, Error, Info, Kind, OptionSpec, Profile, Proposal, Report, Rng, Strategy, Value,
};

pub(crate) use aiopt_sdk::text::{change, num, usd};

/// The strategy type exported as the `quality` plugin.
pub struct Quality;

impl Strategy for Quality {
    fn info() -> Info {
        info()
    }

    fn recommend(profile: Profile, seed: u64) -> Result<Report, Error> {
        recommend(&profile, seed)
    }
}

aiopt_sdk::export_strategy!(Quality);

/// Words that make a metric a quality metric, matched against the parts of
/// its name between underscores (`recall_at_10` has `recall`).
const QUALITY_WORDS: [&str; 11] = [
    "quality",
    "accuracy",
    "score",
    "recall",
    "precision",
    "f1",
    "ndcg",
    "mrr",
    "bleu",
    "rouge",
    "win",
];

/// What the request log's `score` stands for when the profile names no
/// quality metric.
const DEFAULT_QUALITY: &str = "quality_score";

/// The metric a request's `cost_usd` adds up to.
pub(crate) const COST_METRIC: &str = "cost_per_request_usd";

/// What the proposals are judged by.
pub(crate) struct Settings {
    /// The profile's quality metric (what a record's `score` measures).
    pub quality: String,
    /// The profile's lower bound on the quality metric, if any.
    pub floor: Option<f64>,
    /// The most a proposal may cost per request (USD), and why.
    pub budget: Option<f64>,
    pub budget_source: String,
    /// Constraints on metrics the request records do not measure.
    pub others: Vec<Constraint>,
    pub resamples: usize,
    pub seed: u64,
    /// Cost of the judge that picks the best of n answers, per request.
    pub judge_cost: f64,
    pub requests_per_day: Option<f64>,
}

impl Settings {
    /// Whether a quality interval keeps the floor at its low end.
    pub(crate) fn keeps_floor(&self, quality: measure::Ci) -> bool {
        self.floor.is_none_or(|f| quality.1 >= f)
    }

    /// Whether a cost interval keeps the budget at its high end (an
    /// unknown cost keeps only an absent budget).
    pub(crate) fn keeps_budget(&self, cost: Option<measure::Ci>) -> bool {
        match (self.budget, cost) {
            (None, _) => true,
            (Some(b), Some(c)) => c.2 <= b,
            (Some(_), None) => false,
        }
    }

    /// Why a mean quality and cost break a bound, in words; `None` when
    /// they keep both. A mean that breaks a bound needs no interval: the
    /// interval contains it.
    pub(crate) fn breaks_on_means(&self, quality: f64, cost: f64) -> Option<String> {
        let mut why = Vec::new();
        if let Some(f) = self.floor.filter(|f| quality < *f) {
            why.push(format!(
                "its mean {} {} is below the floor {}",
                self.quality,
                num(quality),
                num(f)
            ));
        }
        if let Some(b) = self.budget.filter(|b| cost > *b) {
            why.push(format!(
                "its mean cost {} per request is above the budget {}",
                usd(cost),
                usd(b)
            ));
        }
        (!why.is_empty()).then(|| why.join(", and "))
    }

    /// Why a predicted quality and cost break a bound, in words; `None`
    /// when they keep both.
    pub(crate) fn breaks(&self, quality: measure::Ci, cost: Option<measure::Ci>) -> Option<String> {
        let mut why = Vec::new();
        if let (false, Some(f)) = (self.keeps_floor(quality), self.floor) {
            why.push(format!(
                "its {} interval reaches below the floor {} (95% CI {}–{})",
                self.quality,
                num(f),
                num(quality.1),
                num(quality.2)
            ));
        }
        if let (false, Some(b)) = (self.keeps_budget(cost), self.budget) {
            why.push(match cost {
                Some(c) => format!(
                    "its cost {} per request (95% CI {}–{}) can exceed the budget {}",
                    usd(c.0),
                    usd(c.1),
                    usd(c.2),
                    usd(b)
                ),
                None => format!(
                    "some of its records have no cost_usd, so it cannot be shown to keep the budget {}",
                    usd(b)
                ),
            });
        }
        (!why.is_empty()).then(|| why.join(", and "))
    }
}

/// What the strategies found: proposals with the quality they are ranked
/// by, and notes.
#[derive(Default)]
pub(crate) struct Findings {
    pub proposals: Vec<(f64, Proposal)>,
    pub notes: Vec<String>,
}

/// The plugin's identity: `quality`, kind `quality`, and its options.
pub fn info() -> Info {
    let opt = |name: &str, summary: &str, default: Value| OptionSpec {
        name: name.into(),
        summary: summary.into(),
        default,
    };
    Info {
        name: "quality".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        kinds: vec![Kind::Quality],
        summary: "Highest quality within the cost budget: the best configuration, routing each request \
                  category to its strongest configuration, and best-of-n ensembles, each with paired \
                  bootstrap intervals from the request records and proposed only when the gain is \
                  significant; without request records, the best measured configuration."
            .into(),
        options: vec![
            opt(
                "resamples",
                "Bootstrap resamples per interval.",
                Value::Integer(2000),
            ),
            opt(
                "cost_budget_usd",
                "Most a proposal may cost per request: a number, or auto for the profile's upper bound on \
                 cost_per_request_usd, else no budget. A constraint tighter than the number still holds.",
                Value::Choice("auto".into()),
            ),
            opt(
                "judge_cost_usd",
                "Cost of the judge that keeps the best of n answers, added to every best-of-n request.",
                Value::Real(0.0),
            ),
        ],
    }
}

/// Whether a metric's name says it measures quality.
fn looks_like_quality(metric: &str) -> bool {
    metric.split('_').any(|word| QUALITY_WORDS.contains(&word))
}

/// The quality metric: the first lower-bounded constraint or maximised
/// objective whose name says quality (`quality_score`, `accuracy`,
/// `recall_at_10`, ...), else the first maximised objective; `None` when
/// the profile maximises nothing and bounds no quality metric from below.
fn quality_metric(profile: &Profile) -> Option<String> {
    let maximised = || {
        profile
            .objectives
            .iter()
            .filter(|o| o.direction == Direction::Maximize)
            .map(|o| o.metric.as_str())
    };
    profile
        .constraints
        .iter()
        .filter(|c| c.low.is_some())
        .map(|c| c.metric.as_str())
        .chain(maximised())
        .find(|m| looks_like_quality(m))
        .or_else(|| maximised().next())
        .map(str::to_string)
}

/// The cost budget: the `cost_budget_usd` option or the profile's upper
/// bound on cost per request, the tighter of the two; and where it comes
/// from, in words.
fn budget(profile: &Profile) -> Result<(Option<f64>, String), Error> {
    let explicit = profile.option_auto_f64("cost_budget_usd")?;
    if let Some(x) = explicit.filter(|x| *x < 0.0) {
        return Err(Error::InvalidInput(format!(
            "option cost_budget_usd must be a non-negative number or auto, got {x}"
        )));
    }
    let bound = profile
        .constraints
        .iter()
        .filter(|c| c.metric == COST_METRIC)
        .filter_map(|c| c.high)
        .reduce(f64::min);
    let constraint = |c: f64| format!("the profile's constraint {COST_METRIC} <= {}", num(c));
    Ok(match (explicit, bound) {
        (Some(x), Some(c)) if c < x => (
            Some(c),
            format!("{}, tighter than the cost_budget_usd option", constraint(c)),
        ),
        (Some(x), _) => (Some(x), "the cost_budget_usd option".to_string()),
        (None, Some(c)) => (Some(c), constraint(c)),
        (None, None) => (
            None,
            format!("none: the profile sets no upper bound on {COST_METRIC} and cost_budget_usd is auto"),
        ),
    })
}

/// The settings from the profile's goals and the options.
pub(crate) fn settings(profile: &Profile, seed: u64, quality: String) -> Result<Settings, Error> {
    let resamples = profile.option_u64("resamples", 2000)?.clamp(1, 100_000) as usize;
    let judge_cost = profile.option_f64("judge_cost_usd", 0.0)?;
    if !(judge_cost >= 0.0 && judge_cost.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "option judge_cost_usd must be a non-negative number, got {judge_cost}"
        )));
    }
    let (budget, budget_source) = budget(profile)?;
    let floor = profile
        .constraints
        .iter()
        .filter(|c| c.metric == quality)
        .filter_map(|c| c.low)
        .reduce(f64::max);
    let others = profile
        .constraints
        .iter()
        .filter(|c| c.metric != quality && c.metric != COST_METRIC)
        .cloned()
        .collect();
    Ok(Settings {
        quality,
        floor,
        budget,
        budget_source,
        others,
        resamples,
        seed,
        judge_cost,
        requests_per_day: profile.workload.requests_per_day,
    })
}

/// Proposals that raise quality within every constraint, best predicted
/// quality first, with notes on every candidate not proposed and why.
/// From the request records when they are usable, else from the
/// observations. Errors: neither is usable (`Error::Unsupported`, naming
/// what is needed), a bad option (`Error::InvalidInput`). Deterministic
/// for a given seed.
pub fn recommend(profile: &Profile, seed: u64) -> Result<Report, Error> {
    let named = quality_metric(profile);
    match ServedLog::read(profile, Needs { cost: false }) {
        Ok(log) => {
            let quality = named.unwrap_or_else(|| DEFAULT_QUALITY.to_string());
            let s = settings(profile, seed, quality)?;
            Ok(from_requests(profile, &log, &s))
        }
        Err(Error::Unsupported(why)) => observed::recommend(profile, seed, named, &why),
        Err(other) => Err(other),
    }
}

/// The report from usable request records.
fn from_requests(profile: &Profile, log: &ServedLog, s: &Settings) -> Report {
    let candidates = measure::candidates(profile, log, s, &mut Rng::new(Rng::derive(s.seed, 0)));
    let baseline = log.baseline();
    let mut found = Findings::default();
    single::propose(
        &candidates,
        baseline,
        s,
        &mut Rng::new(Rng::derive(s.seed, 1)),
        &mut found,
    );
    match measure::train_best(&candidates, s.seed) {
        Some(best) => {
            let categories = &profile.requests.categories;
            let mut rng = Rng::new(Rng::derive(s.seed, 2));
            route::propose(log, &candidates, best, categories, s, &mut rng, &mut found);
            let mut rng = Rng::new(Rng::derive(s.seed, 3));
            best_of::propose(&candidates, best, baseline, s, &mut rng, &mut found);
        }
        None => found.notes.push(
            "Routing and best-of-n: no served configuration keeps every constraint on its own, so there \
             is no single configuration to measure them against."
                .into(),
        ),
    }
    found.notes.push(format!(
        "Majority vote: not evaluated. A vote counts identical answers, and the records carry a \
         continuous {} score per answer (in [0, 1]), not the answers; counting votes over scores would \
         invent data.",
        s.quality
    ));
    found.notes.extend(log_notes(log, s));
    found
        .proposals
        .sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.title.cmp(&b.1.title)));
    Report {
        proposals: found.proposals.into_iter().map(|(_, p)| p).collect(),
        notes: found.notes,
    }
}

/// What the records left out, and how the numbers were made.
fn log_notes(log: &ServedLog, s: &Settings) -> Vec<String> {
    let mut notes = Vec::new();
    if !log.unplaced.is_empty() {
        notes.push(format!(
            "{} served_by label(s) name no configuration of the space and were left out: {}.",
            log.unplaced.len(),
            log.unplaced.join(", ")
        ));
    }
    if log.incomplete > 0 {
        notes.push(format!(
            "{} records without a score were left out.",
            log.incomplete
        ));
    }
    if log.baseline.is_none() {
        notes.push(
            "The baseline configuration served no recorded request: gains are not measured against it."
                .into(),
        );
    }
    let floor = match s.floor {
        Some(f) => format!("{} >= {}", s.quality, num(f)),
        None => format!("none on {}", s.quality),
    };
    notes.push(format!(
        "Quality floor: {floor}; cost budget: {}; intervals are 95% percentile-bootstrap intervals over \
         prompts ({} resamples, seed {}); gains are paired (the same prompts on both sides).",
        match s.budget {
            Some(b) => format!("{} per request ({})", usd(b), s.budget_source),
            None => s.budget_source.clone(),
        },
        s.resamples,
        s.seed
    ));
    notes
}

/// The name of the estimate that holds a proposal's gain over the baseline.
pub(crate) fn gain_metric(quality: &str) -> String {
    format!("{quality}_gain")
}

/// A signed number for differences: `+0.0123`, `-0.0040`.
pub(crate) fn signed(x: f64) -> String {
    if x >= 0.0 {
        format!("+{}", num(x))
    } else {
        num(x)
    }
}

#[cfg(test)]
mod tests;
