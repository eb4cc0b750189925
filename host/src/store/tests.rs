//! The store against real SQLite files in a temporary folder.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

use super::*;
use crate::profile::{RequestRecord, Value};

const SOURCE: &str = r#"
name = "chat"
kind = "chatbot"

[[space]]
name = "temperature"
type = "real"
low = 0.0
high = 2.0

[[space]]
name = "max_tokens"
type = "integer"
low = 16
high = 4096

[[space]]
name = "model"
type = "choice"
values = ["small", "large"]

[baseline]
temperature = 0.7
max_tokens = 512
model = "large"

[[objectives]]
metric = "latency_ms"
direction = "minimize"

[[observations]]
temperature = 0.2
max_tokens = 256
model = "small"
latency_ms = 120.5
"#;

/// A parsed profile named `name`, with a small request log (one missing
/// custom metric, so NaN) that must survive storage exactly.
fn profile(name: &str) -> Profile {
    let mut p = crate::profile::parse(Path::new("t.toml"), SOURCE).expect("test profile parses");
    p.name = name.to_string();
    p.requests = RequestLog {
        served_by: vec!["large".into()],
        categories: vec!["chat".into()],
        records: vec![
            RequestRecord {
                served_by: 0,
                prompt: Some(42),
                category: Some(0),
                latency_ms: Some(99.5),
                ..Default::default()
            },
            RequestRecord::default(),
        ],
        extra_metrics: vec!["judge".into()],
        extra: vec![0.75, f64::NAN],
    };
    p
}

fn temp() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/folder/aiopt.db");
    (dir, path)
}

fn config(temperature: f64, model: &str) -> Config {
    vec![
        ("temperature".into(), Value::Real(temperature)),
        ("max_tokens".into(), Value::Integer(512)),
        ("model".into(), Value::Choice(model.into())),
    ]
}

const REPORT: &str = r#"{"proposals":[{"title":"a"},{"title":"b"}],"notes":[]}"#;

#[test]
fn opening_an_empty_file_creates_folders_and_migrates_to_the_current_version() {
    let (_dir, path) = temp();
    let store = Store::open(&path).unwrap();
    assert!(path.exists());
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION as usize, schema::MIGRATIONS.len());
    let mode: String = store
        .conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = store
        .conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1);
    let tables: Vec<String> = store
        .conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        tables,
        [
            "benchmark_runs",
            "config_versions",
            "plugins",
            "profile_requests",
            "profiles",
            "reports",
            "studies",
            "study_trials"
        ]
    );
}

#[test]
fn every_earlier_version_migrates_to_the_current_one() {
    for start in 0..SCHEMA_VERSION {
        let (_dir, path) = temp();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let conn = Connection::open(&path).unwrap();
        for sql in &schema::MIGRATIONS[..start as usize] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", start).unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            SCHEMA_VERSION,
            "from version {start}"
        );
        let sane: String = store
            .conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sane, "ok");
    }
}

#[test]
fn reopening_keeps_the_data_and_takes_no_write_lock() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    store.import_profile(&profile("chat"), "h1", "chat.toml").unwrap();
    drop(store);

    // Another process is writing: opening an up-to-date file must not wait.
    let other = Connection::open(&path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let store = Store::open_with_busy_timeout(&path, Duration::from_millis(50)).unwrap();
    other.execute_batch("ROLLBACK").unwrap();

    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.profiles().unwrap().len(), 1);
}

#[test]
fn a_database_from_a_newer_aiopt_is_refused_naming_both_versions() {
    let (_dir, path) = temp();
    drop(Store::open(&path).unwrap());
    let newer = SCHEMA_VERSION + 1;
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();

    let err = Store::open(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::TooNew { found, supported, .. } if found == newer && supported == SCHEMA_VERSION),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&format!("schema version {newer}")), "{message}");
    assert!(message.contains(&format!("up to {SCHEMA_VERSION}")), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert_eq!(err.kind(), "database-too-new");
    // Refusing wrote nothing.
    let version: u32 = Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, newer);
}

#[test]
fn a_file_that_is_not_a_database_is_reported_as_such() {
    let (_dir, path) = temp();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        &path,
        b"this is a text file, not SQLite, and long enough to have a header",
    )
    .unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn profiles_dedupe_by_hash_and_a_changed_profile_becomes_a_new_version() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let original = profile("chat");

    let first = store.import_profile(&original, "h1", "a/chat.toml").unwrap();
    assert!(first.created);
    assert_eq!(first.summary.version, 1);
    assert_eq!(
        (
            first.summary.knobs,
            first.summary.observations,
            first.summary.requests
        ),
        (3, 1, 2)
    );
    assert!(
        first.summary.imported_at.ends_with('Z'),
        "{}",
        first.summary.imported_at
    );

    let again = store.import_profile(&original, "h1", "b/chat.toml").unwrap();
    assert!(!again.created);
    assert_eq!(again.summary, first.summary);

    let mut changed = original.clone();
    changed.baseline[0].1 = Value::Real(0.3);
    let second = store.import_profile(&changed, "h2", "a/chat.toml").unwrap();
    assert!(second.created);
    assert_eq!(second.summary.version, 2);
    store
        .import_profile(&profile("search"), "h3", "search.toml")
        .unwrap();

    // Latest wins; history is kept.
    let latest = store.profile("chat").unwrap();
    assert_eq!(latest.summary, second.summary);
    assert_eq!(latest.profile.baseline[0].1, Value::Real(0.3));
    let old = store.profile_by_id(first.summary.id).unwrap();
    assert_eq!(old.profile.baseline, original.baseline);
    let history = store.profile_history("chat").unwrap();
    assert_eq!(history.iter().map(|s| s.version).collect::<Vec<_>>(), [1, 2]);
    let names: Vec<_> = store
        .profiles()
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.version))
        .collect();
    assert_eq!(names, [("chat".to_string(), 2), ("search".to_string(), 1)]);

    // Going back to the first content makes it the latest again.
    let back = store.import_profile(&original, "h1", "a/chat.toml").unwrap();
    assert!(back.created);
    assert_eq!(back.summary.version, 3);
}

#[test]
fn a_stored_profile_reads_back_whole_including_nan_in_its_request_log() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let original = profile("chat");
    store.import_profile(&original, "h1", "chat.toml").unwrap();
    let back = store.profile("chat").unwrap().profile;

    let bits = |p: &Profile| p.requests.extra.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back), bits(&original));
    assert!(back.requests.extra[1].is_nan());
    // Apart from NaN != NaN, equal.
    let clear = |mut p: Profile| {
        p.requests.extra.clear();
        p
    };
    assert_eq!(clear(back), clear(original));
}

#[test]
fn a_profile_with_a_number_json_cannot_hold_is_refused() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let mut p = profile("chat");
    p.trials[0].metrics[0].1 = f64::INFINITY;
    let err = store.import_profile(&p, "h1", "chat.toml").unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("latency_ms"), "{err}");
    assert!(store.profiles().unwrap().is_empty());
}

#[test]
fn an_unknown_model_is_not_found_with_the_known_names() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let err = store.profile("chat").unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { known, .. } if known.is_empty()),
        "{err:?}"
    );

    store.import_profile(&profile("search"), "h1", "s.toml").unwrap();
    store.import_profile(&profile("chat"), "h2", "c.toml").unwrap();
    store.import_profile(&profile("chat"), "h3", "c.toml").unwrap();
    for err in [
        store.profile("caht").unwrap_err(),
        store.current_config("caht").unwrap_err(),
        store.config_history("caht").unwrap_err(),
        store
            .set_config("caht", &config(0.1, "small"), Change::Set, "ann")
            .unwrap_err(),
    ] {
        match &err {
            StoreError::NotFound { what, name, known } => {
                assert_eq!((*what, name.as_str()), ("profile", "caht"));
                assert_eq!(known, &["chat", "search"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "no profile `caht` in the database (known: chat, search)"
        );
    }
    assert!(matches!(
        store.profile_by_id(99),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(store.report(99), Err(StoreError::NotFound { .. })));
}

#[test]
fn configuration_history_round_trips_with_baseline_set_apply_and_reset() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let imported = store
        .import_profile(&profile("chat"), "h1", "chat.toml")
        .unwrap()
        .summary;
    let baseline = profile("chat").baseline;

    // Nothing stored yet: the baseline is version 0, and nothing is written.
    let current = store.current_config("chat").unwrap();
    assert_eq!(
        (
            current.version,
            &current.config,
            current.change,
            current.profile_id
        ),
        (0, &baseline, Change::Baseline, imported.id)
    );
    assert_eq!(current.at, imported.imported_at);
    assert_eq!(
        store.config_history("chat").unwrap(),
        std::slice::from_ref(&current)
    );

    let set = store
        .set_config("chat", &config(0.25, "small"), Change::Set, "ann")
        .unwrap();
    assert_eq!(
        (set.version, set.change, set.actor.as_str()),
        (1, Change::Set, "ann")
    );

    let report = store.save_report("chat", "recommend", "random", REPORT).unwrap();
    let apply = Change::Apply {
        report_id: report,
        proposal: 1,
    };
    let applied = store
        .set_config("chat", &config(1.5, "large"), apply, "bob")
        .unwrap();
    assert_eq!(applied.version, 2);
    let reset = store.set_config("chat", &baseline, Change::Reset, "ann").unwrap();
    assert_eq!(reset.version, 3);

    // A reopened store reads back exactly what was written.
    drop(store);
    let store = Store::open(&path).unwrap();
    let history = store.config_history("chat").unwrap();
    assert_eq!(history, [current, set, applied, reset.clone()]);
    assert_eq!(store.current_config("chat").unwrap(), reset);
    assert!(history.windows(2).all(|w| w[0].at <= w[1].at));
}

#[test]
fn bad_configuration_changes_are_refused_and_write_nothing() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    store.import_profile(&profile("chat"), "h1", "chat.toml").unwrap();
    store
        .import_profile(&profile("search"), "h2", "search.toml")
        .unwrap();
    let other = store
        .save_report("search", "recommend", "random", REPORT)
        .unwrap();
    let ours = store.save_report("chat", "recommend", "random", REPORT).unwrap();
    let c = config(0.5, "small");

    let apply = |report_id, proposal| Change::Apply { report_id, proposal };
    let cases = [
        (store.set_config("chat", &c, Change::Baseline, "ann"), "implicit"),
        (store.set_config("chat", &c, Change::Set, " "), "actor"),
        (
            store.set_config("chat", &config(f64::NAN, "small"), Change::Set, "ann"),
            "temperature",
        ),
        (
            store.set_config("chat", &c, apply(other, 0), "ann"),
            "about model `search`",
        ),
        (
            store.set_config("chat", &c, apply(ours, 2), "ann"),
            "has 2 proposals",
        ),
    ];
    for (result, expected) in cases {
        let err = result.unwrap_err();
        assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
        assert!(err.to_string().contains(expected), "{err} lacks {expected}");
    }
    let missing = store.set_config("chat", &c, apply(999, 0), "ann").unwrap_err();
    assert!(
        matches!(missing, StoreError::NotFound { what: "report", .. }),
        "{missing:?}"
    );
    assert_eq!(store.config_history("chat").unwrap().len(), 1);
}

#[test]
fn a_write_while_another_process_writes_fails_as_busy_and_corrupts_nothing() {
    let (_dir, path) = temp();
    let mut store = Store::open_with_busy_timeout(&path, Duration::from_millis(100)).unwrap();
    store.import_profile(&profile("chat"), "h1", "chat.toml").unwrap();

    let other = Connection::open(&path).unwrap();
    other
        .execute_batch("BEGIN IMMEDIATE; INSERT INTO benchmark_runs (model, json) VALUES ('chat', '{}');")
        .unwrap();

    let started = std::time::Instant::now();
    let err = store
        .set_config("chat", &config(0.1, "small"), Change::Set, "ann")
        .unwrap_err();
    assert!(
        started.elapsed() >= Duration::from_millis(100),
        "gave up before the busy timeout"
    );
    assert!(
        matches!(&err, StoreError::Busy { path: p } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains("is busy"), "{err}");
    assert_eq!(err.kind(), "database-busy");
    assert!(matches!(
        store.save_benchmark_run("chat", "{}"),
        Err(StoreError::Busy { .. })
    ));
    // Readers are not blocked by the writer.
    assert_eq!(store.config_history("chat").unwrap().len(), 1);

    other.execute_batch("COMMIT").unwrap();
    let set = store
        .set_config("chat", &config(0.1, "small"), Change::Set, "ann")
        .unwrap();
    assert_eq!(set.version, 1);
    assert_eq!(store.benchmark_runs("chat").unwrap().len(), 1);
    let sane: String = store
        .conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sane, "ok");
}

#[test]
fn reports_and_benchmark_runs_round_trip() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    // A report for a model never imported has no profile id.
    let loose = store.save_report("adhoc", "suggest", "random", "[]").unwrap();
    assert_eq!(store.report(loose).unwrap().profile_id, None);

    let profile_id = store
        .import_profile(&profile("chat"), "h1", "chat.toml")
        .unwrap()
        .summary
        .id;
    let id = store.save_report("chat", "recommend", "random", REPORT).unwrap();
    let report = store.report(id).unwrap();
    assert_eq!(
        (
            report.id,
            report.model.as_str(),
            report.kind.as_str(),
            report.strategy.as_str(),
            report.profile_id,
            report.json.as_str()
        ),
        (id, "chat", "recommend", "random", Some(profile_id), REPORT)
    );
    assert!(report.created_at.ends_with('Z'));

    let first = store.save_benchmark_run("chat", r#"{"run":1}"#).unwrap();
    let second = store.save_benchmark_run("chat", r#"{"run":2}"#).unwrap();
    store.save_benchmark_run("search", r#"{"run":3}"#).unwrap();
    let runs = store.benchmark_runs("chat").unwrap();
    let got: Vec<_> = runs.iter().map(|r| (r.id, r.json.as_str())).collect();
    assert_eq!(got, [(first, r#"{"run":1}"#), (second, r#"{"run":2}"#)]);
    assert!(store.benchmark_runs("nobody").unwrap().is_empty());

    let err = store
        .save_report("chat", "recommend", "random", "{not json")
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid { .. }), "{err:?}");
    assert!(matches!(
        store.save_benchmark_run("chat", ""),
        Err(StoreError::Invalid { .. })
    ));
}

#[test]
fn plugins_are_recorded_replaced_and_forgotten() {
    let (_dir, path) = temp();
    let mut store = Store::open(&path).unwrap();
    let sha_a = "a".repeat(64);
    let sha_b = "B".repeat(64);

    let a = store
        .record_plugin("tpe", "0.1.0", &sha_a, "/p/tpe.wasm")
        .unwrap();
    assert_eq!(
        (
            a.name.as_str(),
            a.version.as_str(),
            a.sha256.as_str(),
            a.path.as_str()
        ),
        ("tpe", "0.1.0", sha_a.as_str(), "/p/tpe.wasm")
    );
    store
        .record_plugin("grid", "1.0.0", &sha_a, "/p/grid.wasm")
        .unwrap();
    let upgraded = store
        .record_plugin("tpe", "0.2.0", &sha_b, "/p/tpe2.wasm")
        .unwrap();
    assert_eq!(upgraded.sha256, "b".repeat(64));

    let plugins = store.plugins().unwrap();
    assert_eq!(
        plugins.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
        ["grid", "tpe"]
    );
    assert_eq!(plugins[1], upgraded);

    assert!(store.forget_plugin("tpe").unwrap());
    assert!(!store.forget_plugin("tpe").unwrap());
    assert_eq!(store.plugins().unwrap().len(), 1);

    let err = store.record_plugin("x", "1", "abc", "/p/x.wasm").unwrap_err();
    assert!(err.to_string().contains("64 hex digits"), "{err}");
}

#[test]
fn a_cached_history_sees_what_another_connection_wrote() {
    let (_dir, path) = temp();
    let mut a = Store::open(&path).unwrap();
    let mut b = Store::open(&path).unwrap();
    a.import_profile(&profile("chat"), "h1", "chat.toml").unwrap();
    let study = a.create_study("s", "chat", "random", 1).unwrap();
    let stale = std::time::Duration::from_secs(3600);
    fn suggest_one(
        seen: &mut usize,
    ) -> impl FnMut(&[crate::store::StudyTrial], u32, u32) -> crate::store::Suggested + '_ {
        move |history, _next, _count| {
            *seen = history.len();
            Ok(vec![(config(0.5, "small"), 1)])
        }
    }
    let mut seen = 0;
    a.ask(study.id, 1, stale, suggest_one(&mut seen)).unwrap();
    assert_eq!(seen, 0);
    // A tells through its own connection: its cache is updated in place.
    a.tell(study.id, 0, Told::Complete(vec![("quality".into(), 0.7)]))
        .unwrap();
    a.ask(study.id, 1, stale, suggest_one(&mut seen)).unwrap();
    assert_eq!(seen, 1);
    // B, another connection, adds and tells a trial.
    b.ask(study.id, 1, stale, suggest_one(&mut seen)).unwrap();
    assert_eq!(seen, 2, "b reads the history from disk");
    b.tell(study.id, 2, Told::Complete(vec![("quality".into(), 0.9)]))
        .unwrap();
    // A's next suggest sees B's trial, told.
    let mut history = Vec::new();
    a.ask(study.id, 1, stale, |h: &[crate::store::StudyTrial], _, _| {
        history = h.to_vec();
        Ok(vec![(config(0.5, "small"), 1)])
    })
    .unwrap();
    assert_eq!(history.len(), 3);
    assert_eq!(history[2].state, crate::profile::TrialState::Complete);
    assert_eq!(history[2].metrics, vec![("quality".to_string(), 0.9)]);
}

/// The strategy call of an ask runs outside any transaction: another
/// connection writes meanwhile without waiting, and when it added trials
/// the ask starts over with them, so no number is used twice.
#[test]
fn an_ask_suggests_outside_the_write_lock_and_starts_over_on_new_trials() {
    let (_dir, path) = temp();
    let mut a = Store::open(&path).unwrap();
    a.import_profile(&profile("chat"), "h1", "chat.toml").unwrap();
    let study = a.create_study("s", "chat", "random", 1).unwrap();
    let stale = std::time::Duration::from_secs(3600);
    let mut calls = Vec::new();
    let asked = a
        .ask(
            study.id,
            1,
            stale,
            |history: &[crate::store::StudyTrial], next, _| {
                calls.push((history.len(), next));
                if calls.len() == 1 {
                    // While A's strategy runs, B (which would give up after
                    // 100 ms of waiting for a lock) adds a trial.
                    let mut b =
                        Store::open_with_busy_timeout(&path, std::time::Duration::from_millis(100)).unwrap();
                    b.ask(study.id, 1, stale, |_: &[crate::store::StudyTrial], _, _| {
                        Ok(vec![(config(0.1, "small"), 1)])
                    })
                    .expect("no lock is held during A's suggest");
                }
                Ok(vec![(config(0.5, "small"), 1)])
            },
        )
        .unwrap();
    assert_eq!(calls, vec![(0, 0), (1, 1)], "A asked again with B's trial");
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].number, 1);
    let numbers: Vec<u32> = a
        .study_trials(study.id)
        .unwrap()
        .iter()
        .map(|t| t.number)
        .collect();
    assert_eq!(numbers, vec![0, 1]);
}
