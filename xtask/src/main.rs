//! `cargo xtask`: the project's build, test, demo and bench entry points, so
//! that a fresh clone needs only the Rust toolchain (rust-analyzer's layout:
//! a plain binary instead of shell scripts).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

const WASM_TARGET: &str = "wasm32-wasip2";
const PLUGIN_PROFILE: &str = "plugin";

const HELP: &str = "\
cargo xtask <command>

Commands:
  build-plugins   build every plugin and test fixture for wasm32-wasip2
                  (installs the target with rustup when missing)
  demo            build plugins and aiopt, then run aiopt on the bundled examples
  test            build plugins, then fmt --check, clippy -D warnings and every test,
                  then every fuzz target for 15 s (see fuzz)
  fuzz [SECONDS]  build plugins; every fuzz target in fuzz/ for SECONDS each (default
                  60), libFuzzer with coverage of the workspace's own crates;
                  crashes go to target/fuzz/artifacts/
  bench           build plugins, then run the runtime and data benchmarks
  bench-tuning    build plugins; aiopt TPE against Optuna (venv in target/bench-venv):
                  time per suggest, sample efficiency, hypervolume
  bench-calibration
                  build plugins; how often the cost and quality strategies' 95%
                  intervals cover held-out request records
  bench-api       build aiopt; ask+tell pairs/s and latency through `aiopt serve`
                  on 127.0.0.1 at 1, 8 and 32 clients
";

fn main() -> Result<()> {
    if std::env::var_os(FUZZ_WRAPPER_ENV).is_some() {
        return rustc_for_fuzzing(std::env::args_os().skip(1));
    }
    let task = std::env::args().nth(1).unwrap_or_default();
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    let started = Instant::now();
    match task.as_str() {
        "build-plugins" => build_plugins(&root)?,
        "demo" => demo(&root)?,
        "test" => test(&root)?,
        "fuzz" => {
            let seconds = match std::env::args().nth(2) {
                Some(text) => text
                    .parse()
                    .with_context(|| format!("`{text}` is not a number of seconds"))?,
                None => FUZZ_SECONDS,
            };
            build_plugins(&root)?;
            fuzz(&root, seconds)?;
        }
        "bench" => bench(&root)?,
        "bench-tuning" => bench_tuning(&root)?,
        "bench-calibration" => bench_calibration(&root)?,
        "bench-api" => bench_api(&root)?,
        "" | "help" | "--help" | "-h" => {
            print!("{HELP}");
            return Ok(());
        }
        other => bail!("unknown task `{other}`\n\n{HELP}"),
    }
    eprintln!("xtask {task}: done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn plugin_dir(root: &Path) -> PathBuf {
    root.join("target").join(WASM_TARGET).join(PLUGIN_PROFILE)
}

fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", describe(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", describe(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", describe(cmd));
    }
    Ok(())
}

fn describe(cmd: &Command) -> String {
    std::iter::once(cmd.get_program().to_string_lossy().into_owned())
        .chain(cmd.get_args().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root).env("AIOPT_PLUGIN_DIR", plugin_dir(root));
    cmd
}

fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("cannot run rustup; install the wasm32-wasip2 target by hand")?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Package names of the crates under `dir` (one crate per subdirectory).
fn packages_under(root: &Path, dir: &str) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root.join(dir)).with_context(|| format!("reading {dir}"))? {
        let manifest = entry?.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let name = text
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("name = \"")?
                    .strip_suffix('"')
                    .map(str::to_string)
            })
            .with_context(|| format!("no package name in {}", manifest.display()))?;
        names.push(name);
    }
    names.sort();
    Ok(names)
}

fn build_plugins(root: &Path) -> Result<()> {
    ensure_wasm_target()?;
    let mut packages = packages_under(root, "plugins")?;
    packages.extend(packages_under(root, "tests/fixtures")?);
    let mut cmd = cargo(root);
    cmd.args(["build", "--target", WASM_TARGET, "--profile", PLUGIN_PROFILE]);
    for p in &packages {
        cmd.args(["-p", p]);
    }
    run(&mut cmd)
}

fn demo(root: &Path) -> Result<()> {
    build_plugins(root)?;
    run(cargo(root).args(["build", "--release", "-p", "aiopt"]))?;
    let aiopt = root.join("target/release/aiopt");
    let data = root.join("target/demo-data");
    let profile = "examples/doc-generator/profile.toml";
    let review = "examples/code-review/profile.toml";
    let search = "examples/semantic-search/profile.toml";
    let steps: &[&[&str]] = &[
        &["plugin", "list"],
        &["profile", "check", profile],
        &[
            "plugin",
            "run",
            "random",
            "--profile",
            profile,
            "--count",
            "5",
            "--seed",
            "42",
        ],
        &[
            "plugin",
            "run",
            "random",
            "--profile",
            profile,
            "--call",
            "recommend",
        ],
        &["benchmark", review],
        &["optimize", review, "--type", "tuning", "--trials", "10"],
        // Enough trials for knob importance (21 feasible ones).
        &[
            "optimize",
            search,
            "--type",
            "tuning",
            "--trials",
            "50",
            "--nearest",
        ],
        &["optimize", review, "--type", "cost"],
        &["optimize", search, "--type", "performance"],
        &["recommend", "code-review"],
    ];
    for args in steps {
        run(Command::new(&aiopt)
            .current_dir(root)
            .arg("--data-dir")
            .arg(&data)
            .args(*args))?;
    }
    Ok(())
}

fn test(root: &Path) -> Result<()> {
    build_plugins(root)?;
    install_browser()?;
    run(cargo(root).args(["fmt", "--all", "--check"]))?;
    run(cargo(root).args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]))?;
    // The whole workspace, fuzz targets included (they have no tests), so
    // that features are unified as in `fuzz`'s build, which then reuses
    // every dependency built here.
    run(cargo(root).args(["test", "--release", "--workspace"]))?;
    fuzz(root, FUZZ_SECONDS_IN_TEST)
}

/// Debian's Chromium and chromedriver, for the dashboard's browser tests:
/// installed from the distribution's packages when missing (nothing is
/// downloaded at test time otherwise).
fn install_browser() -> Result<()> {
    const NEEDED: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromedriver"];
    if NEEDED.iter().all(|p| Path::new(p).exists()) {
        return Ok(());
    }
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    let apt = |args: &[&str]| {
        let mut cmd = if root_user {
            Command::new("apt-get")
        } else {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        run(&mut cmd)
    };
    let install = ["install", "-y", "chromium", "chromium-driver"];
    if apt(&install).is_err() {
        apt(&["update"])?;
        apt(&install).context(
            "the dashboard tests need Debian's `chromium` and `chromium-driver` packages; install them (as root) and run again",
        )?;
    }
    Ok(())
}

fn bench_api(root: &Path) -> Result<()> {
    build_plugins(root)?;
    run(cargo(root).args(["build", "--release", "-p", "aiopt"]))?;
    run(cargo(root).args(["bench", "-p", "aiopt", "--bench", "api"]))
}

fn bench_calibration(root: &Path) -> Result<()> {
    build_plugins(root)?;
    run(cargo(root).args(["bench", "-p", "aiopt", "--bench", "calibration"]))
}

fn bench(root: &Path) -> Result<()> {
    build_plugins(root)?;
    run(cargo(root).args(["bench", "-p", "aiopt"]))
}

/// Optuna major version the comparison is made against.
const OPTUNA_SPEC: &str = "optuna>=5,<6";

fn bench_tuning(root: &Path) -> Result<()> {
    build_plugins(root)?;
    run(cargo(root).args(["bench", "-p", "aiopt", "--bench", "tuning"]))?;

    let venv = root.join("target/bench-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    let pip = |spec: &str| run(Command::new(&python).args(["-m", "pip", "install", "-q", "--upgrade", spec]));
    if pip(OPTUNA_SPEC).is_err() {
        eprintln!("xtask bench-tuning: `{OPTUNA_SPEC}` is not installable; using the newest optuna instead");
        pip("optuna")?;
    }
    let version = Command::new(&python)
        .args(["-c", "import optuna; print(optuna.__version__)"])
        .output()
        .context("cannot ask the venv for the optuna version")?;
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    println!("optuna {version}");
    if !version.starts_with("5.") {
        println!("note: optuna 5.x is not available; comparing against {version}");
    }

    let out = root.join("target/bench-tuning");
    run(Command::new(&python)
        .current_dir(root)
        .arg(root.join("bench/tuning/optuna_speed.py"))
        .arg(&out))?;
    print_speed_table(&out, &version)?;

    // Sample efficiency: aiopt's runs (which also write problems.json),
    // then Optuna's on the same problems, then the report that re-checks
    // every recorded value and summarises both.
    run(cargo(root).args(["bench", "-p", "aiopt", "--bench", "tuning_quality"]))?;
    for script in ["optuna_quality.py", "quality_report.py"] {
        run(Command::new(&python)
            .current_dir(root)
            .arg(root.join("bench/tuning").join(script))
            .arg(&out))?;
    }
    Ok(())
}

/// The speed comparison, side by side, from both tools' JSON reports.
fn print_speed_table(out: &Path, version: &str) -> Result<()> {
    let aiopt = medians(&out.join("aiopt.json"))?;
    let optuna = medians(&out.join("optuna.json"))?;
    println!("\nsuggest(1), median ms (SYNTHETIC history, 6-knob mixed space; optuna {version})");
    println!(
        "{:>14} {:>24} {:>16} {:>24}",
        "history size", "aiopt TPE (sandbox) ms", "Optuna TPE ms", "speedup (Optuna/aiopt)"
    );
    for (trials, ours) in &aiopt {
        let Some((_, theirs)) = optuna.iter().find(|(n, _)| n == trials) else {
            bail!("optuna.json has no result for {trials} trials");
        };
        println!(
            "{trials:>14} {ours:>24.3} {theirs:>16.3} {:>23.1}x",
            theirs / ours
        );
    }
    Ok(())
}

/// `(trials, median_ms)` of every object in the `results` array of a bench
/// JSON file (ours, so a key scan instead of a JSON dependency for xtask).
fn medians(path: &Path) -> Result<Vec<(u64, f64)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let results = text
        .split_once("\"results\"")
        .with_context(|| format!("no results in {}", path.display()))?
        .1;
    let number = |object: &str, key: &str| -> Option<f64> {
        let rest = object
            .split_once(&format!("\"{key}\""))?
            .1
            .trim_start()
            .strip_prefix(':')?;
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c) || c.is_whitespace()))
            .unwrap_or(rest.len());
        rest[..end].trim().parse().ok()
    };
    let rows: Vec<(u64, f64)> = results
        .split('{')
        .skip(1)
        .filter_map(|object| Some((number(object, "trials")? as u64, number(object, "median_ms")?)))
        .collect();
    if rows.is_empty() {
        bail!("no (trials, median_ms) rows in {}", path.display());
    }
    Ok(rows)
}

/// Seconds per fuzz target for `cargo xtask fuzz` without an argument.
const FUZZ_SECONDS: u64 = 60;
/// Seconds per fuzz target at the end of `cargo xtask test`: a smoke run
/// (the seeds and a first round of mutations), so a target that no longer
/// builds or crashes on its seeds fails the tests.
const FUZZ_SECONDS_IN_TEST: u64 = 15;
/// The targets in fuzz/fuzz_targets/, in the order they run.
const FUZZ_TARGETS: [&str; 3] = ["profile_toml", "data_tables", "api_bodies"];
const EXAMPLES: [&str; 4] = [
    "code-review",
    "doc-generator",
    "multimodal-search",
    "semantic-search",
];

/// Runs every fuzz target for `seconds` each; a crash fails the task and
/// leaves its input in `target/fuzz/artifacts/TARGET/`.
///
/// The targets are a member of the workspace, built in its release profile
/// and target dir with `RUSTC_WORKSPACE_WRAPPER` pointing at this xtask
/// (see [`rustc_for_fuzzing`]): only the workspace's own crates (the host
/// and the targets) get libFuzzer's coverage instrumentation, so every
/// dependency, wasmtime included, is the one the release build already
/// compiled (cargo-fuzz instruments everything, which rebuilt all of them:
/// 8 of CI's 20 minutes). No sanitizer: the code under test is safe Rust
/// (TOML, CSV, JSON and HTTP parsing), whose failures are panics, hangs and
/// runaway memory, which libFuzzer catches without one. The host's rlib is
/// rebuilt instrumented here and plainly by the next ordinary build.
fn fuzz(root: &Path, seconds: u64) -> Result<()> {
    let out = root.join("target/fuzz");
    let seeds = out.join("seeds");
    write_seeds(root, &seeds)?;
    let scratch = out.join("scratch");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch)?;
    let started = Instant::now();
    let xtask = std::env::current_exe().context("cannot find the xtask binary")?;
    run(cargo(root)
        .args(["build", "--release", "-p", "aiopt-fuzz", "--bins"])
        .env("RUSTC_WORKSPACE_WRAPPER", &xtask)
        .env(FUZZ_WRAPPER_ENV, "1"))?;
    eprintln!(
        "xtask fuzz: targets built in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let binaries = root.join("target/release");
    for target in FUZZ_TARGETS {
        let corpus = out.join("corpus").join(target);
        let artifacts = out.join("artifacts").join(target);
        std::fs::create_dir_all(&corpus)?;
        std::fs::create_dir_all(&artifacts)?;
        let binary = binaries.join(target);
        run(Command::new(&binary)
            .current_dir(root)
            .arg(&corpus)
            .arg(seeds.join(target))
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            // One input may take a while (a strategy call under
            // instrumentation) but never a minute.
            .arg("-timeout=60")
            .arg("-max_len=16384")
            .arg("-print_final_stats=1")
            .env("AIOPT_FUZZ_SCRATCH", &scratch))
        .with_context(|| {
            format!(
                "fuzz target {target} failed: its input is in {}; reproduce with `{} FILE`",
                artifacts.display(),
                binary.display()
            )
        })?;
    }
    Ok(())
}

/// Set (to anything) when cargo runs this xtask as the workspace's rustc
/// wrapper for the fuzz build.
const FUZZ_WRAPPER_ENV: &str = "AIOPT_XTASK_FUZZ_RUSTC";

/// The flags cargo-fuzz gives rustc for libFuzzer without a sanitizer
/// (coverage counters, comparison tracing, `cfg(fuzzing)`), plus debug
/// assertions and overflow checks, which turn silent bugs into findings.
const FUZZ_RUSTC_FLAGS: &[&str] = &[
    "-Cpasses=sancov-module",
    "-Cllvm-args=-sanitizer-coverage-level=4",
    "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
    "-Cllvm-args=-sanitizer-coverage-pc-table",
    "-Cllvm-args=-sanitizer-coverage-trace-compares",
    "--cfg",
    "fuzzing",
    "-Cdebug-assertions",
    "-Coverflow-checks",
];

/// As `RUSTC_WORKSPACE_WRAPPER`: runs `rustc ARGS...` (cargo passes the
/// compiler first) with [`FUZZ_RUSTC_FLAGS`] added to the crates' own
/// compilations (not to build scripts or cargo's `-vV` probes), and exits
/// as it did.
fn rustc_for_fuzzing(mut args: impl Iterator<Item = std::ffi::OsString>) -> Result<()> {
    let rustc = args.next().context("cargo passes the compiler to its wrapper")?;
    let args: Vec<std::ffi::OsString> = args.collect();
    let mut cmd = Command::new(rustc);
    cmd.args(&args);
    // Only crates that end up in the fuzz binaries: not build scripts,
    // which run on their own without libFuzzer's runtime.
    let crate_name = args
        .iter()
        .position(|a| a == "--crate-name")
        .and_then(|i| args.get(i + 1));
    if crate_name.is_some_and(|name| name != "build_script_build") {
        cmd.args(FUZZ_RUSTC_FLAGS);
    }
    let status = cmd.status().context("cannot run rustc")?;
    std::process::exit(status.code().unwrap_or(1));
}

/// Seed inputs made from the bundled examples, so each target starts from
/// inputs that parse (each target's first byte picks what the rest is).
fn write_seeds(root: &Path, seeds: &Path) -> Result<()> {
    let _ = std::fs::remove_dir_all(seeds);
    let examples = root.join("examples");
    let read = |example: &str, file: &str| std::fs::read_to_string(examples.join(example).join(file)).ok();
    let mut inputs: Vec<(&str, String, Vec<u8>)> = Vec::new();
    let mut seed = |target: &'static str, name: String, selector: u8, body: &[u8]| {
        let mut bytes = vec![selector];
        bytes.extend_from_slice(body);
        inputs.push((target, name, bytes));
    };
    for (i, example) in EXAMPLES.iter().enumerate() {
        let i = i as u8;
        let profile =
            read(example, "profile.toml").with_context(|| format!("examples/{example}/profile.toml"))?;
        seed("profile_toml", format!("{example}.toml"), i, profile.as_bytes());
        for (kind, file) in [(0u8, "observations.csv"), (1, "requests.csv")] {
            let Some(text) = read(example, file) else { continue };
            let rows = head_lines(&text, 40);
            seed(
                "data_tables",
                format!("{example}-{file}"),
                i | kind << 2,
                rows.as_bytes(),
            );
            let jsonl = csv_to_json_lines(&rows);
            // Bit 3: JSON Lines; bit 4: as an upload.
            for (way, suffix) in [(0u8, ""), (16, "-upload")] {
                seed(
                    "data_tables",
                    format!("{example}-{file}{suffix}"),
                    i | kind << 2 | way,
                    rows.as_bytes(),
                );
                seed(
                    "data_tables",
                    format!("{example}-{file}{suffix}.jsonl"),
                    i | kind << 2 | 8 | way,
                    jsonl.as_bytes(),
                );
            }
        }
    }
    // The API: (route index as in fuzz_targets/api_bodies.rs, body).
    let search = read("semantic-search", "profile.toml").context("examples/semantic-search")?;
    let observations = head_lines(
        &read("semantic-search", "observations.csv").unwrap_or_default(),
        20,
    );
    let upload = format!(
        r#"{{"toml": {}, "files": {{"observations.csv": {}}}}}"#,
        json_string(&search),
        json_string(&observations)
    );
    let bodies: &[(u8, &str)] = &[
        (0, &upload),
        (1, &search),
        (2, r#"{"model": "semantic-search", "type": "performance"}"#),
        (2, r#"{"model": "code-review", "type": "cost", "seed": 3}"#),
        (3, r#"{"config": {"m": 24, "ef_search": 80}}"#),
        (3, r#"{"proposal": "1.1"}"#),
        (
            4,
            r#"{"model": "semantic-search", "strategy": "random", "name": "t", "seed": 1}"#,
        ),
        (5, r#"{"count": 2, "stale_after_s": 0}"#),
        (
            6,
            r#"{"trial": 0, "metrics": {"recall_at_10": 0.99, "latency_p95_ms": 0.2}}"#,
        ),
        (6, r#"{"trial": 1, "failed": "out of memory"}"#),
        (6, r#"{"trial": 2, "pruned": true}"#),
        (7, r#"{"strategy": "cost", "seed": 1}"#),
        (8, "{}"),
        (9, r#"{"seed": 2}"#),
        (10, r#"{"strategy": "random"}"#),
    ];
    for (n, (route, body)) in bodies.iter().enumerate() {
        seed("api_bodies", format!("route{route}-{n}"), *route, body.as_bytes());
    }
    for (target, name, bytes) in inputs {
        let dir = seeds.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

/// The first `n` lines of `text`, each ending in a newline.
fn head_lines(text: &str, n: usize) -> String {
    text.lines().take(n).map(|l| format!("{l}\n")).collect()
}

/// Simple CSV (no quoted cells) as JSON Lines under its header; numbers
/// stay numbers. Rows with quotes are left out: seeds need not be complete.
fn csv_to_json_lines(csv: &str) -> String {
    let mut lines = csv.lines();
    let Some(header) = lines.next() else {
        return String::new();
    };
    let names: Vec<&str> = header.split(',').collect();
    let mut out = String::new();
    for line in lines.filter(|l| !l.contains('"')) {
        let cells: Vec<String> = names
            .iter()
            .zip(line.split(','))
            .map(|(name, cell)| {
                let value = if cell.parse::<f64>().is_ok() {
                    cell.to_string()
                } else {
                    json_string(cell)
                };
                format!("{}: {value}", json_string(name))
            })
            .collect();
        out.push_str(&format!("{{{}}}\n", cells.join(", ")));
    }
    out
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
