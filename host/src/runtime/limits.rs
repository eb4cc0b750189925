//! Per-call limits and the usage reported back with every result.

use serde::Serialize;
use std::time::Duration;

/// What one plugin call may use. Every limit is per call; defaults are
/// generous for real strategies and small enough that a hostile plugin is
/// stopped within seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Limits {
    /// Deterministic CPU budget in wasmtime fuel units (roughly one per wasm
    /// instruction); `None` means unlimited. Default 10^10, about a second.
    pub fuel: Option<u64>,
    /// Wall-clock backstop, for what fuel does not count (host calls).
    /// Default 10 s. Serialized as `timeout_ms`.
    #[serde(rename = "timeout_ms", serialize_with = "as_millis")]
    pub timeout: Duration,
    /// Linear memory across all of the plugin's memories. Default 512 MiB;
    /// at most [`MAX_MEMORY_BYTES`].
    pub memory_bytes: u64,
    /// Size of the returned value (strings and lists). Default 16 MiB.
    pub output_bytes: u64,
    /// Log lines kept per call. Default 1,000.
    pub log_lines: usize,
    /// Log bytes kept per call. Default 256 KiB.
    pub log_bytes: usize,
}

/// The largest linear memory the engine reserves per plugin instance.
pub const MAX_MEMORY_BYTES: u64 = 4 << 30;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: Some(10_000_000_000),
            timeout: Duration::from_secs(10),
            memory_bytes: 512 << 20,
            output_bytes: 16 << 20,
            log_lines: 1_000,
            log_bytes: 256 << 10,
        }
    }
}

/// What a call used, reported with its result or its failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Usage {
    /// Fuel consumed, including instantiation.
    pub fuel: u64,
    /// Peak linear memory in bytes.
    pub peak_memory_bytes: u64,
    /// Wall time of the call including instantiation, in microseconds.
    pub wall_time_us: u64,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}
