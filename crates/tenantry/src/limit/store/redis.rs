//! [`RedisStore`]: one atomic Lua script per decision, on Redis's clock.
//!
//! A decision is one round trip: `EVALSHA <sha> 1 <key> <t> <tau>`, the script loaded once
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
//! No hash, no second key, no table built in Lua, no reply array. What it costs Redis per call
//! against a script that only returns is measured in docs/PERFORMANCE.md ("Rate limits").

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

use super::{LimitStore, StoreError};
use crate::{
    BoxFuture,
    limit::{Clock, Decision, Rate},
};

/// The script: `store/redis.lua`.
const GCRA_LUA: &str = include_str!("redis.lua");

/// A store on Redis, shared by every instance of a service.
///
/// Each decision is one `EVALSHA` of a Lua script (`redis.lua` beside this file: the same GCRA
/// as [`MemoryStore`](super::MemoryStore), in integer microseconds) that reads the server's
/// `TIME`, so instances with skewed clocks agree. A key is set with `PX` to expire when its
/// bucket is full again, so idle keys vanish on their own. Connections are multiplexed
/// (redis-rs `ConnectionManager`, reconnecting on its own); [`connections`](RedisStoreBuilder::connections)
/// of them are used in turn.
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
    connections: Box<[ConnectionManager]>,
    next: AtomicUsize,
    script: Script,
    prefix: String,
    timeout: Duration,
    failures: AtomicU64,
    clock: Option<Arc<dyn Clock>>,
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
        let result = tokio::time::timeout(self.timeout, self.eval(key, rate)).await;
        let result = match result {
            Ok(Ok(reply)) => to_decision(rate, reply),
            Ok(Err(e)) => Err(StoreError::Backend(Box::new(e))),
            Err(_) => Err(StoreError::Timeout(self.timeout)),
        };
        if result.is_err() {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    async fn eval(&self, key: &str, rate: &Rate) -> redis::RedisResult<i64> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        let mut conn = self.connections[i].clone();
        let cmd = self.evalsha(key, rate);
        match cmd.query_async(&mut conn).await {
            // Redis lost its script cache (restart, SCRIPT FLUSH, failover): load it, once.
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                self.script.prepare_invoke().load_async(&mut conn).await?;
                cmd.query_async(&mut conn).await
            }
            reply => reply,
        }
    }

    /// `EVALSHA <sha> 1 <prefix><key> <t> <tau> [<now>]`, written into one buffer: no
    /// intermediate strings or argument vectors (two allocations, the command's own).
    fn evalsha(&self, key: &str, rate: &Rate) -> Cmd {
        let now = self.clock.as_ref().map(|c| c.now_us());
        let args = if now.is_some() { 7 } else { 6 };
        let bytes = 7 + 40 + 1 + self.prefix.len() + key.len() + 2 * 20 + 20;
        let mut cmd = Cmd::with_capacity(args, bytes);
        cmd.arg("EVALSHA").arg(self.script.get_hash()).arg(1u8);
        {
            let mut k = cmd.writer_for_next_arg();
            // Writing into a Vec cannot fail.
            let _ = k.write_all(self.prefix.as_bytes());
            let _ = k.write_all(key.as_bytes());
        }
        cmd.arg(rate.interval_us()).arg(rate.tau_us());
        if let Some(now) = now {
            cmd.arg(now);
        }
        cmd
    }
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
            connections: connections.into(),
            next: AtomicUsize::new(0),
            script: Script::new(GCRA_LUA),
            prefix: self.prefix,
            timeout: self.timeout,
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
                Script::new(GCRA_LUA)
                    .prepare_invoke()
                    .load_async(&mut conn)
                    .await
                    .map_err(RedisStoreError::Connect)?;
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
            .field("timeout", &self.timeout)
            .field("connections", &self.connections.len())
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
