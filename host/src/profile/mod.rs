//! Profiles: one deployment's knobs, baseline, goals and measurements.
//!
//! `load` reads a TOML file, checks it completely and returns either a whole
//! [`Profile`] or every problem found, each with file, line and column. A
//! profile is never half-loaded.

mod data;
mod model;
mod parse;
mod problem;
mod tables;

pub use model::*;
pub use parse::{load, parse};
pub use problem::{did_you_mean, Problem, ProfileError};
pub use tables::{parse_knob, parse_metric};

/// The hex sha256 of the profile's JSON form: what the store compares to
/// tell a changed profile from a re-import of the same one.
pub fn content_hash(profile: &Profile) -> Result<String, serde_json::Error> {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(serde_json::to_vec(profile)?);
    Ok(digest.iter().map(|b| format!("{b:02x}")).collect())
}
