//! RFC 9457 problem details: every error the API returns, with a stable
//! `type` per kind so clients can branch on it without parsing prose.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::cli::exit::{exit_code, ExitCode};
use crate::profile::ProfileError;
use crate::store::StoreError;

/// The `type` URIs are `urn:aiopt:problem:<kind>`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:aiopt:problem:<kind>`, one per kind of error (validation,
    /// not-found, unauthorized, plugin-trap, ...).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong in this request, in words.
    pub detail: String,
    /// For validation errors: every problem with file, line, column and
    /// field, as `aiopt profile check --json` reports them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub problems: Option<Box<serde_json::Value>>,
    /// Seconds after which a retry may succeed, sent as `Retry-After`.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("urn:aiopt:problem:{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            problems: None,
            retry_after: None,
        }
    }

    /// The server is too busy for this request now: 503 with `Retry-After`.
    pub fn busy(detail: impl Into<String>, retry_after_s: u64) -> Problem {
        let mut problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "busy", "Server busy", detail);
        problem.retry_after = Some(retry_after_s);
        problem
    }

    pub fn unauthorized(detail: &str) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", detail)
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request", detail)
    }

    /// Whether a plugin ran and failed (trapped, ran out of fuel, time or
    /// memory, returned invalid output, or reported an error), as opposed
    /// to a request that never reached one.
    pub fn is_plugin_failure(&self) -> bool {
        matches!(
            self.short_kind(),
            "strategy-error"
                | "plugin-fuel"
                | "plugin-timeout"
                | "plugin-memory"
                | "plugin-trap"
                | "plugin-invalid-output"
        )
    }

    /// The kind (the part after `urn:aiopt:problem:`), for metrics.
    pub fn short_kind(&self) -> &str {
        self.kind.rsplit(':').next().unwrap_or("internal")
    }
}

/// Any error of the application, classified like the CLI's exit codes so
/// the two interfaces agree on what a failure is.
impl From<anyhow::Error> for Problem {
    fn from(error: anyhow::Error) -> Problem {
        let detail = format!("{error:#}");
        if error
            .chain()
            .any(|c| c.downcast_ref::<crate::service::BadRequest>().is_some())
        {
            return Problem::bad_request(detail);
        }
        if error
            .chain()
            .any(|c| c.downcast_ref::<super::state::TimedOut>().is_some())
        {
            let mut problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "timeout", "Timed out", detail);
            problem.retry_after = Some(1);
            return problem;
        }
        if let Some(crate::runtime::registry::RegistryError::NameTaken { .. }) = error
            .chain()
            .find_map(|c| c.downcast_ref::<crate::runtime::registry::RegistryError>())
        {
            return Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", detail);
        }
        if let Some(StoreError::Invalid { why, .. }) =
            error.chain().find_map(|c| c.downcast_ref::<StoreError>())
        {
            // "exists already", "already complete": the state conflicts.
            return if why.contains("already") {
                Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", detail)
            } else {
                Problem::bad_request(detail)
            };
        }
        let (status, kind, title) = match exit_code(&error) {
            ExitCode::DataError => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid profile or input",
            ),
            ExitCode::Usage => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ExitCode::PluginNotFound => (StatusCode::NOT_FOUND, "plugin-not-found", "No such plugin"),
            ExitCode::StrategyError => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "strategy-error",
                "The strategy refused",
            ),
            ExitCode::DatabaseUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "database-unavailable",
                "Database busy or too new",
            ),
            ExitCode::NotFound => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ExitCode::EvaluationFailed => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "evaluation-failed",
                "Evaluation failed",
            ),
            ExitCode::NoFeasibleTrial => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "no-feasible-trial",
                "No trial meets the constraints",
            ),
            // The plugin named in the request failed on its input: the
            // server is fine, and the same request fails the same way
            // (fuel and memory are deterministic), so not a 5xx.
            ExitCode::FuelExhausted => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "plugin-fuel",
                "Plugin ran out of fuel",
            ),
            ExitCode::Timeout => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "plugin-timeout",
                "Plugin timed out",
            ),
            ExitCode::MemoryLimit => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "plugin-memory",
                "Plugin exceeded its memory limit",
            ),
            ExitCode::Trap => (StatusCode::UNPROCESSABLE_ENTITY, "plugin-trap", "Plugin crashed"),
            ExitCode::InvalidOutput => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "plugin-invalid-output",
                "Plugin returned invalid output",
            ),
            ExitCode::Incompatible => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "plugin-incompatible",
                "Plugin built for another contract",
            ),
            ExitCode::NotAComponent => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-a-component",
                "Not a WebAssembly component",
            ),
            ExitCode::Ok | ExitCode::Failure => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error")
            }
        };
        let mut problem = Problem::new(status, kind, title, detail);
        if let Some(p) = error.chain().find_map(|c| c.downcast_ref::<ProfileError>()) {
            problem.problems = Some(Box::new(serde_json::Value::Array(p.problems_json())));
        }
        problem
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response =
            (status, [(header::CONTENT_TYPE, "application/problem+json")], body).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(seconds));
        }
        response
    }
}
