//! End-to-end tests: the real `aiopt` binary, real plugins compiled to
//! components, real files. One test binary (ripgrep's layout) so wasmtime is
//! linked once.
//!
//! The plugins and fixtures must be built first: `cargo xtask test` does it.

mod api;
mod browser;
mod cli;
mod dashboard;
mod deadlines;
mod evaluator;
mod http;
mod outputs;
mod profile;
mod runtime;
mod server;
mod store;
mod strategies;
mod study;
mod tokens;
mod uploads;
mod util;
