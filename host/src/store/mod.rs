//! The database: imported profiles, each model's configuration history,
//! reports, benchmark runs and installed plugins, in one SQLite file.
//!
//! Only this module touches rusqlite (an architecture invariant): the rest of
//! the host sees [`Store`] and plain Rust types.
//!
//! * **Safe with several processes.** The file is in WAL mode, so readers
//!   never wait for a writer. Every write is one `BEGIN IMMEDIATE`
//!   transaction: it takes the write lock up front, waits up to
//!   [`BUSY_TIMEOUT`] for another process's write to finish, and otherwise
//!   fails with [`StoreError::Busy`] having written nothing. (A deferred
//!   transaction that read first could fail at its first write without
//!   waiting at all.)
//! * **Durable.** `synchronous` stays at SQLite's default (FULL): a killed
//!   process loses no committed write. A server with many small writes
//!   groups them with [`Store::batch`] so that one fsync serves many (each
//!   write still succeeds or fails alone, as a savepoint).
//! * **Versioned.** Opening migrates the file to the current schema (see
//!   `schema.rs`); a file migrated by a newer aiopt is refused with
//!   [`StoreError::TooNew`] rather than misread.
//! * **Append-only history.** Profiles, configuration versions, reports and
//!   benchmark runs are never updated or deleted, so a read of one row needs
//!   no transaction to be consistent. Only the plugin list is replaced.
//!
//! Timestamps are RFC 3339 UTC with milliseconds, written by SQLite
//! (`2026-05-01T09:30:00.123Z`), so they sort as text.

mod error;
mod requests;
mod schema;
mod studies;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;

pub use error::StoreError;
pub use schema::CURRENT_VERSION as SCHEMA_VERSION;
pub use studies::{AskBegun, Committed, Measured, StudySummary, StudyTrial, Suggested, Told};

use crate::profile::{Config, Domain, Profile, RequestLog, Value};

/// How long a write waits for another process's write before giving up with
/// [`StoreError::Busy`]: long enough for any single aiopt write, short
/// enough that a stuck process is reported rather than waited on forever.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// An open database. Not `Sync`: one per thread (open it again to share the
/// file; SQLite coordinates the connections).
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Study histories this connection has read or written, so an ask
    /// does not re-read a long study from disk: valid while no other
    /// connection has committed (SQLite's `data_version` is unchanged).
    histories: HashMap<i64, Vec<studies::StudyTrial>>,
    seen_data_version: i64,
    /// Inside [`Store::batch`]: each write is a savepoint of the batch's
    /// transaction instead of a transaction of its own.
    in_batch: bool,
}

/// One imported profile, without the profile itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredProfileSummary {
    pub id: i64,
    /// The model: the profile's `name`.
    pub name: String,
    /// 1 for the model's first import, then 2, 3, ...; the highest is the
    /// latest and is what [`Store::profile`] returns.
    pub version: u32,
    pub kind: String,
    pub content_hash: String,
    /// Where it was imported from, as the caller gave it.
    pub source_path: String,
    pub imported_at: String,
    pub knobs: u32,
    pub observations: u32,
    pub requests: u64,
}

/// One imported profile with its content.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
    pub summary: StoredProfileSummary,
    pub profile: Profile,
}

/// What [`Store::import_profile`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Imported {
    pub summary: StoredProfileSummary,
    /// False when the model's latest profile already had this content hash
    /// and nothing was written.
    pub created: bool,
}

/// Why a configuration version exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum Change {
    /// Version 0: the latest profile's baseline. Implicit, never stored.
    Baseline,
    /// Set by hand.
    Set,
    /// A proposal of a stored report (`proposal` is its 0-based index).
    Apply { report_id: i64, proposal: u32 },
    /// Back to the baseline.
    Reset,
}

/// One version of a model's configuration: what, why, who and when.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigVersion {
    /// 0 for the implicit baseline, then 1, 2, ...
    pub version: u32,
    #[serde(serialize_with = "crate::report::serialize_config")]
    pub config: Config,
    #[serde(flatten)]
    pub change: Change,
    /// Who made the change, as the caller gave it; empty for the baseline.
    pub actor: String,
    /// When; for the baseline, when its profile was imported.
    pub at: String,
    /// The model's latest profile when the version was written. A profile
    /// imported later may have a different space: callers compare ids.
    pub profile_id: i64,
}

/// A report as saved by [`Store::save_report`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredReport {
    pub id: i64,
    pub model: String,
    pub kind: String,
    pub strategy: String,
    /// The model's latest profile when the report was saved, if imported.
    pub profile_id: Option<i64>,
    pub json: String,
    pub created_at: String,
}

/// A benchmark run as saved by [`Store::save_benchmark_run`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchmarkRun {
    pub id: i64,
    pub model: String,
    pub json: String,
    pub created_at: String,
}

/// An installed plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstalledPlugin {
    pub name: String,
    pub version: String,
    /// Lowercase hex sha256 of the component file.
    pub sha256: String,
    pub path: String,
    pub installed_at: String,
}

const SUMMARY_COLUMNS: &str =
    "id, name, version, kind, content_hash, source_path, imported_at, knobs, observations, requests";

impl Store {
    /// Opens the database at `path`, creating its folder and the file if
    /// needed, with WAL, foreign keys and a [`BUSY_TIMEOUT`], and migrates it
    /// to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_with_busy_timeout(path, BUSY_TIMEOUT)
    }

    /// [`Store::open`] with another busy timeout (tests use a short one).
    pub(crate) fn open_with_busy_timeout(path: &Path, timeout: Duration) -> Result<Store, StoreError> {
        let open = || {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|source| StoreError::Io {
                    path: path.to_path_buf(),
                    source,
                })?;
            }
            let mut conn = Connection::open(path)?;
            // First, so that the pragmas below wait for a lock too.
            conn.busy_timeout(timeout)?;
            let mode: String = conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(StoreError::Open {
                    path: PathBuf::new(),
                    why: format!(
                        "its file system does not support write-ahead logging (journal mode {mode})"
                    ),
                });
            }
            conn.pragma_update(None, "foreign_keys", true)?;
            schema::migrate(&mut conn)?;
            Ok(conn)
        };
        open().map(|conn| Store::on(conn, path)).map_err(|e| e.at(path))
    }

    /// Opens an existing, current database for reading only: every write
    /// through it fails at once (SQLite's `query_only`). The server's
    /// handlers read through these while all its writes go through one
    /// connection, so a write never waits on the server's own lock.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let open = || {
            let conn = Connection::open_with_flags(
                path,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            let found = schema::version(&conn)?;
            if found != schema::CURRENT_VERSION {
                return Err(StoreError::Open {
                    path: PathBuf::new(),
                    why: format!(
                        "its schema version is {found}, not {}: open it for writing once to migrate it",
                        schema::CURRENT_VERSION
                    ),
                });
            }
            conn.pragma_update(None, "query_only", true)?;
            Ok(conn)
        };
        open().map(|conn| Store::on(conn, path)).map_err(|e| e.at(path))
    }

    /// A store on an opened connection, with nothing cached yet.
    fn on(conn: Connection, path: &Path) -> Store {
        Store {
            conn,
            path: path.to_path_buf(),
            histories: HashMap::new(),
            seen_data_version: i64::MIN,
            in_batch: false,
        }
    }

    /// Takes and releases the write lock: whether this database can be
    /// written now (health checks).
    pub fn ping_write(&mut self) -> Result<(), StoreError> {
        self.write(|_| Ok(()))
    }

    /// The file this store was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version recorded in the file (after open: [`SCHEMA_VERSION`]).
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        self.read(schema::version)
    }

    // ----- Profiles -----

    /// Records `profile` as the latest profile of the model it names.
    ///
    /// `content_hash` identifies the content (it should cover the data files
    /// too). If the model's latest profile has the same hash, nothing is
    /// written and that row is returned; otherwise a new version is added
    /// and older ones are kept. Comparing with the latest only means that
    /// going back to an older profile's content makes it the latest again.
    ///
    /// Refused ([`StoreError::Invalid`]) if a number in the profile outside
    /// its request log is NaN or infinite, which JSON cannot hold.
    pub fn import_profile(
        &mut self,
        profile: &Profile,
        content_hash: &str,
        source_path: &str,
    ) -> Result<Imported, StoreError> {
        if content_hash.is_empty() {
            return Err(invalid("a profile", "its content hash is empty"));
        }
        if let Some(place) = non_finite_in(profile) {
            return Err(invalid("a profile", format!("{place} is not a finite number")));
        }
        let json = serde_json::to_string(&without_requests(profile))
            .map_err(|e| invalid("a profile", e.to_string()))?;
        let blob = requests::encode(&profile.requests);
        self.write(|tx| {
            let latest = latest_summary(tx, &profile.name)?;
            if let Some(latest) = latest.as_ref().filter(|l| l.content_hash == content_hash) {
                return Ok(Imported {
                    summary: latest.clone(),
                    created: false,
                });
            }
            let version = latest.map_or(1, |l| l.version + 1);
            let (id, imported_at): (i64, String) = tx.query_row(
                "INSERT INTO profiles (name, version, kind, content_hash, source_path, knobs,
                                       observations, requests, profile_json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 RETURNING id, imported_at",
                params![
                    profile.name,
                    version,
                    profile.kind,
                    content_hash,
                    source_path,
                    profile.space.len() as i64,
                    profile.trials.len() as i64,
                    profile.requests.records.len() as i64,
                    json,
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            tx.execute(
                "INSERT INTO profile_requests (profile_id, data) VALUES (?1, ?2)",
                params![id, blob],
            )?;
            Ok(Imported {
                summary: StoredProfileSummary {
                    id,
                    name: profile.name.clone(),
                    version,
                    kind: profile.kind.clone(),
                    content_hash: content_hash.to_string(),
                    source_path: source_path.to_string(),
                    imported_at,
                    knobs: profile.space.len() as u32,
                    observations: profile.trials.len() as u32,
                    requests: profile.requests.records.len() as u64,
                },
                created: true,
            })
        })
    }

    /// The latest profile of every model, by name.
    pub fn profiles(&self) -> Result<Vec<StoredProfileSummary>, StoreError> {
        self.read(|c| {
            let sql = format!(
                "SELECT {SUMMARY_COLUMNS} FROM profiles p
                 WHERE version = (SELECT MAX(version) FROM profiles WHERE name = p.name)
                 ORDER BY name"
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], summary_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Every imported version of `model`'s profile, oldest first; empty if
    /// the model is unknown.
    pub fn profile_history(&self, model: &str) -> Result<Vec<StoredProfileSummary>, StoreError> {
        self.read(|c| {
            let sql = format!("SELECT {SUMMARY_COLUMNS} FROM profiles WHERE name = ?1 ORDER BY version");
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([model], summary_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// The latest profile of `model`, with its request log.
    pub fn profile(&self, model: &str) -> Result<StoredProfile, StoreError> {
        self.read(|c| {
            let summary = require_latest(c, model)?;
            load_profile(c, summary)
        })
    }

    /// One imported profile by id, latest or not.
    pub fn profile_by_id(&self, id: i64) -> Result<StoredProfile, StoreError> {
        self.read(|c| {
            let sql = format!("SELECT {SUMMARY_COLUMNS} FROM profiles WHERE id = ?1");
            let summary = c
                .query_row(&sql, [id], summary_from_row)
                .optional()?
                .ok_or_else(|| not_found("profile", id))?;
            load_profile(c, summary)
        })
    }

    // ----- Configurations -----

    /// The configuration `model` runs now: its newest stored version, or, if
    /// none was ever stored, its latest profile's baseline as version 0.
    pub fn current_config(&self, model: &str) -> Result<ConfigVersion, StoreError> {
        self.read(|c| {
            let stored = c
                .query_row(
                    "SELECT version, config_json, change, report_id, proposal, actor, at, profile_id
                     FROM config_versions WHERE model = ?1 ORDER BY version DESC LIMIT 1",
                    [model],
                    config_from_row,
                )
                .optional()?;
            match stored {
                Some(version) => version,
                None => baseline_version(c, model),
            }
        })
    }

    /// Every configuration of `model`, oldest first: version 0 (the latest
    /// profile's baseline, which [`Change::Reset`] returns to) and then each
    /// stored version. The last one is [`Store::current_config`].
    pub fn config_history(&self, model: &str) -> Result<Vec<ConfigVersion>, StoreError> {
        self.read(|c| {
            let mut history = vec![baseline_version(c, model)?];
            let mut stmt = c.prepare(
                "SELECT version, config_json, change, report_id, proposal, actor, at, profile_id
                 FROM config_versions WHERE model = ?1 ORDER BY version",
            )?;
            for version in stmt.query_map([model], config_from_row)? {
                history.push(version??);
            }
            Ok(history)
        })
    }

    /// Records `config` as the new current configuration of `model` (which
    /// must have an imported profile) and returns the version written.
    ///
    /// The caller checks `config` against the profile's space; the store
    /// checks the bookkeeping: the model exists, an applied report exists,
    /// is about this model and has that proposal, reals are finite, and
    /// `actor` is not empty. [`Change::Baseline`] cannot be written.
    pub fn set_config(
        &mut self,
        model: &str,
        config: &Config,
        change: Change,
        actor: &str,
    ) -> Result<ConfigVersion, StoreError> {
        let what = "a configuration";
        if actor.trim().is_empty() {
            return Err(invalid(what, "no actor: say who made the change"));
        }
        if let Some((knob, _)) = config
            .iter()
            .find(|(_, v)| matches!(v, Value::Real(x) if !x.is_finite()))
        {
            return Err(invalid(what, format!("`{knob}` is not a finite number")));
        }
        let json = serde_json::to_string(config).map_err(|e| invalid(what, e.to_string()))?;
        let (name, report_id, proposal) = match change {
            Change::Set => ("set", None, None),
            Change::Reset => ("reset", None, None),
            Change::Apply { report_id, proposal } => ("apply", Some(report_id), Some(proposal)),
            Change::Baseline => {
                return Err(invalid(
                    what,
                    "version 0 (the baseline) is implicit; record a return to it as a reset",
                ))
            }
        };
        self.write(|tx| {
            let profile_id = require_latest(tx, model)?.id;
            if let (Some(report_id), Some(proposal)) = (report_id, proposal) {
                check_proposal(tx, model, report_id, proposal)?;
            }
            let version: u32 = tx.query_row(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM config_versions WHERE model = ?1",
                [model],
                |r| r.get(0),
            )?;
            let at: String = tx.query_row(
                "INSERT INTO config_versions
                     (model, version, config_json, change, report_id, proposal, actor, profile_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 RETURNING at",
                params![model, version, json, name, report_id, proposal, actor, profile_id],
                |r| r.get(0),
            )?;
            Ok(ConfigVersion {
                version,
                config: config.clone(),
                change,
                actor: actor.to_string(),
                at,
                profile_id,
            })
        })
    }

    // ----- Reports and benchmark runs -----

    /// Saves a report (`kind`: `recommend` or `suggest`) that the caller has
    /// serialized to JSON, and returns its id.
    pub fn save_report(
        &mut self,
        model: &str,
        kind: &str,
        strategy: &str,
        json: &str,
    ) -> Result<i64, StoreError> {
        check_json("a report", json)?;
        self.write(|tx| {
            let profile_id = latest_summary(tx, model)?.map(|s| s.id);
            Ok(tx.query_row(
                "INSERT INTO reports (model, kind, strategy, profile_id, json)
                 VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
                params![model, kind, strategy, profile_id, json],
                |r| r.get(0),
            )?)
        })
    }

    /// A saved report.
    pub fn report(&self, id: i64) -> Result<StoredReport, StoreError> {
        self.read(|c| {
            c.query_row(
                "SELECT id, model, kind, strategy, profile_id, json, created_at FROM reports WHERE id = ?1",
                [id],
                |r| {
                    Ok(StoredReport {
                        id: r.get(0)?,
                        model: r.get(1)?,
                        kind: r.get(2)?,
                        strategy: r.get(3)?,
                        profile_id: r.get(4)?,
                        json: r.get(5)?,
                        created_at: r.get(6)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| not_found("report", id))
        })
    }

    /// Saves a benchmark run that the caller has serialized to JSON, and
    /// returns its id.
    pub fn save_benchmark_run(&mut self, model: &str, json: &str) -> Result<i64, StoreError> {
        check_json("a benchmark run", json)?;
        self.write(|tx| {
            Ok(tx.query_row(
                "INSERT INTO benchmark_runs (model, json) VALUES (?1, ?2) RETURNING id",
                params![model, json],
                |r| r.get(0),
            )?)
        })
    }

    /// The benchmark runs of `model`, oldest first.
    pub fn benchmark_runs(&self, model: &str) -> Result<Vec<BenchmarkRun>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(
                "SELECT id, model, json, created_at FROM benchmark_runs WHERE model = ?1 ORDER BY id",
            )?;
            let rows = stmt.query_map([model], |r| {
                Ok(BenchmarkRun {
                    id: r.get(0)?,
                    model: r.get(1)?,
                    json: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    // ----- Plugins -----

    /// Records an installed plugin, replacing any earlier record of `name`.
    /// `sha256` is the component's digest in hex.
    pub fn record_plugin(
        &mut self,
        name: &str,
        version: &str,
        sha256: &str,
        path: &str,
    ) -> Result<InstalledPlugin, StoreError> {
        if name.is_empty() {
            return Err(invalid("a plugin", "its name is empty"));
        }
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid(
                "a plugin",
                format!("sha256 must be 64 hex digits, found `{sha256}`"),
            ));
        }
        let sha256 = sha256.to_ascii_lowercase();
        self.write(|tx| {
            Ok(tx.query_row(
                "INSERT INTO plugins (name, version, sha256, path) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256,
                     path = excluded.path, installed_at = excluded.installed_at
                 RETURNING name, version, sha256, path, installed_at",
                params![name, version, sha256, path],
                plugin_from_row,
            )?)
        })
    }

    /// Removes the record of plugin `name`; false if there was none.
    pub fn forget_plugin(&mut self, name: &str) -> Result<bool, StoreError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM plugins WHERE name = ?1", [name])? > 0))
    }

    /// The installed plugins, by name.
    pub fn plugins(&self) -> Result<Vec<InstalledPlugin>, StoreError> {
        self.read(|c| {
            let mut stmt =
                c.prepare("SELECT name, version, sha256, path, installed_at FROM plugins ORDER BY name")?;
            let rows = stmt.query_map([], plugin_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    // ----- Plumbing -----

    /// Runs `f` on the connection, naming the file in any error.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        f(&self.conn).map_err(|e| e.at(&self.path))
    }

    /// Runs `f` in one immediate transaction, committed only if `f`
    /// succeeds (dropping the transaction rolls it back). Inside
    /// [`Store::batch`] it is a savepoint instead: `f`'s writes are undone
    /// alone if it fails, and made durable by the batch's commit.
    fn write<T>(&mut self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let in_batch = self.in_batch;
        let conn = &mut self.conn;
        let run = || {
            if in_batch {
                let savepoint = conn.savepoint()?;
                let value = f(&savepoint)?;
                savepoint.commit()?;
                Ok(value)
            } else {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let value = f(&tx)?;
                tx.commit()?;
                Ok(value)
            }
        };
        run().map_err(|e: StoreError| e.at(&self.path))
    }

    /// Runs `f` (many small writes) in one immediate transaction, a group
    /// commit: with `synchronous = FULL` every commit waits for the disk,
    /// so a server that commits each ask and tell alone spends most of its
    /// time in fsync. Each write in `f` is a savepoint and succeeds or
    /// fails alone, but none is durable until the commit, whose outcome is
    /// returned with `f`'s value: callers answer their clients only after
    /// it, and on `Err` nothing of `f` was written, whatever `f`'s writes
    /// returned. If the transaction cannot begin (another process holds
    /// the lock past [`BUSY_TIMEOUT`]), `f` runs without it and each write
    /// reports its own outcome.
    pub fn batch<T>(&mut self, f: impl FnOnce(&mut Store) -> T) -> (T, Result<(), StoreError>) {
        if self.in_batch || self.conn.execute_batch("BEGIN IMMEDIATE").is_err() {
            return (f(self), Ok(()));
        }
        self.in_batch = true;
        let value = f(self);
        self.in_batch = false;
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => (value, Ok(())),
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                // Cached histories may hold trials that were never written.
                self.forget_cached();
                (value, Err(StoreError::from(e).at(&self.path)))
            }
        }
    }

    /// Drops what this connection cached (after a write it cannot vouch
    /// for, such as one interrupted by a panic).
    pub fn forget_cached(&mut self) {
        self.histories.clear();
    }
}

fn summary_from_row(r: &Row<'_>) -> rusqlite::Result<StoredProfileSummary> {
    Ok(StoredProfileSummary {
        id: r.get(0)?,
        name: r.get(1)?,
        version: r.get(2)?,
        kind: r.get(3)?,
        content_hash: r.get(4)?,
        source_path: r.get(5)?,
        imported_at: r.get(6)?,
        knobs: r.get(7)?,
        observations: r.get(8)?,
        requests: r.get::<_, i64>(9)? as u64,
    })
}

fn plugin_from_row(r: &Row<'_>) -> rusqlite::Result<InstalledPlugin> {
    Ok(InstalledPlugin {
        name: r.get(0)?,
        version: r.get(1)?,
        sha256: r.get(2)?,
        path: r.get(3)?,
        installed_at: r.get(4)?,
    })
}

/// A `config_versions` row; the outer error is SQLite's, the inner one a
/// row that does not decode.
fn config_from_row(r: &Row<'_>) -> rusqlite::Result<Result<ConfigVersion, StoreError>> {
    let version: u32 = r.get(0)?;
    let json: String = r.get(1)?;
    let change: String = r.get(2)?;
    let report_id: Option<i64> = r.get(3)?;
    let proposal: Option<u32> = r.get(4)?;
    let (actor, at, profile_id) = (r.get(5)?, r.get(6)?, r.get(7)?);
    let change = match (change.as_str(), report_id, proposal) {
        ("set", ..) => Change::Set,
        ("reset", ..) => Change::Reset,
        ("apply", Some(report_id), Some(proposal)) => Change::Apply { report_id, proposal },
        _ => {
            return Ok(Err(StoreError::corrupt(format!(
                "config version {version} has change `{change}`"
            ))))
        }
    };
    let config = match serde_json::from_str(&json) {
        Ok(config) => config,
        Err(e) => {
            return Ok(Err(StoreError::corrupt(format!(
                "config version {version} does not decode: {e}"
            ))))
        }
    };
    Ok(Ok(ConfigVersion {
        version,
        config,
        change,
        actor,
        at,
        profile_id,
    }))
}

fn latest_summary(c: &Connection, model: &str) -> Result<Option<StoredProfileSummary>, StoreError> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM profiles WHERE name = ?1 ORDER BY version DESC LIMIT 1");
    Ok(c.query_row(&sql, [model], summary_from_row).optional()?)
}

/// The latest profile of `model`, or `NotFound` listing the known models.
fn require_latest(c: &Connection, model: &str) -> Result<StoredProfileSummary, StoreError> {
    match latest_summary(c, model)? {
        Some(summary) => Ok(summary),
        None => Err(profile_not_found(c, model)?),
    }
}

fn load_profile(c: &Connection, summary: StoredProfileSummary) -> Result<StoredProfile, StoreError> {
    let mut profile = profile_json(c, summary.id)?;
    let blob: Option<Vec<u8>> = c
        .query_row(
            "SELECT data FROM profile_requests WHERE profile_id = ?1",
            [summary.id],
            |r| r.get(0),
        )
        .optional()?;
    let blob =
        blob.ok_or_else(|| StoreError::corrupt(format!("profile {} has no request log", summary.id)))?;
    profile.requests = requests::decode(&blob)
        .map_err(|why| StoreError::corrupt(format!("profile {}: {why}", summary.id)))?;
    Ok(StoredProfile { summary, profile })
}

/// The profile of row `id` without its request log.
fn profile_json(c: &Connection, id: i64) -> Result<Profile, StoreError> {
    let json: String = c.query_row("SELECT profile_json FROM profiles WHERE id = ?1", [id], |r| {
        r.get(0)
    })?;
    serde_json::from_str(&json).map_err(|e| StoreError::corrupt(format!("profile {id} does not decode: {e}")))
}

/// Version 0 of `model`: its latest profile's baseline.
fn baseline_version(c: &Connection, model: &str) -> Result<ConfigVersion, StoreError> {
    let summary = require_latest(c, model)?;
    let profile = profile_json(c, summary.id)?;
    Ok(ConfigVersion {
        version: 0,
        config: profile.baseline,
        change: Change::Baseline,
        actor: String::new(),
        at: summary.imported_at,
        profile_id: summary.id,
    })
}

/// Checks that report `report_id` exists, is about `model` and has a
/// proposal number `proposal`.
fn check_proposal(c: &Connection, model: &str, report_id: i64, proposal: u32) -> Result<(), StoreError> {
    let (report_model, json): (String, String) = c
        .query_row(
            "SELECT model, json FROM reports WHERE id = ?1",
            [report_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| not_found("report", report_id))?;
    let what = "a configuration";
    if report_model != model {
        return Err(invalid(
            what,
            format!("report {report_id} is about model `{report_model}`, not `{model}`"),
        ));
    }
    let report: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| StoreError::corrupt(format!("report {report_id}: {e}")))?;
    let count = report
        .get("proposals")
        .and_then(|p| p.as_array())
        .map_or(0, Vec::len);
    if proposal as usize >= count {
        return Err(invalid(
            what,
            format!(
                "report {report_id} has {count} proposals; there is no proposal {proposal} (counted from 0)"
            ),
        ));
    }
    Ok(())
}

/// `NotFound` for a model without a profile, listing the known models. The
/// outer `Result` is the failure to list them.
fn profile_not_found(c: &Connection, model: &str) -> Result<StoreError, StoreError> {
    let mut stmt = c.prepare("SELECT DISTINCT name FROM profiles ORDER BY name")?;
    let known = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(StoreError::NotFound {
        what: "profile",
        name: model.to_string(),
        known,
    })
}

fn not_found(what: &'static str, id: i64) -> StoreError {
    StoreError::NotFound {
        what,
        name: id.to_string(),
        known: Vec::new(),
    }
}

fn invalid(what: &'static str, why: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        what,
        why: why.into(),
    }
}

fn check_json(what: &'static str, json: &str) -> Result<(), StoreError> {
    serde_json::from_str::<serde::de::IgnoredAny>(json)
        .map(|_| ())
        .map_err(|e| invalid(what, format!("it is not JSON: {e}")))
}

/// A copy of `profile` with an empty request log, which is stored apart.
/// Every field is listed (no `..`), so a new field is a compile error here
/// until someone decides where it is stored.
fn without_requests(p: &Profile) -> Profile {
    Profile {
        name: p.name.clone(),
        kind: p.kind.clone(),
        description: p.description.clone(),
        space: p.space.clone(),
        baseline: p.baseline.clone(),
        objectives: p.objectives.clone(),
        constraints: p.constraints.clone(),
        workload: p.workload.clone(),
        trials: p.trials.clone(),
        requests: RequestLog::default(),
        options: p.options.clone(),
    }
}

/// Where `profile` (outside its request log, which is stored exactly) has a
/// NaN or infinity: serde_json would write it as `null`, which does not
/// read back.
fn non_finite_in(p: &Profile) -> Option<String> {
    let bad = |x: f64| !x.is_finite();
    let bad_value = |v: &Value| matches!(v, Value::Real(x) if bad(*x));
    for param in &p.space {
        if let Domain::Real { low, high, step, .. } = &param.domain {
            if bad(*low) || bad(*high) || step.is_some_and(bad) {
                return Some(format!("a bound or step of knob `{}`", param.name));
            }
        }
    }
    if let Some((knob, _)) = p.baseline.iter().find(|(_, v)| bad_value(v)) {
        return Some(format!("baseline `{knob}`"));
    }
    if let Some((option, _)) = p.options.iter().find(|(_, v)| bad_value(v)) {
        return Some(format!("option `{option}`"));
    }
    for c in &p.constraints {
        if c.low.is_some_and(bad) || c.high.is_some_and(bad) {
            return Some(format!("a bound of the constraint on `{}`", c.metric));
        }
    }
    let w = &p.workload;
    let workload = [
        w.requests_per_day,
        w.peak_requests_per_second,
        w.mean_input_tokens,
        w.mean_output_tokens,
    ];
    if workload.into_iter().flatten().any(bad) {
        return Some("a workload figure".into());
    }
    for t in &p.trials {
        if let Some((knob, _)) = t.config.iter().find(|(_, v)| bad_value(v)) {
            return Some(format!("knob `{knob}` of observation {}", t.number));
        }
        if let Some((metric, _)) = t.metrics.iter().find(|(_, x)| bad(*x)) {
            return Some(format!("metric `{metric}` of observation {}", t.number));
        }
    }
    None
}
