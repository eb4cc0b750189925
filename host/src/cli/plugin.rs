//! `aiopt plugin ...`: list, inspect, install, remove and run plugins.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::profile;
use crate::report;
use crate::report::terminal::escape;
use crate::runtime::registry::{PluginSource, Registry};
use crate::runtime::{Called, Limits, LogLine, LogSource, Plugin, Runtime, Usage, MAX_MEMORY_BYTES};

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// List built-in and installed plugins.
    #[command(after_help = "Example:\n  aiopt plugin list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a plugin's name, version, kinds, options, contract and hash.
    #[command(
        after_help = "Examples:\n  aiopt plugin inspect random\n  aiopt plugin inspect ./my_strategy.wasm --json"
    )]
    Inspect {
        /// A plugin name or a path to a `.wasm` component.
        plugin: String,
        #[arg(long)]
        json: bool,
    },
    /// Check a component against the contract and install it by its name.
    ///
    /// A built-in's name is refused; so is the name of an installed plugin
    /// that is another component, unless --replace is given.
    #[command(after_help = "Example:\n  aiopt plugin install target/wasm32-wasip2/release/my_strategy.wasm")]
    Install {
        /// Path to the `.wasm` component.
        path: PathBuf,
        /// Replace an installed plugin of the same name.
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        json: bool,
    },
    /// Remove an installed plugin.
    #[command(after_help = "Example:\n  aiopt plugin remove my-strategy")]
    Remove { name: String },
    /// Run one plugin call on a profile and show the result, fuel, memory,
    /// time and logs: the local runner for plugin authors.
    #[command(
        after_help = "Examples:\n  aiopt plugin run random --profile examples/doc-generator/profile.toml --count 5 --seed 7\n  aiopt plugin run ./my_strategy.wasm --profile p.toml --call recommend --fuel unlimited --timeout-ms 2000 --json"
    )]
    Run(RunArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CallKind {
    Suggest,
    Recommend,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// A plugin name or a path to a `.wasm` component.
    plugin: String,
    /// The profile to run on (TOML).
    #[arg(long, value_name = "FILE")]
    profile: PathBuf,
    /// Which strategy function to call.
    #[arg(long, value_enum, default_value = "suggest")]
    call: CallKind,
    /// How many configurations `suggest` should return.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// The seed for all randomness the plugin sees.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fuel budget (deterministic CPU), or `unlimited`. Default 10000000000.
    #[arg(long, value_parser = parse_fuel, value_name = "N|unlimited")]
    fuel: Option<Fuel>,
    /// Wall-clock limit in milliseconds. Default 10000.
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Linear memory limit in MiB. Default 512, at most 4096.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=(MAX_MEMORY_BYTES >> 20)))]
    memory_mb: Option<u64>,
    /// Output size limit in MiB. Default 16.
    #[arg(long, value_name = "MIB")]
    output_mb: Option<u64>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Fuel(Option<u64>);

fn parse_fuel(s: &str) -> Result<Fuel, String> {
    if s == "unlimited" {
        return Ok(Fuel(None));
    }
    s.replace('_', "")
        .parse::<u64>()
        .map(|n| Fuel(Some(n)))
        .map_err(|_| format!("expected a number of fuel units or `unlimited`, found `{s}`"))
}

impl RunArgs {
    fn limits(&self) -> Limits {
        let defaults = Limits::default();
        Limits {
            fuel: self.fuel.map_or(defaults.fuel, |f| f.0),
            timeout: self.timeout_ms.map_or(defaults.timeout, Duration::from_millis),
            memory_bytes: self.memory_mb.map_or(defaults.memory_bytes, |m| m << 20),
            output_bytes: self.output_mb.map_or(defaults.output_bytes, |m| m << 20),
            ..defaults
        }
    }
}

/// Runs a plugin command; installs and removals are also recorded in the
/// database at `db`, so the API and dashboard can list them with metadata.
pub fn run(command: PluginCommand, data_dir: &Path, db: &Path) -> anyhow::Result<()> {
    let runtime = Runtime::new(Some(data_dir.join("cache")))?;
    let registry = Registry::new(data_dir);
    match command {
        PluginCommand::List { json } => list(&runtime, &registry, json),
        PluginCommand::Inspect { plugin, json } => {
            let (plugin, source) = registry.resolve(&runtime, &plugin)?;
            print_inspect(&plugin, &source, json)
        }
        PluginCommand::Install { path, replace, json } => {
            let (plugin, target) = registry.install(&runtime, &path, replace)?;
            crate::store::Store::open(db)?.record_plugin(
                &plugin.info.name,
                &plugin.info.version,
                &plugin.sha256,
                &target.display().to_string(),
            )?;
            if json {
                outln!(
                    "{}",
                    serde_json::to_string_pretty(&describe(&plugin, &PluginSource::Installed(target)))?
                );
            } else {
                outln!(
                    "installed {} {} ({}) as {}",
                    plugin.info.name,
                    plugin.info.version,
                    kinds(&plugin),
                    target.display()
                );
            }
            Ok(())
        }
        PluginCommand::Remove { name } => {
            let path = registry.remove(&name)?;
            crate::store::Store::open(db)?.forget_plugin(&name)?;
            outln!("removed {name} ({})", path.display());
            Ok(())
        }
        PluginCommand::Run(args) => run_call(&runtime, &registry, &args),
    }
}

fn kinds(plugin: &Plugin) -> String {
    plugin
        .info
        .kinds
        .iter()
        .map(|k| k.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn describe(plugin: &Plugin, source: &PluginSource) -> serde_json::Value {
    json!({
        "name": plugin.info.name,
        "version": plugin.info.version,
        "kinds": plugin.info.kinds,
        "summary": plugin.info.summary,
        "options": plugin.info.options,
        "contract": plugin.contract.to_string(),
        "sha256": plugin.sha256,
        "size_bytes": plugin.size_bytes,
        "source": source,
        "loaded_from": plugin.load_source,
        "load_time_us": plugin.load_time.as_micros() as u64,
    })
}

fn list(runtime: &Runtime, registry: &Registry, json: bool) -> anyhow::Result<()> {
    let entries = registry.list(runtime);
    if json {
        let items: Vec<serde_json::Value> = entries
            .iter()
            .map(|(name, source, loaded)| match loaded {
                Ok(plugin) => describe(plugin, source),
                Err(e) => json!({ "name": name, "source": source, "error": { "kind": e.kind(), "message": e.to_string() } }),
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(());
    }
    if entries.is_empty() {
        outln!("no plugins: this binary has no built-ins and none are installed");
        return Ok(());
    }
    outln!("NAME             VERSION   KINDS                    CONTRACT  SHA256       SOURCE");
    for (name, source, loaded) in &entries {
        match loaded {
            Ok(p) => outln!(
                "{:<16} {:<9} {:<24} {:<9} {:<12} {}",
                p.info.name,
                p.info.version,
                kinds(p),
                p.contract.to_string(),
                &p.sha256[..12],
                source
            ),
            Err(e) => outln!(
                "{:<16} (failed to load: {}) {source}",
                escape(name),
                escape(&e.to_string())
            ),
        }
    }
    Ok(())
}

fn print_inspect(plugin: &Plugin, source: &PluginSource, json: bool) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(&describe(plugin, source))?);
        return Ok(());
    }
    let i = &plugin.info;
    outln!("{} {}", i.name, i.version);
    outln!("  summary:   {}", escape(&i.summary));
    outln!("  kinds:     {}", kinds(plugin));
    outln!("  contract:  aiopt:strategy@{}", plugin.contract);
    outln!("  sha256:    {}", plugin.sha256);
    outln!("  size:      {} bytes", plugin.size_bytes);
    outln!("  source:    {source}");
    outln!(
        "  loaded:    from {} in {:.2} ms",
        match plugin.load_source {
            crate::runtime::LoadSource::Cache => "cache",
            crate::runtime::LoadSource::Compiled => "source (compiled now)",
        },
        plugin.load_time.as_secs_f64() * 1e3
    );
    if i.options.is_empty() {
        outln!("  options:   none");
    }
    for o in &i.options {
        outln!(
            "  option {} (default {}): {}",
            escape(&o.name),
            escape(&o.default.to_string()),
            escape(&o.summary)
        );
    }
    Ok(())
}

fn run_call(runtime: &Runtime, registry: &Registry, args: &RunArgs) -> anyhow::Result<()> {
    let profile = profile::load(&args.profile)?;
    let (plugin, source) = registry.resolve(runtime, &args.plugin)?;
    let limits = args.limits();
    let header = describe(&plugin, &source);
    let tag = format!("{} {}", plugin.info.name, plugin.info.version);
    let call = match args.call {
        CallKind::Suggest => "suggest",
        CallKind::Recommend => "recommend",
    };
    let outcome = match args.call {
        CallKind::Suggest => runtime
            .suggest(&plugin, &profile, args.count, args.seed, &limits)
            .map(|c| map_called(c, |v| json!(SerConfigs(v)), |v| report::render_configs(v))),
        CallKind::Recommend => runtime.recommend(&plugin, &profile, args.seed, &limits).map(|c| {
            map_called(
                c,
                |r| json!(r),
                |r| report::render_report(r, &profile.baseline, &report::baseline_metrics(&profile)),
            )
        }),
    };
    match outcome {
        Ok(called) => {
            if args.json {
                let doc = json!({
                    "plugin": header, "call": call, "seed": args.seed, "limits": limits,
                    "result": called.value.0, "usage": called.usage, "logs": called.logs,
                });
                outln!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                outln!(
                    "{} {} ({source}) · {call} · seed {}",
                    plugin.info.name,
                    plugin.info.version,
                    args.seed
                );
                out!("{}", called.value.1);
                print_usage(&tag, &called.usage, &called.logs);
            }
            Ok(())
        }
        Err(failure) => {
            if args.json {
                let doc = json!({
                    "plugin": header, "call": call, "seed": args.seed, "limits": limits,
                    "error": { "kind": failure.error.kind(), "message": failure.error.to_string() },
                    "usage": failure.usage, "logs": failure.logs,
                });
                outln!("{}", serde_json::to_string_pretty(&doc)?);
            } else {
                print_usage(&tag, &failure.usage, &failure.logs);
            }
            Err(anyhow::Error::new(failure))
                .with_context(|| format!("{} `{}` failed", call, plugin.info.name))
        }
    }
}

/// A call's value as (JSON, text), computed once.
fn map_called<T>(
    called: Called<T>,
    to_json: impl FnOnce(&T) -> serde_json::Value,
    to_text: impl FnOnce(&T) -> String,
) -> Called<(serde_json::Value, String)> {
    let json = to_json(&called.value);
    let text = to_text(&called.value);
    Called {
        value: (json, text),
        usage: called.usage,
        logs: called.logs,
    }
}

struct SerConfigs<'a>(&'a [profile::Config]);

impl serde::Serialize for SerConfigs<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        report::serialize_configs(self.0, s)
    }
}

fn source_name(source: LogSource) -> &'static str {
    match source {
        LogSource::Plugin => "log",
        LogSource::Stderr => "stderr",
        LogSource::Stdout => "stdout",
        LogSource::Host => "host",
    }
}

/// Usage and logs go to stderr so stdout stays the result; each log line is
/// tagged with the plugin's name and version, and escaped (it is plugin
/// text; `--json` keeps it exact).
fn print_usage(tag: &str, usage: &Usage, logs: &[LogLine]) {
    eprintln!(
        "fuel {} · peak memory {:.1} MiB · wall {:.2} ms",
        usage.fuel,
        usage.peak_memory_bytes as f64 / (1u64 << 20) as f64,
        usage.wall_time_us as f64 / 1e3
    );
    if !logs.is_empty() {
        eprintln!("logs ({}):", logs.len());
        for line in logs {
            eprintln!(
                "  [{tag} {} {}] {}",
                line.level,
                source_name(line.source),
                escape(&line.message)
            );
        }
    }
}
