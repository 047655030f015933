//! [`MemoryStore`]: one `AtomicU64` per key in sharded maps, idle keys evicted.

use std::{
    collections::{HashMap, hash_map::Entry},
    fmt,
    future::Future,
    hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState},
    sync::{
        Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use super::{LimitStore, StoreError};
use crate::{
    BoxFuture,
    limit::{Clock, Decision, MonotonicClock, Rate, gcra},
};

/// A shard never sweeps below this many keys.
const MIN_SWEEP_AT: usize = 1024;

/// A concurrent in-memory store: keys spread over shards (a read-write lock around a hash map
/// each), each key's state one `AtomicU64` updated by compare-and-swap, so requests for
/// existing keys only take a shared lock.
///
/// **Memory stays bounded.** A key whose theoretical arrival time has passed is a full bucket
/// and is dropped without changing any decision. Each shard drops such keys when its number of
/// keys reaches twice what was left after its last sweep (at least 1,024), so memory is at most
/// about twice the keys active in the last period, amortized O(1) per new key, with no cost on
/// requests for known keys. [`retain_recent`](Self::retain_recent) sweeps every shard at once;
/// [`sweeper`](Self::sweeper) does it on a timer.
///
/// The state is per process: behind several instances of a service, use
/// `RedisStore` (feature `redis`).
///
/// ```
/// use std::{num::NonZeroU32, time::Duration};
/// use tenantry::limit::{FakeClock, MemoryStore, Rate};
///
/// let clock = FakeClock::new();
/// let store = MemoryStore::with_clock(clock.clone());
/// let rate = Rate::per_second(NonZeroU32::new(2).unwrap());
/// assert!(store.decide("k", &rate).is_allowed());
/// assert!(store.decide("k", &rate).is_allowed());
/// assert!(!store.decide("k", &rate).is_allowed());
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(store.retain_recent(), 1); // the bucket is full again: the key is dropped
/// assert!(store.is_empty());
/// ```
pub struct MemoryStore<C = MonotonicClock> {
    shards: Box<[Padded<RwLock<Shard>>]>,
    hasher: RandomState,
    mask: usize,
    clock: C,
}

/// Keeps shards on separate cache lines.
#[repr(align(128))]
struct Padded<T>(T);

struct Shard {
    /// Keyed by the key's 64-bit hash (SipHash with the store's random seed, computed once per
    /// decision), with the key's text kept to check it: lookups compare one integer, then the
    /// text once.
    map: HashMap<u64, Slot, BuildHasherDefault<Prehashed>>,
    /// Keys whose hash collides with a different key's (practically never): by text.
    collided: HashMap<Box<str>, AtomicU64>,
    sweep_at: usize,
}

struct Slot {
    text: Box<str>,
    tat: AtomicU64,
}

impl Shard {
    #[inline]
    fn find(&self, hash: u64, key: &str) -> Option<&AtomicU64> {
        match self.map.get(&hash) {
            Some(slot) if *slot.text == *key => Some(&slot.tat),
            // A collided key stays there even after the slot it collided with is swept.
            _ if self.collided.is_empty() => None,
            _ => self.collided.get(key),
        }
    }

    fn insert(&mut self, hash: u64, key: &str) -> &AtomicU64 {
        match self.map.entry(hash) {
            Entry::Vacant(v) => {
                &v.insert(Slot {
                    text: Box::from(key),
                    tat: AtomicU64::new(0),
                })
                .tat
            }
            Entry::Occupied(o) if *o.get().text == *key => &o.into_mut().tat,
            Entry::Occupied(_) => self
                .collided
                .entry(Box::from(key))
                .or_insert_with(|| AtomicU64::new(0)),
        }
    }

    fn len(&self) -> usize {
        self.map.len() + self.collided.len()
    }
}

/// The map's hasher: its keys are hashes already.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used; fold anything else in, to stay a valid hasher.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl MemoryStore<MonotonicClock> {
    /// A store on the monotonic system clock.
    pub fn new() -> Self {
        Self::with_clock(MonotonicClock::new())
    }
}

impl Default for MemoryStore<MonotonicClock> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Clock> MemoryStore<C> {
    /// A store on `clock` (a [`FakeClock`](crate::limit::FakeClock) in tests).
    pub fn with_clock(clock: C) -> Self {
        let cores = std::thread::available_parallelism().map_or(4, usize::from);
        let shards = (cores * 8).next_power_of_two().clamp(16, 1024);
        Self {
            shards: (0..shards)
                .map(|_| {
                    Padded(RwLock::new(Shard {
                        map: HashMap::default(),
                        collided: HashMap::new(),
                        sweep_at: MIN_SWEEP_AT,
                    }))
                })
                .collect(),
            hasher: RandomState::new(),
            mask: shards - 1,
            clock,
        }
    }

    /// Decides one request for `key` at `rate` now, synchronously (the [`LimitStore`] impl
    /// calls this).
    pub fn decide(&self, key: &str, rate: &Rate) -> Decision {
        let now = self.clock.now_us();
        let mut hasher = self.hasher.build_hasher();
        hasher.write(key.as_bytes());
        let hash = hasher.finish();
        // Bits 32..42 pick the shard: the map inside uses the low bits (bucket) and the top
        // seven (tag), so shards do not skew it.
        let shard = &self.shards[(hash >> 32) as usize & self.mask].0;
        if let Some(cell) = read(shard).find(hash, key) {
            return update(cell, rate, now, &self.clock);
        }
        let mut shard = write(shard);
        if let Some(cell) = shard.find(hash, key) {
            return update(cell, rate, now, &self.clock);
        }
        if shard.len() >= shard.sweep_at {
            sweep(&mut shard, now);
        }
        update(shard.insert(hash, key), rate, now, &self.clock)
    }

    /// How many keys are kept.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| read(&s.0).len()).sum()
    }

    /// Whether no key is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every key whose bucket is full again (its arrival time has passed); returns how
    /// many were dropped. Decisions are the same with or without them.
    pub fn retain_recent(&self) -> usize {
        let now = self.clock.now_us();
        self.shards
            .iter()
            .map(|s| sweep(&mut write(&s.0), now))
            .sum()
    }

    /// A future that calls [`retain_recent`](Self::retain_recent) every `every` until the store
    /// is dropped: `tokio::spawn(store.sweeper(Duration::from_secs(60)))`. Optional: shards
    /// also sweep themselves as they grow.
    pub fn sweeper(self: &Arc<Self>, every: Duration) -> impl Future<Output = ()> + Send + 'static
    where
        C: Send + Sync,
    {
        let store = Arc::downgrade(self);
        async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(1)));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(store) = store.upgrade() else { return };
                let dropped = store.retain_recent();
                tracing::trace!(dropped, "rate-limit keys swept");
            }
        }
    }
}

/// The GCRA step on one key's cell: a compare-and-swap loop, no write when refused.
///
/// A refusal is checked once more against a fresh reading of the clock: a thread preempted
/// between reading the clock and deciding (milliseconds on a busy machine) would otherwise judge
/// with a stale `now` while other threads have moved the arrival time on, and refuse a request
/// that is within the quota.
#[inline]
fn update(cell: &AtomicU64, rate: &Rate, mut now: u64, clock: &impl Clock) -> Decision {
    let mut prev = cell.load(Ordering::Acquire);
    let mut rechecked = false;
    loop {
        // 0 means "never seen": a stored TAT is at least one interval after some `now`.
        let (decision, next) = gcra::decide(rate, (prev != 0).then_some(prev), now);
        let Some(next) = next else {
            if rechecked {
                return decision;
            }
            rechecked = true;
            now = now.max(clock.now_us());
            prev = cell.load(Ordering::Acquire);
            continue;
        };
        match cell.compare_exchange_weak(prev, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return decision,
            Err(actual) => prev = actual,
        }
    }
}

fn sweep(shard: &mut Shard, now: u64) -> usize {
    let before = shard.len();
    shard
        .map
        .retain(|_, slot| slot.tat.load(Ordering::Acquire) > now);
    shard
        .collided
        .retain(|_, tat| tat.load(Ordering::Acquire) > now);
    let after = shard.len();
    if shard.map.capacity() > 4 * after.max(MIN_SWEEP_AT) {
        shard.map.shrink_to(2 * after);
    }
    shard.sweep_at = (2 * after).max(MIN_SWEEP_AT);
    before - after
}

// A panic while a lock is held cannot leave a map half-updated in a way that matters here
// (cells are atomics; the map itself stays valid), so poisoning is ignored.
#[inline]
fn read(lock: &RwLock<Shard>) -> RwLockReadGuard<'_, Shard> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

#[inline]
fn write(lock: &RwLock<Shard>) -> RwLockWriteGuard<'_, Shard> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

impl<C: Clock> LimitStore for MemoryStore<C> {
    fn check<'a>(
        &'a self,
        key: &'a str,
        rate: &'a Rate,
    ) -> BoxFuture<'a, Result<Decision, StoreError>> {
        Box::pin(std::future::ready(Ok(self.decide(key, rate))))
    }

    fn check_now(&self, key: &str, rate: &Rate) -> Option<Result<Decision, StoreError>> {
        Some(Ok(self.decide(key, rate)))
    }
}

impl<C> fmt::Debug for MemoryStore<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::limit::FakeClock;

    #[test]
    fn shards_sweep_themselves_as_they_grow() {
        let clock = FakeClock::new();
        let store = MemoryStore::with_clock(clock.clone());
        let rate = Rate::per_second(NonZeroU32::MIN);
        let shards = store.shards.len();
        for round in 0..20u64 {
            for i in 0..2_000u64 {
                store.decide(&format!("k{round}-{i}"), &rate);
            }
            clock.advance(Duration::from_secs(2));
        }
        // 40,000 keys made, never more than about two sweep thresholds per shard kept.
        assert!(
            store.len() <= shards * 2 * MIN_SWEEP_AT,
            "{} keys kept",
            store.len()
        );
        clock.advance(Duration::from_secs(2));
        store.retain_recent();
        assert!(store.is_empty());
    }

    #[test]
    fn keys_with_the_same_hash_keep_separate_cells() {
        let mut shard = Shard {
            map: HashMap::default(),
            collided: HashMap::new(),
            sweep_at: MIN_SWEEP_AT,
        };
        shard.insert(7, "a").store(5, Ordering::Relaxed);
        shard.insert(7, "b").store(9, Ordering::Relaxed);
        let tat = |s: &Shard, k| s.find(7, k).map(|c| c.load(Ordering::Relaxed));
        assert_eq!(
            (tat(&shard, "a"), tat(&shard, "b"), tat(&shard, "c")),
            (Some(5), Some(9), None)
        );
        assert_eq!(shard.len(), 2);
        assert_eq!(sweep(&mut shard, 6), 1); // "a" is full again
        assert_eq!((tat(&shard, "a"), tat(&shard, "b")), (None, Some(9)));
    }

    #[test]
    fn concurrent_decisions_never_exceed_the_burst() {
        let store = Arc::new(MemoryStore::with_clock(FakeClock::new()));
        let rate = Rate::per_hour(NonZeroU32::new(1000).unwrap());
        let allowed: usize = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let store = &store;
                    s.spawn(move || {
                        (0..1_000)
                            .filter(|_| store.decide("hot", &rate).is_allowed())
                            .count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or(0)).sum()
        });
        assert_eq!(allowed, 1000);
    }
}
