//! Logging through the host's `log` import.
//!
//! Plugins have no stdout the user sees and no files, so the host's `log`
//! import is their only diagnostic channel; the host tags and rate-limits
//! every line. Natively (tests and benchmarks call strategies as plain Rust)
//! the import does not exist — wit-bindgen's native stub panics — so lines go
//! to stderr instead.

#![forbid(unsafe_code)]

use crate::Level;

/// Sends one line to the host log at `level`.
///
/// Prefer the [`log!`](crate::log!) family of macros, which format the
/// message; call this directly to pass a string you already have. On targets
/// other than wasm32 the line is written to stderr as `[level] message`.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::__private::aiopt::strategy::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[{}] {message}", level_name(level));
}

/// The lowercase WIT name of a level, as users see it in configuration.
#[cfg(not(target_arch = "wasm32"))]
fn level_name(level: Level) -> &'static str {
    match level {
        Level::Trace => "trace",
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warn => "warn",
        Level::Error => "error",
    }
}

/// Formats a message and logs it at the given [`Level`](crate::Level).
///
/// ```
/// use aiopt_sdk::Level;
/// let tried = 12;
/// aiopt_sdk::log!(Level::Info, "{tried} configurations already tried");
/// ```
#[macro_export]
macro_rules! log {
    ($level:expr, $($arg:tt)+) => {
        $crate::log($level, &::std::format!($($arg)+))
    };
}

/// Logs a formatted message at [`Level::Trace`](crate::Level::Trace).
#[macro_export]
macro_rules! trace {
    ($($arg:tt)+) => { $crate::log!($crate::Level::Trace, $($arg)+) };
}

/// Logs a formatted message at [`Level::Debug`](crate::Level::Debug).
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => { $crate::log!($crate::Level::Debug, $($arg)+) };
}

/// Logs a formatted message at [`Level::Info`](crate::Level::Info).
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => { $crate::log!($crate::Level::Info, $($arg)+) };
}

/// Logs a formatted message at [`Level::Warn`](crate::Level::Warn).
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => { $crate::log!($crate::Level::Warn, $($arg)+) };
}

/// Logs a formatted message at [`Level::Error`](crate::Level::Error).
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => { $crate::log!($crate::Level::Error, $($arg)+) };
}
