//! Runtime benchmarks (`cargo xtask bench`): what a plugin call costs.
//!
//! Measures: cold compile; load from the disk cache; fresh store, instantiate
//! and a trivial call; `random.suggest` through the sandbox with 10, 100 and
//! 1,000 trials of history; and the same `random` code called natively, as a
//! ratio. The trial history is synthetic (generated below, labelled as
//! such): it exercises sizes, not optimization quality.
//!
//! A plain harness (median of many runs after warm-up) instead of criterion:
//! one less heavy dependency in CI's build, and the numbers needed here are
//! medians of operations from microseconds to a tenth of a second.

use std::path::Path;
use std::time::{Duration, Instant};

use aiopt::profile::{Direction, Domain, Profile, Value};
use aiopt::runtime::{Limits, Runtime};

mod common;

use common::synthetic_profile;

fn main() {
    let wasm_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/wasm32-wasip2/plugin/aiopt_random.wasm");
    let bytes = std::fs::read(&wasm_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run `cargo xtask bench`, which builds the plugins first",
            wasm_path.display()
        )
    });
    println!(
        "aiopt runtime benchmarks ({} KiB component)\n",
        bytes.len() / 1024
    );
    println!("{:<52} {:>12} {:>12} {:>12}", "operation", "median", "p10", "p90");

    let cold = Runtime::new(None).expect("runtime");
    println!(
        "instance allocator: {}\n",
        if cold.uses_pooling() {
            "pooling"
        } else {
            "on-demand (pooling refused by the OS)"
        }
    );
    measure("cold compile + link + info (no cache)", 10, || {
        cold.load_bytes(&bytes, &wasm_path).expect("load");
    });

    let cache = tempfile::tempdir().expect("temp dir");
    Runtime::new(Some(cache.path().to_path_buf()))
        .and_then(|rt| rt.load_bytes(&bytes, &wasm_path))
        .expect("fill the cache");
    let warm = Runtime::new(Some(cache.path().to_path_buf())).expect("runtime");
    measure("load from disk cache + link + info", 50, || {
        let plugin = warm.load_bytes(&bytes, &wasm_path).expect("load");
        assert_eq!(plugin.load_source, aiopt::runtime::LoadSource::Cache);
    });

    let plugin = warm.load_bytes(&bytes, &wasm_path).expect("load");
    let limits = Limits::default();
    measure("fresh store + instantiate + info() call", 2000, || {
        warm.info(&plugin, &limits).expect("info");
    });

    let mut ratios = Vec::new();
    for trials in [10usize, 100, 1000] {
        let host_profile = synthetic_profile(trials);
        let guest_profile = to_sdk(&host_profile);
        let iterations = if trials == 1000 { 300 } else { 1000 };
        let wasm = measure(
            &format!("random.suggest(1), {trials} trials, WASM"),
            iterations,
            || {
                warm.suggest(&plugin, &host_profile, 1, 42, &limits)
                    .expect("suggest");
            },
        );
        let native = measure(
            &format!("random.suggest(1), {trials} trials, native"),
            iterations,
            || {
                aiopt_random::suggest(&guest_profile, 1, 42).expect("suggest");
            },
        );
        measure(
            &format!("  transfer only: suggest(0), {trials} trials, WASM"),
            iterations,
            || {
                warm.suggest(&plugin, &host_profile, 0, 42, &limits)
                    .expect("suggest");
            },
        );
        let fuel = warm
            .suggest(&plugin, &host_profile, 1, 42, &limits)
            .expect("suggest")
            .usage
            .fuel;
        ratios.push((trials, wasm.as_secs_f64() / native.as_secs_f64(), fuel));
    }
    let tpe_bytes =
        std::fs::read(wasm_path.with_file_name("aiopt_tpe.wasm")).expect("aiopt_tpe.wasm is built");
    let tpe = warm
        .load_bytes(&tpe_bytes, Path::new("aiopt_tpe.wasm"))
        .expect("load tpe");
    for trials in [100usize, 1000] {
        let host_profile = synthetic_profile(trials);
        let guest_profile = to_sdk(&host_profile);
        let iterations = if trials == 1000 { 30 } else { 200 };
        let wasm = measure(
            &format!("tpe.suggest(1), {trials} trials, WASM"),
            iterations,
            || {
                warm.suggest(&tpe, &host_profile, 1, 42, &limits)
                    .expect("suggest");
            },
        );
        let native = measure(
            &format!("tpe.suggest(1), {trials} trials, native"),
            iterations,
            || {
                aiopt_tpe::suggest(&guest_profile, 1, 42).expect("suggest");
            },
        );
        println!(
            "  tpe WASM / native at {trials} trials: {:.2}x",
            wasm.as_secs_f64() / native.as_secs_f64()
        );
    }
    println!();
    for (trials, ratio, fuel) in ratios {
        println!("WASM / native at {trials:>4} trials: {ratio:>5.2}x   (fuel per call: {fuel})");
    }
}

/// Runs `f` after warm-up and prints the median, p10 and p90.
fn measure(name: &str, iterations: usize, mut f: impl FnMut()) -> Duration {
    for _ in 0..iterations.div_ceil(10) {
        f();
    }
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "{name:<52} {:>12} {:>12} {:>12}",
        show(at(0.5)),
        show(at(0.1)),
        show(at(0.9))
    );
    at(0.5)
}

fn show(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us >= 1000.0 {
        format!("{:.2} ms", us / 1000.0)
    } else {
        format!("{us:.1} µs")
    }
}

/// The same profile as the SDK's (guest) types, for the native call, with
/// the flat history the contract sends.
fn to_sdk(p: &Profile) -> aiopt_sdk::Profile {
    use aiopt_sdk as sdk;
    let value = |v: &Value| match v {
        Value::Real(x) => sdk::Value::Real(*x),
        Value::Integer(i) => sdk::Value::Integer(*i),
        Value::Choice(s) => sdk::Value::Choice(s.clone()),
        Value::Flag(b) => sdk::Value::Flag(*b),
    };
    let metrics: Vec<String> = vec!["accuracy".into(), "latency_p95_ms".into()];
    sdk::Profile {
        name: p.name.clone(),
        model_kind: p.kind.clone(),
        space: p
            .space
            .iter()
            .map(|param| sdk::Param {
                name: param.name.clone(),
                domain: match &param.domain {
                    Domain::Real { low, high, log, step } => sdk::Domain::Real(sdk::RealRange {
                        low: *low,
                        high: *high,
                        log: *log,
                        step: *step,
                    }),
                    Domain::Integer { low, high, log, step } => sdk::Domain::Integer(sdk::IntRange {
                        low: *low,
                        high: *high,
                        log: *log,
                        step: *step,
                    }),
                    Domain::Choice { values } => sdk::Domain::Choice(values.clone()),
                    Domain::Flag => sdk::Domain::Flag,
                },
            })
            .collect(),
        baseline: p
            .baseline
            .iter()
            .map(|(name, v)| sdk::Assignment {
                name: name.clone(),
                value: value(v),
            })
            .collect(),
        objectives: p
            .objectives
            .iter()
            .map(|o| sdk::Objective {
                metric: o.metric.clone(),
                direction: match o.direction {
                    Direction::Minimize => sdk::Direction::Minimize,
                    Direction::Maximize => sdk::Direction::Maximize,
                },
            })
            .collect(),
        history: sdk::History {
            numbers: p.trials.iter().map(|t| t.number).collect(),
            states: p.trials.iter().map(|_| sdk::TrialState::Complete).collect(),
            values: p
                .trials
                .iter()
                .flat_map(|t| {
                    t.config
                        .iter()
                        .zip(&p.space)
                        .map(|((_, v), param)| encode(&param.domain, v))
                })
                .collect(),
            metrics: p
                .trials
                .iter()
                .flat_map(|t| {
                    metrics.iter().map(|m| {
                        t.metrics
                            .iter()
                            .find(|(n, _)| n == m)
                            .map_or(f64::NAN, |(_, v)| *v)
                    })
                })
                .collect(),
            metric_names: metrics,
        },
        ..sdk::Profile::default()
    }
}

/// The contract's number for a knob value (see the WIT `history` record).
fn encode(domain: &Domain, value: &Value) -> f64 {
    match (domain, value) {
        (Domain::Choice { values }, Value::Choice(label)) => {
            values.iter().position(|l| l == label).expect("label in domain") as f64
        }
        (_, Value::Real(x)) => *x,
        (_, Value::Integer(i)) => *i as f64,
        (_, Value::Flag(b)) => f64::from(u8::from(*b)),
        (_, Value::Choice(_)) => unreachable!("choice values only in choice domains"),
    }
}
