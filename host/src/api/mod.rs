//! `aiopt serve`: the HTTP API (axum on tokio) over the same store,
//! sandbox and services as the CLI.
//!
//! Handlers never block the async workers: database and plugin work runs
//! on the blocking pool ([`state::AppState::blocking`]), strategy calls at
//! most one per core. Every error is an RFC 9457 problem
//! ([`problem::Problem`]). The OpenAPI document is generated from the
//! same router that serves the routes (utoipa-axum), so it cannot list a
//! route that does not exist or miss one that does.

mod activity;
mod asks;
mod auth;
mod dashboard;
mod extract;
mod limits;
mod metrics;
mod problem;
mod routes;
mod state;
mod studies;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::token_matches;
pub use problem::Problem;
use state::AppState;

/// How many strategy or benchmark requests may wait per core before more
/// are refused with 503 + `Retry-After`: enough to absorb a burst, few
/// enough that a waiting request is served within its deadline.
const MOST_WAITING_PER_CORE: usize = 8;

/// How `aiopt serve` was asked to run.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub addr: SocketAddr,
    /// Accepted bearer tokens; empty only on a loopback address.
    pub tokens: Vec<String>,
    /// Tokens that may also install plugins (`POST /plugins`); none: the
    /// route is refused.
    pub admin_tokens: Vec<String>,
    /// Reads (GET) without a token.
    pub open_reads: bool,
    /// Origins allowed to call from a browser; empty: CORS off.
    pub cors_origins: Vec<String>,
    pub body_limit_bytes: usize,
    pub request_timeout: Duration,
}

/// The server refuses to start this way.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "refusing to serve on {0} without a token: anyone who can reach it could change configurations. \
         Pass --token-file FILE or set AIOPT_TOKEN, or listen on 127.0.0.1"
    )]
    NoTokenOffLoopback(SocketAddr),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

#[derive(OpenApi)]
#[openapi(
    info(title = "aiopt", description = "Optimization engine for deployed AI models: profiles, strategies, \
        configurations, tuning studies for remote workers."),
    components(schemas(Problem)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API's routes with their OpenAPI document.
fn api_router() -> (Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::health))
        .routes(routes!(routes::list_profiles, routes::create_profile))
        .routes(routes!(routes::get_profile))
        .routes(routes!(routes::optimize))
        .routes(routes!(routes::fine_tune))
        .routes(routes!(routes::performance))
        .routes(routes!(routes::cost_reduction))
        .routes(routes!(routes::quality))
        .routes(routes!(routes::recommendations))
        .routes(routes!(routes::benchmark))
        .routes(routes!(routes::get_config, routes::put_config))
        .routes(routes!(routes::reset_config))
        .routes(routes!(routes::config_history))
        .routes(routes!(routes::list_plugins, routes::install_plugin))
        .routes(routes!(routes::plugin_activity))
        .routes(routes!(routes::get_plugin))
        .routes(routes!(studies::list_studies, studies::create_study))
        .routes(routes!(studies::get_study))
        .routes(routes!(studies::ask))
        .routes(routes!(studies::tell))
        .routes(routes!(studies::trials))
        .routes(routes!(studies::best))
        .routes(routes!(studies::analysis));
    OpenApiRouter::new().nest("/api/v1", v1).split_for_parts()
}

/// Every documented route as `METHOD /path`, for the test that the
/// document lists them all.
pub fn documented_routes() -> Vec<String> {
    let (_, doc) = api_router();
    let mut out = Vec::new();
    for (path, item) in &doc.paths.paths {
        let methods = [
            ("GET", item.get.is_some()),
            ("PUT", item.put.is_some()),
            ("POST", item.post.is_some()),
            ("DELETE", item.delete.is_some()),
        ];
        for (method, present) in methods {
            if present {
                out.push(format!("{method} {path}"));
            }
        }
    }
    out
}

/// Builds the whole application: routes, auth, limits, metrics, CORS.
fn app(state: Arc<AppState>, options: &ServeOptions) -> Router {
    let (api, doc) = api_router();
    let doc = Arc::new(doc);
    let api = api
        .route(
            "/api/v1/openapi.json",
            get(move || async move { axum::Json((*doc).clone()) }),
        )
        .layer(middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::require_token,
        ))
        .route("/metrics", get(render_metrics))
        .merge(dashboard::routes())
        .fallback(|| async {
            Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "no such route; see /api/v1/openapi.json",
            )
        });
    let (body_limit, timeout) = (options.body_limit_bytes, options.request_timeout);
    let mut app = api
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn(move |request, next| {
            limits::body_limit(body_limit, request, next)
        }))
        .layer(middleware::from_fn(move |request, next| {
            limits::deadline(timeout, request, next)
        }))
        .layer(middleware::from_fn(limits::problem_bodies))
        .with_state(state);
    if !options.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = options
            .cors_origins
            .iter()
            .filter_map(|o| o.parse().ok())
            .collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST, Method::PUT])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        );
    }
    app
}

async fn render_metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

/// One log line and the HTTP metrics per request, by matched route.
async fn observe(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed();
    state
        .metrics
        .http_requests
        .with_label_values(&[&route, &status])
        .inc();
    state
        .metrics
        .http_duration
        .with_label_values(&[&route])
        .observe(elapsed.as_secs_f64());
    tracing::info!(%method, route, status, latency_ms = elapsed.as_secs_f64() * 1e3, "request");
    response
}

/// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight
/// (every write is a committed transaction, so none is lost).
pub fn serve(db: &Path, data_dir: &Path, options: ServeOptions) -> anyhow::Result<()> {
    if options.tokens.is_empty() && options.admin_tokens.is_empty() && !options.addr.ip().is_loopback() {
        return Err(ServeError::NoTokenOffLoopback(options.addr).into());
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let metrics = metrics::Metrics::new();
    let state = Arc::new(AppState {
        db: db.to_path_buf(),
        database: state::database_thread(db.to_path_buf())?,
        plugins: Default::default(),
        profiles: Default::default(),
        study_inputs: Default::default(),
        asks: Default::default(),
        activity: Default::default(),
        data_dir: data_dir.to_path_buf(),
        runtime: crate::runtime::Runtime::new(Some(data_dir.join("cache")))?,
        work: state::WorkQueue::new(cores, MOST_WAITING_PER_CORE * cores, &metrics),
        tokens: options
            .tokens
            .iter()
            .chain(&options.admin_tokens)
            .cloned()
            .collect(),
        admin_tokens: options.admin_tokens.clone(),
        open_reads: options.open_reads,
        metrics,
    });
    // Fail before listening if the database cannot be opened.
    crate::store::Store::open(db)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AIOPT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(options.addr)
            .await
            .map_err(|source| ServeError::Bind {
                addr: options.addr,
                source,
            })?;
        let local: SocketAddr = listener.local_addr()?;
        // Tests and scripts read the bound port from this line.
        eprintln!(
            "aiopt serve: listening on http://{local} (database {})",
            db_display(db)
        );
        axum::serve(listener, app(state, &options))
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        eprintln!("aiopt serve: stopped after finishing requests in flight");
        anyhow::Ok(())
    })
}

fn db_display(db: &Path) -> String {
    PathBuf::from(db).display().to_string()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
