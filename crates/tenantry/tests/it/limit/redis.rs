//! The suite on [`RedisStore`], and what only Redis has. Needs a Redis: set
//! `TENANTRY_TEST_REDIS_URL` (default `redis://127.0.0.1:6379`).

use std::sync::Arc;

use tenantry::limit::{FakeClock, LimitStore, RedisStore};

pub const URL_VAR: &str = "TENANTRY_TEST_REDIS_URL";

pub fn url() -> String {
    std::env::var(URL_VAR).unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A prefix no other test or run uses.
pub fn unique_prefix(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "tenantry-test:{what}:{}:{nanos}:{}:",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A builder on the test Redis with room for a loaded CI machine: these tests check decisions,
/// not latency, and the store's 50 ms default would fail open whenever the 2 cores are busy.
/// Tests of the timeout itself set their own.
pub fn builder() -> tenantry::limit::RedisStoreBuilder {
    RedisStore::builder(url()).timeout(std::time::Duration::from_secs(2))
}

/// A store on the test Redis, with a fresh prefix.
pub async fn store(builder: tenantry::limit::RedisStoreBuilder) -> RedisStore {
    builder
        .connect()
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test Redis ({e}); start one or set {URL_VAR}"))
}

fn make(
    clock: FakeClock,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Arc<dyn LimitStore>> + Send>> {
    Box::pin(async move {
        let s = store(builder().prefix(unique_prefix("suite")).clock(clock)).await;
        Arc::new(s) as Arc<dyn LimitStore>
    })
}

limit_suite!(make);

mod only {
    use std::{
        net::TcpListener,
        process::{Child, Command, Stdio},
        sync::Arc,
        time::{Duration, Instant},
    };

    use tenantry::limit::{
        Decision, FailMode, FakeClock, MemoryStore, Quota, Rate, RateLimitLayer, RedisStore,
    };
    use tower::Layer;

    use super::{store, unique_prefix, url};
    use crate::limit::common::*;

    /// A deterministic pseudo-random sequence (xorshift), so a failure can be replayed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, below: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % below
        }
    }

    #[tokio::test]
    async fn redis_and_memory_give_the_same_decisions_for_the_same_sequence() {
        let (mc, rc) = (FakeClock::at(1_000_000), FakeClock::at(1_000_000));
        let memory = MemoryStore::with_clock(mc.clone());
        let redis = store(
            super::builder()
                .prefix(unique_prefix("same"))
                .clock(rc.clone()),
        )
        .await;
        let rates = [
            Rate::per_second(nz(5)),
            Rate::per_second(nz(3)).allow_burst(nz(7)),
            Rate::per_minute(nz(2)),
            Rate::per_hour(nz(100)).allow_burst(nz(3)),
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut allowed = 0;
        for step in 0..2_000 {
            let advance = Duration::from_micros(rng.next(400_000));
            mc.advance(advance);
            rc.advance(advance);
            let i = rng.next(rates.len() as u64) as usize;
            let (key, rate) = (format!("k{i}"), &rates[i]);
            let m: Decision = memory.decide(&key, rate);
            let r: Decision = redis.decide(&key, rate).await.unwrap();
            assert_eq!(m, r, "step {step}: {key} at {rate}");
            allowed += usize::from(m.is_allowed());
        }
        // The sequence exercises both outcomes.
        assert!((200..1_800).contains(&allowed), "{allowed} allowed");
        assert_eq!(redis.failures(), 0);
    }

    #[tokio::test]
    async fn server_time_decides_and_keys_expire_when_the_bucket_is_full() {
        let prefix = unique_prefix("time");
        let redis = store(super::builder().prefix(&prefix)).await;
        let rate = Rate::per_minute(nz(3));
        for remaining in [2, 1, 0] {
            let d = redis.decide("k", &rate).await.unwrap();
            assert!(d.is_allowed());
            assert_eq!(d.remaining(), remaining);
        }
        let d = redis.decide("k", &rate).await.unwrap();
        assert!(!d.is_allowed());
        let retry = d.retry_after().unwrap();
        assert!(
            retry > Duration::from_secs(15) && retry <= Duration::from_secs(20),
            "{retry:?}"
        );
        // The key expires when its bucket would be full again (60 s after three requests).
        let client = redis::Client::open(url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        let pttl: i64 = redis::cmd("PTTL")
            .arg(format!("{prefix}k"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert!((50_000..=60_000).contains(&pttl), "PTTL {pttl}");
        // A short rate's key is gone soon after.
        let fast = Rate::per_second(nz(20));
        redis.decide("fast", &fast).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let exists: i64 = redis::cmd("EXISTS")
            .arg(format!("{prefix}fast"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(exists, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_sharing_redis_never_exceed_the_quota() {
        let prefix = unique_prefix("two");
        let instance = |store: RedisStore| {
            let limits = RateLimitLayer::builder()
                .store(store)
                .quota(Quota::per_hour(nz(40)))
                .build()
                .unwrap();
            tenancy().layer(limits.layer(router()))
        };
        // Two stores with their own connections: two instances of a service.
        let a = instance(store(super::builder().prefix(&prefix)).await);
        let b = instance(store(super::builder().prefix(&prefix)).await);
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let (a, b) = (a.clone(), b.clone());
                tokio::spawn(async move {
                    let r = if i % 2 == 0 {
                        call(&a, request("/hello", Some("acme"), None)).await
                    } else {
                        call(&b, request("/hello", Some("acme"), None)).await
                    };
                    r.status.as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 40);
        assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 160);
    }

    /// Many concurrent decisions (coalesced into batches, several on one key in a batch) decide
    /// exactly as one at a time: with the clock still, each key allows its burst and no more,
    /// each allowed decision with its own remaining count; a minute on, one more each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_decisions_are_coalesced_and_each_decided_exactly() {
        let clock = FakeClock::at(5_000_000);
        let redis = Arc::new(
            store(
                super::builder()
                    .prefix(unique_prefix("batch"))
                    .clock(clock.clone()),
            )
            .await,
        );
        let rate = Rate::per_minute(nz(1)).allow_burst(nz(10));
        let tasks: Vec<_> = (0..400)
            .map(|i| {
                let redis = redis.clone();
                tokio::spawn(async move {
                    let key = format!("k{}", i % 7);
                    (key.clone(), redis.decide(&key, &rate).await.unwrap())
                })
            })
            .collect();
        let mut by_key: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
        for t in tasks {
            let (key, d) = t.await.unwrap();
            if d.is_allowed() {
                by_key.entry(key).or_default().push(d.remaining());
            }
        }
        assert_eq!(by_key.len(), 7);
        for (key, mut remaining) in by_key {
            remaining.sort_unstable();
            assert_eq!(remaining, (0..10).collect::<Vec<_>>(), "{key}");
        }
        // A minute later every key has room for exactly one more.
        clock.advance(Duration::from_secs(60));
        let tasks: Vec<_> = (0..14)
            .map(|i| {
                let redis = redis.clone();
                tokio::spawn(
                    async move { redis.decide(&format!("k{}", i % 7), &rate).await.unwrap() },
                )
            })
            .collect();
        let mut allowed = 0;
        for t in tasks {
            allowed += usize::from(t.await.unwrap().is_allowed());
        }
        assert_eq!(allowed, 7);
        assert_eq!(redis.failures(), 0);
    }

    /// A Redis of the test's own, on a free port, killed on drop.
    struct OwnRedis {
        child: Child,
        port: u16,
    }

    impl OwnRedis {
        fn start() -> Self {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            Self::on(port)
        }

        fn on(port: u16) -> Self {
            let child = Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("cannot run redis-server (install it: apt-get install redis-server)");
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "redis-server did not start on {port}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            Self { child, port }
        }

        fn url(&self) -> String {
            format!("redis://127.0.0.1:{}", self.port)
        }

        fn signal(&self, sig: &str) {
            let ok = Command::new("kill")
                .args([sig, &self.child.id().to_string()])
                .status()
                .map(|s| s.success());
            assert!(matches!(ok, Ok(true)), "kill {sig} failed");
        }

        fn stop(mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Drop for OwnRedis {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-CONT", &self.child.id().to_string()])
                .status();
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    const TIMEOUT: Duration = Duration::from_millis(50);
    /// Room for a busy CI machine on top of the timeout.
    const MARGIN: Duration = Duration::from_secs(1);

    async fn app_on(redis: &OwnRedis, mode: FailMode) -> (axum::Router, Arc<RedisStore>) {
        let store = Arc::new(store(RedisStore::builder(redis.url()).timeout(TIMEOUT)).await);
        let limits = RateLimitLayer::builder()
            .store(store.clone())
            .quota(Quota::per_minute(nz(100)))
            .fail_mode(mode)
            .build()
            .unwrap();
        (
            axum::Router::new().fallback_service(tenancy().layer(limits.layer(router()))),
            store,
        )
    }

    async fn timed(app: &axum::Router) -> (Reply, Duration) {
        let start = Instant::now();
        let r = call(app, request("/hello", Some("acme"), None)).await;
        (r, start.elapsed())
    }

    #[tokio::test]
    async fn redis_stopped_mid_test_fails_open_within_the_timeout() {
        let redis = OwnRedis::start();
        let (app, store) = app_on(&redis, FailMode::Open).await;
        timed(&app).await.0.assert_allowed(100, 99);
        redis.stop();
        for _ in 0..3 {
            let (r, took) = timed(&app).await;
            r.assert_unlimited(); // through, without headers
            assert!(took < TIMEOUT + MARGIN, "took {took:?}");
        }
        assert!(store.failures() >= 3);
    }

    #[tokio::test]
    async fn redis_stopped_mid_test_fails_closed_within_the_timeout() {
        let redis = OwnRedis::start();
        let (app, store) = app_on(&redis, FailMode::Closed).await;
        timed(&app).await.0.assert_allowed(100, 99);
        redis.stop();
        for _ in 0..3 {
            let (r, took) = timed(&app).await;
            r.assert_problem(503, "unavailable");
            assert_eq!(r.headers["retry-after"], "1");
            assert!(took < TIMEOUT + MARGIN, "took {took:?}");
        }
        assert!(store.failures() >= 3);
    }

    /// A Redis that accepts connections but never answers (stopped with SIGSTOP) is the case
    /// that hangs without a timeout.
    #[tokio::test]
    async fn an_unresponsive_redis_costs_one_timeout_then_recovers() {
        let redis = OwnRedis::start();
        let (app, store) = app_on(&redis, FailMode::Closed).await;
        timed(&app).await.0.assert_allowed(100, 99);
        redis.signal("-STOP");
        for _ in 0..3 {
            let (r, took) = timed(&app).await;
            r.assert_problem(503, "unavailable");
            assert!(took >= TIMEOUT && took < TIMEOUT + MARGIN, "took {took:?}");
        }
        let failed = store.failures();
        assert!(failed >= 3);
        redis.signal("-CONT");
        // The decisions made while it was stopped may or may not have been counted.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (r, _) = timed(&app).await;
            if r.status == 200 {
                assert!(r.remaining().is_some_and(|n| n <= 98));
                break;
            }
            assert!(Instant::now() < deadline, "did not recover: {}", r.text);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn a_restarted_redis_is_used_again() {
        let redis = OwnRedis::start();
        let port = redis.port;
        let (app, _store) = app_on(&redis, FailMode::Closed).await;
        timed(&app).await.0.assert_allowed(100, 99);
        redis.stop();
        timed(&app).await.0.assert_problem(503, "unavailable");
        let _again = OwnRedis::on(port);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (r, took) = timed(&app).await;
            assert!(took < TIMEOUT + MARGIN, "took {took:?}");
            if r.status == 200 {
                r.assert_allowed(100, 99); // a fresh Redis: a fresh bucket
                break;
            }
            assert!(Instant::now() < deadline, "did not reconnect: {}", r.text);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_a_start_up_error_or_fails_lazily() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("redis://127.0.0.1:{port}");
        let start = Instant::now();
        let err = RedisStore::builder(&url)
            .connect_timeout(Duration::from_millis(500))
            .connect()
            .await
            .unwrap_err();
        assert!(
            start.elapsed() < Duration::from_millis(500) + MARGIN,
            "{err}"
        );
        assert!(RedisStore::builder("not a url").connect_lazy().is_err());
        let lazy = RedisStore::builder(&url)
            .timeout(TIMEOUT)
            .connect_lazy()
            .unwrap();
        let start = Instant::now();
        assert!(lazy.decide("k", &Rate::per_second(nz(1))).await.is_err());
        assert!(start.elapsed() < TIMEOUT + MARGIN);
        assert_eq!(lazy.failures(), 1);
    }
}
