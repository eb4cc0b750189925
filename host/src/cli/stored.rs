//! Commands over the SQLite store: `profile import|list|show`, `config
//! show|set|apply|reset|history`, and `recommend` (which stores its report
//! so that `config apply` can use it).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::json;

use crate::profile::{self, Config};
use crate::report::{self, Report};
use crate::runtime::Runtime;
use crate::service;
use crate::store::{Change, ConfigVersion, Store};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show a model's current configuration.
    #[command(after_help = "Example:\n  aiopt config show code-review")]
    Show {
        model: String,
        #[arg(long)]
        json: bool,
    },
    /// Set knobs by hand (validated against the profile's search space).
    #[command(after_help = "Example:\n  aiopt config set code-review model=FuseChat-Gemma-2-9B-Instruct")]
    Set {
        model: String,
        /// `knob=value` pairs; knobs not named keep their current value.
        #[arg(required = true, value_name = "KNOB=VALUE")]
        assignments: Vec<String>,
    },
    /// Apply a proposal from a stored report (`REPORT` or `REPORT.N`, N from 1).
    #[command(
        after_help = "Example:\n  aiopt recommend code-review\n  aiopt config apply code-review --proposal 1.2"
    )]
    Apply {
        model: String,
        #[arg(long, value_name = "REPORT[.N]")]
        proposal: String,
    },
    /// Go back to the profile's baseline.
    #[command(after_help = "Example:\n  aiopt config reset code-review")]
    Reset { model: String },
    /// Every version with who, what, when, and the change from the one before.
    #[command(after_help = "Example:\n  aiopt config history code-review --json")]
    History {
        model: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn open_store(db: &Path) -> anyhow::Result<Store> {
    Ok(Store::open(db)?)
}

fn actor() -> String {
    std::env::var("AIOPT_ACTOR")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into())
}

/// `profile import FILE`: checks the profile completely, then stores it.
pub fn import(db: &Path, file: &Path, json: bool) -> anyhow::Result<()> {
    let profile = profile::load(file)?;
    let hash = profile::content_hash(&profile)?;
    let mut store = open_store(db)?;
    let imported = store.import_profile(&profile, &hash, &file.display().to_string())?;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "created": imported.created, "profile": imported.summary })
            )?
        );
    } else if imported.created {
        let s = &imported.summary;
        outln!(
            "imported `{}` version {} (id {}): {} knobs, {} observations, {} request records",
            s.name,
            s.version,
            s.id,
            s.knobs,
            s.observations,
            s.requests
        );
    } else {
        outln!(
            "`{}` is already stored with the same content (version {})",
            profile.name,
            imported.summary.version
        );
    }
    Ok(())
}

pub fn list(db: &Path, json: bool) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let profiles = store.profiles()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&profiles)?);
        return Ok(());
    }
    if profiles.is_empty() {
        outln!("no profiles stored: add one with `aiopt profile import FILE`");
    }
    for p in profiles {
        outln!(
            "{:<24} {:<18} v{:<3} {:>4} knobs {:>6} obs {:>9} requests  {}",
            p.name,
            p.kind,
            p.version,
            p.knobs,
            p.observations,
            p.requests,
            p.imported_at
        );
    }
    Ok(())
}

pub fn show(db: &Path, model: &str, json: bool) -> anyhow::Result<()> {
    let store = open_store(db)?;
    let stored = store.profile(model)?;
    if json {
        let mut profile = serde_json::to_value(&stored.profile)?;
        // The request log can be millions of records: summarize it.
        profile["requests"] = json!({ "records": stored.profile.requests.records.len(),
                                       "served_by": stored.profile.requests.served_by });
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({ "summary": stored.summary, "profile": profile }))?
        );
        return Ok(());
    }
    let p = &stored.profile;
    outln!(
        "{} ({}), version {} imported {} from {}",
        p.name,
        p.kind,
        stored.summary.version,
        stored.summary.imported_at,
        stored.summary.source_path
    );
    if let Some(d) = &p.description {
        outln!("  {d}");
    }
    for param in &p.space {
        outln!("  knob {:<24} {}", param.name, param.domain.describe());
    }
    outln!("  baseline: {}", report::config_line(&p.baseline));
    for o in &p.objectives {
        outln!("  objective: {:?} {}", o.direction, o.metric);
    }
    for c in &p.constraints {
        outln!(
            "  constraint: {} in [{}, {}]",
            c.metric,
            c.low.map_or("-inf".into(), |x| x.to_string()),
            c.high.map_or("inf".into(), |x| x.to_string())
        );
    }
    outln!(
        "  {} observations, {} request records",
        p.trials.len(),
        p.requests.records.len()
    );
    Ok(())
}

pub fn config(db: &Path, command: ConfigCommand) -> anyhow::Result<()> {
    let mut store = open_store(db)?;
    match command {
        ConfigCommand::Show { model, json } => {
            let current = store.current_config(&model)?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&current)?);
            } else {
                print_version(&current, None);
            }
        }
        ConfigCommand::Set { model, assignments } => {
            let profile = store.profile(&model)?.profile;
            let mut values = Vec::new();
            for a in &assignments {
                let (knob, text) = a
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("expected KNOB=VALUE, found `{a}`"))?;
                // Text becomes a typed value by the knob's domain; unknown
                // knobs are left to set_knobs, which names the known ones.
                let value = match profile.space.iter().find(|p| p.name == knob) {
                    Some(param) => profile::parse_knob(param, text).map_err(anyhow::Error::msg)?,
                    None => profile::Value::Choice(text.to_string()),
                };
                values.push((knob.to_string(), value));
            }
            let version = service::set_knobs(&mut store, &model, values, &actor())?;
            print_version(&version, None);
        }
        ConfigCommand::Apply { model, proposal } => {
            let (report_id, index) = parse_proposal_ref(&proposal)?;
            let version = service::apply_proposal(&mut store, &model, report_id, index, &actor())?;
            print_version(&version, None);
        }
        ConfigCommand::Reset { model } => {
            let version = service::reset_config(&mut store, &model, &actor())?;
            print_version(&version, None);
        }
        ConfigCommand::History { model, json } => {
            let history = service::config_history(&store, &model)?;
            if json {
                let items: Vec<serde_json::Value> = history
                    .iter()
                    .map(|(v, diff)| json!({ "version": v, "diff": diff }))
                    .collect();
                outln!("{}", serde_json::to_string_pretty(&items)?);
            } else {
                for (i, (v, _)) in history.iter().enumerate() {
                    print_version(v, i.checked_sub(1).map(|p| &history[p].0.config));
                }
            }
        }
    }
    Ok(())
}

/// `recommend MODEL --strategy NAME`: runs a strategy's `recommend` on the
/// model's stored profile and stores the report.
/// `recommend` with one strategy (see `service::recommend`), printed.
pub fn recommend_kind(
    db: &Path,
    data_dir: &Path,
    model: &str,
    strategy: &str,
    kind: Option<&str>,
    seed: u64,
    json: bool,
) -> anyhow::Result<()> {
    let mut store = open_store(db)?;
    let runtime = Runtime::new(Some(data_dir.join("cache")))?;
    let done = service::recommend(&mut store, &runtime, data_dir, model, strategy, kind, seed)?;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "report_id": done.report_id, "report": done.report, "usage": done.usage })
            )?
        );
    } else {
        outln!(
            "report {} from {} for `{model}` ({}; fuel {}, {:.1} ms):",
            done.report_id,
            done.strategy.replace('@', " "),
            done.kind,
            done.usage.fuel,
            done.usage.wall_time_us as f64 / 1000.0
        );
        let profile = store.profile(model)?.profile;
        let before = report::baseline_metrics(&profile);
        out!(
            "{}",
            render(&done.report, &profile.baseline, &before, done.report_id)
        );
    }
    Ok(())
}

fn render(report: &Report, baseline: &Config, before: &[(String, f64)], id: i64) -> String {
    let mut text = report::render_report(report, baseline, before);
    if !report.proposals.is_empty() {
        text.push_str(&format!(
            "apply one with: aiopt config apply MODEL --proposal {id}.N\n"
        ));
    }
    text
}

/// `REPORT` or `REPORT.N` (N from 1) as (report id, 0-based proposal).
pub(crate) fn parse_proposal_ref(text: &str) -> anyhow::Result<(i64, u32)> {
    let bad = || anyhow::anyhow!("--proposal expects REPORT or REPORT.N (N from 1), found `{text}`");
    let (report, n) = match text.split_once('.') {
        Some((r, n)) => (r, n.parse::<u32>().map_err(|_| bad())?),
        None => (text, 1),
    };
    let report = report.parse::<i64>().map_err(|_| bad())?;
    if n == 0 {
        return Err(bad());
    }
    Ok((report, n - 1))
}

fn print_version(v: &ConfigVersion, before: Option<&Config>) {
    let why = match v.change {
        Change::Baseline => "baseline of the profile".to_string(),
        Change::Set => "set by hand".to_string(),
        Change::Apply { report_id, proposal } => format!("applied proposal {report_id}.{}", proposal + 1),
        Change::Reset => "reset to the baseline".to_string(),
    };
    let actor = if v.actor.is_empty() { "-" } else { v.actor.as_str() };
    outln!(
        "v{}  {}  {}  by {actor}  ({why})",
        v.version,
        v.at,
        report::config_line(&v.config)
    );
    if let Some(before) = before {
        let changes = report::config_changes(before, &v.config);
        if !changes.is_empty() {
            outln!("     {}", changes.join(", "));
        }
    }
}

/// The default database: `aiopt.db` in the data directory.
pub fn default_db(data_dir: &Path) -> PathBuf {
    data_dir.join("aiopt.db")
}

/// `recommend` with every applicable built-in (see
/// `service::recommend_all`), printed.
pub fn recommend_all(db: &Path, data_dir: &Path, model: &str, seed: u64, json: bool) -> anyhow::Result<()> {
    let mut store = open_store(db)?;
    let runtime = Runtime::new(Some(data_dir.join("cache")))?;
    let done = service::recommend_all(&mut store, &runtime, data_dir, model, seed)?;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "report_id": done.report_id,
                "strategies": done.strategies,
                "report": done.report,
                "usage": { "fuel": done.fuel, "wall_time_us": done.wall_time_us },
            }))?
        );
    } else {
        outln!(
            "report {} for `{model}` from {} (fuel {}, {:.1} ms), proposals ranked by score (mean relative \
             improvement over the profile's objectives):",
            done.report_id,
            done.strategies.join(", "),
            done.fuel,
            done.wall_time_us as f64 / 1000.0
        );
        let profile = store.profile(model)?.profile;
        let before = report::baseline_metrics(&profile);
        out!(
            "{}",
            render(&done.report, &profile.baseline, &before, done.report_id)
        );
    }
    Ok(())
}
