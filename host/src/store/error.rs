//! Everything that can go wrong with the database, typed so the CLI can map
//! each kind to an exit code and tell the user what to do about it.

use std::path::{Path, PathBuf};

use rusqlite::ErrorCode;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process held the write lock for longer than the busy timeout.
    /// Nothing was written; the operation can simply be retried.
    #[error("database {} is busy: another aiopt process is writing to it; try again when it has finished",
        .path.display())]
    Busy { path: PathBuf },

    /// The database was migrated by a newer aiopt; this one does not know
    /// its tables and must not write to them.
    #[error("database {} has schema version {found}, written by a newer aiopt; this aiopt supports \
        schema versions up to {supported}: upgrade aiopt, or use another database with --db",
        .path.display())]
    TooNew {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    /// No row with that name or id. `known` lists what exists, when that is
    /// a short list of names the user could have meant.
    #[error("no {what} `{name}` in the database{}", known_note(.known))]
    NotFound {
        what: &'static str,
        name: String,
        known: Vec<String>,
    },

    /// The caller passed something the store will not record.
    #[error("cannot store {what}: {why}")]
    Invalid { what: &'static str, why: String },

    /// The file is not an aiopt database, or a row no longer decodes.
    #[error("database {} is damaged or not an aiopt database: {why} (move it aside, or use another with --db)",
        .path.display())]
    Corrupt { path: PathBuf, why: String },

    /// The database could not be opened or set up as required.
    #[error("cannot open database {}: {why}", .path.display())]
    Open { path: PathBuf, why: String },

    #[error("cannot create the folder for database {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Any other SQLite failure (disk full, read-only file, ...).
    #[error("database {}: {source}", .path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// A stable machine-readable name for the kind, for `--json` output.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreError::Busy { .. } => "database-busy",
            StoreError::TooNew { .. } => "database-too-new",
            StoreError::NotFound { .. } => "not-found",
            StoreError::Invalid { .. } => "invalid",
            StoreError::Corrupt { .. } => "database-corrupt",
            StoreError::Open { .. } => "database-open",
            StoreError::Io { .. } => "io",
            StoreError::Sqlite { .. } => "database",
        }
    }

    /// Fills in the database path, which the `From<rusqlite::Error>`
    /// conversion used inside queries does not know.
    pub(super) fn at(mut self, database: &Path) -> Self {
        match &mut self {
            StoreError::Busy { path }
            | StoreError::TooNew { path, .. }
            | StoreError::Corrupt { path, .. }
            | StoreError::Open { path, .. }
            | StoreError::Sqlite { path, .. }
                if path.as_os_str().is_empty() =>
            {
                *path = database.to_path_buf();
            }
            _ => {}
        }
        self
    }

    pub(super) fn corrupt(why: impl Into<String>) -> Self {
        StoreError::Corrupt {
            path: PathBuf::new(),
            why: why.into(),
        }
    }
}

/// Classifies by SQLite's result code, never by message text: a lock held
/// past the busy timeout is `Busy`, a file that is not a database is
/// `Corrupt`. The path is filled in by [`StoreError::at`].
impl From<rusqlite::Error> for StoreError {
    fn from(source: rusqlite::Error) -> Self {
        let path = PathBuf::new();
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy { path },
            Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
                path,
                why: source.to_string(),
            },
            _ => StoreError::Sqlite { path, source },
        }
    }
}

fn known_note(known: &[String]) -> String {
    if known.is_empty() {
        String::new()
    } else {
        format!(" (known: {})", known.join(", "))
    }
}
