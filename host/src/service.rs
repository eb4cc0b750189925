//! What a command does, without how it is shown: the CLI prints these
//! results and the HTTP API returns them as JSON, so both behave the same.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::profile::{did_you_mean, Config, Profile, Value};
use crate::report::{self, Report};
use crate::runtime::registry::Registry;
use crate::runtime::{Limits, Plugin, Runtime, Usage};
use crate::store::{Change, ConfigVersion, Store};

/// The built-in strategies `recommend_all` runs, in the order their
/// proposals keep on equal scores.
pub const ALL_STRATEGIES: [&str; 4] = ["performance", "cost", "quality", "tpe"];

/// A stored report from one strategy.
#[derive(Debug, Clone, Serialize)]
pub struct Recommended {
    pub report_id: i64,
    /// `name@version`.
    pub strategy: String,
    pub kind: String,
    pub report: Report,
    /// Each proposal against today's configuration and the baseline's
    /// measurements.
    pub comparisons: Vec<report::Comparison>,
    pub usage: Usage,
}

/// A stored report ranking every applicable built-in's proposals.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendedAll {
    pub report_id: i64,
    /// `name@version` of the strategies that answered.
    pub strategies: Vec<String>,
    pub report: Report,
    /// Each proposal against today's configuration and the baseline's
    /// measurements.
    pub comparisons: Vec<report::Comparison>,
    pub fuel: u64,
    pub wall_time_us: u64,
}

/// The strategy does not implement the optimization type asked for.
#[derive(Debug, thiserror::Error)]
#[error("strategy `{strategy}` does not do {kind} optimization (its kinds: {kinds}); pick one with `aiopt plugin list`")]
pub struct WrongKind {
    pub strategy: String,
    pub kind: String,
    pub kinds: String,
}

/// Runs `strategy`'s `recommend` on stored `model` and stores the report;
/// with `kind`, the strategy must implement that optimization type.
/// `strategy` is a plugin name or, on the command line, a path.
pub fn recommend(
    store: &mut Store,
    runtime: &Runtime,
    data_dir: &Path,
    model: &str,
    strategy: &str,
    kind: Option<&str>,
    seed: u64,
) -> anyhow::Result<Recommended> {
    let (plugin, _) = Registry::new(data_dir).resolve(runtime, strategy)?;
    let computed = compute_recommend(store, runtime, &plugin, model, kind, seed)?;
    save_recommend(store, computed)
}

/// A report computed by [`compute_recommend`], not stored yet.
#[derive(Debug, Clone)]
pub struct ComputedReport {
    model: String,
    profile: Profile,
    strategy: String,
    kind: String,
    report: Report,
    usage: Usage,
}

/// The read-only half of [`recommend`]: reads the model's profile and calls
/// `plugin`'s `recommend` on it. No transaction is open during the call
/// (a server stores the result on its database thread afterwards).
pub fn compute_recommend(
    store: &Store,
    runtime: &Runtime,
    plugin: &Plugin,
    model: &str,
    kind: Option<&str>,
    seed: u64,
) -> anyhow::Result<ComputedReport> {
    let profile = store.profile(model)?.profile;
    let kinds: Vec<String> = plugin.info.kinds.iter().map(|k| k.to_string()).collect();
    if let Some(kind) = kind {
        if !kinds.iter().any(|k| k == kind) {
            return Err(WrongKind {
                strategy: plugin.info.name.clone(),
                kind: kind.to_string(),
                kinds: kinds.join(", "),
            }
            .into());
        }
    }
    let called = runtime
        .recommend(plugin, &profile, seed, &Limits::default())
        .map_err(anyhow::Error::new)
        .with_context(|| format!("recommend `{}` failed", plugin.info.name))?;
    let kind = kind
        .map(str::to_string)
        .or_else(|| kinds.first().cloned())
        .unwrap_or_else(|| "tuning".into());
    Ok(ComputedReport {
        model: model.to_string(),
        profile,
        strategy: format!("{}@{}", plugin.info.name, plugin.info.version),
        kind,
        report: called.value,
        usage: called.usage,
    })
}

/// The writing half of [`recommend`]: stores the report, and compares its
/// proposals with the configuration current now.
pub fn save_recommend(store: &mut Store, computed: ComputedReport) -> anyhow::Result<Recommended> {
    let ComputedReport {
        model,
        profile,
        strategy,
        kind,
        report,
        usage,
    } = computed;
    let report_id = store.save_report(&model, &kind, &strategy, &serde_json::to_string(&report)?)?;
    let comparisons = compare_to_today(store, &model, &profile, &report)?;
    Ok(Recommended {
        report_id,
        strategy,
        kind,
        report,
        comparisons,
        usage,
    })
}

/// Runs every built-in of [`ALL_STRATEGIES`] on stored `model`, ranks all
/// their proposals by `report::rank::score` (documented there), and stores
/// them as one report. A strategy that does not apply (its data is
/// missing) or fails becomes a note, not an error.
pub fn recommend_all(
    store: &mut Store,
    runtime: &Runtime,
    data_dir: &Path,
    model: &str,
    seed: u64,
) -> anyhow::Result<RecommendedAll> {
    let computed = compute_recommend_all(store, runtime, data_dir, model, seed)?;
    save_recommend_all(store, computed)
}

/// The ranked report of [`compute_recommend_all`], not stored yet.
#[derive(Debug, Clone)]
pub struct ComputedRanking {
    model: String,
    profile: Profile,
    strategies: Vec<String>,
    report: Report,
    fuel: u64,
    wall_time_us: u64,
}

/// The read-only half of [`recommend_all`]: every built-in's `recommend`,
/// ranked.
pub fn compute_recommend_all(
    store: &Store,
    runtime: &Runtime,
    data_dir: &Path,
    model: &str,
    seed: u64,
) -> anyhow::Result<ComputedRanking> {
    let profile = store.profile(model)?.profile;
    let registry = Registry::new(data_dir);
    let before = report::baseline_metrics(&profile);
    let mut scored: Vec<(f64, report::Proposal)> = Vec::new();
    let mut notes = Vec::new();
    let mut strategies = Vec::new();
    let (mut fuel, mut wall_time_us) = (0, 0);
    for name in ALL_STRATEGIES {
        let (plugin, _) = match registry.resolve_name(runtime, name) {
            Ok(found) => found,
            Err(e) => {
                notes.push(format!("{name}: not available: {e}"));
                continue;
            }
        };
        match runtime.recommend(&plugin, &profile, seed, &Limits::default()) {
            Ok(called) => {
                strategies.push(format!("{}@{}", plugin.info.name, plugin.info.version));
                fuel += called.usage.fuel;
                wall_time_us += called.usage.wall_time_us;
                for mut p in called.value.proposals {
                    let score = report::rank::score(&profile, &before, &p);
                    p.title = format!("[{name}, score {score:+.3}] {}", p.title);
                    scored.push((score, p));
                }
                notes.extend(called.value.notes.into_iter().map(|n| format!("{name}: {n}")));
            }
            Err(failure) => notes.push(format!("{name}: not applicable: {}", failure.error)),
        }
    }
    // Stable: equal scores keep the strategies' order.
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let report = Report {
        proposals: scored.into_iter().map(|(_, p)| p).collect(),
        notes,
    };
    Ok(ComputedRanking {
        model: model.to_string(),
        profile,
        strategies,
        report,
        fuel,
        wall_time_us,
    })
}

/// The writing half of [`recommend_all`].
pub fn save_recommend_all(store: &mut Store, computed: ComputedRanking) -> anyhow::Result<RecommendedAll> {
    let ComputedRanking {
        model,
        profile,
        strategies,
        report,
        fuel,
        wall_time_us,
    } = computed;
    let report_id = store.save_report(
        &model,
        "recommend",
        &strategies.join(", "),
        &serde_json::to_string(&report)?,
    )?;
    let comparisons = compare_to_today(store, &model, &profile, &report)?;
    Ok(RecommendedAll {
        report_id,
        strategies,
        report,
        comparisons,
        fuel,
        wall_time_us,
    })
}

/// `report`'s proposals against `model`'s current configuration and its
/// baseline's measurements.
fn compare_to_today(
    store: &Store,
    model: &str,
    profile: &crate::profile::Profile,
    report: &Report,
) -> anyhow::Result<Vec<report::Comparison>> {
    let current = store.current_config(model)?.config;
    Ok(report::compare(
        report,
        &current,
        &report::baseline_metrics(profile),
    ))
}

/// A request the caller can fix: an unknown knob, a value outside its
/// domain, a proposal that does not exist. (The CLI reports it like any
/// failure; the HTTP API answers 400.)
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

fn set_knob(config: &mut Config, knob: &str, value: Value) {
    match config.iter_mut().find(|(k, _)| k == knob) {
        Some(slot) => slot.1 = value,
        None => config.push((knob.to_string(), value)),
    }
}

/// `value` as a value of knob `knob` of `model`, by the one rule `config
/// set` and `config apply` share: the name must be a knob and the value
/// inside its domain (an integer given for a real is taken as a real).
fn checked_knob(profile: &Profile, model: &str, knob: &str, value: Value) -> Result<Value, BadRequest> {
    let param = profile.space.iter().find(|p| p.name == knob).ok_or_else(|| {
        let names: Vec<&str> = profile.space.iter().map(|p| p.name.as_str()).collect();
        let hint = did_you_mean(knob, &names)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        BadRequest(format!(
            "`{knob}` is not a knob of `{model}`{hint}; knobs: {}",
            names.join(", ")
        ))
    })?;
    let value = param.domain.coerce(value);
    if !param.domain.contains(&value) {
        return Err(BadRequest(format!(
            "`{knob}` = `{value}` is outside its domain: expected {}",
            param.domain.describe()
        )));
    }
    Ok(value)
}

/// Sets knobs of `model`'s current configuration: every name must be a
/// knob and every value inside its domain (integers given for reals are
/// taken as reals).
pub fn set_knobs(
    store: &mut Store,
    model: &str,
    values: Vec<(String, Value)>,
    actor: &str,
) -> anyhow::Result<ConfigVersion> {
    let profile = store.profile(model)?.profile;
    let mut config = store.current_config(model)?.config;
    for (knob, value) in values {
        let value = checked_knob(&profile, model, &knob, value)?;
        set_knob(&mut config, &knob, value);
    }
    Ok(store.set_config(model, &config, Change::Set, actor)?)
}

/// Applies proposal `index` (0-based) of stored report `report_id` to
/// `model`: the proposal's value of every knob it names. A stored proposal
/// is checked as `config set` checks a value by hand: a knob the profile
/// does not have, or a value outside its domain, refuses the whole
/// proposal. (Reports are validated when a plugin returns them; this also
/// covers reports stored before that, or against an older profile.) A knob
/// the proposal does not name keeps its current value.
pub fn apply_proposal(
    store: &mut Store,
    model: &str,
    report_id: i64,
    index: u32,
    actor: &str,
) -> anyhow::Result<ConfigVersion> {
    let stored = store.report(report_id)?;
    let report: serde_json::Value =
        serde_json::from_str(&stored.json).context("reading the stored report")?;
    let chosen = report["proposals"].get(index as usize).ok_or_else(|| {
        let n = report["proposals"].as_array().map_or(0, Vec::len);
        BadRequest(format!(
            "report {report_id} has {n} proposals; proposal {report_id}.{} does not exist",
            index + 1
        ))
    })?;
    let refused = |why: String| {
        BadRequest(format!(
            "proposal {report_id}.{} cannot be applied: {why}",
            index + 1
        ))
    };
    let profile = store.profile(model)?.profile;
    let knobs = chosen["config"]
        .as_object()
        .ok_or_else(|| refused("it has no configuration".into()))?;
    let mut config = store.current_config(model)?.config;
    for (knob, v) in knobs {
        let value: Value = serde_json::from_value(v.clone())
            .map_err(|_| refused(format!("`{knob}` = `{v}` is not a knob value")))?;
        let value = checked_knob(&profile, model, knob, value).map_err(|e| refused(e.0))?;
        set_knob(&mut config, knob, value);
    }
    let change = Change::Apply {
        report_id,
        proposal: index,
    };
    Ok(store.set_config(model, &config, change, actor)?)
}

/// Returns `model` to its profile's baseline (recorded as a reset).
pub fn reset_config(store: &mut Store, model: &str, actor: &str) -> anyhow::Result<ConfigVersion> {
    let baseline = store.profile(model)?.profile.baseline;
    Ok(store.set_config(model, &baseline, Change::Reset, actor)?)
}

/// `model`'s configuration versions, oldest first, each with the change
/// from the one before (`knob: old → new`).
pub fn config_history(store: &Store, model: &str) -> anyhow::Result<Vec<(ConfigVersion, Vec<String>)>> {
    let history = store.config_history(model)?;
    Ok(history
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let diff = i
                .checked_sub(1)
                .map(|p| report::config_changes(&history[p].config, &v.config))
                .unwrap_or_default();
            (v.clone(), diff)
        })
        .collect())
}
