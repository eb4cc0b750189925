//! The per-call sandbox: store data, WASI context and resource limiter.
//!
//! A fresh [`CallState`] (and `Store`) is built for every call, so a trapped
//! call never poisons the next one. The WASI context denies everything by
//! default and replaces the clocks and random sources with deterministic ones
//! derived from the call's seed: the same input and seed give byte-identical
//! output. The monotonic clock is virtual (see [`super::clock`]): no guest
//! wait blocks in real time.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::{Resource, ResourceTable};
use wasmtime::ResourceLimiter;
use wasmtime_wasi::p2::bindings::clocks::monotonic_clock;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::DynPollable;
use wasmtime_wasi::random::Deterministic;
use wasmtime_wasi::{HostWallClock, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings;
use super::clock::{GuestClock, VirtualClock, VirtualTimer, TICK_PER_READING_NS};
use super::limits::Limits;
use super::logs::{LogBuffer, LogLevel, LogSource};

/// How much of stdout/stderr is captured per call. The tail is shown when a
/// plugin traps (a Rust panic message goes to stderr).
const STDIO_CAPACITY: usize = 64 << 10;

/// Store data for one call.
pub struct CallState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub memory: MemoryGuard,
    pub logs: LogBuffer,
    /// The guest's monotonic clock; its budget is the call's timeout.
    pub clock: Arc<VirtualClock>,
    stdout: MemoryOutputPipe,
    stderr: MemoryOutputPipe,
}

impl CallState {
    pub fn new(seed: u64, limits: &Limits) -> Self {
        let clock = VirtualClock::new(limits.timeout);
        let stdout = MemoryOutputPipe::new(STDIO_CAPACITY);
        let stderr = MemoryOutputPipe::new(STDIO_CAPACITY);
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .secure_random(Deterministic::new(seeded_bytes(seed, 0x5ec0_7e00)))
            .insecure_random(Deterministic::new(seeded_bytes(seed, 0x1ec0_7e01)))
            .insecure_random_seed(u128::from(splitmix(seed ^ 0x5eed)) << 64 | u128::from(splitmix(seed)))
            .wall_clock(FixedWallClock::from_seed(seed))
            .monotonic_clock(GuestClock(Arc::clone(&clock)))
            .build();
        CallState {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryGuard::new(limits.memory_bytes),
            logs: LogBuffer::new(limits.log_lines, limits.log_bytes),
            clock,
            stdout,
            stderr,
        }
    }

    /// Moves captured stdout/stderr into the log (within its budget) and
    /// returns the stderr tail for trap messages.
    pub fn drain_stdio(&mut self) -> String {
        let stdout = String::from_utf8_lossy(&self.stdout.contents()).into_owned();
        let stderr = String::from_utf8_lossy(&self.stderr.contents()).into_owned();
        for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
            self.logs.push(LogLevel::Info, LogSource::Stdout, line);
        }
        for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
            self.logs.push(LogLevel::Warn, LogSource::Stderr, line);
        }
        tail(&stderr, 2048)
    }
}

fn tail(text: &str, max: usize) -> String {
    let text = text.trim_end();
    if text.len() <= max {
        return text.to_string();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl bindings::aiopt::strategy::host::Host for CallState {
    fn log(&mut self, level: bindings::wit::Level, message: String) {
        let level = match level {
            bindings::wit::Level::Trace => LogLevel::Trace,
            bindings::wit::Level::Debug => LogLevel::Debug,
            bindings::wit::Level::Info => LogLevel::Info,
            bindings::wit::Level::Warn => LogLevel::Warn,
            bindings::wit::Level::Error => LogLevel::Error,
        };
        self.logs.push(level, LogSource::Plugin, &message);
    }
}

impl bindings::aiopt::strategy::types::Host for CallState {}

/// `wasi:clocks/monotonic-clock` on the call's [`VirtualClock`], linked in
/// place of wasmtime-wasi's (whose timers are real sleeps).
impl monotonic_clock::Host for CallState {
    fn now(&mut self) -> wasmtime::Result<u64> {
        Ok(self.clock.read())
    }

    fn resolution(&mut self) -> wasmtime::Result<u64> {
        Ok(TICK_PER_READING_NS)
    }

    fn subscribe_instant(&mut self, when: u64) -> wasmtime::Result<Resource<DynPollable>> {
        self.timer(when)
    }

    fn subscribe_duration(&mut self, duration: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let at = self.clock.after(duration);
        self.timer(at)
    }
}

impl CallState {
    fn timer(&mut self, at_ns: u64) -> wasmtime::Result<Resource<DynPollable>> {
        let timer = self.table.push(VirtualTimer {
            clock: Arc::clone(&self.clock),
            at_ns,
        })?;
        wasmtime_wasi::p2::subscribe(&mut self.table, timer)
    }
}

/// Enforces the memory limit across all of a plugin's linear memories and
/// remembers a refusal, so that the guest's resulting abort is reported as
/// `MemoryLimit` rather than as a generic trap.
#[derive(Debug)]
pub struct MemoryGuard {
    limit: u64,
    current: u64,
    pub peak: u64,
    pub refused: Option<u64>,
}

impl MemoryGuard {
    fn new(limit: u64) -> Self {
        MemoryGuard {
            limit,
            current: 0,
            peak: 0,
            refused: None,
        }
    }
}

impl ResourceLimiter for MemoryGuard {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let next = self.current.saturating_sub(current as u64) + desired as u64;
        if next > self.limit {
            self.refused = Some(next);
            return Ok(false);
        }
        self.current = next;
        self.peak = self.peak.max(next);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; a million entries is far past
        // any real plugin and bounds host memory.
        Ok(desired <= 1_000_000)
    }
}

/// A wall clock frozen at a time derived from the seed (within 2020).
struct FixedWallClock(Duration);

impl FixedWallClock {
    fn from_seed(seed: u64) -> Self {
        const JAN_1_2020: u64 = 1_577_836_800;
        const YEAR: u64 = 365 * 24 * 3600;
        FixedWallClock(Duration::from_secs(JAN_1_2020 + splitmix(seed) % YEAR))
    }
}

impl HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        self.0
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// 4 KiB of seed-derived bytes; `Deterministic` cycles through them.
fn seeded_bytes(seed: u64, stream: u64) -> Vec<u8> {
    let mut state = seed ^ stream;
    (0..512)
        .flat_map(|_| {
            state = splitmix(state);
            state.to_le_bytes()
        })
        .collect()
}
