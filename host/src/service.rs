//! What a command does, without how it is shown: the CLI prints these
//! results and the HTTP API returns them as JSON, so both behave the same.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use crate::report::{self, Report};
use crate::runtime::registry::Registry;
use crate::runtime::{Limits, Runtime, Usage};
use crate::store::Store;

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
    pub usage: Usage,
}

/// A stored report ranking every applicable built-in's proposals.
#[derive(Debug, Clone, Serialize)]
pub struct RecommendedAll {
    pub report_id: i64,
    /// `name@version` of the strategies that answered.
    pub strategies: Vec<String>,
    pub report: Report,
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
pub fn recommend(
    store: &mut Store,
    runtime: &Runtime,
    data_dir: &Path,
    model: &str,
    strategy: &str,
    kind: Option<&str>,
    seed: u64,
) -> anyhow::Result<Recommended> {
    let profile = store.profile(model)?.profile;
    let (plugin, _) = Registry::new(data_dir).resolve(runtime, strategy)?;
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
        .recommend(&plugin, &profile, seed, &Limits::default())
        .map_err(anyhow::Error::new)
        .with_context(|| format!("recommend `{}` failed", plugin.info.name))?;
    let kind = kind
        .map(str::to_string)
        .or_else(|| kinds.first().cloned())
        .unwrap_or_else(|| "tuning".into());
    let strategy = format!("{}@{}", plugin.info.name, plugin.info.version);
    let report_id = store.save_report(model, &kind, &strategy, &serde_json::to_string(&called.value)?)?;
    Ok(Recommended {
        report_id,
        strategy,
        kind,
        report: called.value,
        usage: called.usage,
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
    let profile = store.profile(model)?.profile;
    let registry = Registry::new(data_dir);
    let before = report::baseline_metrics(&profile);
    let mut scored: Vec<(f64, report::Proposal)> = Vec::new();
    let mut notes = Vec::new();
    let mut strategies = Vec::new();
    let (mut fuel, mut wall_time_us) = (0, 0);
    for name in ALL_STRATEGIES {
        let (plugin, _) = match registry.resolve(runtime, name) {
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
    let report_id = store.save_report(
        model,
        "recommend",
        &strategies.join(", "),
        &serde_json::to_string(&report)?,
    )?;
    Ok(RecommendedAll {
        report_id,
        strategies,
        report,
        fuel,
        wall_time_us,
    })
}
