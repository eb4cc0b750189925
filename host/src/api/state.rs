//! What every handler shares: where the data is, the sandbox, the limits
//! and the metrics; and the three places work runs: the database thread
//! (every write of the server), the work queue (strategy and benchmark
//! work, one call per core), and the blocking pool (reads).

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::metrics::Metrics;
use super::problem::Problem;
use crate::profile::Profile;
use crate::runtime::registry::Registry;
use crate::runtime::{Plugin, Runtime, StudyInput};
use crate::store::Store;

/// Work for the database thread: given the connection (or why it could not
/// be opened), it does its writes and returns how to answer its client once
/// the batch they are part of is committed, or not.
pub type Job = Box<dyn FnOnce(Result<&mut Store, &str>) -> Answer + Send>;

/// Answers a job's client, given whether its batch failed to commit.
pub type Answer = Box<dyn FnOnce(Option<&str>) + Send>;

/// Most studies whose `suggest` input the server keeps between asks: each
/// holds a copy of its history, and studies asked at the same time are few.
const MOST_KEPT_STUDY_INPUTS: usize = 32;

/// Most jobs committed together: enough to amortize a commit's fsync over
/// every client of a busy server, few enough to bound one batch's time.
const MOST_JOBS_PER_COMMIT: usize = 64;

/// Starts the database thread: it takes the jobs waiting (up to
/// [`MOST_JOBS_PER_COMMIT`]), runs them in arrival order in one transaction
/// (a group commit, [`Store::batch`]), then answers them. A lone client
/// waits for one commit as before; 32 clients share one instead of
/// queueing for 32. A job that panics loses its own writes and its answer,
/// not the batch or the thread.
pub fn database_thread(db: PathBuf) -> std::io::Result<std::sync::mpsc::Sender<Job>> {
    let (sender, jobs) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("aiopt-database".into())
        .spawn(move || {
            let mut connection: Option<Store> = None;
            while let Ok(first) = jobs.recv() {
                let mut batch = vec![first];
                batch.extend(jobs.try_iter().take(MOST_JOBS_PER_COMMIT - 1));
                if connection.is_none() {
                    match Store::open(&db) {
                        Ok(store) => connection = Some(store),
                        Err(e) => {
                            let why = format!("{e:#}");
                            for job in batch {
                                job(Err(&why))(None);
                            }
                            continue;
                        }
                    }
                }
                let Some(store) = connection.as_mut() else {
                    continue;
                };
                let (answers, committed) = store.batch(|store| {
                    batch
                        .into_iter()
                        .filter_map(|job| {
                            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                job(Ok(&mut *store))
                            }));
                            if ran.is_err() {
                                store.forget_cached();
                            }
                            ran.ok()
                        })
                        .collect::<Vec<Answer>>()
                });
                let failed = committed.err().map(|e| {
                    // Start the next batch on a fresh connection.
                    connection = None;
                    let why = format!("the write was not committed: {e:#}");
                    tracing::error!("{why}");
                    why
                });
                for answer in answers {
                    answer(failed.as_deref());
                }
            }
        })?;
    Ok(sender)
}

pub struct AppState {
    pub db: PathBuf,
    /// The database thread: short read-write operations (ask, tell) run
    /// there one after another on one connection, so concurrent clients
    /// neither wait in SQLite's busy handler (whose sleeps made the latency
    /// tail) nor convoy on a lock across the blocking pool.
    pub database: std::sync::mpsc::Sender<Job>,
    pub data_dir: PathBuf,
    pub runtime: Runtime,
    /// Strategy calls and benchmarks are CPU-bound: at most one per core at
    /// a time, and a bounded number waiting.
    pub work: WorkQueue,
    /// Resolved plugins by name: resolving hashes the component, which is
    /// too slow to repeat for every ask. Emptied when a plugin is installed.
    pub plugins: std::sync::Mutex<std::collections::HashMap<String, Plugin>>,
    /// The most recent plugin calls, for the dashboard.
    pub activity: super::activity::Activity,
    /// Asks waiting for the database thread, served together by study.
    pub asks: super::asks::AskGroups,
    /// Each study's converted `suggest` input, kept between its asks (see
    /// [`StudyInput`]). Only the database thread uses it.
    pub study_inputs: std::sync::Mutex<std::collections::HashMap<(i64, i64), StudyInput>>,
    /// Stored profiles by id: a version never changes once stored.
    pub profiles: std::sync::Mutex<std::collections::HashMap<i64, Arc<Profile>>>,
    pub tokens: Vec<String>,
    /// Tokens that may also install plugins.
    pub admin_tokens: Vec<String>,
    pub open_reads: bool,
    pub metrics: Metrics,
}

impl AppState {
    /// The built-in or installed plugin called `name` (cached by name).
    /// Never a path: over HTTP a strategy is a name (see
    /// [`Registry::resolve_name`]).
    pub fn plugin(&self, name: &str) -> anyhow::Result<Plugin> {
        if let Some(p) = self.plugins.lock().ok().and_then(|c| c.get(name).cloned()) {
            return Ok(p);
        }
        let (plugin, _) = Registry::new(&self.data_dir).resolve_name(&self.runtime, name)?;
        if let Ok(mut cache) = self.plugins.lock() {
            cache.insert(name.to_string(), plugin.clone());
        }
        Ok(plugin)
    }

    /// Stored profile version `id` (cached: versions are immutable).
    pub fn profile(&self, store: &Store, id: i64) -> anyhow::Result<Arc<Profile>> {
        if let Some(p) = self.profiles.lock().ok().and_then(|c| c.get(&id).cloned()) {
            return Ok(p);
        }
        let profile = Arc::new(store.profile_by_id(id)?.profile);
        if let Ok(mut cache) = self.profiles.lock() {
            cache.insert(id, Arc::clone(&profile));
        }
        Ok(profile)
    }

    /// The kept `suggest` input of a study (by id and profile id; new for
    /// `profile` if none), taken out of the cache until
    /// [`AppState::keep_study_input`] returns it.
    pub fn take_study_input(&self, id: (i64, i64), profile: &Profile) -> StudyInput {
        self.study_inputs
            .lock()
            .ok()
            .and_then(|mut inputs| inputs.remove(&id))
            .unwrap_or_else(|| StudyInput::new(profile))
    }

    /// Keeps a study's input for its next ask. At most
    /// [`MOST_KEPT_STUDY_INPUTS`] are kept: past that the cache starts over
    /// (an input is only a conversion of what the database holds).
    pub fn keep_study_input(&self, id: (i64, i64), input: StudyInput) {
        if let Ok(mut inputs) = self.study_inputs.lock() {
            if inputs.len() >= MOST_KEPT_STUDY_INPUTS {
                inputs.clear();
            }
            inputs.insert(id, input);
        }
    }

    /// Runs read-only `work` with a fresh connection on the blocking pool
    /// (the database and the sandbox block; the async workers must not).
    /// The connection refuses writes: every write of the server goes
    /// through [`AppState::serialized`], so none waits in SQLite's busy
    /// handler behind the database thread.
    pub async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&AppState, &Store) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Problem> {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let store = Store::open_read_only(&state.db)?;
            work(&state, &store)
        })
        .await
        .map_err(|e| Problem::from(anyhow::anyhow!("the request's worker failed: {e}")))?
        .map_err(Problem::from)
    }

    /// Runs `work` on the database thread (see [`AppState::database`]) and
    /// answers once its batch is committed. A job whose client has gone
    /// (its request timed out or was dropped) or whose deadline has passed
    /// by the time the thread reaches it is not run, so nothing is written
    /// for a request that was already answered with an error.
    pub async fn serialized<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&AppState, &mut Store) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Problem> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let state = Arc::clone(self);
        let deadline = request_deadline();
        let job: Job = Box::new(move |store: Result<&mut Store, &str>| {
            let result = if reply.is_closed() {
                Err(anyhow::anyhow!("the client went away before the write started"))
            } else if Instant::now() >= deadline {
                Err(TimedOut::waiting("the database").into())
            } else {
                match store {
                    Ok(store) => work(&state, store),
                    Err(why) => Err(anyhow::anyhow!("cannot open the database: {why}")),
                }
            };
            Box::new(move |not_committed: Option<&str>| {
                let result = match (result, not_committed) {
                    (Ok(_), Some(why)) => Err(anyhow::anyhow!("{why}")),
                    (result, _) => result,
                };
                let _ = reply.send(result);
            })
        });
        self.database
            .send(job)
            .map_err(|_| Problem::from(anyhow::anyhow!("the database thread has stopped")))?;
        answer
            .await
            .map_err(|_| {
                Problem::from(anyhow::anyhow!(
                    "the database thread failed while serving the request"
                ))
            })?
            .map_err(Problem::from)
    }

    /// Runs read-only `work` that calls a strategy plugin or benchmarks, in
    /// the work queue: a free core first (a full queue is a 503 with
    /// `Retry-After`), on the blocking pool with a read-only connection.
    pub async fn strategy<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&AppState, &Store) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Problem> {
        let state = Arc::clone(self);
        self.work
            .run(move || {
                let store = Store::open_read_only(&state.db)?;
                work(&state, &store)
            })
            .await?
            .map_err(Problem::from)
    }
}

tokio::task_local! {
    /// When the request being served must be answered: set for each request
    /// by the API's deadline middleware, read by every wait in this module.
    pub static DEADLINE: Instant;
}

/// The current request's deadline (a minute from now outside a request).
pub fn request_deadline() -> Instant {
    DEADLINE
        .try_with(|d| *d)
        .unwrap_or_else(|_| Instant::now() + Duration::from_secs(60))
}

/// A request ran out of time while waiting for `what`.
#[derive(Debug, thiserror::Error)]
#[error("the request ran out of time waiting for {what}; {consequence}")]
pub struct TimedOut {
    pub what: &'static str,
    pub consequence: &'static str,
}

impl TimedOut {
    /// Out of time before anything was written for the request.
    pub fn waiting(what: &'static str) -> TimedOut {
        TimedOut {
            what,
            consequence: "nothing was written for it",
        }
    }
}

/// CPU-bound work (strategy calls, benchmarks): one call per core at a
/// time, and at most `most_waiting` requests waiting for a core.
pub struct WorkQueue {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    most_waiting: usize,
    /// Exported as `aiopt_work_running` and `aiopt_work_waiting`.
    running_gauge: prometheus::IntGauge,
    waiting_gauge: prometheus::IntGauge,
}

impl WorkQueue {
    pub fn new(cores: usize, most_waiting: usize, metrics: &super::metrics::Metrics) -> WorkQueue {
        WorkQueue {
            slots: Arc::new(Semaphore::new(cores)),
            waiting: AtomicUsize::new(0),
            most_waiting,
            running_gauge: metrics.work_running.clone(),
            waiting_gauge: metrics.work_waiting.clone(),
        }
    }

    /// Runs `work` on the blocking pool once a core is free. The slot is
    /// released when `work` has really ended (it moves into the blocking
    /// task), not when the request gives up waiting for it: a timed-out
    /// request never frees a core that is still busy.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Problem> {
        let waiting = self.waiting.fetch_add(1, Ordering::SeqCst);
        let _queued = Queued(&self.waiting, &self.waiting_gauge);
        self.waiting_gauge.inc();
        if waiting >= self.most_waiting {
            return Err(Problem::busy(
                format!(
                    "{} strategy or benchmark requests are already waiting for a core; try again shortly",
                    waiting
                ),
                RETRY_AFTER_FULL,
            ));
        }
        let deadline = request_deadline();
        let slot = tokio::time::timeout_at(deadline.into(), Arc::clone(&self.slots).acquire_owned())
            .await
            .map_err(|_| Problem::from(anyhow::Error::new(TimedOut::waiting("a free core"))))?
            .map_err(|_| Problem::from(anyhow::anyhow!("the server is shutting down")))?;
        drop(_queued);
        let gauge = self.running_gauge.clone();
        let running = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            gauge.inc();
            let _running = DecOnDrop(gauge);
            work()
        });
        // At the deadline the request is answered; the work goes on to its
        // end (a plugin call is bounded by its own limits) and its result is
        // dropped unread, so nothing is stored for it.
        tokio::time::timeout_at(deadline.into(), running)
            .await
            .map_err(|_| Problem::from(anyhow::Error::new(TimedOut::waiting("the strategy or benchmark"))))?
            .map_err(|e| Problem::from(anyhow::anyhow!("the request's worker failed: {e}")))
    }
}

/// When a full work queue asks clients to come back, in seconds.
const RETRY_AFTER_FULL: u64 = 1;

/// Counts a request as waiting until dropped.
struct Queued<'a>(&'a AtomicUsize, &'a prometheus::IntGauge);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
        self.1.dec();
    }
}

/// Decrements a gauge when dropped (also when the work panics).
struct DecOnDrop(prometheus::IntGauge);

impl Drop for DecOnDrop {
    fn drop(&mut self) {
        self.0.dec();
    }
}
