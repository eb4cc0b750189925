//! `aiopt study ...`: create, ask, tell, run, show, list, best, export.

use std::path::Path;
use std::time::{Duration, Instant};

use clap::Subcommand;
use serde_json::json;

use crate::evaluator::CommandEvaluator;
use crate::profile::{self, TrialState};
use crate::report;
use crate::report::terminal::escape;
use crate::runtime::registry::Registry;
use crate::runtime::{Limits, Runtime, StudyInput};
use crate::store::{Measured, Store, StudySummary, StudyTrial, Told};
use crate::study::importance::Importance;
use crate::study::{self, best_trial, first_objective_value, Evaluator, TableEvaluator};

#[derive(Debug, Subcommand)]
pub enum StudyCommand {
    /// Start a tuning study of a stored model with a tuning strategy.
    #[command(
        after_help = "Example:\n  aiopt profile import examples/semantic-search/profile.toml\n  aiopt study create semantic-search --strategy random --name hnsw-1"
    )]
    Create {
        /// The model (a stored profile's name).
        model: String,
        /// The tuning strategy (built in: tpe, random).
        #[arg(long, default_value = "tpe")]
        strategy: String,
        /// A unique name (default: MODEL-N).
        #[arg(long)]
        name: Option<String>,
        /// The study seed; every suggest's seed derives from it.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Start from earlier results: another study's complete trials, or
        /// `profile` for the profile's own observations.
        #[arg(long, value_name = "STUDY|profile")]
        warm_start: Option<String>,
    },
    /// Ask for configurations to evaluate (for remote or manual workers).
    #[command(after_help = "Example:\n  aiopt study ask hnsw-1 --count 2 --json")]
    Ask {
        study: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Hand out again trials asked this long ago and never told.
        #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
        stale_after: u64,
        #[arg(long)]
        json: bool,
    },
    /// Report a trial's result: `metric=value ...`, or `--failed`.
    #[command(
        after_help = "Examples:\n  aiopt study tell hnsw-1 3 recall_at_10=0.97 latency_p95_ms=0.21\n  aiopt study tell hnsw-1 4 --failed --reason 'OOM while building'"
    )]
    Tell {
        study: String,
        trial: u32,
        #[arg(value_name = "METRIC=VALUE")]
        metrics: Vec<String>,
        #[arg(long, conflicts_with = "metrics")]
        failed: bool,
        #[arg(long, requires = "failed")]
        reason: Option<String>,
    },
    /// Run trials: ask, evaluate, tell, until N more trials are done.
    #[command(
        after_help = "Examples:\n  aiopt study run hnsw-1 --trials 30\n  aiopt study run hnsw-1 --trials 10 --evaluator command --command './measure.sh' --parallel 2"
    )]
    Run {
        study: String,
        #[arg(long)]
        trials: u32,
        /// `table` (the profile's observations) or `command`.
        #[arg(long, default_value = "table", value_parser = ["table", "command"])]
        evaluator: String,
        /// With the table evaluator: use the closest measured configuration
        /// for one that was never measured, instead of failing the trial.
        #[arg(long)]
        nearest: bool,
        /// With the command evaluator: the shell command that measures a config.
        #[arg(long, value_name = "CMD")]
        command: Option<String>,
        #[arg(long, default_value_t = 600_000, value_name = "MS")]
        timeout_ms: u64,
        /// Trials asked and evaluated at once.
        #[arg(long, default_value_t = 1)]
        parallel: u32,
        /// Hand out again trials asked this long ago and never told (after a
        /// crash: `--stale-after 0` resumes the interrupted trials first).
        #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
        stale_after: u64,
    },
    /// The study and its trials.
    #[command(after_help = "Example:\n  aiopt study show hnsw-1")]
    Show {
        study: String,
        #[arg(long)]
        json: bool,
    },
    /// Every study.
    #[command(after_help = "Example:\n  aiopt study list")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// The best feasible complete trial for the first objective.
    #[command(after_help = "Example:\n  aiopt study best hnsw-1 --json")]
    Best {
        study: String,
        #[arg(long)]
        json: bool,
    },
    /// All trials as CSV (knob and metric columns) or JSON.
    #[command(after_help = "Example:\n  aiopt study export hnsw-1 --csv > trials.csv")]
    Export {
        study: String,
        #[arg(long, conflicts_with = "json")]
        csv: bool,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(db: &Path, data_dir: &Path, command: StudyCommand) -> anyhow::Result<()> {
    let mut store = Store::open(db)?;
    match command {
        StudyCommand::Create {
            model,
            strategy,
            name,
            seed,
            warm_start,
        } => {
            let name =
                name.unwrap_or_else(|| format!("{model}-{}", store.studies().map_or(0, |s| s.len()) + 1));
            let runtime = Runtime::new(Some(data_dir.join("cache")))?;
            let (plugin, _) = Registry::new(data_dir).resolve(&runtime, &strategy)?;
            if !plugin.info.kinds.contains(&crate::runtime::Kind::Tuning) {
                anyhow::bail!(
                    "`{}` is not a tuning strategy (its kinds: {:?})",
                    plugin.info.name,
                    plugin.info.kinds
                );
            }
            let seeds = warm_start_trials(&store, &model, warm_start.as_deref())?;
            let study = store.create_study(&name, &model, &strategy, seed)?;
            let warmed = store.warm_start(study.id, &seeds)?;
            outln!(
                "created study {} `{}` of `{model}` with {} (seed {seed})",
                study.id,
                study.name,
                plugin.info.name
            );
            if warmed > 0 {
                outln!(
                    "  warm start: {warmed} complete trials from {}",
                    warm_start.unwrap_or_default()
                );
            }
        }
        StudyCommand::Ask {
            study,
            count,
            stale_after,
            json,
        } => {
            let study = store.study(&study)?;
            let profile = store.profile_by_id(study.profile_id)?.profile;
            let runtime = Runtime::new(Some(data_dir.join("cache")))?;
            let (plugin, _) = Registry::new(data_dir).resolve(&runtime, &study.strategy)?;
            let limits = Limits::default();
            let mut input = StudyInput::new(&profile);
            let suggest = study::suggester(&runtime, &plugin, &profile, &study, &limits, &mut input);
            let asked = store.ask(study.id, count, Duration::from_secs(stale_after), suggest)?;
            print_trials(&asked, json)?;
        }
        StudyCommand::Tell {
            study,
            trial,
            metrics,
            failed,
            reason,
        } => {
            let study = store.study(&study)?;
            let told = if failed {
                Told::Failed(reason.unwrap_or_else(|| "reported failed".into()))
            } else {
                if metrics.is_empty() {
                    anyhow::bail!("give the results as METRIC=VALUE ..., or --failed");
                }
                Told::Complete(parse_metrics(&metrics)?)
            };
            let trial = store.tell(study.id, trial, told)?;
            outln!("trial {} is {}", trial.number, state_word(trial.state));
        }
        StudyCommand::Run {
            study,
            trials,
            evaluator,
            nearest,
            command,
            timeout_ms,
            parallel,
            stale_after,
        } => {
            let study = store.study(&study)?;
            let profile = store.profile_by_id(study.profile_id)?.profile;
            if evaluator == "command" {
                exit_on_signal(&study.name)?;
            }
            let evaluator: Box<dyn Evaluator + Sync> = match evaluator.as_str() {
                "command" => Box::new(CommandEvaluator {
                    command: command
                        .ok_or_else(|| anyhow::anyhow!("--evaluator command needs --command CMD"))?,
                    timeout: Duration::from_millis(timeout_ms),
                }),
                _ => Box::new(TableEvaluator::new(&profile, nearest)),
            };
            let stale_after = Duration::from_secs(stale_after);
            run_study(
                &mut store,
                data_dir,
                &study,
                &profile,
                (trials, parallel.max(1), stale_after),
                evaluator.as_ref(),
            )?;
        }
        StudyCommand::Show { study, json } => {
            let study = store.study(&study)?;
            let profile = store.profile_by_id(study.profile_id)?.profile;
            let trials = store.study_trials(study.id)?;
            let importance = study::importance::importance(&profile, &trials);
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(
                        &json!({ "study": study, "trials": trials, "importance": importance })
                    )?
                );
            } else {
                print_summary(&study);
                print_trials(&trials, false)?;
                print_importance(&importance);
            }
        }
        StudyCommand::List { json } => {
            let studies = store.studies()?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&studies)?);
            } else if studies.is_empty() {
                outln!("no studies: create one with `aiopt study create MODEL --strategy NAME`");
            }
            if !json {
                for s in &studies {
                    print_summary(s);
                }
            }
        }
        StudyCommand::Best { study, json } => {
            let study = store.study(&study)?;
            let profile = store.profile_by_id(study.profile_id)?.profile;
            let trials = store.study_trials(study.id)?;
            let best = best_trial(&profile, &trials).ok_or_else(|| {
                study::feasibility::no_feasible_trial(&study.name, &profile, &trials, false)
            })?;
            if json {
                outln!("{}", serde_json::to_string_pretty(best)?);
            } else {
                print_trials(std::slice::from_ref(best), false)?;
            }
        }
        StudyCommand::Export { study, csv, json } => {
            let study = store.study(&study)?;
            let trials = store.study_trials(study.id)?;
            if json || !csv {
                outln!("{}", serde_json::to_string_pretty(&trials)?);
            } else {
                export_csv(&store.profile_by_id(study.profile_id)?.profile, &trials)?;
            }
        }
    }
    Ok(())
}

/// The complete trials a new study starts from: another study's of the same
/// model, or the profile's own observations.
fn warm_start_trials(store: &Store, model: &str, from: Option<&str>) -> anyhow::Result<Vec<Measured>> {
    let Some(from) = from else { return Ok(Vec::new()) };
    if from == "profile" {
        let profile = store.profile(model)?.profile;
        return Ok(profile
            .trials
            .into_iter()
            .filter(|t| t.state == TrialState::Complete)
            .map(|t| (t.config, t.metrics))
            .collect());
    }
    let source = store.study(from)?;
    if source.model != model {
        anyhow::bail!("study `{}` tunes `{}`, not `{model}`", source.name, source.model);
    }
    Ok(store
        .study_trials(source.id)?
        .into_iter()
        .filter(|t| t.state == TrialState::Complete)
        .map(|t| (t.config, t.metrics))
        .collect())
}

/// On SIGINT or SIGTERM during `study run` with a command: kill the
/// commands' process groups (see `evaluator::interrupt`), leave their
/// trials running so that `--stale-after 0` resumes them, and exit with
/// 128 + the signal's number (130, 143), as a shell reports such a death.
/// The handlers are installed before this returns, so no signal in between
/// gets the default action (which would leave the commands' processes to
/// their watchdogs instead).
#[cfg(unix)]
fn exit_on_signal(study: &str) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut interrupt, mut terminate) = {
        let _context = runtime.enter();
        (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?)
    };
    let study = study.to_string();
    std::thread::spawn(move || {
        let (name, code) = runtime.block_on(async {
            tokio::select! {
                _ = interrupt.recv() => ("SIGINT", 130),
                _ = terminate.recv() => ("SIGTERM", 143),
            }
        });
        crate::evaluator::interrupt();
        eprintln!(
            "interrupted by {name}: the evaluator's processes are killed and the trials being measured \
             stay running; `aiopt study run {study} --trials N --evaluator command --command ... \
             --stale-after 0` measures them again first"
        );
        std::process::exit(code);
    });
    Ok(())
}

#[cfg(not(unix))]
fn exit_on_signal(_study: &str) -> anyhow::Result<()> {
    Ok(())
}

fn run_study(
    store: &mut Store,
    data_dir: &Path,
    study: &StudySummary,
    profile: &profile::Profile,
    (trials, parallel, stale_after): (u32, u32, Duration),
    evaluator: &(dyn Evaluator + Sync),
) -> anyhow::Result<()> {
    let runtime = Runtime::new(Some(data_dir.join("cache")))?;
    let (plugin, _) = Registry::new(data_dir).resolve(&runtime, &study.strategy)?;
    let limits = Limits::default();
    let started = Instant::now();
    let mut done = 0;
    let mut input = StudyInput::new(profile);
    while done < trials {
        let count = parallel.min(trials - done);
        let suggest = study::suggester(&runtime, &plugin, profile, study, &limits, &mut input);
        let batch = study::run_batch(store, study, count, stale_after, suggest, evaluator)?;
        done += batch.len().max(1) as u32;
        let exhausted = batch.iter().any(|t| {
            t.reason
                .as_deref()
                .is_some_and(|r| r.starts_with(study::EXHAUSTED))
        });
        let all = store.study_trials(study.id)?;
        let best = best_trial(profile, &all)
            .and_then(|t| {
                first_objective_value(profile, t)
                    .map(|v| format!("best {} (trial {})", report::format_number(v), t.number))
            })
            .unwrap_or_else(|| "no feasible result yet".into());
        for t in &batch {
            eprintln!(
                "[{done}/{trials}] trial {} {}{}  · {best} · {:.1} s",
                t.number,
                state_word(t.state),
                t.reason
                    .as_ref()
                    .map(|r| format!(": {}", escape(r)))
                    .unwrap_or_default(),
                started.elapsed().as_secs_f64()
            );
        }
        if exhausted {
            eprintln!("stopping: every configuration of the search space has been tried");
            break;
        }
    }
    let all = store.study_trials(study.id)?;
    match best_trial(profile, &all) {
        Some(best) => {
            outln!("best of {} trials: trial {}", all.len(), best.number);
            outln!("  config: {}", report::config_line(&best.config));
            outln!(
                "  changes: {}",
                report::config_changes(&profile.baseline, &best.config).join(", ")
            );
            for (m, v) in &best.metrics {
                outln!("  {m:<28} {}", report::format_number(*v));
            }
        }
        None => outln!(
            "{} (see `aiopt study show {}`)",
            study::feasibility::no_feasible_trial(&study.name, profile, &all, false),
            study.name
        ),
    }
    Ok(())
}

fn parse_metrics(pairs: &[String]) -> anyhow::Result<Vec<(String, f64)>> {
    pairs
        .iter()
        .map(|p| {
            let (metric, text) = p
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("expected METRIC=VALUE, found `{p}`"))?;
            let value = profile::parse_metric(metric, text).map_err(anyhow::Error::msg)?;
            Ok((metric.to_string(), value))
        })
        .collect()
}

fn state_word(state: TrialState) -> &'static str {
    match state {
        TrialState::Complete => "complete",
        TrialState::Failed => "failed",
        TrialState::Running => "running",
        TrialState::Pruned => "pruned",
    }
}

fn print_summary(s: &StudySummary) {
    outln!(
        "study {} `{}` of `{}` with {} (seed {}): {} trials, {} complete, {} running, {} failed",
        s.id,
        s.name,
        s.model,
        s.strategy,
        s.seed,
        s.trials,
        s.complete,
        s.running,
        s.failed
    );
}

fn print_trials(trials: &[StudyTrial], json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(trials)?);
        return Ok(());
    }
    for t in trials {
        let metrics: Vec<String> = t
            .metrics
            .iter()
            .map(|(m, v)| format!("{m}={}", report::format_number(*v)))
            .collect();
        outln!(
            "#{:<4} {:<9} {}{}{}",
            t.number,
            state_word(t.state),
            report::config_line(&t.config),
            if metrics.is_empty() {
                String::new()
            } else {
                format!("  → {}", metrics.join(" "))
            },
            t.reason
                .as_ref()
                .map(|r| format!("  ({})", escape(r)))
                .unwrap_or_default()
        );
    }
    Ok(())
}

fn export_csv(profile: &profile::Profile, trials: &[StudyTrial]) -> anyhow::Result<()> {
    let mut metrics: Vec<&String> = Vec::new();
    for t in trials {
        for (m, _) in &t.metrics {
            if !metrics.contains(&m) {
                metrics.push(m);
            }
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["number".to_string(), "state".to_string()];
    header.extend(profile.space.iter().map(|p| p.name.clone()));
    header.extend(metrics.iter().map(|m| m.to_string()));
    header.push("reason".into());
    writer.write_record(&header)?;
    for t in trials {
        let mut row = vec![t.number.to_string(), state_word(t.state).to_string()];
        row.extend(profile.space.iter().map(|p| {
            t.config
                .iter()
                .find(|(k, _)| *k == p.name)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        }));
        row.extend(metrics.iter().map(|m| {
            t.metrics
                .iter()
                .find(|(n, _)| n == *m)
                .map(|(_, v)| v.to_string())
                .unwrap_or_default()
        }));
        row.push(t.reason.clone().unwrap_or_default());
        writer.write_record(&row)?;
    }
    let bytes = writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    out!("{}", String::from_utf8_lossy(&bytes));
    Ok(())
}

/// `aiopt optimize PROFILE --type tuning`: a study with the table evaluator
/// from start to end, then the best configuration against the baseline.
pub fn optimize(
    db: &Path,
    data_dir: &Path,
    target: &str,
    strategy: &str,
    trials: u32,
    seed: u64,
    nearest: bool,
) -> anyhow::Result<()> {
    let mut store = Store::open(db)?;
    let model = model_for(&mut store, target)?;
    let profile = store.profile(&model)?.profile;
    let name = format!("{model}-optimize-{}", store.studies()?.len() + 1);
    let study = store.create_study(&name, &model, strategy, seed)?;
    outln!(
        "study {} `{}`: {trials} trials of {strategy} on `{model}` (table evaluator)",
        study.id,
        study.name
    );
    let evaluator = TableEvaluator::new(&profile, nearest);
    run_study(
        &mut store,
        data_dir,
        &study,
        &profile,
        (trials, 1, study::DEFAULT_STALE_AFTER),
        &evaluator,
    )?;
    let all = store.study_trials(study.id)?;
    let best = best_trial(&profile, &all)
        .ok_or_else(|| study::feasibility::no_feasible_trial(&study.name, &profile, &all, true))?;
    {
        let baseline = evaluator.evaluate(&profile.baseline).ok();
        outln!("\nbefore → after (baseline → best trial {}):", best.number);
        for (metric, after) in &best.metrics {
            let before = baseline
                .as_ref()
                .and_then(|b| b.iter().find(|(m, _)| m == metric).map(|(_, v)| *v));
            let change = before
                .filter(|b| *b != 0.0)
                .map(|b| format!("  ({:+.1}%)", (after - b) / b.abs() * 100.0))
                .unwrap_or_default();
            let before = before.map_or("not measured".to_string(), report::format_number);
            outln!(
                "  {metric:<28} {before} → {}{change}",
                report::format_number(*after)
            );
        }
    }
    print_importance(&study::importance::importance(&profile, &all));
    explain_study(data_dir, strategy, &profile, &all, seed);
    Ok(())
}

/// Knob importance per objective: each knob's share, or why there is none.
fn print_importance(importance: &[Importance]) {
    if importance.is_empty() {
        return;
    }
    outln!("\nknob importance (PED-ANOVA: how the best 10% of the feasible trials differ from all of them, per knob):");
    for objective in importance {
        let line = match &objective.reason {
            Some(reason) => format!("none: {reason}"),
            None => {
                let shares: Vec<String> = objective
                    .knobs
                    .iter()
                    .map(|k| format!("{} {:.0}%", k.knob, 100.0 * k.importance))
                    .collect();
                format!("{} ({} feasible trials)", shares.join(", "), objective.trials)
            }
        };
        outln!("  {:<28} {line}", objective.metric);
    }
}

/// The stored model `target` names: a profile file is imported first (a
/// new version only when it changed), anything else is a model name.
pub fn model_for(store: &mut Store, target: &str) -> anyhow::Result<String> {
    let path = Path::new(target);
    if !path.is_file() {
        return Ok(target.to_string());
    }
    let profile = profile::load(path)?;
    let hash = profile::content_hash(&profile)?;
    store.import_profile(&profile, &hash, &path.display().to_string())?;
    Ok(profile.name)
}

/// The strategy's own `recommend` over the study's trials, for its notes
/// (how many trials were infeasible, how the front was cut). Best effort:
/// the study's result above stands whether or not this call succeeds.
fn explain_study(
    data_dir: &Path,
    strategy: &str,
    profile: &profile::Profile,
    trials: &[StudyTrial],
    seed: u64,
) {
    let notes = Runtime::new(Some(data_dir.join("cache")))
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            let (plugin, _) = Registry::new(data_dir).resolve(&runtime, strategy)?;
            let view = study::history_profile(profile, trials);
            let called = runtime.recommend(&plugin, &view, seed, &Limits::default())?;
            Ok(called.value.notes)
        });
    match notes {
        Ok(notes) if !notes.is_empty() => {
            outln!(
                "
notes from {strategy} on the study's trials:"
            );
            for note in notes {
                outln!("  {}", escape(&note));
            }
        }
        Ok(_) => {}
        Err(e) => eprintln!(
            "note: {} could not summarise the study's trials: {}",
            escape(strategy),
            escape(&format!("{e:#}"))
        ),
    }
}
