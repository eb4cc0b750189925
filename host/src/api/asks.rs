//! Asks for one study are served one group at a time: the asks that wait
//! together get one `suggest` call for the sum of their counts, computed
//! outside the database thread.
//!
//! An ask costs mostly in proportion to the study's history (the strategy
//! reads all of it), hardly in proportion to how many configurations it
//! asks for. Serving the waiting asks as one `count = n` ask pays for the
//! history once instead of n times. Each worker still gets its own trials,
//! and the strategy sees them as one batch (it never repeats a
//! configuration within one, and TPE's constant liar treats the batch's
//! trials as running, as it would across asks).
//!
//! A group is served in three steps: on the database thread, stale trials
//! are handed out again and the study's kept input is brought up to date
//! ([`Store::ask_begin`]); on a core of the work queue, the strategy
//! suggests (no transaction is open, and the database thread serves other
//! studies' asks and tells meanwhile); on the database thread again, the
//! new trials are stored ([`Store::ask_commit`]), or, when another process
//! added trials in between, the group starts over on the new history.
//! Groups of one study never overlap (a per-study lock), so within this
//! process that never happens; and the asks that arrive while a group is
//! being served form the next group.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::problem::Problem;
use super::state::AppState;
use crate::runtime::{Limits, StudyInput};
use crate::store::{Committed, Store, StudySummary, StudyTrial};
use crate::study;

/// How many times a group starts over because another process added
/// trials while it was suggesting.
const MOST_ATTEMPTS: usize = 16;

/// The asks waiting, by group, and the lock that keeps one study's groups
/// from overlapping.
#[derive(Default)]
pub struct AskGroups {
    waiting: Mutex<HashMap<GroupKey, Vec<Waiting>>>,
    serving: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// Asks group only with asks of the same study (as named in the path) and
/// the same staleness, so that each gets exactly what it asked for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    study: String,
    stale_after: Duration,
}

struct Waiting {
    count: u32,
    reply: oneshot::Sender<Result<Vec<StudyTrial>, Problem>>,
}

/// Hands out `count` trials of `study` (see `Store::ask`), together with
/// the asks waiting alongside it. Waits at most until the request's
/// deadline; trials handed out after it are handed out again once stale.
pub async fn ask(
    state: &Arc<AppState>,
    study: String,
    count: u32,
    stale_after: Duration,
) -> Result<Vec<StudyTrial>, Problem> {
    let key = GroupKey { study, stale_after };
    let (reply, answer) = oneshot::channel();
    let first = {
        let mut waiting = state.asks.waiting.lock().map_err(|_| poisoned())?;
        let group = waiting.entry(key.clone()).or_default();
        group.push(Waiting { count, reply });
        group.len() == 1
    };
    if first {
        tokio::spawn(serve_group(Arc::clone(state), key));
    }
    let deadline = super::state::request_deadline();
    match tokio::time::timeout_at(deadline.into(), answer).await {
        Ok(answered) => answered
            .map_err(|_| Problem::from(anyhow::anyhow!("the ask was dropped before it was served")))?,
        Err(_) => Err(Problem::from(anyhow::Error::new(super::state::TimedOut {
            what: "the strategy's suggestion",
            consequence: "trials handed out for it after now are handed out again once stale",
        }))),
    }
}

fn poisoned() -> Problem {
    Problem::from(anyhow::anyhow!("the ask queue is unusable after a panic"))
}

/// Serves group `key` once the study's previous group is done, and answers
/// its asks once the trials are committed (or with the reason they are
/// not).
async fn serve_group(state: Arc<AppState>, key: GroupKey) {
    let lock = match state.asks.serving.lock() {
        Ok(mut serving) => Arc::clone(serving.entry(key.study.clone()).or_default()),
        Err(_) => Arc::default(),
    };
    let serving = lock.lock().await;
    // The group closes now: asks arriving from here on form the next one.
    let group = state
        .asks
        .waiting
        .lock()
        .ok()
        .and_then(|mut waiting| waiting.remove(&key))
        .unwrap_or_default();
    let total = group.iter().map(|w| w.count).sum::<u32>();
    let result = ask_group(&state, &key, total).await;
    drop(serving);
    match result {
        Ok(trials) => {
            let mut trials = trials.into_iter();
            for waiting in group {
                let share: Vec<StudyTrial> = trials.by_ref().take(waiting.count as usize).collect();
                let _ = waiting.reply.send(Ok(share));
            }
        }
        Err(problem) => {
            for waiting in group {
                let _ = waiting.reply.send(Err(problem.clone()));
            }
        }
    }
}

/// What the first step of an ask hands to the strategy call.
struct Begun {
    stale: Vec<StudyTrial>,
    wanted: u32,
    next: u32,
    study: StudySummary,
    /// The study's kept input, up to date; `None` when no new trial is
    /// wanted (it stays kept).
    input: Option<StudyInput>,
}

/// The three steps of an ask for `count` trials, started over (at most
/// [`MOST_ATTEMPTS`] times) while another process adds trials in between.
async fn ask_group(state: &Arc<AppState>, key: &GroupKey, count: u32) -> Result<Vec<StudyTrial>, Problem> {
    let mut handed = Vec::new();
    for _ in 0..MOST_ATTEMPTS {
        let wanted = count - handed.len() as u32;
        let begun = {
            let key = key.clone();
            state
                .serialized(move |state, store| begin(state, store, &key, wanted))
                .await?
        };
        handed.extend(begun.stale);
        let Begun {
            study,
            input,
            next,
            wanted,
            ..
        } = begun;
        let Some(input) = input else {
            return Ok(handed);
        };
        // Not in the work queue: an ask's suggest takes milliseconds and
        // must not wait behind seconds-long recommendations and benchmarks
        // (asks starved there under a mixed load); at most one runs per
        // study, so their number is bounded by the studies being asked.
        let (suggested, input) = {
            let state = Arc::clone(state);
            let (strategy, seed) = (study.strategy.clone(), study.seed);
            tokio::task::spawn_blocking(move || {
                let plugin = state.plugin(&strategy)?;
                let wall_clock = (std::time::SystemTime::now(), std::time::Instant::now());
                let limits = Limits::default();
                let (suggested, call) =
                    study::suggest(&state.runtime, &plugin, seed, &limits, &input, next, wanted);
                record_call(&state, &plugin.info.name, wall_clock, &call);
                anyhow::Ok((suggested, input))
            })
            .await
            .map_err(|e| Problem::from(anyhow::anyhow!("the ask's worker failed: {e}")))?
            .map_err(Problem::from)?
        };
        let kept = (study.id, study.profile_id);
        let committed = state
            .serialized(move |state, store| {
                let committed = store.ask_commit(kept.0, next, suggested);
                state.keep_study_input(kept, input);
                Ok(committed?)
            })
            .await?;
        match committed {
            Committed::Stored(new) => {
                handed.extend(new);
                return Ok(handed);
            }
            Committed::HistoryChanged => continue,
        }
    }
    Err(Problem::busy(
        format!(
            "other processes kept adding trials to study `{}` while this ask was suggesting \
             ({MOST_ATTEMPTS} attempts); ask again",
            key.study
        ),
        1,
    ))
}

/// Records one `suggest` call in the activity log and the metrics.
fn record_call(
    state: &AppState,
    plugin: &str,
    wall_clock: (std::time::SystemTime, std::time::Instant),
    call: &study::SuggestCall,
) {
    let recorded = match &call.failure {
        None => Ok(call.fuel),
        Some((kind, reason)) => Err((kind.clone(), reason.clone())),
    };
    state.activity.record(plugin, "suggest", wall_clock, recorded);
    let outcome = if call.failure.is_some() { "failed" } else { "ok" };
    state.metrics.record_plugin_call(plugin, outcome, call.fuel);
}

/// The first step, on the database thread: stale trials, and the study's
/// input brought up to its history.
fn begin(state: &AppState, store: &mut Store, key: &GroupKey, count: u32) -> anyhow::Result<Begun> {
    let study = store.study_head(&key.study)?;
    let profile = state.profile(store, study.profile_id)?;
    let begun = store.ask_begin(study.id, count, key.stale_after)?;
    let input = (begun.wanted > 0).then(|| {
        let mut input = state.take_study_input((study.id, study.profile_id), &profile);
        study::update_input(&mut input, &profile, store.cached_history(study.id));
        input
    });
    Ok(Begun {
        stale: begun.stale,
        wanted: begun.wanted,
        next: begun.next,
        study,
        input,
    })
}
