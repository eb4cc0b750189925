//! aiopt: an optimization engine for deployed AI models.
//!
//! A [`profile::Profile`] describes one deployment (its knobs, today's
//! configuration, what "better" means and what has been measured). Strategies
//! are WebAssembly components run by [`runtime::Runtime`] in a sandbox; they
//! read a profile and propose better configurations ([`report::Report`]).
//!
//! Data flows one way: input files → `profile` → `runtime` → `report`. Only
//! the `cli` module (and the binary) prints or reads arguments.

pub mod api;
pub mod benchmark;
pub mod cli;
pub mod evaluator;
pub mod profile;
pub mod report;
pub mod runtime;
pub mod service;
pub mod store;
pub mod study;
