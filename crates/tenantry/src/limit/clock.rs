//! Where the in-memory store (and tests) get the time: [`Clock`], [`MonotonicClock`],
//! [`FakeClock`].

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// A source of time in microseconds. Only differences matter; the start is arbitrary.
pub trait Clock: Send + Sync + 'static {
    /// The current time in microseconds.
    fn now_us(&self) -> u64;
}

/// The monotonic system clock, counted from when the clock was made.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    start: Instant,
}

impl MonotonicClock {
    /// A clock starting at zero now.
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    #[inline]
    fn now_us(&self) -> u64 {
        let d = self.start.elapsed();
        d.as_secs() * 1_000_000 + u64::from(d.subsec_micros())
    }
}

/// A clock that moves only when told to, for exact tests (like governor's
/// `FakeRelativeClock`). Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use tenantry::limit::{Clock, FakeClock};
///
/// let clock = FakeClock::new();
/// let seen_by_store = clock.clone();
/// clock.advance(Duration::from_millis(1500));
/// assert_eq!(seen_by_store.now_us(), 1_500_000);
/// ```
#[derive(Clone, Default)]
pub struct FakeClock(Arc<AtomicU64>);

impl FakeClock {
    /// A clock at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock at `start` microseconds.
    pub fn at(start_us: u64) -> Self {
        Self(Arc::new(AtomicU64::new(start_us)))
    }

    /// Moves the clock forward by `by` (whole microseconds).
    pub fn advance(&self, by: Duration) {
        let us = u64::try_from(by.as_micros()).unwrap_or(u64::MAX);
        self.0.fetch_add(us, Ordering::SeqCst);
    }
}

impl fmt::Debug for FakeClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FakeClock({} µs)", self.now_us())
    }
}

impl Clock for FakeClock {
    fn now_us(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

impl<C: Clock> Clock for Arc<C> {
    fn now_us(&self) -> u64 {
        (**self).now_us()
    }
}
