//! Built-in strategy `cost`: the cheapest way to serve requests without
//! giving up quality, from the profile's request records.
//!
//! Three kinds of proposal, each with 95% intervals from a paired
//! percentile bootstrap over the requests (SDK `stats::bootstrap_interval`):
//!
//! * **substitution** (module `substitute`): the cheapest served
//!   configuration whose mean quality keeps the floor, the floor being the
//!   profile's lower bound on the quality metric, else the baseline's own
//!   quality. "Keeps" is judged on the interval's lower end, so a model
//!   that only might be good enough is not proposed.
//! * **cascade** (module `cascade`, FrugalGPT-style): answer with a cheap
//!   configuration, and escalate to a stronger one when the cheap answer's
//!   score is below a threshold. The threshold is learned on one half of
//!   the prompts (a fixed hash split by the seed) and every number reported
//!   is measured on the other half.
//! * **caching** (module `cache`): replaying the log, how many requests an
//!   exact-match cache keyed by the prompt hash would have answered, and
//!   the cost that saves.
//!
//! Nothing is assumed: a strategy that lacks the data says which column it
//! needs, and proposals are ranked by the cost they save per request.

#![forbid(unsafe_code)]

mod cache;
mod cascade;
mod substitute;

use aiopt_sdk::{Direction, Error, Info, Kind, OptionSpec, Profile, Proposal, Report, Rng, Strategy, Value};

pub(crate) use aiopt_sdk::text::{change, num, usd};

/// The strategy type exported as the `cost` plugin.
pub struct Cost;

impl Strategy for Cost {
    fn info() -> Info {
        info()
    }

    fn recommend(profile: Profile, seed: u64) -> Result<Report, Error> {
        recommend(&profile, seed)
    }
}

aiopt_sdk::export_strategy!(Cost);

/// Names of quality metrics, best known first: the request log's `score`
/// is this metric per request.
const QUALITY_METRICS: [&str; 3] = ["quality_score", "accuracy", "score"];

/// The metric a request's `cost_usd` adds up to.
pub(crate) const COST_METRIC: &str = "cost_per_request_usd";

/// What the proposals are judged by.
pub(crate) struct Settings {
    /// The profile's quality metric (what `score` measures).
    pub quality: String,
    /// The quality a proposal must keep, and where that number comes from.
    pub floor: f64,
    pub floor_source: String,
    pub resamples: usize,
    pub seed: u64,
    /// Cost of scoring one cheap answer in a cascade (USD), added to every
    /// cascaded request.
    pub scorer_cost: f64,
    pub requests_per_day: Option<f64>,
}

/// The plugin's identity: `cost`, kind `cost`, and its options.
pub fn info() -> Info {
    let opt = |name: &str, summary: &str, default: Value| OptionSpec {
        name: name.into(),
        summary: summary.into(),
        default,
    };
    Info {
        name: "cost".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        kinds: vec![Kind::Cost],
        summary: "Cheapest way to serve the measured requests at the required quality: model substitution, \
                  cascades with a learned escalation threshold, and exact-match caching, with bootstrap \
                  intervals from the request records."
            .into(),
        options: vec![
            opt(
                "quality_floor",
                "Quality every proposal must keep: a number, or auto for the profile's lower bound on the \
                 quality metric, else the baseline's quality.",
                Value::Choice("auto".into()),
            ),
            opt(
                "resamples",
                "Bootstrap resamples per interval.",
                Value::Integer(1000),
            ),
            opt(
                "scorer_cost_usd",
                "Cost of scoring one cheap answer in a cascade, added to every cascaded request.",
                Value::Real(0.0),
            ),
        ],
    }
}

/// The quality metric: the first constraint or maximised objective named
/// like one (`quality_score`, `accuracy`, `score`); `quality_score` if none.
fn quality_metric(profile: &Profile) -> String {
    let named = |m: &str| QUALITY_METRICS.contains(&m);
    profile
        .constraints
        .iter()
        .map(|c| c.metric.as_str())
        .chain(
            profile
                .objectives
                .iter()
                .filter(|o| o.direction == Direction::Maximize)
                .map(|o| o.metric.as_str()),
        )
        .find(|m| named(m))
        .unwrap_or(QUALITY_METRICS[0])
        .to_string()
}

/// Proposals that keep the quality floor, cheapest first, with the
/// evidence in words. Errors: no usable request records
/// (`Error::Unsupported`, naming the columns), a bad option
/// (`Error::InvalidInput`). Deterministic for a given seed.
pub fn recommend(profile: &Profile, seed: u64) -> Result<Report, Error> {
    let options = aiopt_sdk::served::ServedLog::read(profile, aiopt_sdk::served::Needs { cost: true })?;
    let quality = quality_metric(profile);
    let baseline = options.baseline.map(|i| &options.served[i]);
    let explicit = profile.option_auto_f64("quality_floor")?;
    let (floor, floor_source) = if let Some(explicit) = explicit {
        (explicit, "the quality_floor option".to_string())
    } else if let Some(low) = profile
        .constraints
        .iter()
        .find(|c| c.metric == quality)
        .and_then(|c| c.low)
    {
        (low, format!("the profile's constraint {quality} >= {}", num(low)))
    } else if let Some(b) = baseline {
        (b.mean_score(), format!("the baseline's own {quality}"))
    } else {
        return Err(Error::InvalidInput(format!(
            "no quality floor: set a constraint on {quality}, the quality_floor option, or give the \
             baseline configuration request records"
        )));
    };
    let resamples = profile.option_u64("resamples", 1000)?.clamp(1, 100_000) as usize;
    let scorer_cost = profile.option_f64("scorer_cost_usd", 0.0)?;
    if !(scorer_cost >= 0.0 && scorer_cost.is_finite()) {
        return Err(Error::InvalidInput(format!(
            "option scorer_cost_usd must be a non-negative number, got {scorer_cost}"
        )));
    }
    let settings = Settings {
        quality,
        floor,
        floor_source,
        resamples,
        seed,
        scorer_cost,
        requests_per_day: profile.workload.requests_per_day,
    };

    let mut rng = Rng::new(seed);
    let mut ranked: Vec<(f64, Proposal)> = Vec::new();
    let mut notes = Vec::new();
    match substitute::propose(&options, &settings, &mut rng) {
        Ok(found) => ranked.push(found),
        Err(note) => notes.push(note),
    }
    match cascade::propose(&options, &settings, &mut rng) {
        Ok(found) => ranked.push(found),
        Err(note) => notes.push(note),
    }
    match cache::propose(profile, &options, &settings) {
        Ok(found) => ranked.push(found),
        Err(note) => notes.push(note),
    }
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    if !options.unplaced.is_empty() {
        notes.push(format!(
            "{} served_by label(s) name no configuration of the space and were left out: {}.",
            options.unplaced.len(),
            options.unplaced.join(", ")
        ));
    }
    if options.incomplete > 0 {
        notes.push(format!(
            "{} records without both cost_usd and score were left out.",
            options.incomplete
        ));
    }
    if baseline.is_none() {
        notes.push(
            "The baseline configuration served no recorded request: changes are not compared with it.".into(),
        );
    }
    notes.push(format!(
        "Quality floor {} {} ({}); intervals are 95% percentile-bootstrap intervals over requests ({} \
         resamples, seed {seed}).",
        settings.quality,
        num(settings.floor),
        settings.floor_source,
        settings.resamples
    ));
    Ok(Report {
        proposals: ranked.into_iter().map(|(_, p)| p).collect(),
        notes,
    })
}

#[cfg(test)]
mod tests;
