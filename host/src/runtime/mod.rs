//! The plugin sandbox: one wasmtime engine per process, components compiled
//! once (disk cache keyed by sha256 + engine), an `InstancePre` per plugin,
//! and a fresh `Store` with fuel, an epoch deadline and a memory limiter for
//! every call.
//!
//! Architecture invariant: only this module touches wasmtime, and only
//! `convert` knows the WIT types.

mod bindings;
mod cache;
mod clock;
pub mod contract;
mod convert;
pub use convert::{StudyInput, TrialRef};
mod error;
mod limits;
mod logs;
pub mod registry;
mod sandbox;
pub mod validate;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap, WasmBacktrace};

pub use cache::LoadSource;
pub use error::{CallFailure, RuntimeError, StrategyErrorKind};
pub use limits::{Limits, Usage, MAX_MEMORY_BYTES};
pub use logs::{LogLevel, LogLine, LogSource};

use crate::profile::{Config, Profile, Value};
use crate::report::{terminal, Report};
use bindings::{Plugin as PluginBindings, PluginPre};
use convert::OutputSize;
use sandbox::{CallState, MemoryGuard};

/// The optimization types a strategy can implement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Tuning,
    Performance,
    Cost,
    Quality,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Tuning => "tuning",
            Kind::Performance => "performance",
            Kind::Cost => "cost",
            Kind::Quality => "quality",
        })
    }
}

/// An option a strategy understands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OptionSpec {
    pub name: String,
    pub summary: String,
    pub default: Value,
}

/// What a plugin says about itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PluginInfo {
    pub name: String,
    pub version: String,
    pub kinds: Vec<Kind>,
    pub summary: String,
    pub options: Vec<OptionSpec>,
}

/// A loaded, linked plugin, ready to be called any number of times from any
/// number of threads.
#[derive(Clone)]
pub struct Plugin {
    pub info: PluginInfo,
    /// The contract version the plugin was built against.
    pub contract: semver::Version,
    /// Hex sha256 of the component bytes.
    pub sha256: String,
    pub size_bytes: u64,
    pub load_source: LoadSource,
    pub load_time: Duration,
    pre: PluginPre<CallState>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("info", &self.info)
            .field("contract", &self.contract)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
    }
}

/// A successful call: the value plus what it used and logged.
#[derive(Debug, Clone, Serialize)]
pub struct Called<T> {
    pub value: T,
    pub usage: Usage,
    pub logs: Vec<LogLine>,
}

/// One engine and linker for the whole process.
pub struct Runtime {
    engine: Engine,
    linker: Linker<CallState>,
    cache: cache::ArtifactCache,
    _ticker: EpochTicker,
    pooling: bool,
}

/// How often the engine's epoch advances: each running call checks its
/// deadline this often.
const TICK: Duration = Duration::from_millis(1);

impl Runtime {
    /// Builds the engine (pooling allocator when the OS allows the address
    /// space reservation, on-demand otherwise) and the linker. `cache_dir`
    /// holds compiled artifacts; `None` compiles every time.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, RuntimeError> {
        let (engine, pooling) = match Engine::new(&engine_config(true)) {
            Ok(engine) => (engine, true),
            Err(_) => (
                Engine::new(&engine_config(false))
                    .map_err(|e| RuntimeError::Internal(format!("cannot create the wasm engine: {e:#}")))?,
                false,
            ),
        };
        let linker = link(&engine)
            .map_err(|e| RuntimeError::Internal(format!("cannot link host functions: {e:#}")))?;
        let cache = cache::ArtifactCache::new(&engine, cache_dir);
        let ticker = EpochTicker::start(engine.clone());
        Ok(Runtime {
            engine,
            linker,
            cache,
            _ticker: ticker,
            pooling,
        })
    }

    /// Whether instances come from the pooling allocator (fast, needs a
    /// large virtual address reservation) or are allocated on demand (the
    /// fallback when the OS refuses the reservation).
    pub fn uses_pooling(&self) -> bool {
        self.pooling
    }

    /// Loads a component file (see [`Runtime::load_bytes`]).
    pub fn load_file(&self, path: &Path) -> Result<Plugin, RuntimeError> {
        let bytes = std::fs::read(path).map_err(|source| RuntimeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        self.load_bytes(&bytes, path)
    }

    /// Compiles (or loads from the cache), checks the contract version,
    /// links, and asks the plugin who it is. `origin` names the plugin in
    /// errors.
    pub fn load_bytes(&self, bytes: &[u8], origin: &Path) -> Result<Plugin, RuntimeError> {
        let started = Instant::now();
        check_component_header(bytes, origin)?;
        let sha256 = hex(&Sha256::digest(bytes));
        let (component, load_source) = self
            .cache
            .load(&self.engine, &sha256, || Component::new(&self.engine, bytes))
            .map_err(|e| RuntimeError::NotAComponent {
                path: origin.to_path_buf(),
                why: format!("{e:#}"),
            })?;
        let contract = match contract::check(&self.engine, &component) {
            contract::ContractCheck::Supported(v) => v,
            contract::ContractCheck::Unsupported(found) => {
                return Err(RuntimeError::Incompatible {
                    found,
                    supported: contract::supported_description(),
                })
            }
        };
        let pre = self
            .linker
            .instantiate_pre(&component)
            .and_then(PluginPre::new)
            .map_err(|e| RuntimeError::Incompatible {
                found: format!(
                    "{}@{contract} with imports this host does not provide ({e:#})",
                    contract::PACKAGE
                ),
                supported: contract::supported_description(),
            })?;
        let mut plugin = Plugin {
            info: PluginInfo {
                name: String::new(),
                version: String::new(),
                kinds: Vec::new(),
                summary: String::new(),
                options: Vec::new(),
            },
            contract,
            sha256,
            size_bytes: bytes.len() as u64,
            load_source,
            load_time: Duration::ZERO,
            pre,
        };
        plugin.info = self
            .info(&plugin, &Limits::default())
            .map_err(|failure| failure.error)?
            .value;
        plugin.load_time = started.elapsed();
        Ok(plugin)
    }

    /// Asks the plugin who it is: the cheapest possible call (fresh store,
    /// instantiate, one export), also what the benchmarks time.
    pub fn info(&self, plugin: &Plugin, limits: &Limits) -> Result<Called<PluginInfo>, CallFailure> {
        self.call(
            plugin,
            0,
            limits,
            |p, store| p.aiopt_strategy_strategy().call_info(store),
            |info| validate::info(convert::info_from_wit(info)),
        )
    }

    /// Asks a tuning strategy for `count` configurations to evaluate next.
    pub fn suggest(
        &self,
        plugin: &Plugin,
        profile: &Profile,
        count: u32,
        seed: u64,
        limits: &Limits,
    ) -> Result<Called<Vec<Config>>, CallFailure> {
        let input = convert::profile_to_wit(profile);
        self.suggest_input(plugin, &input, &profile.space, count, seed, limits)
    }

    /// [`Runtime::suggest`] for a study: `input` holds its profile and
    /// trials, kept between asks (see [`StudyInput`]).
    pub fn suggest_study(
        &self,
        plugin: &Plugin,
        input: &StudyInput,
        count: u32,
        seed: u64,
        limits: &Limits,
    ) -> Result<Called<Vec<Config>>, CallFailure> {
        self.suggest_input(plugin, input.wit(), input.space(), count, seed, limits)
    }

    /// The one `suggest` path: every suggestion is validated against
    /// `space`, the host's model of `input.space` (see [`validate`]).
    fn suggest_input(
        &self,
        plugin: &Plugin,
        input: &bindings::wit::Profile,
        space: &[crate::profile::Param],
        count: u32,
        seed: u64,
        limits: &Limits,
    ) -> Result<Called<Vec<Config>>, CallFailure> {
        self.call(
            plugin,
            seed,
            limits,
            |p, store| {
                p.aiopt_strategy_strategy()
                    .call_suggest(store, input, count, seed)
            },
            |result| {
                let configs = result.map_err(convert::strategy_error)?;
                check_output_size(&configs, limits)?;
                let configs = configs.into_iter().map(convert::config_from_wit).collect();
                validate::suggestions(space, count, configs)
            },
        )
    }

    /// Asks a strategy for proposals.
    pub fn recommend(
        &self,
        plugin: &Plugin,
        profile: &Profile,
        seed: u64,
        limits: &Limits,
    ) -> Result<Called<Report>, CallFailure> {
        let input = convert::profile_to_wit(profile);
        self.call(
            plugin,
            seed,
            limits,
            |p, store| p.aiopt_strategy_strategy().call_recommend(store, &input, seed),
            |result| {
                let report = result.map_err(convert::strategy_error)?;
                check_output_size(&report, limits)?;
                validate::report(profile, convert::report_from_wit(report))
            },
        )
    }

    /// Runs one call in a fresh store and turns every way it can end into a
    /// [`Called`] or a typed [`CallFailure`].
    fn call<W, T>(
        &self,
        plugin: &Plugin,
        seed: u64,
        limits: &Limits,
        invoke: impl FnOnce(&PluginBindings, &mut Store<CallState>) -> wasmtime::Result<W>,
        finish: impl FnOnce(W) -> Result<T, RuntimeError>,
    ) -> Result<Called<T>, CallFailure> {
        let started = Instant::now();
        let state = CallState::new(seed, limits);
        let clock = Arc::clone(&state.clock);
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.memory);
        let fuel = limits.fuel.unwrap_or(u64::MAX);
        // Every tick the guest runs, the deadline is checked against the
        // real clock (tick counts drift behind it when the ticker thread
        // waits for a core) and against the guest's virtual clock (a wait
        // that carried it past the timeout).
        let deadline = started + limits.timeout;
        let time_is_up = move || clock.overran() || Instant::now() >= deadline;
        let is_up = time_is_up.clone();
        store.epoch_deadline_callback(move |_| {
            Ok(if is_up() {
                wasmtime::UpdateDeadline::Interrupt
            } else {
                wasmtime::UpdateDeadline::Continue(1)
            })
        });
        store.set_epoch_deadline(1);
        let result = store.set_fuel(fuel).and_then(|()| {
            let instance = plugin.pre.instantiate(&mut store)?;
            invoke(&instance, &mut store)
        });
        // A call that returned after overrunning its deadline (within the
        // tick before the callback ran) timed out all the same.
        let result = match result {
            Ok(_) if time_is_up() => Err(wasmtime::Error::from(Trap::Interrupt)),
            other => other,
        };
        let fuel_used = fuel - store.get_fuel().unwrap_or(0);
        let stderr_tail = store.data_mut().drain_stdio();
        let wall_time = started.elapsed();
        let state = store.into_data();
        let usage = Usage {
            fuel: fuel_used,
            peak_memory_bytes: state.memory.peak,
            wall_time_us: wall_time.as_micros() as u64,
        };
        let logs = state.logs.finish();
        let outcome = match result {
            Ok(raw) => finish(raw),
            Err(e) => Err(classify(e, &state.memory, limits, fuel_used, stderr_tail)),
        };
        match outcome {
            Ok(value) => Ok(Called { value, usage, logs }),
            Err(error) => Err(CallFailure { error, usage, logs }),
        }
    }
}

/// WASI 0.2 (which even a pure guest imports) with the monotonic clock
/// replaced by the call's virtual clock, and the plugin's host interface.
fn link(engine: &Engine) -> wasmtime::Result<Linker<CallState>> {
    use wasmtime::component::HasSelf;
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    linker.allow_shadowing(true);
    wasmtime_wasi::p2::bindings::clocks::monotonic_clock::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    linker.allow_shadowing(false);
    PluginBindings::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
    Ok(linker)
}

fn engine_config(pooling: bool) -> wasmtime::Config {
    let mut config = wasmtime::Config::new();
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        .cranelift_nan_canonicalization(true)
        .wasm_backtrace_max_frames(std::num::NonZeroUsize::new(BACKTRACE_FRAMES));
    if pooling {
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(64)
            .total_core_instances(512)
            .total_memories(128)
            .total_tables(512)
            .max_core_instances_per_component(16)
            .max_memories_per_component(4)
            .max_tables_per_component(16)
            .max_memory_size(MAX_MEMORY_BYTES as usize)
            .linear_memory_keep_resident(4 << 20);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

fn check_output_size(output: &impl OutputSize, limits: &Limits) -> Result<(), RuntimeError> {
    let size = output.output_size();
    if size > limits.output_bytes {
        return Err(RuntimeError::InvalidOutput {
            why: format!(
                "the output is {:.1} MiB, over the {:.1} MiB limit",
                size as f64 / (1u64 << 20) as f64,
                limits.output_bytes as f64 / (1u64 << 20) as f64
            ),
        });
    }
    Ok(())
}

/// Maps a wasmtime failure to the error a user can act on. Classification
/// uses the typed trap, the guest backtrace's frames and the limiter's
/// record, never message text. Everything from the guest in the error (its
/// panic message, stderr, the function names of its backtrace) is escaped
/// for the terminal (`report::terminal`).
fn classify(
    error: wasmtime::Error,
    memory: &MemoryGuard,
    limits: &Limits,
    fuel_used: u64,
    stderr_tail: String,
) -> RuntimeError {
    if let Some(requested) = memory.refused {
        return RuntimeError::MemoryLimit {
            limit_bytes: limits.memory_bytes,
            requested_bytes: Some(requested),
        };
    }
    let trace = error.downcast_ref::<WasmBacktrace>();
    let backtrace = trace
        .map(|b| terminal::escape_lines(&b.to_string()).into_owned())
        .filter(|b| !b.trim().is_empty());
    let message = match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => {
            return RuntimeError::FuelExhausted {
                used: fuel_used,
                limit: limits.fuel.unwrap_or(u64::MAX),
            }
        }
        Some(Trap::Interrupt) => {
            return RuntimeError::Timeout {
                limit_ms: limits.timeout.as_millis() as u64,
            }
        }
        Some(Trap::StackOverflow) => {
            "stack overflow: the plugin recursed too deeply and exhausted the wasm call stack".to_string()
        }
        // Rust keeps locals whose address is taken on a shadow stack at the
        // bottom of linear memory: recursing past it reads below address 0.
        Some(Trap::MemoryOutOfBounds) if trace.is_some_and(is_runaway_recursion) => {
            "stack overflow: the plugin recursed too deeply and exhausted its stack in linear memory \
             (an out-of-bounds access under a backtrace of one recursing function)"
                .to_string()
        }
        Some(trap) => match panic_message(&stderr_tail) {
            Some(panic) => format!("the plugin panicked: {panic}"),
            None => format!("{trap}"),
        },
        None => terminal::escape_lines(&format!("{error:#}")).into_owned(),
    };
    RuntimeError::Trap {
        message,
        backtrace,
        log_tail: terminal::escape_lines(&stderr_tail).into_owned(),
    }
}

/// How many guest frames a trap's backtrace keeps.
const BACKTRACE_FRAMES: usize = 32;

/// The fewest guest frames a backtrace of runaway recursion shows: every
/// frame it can capture ([`BACKTRACE_FRAMES`]), so that a merely deep call
/// chain is never taken for one.
const RECURSION_FRAMES: usize = BACKTRACE_FRAMES;

/// Whether `backtrace` is that of unbounded recursion: it is full (the
/// stack is deeper than it can show) and, past the innermost few frames
/// (a callee such as `memcpy` may be the one that touched the exhausted
/// stack), every frame repeats the one 1 to 4 frames before it: one
/// function calling itself, or a short cycle of mutual recursion.
fn is_runaway_recursion(backtrace: &WasmBacktrace) -> bool {
    let frames = backtrace.frames();
    if frames.len() < RECURSION_FRAMES {
        return false;
    }
    let same = |a: &wasmtime::FrameInfo, b: &wasmtime::FrameInfo| {
        a.func_index() == b.func_index() && wasmtime::Module::same(a.module(), b.module())
    };
    let outer = &frames[frames.len() - RECURSION_FRAMES * 3 / 4..];
    (1..=4).any(|period| outer.iter().zip(&outer[period..]).all(|(a, b)| same(a, b)))
}

/// Pulls a Rust panic message ("panicked at FILE:LINE:COL:\nMESSAGE") out of
/// captured stderr, escaped for the terminal.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.rfind("panicked at ")?;
    let rest = &stderr[start + "panicked at ".len()..];
    let (location, message) = rest.split_once('\n')?;
    let message: Vec<&str> = message.lines().take_while(|l| !l.starts_with("note: ")).collect();
    Some(format!(
        "{} (at {})",
        terminal::escape(message.join(" ").trim()),
        terminal::escape(location.trim_end_matches(':'))
    ))
}

fn check_component_header(bytes: &[u8], origin: &Path) -> Result<(), RuntimeError> {
    let not = |why: &str| RuntimeError::NotAComponent {
        path: origin.to_path_buf(),
        why: why.to_string(),
    };
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(not("not WebAssembly (no `\\0asm` header)"));
    }
    match bytes[4..8] {
        [0x0d, 0x00, 0x01, 0x00] => Ok(()),
        [0x01, 0x00, 0x00, 0x00] => Err(not(
            "it is a core WebAssembly module; build it for `wasm32-wasip2` (or wrap it with `wasm-tools component new`)",
        )),
        _ => Err(not("unknown WebAssembly binary version")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A background thread that advances the engine's epoch every [`TICK`], so
/// that each running call checks its deadline (see [`Runtime::call`])
/// without a thread of its own.
struct EpochTicker {
    stop: Arc<AtomicBool>,
}

impl EpochTicker {
    fn start(engine: Engine) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("aiopt-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch thread");
        EpochTicker { stop }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_rust_panic_messages() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:9:5:\nfixture panic: gave up\nnote: run with `RUST_BACKTRACE=1`";
        assert_eq!(
            panic_message(stderr).as_deref(),
            Some("fixture panic: gave up (at src/lib.rs:9:5)")
        );
        assert_eq!(panic_message("nothing here"), None);
        // Guest text is escaped: an ESC sequence is shown, not interpreted.
        let hostile = "panicked at src/lib.rs:1:1:\nboom \x1b[2J\x1b]0;owned\x07";
        assert_eq!(
            panic_message(hostile).as_deref(),
            Some("boom \\u{1b}[2J\\u{1b}]0;owned\\u{7} (at src/lib.rs:1:1)")
        );
    }

    #[test]
    fn tells_core_modules_and_junk_from_components() {
        let path = Path::new("x.wasm");
        let core = [0, b'a', b's', b'm', 1, 0, 0, 0];
        let err = check_component_header(&core, path).unwrap_err().to_string();
        assert!(err.contains("core WebAssembly module"), "{err}");
        let err = check_component_header(b"hello world", path)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not WebAssembly"), "{err}");
        assert!(check_component_header(&[0, b'a', b's', b'm', 0x0d, 0, 1, 0], path).is_ok());
    }
}
