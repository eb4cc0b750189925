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
