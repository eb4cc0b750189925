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

pub struct AppState {
    pub db: PathBuf,
    /// One connection for the short read-write operations (ask, tell,
    /// configuration), taken in turn: in-process serialization instead of
    /// SQLite's busy handler, whose sleeps (up to 100 ms each) made the
    /// latency tail.
    pub connection: std::sync::Mutex<Option<Store>>,
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

    /// [`AppState::blocking`] on the shared connection, one operation at a
    /// time: for short transactions that many clients issue at once.
    pub async fn serialized<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl FnOnce(&AppState, &mut Store) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, Problem> {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let mut guard = state.connection.lock().map_err(|_| {
                anyhow::anyhow!("a previous request failed while holding the database connection")
            })?;
            if guard.is_none() {
                *guard = Some(Store::open(&state.db)?);
            }
            let store = guard.as_mut().expect("just opened");
            work(&state, store)
        })
        .await
        .map_err(|e| Problem::from(anyhow::anyhow!("the request's worker failed: {e}")))?
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
