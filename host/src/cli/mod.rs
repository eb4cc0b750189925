//! The `aiopt` command line: argument definitions and the commands behind
//! them. This is the only module (with `main.rs`) that prints.

mod benchmark;
mod exit;
mod plugin;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use exit::{exit_code, ExitCode};

/// aiopt: optimize deployed AI models with sandboxed WebAssembly strategies.
#[derive(Debug, Parser)]
#[command(
    name = "aiopt",
    version,
    after_help = "Examples:\n  aiopt plugin list\n  aiopt plugin run random --profile examples/doc-generator/profile.toml --count 3\n  aiopt profile check examples/doc-generator/profile.toml\n\nExit codes are listed in the README."
)]
pub struct Cli {
    /// Where installed plugins and the compiled-plugin cache live.
    #[arg(long, global = true, env = "AIOPT_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List, inspect, install, remove and run strategy plugins.
    #[command(subcommand)]
    Plugin(plugin::PluginCommand),
    /// Work with profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Summarize a profile's measurements with 95% bootstrap intervals.
    Benchmark(benchmark::BenchmarkArgs),
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Check a profile and report every problem with file, line and column.
    #[command(after_help = "Example:\n  aiopt profile check examples/doc-generator/profile.toml --json")]
    Check {
        /// The profile (TOML).
        file: PathBuf,
        /// Print a machine-readable summary.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    match cli.command {
        Command::Plugin(command) => plugin::run(command, &data_dir),
        Command::Profile(ProfileCommand::Check { file, json }) => profile_check(&file, json),
        Command::Benchmark(args) => benchmark::run(&args).map(|_| ()),
    }
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    dirs::data_dir().map(|d| d.join("aiopt")).ok_or_else(|| {
        anyhow::anyhow!("cannot find a data directory for this user: pass --data-dir or set AIOPT_DATA_DIR")
    })
}

fn profile_check(file: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let profile = crate::profile::load(file)?;
    if json {
        let summary = serde_json::json!({
            "valid": true,
            "name": profile.name,
            "kind": profile.kind,
            "knobs": profile.space.len(),
            "objectives": profile.objectives.len(),
            "constraints": profile.constraints.len(),
            "observations": profile.trials.len(),
            "requests": profile.requests.records.len(),
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "{}: valid profile `{}` ({}): {} knobs, {} objectives, {} constraints, {} observations, {} request records",
            file.display(),
            profile.name,
            profile.kind,
            profile.space.len(),
            profile.objectives.len(),
            profile.constraints.len(),
            profile.trials.len(),
            profile.requests.records.len()
        );
    }
    Ok(())
}
