//! The handlers of `/api/v1`, each documented for the OpenAPI document by
//! its `#[utoipa::path]`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as JsonValue};
use utoipa::{IntoParams, ToSchema};

use super::extract::{Body, Path, Query};
use super::problem::Problem;
use super::state::AppState;
use crate::profile::{self, Value};
use crate::service::{self, BadRequest};

type Reply<T> = Result<Json<T>, Problem>;

/// Who the API records as the actor of configuration changes.
const ACTOR: &str = "api";

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the database is not writable or no plugin loads.
    status: String,
    version: String,
    database_writable: bool,
    plugins: Vec<String>,
    /// Whether writes and reads need a bearer token, so a client (the
    /// dashboard) can ask for one before its first write instead of
    /// provoking a 401.
    auth: AuthNeeds,
}

#[derive(Serialize, ToSchema)]
pub struct AuthNeeds {
    writes: bool,
    reads: bool,
}

/// Liveness and readiness: the database takes a write, the built-in
/// plugins load.
#[utoipa::path(get, path = "/health", tag = "health", responses((status = 200, body = Health)))]
pub async fn health(State(state): State<Arc<AppState>>) -> Reply<Health> {
    let writable = state
        .serialized(|_, store| Ok(store.ping_write().is_ok()))
        .await
        .unwrap_or(false);
    let health = state
        .blocking(move |state, _| {
            let registry = crate::runtime::registry::Registry::new(&state.data_dir);
            let plugins: Vec<String> = registry
                .list(&state.runtime)
                .into_iter()
                .filter(|(_, _, loaded)| loaded.is_ok())
                .map(|(name, _, _)| name)
                .collect();
            let ok = writable && !plugins.is_empty();
            Ok(Health {
                status: if ok { "ok" } else { "degraded" }.into(),
                version: env!("CARGO_PKG_VERSION").into(),
                database_writable: writable,
                plugins,
                auth: AuthNeeds {
                    writes: !state.tokens.is_empty(),
                    reads: !state.tokens.is_empty() && !state.open_reads,
                },
            })
        })
        .await?;
    Ok(Json(health))
}

/// A profile as its TOML text, with the data files it names.
#[derive(Deserialize, ToSchema)]
pub struct ProfileUpload {
    /// The profile's TOML, as `aiopt profile check` reads it.
    toml: String,
    /// The files its `[data]` names (e.g. `observations.csv`), by name. An
    /// uploaded profile's data come only from here: a `[data]` entry must
    /// be one of these names, never a path on the server.
    #[serde(default)]
    files: BTreeMap<String, String>,
}

/// Validates a profile exactly as the CLI does (every problem with file,
/// line and column) and stores it as the model's newest version. The body
/// is a [`ProfileUpload`] as JSON, or the TOML itself with
/// `Content-Type: application/toml` (then it can have no data files).
///
/// The upload is checked in memory and is self-contained: its `[data]`
/// entries name its own `files`, and no file of the server is opened, so
/// none can be echoed in a problem or stored.
#[utoipa::path(post, path = "/profiles", tag = "profiles",
    request_body(content((ProfileUpload = "application/json"), (String = "application/toml"))),
    responses((status = 201, body = Object), (status = 422, body = Problem)))]
pub async fn create_profile(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<JsonValue>), Problem> {
    let toml = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/toml"));
    // The TOML as bytes: invalid UTF-8 is a problem at its line and column.
    let (source, files) = if toml {
        (body.to_vec(), BTreeMap::new())
    } else {
        let upload: ProfileUpload = serde_json::from_slice(&body).map_err(|e| {
            Problem::bad_request(format!(
                "expected {{\"toml\": \"...\", \"files\": {{...}}}} as JSON, or TOML with Content-Type: \
                 application/toml: {e}"
            ))
        })?;
        (upload.toml.into_bytes(), upload.files)
    };
    let (profile, hash) = state
        .blocking(move |_, _| {
            for name in files.keys() {
                if std::path::Path::new(name).components().count() != 1 || name.starts_with('.') {
                    return Err(BadRequest(format!(
                        "file name `{name}` must be a plain name like observations.csv"
                    ))
                    .into());
                }
            }
            let profile = profile::parse_upload(&source, &files)?;
            let hash = profile::content_hash(&profile)?;
            Ok((profile, hash))
        })
        .await?;
    let stored = state
        .serialized(move |_, store| {
            let imported = store.import_profile(&profile, &hash, "api upload")?;
            Ok(json!({ "created": imported.created, "profile": imported.summary }))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// Every stored model with its newest profile version.
#[utoipa::path(get, path = "/profiles", tag = "profiles", responses((status = 200, body = Object)))]
pub async fn list_profiles(State(state): State<Arc<AppState>>) -> Reply<JsonValue> {
    let list = state.blocking(|_, store| Ok(json!(store.profiles()?))).await?;
    Ok(Json(list))
}

/// A stored model's newest profile, whole.
#[utoipa::path(get, path = "/profiles/{model}", tag = "profiles",
    params(("model" = String, Path, description = "The model (the profile's name)")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_profile(State(state): State<Arc<AppState>>, Path(model): Path<String>) -> Reply<JsonValue> {
    let profile = state
        .blocking(move |_, store| {
            let stored = store.profile(&model)?;
            Ok(json!({ "summary": stored.summary, "profile": stored.profile }))
        })
        .await?;
    Ok(Json(profile))
}

/// What to optimize and how.
#[derive(Deserialize, ToSchema)]
pub struct OptimizeRequest {
    /// A stored model's name.
    model: String,
    /// tuning, performance, cost or quality.
    #[serde(rename = "type")]
    kind: String,
    /// The strategy plugin (default: tpe for tuning, else the built-in
    /// named like the type).
    strategy: Option<String>,
    #[serde(default)]
    seed: u64,
}

/// Options of the per-type routes.
#[derive(Deserialize, ToSchema, Default)]
pub struct TypeOptions {
    strategy: Option<String>,
    #[serde(default)]
    seed: u64,
}

async fn optimize_kind(
    state: Arc<AppState>,
    model: String,
    kind: &'static str,
    options: TypeOptions,
) -> Reply<JsonValue> {
    let started = Instant::now();
    let strategy = options.strategy.unwrap_or_else(|| {
        if kind == "tuning" {
            "tpe".into()
        } else {
            kind.into()
        }
    });
    let metrics_model = model.clone();
    let plugin = strategy.clone();
    let wall_clock = (std::time::SystemTime::now(), started);
    let computed = state
        .strategy(move |state, store| {
            let plugin = state.plugin(&strategy)?;
            let computed =
                service::compute_recommend(store, &state.runtime, &plugin, &model, Some(kind), options.seed)?;
            let profile = store.profile(&model)?.profile;
            Ok((computed, profile))
        })
        .await;
    let result = match computed {
        Ok((computed, profile)) => {
            state
                .serialized(move |state, store| {
                    let done = service::save_recommend(store, computed)?;
                    let before = crate::report::baseline_metrics(&profile);
                    state.metrics.record_improvement(kind, &done.report, &before);
                    state
                        .metrics
                        .record_plugin_call(&done.strategy, "ok", done.usage.fuel);
                    Ok(json!(done))
                })
                .await
        }
        Err(problem) => Err(problem),
    };
    let outcome = if result.is_ok() { "ok" } else { "error" };
    state
        .metrics
        .optimization_requests
        .with_label_values(&[kind, &metrics_model, outcome])
        .inc();
    state
        .metrics
        .optimization_duration
        .with_label_values(&[kind])
        .observe(started.elapsed().as_secs_f64());
    // Failures before the plugin ran (an unknown model) are not calls.
    let outcome = match &result {
        Ok(done) => Some(Ok(done["usage"]["fuel"].as_u64().unwrap_or(0))),
        Err(problem) if problem.is_plugin_failure() => {
            Some(Err((problem.short_kind().to_string(), problem.detail.clone())))
        }
        Err(_) => None,
    };
    if let Some(outcome) = outcome {
        state.activity.record(&plugin, "recommend", wall_clock, outcome);
    }
    if let Err(problem) = &result {
        if problem.is_plugin_failure() {
            state
                .metrics
                .plugin_traps
                .with_label_values(&[kind, problem.short_kind()])
                .inc();
        }
    }
    Ok(Json(result?))
}

fn kind_of(kind: &str) -> Result<&'static str, Problem> {
    ["tuning", "performance", "cost", "quality"]
        .into_iter()
        .find(|k| *k == kind)
        .ok_or_else(|| {
            Problem::bad_request(format!(
                "type must be tuning, performance, cost or quality, not `{kind}`"
            ))
        })
}

/// Runs a strategy's `recommend` on a stored model and stores the report.
#[utoipa::path(post, path = "/optimize", tag = "optimize", request_body = OptimizeRequest,
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn optimize(
    State(state): State<Arc<AppState>>,
    Body(request): Body<OptimizeRequest>,
) -> Reply<JsonValue> {
    let kind = kind_of(&request.kind)?;
    let options = TypeOptions {
        strategy: request.strategy,
        seed: request.seed,
    };
    optimize_kind(state, request.model, kind, options).await
}

macro_rules! per_type_route {
    ($name:ident, $path:literal, $kind:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "optimize",
            params(("model" = String, Path, description = "A stored model")),
            request_body(content = TypeOptions, description = "Optional strategy and seed"),
            responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
        pub async fn $name(
            State(state): State<Arc<AppState>>,
            Path(model): Path<String>,
            body: Option<Body<TypeOptions>>,
        ) -> Reply<JsonValue> {
            optimize_kind(state, model, $kind, body.map(|Body(b)| b).unwrap_or_default()).await
        }
    };
}

per_type_route!(
    fine_tune,
    "/fine-tune/{model}",
    "tuning",
    "The tuning strategy's best measured configurations (studies run trials)."
);
per_type_route!(
    performance,
    "/performance/{model}",
    "performance",
    "Latency and throughput at the workload's peak."
);
per_type_route!(
    cost_reduction,
    "/cost-reduction/{model}",
    "cost",
    "The cheapest way to keep the quality floor."
);
per_type_route!(
    quality,
    "/quality/{model}",
    "quality",
    "The highest quality the cost budget allows."
);

#[derive(Deserialize, IntoParams)]
pub struct ProfileQuery {
    /// A stored model.
    profile: String,
    #[serde(default)]
    seed: u64,
}

/// Every applicable built-in strategy's proposals, ranked, as one report.
#[utoipa::path(get, path = "/recommendations", tag = "optimize", params(ProfileQuery),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn recommendations(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ProfileQuery>,
) -> Reply<JsonValue> {
    let computed = state
        .strategy(move |state, store| {
            service::compute_recommend_all(store, &state.runtime, &state.data_dir, &query.profile, query.seed)
        })
        .await?;
    let all = state
        .serialized(move |_, store| Ok(json!(service::save_recommend_all(store, computed)?)))
        .await?;
    Ok(Json(all))
}

/// The model's measurements summarized with 95% bootstrap intervals, stored
/// as a benchmark run.
#[utoipa::path(get, path = "/benchmark", tag = "benchmark", params(ProfileQuery),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn benchmark(
    State(state): State<Arc<AppState>>,
    Query(query): Query<ProfileQuery>,
) -> Reply<JsonValue> {
    let (profile, report) = state
        .strategy(move |_, store| {
            let profile = store.profile(&query.profile)?.profile;
            let report = crate::benchmark::run(&profile, query.seed);
            Ok((profile, report))
        })
        .await?;
    let run = state
        .serialized(move |state, store| {
            let run_id = store.save_benchmark_run(&profile.name, &serde_json::to_string(&report)?)?;
            state
                .metrics
                .benchmark_runs
                .with_label_values(&[&profile.name])
                .inc();
            record_benchmark_gauges(state, &profile.name, &report);
            let mut doc = serde_json::to_value(&report)?;
            doc["run_id"] = run_id.into();
            Ok(doc)
        })
        .await?;
    Ok(Json(run))
}

/// The per-model gauges from a benchmark: the baseline configuration's
/// measured means (what the model serves with today, per its profile).
fn record_benchmark_gauges(state: &AppState, model: &str, report: &crate::benchmark::BenchmarkReport) {
    let doc = serde_json::to_value(report).unwrap_or_default();
    let configurations = doc["configurations"].as_array().cloned().unwrap_or_default();
    let Some(metrics) = configurations
        .iter()
        .find(|c| c["is_baseline"] == true)
        .or(configurations.first())
        .and_then(|c| c["metrics"].as_array())
    else {
        return;
    };
    for m in metrics {
        let (Some(name), Some(value)) = (m["metric"].as_str(), m["value"].as_f64()) else {
            continue;
        };
        let m = &state.metrics;
        match name {
            "accuracy" => m.accuracy.with_label_values(&[model]).set(value),
            "cost_per_request_usd" => m.cost_usd.with_label_values(&[model]).set(value),
            "quality_score" => m.quality_score.with_label_values(&[model]).set(value),
            n if n.starts_with("latency_") => m.latency_ms.with_label_values(&[model, n]).set(value),
            _ => {}
        }
    }
}

/// The model's current configuration.
#[utoipa::path(get, path = "/config/{model}", tag = "config",
    params(("model" = String, Path, description = "A stored model")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_config(State(state): State<Arc<AppState>>, Path(model): Path<String>) -> Reply<JsonValue> {
    let current = state
        .blocking(move |_, store| Ok(json!(store.current_config(&model)?)))
        .await?;
    Ok(Json(current))
}

/// A change to a model's configuration: knob values, or a stored proposal.
#[derive(Deserialize, ToSchema)]
pub struct ConfigChange {
    /// Knobs to set, `{ "model": "x", "batch": 8 }`; others keep their value.
    #[schema(value_type = Option<Object>)]
    config: Option<serde_json::Map<String, JsonValue>>,
    /// A stored report's proposal, `REPORT.N` with N from 1.
    proposal: Option<String>,
}

/// Sets knobs or applies a stored proposal; every version is kept.
#[utoipa::path(put, path = "/config/{model}", tag = "config", request_body = ConfigChange,
    params(("model" = String, Path, description = "A stored model")),
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 404, body = Problem)))]
pub async fn put_config(
    State(state): State<Arc<AppState>>,
    Path(model): Path<String>,
    Body(change): Body<ConfigChange>,
) -> Reply<JsonValue> {
    let version = state
        .serialized(move |_, store| {
            let version = match (change.config, change.proposal) {
                (Some(config), None) => {
                    let mut values = Vec::new();
                    for (knob, v) in config {
                        let value: Value = serde_json::from_value(v.clone())
                            .map_err(|_| BadRequest(format!("`{knob}` = {v} is not a knob value")))?;
                        values.push((knob, value));
                    }
                    service::set_knobs(store, &model, values, ACTOR)?
                }
                (None, Some(proposal)) => {
                    let (report, n) =
                        crate::cli::parse_proposal_ref(&proposal).map_err(|e| BadRequest(e.to_string()))?;
                    service::apply_proposal(store, &model, report, n, ACTOR)?
                }
                _ => return Err(BadRequest("send exactly one of `config` and `proposal`".into()).into()),
            };
            Ok(json!(version))
        })
        .await?;
    Ok(Json(version))
}

/// Returns the model to its profile's baseline.
#[utoipa::path(post, path = "/config/{model}/reset", tag = "config",
    params(("model" = String, Path, description = "A stored model")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn reset_config(State(state): State<Arc<AppState>>, Path(model): Path<String>) -> Reply<JsonValue> {
    let version = state
        .serialized(move |_, store| Ok(json!(service::reset_config(store, &model, ACTOR)?)))
        .await?;
    Ok(Json(version))
}

/// Every version, oldest first, with the change from the one before.
#[utoipa::path(get, path = "/config/{model}/history", tag = "config",
    params(("model" = String, Path, description = "A stored model")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn config_history(
    State(state): State<Arc<AppState>>,
    Path(model): Path<String>,
) -> Reply<JsonValue> {
    let history = state
        .blocking(move |_, store| {
            let items: Vec<JsonValue> = service::config_history(store, &model)?
                .into_iter()
                .map(|(v, diff)| json!({ "version": v, "diff": diff }))
                .collect();
            Ok(json!(items))
        })
        .await?;
    Ok(Json(history))
}

/// The most recent plugin calls (newest first): fuel used and failures.
#[utoipa::path(get, path = "/plugins/activity", tag = "plugins", responses((status = 200, body = Object)))]
pub async fn plugin_activity(State(state): State<Arc<AppState>>) -> Reply<JsonValue> {
    Ok(Json(json!({ "calls": state.activity.recent() })))
}

/// Installed and built-in strategy plugins.
#[utoipa::path(get, path = "/plugins", tag = "plugins", responses((status = 200, body = Object)))]
pub async fn list_plugins(State(state): State<Arc<AppState>>) -> Reply<JsonValue> {
    let list = state
        .blocking(|state, _| {
            let registry = crate::runtime::registry::Registry::new(&state.data_dir);
            let items: Vec<JsonValue> = registry
                .list(&state.runtime)
                .into_iter()
                .map(|(name, source, loaded)| match loaded {
                    Ok(plugin) => crate::cli::plugin::describe(&plugin, &source),
                    Err(e) => json!({ "name": name, "source": source, "error": { "kind": e.kind(), "message": e.to_string() } }),
                })
                .collect();
            Ok(json!(items))
        })
        .await?;
    Ok(Json(list))
}

/// Options of a plugin install.
#[derive(Deserialize, IntoParams, Default)]
pub struct InstallQuery {
    /// Replace an installed plugin of the same name that is another
    /// component (without it, that is a 409).
    #[serde(default)]
    replace: bool,
}

/// Installs a strategy plugin (the `.wasm` component as the body): only
/// with an admin token. A built-in's name, or an installed plugin's name
/// with another component unless `?replace=true`, is a 409.
#[utoipa::path(post, path = "/plugins", tag = "plugins", params(InstallQuery),
    request_body(content = Vec<u8>, content_type = "application/wasm"),
    security(("bearer" = [])),
    responses((status = 201, body = Object), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn install_plugin(
    State(state): State<Arc<AppState>>,
    Query(query): Query<InstallQuery>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<JsonValue>), Problem> {
    let given = super::auth::bearer_token(&headers).unwrap_or_default();
    if state.admin_tokens.is_empty() {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "installing plugins over HTTP needs an admin token, and this server has none (AIOPT_ADMIN_TOKEN or an \
             `admin TOKEN` line in the token file)",
        ));
    }
    if !super::auth::token_matches(&state.admin_tokens, given) {
        return Err(Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "installing plugins needs an admin token",
        ));
    }
    let replace = query.replace;
    let (plugin, target) = state
        .strategy(move |state, _| {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("upload.wasm");
            std::fs::write(&path, &body)?;
            let registry = crate::runtime::registry::Registry::new(&state.data_dir);
            Ok(registry.install(&state.runtime, &path, replace)?)
        })
        .await?;
    let installed = state
        .serialized(move |state, store| {
            store.record_plugin(
                &plugin.info.name,
                &plugin.info.version,
                &plugin.sha256,
                &target.display().to_string(),
            )?;
            if let Ok(mut cache) = state.plugins.lock() {
                cache.remove(&plugin.info.name);
            }
            Ok(crate::cli::plugin::describe(
                &plugin,
                &crate::runtime::registry::PluginSource::Installed(target),
            ))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(installed)))
}

/// One plugin: identity, kinds, options, contract, hash.
#[utoipa::path(get, path = "/plugins/{name}", tag = "plugins",
    params(("name" = String, Path, description = "A plugin name")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_plugin(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Reply<JsonValue> {
    let plugin = state
        .blocking(move |state, _| {
            let registry = crate::runtime::registry::Registry::new(&state.data_dir);
            let (plugin, source) = registry.resolve_name(&state.runtime, &name)?;
            Ok(crate::cli::plugin::describe(&plugin, &source))
        })
        .await?;
    Ok(Json(plugin))
}
