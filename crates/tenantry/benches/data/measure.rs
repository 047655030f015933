//! Paired latencies (the sides interleaved request by request) and throughput rounds.

use super::*;
use crate::support::{cpu_ns, median, percentile};

/// Cases (name, side) and the pairs `(base, case)` compared.
pub(crate) type Group<'a> = (Vec<(&'static str, &'a Side)>, Vec<(usize, usize)>);

/// Single requests with the cases interleaved request by request (see the module docs), after
/// 100 untimed requests per case.
pub(crate) fn paired(
    rt: &Runtime,
    env: &Env,
    op: Op,
    label: &str,
    (cases, pairs): &Group<'_>,
    n: usize,
) {
    let mut warm = Pick::new(u64::MAX);
    for _ in 0..100 {
        for (_, side) in cases {
            black_box(rt.block_on(side.run(op, &env.tenants, &mut warm)));
        }
    }
    let k = cases.len();
    let mut picks: Vec<Pick> = (0..k).map(|_| Pick::new(0)).collect();
    let mut samples = vec![Vec::with_capacity(n); k];
    for i in 0..n {
        for j in 0..k {
            let c = (i + j) % k;
            let started = Instant::now();
            black_box(rt.block_on(cases[c].1.run(op, &env.tenants, &mut picks[c])));
            samples[c].push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    let medians: Vec<f64> = samples.iter().map(|s| median(s.clone())).collect();
    for (c, (name, _)) in cases.iter().enumerate() {
        let mut sorted = samples[c].clone();
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        println!(
            "{label}: {name}: median {:.2} µs (p10 {:.2}, p90 {:.2}, mean {mean:.2}, {n} requests)",
            medians[c],
            percentile(&sorted, 0.1),
            percentile(&sorted, 0.9),
        );
    }
    for &(b, c) in pairs {
        let per_request = median((0..n).map(|i| samples[b][i] / samples[c][i]).collect());
        println!(
            "{label}: throughput ratio {} / {}: {:.3} (ratio of medians), {per_request:.3} (median of per-request ratios)",
            cases[c].0,
            cases[b].0,
            medians[b] / medians[c]
        );
    }
}

pub(crate) fn paired_all(rt: &Runtime, env: &Env, s: &Sides) {
    println!(
        "\npaired: one request at a time (block_on), the cases of a comparison interleaved request by request"
    );
    for (op, prefix) in OPS {
        let n = match op {
            Op::Get => PAIRED_GETS,
            Op::List50 => PAIRED_LISTS,
        };
        for group in s.groups() {
            paired(rt, env, op, &format!("paired {prefix}"), &group, n);
        }
    }
}

/// CPU time of the bench process and of the server processes of the bench database.
pub(crate) async fn cpu_now(env: &Env) -> (u64, Option<u64>) {
    let pids: Vec<i32> =
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            .fetch_all(&env.admin_pool)
            .await
            .unwrap();
    let server = pids.iter().map(|p| cpu_ns(&p.to_string())).sum();
    (cpu_ns("self").unwrap_or(0), server)
}

/// What one throughput case measured.
pub(crate) struct Rate {
    pub(crate) per_second: f64,
    /// CPU µs per request of the bench process.
    pub(crate) client_us: f64,
    /// CPU µs per request of the server processes, when readable.
    pub(crate) server_us: Option<f64>,
}

/// Completed requests per second with `THROUGHPUT_TASKS` tasks for `THROUGHPUT_TIME`, and the
/// CPU time spent per request on each side meanwhile.
pub(crate) async fn throughput(env: &Env, side: &Side, op: Op) -> Rate {
    let stop = Arc::new(AtomicBool::new(false));
    let counting = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for t in 0..THROUGHPUT_TASKS {
        let (side, tenants, stop, counting) = (
            side.clone(),
            env.tenants.clone(),
            stop.clone(),
            counting.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut pick = Pick::new(t as u64 + 1);
            let mut done = 0_u64;
            while !stop.load(Ordering::Relaxed) {
                let n = side.run(op, &tenants, &mut pick).await;
                assert!(n > 0);
                if counting.load(Ordering::Relaxed) {
                    done += 1;
                }
            }
            done
        }));
    }
    tokio::time::sleep(THROUGHPUT_WARMUP).await;
    let (client0, server0) = cpu_now(env).await;
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(THROUGHPUT_TIME).await;
    counting.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    let (client1, server1) = cpu_now(env).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let per_request = |ns: u64| ns as f64 / 1e3 / total as f64;
    Rate {
        per_second: total as f64 / elapsed.as_secs_f64(),
        client_us: per_request(client1.saturating_sub(client0)),
        server_us: server0
            .zip(server1)
            .map(|(a, b)| per_request(b.saturating_sub(a))),
    }
}

pub(crate) fn throughput_all(rt: &Runtime, env: &Env, s: &Sides) {
    println!(
        "\nthroughput: {THROUGHPUT_TASKS} concurrent tasks on the 2-worker runtime, per case {} ms warm-up then {} ms counted, the two cases alternating, {THROUGHPUT_ROUNDS} rounds",
        THROUGHPUT_WARMUP.as_millis(),
        THROUGHPUT_TIME.as_millis()
    );
    for (op, prefix) in OPS {
        for cases in [
            [("sqlx", &s.sqlx), ("service", &s.service)],
            [
                ("service (app role, no rls)", &s.app),
                ("service+rls", &s.app_rls),
            ],
        ] {
            let mut results = [Vec::new(), Vec::new()];
            for round in 0..THROUGHPUT_ROUNDS {
                for j in 0..2 {
                    let c = (j + round) % 2;
                    results[c].push(rt.block_on(throughput(env, cases[c].1, op)));
                }
            }
            let rates: Vec<Vec<f64>> = results
                .iter()
                .map(|r| r.iter().map(|r| r.per_second).collect())
                .collect();
            for (c, (name, _)) in cases.iter().enumerate() {
                let list: Vec<String> = rates[c].iter().map(|r| format!("{r:.0}")).collect();
                let client = median(results[c].iter().map(|r| r.client_us).collect());
                let server: Option<Vec<f64>> = results[c].iter().map(|r| r.server_us).collect();
                let server = server.map_or("n/a".to_owned(), |s| format!("{:.2}", median(s)));
                println!(
                    "throughput {prefix}: {name}: median {:.1} req/s (rounds: {}); CPU per request, median: bench process {client:.2} µs, server {server} µs",
                    median(rates[c].clone()),
                    list.join(", ")
                );
            }
            let ratios = (0..THROUGHPUT_ROUNDS)
                .map(|r| rates[1][r] / rates[0][r])
                .collect();
            println!(
                "throughput {prefix}: throughput ratio {} / {}: {:.3} (ratio of medians), {:.3} (median of per-round ratios)",
                cases[1].0,
                cases[0].0,
                median(rates[1].clone()) / median(rates[0].clone()),
                median(ratios)
            );
        }
    }
}
