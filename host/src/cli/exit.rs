//! Exit codes scripts can rely on (listed in the README).

use crate::evaluator::EvalError;
use crate::profile::ProfileError;
use crate::runtime::registry::RegistryError;
use crate::runtime::{CallFailure, RuntimeError};
use crate::store::StoreError;
use crate::study::NoFeasibleTrial;

/// A process exit status with a documented meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    Ok = 0,
    /// Anything not listed below.
    Failure = 1,
    /// Bad command-line usage (clap).
    Usage = 2,
    /// A profile or input file is missing or invalid.
    DataError = 3,
    /// No plugin by that name.
    PluginNotFound = 4,
    /// The strategy itself returned an error (invalid input, unsupported, failed).
    StrategyError = 5,
    /// The database is busy (another process is writing) or from a newer aiopt.
    DatabaseUnavailable = 6,
    /// No stored model, report or version by that name or id.
    NotFound = 7,
    /// A user command measuring a configuration failed, timed out or printed no metrics.
    EvaluationFailed = 8,
    /// No complete trial satisfies the profile's constraints (the message
    /// names them, the closest trial, and whether any observation does).
    NoFeasibleTrial = 9,
    FuelExhausted = 10,
    Timeout = 11,
    MemoryLimit = 12,
    Trap = 13,
    InvalidOutput = 14,
    Incompatible = 15,
    NotAComponent = 16,
}

/// The exit code for an error from any command.
pub fn exit_code(error: &anyhow::Error) -> ExitCode {
    for cause in error.chain() {
        if cause.downcast_ref::<ProfileError>().is_some() {
            return ExitCode::DataError;
        }
        if cause.downcast_ref::<crate::service::WrongKind>().is_some() {
            return ExitCode::Usage;
        }
        if cause.downcast_ref::<NoFeasibleTrial>().is_some() {
            return ExitCode::NoFeasibleTrial;
        }
        if cause.downcast_ref::<EvalError>().is_some() {
            return ExitCode::EvaluationFailed;
        }
        if let Some(e) = cause.downcast_ref::<StoreError>() {
            return match e {
                StoreError::Busy { .. } | StoreError::TooNew { .. } => ExitCode::DatabaseUnavailable,
                StoreError::NotFound { .. } => ExitCode::NotFound,
                _ => ExitCode::Failure,
            };
        }
        if let Some(e) = cause.downcast_ref::<RegistryError>() {
            return match e {
                RegistryError::NotFound { .. } | RegistryError::NoSuchName => ExitCode::PluginNotFound,
                RegistryError::NameTaken { .. } => ExitCode::Usage,
                RegistryError::BadName { .. } => ExitCode::DataError,
                RegistryError::Runtime(r) => runtime_code(r),
                _ => ExitCode::Failure,
            };
        }
        if let Some(e) = cause.downcast_ref::<CallFailure>() {
            return runtime_code(&e.error);
        }
        if let Some(e) = cause.downcast_ref::<RuntimeError>() {
            return runtime_code(e);
        }
    }
    ExitCode::Failure
}

fn runtime_code(error: &RuntimeError) -> ExitCode {
    match error {
        RuntimeError::FuelExhausted { .. } => ExitCode::FuelExhausted,
        RuntimeError::Timeout { .. } => ExitCode::Timeout,
        RuntimeError::MemoryLimit { .. } => ExitCode::MemoryLimit,
        RuntimeError::Trap { .. } => ExitCode::Trap,
        RuntimeError::InvalidOutput { .. } => ExitCode::InvalidOutput,
        RuntimeError::Incompatible { .. } => ExitCode::Incompatible,
        RuntimeError::NotAComponent { .. } => ExitCode::NotAComponent,
        RuntimeError::Strategy { .. } => ExitCode::StrategyError,
        RuntimeError::Io { .. } => ExitCode::DataError,
        _ => ExitCode::Failure,
    }
}
