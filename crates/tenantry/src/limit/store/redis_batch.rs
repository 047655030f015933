//! Coalescing of Redis decisions: while a call is in flight, the decisions that arrive wait in a
//! bounded queue and go together, in arrival order, as one `EVALSHA` of `redis_batch.lua` (one
//! `TIME`, one `MGET`, one call, one reply for the batch).
//!
//! - An idle store adds nothing: a caller that finds fewer than [`IN_FLIGHT`] calls in flight
//!   and nobody waiting sends its own call at once, the single-key script, as before.
//! - When a call in flight returns, the queue (up to [`MAX_BATCH`] decisions) leaves as the
//!   next call, sent by a task of its own so that the caller whose reply came back is not
//!   delayed; the task sends the next batch on each reply, until nobody waits.
//! - The queue is bounded: past [`MAX_WAITING`] waiting decisions, a caller sends its own call.
//! - Each caller waits at most the store's timeout, counted from its arrival, whether its
//!   decision waits or is in flight, and a batch in flight is abandoned after the same time, so
//!   a Redis that stops answering costs each decision one timeout and never leaves the queue
//!   stuck.

use std::{
    collections::VecDeque,
    sync::{Mutex, PoisonError},
};

use tokio::sync::oneshot;

/// Calls in flight at once before decisions wait to be coalesced: two, so that Redis runs one
/// batch while the client reads the previous one's reply and writes the next.
pub(super) const IN_FLIGHT: usize = 2;
/// Decisions in one batch at most.
pub(super) const MAX_BATCH: usize = 128;
/// Decisions waiting at most; past it a caller sends its own call.
pub(super) const MAX_WAITING: usize = 4096;

/// What a batch answers one decision: the script's integer, or why there is none.
pub(super) type Answer = Result<i64, Failed>;

/// Why a batch gave a decision no answer.
#[derive(Debug, Clone)]
pub(super) enum Failed {
    /// Redis answered with an error, or the connection failed.
    Redis(redis::RedisError),
    /// The batch got no reply within the store's timeout.
    Timeout,
    /// The reply was not one integer per decision.
    Protocol(String),
}

/// One decision waiting: the (prefixed) key, the rate as the script takes it, and where its
/// answer goes.
#[derive(Debug)]
pub(super) struct Waiting {
    pub(super) key: String,
    pub(super) interval_us: u64,
    pub(super) tau_us: u64,
    pub(super) now_us: Option<u64>,
    pub(super) reply: oneshot::Sender<Answer>,
}

#[derive(Debug, Default)]
struct State {
    in_flight: usize,
    waiting: VecDeque<Waiting>,
}

/// The queue of one store.
#[derive(Debug, Default)]
pub(super) struct Queue {
    state: Mutex<State>,
}

/// What a caller does.
pub(super) enum Entry {
    /// Send its own call now, and call [`Queue::next_batch`] when it is done.
    Send,
    /// Wait for the answer of a batch.
    Wait(oneshot::Receiver<Answer>),
}

impl Queue {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is two fields updated together; a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the decision `make()` describes goes: straight out when the store is idle (or the
    /// queue full), else into the queue.
    pub(super) fn enter(&self, make: impl FnOnce(oneshot::Sender<Answer>) -> Waiting) -> Entry {
        let mut s = self.state();
        if (s.in_flight < IN_FLIGHT && s.waiting.is_empty()) || s.waiting.len() >= MAX_WAITING {
            s.in_flight += 1;
            return Entry::Send;
        }
        let (tx, rx) = oneshot::channel();
        s.waiting.push_back(make(tx));
        Entry::Wait(rx)
    }

    /// A call in flight is done: the next batch, if any waits (the call stays counted in
    /// flight: the batch takes its place), else one call fewer in flight.
    pub(super) fn next_batch(&self) -> Option<Vec<Waiting>> {
        let mut s = self.state();
        if s.waiting.is_empty() {
            s.in_flight = s.in_flight.saturating_sub(1);
            return None;
        }
        let n = s.waiting.len().min(MAX_BATCH);
        Some(s.waiting.drain(..n).collect())
    }

    /// Gives the slot of a call that can no longer send its batch (no runtime to run it on):
    /// every waiting decision is answered by the closed channel, an error.
    pub(super) fn abandon(&self) {
        let mut s = self.state();
        s.in_flight = s.in_flight.saturating_sub(1);
        if s.in_flight == 0 {
            s.waiting.clear();
        }
    }
}
