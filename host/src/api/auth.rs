//! Bearer tokens: every state-changing route needs one; reads too unless
//! the server was started with open reads (the health probe and
//! `/metrics` never need one).

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

use super::problem::Problem;
use super::state::AppState;

/// Whether `given` equals one of `tokens`, comparing in time that depends
/// only on the lengths (no early exit on the first differing byte), so a
/// client cannot find a token byte by byte from response times.
pub fn token_matches(tokens: &[String], given: &str) -> bool {
    let mut found = false;
    for token in tokens {
        let (a, b) = (token.as_bytes(), given.as_bytes());
        let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
        for i in 0..a.len().max(b.len()) {
            diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0xff);
        }
        found |= diff == 0;
    }
    found
}

/// The token of `Authorization: Bearer TOKEN`: the scheme in any case
/// (RFC 9110 §11.1: `bearer`, `BEARER`), then one or more spaces, then the
/// token.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim_start_matches(' ');
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Middleware: checks the bearer token on writes (and on reads unless
/// they are open). Without configured tokens (loopback only, see
/// `serve`) everything is allowed.
pub async fn require_token(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let write = !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    // Liveness probes carry no secrets and must work without one.
    let probe = request.uri().path() == "/api/v1/health";
    if state.tokens.is_empty() || (!write && (state.open_reads || probe)) {
        return next.run(request).await;
    }
    match bearer_token(request.headers()) {
        Some(token) if token_matches(&state.tokens, token) => next.run(request).await,
        Some(_) => Problem::unauthorized("the bearer token is not one this server accepts").into_response(),
        None => Problem::unauthorized(if write {
            "this route changes state: send `Authorization: Bearer <token>`"
        } else {
            "reads need a token on this server (started without --open-reads): send `Authorization: Bearer <token>`"
        })
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_exact_token_matches() {
        let tokens = vec!["s3cret-token".to_string(), "other".to_string()];
        assert!(token_matches(&tokens, "s3cret-token"));
        assert!(token_matches(&tokens, "other"));
        assert!(!token_matches(&tokens, "s3cret-toke"));
        assert!(!token_matches(&tokens, "s3cret-tokenX"));
        assert!(!token_matches(&tokens, ""));
        assert!(!token_matches(&[], "anything"));
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        use axum::http::HeaderValue;
        let token = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            bearer_token(&headers).map(str::to_string)
        };
        for value in ["Bearer t0k", "bearer t0k", "BEARER t0k", "Bearer   t0k"] {
            assert_eq!(token(value).as_deref(), Some("t0k"), "{value}");
        }
        for value in ["Basic t0k", "Bearert0k", "Bearer", "Bearer ", "t0k"] {
            assert_eq!(token(value), None, "{value}");
        }
        assert_eq!(bearer_token(&HeaderMap::new()), None);
    }
}
