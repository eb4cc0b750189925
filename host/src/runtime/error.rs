//! Everything that can go wrong loading or calling a plugin, typed so the CLI
//! and the API can map each kind to an exit code or a problem type.

use std::path::PathBuf;

use super::limits::Usage;
use super::logs::LogLine;

/// Why a plugin could not be loaded or a call gave no result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    #[error("plugin ran out of fuel: used {used} of its {limit} fuel budget (raise it with --fuel)")]
    FuelExhausted { used: u64, limit: u64 },

    #[error("plugin timed out after {limit_ms} ms of wall time (raise it with --timeout-ms)")]
    Timeout { limit_ms: u64 },

    #[error("plugin exceeded its memory limit of {} (raise it with --memory-mb){}",
        mebibytes(*.limit_bytes),
        .requested_bytes.map(|r| format!(": it asked for {} of linear memory", mebibytes(r))).unwrap_or_default())]
    MemoryLimit {
        limit_bytes: u64,
        requested_bytes: Option<u64>,
    },

    #[error("plugin trapped: {message}{}{}",
        if .log_tail.is_empty() { String::new() } else { format!("\nplugin output:\n{}", .log_tail) },
        .backtrace.as_ref().map(|b| format!("\nguest backtrace:\n{b}")).unwrap_or_default())]
    Trap {
        message: String,
        backtrace: Option<String>,
        log_tail: String,
    },

    #[error("plugin returned invalid output: {why}")]
    InvalidOutput { why: String },

    #[error("plugin is incompatible: it was built against {found}, this host supports {supported}")]
    Incompatible { found: String, supported: String },

    #[error("{} is not a WebAssembly component: {why}", .path.display())]
    NotAComponent { path: PathBuf, why: String },

    #[error("strategy reported {kind}: {message}")]
    Strategy {
        kind: StrategyErrorKind,
        message: String,
    },

    #[error("cannot read plugin {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("plugin runtime failure: {0}")]
    Internal(String),
}

/// The error a strategy returns on purpose (the WIT `error` variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyErrorKind {
    InvalidInput,
    Unsupported,
    Failed,
}

impl std::fmt::Display for StrategyErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StrategyErrorKind::InvalidInput => "invalid input",
            StrategyErrorKind::Unsupported => "unsupported",
            StrategyErrorKind::Failed => "a failure",
        })
    }
}

impl RuntimeError {
    /// A stable machine-readable name for the kind, used in `--json` output
    /// and (later) as the problem+json type.
    pub fn kind(&self) -> &'static str {
        match self {
            RuntimeError::FuelExhausted { .. } => "fuel-exhausted",
            RuntimeError::Timeout { .. } => "timeout",
            RuntimeError::MemoryLimit { .. } => "memory-limit",
            RuntimeError::Trap { .. } => "trap",
            RuntimeError::InvalidOutput { .. } => "invalid-output",
            RuntimeError::Incompatible { .. } => "incompatible",
            RuntimeError::NotAComponent { .. } => "not-a-component",
            RuntimeError::Strategy { .. } => "strategy-error",
            RuntimeError::Io { .. } => "io",
            RuntimeError::Internal(_) => "internal",
        }
    }
}

/// A failed call: the error plus what the call used and logged before it
/// failed, so the user can see how far it got.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct CallFailure {
    pub error: RuntimeError,
    pub usage: Usage,
    pub logs: Vec<LogLine>,
}

fn mebibytes(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
}
