//! What every handler shares: where the data is, the sandbox, the limits
//! and the metrics.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::metrics::Metrics;
use super::problem::Problem;
use crate::profile::Profile;
use crate::runtime::registry::Registry;
use crate::runtime::{Plugin, Runtime};
use crate::store::Store;

/// Work for the database thread, given its connection (opened on first use).
pub type Job = Box<dyn FnOnce(&mut Option<Store>) + Send>;

/// Starts the database thread: it runs jobs in arrival order until every
/// sender is gone. A job that panics loses its connection (a fresh one is
/// opened for the next), not the thread.
pub fn database_thread() -> std::io::Result<std::sync::mpsc::Sender<Job>> {
    let (sender, jobs) = std::sync::mpsc::channel::<Job>();
    std::thread::Builder::new()
        .name("aiopt-database".into())
        .spawn(move || {
            let mut connection = None;
            for job in jobs {
                let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut connection)));
                if ran.is_err() {
                    connection = None;
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
    /// Strategy calls are CPU-bound: at most one per core at a time.
    pub strategy_slots: Semaphore,
    /// Resolved plugins by name: resolving hashes the component, which is
    /// too slow to repeat for every ask. Emptied when a plugin is installed.
    pub plugins: std::sync::Mutex<std::collections::HashMap<String, Plugin>>,
    /// Stored profiles by id: a version never changes once stored.
    pub profiles: std::sync::Mutex<std::collections::HashMap<i64, Arc<Profile>>>,
    pub tokens: Vec<String>,
    /// Tokens that may also install plugins.
    pub admin_tokens: Vec<String>,
    pub open_reads: bool,
    pub metrics: Metrics,
}

impl AppState {
    /// The plugin `name` resolves to (cached by name; paths are loaded
    /// every time, since the file may change).
    pub fn plugin(&self, name: &str) -> anyhow::Result<Plugin> {
        let cacheable = !name.contains('/') && !name.ends_with(".wasm");
        if cacheable {
            if let Some(p) = self.plugins.lock().ok().and_then(|c| c.get(name).cloned()) {
                return Ok(p);
            }
        }
        let (plugin, _) = Registry::new(&self.data_dir).resolve(&self.runtime, name)?;
        if cacheable {
            if let Ok(mut cache) = self.plugins.lock() {
                cache.insert(name.to_string(), plugin.clone());
            }
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

    /// Runs `work` with a fresh store connection on the blocking pool (the
    /// database and the sandbox block; the async workers must not).
    pub async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&AppState, &mut Store) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Problem> {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut store = Store::open(&state.db)?;
            work(&state, &mut store)
        })
        .await
        .map_err(|e| Problem::from(anyhow::anyhow!("the request's worker failed: {e}")))?
        .map_err(Problem::from)
    }

    /// Runs `work` on the database thread (see [`AppState::database`]).
    pub async fn serialized<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&AppState, &mut Store) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Problem> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let state = Arc::clone(self);
        let job: Job = Box::new(move |connection: &mut Option<Store>| {
            let result = (|| {
                if connection.is_none() {
                    *connection = Some(Store::open(&state.db)?);
                }
                let store = connection.as_mut().expect("just opened");
                work(&state, store)
            })();
            let _ = reply.send(result);
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

    /// [`AppState::blocking`] for work that calls a strategy plugin: waits
    /// for a free core first.
    pub async fn strategy<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&AppState, &mut Store) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Problem> {
        let _slot = self
            .strategy_slots
            .acquire()
            .await
            .map_err(|_| Problem::from(anyhow::anyhow!("the server is shutting down")))?;
        self.blocking(work).await
    }
}
