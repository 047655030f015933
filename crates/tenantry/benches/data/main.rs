//! The data layer against hand-written sqlx doing the same work, on PostgreSQL
//! (docs/PERFORMANCE.md, "Data layer: scoped service vs hand-written sqlx (PostgreSQL)").
//!
//! Data: 100 tenants × 10,000 rows of the tests' `items` resource, in a database of its own
//! (`tenantry_bench_data`, reused when it already holds the expected rows, otherwise dropped and
//! reloaded with one `INSERT .. SELECT FROM generate_series`, then `VACUUM (ANALYZE)`). Rows of
//! the tenants are interleaved (tenant `k` owns ids `k + 1`, `k + 101`, ...), as rows arriving
//! from many tenants at once would be. `items_rls` is a copy of `items` (same resource, same
//! rows in the same order, same indexes) on which `rls::enable` has turned row-level security on
//! for good; `items` keeps it off. So RLS on and off can be measured in any order without
//! switching it (and without the plan invalidations that `ALTER TABLE` causes);
//! `sqlx (items_rls, superuser)`, to which RLS does not apply, shows the two tables cost the same.
//!
//! Every case draws its (tenant, id) or (tenant, page) from the same seeded sequence, so the sides
//! of a comparison run the same requests in the same order. One request at a time under
//! `Runtime::block_on`, on a tokio multi-thread runtime with 2 workers; one pool per role (sqlx
//! defaults: at most 10 connections).
//!
//! - `get/service`: `TenantTable::new(..).get(id)`, the service built per request;
//! - `get/sqlx`: the same statement by hand, on the same pool, decoded into the same JSON row
//!   (`serde_json::Map`, same keys and values); `get/sqlx-typed` decodes into a plain struct,
//!   `get/service-typed` is `.typed::<Item>().get(id)` into the same struct;
//! - `list50/*`: the same for a 50-row page by id, one of the tenant's first 10 pages;
//! - `*/service (app role, no rls)`: the service connected as a role without SUPERUSER or
//!   BYPASSRLS, on `items`; `*/service (app role, tx+set_config, table rls off)`: the same with
//!   `with_row_level_security` (its transaction and `set_config`, but no policy to evaluate);
//!   `*/service+rls`: the same on `items_rls`, where the policy holds.
//!
//! Three measurements, in this order:
//!
//! 1. criterion, group `data`, every case above;
//! 2. "paired" (skip with `TENANTRY_BENCH_PAIRED=0`): the cases of a comparison interleaved
//!    request by request (request `i` of every case, in a rotating order, then request `i + 1`),
//!    so that load from elsewhere on the machine hits them alike; per-request latency medians,
//!    and the median over `i` of the ratio between two cases' request `i` (the same request);
//! 3. throughput (skip with `TENANTRY_BENCH_THROUGHPUT=0`): 16 tasks issuing requests back to
//!    back, per case 0.5 s warm-up then 2 s counted, the two cases of a comparison alternating for
//!    5 rounds; completed requests per second, medians over rounds and the median of the
//!    per-round ratios.
//!
//! Admin URL: `TENANTRY_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! the application role `tenantry_bench_app` must be able to log in without a password (trust).
//!
//! `cargo bench -p tenantry --features postgres --bench data`
//!
//! Files: `setup.rs` loads the data and checks every side answers the same; `sides.rs` is each
//! way of doing a request; `measure.rs` the paired and throughput runs; shared helpers (medians,
//! CPU time, URLs) are in `benches/support/`.

use std::{
    hint::black_box,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use chrono::{DateTime, SecondsFormat, Utc};
use criterion::{BenchmarkGroup, Criterion, measurement::WallTime};
use serde::Deserialize;
use serde_json::Value as Json;
use sqlx::{AssertSqlSafe, Connection, PgPool, Row as _, postgres::PgRow};
use tenantry::{
    TenantId,
    data::{Column, DataStore, ListQuery, Page, Record, Resource, TenantTable, rls},
};
use tokio::runtime::Runtime;

#[path = "../support/mod.rs"]
mod support;

mod measure;
mod setup;
mod sides;

// Every part sees the others' items (and the constants below) through `use super::*`.
use measure::*;
use setup::*;
use sides::*;

const DB_NAME: &str = "tenantry_bench_data";
const APP_ROLE: &str = "tenantry_bench_app";
const TABLE: &str = "items";
const TABLE_RLS: &str = "items_rls";
const TENANTS: u64 = 100;
const ROWS_PER_TENANT: u64 = 10_000;
const ROWS: u64 = TENANTS * ROWS_PER_TENANT;
/// A list reads one of the tenant's first `LIST_PAGES` pages of 50.
const LIST_PAGES: u64 = 10;
const PAGE: u32 = 50;
/// Marks a loaded table as complete (set after the load and `VACUUM`).
const MARKER: &str = "tenantry bench data: 100 tenants x 10000 rows, v2";
const SEED: u64 = 0x7e4a_47c1_da7a_5eed;
const PAIRED_GETS: usize = 10_000;
const PAIRED_LISTS: usize = 2_000;
const THROUGHPUT_TASKS: usize = 16;
const THROUGHPUT_WARMUP: Duration = Duration::from_millis(500);
const THROUGHPUT_TIME: Duration = Duration::from_secs(2);
const THROUGHPUT_ROUNDS: usize = 5;
const COLUMNS: &str = "id, tenant_id, name, sku, price_cents, note, created_at";
const OPS: [(Op, &str); 2] = [(Op::Get, "get"), (Op::List50, "list50")];

fn bench(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    env: &Env,
    name: &str,
    side: &Side,
    op: Op,
) {
    // The same sequence for every case, from its start.
    let mut pick = Pick::new(0);
    group.bench_function(name, |b| {
        b.iter(|| black_box(rt.block_on(side.run(op, &env.tenants, &mut pick))))
    });
}

fn latency(c: &mut Criterion, rt: &Runtime, env: &Env, s: &Sides) {
    let mut group = c.benchmark_group("data");
    group
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    for (op, prefix) in OPS {
        let mut done = Vec::new();
        for (cases, _) in s.groups() {
            for (name, side) in cases {
                // `sqlx` is in both comparisons: measured once.
                if !done.contains(&name) {
                    bench(&mut group, rt, env, &format!("{prefix}/{name}"), side, op);
                    done.push(name);
                }
            }
        }
    }
    group.finish();
}

fn main() {
    // `cargo test --benches` runs this without `--bench`: it would need PostgreSQL and load two
    // million rows, so it only says so.
    if !std::env::args().any(|a| a == "--bench") {
        println!("data bench: skipped (run with `cargo bench`; needs PostgreSQL)");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let env = rt.block_on(setup());
    rt.block_on(describe(&env));
    let s = sides(&env);
    let all: Vec<(&str, &Side)> = s.groups().into_iter().flat_map(|(c, _)| c).collect();
    rt.block_on(check_same(&env, &all));
    let mut c = Criterion::default().configure_from_args();
    latency(&mut c, &rt, &env, &s);
    if std::env::var("TENANTRY_BENCH_PAIRED").as_deref() != Ok("0") {
        paired_all(&rt, &env, &s);
    }
    if std::env::var("TENANTRY_BENCH_THROUGHPUT").as_deref() != Ok("0") {
        throughput_all(&rt, &env, &s);
    }
    c.final_summary();
}
