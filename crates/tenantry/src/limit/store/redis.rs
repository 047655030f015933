//! [`RedisStore`]: one atomic Lua script per call, on Redis's clock; concurrent decisions
//! coalesced into one call.
//!
//! A lone decision is one round trip: `EVALSHA <sha> 1 <key> <t> <tau>`, the script loaded once
//! when the store connects (and again, once, if Redis answers `NOSCRIPT` after a restart). The
//! command is written straight into redis-rs's command buffer; the quota travels as two
//! integers (the emission interval `t` and the tolerance `tau`, in microseconds), so one script
//! serves every plan and a tenant that changes plan keeps its state. Per call the script does
//! the least GCRA allows (`store/redis.lua`):
//!
//! 1. `TIME`: the server's clock, so instances whose clocks differ agree (the one call a
//!    stateless script cannot avoid; tests with a fake clock pass `now` as a third argument
//!    instead);
//! 2. `GET` of the one key holding the theoretical arrival time (TAT), an integer of
//!    microseconds as text;
//! 3. the decision, in Lua arithmetic (integers below 2^53 are exact in Lua's doubles);
//! 4. only when allowed, `SET key tat PX ms`: the new TAT with an expiry at the moment the
//!    bucket is full again, so idle keys vanish by themselves and nothing else ever has to
//!    clean up (a refusal writes nothing);
//! 5. one integer reply (the reset time, negated when refused), the cheapest reply to encode
//!    and parse; retry-after and the remaining count follow from it.
//!
//! Decisions that arrive while calls are in flight are coalesced (`redis_batch.rs`): they wait,
//! and leave together as one `EVALSHA` of `store/redis_batch.lua` over all their keys, which
//! runs the same decision for each key in arrival order but reads `TIME` once, the keys with one
//! `MGET`, and answers one array. Per decision that leaves the `SET ... PX` (the expiry has to
//! move with each key's TAT, and `MSET` would drop it) and the arithmetic; the call itself, the
//! clock, the read and the reply are shared. What each costs Redis is measured in
//! docs/PERFORMANCE.md ("Rate limits").

use std::{
    fmt,
    io::Write as _,
    sync::{
        Arc,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use redis::{
    Client, Cmd, RedisWrite, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};

use super::{
    LimitStore, StoreError,
    redis_batch::{Answer, Entry, Failed, Queue, Waiting},
};
use crate::{
    BoxFuture,
    limit::{Clock, Decision, Rate},
};

/// The script: `store/redis.lua`.
const GCRA_LUA: &str = include_str!("redis.lua");
/// The script of a batch: `store/redis_batch.lua`.
const BATCH_LUA: &str = include_str!("redis_batch.lua");

/// A store on Redis, shared by every instance of a service.
///
/// Each decision is one `EVALSHA` of a Lua script (`redis.lua` beside this file: the same GCRA
/// as [`MemoryStore`](super::MemoryStore), in integer microseconds) that reads the server's
/// `TIME`, so instances with skewed clocks agree. A key is set with `PX` to expire when its
/// bucket is full again, so idle keys vanish on their own. Connections are multiplexed
/// (redis-rs `ConnectionManager`, reconnecting on its own); [`connections`](RedisStoreBuilder::connections)
/// of them are used in turn. Decisions that arrive while two calls are in flight wait and go
/// together in the next call, one script over all their keys (each decided exactly as alone,
/// in arrival order); a lone decision is sent at once.
///
/// Every call is bounded by a [timeout](RedisStoreBuilder::timeout) (50 ms by default): a
/// Redis that is down, or up but not answering, fails the decision quickly, and the layer
/// applies its [`FailMode`](crate::limit::FailMode) (logged as a warning at most once a
/// second). [`failures`](Self::failures) counts failed decisions.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::{num::NonZeroU32, time::Duration};
/// use tenantry::limit::{FailMode, Quota, RateLimitLayer, RedisStore};
///
/// let store = RedisStore::builder("redis://127.0.0.1:6379")
///     .prefix("myapp:rl:")
///     .timeout(Duration::from_millis(50))
///     .connect()
///     .await?;
/// let limits = RateLimitLayer::builder()
///     .store(store)
///     .quota(Quota::per_second(NonZeroU32::new(10).unwrap()))
///     .fail_mode(FailMode::Open)
///     .build()?;
/// # let _ = limits; Ok(()) }
/// ```
pub struct RedisStore {
    shared: Arc<Shared>,
    prefix: String,
    failures: AtomicU64,
    clock: Option<Arc<dyn Clock>>,
}

/// What the tasks that send batches need as well.
struct Shared {
    connections: Box<[ConnectionManager]>,
    next: AtomicUsize,
    script: Script,
    batch: Script,
    timeout: Duration,
    queue: Queue,
}

/// Builds a [`RedisStore`].
#[must_use]
pub struct RedisStoreBuilder {
    url: String,
    prefix: String,
    timeout: Duration,
    connect_timeout: Duration,
    connections: usize,
    clock: Option<Arc<dyn Clock>>,
}

/// The Redis store could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL is not a Redis URL (the message never repeats it: it may hold a password).
    #[error("invalid Redis URL: {0}")]
    Url(String),
    /// Redis could not be reached, or refused the script.
    #[error("cannot reach Redis: {0}")]
    Connect(#[source] redis::RedisError),
    /// Redis did not answer within the connect timeout.
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
}

impl RedisStore {
    /// Starts a configuration for the Redis at `url` (`redis://[:password@]host[:port][/db]`,
    /// `rediss://` needs redis-rs TLS features).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder {
            url: url.into(),
            prefix: "tenantry:rl:".to_owned(),
            timeout: Duration::from_millis(50),
            connect_timeout: Duration::from_secs(2),
            connections: 1,
            clock: None,
        }
    }

    /// How many decisions failed (timeout, connection or protocol error) since the store was
    /// made.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Decides one request for `key` at `rate` (the [`LimitStore`] impl calls this).
    pub async fn decide(&self, key: &str, rate: &Rate) -> Result<Decision, StoreError> {
        let now = self.clock.as_ref().map(|c| c.now_us());
        let timeout = self.shared.timeout;
        let entry = self.shared.queue.enter(|reply| Waiting {
            key: format!("{}{key}", self.prefix),
            interval_us: rate.interval_us(),
            tau_us: rate.tau_us(),
            now_us: now,
            reply,
        });
        let answer: Answer = match entry {
            Entry::Send => {
                // Hands the slot to the waiting batch, also when this future is dropped.
                let _sending = Sending(&self.shared);
                let cmd = evalsha(
                    self.shared.script.get_hash(),
                    &[self.prefix.as_bytes(), key.as_bytes()],
                    rate.interval_us(),
                    rate.tau_us(),
                    now,
                );
                match tokio::time::timeout(timeout, self.shared.eval(&cmd, &self.shared.script))
                    .await
                {
                    Ok(reply) => reply.map_err(Failed::Redis),
                    Err(_) => Err(Failed::Timeout),
                }
            }
            Entry::Wait(rx) => match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(answer)) => answer,
                // The batch was abandoned unsent (no runtime left to send it on).
                Ok(Err(_)) => Err(Failed::Protocol("the batch was abandoned".to_owned())),
                Err(_) => Err(Failed::Timeout),
            },
        };
        let result = match answer {
            Ok(reply) => to_decision(rate, reply),
            Err(Failed::Redis(e)) => Err(StoreError::Backend(Box::new(e))),
            Err(Failed::Timeout) => Err(StoreError::Timeout(timeout)),
            Err(Failed::Protocol(why)) => Err(StoreError::Protocol(why)),
        };
        if result.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

/// A call in flight: when it is done (or dropped), the next batch leaves on a task of its own.
struct Sending<'a>(&'a Arc<Shared>);

impl Drop for Sending<'_> {
    fn drop(&mut self) {
        let Some(batch) = self.0.queue.next_batch() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(send_batches(self.0.clone(), batch));
            }
            Err(_) => {
                drop(batch);
                self.0.queue.abandon();
            }
        }
    }
}

/// Sends `batch`, answers each of its decisions, and goes on with the next batch until nobody
/// waits.
async fn send_batches(shared: Arc<Shared>, mut batch: Vec<Waiting>) {
    loop {
        let answers = match tokio::time::timeout(shared.timeout, shared.eval_batch(&batch)).await {
            Ok(Ok(replies)) if replies.len() == batch.len() => {
                replies.into_iter().map(Ok).collect()
            }
            Ok(Ok(replies)) => {
                let why = format!("{} answers to {} decisions", replies.len(), batch.len());
                vec![Err(Failed::Protocol(why)); batch.len()]
            }
            Ok(Err(e)) => vec![Err(Failed::Redis(e)); batch.len()],
            Err(_) => vec![Err(Failed::Timeout); batch.len()],
        };
        for (w, answer) in batch.into_iter().zip(answers) {
            // A caller that gave up (timed out, or its request went away) hears nothing.
            let _ = w.reply.send(answer);
        }
        match shared.queue.next_batch() {
            Some(next) => batch = next,
            None => return,
        }
    }
}

impl Shared {
    fn connection(&self) -> ConnectionManager {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        self.connections[i].clone()
    }

    /// Runs `cmd`, an `EVALSHA` of `script`; if Redis lost its scripts (restart, `SCRIPT
    /// FLUSH`, failover), loads it and runs `cmd` again, once.
    async fn eval<T: redis::FromRedisValue>(
        &self,
        cmd: &Cmd,
        script: &Script,
    ) -> redis::RedisResult<T> {
        let mut conn = self.connection();
        match cmd.query_async(&mut conn).await {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                script.prepare_invoke().load_async(&mut conn).await?;
                cmd.query_async(&mut conn).await
            }
            reply => reply,
        }
    }

    /// One call for `batch`: the single-key script for one decision, the batch script for more.
    async fn eval_batch(&self, batch: &[Waiting]) -> redis::RedisResult<Vec<i64>> {
        if let [w] = batch {
            let cmd = evalsha(
                self.script.get_hash(),
                &[w.key.as_bytes()],
                w.interval_us,
                w.tau_us,
                w.now_us,
            );
            return self.eval::<i64>(&cmd, &self.script).await.map(|r| vec![r]);
        }
        self.eval(&batch_evalsha(self.batch.get_hash(), batch), &self.batch)
            .await
    }
}

/// `EVALSHA <sha> 1 <key> <t> <tau> [<now>]`, the key written from `key` (its parts, one after
/// the other) into one buffer: no intermediate strings or argument vectors (two allocations,
/// the command's own).
fn evalsha(sha: &str, key: &[&[u8]], interval_us: u64, tau_us: u64, now: Option<u64>) -> Cmd {
    let args = if now.is_some() { 7 } else { 6 };
    let key_len: usize = key.iter().map(|p| p.len()).sum();
    let bytes = 7 + 40 + 1 + key_len + 2 * 20 + 20;
    let mut cmd = Cmd::with_capacity(args, bytes);
    cmd.arg("EVALSHA").arg(sha).arg(1u8);
    {
        let mut k = cmd.writer_for_next_arg();
        for part in key {
            // Writing into a Vec cannot fail.
            let _ = k.write_all(part);
        }
    }
    cmd.arg(interval_us).arg(tau_us);
    if let Some(now) = now {
        cmd.arg(now);
    }
    cmd
}

/// `EVALSHA <sha> n <key>... <stride> (<t> <tau> [<now>])...` for `redis_batch.lua`.
fn batch_evalsha(sha: &str, batch: &[Waiting]) -> Cmd {
    let stride: u8 = if batch.iter().any(|w| w.now_us.is_some()) {
        3
    } else {
        2
    };
    let n = batch.len();
    let keys: usize = batch.iter().map(|w| w.key.len()).sum();
    let mut cmd = Cmd::with_capacity(4 + n * (1 + stride as usize), 60 + keys + n * 40);
    cmd.arg("EVALSHA").arg(sha).arg(n);
    for w in batch {
        cmd.arg(w.key.as_bytes());
    }
    cmd.arg(stride);
    for w in batch {
        cmd.arg(w.interval_us).arg(w.tau_us);
        if stride == 3 {
            cmd.arg(w.now_us.unwrap_or(0));
        }
    }
    cmd
}

/// The script's reply: `reset_after` (µs) when allowed, its negation when refused.
fn to_decision(rate: &Rate, reply: i64) -> Result<Decision, StoreError> {
    let reset_us = reply.unsigned_abs();
    let reset = Duration::from_micros(reset_us);
    match reply {
        1.. => Ok(Decision::from_times(rate, true, Duration::ZERO, reset)),
        ..0 => {
            let retry = Duration::from_micros(reset_us.saturating_sub(rate.tau_us()));
            Ok(Decision::from_times(rate, false, retry, reset))
        }
        0 => Err(StoreError::Protocol("script answered 0".to_owned())),
    }
}

impl RedisStoreBuilder {
    /// Prefix of every key (default `tenantry:rl:`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Longest wait for one decision (default 50 ms).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Longest wait for the first connection in [`connect`](Self::connect) (default 2 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many multiplexed connections to use in turn (default 1, at least 1). One connection
    /// pipelines every concurrent decision, which costs Redis and the client the least CPU per
    /// decision (docs/PERFORMANCE.md, "Rate limits"); more only spread the load of a very busy
    /// client over several sockets.
    pub fn connections(mut self, n: usize) -> Self {
        self.connections = n.max(1);
        self
    }

    /// Uses `clock` instead of Redis's `TIME` (a [`FakeClock`](crate::limit::FakeClock) for
    /// exact tests; never in production, where instances' clocks differ).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    fn parts(&self) -> Result<(Client, ConnectionManagerConfig), RedisStoreError> {
        let client =
            Client::open(self.url.as_str()).map_err(|e| RedisStoreError::Url(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        Ok((client, config))
    }

    fn finish(self, connections: Vec<ConnectionManager>) -> RedisStore {
        RedisStore {
            shared: Arc::new(Shared {
                connections: connections.into(),
                next: AtomicUsize::new(0),
                script: Script::new(GCRA_LUA),
                batch: Script::new(BATCH_LUA),
                timeout: self.timeout,
                queue: Queue::default(),
            }),
            prefix: self.prefix,
            failures: AtomicU64::new(0),
            clock: self.clock,
        }
    }

    /// Connects now and loads the script: an unreachable Redis is an error at start-up.
    pub async fn connect(self) -> Result<RedisStore, RedisStoreError> {
        let (client, config) = self.parts()?;
        let connect = async {
            let mut connections = Vec::with_capacity(self.connections);
            for _ in 0..self.connections {
                let mut conn = ConnectionManager::new_with_config(client.clone(), config.clone())
                    .await
                    .map_err(RedisStoreError::Connect)?;
                for script in [GCRA_LUA, BATCH_LUA] {
                    Script::new(script)
                        .prepare_invoke()
                        .load_async(&mut conn)
                        .await
                        .map_err(RedisStoreError::Connect)?;
                }
                connections.push(conn);
            }
            Ok(connections)
        };
        let connections = tokio::time::timeout(self.connect_timeout, connect)
            .await
            .map_err(|_| RedisStoreError::Timeout(self.connect_timeout))??;
        Ok(self.finish(connections))
    }

    /// Connects on first use: only a malformed URL is an error. Decisions fail (and the layer's
    /// fail mode applies) until Redis answers.
    pub fn connect_lazy(self) -> Result<RedisStore, RedisStoreError> {
        let (client, config) = self.parts()?;
        let connections = (0..self.connections)
            .map(|_| {
                ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
                    .map_err(RedisStoreError::Connect)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self.finish(connections))
    }
}

impl LimitStore for RedisStore {
    fn check<'a>(
        &'a self,
        key: &'a str,
        rate: &'a Rate,
    ) -> BoxFuture<'a, Result<Decision, StoreError>> {
        Box::pin(self.decide(key, rate))
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.shared.timeout)
            .field("connections", &self.shared.connections.len())
            .field("failures", &self.failures())
            .field("fake_clock", &self.clock.is_some())
            .finish()
    }
}

impl fmt::Debug for RedisStoreBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStoreBuilder")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}
