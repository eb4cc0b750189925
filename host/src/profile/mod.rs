//! Profiles: one deployment's knobs, baseline, goals and measurements.
//!
//! `load` reads a TOML file, checks it completely and returns either a whole
//! [`Profile`] or every problem found, each with file, line and column. A
//! profile is never half-loaded.
//!
//! Where data may come from is part of the check: a profile file reads
//! `[data]` only from its own folder (or paths the user allowed), and an
//! uploaded profile ([`parse_upload`]) only from the files uploaded with it,
//! so a profile can never make the host read, echo or store a file its
//! author could not read anyway.
//!
//! Loading takes time linear in the size of the files. The limits below
//! keep the loaded profile linear in their size too, and each one exceeded
//! is a problem with file and line.

mod data;
mod model;
mod parse;
mod problem;
mod tables;

pub use model::*;
pub use parse::{allow_data, load, load_with, parse, parse_upload};
pub use problem::{did_you_mean, Problem, ProfileError};
pub use tables::{is_non_negative_metric, parse_knob, parse_metric};

/// Columns in one data file: CSV header fields, or distinct keys over all
/// lines of a JSON Lines file. Every request record keeps a slot for each
/// custom metric of its log (the flat `extra` block strategies receive), so
/// a log's memory is records × columns: this cap keeps it linear in the
/// records, at most 8 KiB each. It also caps a request log's custom
/// metrics over all its files. The bundled examples have at most 12.
pub const MAX_COLUMNS: usize = 1024;

/// Bytes in one line of a data file, without its line break (a CSV line, or
/// one JSON Lines object). Reading holds one line at a time, so this bounds
/// the memory of reading a row; a prompt belongs in a request log as an id
/// or hash, not as a document. The bundled examples' longest line is under
/// 1 KiB.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Labels of one choice knob. Strategies receive every label on every
/// call; this is far beyond any space a strategy can search (the bundled
/// examples have at most 12) while leaving room for knobs such as "which of
/// these prompts".
pub const MAX_CHOICE_LABELS: usize = 1_000_000;

/// Problems listed per data file; the rest are counted in a final one.
pub const MAX_PROBLEMS_PER_FILE: usize = 50;

/// The hex sha256 of the profile's JSON form: what the store compares to
/// tell a changed profile from a re-import of the same one.
pub fn content_hash(profile: &Profile) -> Result<String, serde_json::Error> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(serde_json::to_vec(profile)?);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}
