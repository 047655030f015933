//! What a rate-limit decision costs (docs/PERFORMANCE.md, "Rate limits").
//!
//! * `memory/<keys>/<threads>/{tenantry,governor}`: one decision on [`MemoryStore`] against
//!   governor's keyed limiter (`DefaultKeyedRateLimiter<String>`: dashmap + quanta clock) in the
//!   same run, on 1 and 2 threads, over 1, 10,000 and 1,000,000 keys (all inserted before
//!   measuring, then visited in one pseudo-random order shared by both). Keys look like the
//!   layer's (`api:t:tenant-0000042`). The quotas never refuse, so every decision writes.
//! * `redis/c<N>/{decide,trivial}`: decisions per second on [`RedisStore`] with N concurrent
//!   tasks over 10,000 keys, and a trivial `EVALSHA` (`return 1`) through the same client at the
//!   same concurrency. `bench/limits_redis.sh` adds `redis-benchmark` running `EVAL "return 1"`
//!   at the same concurrency. Needs `--features redis` and `TENANTRY_BENCH_REDIS_URL` (default
//!   `redis://127.0.0.1:6379`).
//! * `footprint` (not a criterion bench): resident memory per idle key, both stores, printed.
//! * `ab` (not a criterion bench): the `memory` cases again, tenantry and governor alternating
//!   in short rounds (11 each), printing the median of each and of their ratio: on a shared,
//!   noisy machine the ratio from interleaved rounds is steadier than two separate criterion
//!   measurements taken seconds apart.
//!
//! * `redis-ab` (not a criterion bench, `--features redis`): the `redis` cases again, decide and
//!   trivial alternating in rounds (7 of 100,000 calls each, per concurrency), printing for each
//!   the median throughput, the client's CPU (this process: the tasks, redis-rs, the runtime)
//!   and Redis's CPU (`INFO cpu`) per call, and the median of the per-round throughput ratios.
//!   CPU per call hardly moves with what else the machine runs; throughput does.
//!
//! `TENANTRY_BENCH_ROUNDS` and `TENANTRY_BENCH_CALLS` change the rounds and the calls per round
//! of `ab` and `redis-ab` (a quick check of the harness, `bench/headline.sh` with `QUICK=1`);
//! the defaults are what docs/PERFORMANCE.md reports.
//!
//! `cargo bench -p tenantry --features redis --bench limit -- memory`
//! `cargo bench -p tenantry --features redis --bench limit -- redis-ab`
//! `cargo bench -p tenantry --bench limit -- footprint`
//! `cargo bench -p tenantry --bench limit -- ab`

use std::{
    hint::black_box,
    num::NonZeroU32,
    time::{Duration, Instant},
};

use criterion::{BenchmarkId, Criterion, Throughput};
use governor::{DefaultKeyedRateLimiter, Quota as GovQuota, RateLimiter};
use tenantry::limit::{MemoryStore, Rate};

#[path = "support/mod.rs"]
mod support;

use support::{median, rss};

const KEY_COUNTS: [usize; 3] = [1, 10_000, 1_000_000];
/// Length of the shared pseudo-random visiting order.
const ORDER_LEN: usize = 1 << 20;

fn keys(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("api:t:tenant-{i:07}")).collect()
}

/// A pseudo-random order over `n` keys (xorshift), the same for both limiters.
fn order(n: usize, seed: u64) -> Vec<u32> {
    let mut x = seed | 1;
    (0..ORDER_LEN)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as u32
        })
        .collect()
}

/// One a second with a burst of 2^32 - 1: never refuses within a bench run (a key would need
/// 2^32 decisions ahead of its refill), and every key stays live (its arrival time is in the
/// future), so none is evicted while measuring. governor gets the same quota.
fn tenantry_rate() -> Rate {
    Rate::per_second(NonZeroU32::MIN).allow_burst(NonZeroU32::MAX)
}

fn governor(keys: &[String]) -> DefaultKeyedRateLimiter<String> {
    let limiter =
        RateLimiter::keyed(GovQuota::per_second(NonZeroU32::MIN).allow_burst(NonZeroU32::MAX));
    for k in keys {
        let _ = limiter.check_key(k);
    }
    limiter
}

fn tenantry(keys: &[String]) -> MemoryStore {
    fill(MemoryStore::new(), keys)
}

fn fill<C: tenantry::limit::Clock>(store: MemoryStore<C>, keys: &[String]) -> MemoryStore<C> {
    let rate = tenantry_rate();
    for k in keys {
        store.decide(k, &rate);
    }
    store
}

/// Runs `iters` decisions split over `threads` threads, each walking its own part of `order`.
fn timed<F: Fn(&String) + Sync>(
    iters: u64,
    threads: usize,
    keys: &[String],
    order: &[u32],
    f: F,
) -> Duration {
    let per_thread = iters.div_ceil(threads as u64) as usize;
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let f = &f;
            s.spawn(move || {
                let mut i = t * (ORDER_LEN / threads);
                for _ in 0..per_thread {
                    f(&keys[order[i] as usize]);
                    i = (i + 1) & (ORDER_LEN - 1);
                }
            });
        }
    });
    start.elapsed()
}

/// The keys, the visiting order and both limiters for `n` keys, built on first use (so that a
/// filter skipping a case skips its set-up too).
struct Fixture {
    keys: Vec<String>,
    order: Vec<u32>,
    ours: MemoryStore,
    theirs: DefaultKeyedRateLimiter<String>,
}

impl Fixture {
    fn new(n: usize) -> Self {
        let keys = keys(n);
        Self {
            order: order(n, 0x9E37_79B9_7F4A_7C15),
            ours: tenantry(&keys),
            theirs: governor(&keys),
            keys,
        }
    }
}

fn memory(c: &mut Criterion) {
    for &n in &KEY_COUNTS {
        let fixture = std::sync::OnceLock::new();
        let fixture = || fixture.get_or_init(|| Fixture::new(n));
        let rate = tenantry_rate();
        let mut group = c.benchmark_group(format!("memory/{n}"));
        group.throughput(Throughput::Elements(1));
        for threads in [1, 2] {
            group.bench_function(BenchmarkId::new("tenantry", format!("{threads}t")), |b| {
                let f = fixture();
                b.iter_custom(|iters| {
                    timed(iters, threads, &f.keys, &f.order, |k| {
                        black_box(f.ours.decide(k, &rate));
                    })
                })
            });
            group.bench_function(BenchmarkId::new("governor", format!("{threads}t")), |b| {
                let f = fixture();
                b.iter_custom(|iters| {
                    timed(iters, threads, &f.keys, &f.order, |k| {
                        let _ = black_box(f.theirs.check_key(k));
                    })
                })
            });
        }
        group.finish();
    }
}

fn footprint() {
    const N: usize = 1_000_000;
    let keys = keys(N);
    let clock = tenantry::limit::FakeClock::new();
    let before = rss();
    let store = fill(MemoryStore::with_clock(clock.clone()), &keys);
    let ours = rss() - before;
    let len = store.len();
    clock.advance(Duration::from_secs(2)); // every bucket is full again: idle
    let dropped = store.retain_recent();
    drop(store);
    let before = rss();
    let limiter = governor(&keys);
    let theirs = rss() - before;
    let glen = limiter.len();
    drop(limiter);
    println!(
        "footprint: {N} keys like {:?} ({} bytes of text)",
        keys[0],
        keys[0].len()
    );
    println!(
        "footprint: tenantry MemoryStore: {:.1} bytes/key resident ({len} keys; retain_recent dropped {dropped} once idle)",
        ours as f64 / N as f64
    );
    println!(
        "footprint: governor keyed (dashmap): {:.1} bytes/key resident ({glen} keys)",
        theirs as f64 / N as f64
    );
}

#[cfg(feature = "redis")]
struct RedisFixture {
    rt: tokio::runtime::Runtime,
    store: std::sync::Arc<tenantry::limit::RedisStore>,
    trivial: std::sync::Arc<redis::Script>,
    conn: redis::aio::ConnectionManager,
    keys: std::sync::Arc<Vec<String>>,
}

#[cfg(feature = "redis")]
impl RedisFixture {
    fn new() -> Self {
        use tenantry::limit::RedisStore;

        let url = std::env::var("TENANTRY_BENCH_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let (store, conn) = rt.block_on(async {
            let connections = std::env::var("TENANTRY_BENCH_REDIS_CONNECTIONS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            let store = RedisStore::builder(&url)
                .connections(connections)
                .prefix(format!("tenantry-bench:{}:", std::process::id()))
                .timeout(Duration::from_secs(5))
                .connect()
                .await
                .unwrap_or_else(|e| {
                    panic!("cannot reach Redis ({e}); set TENANTRY_BENCH_REDIS_URL")
                });
            let client = redis::Client::open(url.as_str()).expect("url");
            // The same generous timeout as the store's: a loaded machine must not fail the run.
            let config = redis::aio::ConnectionManagerConfig::new()
                .set_response_timeout(Some(Duration::from_secs(5)));
            let conn = redis::aio::ConnectionManager::new_with_config(client, config)
                .await
                .expect("connect");
            (store, conn)
        });
        Self {
            rt,
            store: std::sync::Arc::new(store),
            trivial: std::sync::Arc::new(redis::Script::new("return 1")),
            conn,
            keys: std::sync::Arc::new(keys(10_000)),
        }
    }

    /// `iters` calls split over `concurrency` tasks; the wall time.
    fn run(&self, iters: u64, concurrency: u64, decide: bool) -> Duration {
        let rate = Rate::per_second(NonZeroU32::MIN).allow_burst(NonZeroU32::MAX);
        self.rt.block_on(async {
            let per_task = iters.div_ceil(concurrency);
            let start = Instant::now();
            let tasks: Vec<_> = (0..concurrency)
                .map(|t| {
                    let (store, keys, trivial, mut conn) = (
                        self.store.clone(),
                        self.keys.clone(),
                        self.trivial.clone(),
                        self.conn.clone(),
                    );
                    tokio::spawn(async move {
                        for i in 0..per_task {
                            if decide {
                                let k = &keys[((t * 7919 + i) % 10_000) as usize];
                                black_box(store.decide(k, &rate).await.expect("decide"));
                            } else {
                                let v: i64 = trivial.invoke_async(&mut conn).await.expect("eval");
                                black_box(v);
                            }
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("task");
            }
            start.elapsed()
        })
    }
}

#[cfg(feature = "redis")]
fn redis(c: &mut Criterion) {
    let cell = std::sync::OnceLock::new();
    let fixture = || cell.get_or_init(RedisFixture::new);
    let mut group = c.benchmark_group("redis");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(8));
    for concurrency in [1u64, 16, 64] {
        group.bench_function(BenchmarkId::new("decide", format!("c{concurrency}")), |b| {
            let f = fixture();
            b.iter_custom(|iters| f.run(iters, concurrency, true))
        });
        group.bench_function(
            BenchmarkId::new("trivial", format!("c{concurrency}")),
            |b| {
                let f = fixture();
                b.iter_custom(|iters| f.run(iters, concurrency, false))
            },
        );
    }
    group.finish();
    if let Some(f) = cell.get() {
        assert_eq!(f.store.failures(), 0);
    }
}

/// `name` from the environment if it is set to a number, else `default`.
fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ab() {
    let rounds: usize = env_or("TENANTRY_BENCH_ROUNDS", 11);
    println!(
        "ab: keys threads | tenantry Mdecisions/s | governor Mdecisions/s | ratio (median of rounds)"
    );
    for &n in &KEY_COUNTS {
        let keys = keys(n);
        let order = order(n, 0x9E37_79B9_7F4A_7C15);
        let ours = tenantry(&keys);
        let theirs = governor(&keys);
        let rate = tenantry_rate();
        let per_round: u64 = env_or(
            "TENANTRY_BENCH_CALLS",
            if n >= 1_000_000 { 2_000_000 } else { 5_000_000 },
        );
        for threads in [1, 2] {
            let (mut a, mut b, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..rounds {
                let ta = timed(per_round, threads, &keys, &order, |k| {
                    black_box(ours.decide(k, &rate));
                });
                let tb = timed(per_round, threads, &keys, &order, |k| {
                    let _ = black_box(theirs.check_key(k));
                });
                let (ra, rb) = (
                    per_round as f64 / ta.as_secs_f64() / 1e6,
                    per_round as f64 / tb.as_secs_f64() / 1e6,
                );
                a.push(ra);
                b.push(rb);
                ratio.push(ra / rb);
            }
            println!(
                "ab: {n:>7} {threads} | {:6.2} | {:6.2} | {:.2}",
                median(a),
                median(b),
                median(ratio)
            );
        }
    }
}

/// CPU seconds (user + system) this process has used so far.
#[cfg(feature = "redis")]
fn own_cpu() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which ends with ')'): utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds (user + system) the Redis server has used so far.
#[cfg(feature = "redis")]
fn redis_cpu(f: &RedisFixture) -> f64 {
    let mut conn = f.conn.clone();
    let info: String =
        f.rt.block_on(redis::cmd("INFO").arg("cpu").query_async(&mut conn))
            .expect("INFO cpu");
    info.lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(k, _)| *k == "used_cpu_sys" || *k == "used_cpu_user")
        .filter_map(|(_, v)| v.trim().parse::<f64>().ok())
        .sum()
}

#[cfg(feature = "redis")]
fn redis_ab() {
    let rounds: usize = env_or("TENANTRY_BENCH_ROUNDS", 7);
    let calls: u64 = env_or("TENANTRY_BENCH_CALLS", 100_000);
    let f = RedisFixture::new();
    println!(
        "redis-ab: {} | load average {}",
        std::env::var("TENANTRY_BENCH_REDIS_CONNECTIONS").map_or_else(
            |_| "store connections 1 (default)".to_owned(),
            |n| format!("store connections {n}")
        ),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "redis-ab: callers | decide k/s, client µs, redis µs per call | trivial k/s, client µs, redis µs per call | decide/trivial (median of rounds)"
    );
    for concurrency in [1u64, 16, 64] {
        // Warm-up: connections, script cache, keys.
        f.run(calls / 10, concurrency, true);
        f.run(calls / 10, concurrency, false);
        let mut cases = [
            (Vec::new(), Vec::new(), Vec::new()),
            (Vec::new(), Vec::new(), Vec::new()),
        ];
        let mut ratios = Vec::new();
        for round in 0..rounds {
            let mut rps = [0.0; 2];
            // Alternate which goes first.
            for i in [round % 2, 1 - round % 2] {
                let (c0, r0) = (own_cpu(), redis_cpu(&f));
                let wall = f.run(calls, concurrency, i == 0);
                let (c1, r1) = (own_cpu(), redis_cpu(&f));
                rps[i] = calls as f64 / wall.as_secs_f64();
                cases[i].0.push(rps[i] / 1e3);
                cases[i].1.push((c1 - c0) * 1e6 / calls as f64);
                cases[i].2.push((r1 - r0) * 1e6 / calls as f64);
            }
            ratios.push(rps[0] / rps[1]);
        }
        let [d, t] = cases;
        println!(
            "redis-ab: {concurrency:>3} | {:7.1} {:5.2} {:5.2} | {:7.1} {:5.2} {:5.2} | {:.3}",
            median(d.0),
            median(d.1),
            median(d.2),
            median(t.0),
            median(t.1),
            median(t.2),
            median(ratios)
        );
    }
    assert_eq!(f.store.failures(), 0);
}

fn main() {
    #[cfg(feature = "redis")]
    if std::env::args().any(|a| a == "redis-ab") {
        redis_ab();
        return;
    }
    if std::env::args().any(|a| a == "footprint") {
        footprint();
        return;
    }
    if std::env::args().any(|a| a == "ab") {
        ab();
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    memory(&mut c);
    #[cfg(feature = "redis")]
    redis(&mut c);
    c.final_summary();
}
