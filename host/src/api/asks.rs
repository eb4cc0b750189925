//! Asks for one study that wait for the database thread together are
//! served together: one `suggest` call for the sum of their counts.
//!
//! An ask costs mostly in proportion to the study's history (the strategy
//! reads all of it), hardly in proportion to how many configurations it
//! asks for. Asks are serialized (that is what rules out a trial handed out
//! twice), so with many workers they queue; serving the queue's asks as one
//! `count = n` ask pays for the history once instead of n times. Each
//! worker still gets its own trials, and the strategy sees them as one
//! batch (it never repeats a configuration within one, and TPE's constant
//! liar treats the batch's trials as running, as it would across asks).
//!
//! A group forms when an ask finds no group of its study waiting and ends
//! when the database thread starts on it; asks arriving later form the
//! next group. The group is served by a task of its own, so a client that
//! goes away does not cancel its neighbours' asks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::problem::Problem;
use super::state::AppState;
use crate::runtime::Limits;
use crate::store::{Store, StudyTrial};
use crate::study;

/// The asks waiting for the database thread, by group.
#[derive(Default)]
pub struct AskGroups {
    waiting: Mutex<HashMap<GroupKey, Vec<Waiting>>>,
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
/// the asks waiting alongside it.
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
    answer
        .await
        .map_err(|_| Problem::from(anyhow::anyhow!("the ask was dropped before it was served")))?
}

fn poisoned() -> Problem {
    Problem::from(anyhow::anyhow!("the ask queue is unusable after a panic"))
}

/// Serves group `key` on the database thread and answers its asks once
/// the trials are committed (or with the reason they are not).
async fn serve_group(state: Arc<AppState>, key: GroupKey) {
    // Filled by the job when the database thread starts on it, so that the
    // asks are answered even when the commit fails.
    let served: Arc<Mutex<Vec<Waiting>>> = Arc::default();
    let taken = Arc::clone(&served);
    let result = state
        .serialized(move |state, store| {
            let group = state
                .asks
                .waiting
                .lock()
                .ok()
                .and_then(|mut waiting| waiting.remove(&key))
                .unwrap_or_default();
            let total = group.iter().map(|w| w.count).sum::<u32>();
            if let Ok(mut slot) = taken.lock() {
                *slot = group;
            }
            ask_once(state, store, &key, total)
        })
        .await;
    let group = served
        .lock()
        .map(|mut g| std::mem::take(&mut *g))
        .unwrap_or_default();
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

/// One `Store::ask` for the whole group, with the study's kept input.
fn ask_once(
    state: &AppState,
    store: &mut Store,
    key: &GroupKey,
    count: u32,
) -> anyhow::Result<Vec<StudyTrial>> {
    let study = store.study_head(&key.study)?;
    let profile = state.profile(store, study.profile_id)?;
    let plugin = state.plugin(&study.strategy)?;
    let limits = Limits::default();
    let kept = (study.id, study.profile_id);
    let mut input = state.take_study_input(kept, &profile);
    let strategy = study::suggester(&state.runtime, &plugin, &profile, &study, &limits, &mut input);
    // Called only when new trials are wanted (not for stale ones).
    let mut call = None;
    let suggest = |history: &[StudyTrial], next, count| {
        let wall_clock = (std::time::SystemTime::now(), std::time::Instant::now());
        let suggested = strategy(history, next, count);
        // The configurations of one call share its fuel.
        let (outcome, fuel, failure) = match &suggested {
            Ok(configs) => ("ok", configs.first().map_or(0, |(_, fuel)| *fuel), None),
            Err(reason) => ("failed", 0, Some(reason.clone())),
        };
        let recorded = failure.map_or(Ok(fuel), |reason| Err(("plugin-failure".to_string(), reason)));
        state
            .activity
            .record(&plugin.info.name, "suggest", wall_clock, recorded);
        call = Some((outcome, fuel));
        suggested
    };
    let asked = store.ask(study.id, count, key.stale_after, suggest);
    state.keep_study_input(kept, input);
    let asked = asked?;
    if let Some((outcome, fuel)) = call {
        state.metrics.record_plugin_call(&plugin.info.name, outcome, fuel);
    }
    Ok(asked)
}
