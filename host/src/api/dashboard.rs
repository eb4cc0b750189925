//! The dashboard: a few static files embedded in the binary and served at
//! `/`, so `aiopt serve` needs no Node, no CDN and no files beside it. The
//! page only calls the API (no logic of its own to drift from the CLI's).
//!
//! `AIOPT_DASHBOARD_DIR` serves the files from that folder instead, read on
//! every request: for working on the page without rebuilding the binary.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// The files, by URL path.
const ASSETS: [(&str, &str, &str); 3] = [
    ("/", "index.html", "text/html; charset=utf-8"),
    ("/app.js", "app.js", "text/javascript; charset=utf-8"),
    ("/style.css", "style.css", "text/css; charset=utf-8"),
];

fn embedded(file: &str) -> &'static str {
    match file {
        "index.html" => include_str!("dashboard/index.html"),
        "app.js" => include_str!("dashboard/app.js"),
        _ => include_str!("dashboard/style.css"),
    }
}

/// The dashboard's routes (no token: the page asks for one and sends it
/// with its API calls, which check it).
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new();
    for (path, file, content_type) in ASSETS {
        router = router.route(path, get(move || async move { serve(file, content_type) }));
    }
    router
}

fn serve(file: &'static str, content_type: &'static str) -> Response {
    let body = match std::env::var_os("AIOPT_DASHBOARD_DIR") {
        Some(dir) => match std::fs::read_to_string(std::path::Path::new(&dir).join(file)) {
            Ok(text) => text,
            Err(e) => return (StatusCode::NOT_FOUND, format!("{file}: {e}")).into_response(),
        },
        None => embedded(file).to_string(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Nothing from elsewhere: no CDN, no inline script.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:",
            ),
        ],
        body,
    )
        .into_response()
}
