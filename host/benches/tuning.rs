//! Tuning benchmark, part one (`cargo xtask bench-tuning`): the time of one
//! `suggest(1)` of the `tpe` plugin through the sandbox, at 100 and 1,000
//! completed trials of history, on the 6-knob mixed space of `runtime.rs`.
//!
//! The history is SYNTHETIC (a fixed LCG, as in `runtime.rs`): it exercises
//! sizes, not optimization quality. Each history is exported to
//! `target/bench-tuning/history_{n}.json` (knob values and objective per
//! trial) so that `bench/tuning/optuna_speed.py` times Optuna's TPE on the
//! identical history; the medians go to `target/bench-tuning/aiopt.json`.

use std::path::Path;
use std::time::{Duration, Instant};

use aiopt::profile::{Direction, Domain, Profile, Value};
use aiopt::runtime::{Limits, Runtime};
use serde_json::{json, Map};

const SIZES: [usize; 2] = [100, 1000];
/// Stop measuring a size after this much time (the warm-up is extra).
const BUDGET: Duration = Duration::from_secs(10);

mod common;

use common::synthetic_profile;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ lives in the workspace");
    let wasm_path = root.join("target/wasm32-wasip2/plugin/aiopt_tpe.wasm");
    let bytes = std::fs::read(&wasm_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `cargo xtask bench-tuning`, which builds the plugins first",
            wasm_path.display()
        )
    });
    let out = root.join("target/bench-tuning");
    std::fs::create_dir_all(&out).expect("create target/bench-tuning");

    let runtime = Runtime::new(None).expect("runtime");
    let plugin = runtime.load_bytes(&bytes, &wasm_path).expect("load tpe");
    let limits = Limits::default();
    println!(
        "aiopt tuning benchmark: tpe.suggest(1) through the sandbox ({} KiB component, {} allocator)",
        bytes.len() / 1024,
        if runtime.uses_pooling() {
            "pooling"
        } else {
            "on-demand"
        }
    );
    println!("history is SYNTHETIC (fixed LCG); seed 42; median of repetitions after warm-up");

    let mut results = Vec::new();
    for trials in SIZES {
        let profile = synthetic_profile(trials);
        let history = out.join(format!("history_{trials}.json"));
        let text = serde_json::to_string_pretty(&export_history(&profile)).expect("history json");
        std::fs::write(&history, text).expect("write history");

        let max_iterations = if trials >= 1000 { 100 } else { 300 };
        let stats = measure(max_iterations, || {
            runtime
                .suggest(&plugin, &profile, 1, 42, &limits)
                .expect("suggest");
        });
        println!(
            "aiopt tpe (sandbox) {trials:>5} trials: median {:>9.3} ms  p10 {:>9.3} ms  p90 {:>9.3} ms  ({} runs)",
            stats.median_ms, stats.p10_ms, stats.p90_ms, stats.runs
        );
        results.push(json!({
            "trials": trials,
            "median_ms": stats.median_ms,
            "p10_ms": stats.p10_ms,
            "p90_ms": stats.p90_ms,
            "runs": stats.runs,
        }));
    }
    let report = json!({
        "tool": "aiopt",
        "aiopt_version": env!("CARGO_PKG_VERSION"),
        "plugin": "aiopt_tpe.wasm",
        "what": "Runtime::suggest(tpe, profile, 1, seed 42, Limits::default()): fresh store, instantiate, \
                 transfer of the history, sampling",
        "history": "SYNTHETIC",
        "results": results,
    });
    let path = out.join("aiopt.json");
    std::fs::write(&path, serde_json::to_string_pretty(&report).expect("json")).expect("write aiopt.json");
    println!("wrote {}", path.display());
}

struct Stats {
    median_ms: f64,
    p10_ms: f64,
    p90_ms: f64,
    runs: usize,
}

/// Runs `f` after warm-up, up to `max_iterations` times or [`BUDGET`].
fn measure(max_iterations: usize, mut f: impl FnMut()) -> Stats {
    for _ in 0..max_iterations.div_ceil(10).min(10) {
        f();
    }
    let started = Instant::now();
    let mut times = Vec::with_capacity(max_iterations);
    while times.len() < max_iterations && (times.len() < 10 || started.elapsed() < BUDGET) {
        let start = Instant::now();
        f();
        times.push(start.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    Stats {
        median_ms: at(0.5),
        p10_ms: at(0.1),
        p90_ms: at(0.9),
        runs: times.len(),
    }
}

/// The space, objective and trials as plain JSON for the Optuna side.
fn export_history(p: &Profile) -> serde_json::Value {
    let space: Vec<_> = p
        .space
        .iter()
        .map(|param| match &param.domain {
            Domain::Real { low, high, log, step } => json!({
                "name": param.name, "type": "real", "low": low, "high": high, "log": log, "step": step,
            }),
            Domain::Integer { low, high, log, step } => json!({
                "name": param.name, "type": "integer", "low": low, "high": high, "log": log, "step": step,
            }),
            Domain::Choice { values } => json!({ "name": param.name, "type": "choice", "values": values }),
            Domain::Flag => json!({ "name": param.name, "type": "flag" }),
        })
        .collect();
    let objective = &p.objectives[0];
    let trials: Vec<_> = p
        .trials
        .iter()
        .map(|t| {
            let params: Map<String, serde_json::Value> = t
                .config
                .iter()
                .map(|(name, v)| {
                    let v = match v {
                        Value::Real(x) => json!(x),
                        Value::Integer(i) => json!(i),
                        Value::Choice(s) => json!(s),
                        Value::Flag(b) => json!(b),
                    };
                    (name.clone(), v)
                })
                .collect();
            let value = t
                .metrics
                .iter()
                .find(|(m, _)| *m == objective.metric)
                .map(|(_, v)| *v)
                .expect("objective metric");
            json!({ "number": t.number, "params": params, "value": value })
        })
        .collect();
    json!({
        "synthetic": true,
        "note": "SYNTHETIC history from a fixed LCG (host/benches/tuning.rs); sizes, not quality",
        "objective": {
            "metric": objective.metric,
            "direction": match objective.direction {
                Direction::Minimize => "minimize",
                Direction::Maximize => "maximize",
            },
        },
        "space": space,
        "trials": trials,
    })
}
