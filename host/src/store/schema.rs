//! The schema as an ordered list of migrations, applied on open.
//!
//! The database's schema version is SQLite's `PRAGMA user_version`: the
//! number of migrations applied. Migration `i` (0-based) takes a database
//! from version `i` to `i + 1`, in one transaction together with the version
//! bump, so a crash leaves the database at a version it really has. A
//! migration, once released, is never edited: changes are new entries.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Every migration, oldest first. `MIGRATIONS.len()` is the schema version
/// this aiopt writes.
pub(super) const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this build of aiopt reads and writes.
pub const CURRENT_VERSION: u32 = MIGRATIONS.len() as u32;

/// Version 1. Rows are append-only except `plugins`: a profile, a config
/// version, a report or a benchmark run, once written, never changes, so
/// reads need no transaction to be consistent.
const V1: &str = "
-- One row per import. A model is named by its profile's `name`; `version`
-- counts that model's imports (1, 2, ...) and the highest is the latest.
-- `profile_json` is the whole profile minus its request log, which lives in
-- `profile_requests` so listing profiles never reads it.
CREATE TABLE profiles (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    version       INTEGER NOT NULL CHECK (version >= 1),
    kind          TEXT    NOT NULL,
    content_hash  TEXT    NOT NULL,
    source_path   TEXT    NOT NULL,
    imported_at   TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    knobs         INTEGER NOT NULL,
    observations  INTEGER NOT NULL,
    requests      INTEGER NOT NULL,
    profile_json  TEXT    NOT NULL CHECK (json_valid(profile_json)),
    UNIQUE (name, version)
);

-- The request log of a profile in the binary format of `store::requests`.
CREATE TABLE profile_requests (
    profile_id  INTEGER PRIMARY KEY REFERENCES profiles (id),
    data        BLOB    NOT NULL
);

-- Strategy output (recommend / suggest) as the caller serialized it.
-- `profile_id` is the model's latest profile when the report was saved, if
-- the model had been imported.
CREATE TABLE reports (
    id          INTEGER PRIMARY KEY,
    model       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    strategy    TEXT    NOT NULL,
    profile_id  INTEGER REFERENCES profiles (id),
    json        TEXT    NOT NULL CHECK (json_valid(json)),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX reports_by_model ON reports (model, id);

-- Configuration history of a model; version 0 is the profile's baseline and
-- is implicit (never stored). `config_json` is a JSON array of
-- [knob, value] pairs in search-space order.
CREATE TABLE config_versions (
    id           INTEGER PRIMARY KEY,
    model        TEXT    NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 1),
    config_json  TEXT    NOT NULL CHECK (json_valid(config_json)),
    change       TEXT    NOT NULL CHECK (change IN ('set', 'apply', 'reset')),
    report_id    INTEGER REFERENCES reports (id),
    proposal     INTEGER CHECK (proposal >= 0),
    actor        TEXT    NOT NULL,
    at           TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    profile_id   INTEGER NOT NULL REFERENCES profiles (id),
    UNIQUE (model, version),
    CHECK ((change = 'apply') = (report_id IS NOT NULL AND proposal IS NOT NULL))
);

-- Benchmark runs as the caller serialized them.
CREATE TABLE benchmark_runs (
    id          INTEGER PRIMARY KEY,
    model       TEXT    NOT NULL,
    json        TEXT    NOT NULL CHECK (json_valid(json)),
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX benchmark_runs_by_model ON benchmark_runs (model, id);

-- Installed plugins: one row per name; reinstalling replaces it.
CREATE TABLE plugins (
    name          TEXT PRIMARY KEY,
    version       TEXT NOT NULL,
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    path          TEXT NOT NULL,
    installed_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
";

/// The schema version recorded in the database file.
pub fn version(conn: &Connection) -> Result<u32, StoreError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    u32::try_from(version).map_err(|_| StoreError::corrupt(format!("schema version {version} is negative")))
}

/// Version 2: tuning studies and their trials. A trial is asked (running)
/// and later told (complete, failed or pruned); `heartbeat_ms` (Unix ms) is
/// refreshed when it is handed out, so a trial nobody tells can be found
/// stale and asked again. Trial numbers are dense per study and assigned
/// inside the asking transaction, so concurrent askers never share one.
const V2: &str = "
CREATE TABLE studies (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    model       TEXT    NOT NULL,
    profile_id  INTEGER NOT NULL REFERENCES profiles (id),
    strategy    TEXT    NOT NULL,
    seed        INTEGER NOT NULL,
    created_at  TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

CREATE TABLE study_trials (
    study_id      INTEGER NOT NULL REFERENCES studies (id),
    number        INTEGER NOT NULL CHECK (number >= 0),
    config_json   TEXT    NOT NULL CHECK (json_valid(config_json)),
    state         TEXT    NOT NULL CHECK (state IN ('running', 'complete', 'failed', 'pruned')),
    metrics_json  TEXT    CHECK (metrics_json IS NULL OR json_valid(metrics_json)),
    reason        TEXT,
    fuel          INTEGER,
    asked_at      TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    heartbeat_ms  INTEGER NOT NULL,
    finished_at   TEXT,
    PRIMARY KEY (study_id, number)
);
";

/// Version 3: an index for finding a study's stale running trials, which
/// every ask looks for; without it each ask scanned the whole study.
const V3: &str = "
CREATE INDEX study_trials_by_state ON study_trials (study_id, state, heartbeat_ms);
";

/// Brings the database to [`CURRENT_VERSION`], or refuses one that a newer
/// aiopt has migrated further. Each step re-reads the version inside its
/// write transaction, so two processes opening a new database at once apply
/// each migration exactly once.
pub fn migrate(conn: &mut Connection) -> Result<u32, StoreError> {
    let found = version(conn)?;
    check_not_newer(found)?;
    if found == CURRENT_VERSION {
        // The common case takes no write lock, so opening never waits for
        // another process's write.
        return Ok(found);
    }
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found = version(&tx)?;
        check_not_newer(found)?;
        let Some(sql) = MIGRATIONS.get(found as usize) else {
            return Ok(found);
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
    }
}

fn check_not_newer(found: u32) -> Result<(), StoreError> {
    if found > CURRENT_VERSION {
        return Err(StoreError::TooNew {
            path: Default::default(),
            found,
            supported: CURRENT_VERSION,
        });
    }
    Ok(())
}
