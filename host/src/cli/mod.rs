//! The `aiopt` command line: argument definitions and the commands behind
//! them. This is the only module (with `main.rs`) that prints.

/// `println!` for command output: when stdout is a closed pipe (`aiopt …
/// | head`), end quietly instead of panicking as `println!` would.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            $crate::cli::stdout_failed(e);
        }
    }};
}

/// `print!` with the same handling as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($arg)*) {
            $crate::cli::stdout_failed(e);
        }
    }};
}

/// Ends the process when stdout is gone: quietly for a closed pipe (the
/// reader has all it wanted), with a message otherwise.
pub fn stdout_failed(error: std::io::Error) -> ! {
    if error.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to stdout: {error}");
    std::process::exit(ExitCode::Failure as i32);
}

mod benchmark;
pub mod exit;
pub(crate) mod plugin;
mod stored;
mod study;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use exit::{exit_code, ExitCode};
pub(crate) use stored::parse_proposal_ref;

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

    /// The SQLite database of profiles, configurations, reports and runs
    /// (default: `aiopt.db` in the data directory).
    #[arg(long, global = true, env = "AIOPT_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,

    /// Let a profile read `[data]` files at or under PATH, outside its own
    /// folder (repeatable). Without it a profile reads data only from its
    /// own folder, after resolving `..` and symlinks. Profiles uploaded to
    /// `aiopt serve` never read server files, whatever this says.
    #[arg(long = "allow-data", global = true, value_name = "PATH", value_parser = resolved_path)]
    pub allow_data: Vec<PathBuf>,

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
    /// Show and change a model's configuration, with history.
    #[command(subcommand)]
    Config(stored::ConfigCommand),
    /// Optimize a model: `--type tuning` runs a study with the table
    /// evaluator; `cost`, `quality` and `performance` run that strategy's
    /// `recommend` and store the report.
    #[command(
        after_help = "Examples:\n  aiopt optimize examples/code-review/profile.toml --type tuning --trials 6\n  aiopt optimize examples/code-review/profile.toml --type cost\n  aiopt config apply code-review --proposal 1.1"
    )]
    Optimize {
        /// A profile file (imported first) or a stored model name.
        profile: String,
        /// The optimization type.
        #[arg(long = "type", value_parser = ["tuning", "performance", "cost", "quality"], default_value = "tuning")]
        kind: String,
        /// The strategy plugin (default: tpe for tuning, else the built-in
        /// named like the type).
        #[arg(long)]
        strategy: Option<String>,
        /// Trials of a tuning study.
        #[arg(long, default_value_t = 20)]
        trials: u32,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Tuning: use the closest measured configuration for one never measured.
        #[arg(long)]
        nearest: bool,
        /// The stored report as JSON (cost, quality, performance).
        #[arg(long)]
        json: bool,
    },
    /// Tuning studies: ask/tell, evaluators, resumable runs.
    #[command(subcommand)]
    Study(study::StudyCommand),
    /// Serve the HTTP API (`/api/v1`, OpenAPI at `/api/v1/openapi.json`, Prometheus at `/metrics`).
    #[command(
        after_help = "Examples:\n  aiopt serve                                    # 127.0.0.1:8080, no token needed on loopback\n  AIOPT_TOKEN=s3cret aiopt serve --addr 0.0.0.0:8080 --open-reads\n  aiopt serve --token-file /etc/aiopt/tokens --cors-origin https://dash.example"
    )]
    Serve(ServeArgs),
    /// Recommend changes to a stored model: every applicable built-in strategy, ranked (or one strategy), stored as a report.
    #[command(
        after_help = "Examples:\n  aiopt profile import examples/code-review/profile.toml\n  aiopt recommend code-review\n  aiopt recommend code-review --strategy cost --json"
    )]
    Recommend {
        /// The model (the stored profile's name).
        model: String,
        /// One strategy plugin (name or path); without it, every built-in
        /// (performance, cost, quality, tpe) that applies, ranked together.
        #[arg(long)]
        strategy: Option<String>,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
}

/// Options of `aiopt serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed on stderr).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: std::net::SocketAddr,
    /// File with accepted bearer tokens, one per line (`admin TOKEN` for one
    /// that may also install plugins; `#` comments).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Reads (GET) need no token; writes always do when tokens are set.
    #[arg(long)]
    open_reads: bool,
    /// Allow browsers from this origin (repeatable); CORS is off otherwise.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    cors_origins: Vec<String>,
    /// Largest request body.
    #[arg(long, default_value_t = 16)]
    body_limit_mb: usize,
    /// Longest a request may take.
    #[arg(long, default_value_t = 120)]
    timeout_s: u64,
}

/// Tokens and admin tokens from `--token-file`, `AIOPT_TOKEN` and
/// `AIOPT_ADMIN_TOKEN`. A line of the file is `TOKEN`, or `admin TOKEN`
/// for an admin token (words split at any whitespace); blank lines and `#`
/// comments are skipped. Any other line (`admin` alone, which once became
/// the token `admin`; more than two words) stops the start-up with the
/// file and line, and without the line's text, which may hold a secret.
fn tokens(args: &ServeArgs) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let (mut tokens, mut admin) = (Vec::new(), Vec::new());
    if let Some(file) = &args.token_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("cannot read token file {}: {e}", file.display()))?;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = format!("{}:{}", file.display(), index + 1);
            match line.split_whitespace().collect::<Vec<_>>()[..] {
                ["admin"] => {
                    anyhow::bail!("{at}: `admin` alone is no token: write `admin TOKEN` for an admin token")
                }
                ["admin", token] => admin.push(token.to_string()),
                [token] => tokens.push(token.to_string()),
                ref words => anyhow::bail!(
                    "{at}: expected `TOKEN` or `admin TOKEN`, found {} words (a token holds no spaces)",
                    words.len()
                ),
            }
        }
        if tokens.is_empty() && admin.is_empty() {
            anyhow::bail!("token file {} holds no token", file.display());
        }
    }
    let env = |name: &str| {
        std::env::var(name)
            .ok()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    tokens.extend(env("AIOPT_TOKEN"));
    admin.extend(env("AIOPT_ADMIN_TOKEN"));
    Ok((tokens, admin))
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
    /// Check a profile and store it (a changed profile becomes a new version).
    #[command(after_help = "Example:\n  aiopt profile import examples/code-review/profile.toml")]
    Import {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// List stored profiles (the latest version of each model).
    #[command(after_help = "Example:\n  aiopt profile list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a stored profile.
    #[command(after_help = "Example:\n  aiopt profile show code-review")]
    Show {
        model: String,
        #[arg(long)]
        json: bool,
    },
}

/// `--allow-data PATH` resolved (`..`, symlinks), so that a missing path
/// is a usage error and the allowance cannot change under a later symlink.
fn resolved_path(path: &str) -> Result<PathBuf, String> {
    std::path::Path::new(path)
        .canonicalize()
        .map_err(|e| e.to_string())
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    crate::profile::allow_data(&cli.allow_data)
        .map_err(|(path, e)| anyhow::anyhow!("--allow-data {}: {e}", path.display()))?;
    let data_dir = match cli.data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    let db = cli.db.unwrap_or_else(|| stored::default_db(&data_dir));
    match cli.command {
        Command::Plugin(command) => plugin::run(command, &data_dir, &db),
        Command::Profile(ProfileCommand::Check { file, json }) => profile_check(&file, json),
        Command::Profile(ProfileCommand::Import { file, json }) => stored::import(&db, &file, json),
        Command::Profile(ProfileCommand::List { json }) => stored::list(&db, json),
        Command::Profile(ProfileCommand::Show { model, json }) => stored::show(&db, &model, json),
        Command::Benchmark(args) => benchmark::run(&args, &db).map(|_| ()),
        Command::Config(command) => stored::config(&db, command),
        Command::Study(command) => study::run(&db, &data_dir, command),
        Command::Optimize {
            profile,
            kind,
            strategy,
            trials,
            seed,
            nearest,
            json,
        } => {
            if kind == "tuning" {
                if json {
                    anyhow::bail!(
                        "--json is for --type cost, quality and performance; a tuning study's results are \
                         in `aiopt study show NAME --json`"
                    );
                }
                let strategy = strategy.as_deref().unwrap_or("tpe");
                study::optimize(&db, &data_dir, &profile, strategy, trials, seed, nearest)
            } else {
                let mut store = stored::open_store(&db)?;
                let model = study::model_for(&mut store, &profile)?;
                drop(store);
                let strategy = strategy.unwrap_or_else(|| kind.clone());
                stored::recommend_kind(&db, &data_dir, &model, &strategy, Some(&kind), seed, json)
            }
        }
        Command::Serve(args) => {
            let (tokens, admin_tokens) = tokens(&args)?;
            let options = crate::api::ServeOptions {
                addr: args.addr,
                tokens,
                admin_tokens,
                open_reads: args.open_reads,
                cors_origins: args.cors_origins.clone(),
                body_limit_bytes: args.body_limit_mb.max(1) * 1024 * 1024,
                request_timeout: std::time::Duration::from_secs(args.timeout_s.max(1)),
            };
            crate::api::serve(&db, &data_dir, options)
        }
        Command::Recommend {
            model,
            strategy,
            seed,
            json,
        } => match strategy {
            Some(strategy) => stored::recommend_kind(&db, &data_dir, &model, &strategy, None, seed, json),
            None => stored::recommend_all(&db, &data_dir, &model, seed, json),
        },
    }
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    dirs::data_dir().map(|d| d.join("aiopt")).ok_or_else(|| {
        anyhow::anyhow!("cannot find a data directory for this user: pass --data-dir or set AIOPT_DATA_DIR")
    })
}

fn profile_check(file: &std::path::Path, json: bool) -> anyhow::Result<()> {
    let profile = match crate::profile::load(file) {
        Ok(profile) => profile,
        Err(error) if json => {
            // Machines get the problems as data too; the exit code stays 3.
            let problems = error.problems_json();
            let doc = serde_json::json!({ "valid": false, "problems": problems });
            outln!("{}", serde_json::to_string_pretty(&doc)?);
            return Err(error.into());
        }
        Err(error) => return Err(error.into()),
    };
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
        outln!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        outln!(
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
