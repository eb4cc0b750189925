//! Deadlines hold whatever the guest does: waits through WASI (sleep, poll)
//! end at the call's deadline without blocking in real time, and a CPU loop
//! without fuel stops within 100 ms of its timeout.

use std::time::{Duration, Instant};

use aiopt::profile::{self, Profile};
use aiopt::runtime::{Limits, Plugin, RuntimeError};

use crate::util::{example_profile, fixture, runtime, Env};

/// How late past its timeout a call may end (the bound).
const SLACK: Duration = Duration::from_millis(100);

/// The example profile with the sleep fixture's `wait` option set.
fn profile_waiting(wait: &str) -> Profile {
    let mut profile = profile::load(&example_profile()).expect("example profile is valid");
    profile.options.retain(|(name, _)| name != "wait");
    profile
        .options
        .push(("wait".into(), profile::Value::Choice(wait.into())));
    profile
}

fn sleeper() -> Plugin {
    runtime()
        .load_file(&fixture("sleep"))
        .expect("the sleep fixture loads")
}

/// Waits that end past the deadline time out at once: the guest's clock is
/// virtual, so they cost no real time.
#[test]
fn waits_past_the_deadline_time_out_without_blocking() {
    let limits = Limits {
        timeout: Duration::from_secs(10),
        ..Limits::default()
    };
    for wait in ["sleep-30s", "sleep-forever", "poll-30s"] {
        let started = Instant::now();
        let failure = runtime()
            .recommend(&sleeper(), &profile_waiting(wait), 1, &limits)
            .expect_err("a wait past the deadline must fail");
        let took = started.elapsed();
        assert!(
            matches!(failure.error, RuntimeError::Timeout { limit_ms: 10_000 }),
            "{wait}: {:?}",
            failure.error
        );
        assert!(
            took < Duration::from_secs(2),
            "{wait}: a virtual wait blocked for {took:?}"
        );
    }
}

/// A wait within the deadline is over at once, and the guest sees the time
/// it waited for pass.
#[test]
fn a_short_wait_returns_at_once_and_time_passes() {
    let started = Instant::now();
    let called = runtime()
        .recommend(&sleeper(), &profile_waiting("nap-1s"), 1, &Limits::default())
        .expect("a 1 s nap fits a 10 s deadline");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let note = &called.value.notes[0];
    let elapsed: u128 = note
        .strip_prefix("elapsed-ns: ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected note {note}"));
    assert!(elapsed >= 1_000_000_000, "{note}");
    // Virtual time is part of the input: the same call gives the same note.
    let again = runtime()
        .recommend(&sleeper(), &profile_waiting("nap-1s"), 1, &Limits::default())
        .expect("again");
    assert_eq!(again.value.notes, called.value.notes);
}

/// Naps in a loop add up to the deadline, and a loop that waits forever
/// without fuel stops by its timeout.
#[test]
fn a_loop_of_naps_ends_at_the_deadline() {
    for fuel in [None, Some(Limits::default().fuel.unwrap_or(u64::MAX))] {
        let limits = Limits {
            fuel,
            timeout: Duration::from_millis(500),
            ..Limits::default()
        };
        let failure = runtime()
            .recommend(&sleeper(), &profile_waiting("nap-loop"), 1, &limits)
            .expect_err("an endless loop of naps must end");
        assert!(
            matches!(
                failure.error,
                RuntimeError::Timeout { .. } | RuntimeError::FuelExhausted { .. }
            ),
            "{:?}",
            failure.error
        );
        assert!(
            Duration::from_micros(failure.usage.wall_time_us) <= limits.timeout + SLACK,
            "{:?}",
            failure.usage
        );
    }
}

/// A CPU loop with unlimited fuel stops within 100 ms of its timeout, also
/// while another such loop keeps the other core busy (tick counting drifted
/// behind the real clock under load: 11–13.8 s against 10 s).
#[test]
fn a_loop_without_fuel_stops_within_its_deadline() {
    let spinner = runtime()
        .load_file(&fixture("loop"))
        .expect("the loop fixture loads");
    let limits = Limits {
        fuel: None,
        timeout: Duration::from_millis(1500),
        ..Limits::default()
    };
    let profile = profile::load(&example_profile()).expect("profile");
    let calls: Vec<_> = (0..2)
        .map(|_| {
            let (spinner, limits, profile) = (spinner.clone(), limits.clone(), profile.clone());
            std::thread::spawn(move || runtime().suggest(&spinner, &profile, 1, 0, &limits))
        })
        .collect();
    for call in calls {
        let failure = call
            .join()
            .expect("no panic")
            .expect_err("the loop never returns");
        assert!(
            matches!(failure.error, RuntimeError::Timeout { limit_ms: 1500 }),
            "{:?}",
            failure.error
        );
        let took = Duration::from_micros(failure.usage.wall_time_us);
        assert!(
            took >= limits.timeout && took <= limits.timeout + SLACK,
            "took {took:?} against {:?}",
            limits.timeout
        );
    }
}

/// From the real binary: `plugin run` on a plugin that sleeps forever ends
/// with the timeout's exit code at once, not after the sleep.
#[test]
fn plugin_run_of_a_sleeper_times_out_at_once() {
    let env = Env::new();
    let dir = env.dir.path().join("sleepy");
    std::fs::create_dir_all(&dir).expect("dir");
    let source = std::fs::read_to_string(example_profile()).expect("example");
    let example_dir = example_profile().parent().expect("dir").to_path_buf();
    for entry in std::fs::read_dir(&example_dir).expect("example dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "csv") {
            std::fs::copy(&path, dir.join(path.file_name().expect("name"))).expect("copy");
        }
    }
    let profile = dir.join("profile.toml");
    std::fs::write(&profile, with_option(&source, "wait = \"sleep-forever\"")).expect("write");
    let plugin = fixture("sleep").display().to_string();
    let profile = profile.display().to_string();
    let started = Instant::now();
    let run = env.aiopt(&[
        "plugin",
        "run",
        &plugin,
        "--profile",
        &profile,
        "--call",
        "recommend",
    ]);
    run.expect_code(11);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(run.stderr().contains("timed out"), "{}", run.stderr());
}

/// `source` with `option` in its `[options]` table (added when missing).
fn with_option(source: &str, option: &str) -> String {
    match source.find("[options]") {
        Some(at) => {
            let end = at + "[options]".len();
            format!("{}\n{option}{}", &source[..end], &source[end..])
        }
        None => format!("{source}\n[options]\n{option}\n"),
    }
}
