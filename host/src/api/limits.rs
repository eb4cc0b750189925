//! What every request is held to, as middleware: a deadline, a body size,
//! and an error body that is always a problem.
//!
//! * **Deadline.** Each request gets one (`--request-timeout-s`), set as the
//!   task-local [`DEADLINE`] that every wait of the handlers reads: waiting
//!   for a core, for the database thread, for a study's suggestion. A write
//!   that has not started by the deadline is not started, so a request
//!   answered "timed out" has written nothing. A backstop ends a request
//!   that somehow runs past its deadline by [`BACKSTOP`].
//! * **Body size.** `--body-limit-mb`, for every extractor (axum's own
//!   default of 2 MiB is replaced) and up front from `Content-Length`: a
//!   body declared too large is a 413 problem before it is read. A client
//!   that sends it anyway without waiting for `100 Continue` has it read
//!   and discarded (for at most [`DRAIN_FOR`]) so that it sees the 413
//!   instead of a connection reset.
//! * **Problem bodies.** Any error response that is not already
//!   `application/problem+json` (413 from a limit, 405 from the router) is
//!   turned into one, keeping its status and headers.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use super::problem::Problem;
use super::state::DEADLINE;

/// How long past its deadline a request may run before the backstop
/// answers for it.
pub const BACKSTOP: Duration = Duration::from_secs(30);

/// How long an oversized body is read and discarded before the 413.
pub const DRAIN_FOR: Duration = Duration::from_secs(5);

/// Gives the request its deadline, and answers for it if it runs past the
/// deadline by [`BACKSTOP`].
pub async fn deadline(timeout: Duration, request: Request, next: Next) -> Response {
    let deadline = Instant::now() + timeout;
    let served = DEADLINE.scope(deadline, next.run(request));
    match tokio::time::timeout(timeout + BACKSTOP, served).await {
        Ok(response) => response,
        Err(_) => {
            let mut problem = Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "Timed out",
                format!(
                    "the request ran {} s past its {} s deadline and was stopped; a write it had started \
                     may have been committed, so check before retrying",
                    BACKSTOP.as_secs(),
                    timeout.as_secs()
                ),
            );
            problem.retry_after = Some(1);
            problem.into_response()
        }
    }
}

/// Refuses a body whose `Content-Length` is over `limit` with a 413
/// problem, without reading it into memory.
pub async fn body_limit(limit: usize, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(length) = declared.filter(|&n| n > limit as u64) else {
        return next.run(request).await;
    };
    let waits_for_continue = request
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if !waits_for_continue {
        drain(request.into_body()).await;
    }
    let mut response = too_large(limit, Some(length)).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn too_large(limit: usize, length: Option<u64>) -> Problem {
    let declared = length.map(|n| format!(" of {n} bytes")).unwrap_or_default();
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        "Request body too large",
        format!(
            "the request body{declared} is over this server's limit of {} bytes ({:.1} MiB; `aiopt serve \
             --body-limit-mb`)",
            limit,
            limit as f64 / f64::from(1u32 << 20)
        ),
    )
}

/// Reads and discards a body for at most [`DRAIN_FOR`].
async fn drain(body: Body) {
    let mut body = body;
    let until = tokio::time::Instant::now() + DRAIN_FOR;
    while let Ok(Some(Ok(_))) = tokio::time::timeout_at(until, body.frame()).await {}
}

/// Turns an error response that is not a problem (axum's 413 and 405, a
/// rejection's text) into one, keeping its status and headers.
pub async fn problem_bodies(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 << 10).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let reason = status.canonical_reason().unwrap_or("Error");
    let detail = if text.is_empty() { reason.to_string() } else { text };
    let (kind, title) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("too-large", "Request body too large"),
        StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
        StatusCode::NOT_FOUND => ("not-found", "Not found"),
        s if s.is_server_error() => ("internal", "Internal error"),
        _ => ("bad-request", reason),
    };
    let problem = Problem::new(status, kind, title, detail).into_response();
    let (problem_parts, problem_body) = problem.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    if let Some(ct) = problem_parts.headers.get(header::CONTENT_TYPE) {
        parts.headers.insert(header::CONTENT_TYPE, ct.clone());
    }
    Response::from_parts(parts, problem_body)
}
