//! `aiopt benchmark PROFILE`: measured metrics per configuration with 95%
//! intervals, latency percentiles and cost per request group, and the
//! baseline against the best configuration per objective.

use std::fmt::Write;
use std::path::PathBuf;

use clap::Args;

use crate::benchmark::{self, BenchmarkReport, Interval};
use crate::profile::{self, Value};

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  aiopt benchmark examples/code-review/profile.toml\n  aiopt benchmark examples/semantic-search/profile.toml --config m=16 --json"
)]
pub struct BenchmarkArgs {
    /// The profile (TOML) whose observations and request records to summarize.
    profile: PathBuf,
    /// Only configurations with these knob values (`knob=value`, repeatable).
    #[arg(long = "config", value_name = "KNOB=VALUE")]
    filters: Vec<String>,
    /// Show every configuration (the default; kept for scripts that say so).
    #[arg(long, conflicts_with = "filters")]
    all: bool,
    /// Measure live: run this shell command for the configuration given by
    /// `--config` (other knobs at the baseline); it reads the configuration
    /// as JSON on stdin (also in $AIOPT_CONFIG, and each knob in
    /// $AIOPT_KNOB_<NAME>) and prints a JSON object of metrics.
    #[arg(long, value_name = "CMD")]
    run: Option<String>,
    /// With --run: how many times to measure (replicates).
    #[arg(long, default_value_t = 3, requires = "run")]
    repeat: u32,
    /// With --run: time limit per measurement, in milliseconds.
    #[arg(long, default_value_t = 60_000, requires = "run")]
    timeout_ms: u64,
    /// Seed of the bootstrap resampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs the benchmark and stores it (under the profile's name) in `db`.
pub fn run(args: &BenchmarkArgs, db: &std::path::Path) -> anyhow::Result<BenchmarkReport> {
    let mut profile = profile::load(&args.profile)?;
    let filters = parse_filters(&args.filters, &profile)?;
    if let Some(command) = &args.run {
        measure_live(&mut profile, &filters, command, args)?;
    }
    let mut report = benchmark::run(&profile, args.seed);
    report.configurations.retain(|c| {
        filters
            .iter()
            .all(|(k, v)| c.config.iter().any(|(ck, cv)| ck == k && cv == v))
    });
    let mut store = crate::store::Store::open(db)?;
    let run_id = store.save_benchmark_run(&profile.name, &serde_json::to_string(&report)?)?;
    if args.json {
        let mut doc = serde_json::to_value(&report)?;
        doc["run_id"] = run_id.into();
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        out!("{}", render(&report));
        outln!("\nstored as benchmark run {run_id} in {}", db.display());
    }
    Ok(report)
}

/// Runs the user's command `repeat` times on the chosen configuration and
/// adds each measurement to the profile as a replicate.
fn measure_live(
    profile: &mut profile::Profile,
    knobs: &[(String, Value)],
    command: &str,
    args: &BenchmarkArgs,
) -> anyhow::Result<()> {
    let config: profile::Config = profile
        .baseline
        .iter()
        .map(|(name, value)| {
            let chosen = knobs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            (name.clone(), chosen.unwrap_or_else(|| value.clone()))
        })
        .collect();
    let evaluator = crate::evaluator::CommandEvaluator {
        command: command.to_string(),
        timeout: std::time::Duration::from_millis(args.timeout_ms),
    };
    for i in 0..args.repeat {
        eprintln!("measuring {}/{}: {command}", i + 1, args.repeat);
        let metrics = evaluator.evaluate(&config)?;
        profile.trials.push(profile::Trial {
            number: profile.trials.len() as u32,
            config: config.clone(),
            metrics,
            state: profile::TrialState::Complete,
        });
    }
    Ok(())
}

fn parse_filters(filters: &[String], profile: &profile::Profile) -> anyhow::Result<Vec<(String, Value)>> {
    filters
        .iter()
        .map(|f| {
            let (knob, text) = f
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("--config expects KNOB=VALUE, found `{f}`"))?;
            let param = profile.space.iter().find(|p| p.name == knob).ok_or_else(|| {
                let names: Vec<&str> = profile.space.iter().map(|p| p.name.as_str()).collect();
                anyhow::anyhow!(
                    "--config: `{knob}` is not a knob of `{}` (knobs: {})",
                    profile.name,
                    names.join(", ")
                )
            })?;
            let value = profile::parse_knob(param, text).map_err(|e| anyhow::anyhow!("--config: {e}"))?;
            Ok((knob.to_string(), value))
        })
        .collect()
}

fn render(report: &BenchmarkReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "benchmark of `{}` (bootstrap seed {})",
        report.profile, report.seed
    );
    if report.configurations.is_empty() && report.served_by.is_empty() {
        out.push_str("no measurements: add observations or request records to the profile\n");
    }
    for c in &report.configurations {
        let config: Vec<String> = c.config.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = writeln!(
            out,
            "\n{}{}  ({} replicate{})",
            config.join("  "),
            if c.is_baseline { "  [baseline]" } else { "" },
            c.replicates,
            if c.replicates == 1 { "" } else { "s" }
        );
        for m in &c.metrics {
            let _ = writeln!(out, "  {:<36} {}", m.metric, interval(&m.mean));
        }
    }
    if !report.served_by.is_empty() {
        out.push_str("\nper request, by who served it:\n");
    }
    for s in &report.served_by {
        let _ = writeln!(out, "\n{}  ({} requests)", s.served_by, s.requests);
        let rows = [
            ("latency_p50_ms", &s.latency_p50_ms),
            ("latency_p95_ms", &s.latency_p95_ms),
            ("latency_p99_ms", &s.latency_p99_ms),
            ("cost_per_request_usd", &s.cost_per_request_usd),
            ("cost_per_1000_requests_usd", &s.cost_per_1000_requests_usd),
            ("score", &s.score),
        ];
        for (name, value) in rows {
            if let Some(v) = value {
                let _ = writeln!(out, "  {name:<36} {}", interval(v));
            }
        }
        if let Some(rps) = s.throughput_rps {
            let _ = writeln!(out, "  {:<36} {}", "throughput_rps", num(rps));
        }
    }
    if !report.comparisons.is_empty() {
        out.push_str("\nbaseline against the best configuration per objective:\n");
    }
    for c in &report.comparisons {
        let best: Vec<String> = c.best.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let baseline = c
            .baseline_value
            .as_ref()
            .map_or("not measured".to_string(), interval);
        let change = c
            .improvement_percent
            .map_or(String::new(), |p| format!(", {p:+.1}%"));
        let significance = match c.significant {
            Some(true) => "significant at 95%",
            Some(false) => "not significant at 95%",
            None => "significance not testable (fewer than 3 measurements a side)",
        };
        let _ = writeln!(
            out,
            "  {} ({:?}{}): best {} = {}; baseline {}{change}; {significance}",
            c.metric,
            c.direction,
            if c.feasible_only { ", feasible only" } else { "" },
            best.join(" "),
            interval(&c.best_value),
            baseline
        );
    }
    out
}

fn interval(i: &Interval) -> String {
    if i.low == i.high {
        num(i.value)
    } else {
        format!(
            "{}  (95%: {} .. {}, n={})",
            num(i.value),
            num(i.low),
            num(i.high),
            i.n
        )
    }
}

fn num(x: f64) -> String {
    crate::report::format_number(x)
}
