//! Tuning studies: trials asked and told, stored so that a study survives a
//! crash and many workers can share one.

use std::time::Duration;

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{Store, StoreError};
use crate::profile::{Config, TrialState};

/// A study and how far it is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudySummary {
    pub id: i64,
    pub name: String,
    pub model: String,
    pub profile_id: i64,
    pub strategy: String,
    pub seed: u64,
    pub created_at: String,
    pub trials: u32,
    pub complete: u32,
    pub running: u32,
    pub failed: u32,
}

/// One trial of a study.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StudyTrial {
    pub number: u32,
    #[serde(serialize_with = "crate::report::serialize_config")]
    pub config: Config,
    pub state: TrialState,
    pub metrics: Vec<(String, f64)>,
    /// Why it failed (a strategy or evaluator error, or staleness).
    pub reason: Option<String>,
    /// Fuel the strategy used for the `suggest` call that produced it.
    pub fuel: Option<u64>,
    pub asked_at: String,
    pub finished_at: Option<String>,
}

/// What a worker reports for a trial.
#[derive(Debug, Clone, PartialEq)]
pub enum Told {
    Complete(Vec<(String, f64)>),
    Failed(String),
    Pruned,
}

/// A measured configuration: what a warm start copies.
pub type Measured = (Config, Vec<(String, f64)>);

/// What the strategy produced for an ask: configurations with the fuel of
/// the call, or the reason it failed (which fails one trial, not the study).
pub type Suggested = Result<Vec<(Config, u64)>, String>;

/// How many times an ask starts over when other connections keep adding
/// trials while it suggests, before it gives up.
const MOST_ASK_ATTEMPTS: usize = 16;

/// What [`Store::ask_begin`] found: stale trials handed out again, how many
/// new ones are still wanted, and the number the first of them gets.
#[derive(Debug)]
pub struct AskBegun {
    pub stale: Vec<StudyTrial>,
    pub wanted: u32,
    pub next: u32,
}

/// What [`Store::ask_commit`] did.
#[derive(Debug)]
pub enum Committed {
    /// The new trials, as stored.
    Stored(Vec<StudyTrial>),
    /// Another connection added trials since the ask began: nothing was
    /// written.
    HistoryChanged,
}

/// Forgets every cached history when another connection has committed
/// since this one last looked (SQLite's `data_version`).
fn refresh_cache(
    tx: &rusqlite::Connection,
    cache: &mut std::collections::HashMap<i64, Vec<StudyTrial>>,
    seen: &mut i64,
) -> Result<(), StoreError> {
    let version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
    if version != *seen {
        cache.clear();
        *seen = version;
    }
    Ok(())
}

/// The study's history from the cache, loaded first if missing.
fn load_history<'c>(
    tx: &rusqlite::Connection,
    cache: &'c mut std::collections::HashMap<i64, Vec<StudyTrial>>,
    study_id: i64,
) -> Result<&'c [StudyTrial], StoreError> {
    let history = match cache.entry(study_id) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let mut stmt = tx.prepare(&format!("{TRIAL} WHERE study_id = ?1 ORDER BY number"))?;
            let loaded: Vec<StudyTrial> = stmt
                .query_map([study_id], trial_from_row)?
                .collect::<Result<_, _>>()?;
            e.insert(loaded)
        }
    };
    Ok(history)
}

fn state_name(state: TrialState) -> &'static str {
    match state {
        TrialState::Complete => "complete",
        TrialState::Failed => "failed",
        TrialState::Running => "running",
        TrialState::Pruned => "pruned",
    }
}

fn state_from(name: &str) -> TrialState {
    match name {
        "complete" => TrialState::Complete,
        "failed" => TrialState::Failed,
        "pruned" => TrialState::Pruned,
        _ => TrialState::Running,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn invalid(what: &'static str, why: impl Into<String>) -> StoreError {
    StoreError::Invalid {
        what,
        why: why.into(),
    }
}

const SUMMARY: &str = "SELECT s.id, s.name, s.model, s.profile_id, s.strategy, s.seed, s.created_at,
        COUNT(t.number),
        COALESCE(SUM(t.state = 'complete'), 0), COALESCE(SUM(t.state = 'running'), 0), COALESCE(SUM(t.state = 'failed'), 0)
    FROM studies s LEFT JOIN study_trials t ON t.study_id = s.id";

fn summary_from_row(r: &Row<'_>) -> rusqlite::Result<StudySummary> {
    Ok(StudySummary {
        id: r.get(0)?,
        name: r.get(1)?,
        model: r.get(2)?,
        profile_id: r.get(3)?,
        strategy: r.get(4)?,
        seed: r.get::<_, i64>(5)? as u64,
        created_at: r.get(6)?,
        trials: r.get(7)?,
        complete: r.get(8)?,
        running: r.get(9)?,
        failed: r.get(10)?,
    })
}

const TRIAL: &str = "SELECT number, config_json, state, metrics_json, reason, fuel, asked_at, finished_at
    FROM study_trials";

fn trial_from_row(r: &Row<'_>) -> rusqlite::Result<StudyTrial> {
    let config: String = r.get(1)?;
    let metrics: Option<String> = r.get(3)?;
    let state: String = r.get(2)?;
    Ok(StudyTrial {
        number: r.get(0)?,
        config: serde_json::from_str(&config).unwrap_or_default(),
        state: state_from(&state),
        metrics: metrics
            .and_then(|m| serde_json::from_str(&m).ok())
            .unwrap_or_default(),
        reason: r.get(4)?,
        fuel: r.get::<_, Option<i64>>(5)?.map(|f| f as u64),
        asked_at: r.get(6)?,
        finished_at: r.get(7)?,
    })
}

impl Store {
    /// Creates a study of `model`'s latest profile with a tuning strategy.
    pub fn create_study(
        &mut self,
        name: &str,
        model: &str,
        strategy: &str,
        seed: u64,
    ) -> Result<StudySummary, StoreError> {
        let profile_id = self.profile(model)?.summary.id;
        if name.trim().is_empty() {
            return Err(invalid("study name", "must not be empty"));
        }
        let id = self.write(|tx| {
            let taken: Option<i64> = tx
                .query_row("SELECT id FROM studies WHERE name = ?1", [name], |r| r.get(0))
                .optional()?;
            if taken.is_some() {
                return Err(invalid(
                    "study name",
                    format!("a study named `{name}` exists already"),
                ));
            }
            tx.execute(
                "INSERT INTO studies (name, model, profile_id, strategy, seed) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![name, model, profile_id, strategy, seed as i64],
            )?;
            Ok(tx.last_insert_rowid())
        })?;
        self.study(&id.to_string())
    }

    /// Adds complete trials to a new study's history (warm start): numbered
    /// from 0 in the given order, before any trial is asked.
    pub fn warm_start(&mut self, study_id: i64, trials: &[Measured]) -> Result<u32, StoreError> {
        self.histories.remove(&study_id);
        let now = now_ms();
        self.write(|tx| {
            let existing: u32 =
                tx.query_row("SELECT COUNT(*) FROM study_trials WHERE study_id = ?1", [study_id], |r| r.get(0))?;
            if existing > 0 {
                return Err(invalid("warm start", "the study already has trials"));
            }
            for (number, (config, metrics)) in trials.iter().enumerate() {
                let config = serde_json::to_string(config).map_err(|e| invalid("config", e.to_string()))?;
                let metrics = serde_json::to_string(metrics).map_err(|e| invalid("metrics", e.to_string()))?;
                tx.execute(
                    "INSERT INTO study_trials (study_id, number, config_json, state, metrics_json, reason, heartbeat_ms, finished_at)
                     VALUES (?1, ?2, ?3, 'complete', ?4, 'warm start', ?5, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                    params![study_id, number as u32, config, metrics, now],
                )?;
            }
            Ok(trials.len() as u32)
        })
    }

    /// A study by id or name.
    pub fn study(&self, id_or_name: &str) -> Result<StudySummary, StoreError> {
        let found = self.find_study(
            &format!("{SUMMARY} WHERE s.id = ?1 OR s.name = ?2 GROUP BY s.id"),
            id_or_name,
        )?;
        match found {
            Some(study) => Ok(study),
            None => Err(StoreError::NotFound {
                what: "study",
                name: id_or_name.to_string(),
                known: self.studies()?.into_iter().map(|s| s.name).collect(),
            }),
        }
    }

    /// A study by id or name without its trial counts (they are 0): the
    /// cheap lookup for ask and tell, which need only its identity, model,
    /// strategy and seed. [`Store::study`] counts the trials.
    pub fn study_head(&self, id_or_name: &str) -> Result<StudySummary, StoreError> {
        let found = self.find_study(
            "SELECT id, name, model, profile_id, strategy, seed, created_at, 0, 0, 0, 0 FROM studies
             WHERE id = ?1 OR name = ?2",
            id_or_name,
        )?;
        match found {
            Some(study) => Ok(study),
            None => self.study(id_or_name),
        }
    }

    /// The one study `sql` selects as a summary row, with `?1` bound to
    /// `id_or_name` as an id (-1 when it is not a number) and `?2` as a name.
    fn find_study(&self, sql: &str, id_or_name: &str) -> Result<Option<StudySummary>, StoreError> {
        self.read(|c| {
            Ok(c.query_row(
                sql,
                params![id_or_name.parse::<i64>().unwrap_or(-1), id_or_name],
                summary_from_row,
            )
            .optional()?)
        })
    }

    pub fn studies(&self) -> Result<Vec<StudySummary>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{SUMMARY} GROUP BY s.id ORDER BY s.id"))?;
            let rows = stmt.query_map([], summary_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Every trial of a study, by number.
    pub fn study_trials(&self, study_id: i64) -> Result<Vec<StudyTrial>, StoreError> {
        self.read(|c| {
            let mut stmt = c.prepare(&format!("{TRIAL} WHERE study_id = ?1 ORDER BY number"))?;
            let rows = stmt.query_map([study_id], trial_from_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Hands out `count` trials: first running trials whose heartbeat is
    /// older than `stale_after` (asked again), then new ones from
    /// `suggest(history, first_new_number, how_many)`. A failed suggest is
    /// stored as one failed trial with its reason.
    ///
    /// `suggest` runs outside any transaction (a strategy call can take
    /// seconds, and no other writer may wait on it): the ask is
    /// [`Store::ask_begin`], the call, then [`Store::ask_commit`], which
    /// refuses the suggestion if another connection added trials meanwhile;
    /// then the ask starts over on the new history. So no trial is handed out
    /// twice, no number is used twice, and every configuration was suggested
    /// with the history it is stored after.
    pub fn ask(
        &mut self,
        study_id: i64,
        count: u32,
        stale_after: Duration,
        mut suggest: impl FnMut(&[StudyTrial], u32, u32) -> Suggested,
    ) -> Result<Vec<StudyTrial>, StoreError> {
        let mut handed = Vec::new();
        for _ in 0..MOST_ASK_ATTEMPTS {
            let begun = self.ask_begin(study_id, count - handed.len() as u32, stale_after)?;
            handed.extend(begun.stale);
            if begun.wanted == 0 {
                return Ok(handed);
            }
            let suggested = suggest(self.cached_history(study_id), begun.next, begun.wanted);
            match self.ask_commit(study_id, begun.next, suggested)? {
                Committed::Stored(new) => {
                    handed.extend(new);
                    return Ok(handed);
                }
                Committed::HistoryChanged => continue,
            }
        }
        Err(invalid(
            "study",
            format!(
                "other workers kept adding trials while this ask was suggesting ({MOST_ASK_ATTEMPTS} attempts); \
                 ask again"
            ),
        ))
    }

    /// The first step of an ask, one short write transaction: hands out up
    /// to `count` stale trials again (their heartbeat is renewed, so no
    /// other asker takes them), and loads the study's history into this
    /// connection's cache (see [`Store::cached_history`]) for the
    /// suggestion of the rest.
    pub fn ask_begin(
        &mut self,
        study_id: i64,
        count: u32,
        stale_after: Duration,
    ) -> Result<AskBegun, StoreError> {
        let now = now_ms();
        let stale_before = now - stale_after.as_millis() as i64;
        let mut cache = std::mem::take(&mut self.histories);
        let mut seen = self.seen_data_version;
        let begun = self.write(|tx| {
            refresh_cache(tx, &mut cache, &mut seen)?;
            let mut stmt = tx.prepare(&format!(
                "{TRIAL} WHERE study_id = ?1 AND state = 'running' AND heartbeat_ms < ?2 ORDER BY number LIMIT ?3"
            ))?;
            let stale: Vec<StudyTrial> =
                stmt.query_map(params![study_id, stale_before, count], trial_from_row)?.collect::<Result<_, _>>()?;
            drop(stmt);
            for t in &stale {
                tx.execute(
                    "UPDATE study_trials SET heartbeat_ms = ?3 WHERE study_id = ?1 AND number = ?2",
                    params![study_id, t.number, now],
                )?;
            }
            let wanted = count.saturating_sub(stale.len() as u32);
            let history = load_history(tx, &mut cache, study_id)?;
            let next = history.last().map_or(0, |t| t.number + 1);
            Ok(AskBegun { stale, wanted, next })
        });
        if begun.is_err() {
            cache.remove(&study_id);
        }
        self.histories = cache;
        self.seen_data_version = seen;
        begun
    }

    /// The study's history as [`Store::ask_begin`] last loaded it, with the
    /// trials this connection has written since (empty if not loaded).
    pub fn cached_history(&self, study_id: i64) -> &[StudyTrial] {
        self.histories.get(&study_id).map_or(&[], Vec::as_slice)
    }

    /// The last step of an ask: stores what `suggest` produced as trials
    /// `next`, `next + 1`, ... in one write transaction, unless another
    /// connection added trials since [`Store::ask_begin`] (then nothing is
    /// written and the ask must begin again: the suggestion was made
    /// without those trials).
    pub fn ask_commit(
        &mut self,
        study_id: i64,
        next: u32,
        suggested: Suggested,
    ) -> Result<Committed, StoreError> {
        let now = now_ms();
        let mut cache = std::mem::take(&mut self.histories);
        let mut seen = self.seen_data_version;
        let committed = self.write(|tx| {
            let stored_next: u32 = tx.query_row(
                "SELECT COALESCE(MAX(number) + 1, 0) FROM study_trials WHERE study_id = ?1",
                [study_id],
                |r| r.get(0),
            )?;
            if stored_next != next {
                return Ok(Committed::HistoryChanged);
            }
            // Trials told by others since the ask began: the cache is stale.
            refresh_cache(tx, &mut cache, &mut seen)?;
            let new: Vec<(Config, Option<u64>, TrialState, Option<String>)> = match suggested {
                Ok(configs) => {
                    configs.into_iter().map(|(c, fuel)| (c, Some(fuel), TrialState::Running, None)).collect()
                }
                Err(reason) => vec![(Vec::new(), None, TrialState::Failed, Some(reason))],
            };
            let mut stored = Vec::with_capacity(new.len());
            for (i, (config, fuel, state, reason)) in new.into_iter().enumerate() {
                let number = next + i as u32;
                let config_json = serde_json::to_string(&config).map_err(|e| invalid("config", e.to_string()))?;
                let finished = (state == TrialState::Failed).then_some(());
                tx.execute(
                    "INSERT INTO study_trials (study_id, number, config_json, state, reason, fuel, heartbeat_ms, finished_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?8 THEN strftime('%Y-%m-%dT%H:%M:%fZ', 'now') END)",
                    params![study_id, number, config_json, state_name(state), reason, fuel.map(|f| f as i64), now, finished.is_some()],
                )?;
                stored.push(tx.query_row(
                    &format!("{TRIAL} WHERE study_id = ?1 AND number = ?2"),
                    params![study_id, number],
                    trial_from_row,
                )?);
            }
            if let Some(history) = cache.get_mut(&study_id) {
                if history.last().map_or(0, |t| t.number + 1) == next {
                    history.extend(stored.iter().cloned());
                } else {
                    cache.remove(&study_id);
                }
            }
            Ok(Committed::Stored(stored))
        });
        if committed.is_err() {
            // The transaction rolled back: what was appended is not on disk.
            cache.remove(&study_id);
        }
        self.histories = cache;
        self.seen_data_version = seen;
        committed
    }

    /// Records a trial's outcome. Only a running trial can be told; telling
    /// twice is refused, so a slow worker cannot overwrite a result.
    pub fn tell(&mut self, study_id: i64, number: u32, told: Told) -> Result<StudyTrial, StoreError> {
        let (state, metrics, reason) = match &told {
            Told::Complete(metrics) => {
                if metrics.iter().any(|(_, v)| !v.is_finite()) {
                    return Err(invalid("metrics", "every metric value must be a finite number"));
                }
                (
                    TrialState::Complete,
                    Some(serde_json::to_string(metrics).unwrap_or_default()),
                    None,
                )
            }
            Told::Failed(reason) => (TrialState::Failed, None, Some(reason.clone())),
            Told::Pruned => (TrialState::Pruned, None, None),
        };
        let told = self.write(|tx| {
            let current: Option<String> = tx
                .query_row(
                    "SELECT state FROM study_trials WHERE study_id = ?1 AND number = ?2",
                    params![study_id, number],
                    |r| r.get(0),
                )
                .optional()?;
            match current.as_deref() {
                None => {
                    return Err(StoreError::NotFound {
                        what: "trial",
                        name: number.to_string(),
                        known: Vec::new(),
                    })
                }
                Some("running") => {}
                Some(other) => {
                    return Err(invalid(
                        "trial",
                        format!("trial {number} is already {other}; it cannot be told again"),
                    ))
                }
            }
            tx.execute(
                "UPDATE study_trials SET state = ?3, metrics_json = ?4, reason = ?5,
                     finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
                 WHERE study_id = ?1 AND number = ?2",
                params![study_id, number, state_name(state), metrics, reason],
            )?;
            Ok(tx.query_row(
                &format!("{TRIAL} WHERE study_id = ?1 AND number = ?2"),
                params![study_id, number],
                trial_from_row,
            )?)
        });
        // Keep this connection's cached history in step with what it wrote
        // (numbers are dense, so trial `n` is at index `n`).
        match &told {
            Ok(trial) => {
                if let Some(slot) = self
                    .histories
                    .get_mut(&study_id)
                    .and_then(|h| h.get_mut(number as usize))
                    .filter(|t| t.number == number)
                {
                    *slot = trial.clone();
                } else {
                    self.histories.remove(&study_id);
                }
            }
            Err(_) => {
                self.histories.remove(&study_id);
            }
        }
        told
    }
}
