//! Tuning studies over HTTP, for evaluation workers anywhere: create,
//! ask, tell, read. Asks and tells are the store's transactions, so any
//! number of workers can share one study without a trial handed out twice
//! or a result lost.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value as JsonValue};
use utoipa::ToSchema;

use super::extract::{Body, Path};
use super::problem::Problem;
use super::state::AppState;
use crate::runtime::Kind;
use crate::service::BadRequest;
use crate::store::Told;
use crate::study;

type Reply<T> = Result<Json<T>, Problem>;

#[derive(Deserialize, ToSchema)]
pub struct NewStudy {
    /// A stored model.
    model: String,
    /// A tuning strategy (default tpe).
    strategy: Option<String>,
    /// Unique; default `<model>-<n>`.
    name: Option<String>,
    #[serde(default)]
    seed: u64,
}

/// Creates a study of a stored model with a tuning strategy.
#[utoipa::path(post, path = "/studies", tag = "studies", request_body = NewStudy,
    responses((status = 201, body = Object), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn create_study(
    State(state): State<Arc<AppState>>,
    Body(new): Body<NewStudy>,
) -> Result<(StatusCode, Json<JsonValue>), Problem> {
    let strategy = new.strategy.clone().unwrap_or_else(|| "tpe".into());
    state
        .blocking(move |state, _| {
            let plugin = state.plugin(&strategy)?;
            if !plugin.info.kinds.contains(&Kind::Tuning) {
                return Err(BadRequest(format!("`{}` is not a tuning strategy", plugin.info.name)).into());
            }
            Ok(())
        })
        .await?;
    let created = state
        .serialized(move |_, store| {
            let strategy = new.strategy.unwrap_or_else(|| "tpe".into());
            let name = new
                .name
                .unwrap_or_else(|| format!("{}-{}", new.model, store.studies().map_or(0, |s| s.len()) + 1));
            Ok(json!(store.create_study(&name, &new.model, &strategy, new.seed)?))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Every study with its trial counts.
#[utoipa::path(get, path = "/studies", tag = "studies", responses((status = 200, body = Object)))]
pub async fn list_studies(State(state): State<Arc<AppState>>) -> Reply<JsonValue> {
    Ok(Json(
        state.blocking(|_, store| Ok(json!(store.studies()?))).await?,
    ))
}

/// One study (by id or name) with its trial counts.
#[utoipa::path(get, path = "/studies/{study}", tag = "studies",
    params(("study" = String, Path, description = "Study id or name")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn get_study(State(state): State<Arc<AppState>>, Path(study): Path<String>) -> Reply<JsonValue> {
    Ok(Json(
        state
            .blocking(move |_, store| Ok(json!(store.study(&study)?)))
            .await?,
    ))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct AskRequest {
    /// How many configurations (default 1).
    count: Option<u32>,
    /// Hand out again a trial asked this many seconds ago and never told
    /// (default 3600).
    stale_after_s: Option<u64>,
}

/// Configurations to evaluate next: stale trials first, then new ones
/// from the strategy (whole history, seed from the study seed and trial
/// number). Each is a running trial until told.
#[utoipa::path(post, path = "/studies/{study}/ask", tag = "studies", request_body(content = AskRequest, description = "Optional count"),
    params(("study" = String, Path, description = "Study id or name")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn ask(
    State(state): State<Arc<AppState>>,
    Path(study): Path<String>,
    body: Option<Body<AskRequest>>,
) -> Reply<JsonValue> {
    let request = body.map(|Body(b)| b).unwrap_or_default();
    let count = request.count.unwrap_or(1).clamp(1, 1000);
    let stale = Duration::from_secs(request.stale_after_s.unwrap_or(3600));
    // No strategy slot: asks run one at a time on the database thread
    // anyway (that is what rules out duplicates), and holding a slot while
    // queued there would keep asks out of each other's group.
    let asked = super::asks::ask(&state, study, count, stale).await?;
    Ok(Json(json!(asked)))
}

#[derive(Deserialize, ToSchema)]
pub struct TellRequest {
    /// The trial number an ask returned.
    trial: u32,
    /// The measured metrics, `{ "recall_at_10": 0.991 }`; omit with `failed`.
    #[schema(value_type = Option<Object>)]
    metrics: Option<serde_json::Map<String, JsonValue>>,
    /// Why the evaluation failed (instead of metrics).
    failed: Option<String>,
    /// The evaluation was stopped early.
    #[serde(default)]
    pruned: bool,
}

/// Records a running trial's outcome; telling a trial twice is a 409.
#[utoipa::path(post, path = "/studies/{study}/tell", tag = "studies", request_body = TellRequest,
    params(("study" = String, Path, description = "Study id or name")),
    responses((status = 200, body = Object), (status = 400, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn tell(
    State(state): State<Arc<AppState>>,
    Path(study): Path<String>,
    Body(request): Body<TellRequest>,
) -> Reply<JsonValue> {
    let told = match (request.metrics, request.failed, request.pruned) {
        (Some(metrics), None, false) => {
            let mut values = Vec::new();
            for (name, v) in metrics {
                let x = v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                    Problem::bad_request(format!("metric `{name}` = {v} is not a finite number"))
                })?;
                values.push((name, x));
            }
            if values.is_empty() {
                return Err(Problem::bad_request(
                    "`metrics` is empty: give at least one metric, or `failed`",
                ));
            }
            Told::Complete(values)
        }
        (None, Some(reason), false) => Told::Failed(reason),
        (None, None, true) => Told::Pruned,
        _ => {
            return Err(Problem::bad_request(
                "send exactly one of `metrics`, `failed` and `pruned`",
            ))
        }
    };
    let trial = request.trial;
    let done = state
        .serialized(move |_, store| {
            let study = store.study_head(&study)?;
            Ok(json!(store.tell(study.id, trial, told)?))
        })
        .await?;
    Ok(Json(done))
}

/// Every trial of a study, oldest first.
#[utoipa::path(get, path = "/studies/{study}/trials", tag = "studies",
    params(("study" = String, Path, description = "Study id or name")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn trials(State(state): State<Arc<AppState>>, Path(study): Path<String>) -> Reply<JsonValue> {
    Ok(Json(
        state
            .blocking(move |_, store| {
                let study = store.study(&study)?;
                Ok(json!(store.study_trials(study.id)?))
            })
            .await?,
    ))
}

/// The best complete trial that keeps every constraint.
#[utoipa::path(get, path = "/studies/{study}/best", tag = "studies",
    params(("study" = String, Path, description = "Study id or name")),
    responses((status = 200, body = Object), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn best(State(state): State<Arc<AppState>>, Path(study): Path<String>) -> Reply<JsonValue> {
    Ok(Json(
        state
            .blocking(move |_, store| {
                let study = store.study(&study)?;
                let profile = store.profile_by_id(study.profile_id)?.profile;
                let trials = store.study_trials(study.id)?;
                let best = study::best_trial(&profile, &trials).ok_or_else(|| {
                    study::feasibility::no_feasible_trial(&study.name, &profile, &trials, false)
                })?;
                Ok(json!(best))
            })
            .await?,
    ))
}

/// What the study has found: the first objective per trial with the best
/// feasible value so far, the Pareto front of the first two objectives,
/// knob importance per objective, and the strategy's reading of the
/// history (its `recommend` notes). For charts.
#[utoipa::path(get, path = "/studies/{study}/analysis", tag = "studies",
    params(("study" = String, Path, description = "Study id or name")),
    responses((status = 200, body = Object), (status = 404, body = Problem)))]
pub async fn analysis(State(state): State<Arc<AppState>>, Path(study): Path<String>) -> Reply<JsonValue> {
    Ok(Json(
        state
            .strategy(move |state, store| {
                let study = store.study(&study)?;
                let profile = store.profile_by_id(study.profile_id)?.profile;
                let trials = store.study_trials(study.id)?;
                let notes = strategy_notes(state, &study.strategy, &profile, &trials, study.seed);
                Ok(json!({
                    "objectives": profile.objectives,
                    "history": study::analysis::history(&profile, &trials),
                    "pareto": study::analysis::pareto(&profile, &trials),
                    "importance": study::importance::importance(&profile, &trials),
                    "notes": notes,
                    "study": study,
                }))
            })
            .await?,
    ))
}

/// The study's strategy's `recommend` notes on its history, or why there
/// are none.
fn strategy_notes(
    state: &AppState,
    strategy: &str,
    profile: &crate::profile::Profile,
    trials: &[crate::store::StudyTrial],
    seed: u64,
) -> Vec<String> {
    if !trials
        .iter()
        .any(|t| t.state == crate::profile::TrialState::Complete)
    {
        return vec!["no complete trial yet".into()];
    }
    let view = study::history_profile(profile, trials);
    let called = state
        .plugin(strategy)
        .map_err(|e| format!("{e:#}"))
        .and_then(|plugin| {
            state
                .runtime
                .recommend(&plugin, &view, seed, &crate::runtime::Limits::default())
                .map_err(|failure| format!("`{strategy}` recommend failed: {}", failure.error))
        });
    match called {
        Ok(called) => called.value.notes,
        Err(why) => vec![why],
    }
}
