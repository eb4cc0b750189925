//! What every handler shares: where the data is, the sandbox, the limits
//! and the metrics.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::metrics::Metrics;
use super::problem::Problem;
use crate::runtime::Runtime;
use crate::store::Store;

pub struct AppState {
    pub db: PathBuf,
    pub data_dir: PathBuf,
    pub runtime: Runtime,
    /// Strategy calls are CPU-bound: at most one per core at a time.
    pub strategy_slots: Semaphore,
    pub tokens: Vec<String>,
    /// Tokens that may also install plugins.
    pub admin_tokens: Vec<String>,
    pub open_reads: bool,
    pub metrics: Metrics,
}

impl AppState {
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
