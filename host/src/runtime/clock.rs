//! The guest's monotonic clock: virtual time that never blocks.
//!
//! wasmtime-wasi's own `wasi:clocks/monotonic-clock` turns a guest's
//! `subscribe-duration` into a real tokio sleep, and a host call is not
//! interrupted by the epoch deadline: a plugin that called
//! `thread::sleep(30 s)` held its thread (and in the server, the database
//! transaction around it) for 30 s whatever its timeout, and
//! `Duration::MAX` never returned. Here time is virtual instead:
//!
//! * every reading advances the clock by [`TICK_PER_READING_NS`], so a guest
//!   that busy-waits for time to pass still finishes, deterministically;
//! * a wait is over at once: when nothing else in the guest's poll list is
//!   ready, the clock jumps to the timer's instant;
//! * the clock has a budget, the call's timeout: a wait that jumps past it
//!   marks the call as overrun, and the epoch callback ends the call with
//!   `Timeout` at the next tick (the guest cannot wait its way past the
//!   deadline, and gets no real time for trying).
//!
//! Same input and seed, same readings: virtual time keeps calls
//! reproducible, which real time would not.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use wasmtime_wasi::p2::Pollable;
use wasmtime_wasi::HostMonotonicClock;

/// How far one reading of the clock moves it: 1 µs.
pub const TICK_PER_READING_NS: u64 = 1_000;

/// One call's virtual monotonic clock, shared by the WASI context (readings)
/// and the timers the guest subscribes to.
#[derive(Debug)]
pub struct VirtualClock {
    now_ns: AtomicU64,
    budget_ns: u64,
    overrun: AtomicBool,
}

impl VirtualClock {
    /// A clock at 0 whose budget is the call's `timeout`.
    pub fn new(timeout: Duration) -> Arc<Self> {
        Arc::new(VirtualClock {
            now_ns: AtomicU64::new(0),
            budget_ns: u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX),
            overrun: AtomicBool::new(false),
        })
    }

    /// A reading, as the guest sees it: the clock moves on by one step.
    pub fn read(&self) -> u64 {
        self.now_ns
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(t.saturating_add(TICK_PER_READING_NS))
            })
            .unwrap_or_else(|t| t)
    }

    /// The time now, without moving the clock.
    fn peek(&self) -> u64 {
        self.now_ns.load(Ordering::Relaxed)
    }

    /// The instant `duration` from now (saturating: `u64::MAX` ns is the end
    /// of time, which is past every budget).
    pub fn after(&self, duration_ns: u64) -> u64 {
        self.peek().saturating_add(duration_ns)
    }

    /// Whether a wait has carried the clock past the call's budget.
    pub fn overran(&self) -> bool {
        self.overrun.load(Ordering::Relaxed)
    }

    /// The guest waited until `instant`: time jumps there.
    fn wait_until(&self, instant: u64) {
        self.now_ns.fetch_max(instant, Ordering::Relaxed);
        if instant > self.budget_ns {
            self.overrun.store(true, Ordering::Relaxed);
        }
    }
}

/// The WASI context's view of the clock (what `now` reads).
pub struct GuestClock(pub Arc<VirtualClock>);

impl HostMonotonicClock for GuestClock {
    fn resolution(&self) -> u64 {
        TICK_PER_READING_NS
    }
    fn now(&self) -> u64 {
        self.0.read()
    }
}

/// A pollable that is ready at a virtual instant.
pub struct VirtualTimer {
    pub clock: Arc<VirtualClock>,
    pub at_ns: u64,
}

#[async_trait::async_trait]
impl Pollable for VirtualTimer {
    async fn ready(&mut self) {
        if self.clock.peek() >= self.at_ns {
            return;
        }
        // Let every other pollable in the same `poll` list be polled first:
        // if one is ready the guest is woken by it and no time passes.
        YieldOnce(false).await;
        self.clock.wait_until(self.at_ns);
    }
}

/// Pending once (waking itself at once), then ready.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on(future: impl Future<Output = ()>) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime.block_on(future);
    }

    #[test]
    fn readings_step_and_waits_jump() {
        let clock = VirtualClock::new(Duration::from_secs(10));
        assert_eq!(clock.read(), 0);
        assert_eq!(clock.read(), TICK_PER_READING_NS);
        let mut timer = VirtualTimer {
            clock: Arc::clone(&clock),
            at_ns: clock.after(2_000_000_000),
        };
        block_on(timer.ready());
        assert!(clock.peek() >= 2_000_000_000);
        assert!(!clock.overran());
    }

    #[test]
    fn a_wait_past_the_budget_overruns() {
        let clock = VirtualClock::new(Duration::from_secs(10));
        let mut timer = VirtualTimer {
            clock: Arc::clone(&clock),
            at_ns: clock.after(u64::MAX),
        };
        block_on(timer.ready());
        assert!(clock.overran());
        assert_eq!(clock.peek(), u64::MAX);
        // At the end of time the next reading saturates instead of wrapping.
        assert_eq!(clock.read(), u64::MAX);
    }
}
