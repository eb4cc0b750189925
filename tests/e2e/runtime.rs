//! The sandbox in-process: hostile plugins give typed errors, and the same
//! runtime keeps serving the `random` plugin after each of them.

use std::time::Duration;

use aiopt::profile::{self, Profile};
use aiopt::runtime::{CallFailure, Limits, LogSource, Plugin, RuntimeError};

use crate::util::{component, example_profile, fixture, runtime};

fn profile() -> Profile {
    profile::load(&example_profile()).expect("example profile is valid")
}

fn random() -> Plugin {
    runtime()
        .load_file(&component("aiopt_random"))
        .expect("random loads")
}

/// After any failure, the same process must still run a healthy plugin.
fn assert_random_still_works() {
    let called = runtime()
        .suggest(&random(), &profile(), 3, 7, &Limits::default())
        .expect("random suggest after a hostile call");
    assert_eq!(called.value.len(), 3);
}

fn fail_suggest(name: &str, limits: &Limits) -> CallFailure {
    let plugin = runtime().load_file(&fixture(name)).expect("fixture loads");
    let failure = runtime()
        .suggest(&plugin, &profile(), 2, 1, limits)
        .expect_err("hostile call must fail");
    assert_random_still_works();
    failure
}

#[test]
fn infinite_loop_exhausts_fuel() {
    let limits = Limits {
        fuel: Some(100_000_000),
        ..Limits::default()
    };
    let failure = fail_suggest("loop", &limits);
    match failure.error {
        RuntimeError::FuelExhausted { used, limit } => {
            assert_eq!(limit, 100_000_000);
            assert_eq!(used, limit);
        }
        other => panic!("expected FuelExhausted, got {other:?}"),
    }
    assert_eq!(failure.usage.fuel, 100_000_000);
}

#[test]
fn infinite_loop_without_fuel_times_out() {
    let limits = Limits {
        fuel: None,
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    let failure = fail_suggest("loop", &limits);
    assert!(
        matches!(failure.error, RuntimeError::Timeout { limit_ms: 300 }),
        "{:?}",
        failure.error
    );
    assert!(failure.usage.wall_time_us >= 300_000, "{:?}", failure.usage);
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    let limits = Limits {
        memory_bytes: 64 << 20,
        ..Limits::default()
    };
    let failure = fail_suggest("memory-bomb", &limits);
    match failure.error {
        RuntimeError::MemoryLimit {
            limit_bytes,
            requested_bytes,
        } => {
            assert_eq!(limit_bytes, 64 << 20);
            assert!(requested_bytes.is_some_and(|r| r > 64 << 20));
        }
        other => panic!("expected MemoryLimit, got {other:?}"),
    }
    assert!(failure.usage.peak_memory_bytes <= 64 << 20);
    assert!(failure.usage.peak_memory_bytes > 32 << 20, "{:?}", failure.usage);
}

#[test]
fn a_limit_below_the_initial_memory_fails_at_instantiation() {
    let limits = Limits {
        memory_bytes: 1 << 20,
        ..Limits::default()
    };
    let failure = runtime()
        .suggest(&random(), &profile(), 1, 0, &limits)
        .expect_err("1 MiB is below what the plugin starts with");
    assert!(
        matches!(failure.error, RuntimeError::MemoryLimit { limit_bytes, .. } if limit_bytes == 1 << 20),
        "{:?}",
        failure.error
    );
    assert_random_still_works();
}

#[test]
fn unbounded_recursion_is_a_named_stack_overflow() {
    let failure = fail_suggest("recursion", &Limits::default());
    match failure.error {
        RuntimeError::Trap { message, .. } => assert!(message.contains("stack overflow"), "{message}"),
        other => panic!("expected Trap, got {other:?}"),
    }
}

#[test]
fn panic_message_is_visible_in_the_trap() {
    let failure = fail_suggest("panic", &Limits::default());
    match &failure.error {
        RuntimeError::Trap {
            message, log_tail, ..
        } => {
            assert!(
                message.contains("fixture panic: the strategy gave up on purpose"),
                "{message}"
            );
            assert!(log_tail.contains("panicked at"), "{log_tail}");
        }
        other => panic!("expected Trap, got {other:?}"),
    }
    let shown = failure.error.to_string();
    assert!(
        shown.contains("fixture panic: the strategy gave up on purpose"),
        "{shown}"
    );
    assert!(failure.logs.iter().any(|l| l.source == LogSource::Stderr));
}

#[test]
fn fifty_megabytes_of_output_is_invalid() {
    let failure = fail_suggest("big-output", &Limits::default());
    match failure.error {
        RuntimeError::InvalidOutput { why } => assert!(why.contains("over the 16.0 MiB limit"), "{why}"),
        other => panic!("expected InvalidOutput, got {other:?}"),
    }
    let plugin = runtime().load_file(&fixture("big-output")).unwrap();
    let failure = runtime()
        .recommend(&plugin, &profile(), 1, &Limits::default())
        .expect_err("50 MB rationale");
    assert!(
        matches!(failure.error, RuntimeError::InvalidOutput { .. }),
        "{:?}",
        failure.error
    );
    assert_random_still_works();
}

#[test]
fn log_flood_is_truncated_and_the_call_succeeds() {
    let plugin = runtime().load_file(&fixture("log-flood")).unwrap();
    let limits = Limits::default();
    let called = runtime()
        .suggest(&plugin, &profile(), 2, 3, &limits)
        .expect("a log flood is not an error");
    assert_eq!(called.value.len(), 2);
    let plugin_lines = called
        .logs
        .iter()
        .filter(|l| l.source == LogSource::Plugin)
        .count();
    assert!(plugin_lines <= limits.log_lines, "{plugin_lines}");
    let last = called.logs.last().expect("a truncation note");
    assert_eq!(last.source, LogSource::Host);
    assert!(last.message.starts_with("log truncated:"), "{}", last.message);
    assert_random_still_works();
}

#[test]
fn other_contract_versions_are_refused_naming_both() {
    let error = runtime()
        .load_file(&fixture("version-9"))
        .expect_err("9.0.0 is incompatible");
    match &error {
        RuntimeError::Incompatible { found, supported } => {
            assert_eq!(found, "aiopt:strategy@9.0.0");
            assert!(supported.contains("0.1"), "{supported}");
        }
        other => panic!("expected Incompatible, got {other:?}"),
    }
    assert!(error.to_string().contains("aiopt:strategy@9.0.0"));
    assert_random_still_works();
}

#[test]
fn junk_and_core_modules_are_not_components() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&junk, bytes).unwrap();
    let core = dir.path().join("core.wasm");
    std::fs::write(&core, b"\0asm\x01\0\0\0").unwrap();
    for (path, why) in [(&junk, "not WebAssembly"), (&core, "core WebAssembly module")] {
        match runtime().load_file(path) {
            Err(RuntimeError::NotAComponent { path: p, why: w }) => {
                assert_eq!(&p, path);
                assert!(w.contains(why), "{w}");
            }
            other => panic!("expected NotAComponent, got {other:?}"),
        }
        assert_random_still_works();
    }
}

#[test]
fn sandbox_gives_no_files_env_or_real_clock() {
    let plugin = runtime().load_file(&fixture("sneaky")).unwrap();
    let report = |seed| {
        runtime()
            .recommend(&plugin, &profile(), seed, &Limits::default())
            .expect("sneaky recommend")
            .value
            .notes
    };
    let notes = report(5);
    let note = |key: &str| {
        notes
            .iter()
            .find_map(|n| n.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("no `{key}` note in {notes:?}"))
            .to_string()
    };
    assert!(note("fs-read").starts_with("Err"), "{notes:?}");
    assert!(note("fs-list").contains("Err"), "{notes:?}");
    assert_eq!(note("env-count"), "0");
    assert_eq!(note("env-home"), "None");
    assert_eq!(note("args-count"), "0");
    // The wall clock is frozen inside 2020, derived from the seed.
    let wall: u128 = note("wall-clock-ns").parse().unwrap();
    let year_2020 = 1_577_836_800u128 * 1_000_000_000..1_609_459_200u128 * 1_000_000_000;
    assert!(year_2020.contains(&wall), "{wall}");
    // Same seed, same view of the world; another seed, another random stream.
    assert_eq!(report(5), notes);
    let other = report(6);
    assert_ne!(
        other.iter().find(|n| n.starts_with("random: ")),
        notes.iter().find(|n| n.starts_with("random: "))
    );
}

#[test]
fn eight_threads_calling_at_once_get_correct_results() {
    let plugin = random();
    let profile = profile();
    let expected: Vec<_> = (0..8u64)
        .map(|seed| {
            runtime()
                .suggest(&plugin, &profile, 4, seed, &Limits::default())
                .unwrap()
                .value
        })
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8u64)
            .map(|seed| {
                let (plugin, profile) = (&plugin, &profile);
                scope.spawn(move || {
                    (0..10)
                        .map(|_| {
                            runtime()
                                .suggest(plugin, profile, 4, seed, &Limits::default())
                                .unwrap()
                                .value
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for (seed, handle) in handles.into_iter().enumerate() {
            for result in handle.join().expect("thread") {
                assert_eq!(result, expected[seed], "seed {seed}");
            }
        }
    });
}

#[test]
fn every_result_reports_usage() {
    let called = runtime()
        .recommend(&random(), &profile(), 0, &Limits::default())
        .expect("random recommend");
    assert!(called.usage.fuel > 0);
    assert!(called.usage.peak_memory_bytes > 0);
    assert!(called.usage.wall_time_us > 0);
    assert!(!called.value.proposals.is_empty());
}
