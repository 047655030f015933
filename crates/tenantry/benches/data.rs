//! The data layer against hand-written sqlx doing the same work, on PostgreSQL
//! (docs/PERFORMANCE.md, "Data layer: scoped service vs hand-written sqlx (PostgreSQL)").
//!
//! Data: 100 tenants × 10,000 rows of the tests' `items` resource, in a database of its own
//! (`tenantry_bench_data`, reused when it already holds the expected rows, otherwise dropped and
//! reloaded with one `INSERT .. SELECT FROM generate_series`, then `VACUUM (ANALYZE)`). Rows of
//! the tenants are interleaved (tenant `k` owns ids `k + 1`, `k + 101`, ...), as rows arriving
//! from many tenants at once would be.
//!
//! Latency (criterion, group `data`): one request at a time, `Runtime::block_on` on a tokio
//! multi-thread runtime with 2 workers, one pool per role (sqlx defaults, 10 connections at most).
//! Every case draws its (tenant, id) or (tenant, page) from the same seeded sequence, so both
//! sides of a comparison run the same requests in the same order.
//!
//! - `get/service`: `TenantScopedService::new(..).get(id)`, the service built per request;
//! - `get/sqlx`: the same statement by hand, on the same pool, decoded into the same JSON row
//!   (`serde_json::Map`, same keys and values); `get/sqlx-typed` decodes into a plain struct,
//!   `get/service-typed` is `.typed::<Item>().get(id)` into the same struct;
//! - `list50/service` and `list50/sqlx`: a 50-row page, by id, one of the tenant's first 10 pages;
//! - `*/service (app role, no rls)`, `*/service (app role, tx+set_config, table rls off)` and
//!   `*/service+rls`: the service connected as a role without SUPERUSER or BYPASSRLS (RLS binds
//!   it), first with the table's RLS disabled and no `with_row_level_security`, then with
//!   `with_row_level_security` only (its transaction and `set_config`, no policy to evaluate),
//!   then with both (`rls::enable`, policy enforced). RLS is switched on just before the last case
//!   and off again after it, on the same table, in the same run.
//!
//! Paired latency (after criterion, not a criterion measurement; skip with
//! `TENANTRY_BENCH_PAIRED=0`): the same single requests, but the cases of a comparison
//! interleaved in blocks (40 rounds, each running a block of every case, order rotating), so a
//! change of load on the machine hits both sides alike; medians over rounds and the median of the
//! per-round ratios. Also the CPU time of the bench process (all its threads, from
//! `/proc/self/task/*/schedstat`) per request: what the client side costs, which load on the
//! machine disturbs less than wall time.
//!
//! Throughput (not a criterion measurement either; skip with `TENANTRY_BENCH_THROUGHPUT=0`): 16
//! tasks on the same runtime issuing requests back to back, per case 0.5 s warm-up then 2 s
//! counted, the two cases of a comparison alternating for 5 rounds; completed requests per
//! second, medians over rounds and the median of the per-round ratios.
//!
//! Admin URL: `TENANTRY_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! the application role `tenantry_bench_app` must be able to log in without a password (trust).
//!
//! `cargo bench -p tenantry --features postgres --bench data`

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
    data::{Column, Database, ListQuery, Page, Resource, Row, TenantScopedService, rls},
};
use tokio::runtime::Runtime;

const DB_NAME: &str = "tenantry_bench_data";
const APP_ROLE: &str = "tenantry_bench_app";
const TENANTS: u64 = 100;
const ROWS_PER_TENANT: u64 = 10_000;
const ROWS: u64 = TENANTS * ROWS_PER_TENANT;
/// A list reads one of the tenant's first `LIST_PAGES` pages of 50.
const LIST_PAGES: u64 = 10;
const PAGE: u32 = 50;
/// Marks a loaded database as complete (set after the load and `VACUUM`).
const MARKER: &str = "tenantry bench data: 100 tenants x 10000 rows, v1";
const SEED: u64 = 0x7e4a_47c1_da7a_5eed;
const THROUGHPUT_TASKS: usize = 16;
const THROUGHPUT_WARMUP: Duration = Duration::from_millis(500);
const THROUGHPUT_TIME: Duration = Duration::from_secs(2);
const THROUGHPUT_ROUNDS: usize = 5;
const PAIRED_ROUNDS: usize = 40;

const COLUMNS: &str = "id, tenant_id, name, sku, price_cents, note, created_at";
const GET_SQL: &str = "SELECT id, tenant_id, name, sku, price_cents, note, created_at \
                       FROM items WHERE tenant_id = $1 AND id = $2";
const LIST_SQL: &str = "SELECT id, tenant_id, name, sku, price_cents, note, created_at \
                        FROM items WHERE tenant_id = $1 ORDER BY id LIMIT 50 OFFSET $2";

/// The tests' `items` resource (tests/it/data.rs).
fn items() -> Resource {
    Resource::builder("items")
        .integer_id("id")
        .column(Column::text("name"))
        .column(Column::text("sku"))
        .column(Column::integer("price_cents").with_default())
        .column(Column::text("note").nullable())
        .column(Column::timestamp("created_at").with_default())
        .searchable(["name", "sku"])
        .sortable(["id", "name", "price_cents", "created_at"])
        .filterable(["sku"])
        .unique_per_tenant(["sku"])
        .build()
        .unwrap()
}

fn tenant_name(k: u64) -> String {
    format!("t{k:03}")
}

/// splitmix64 from a fixed seed: the requests every case makes, in order.
struct Pick(u64);

impl Pick {
    fn new(stream: u64) -> Self {
        Self(SEED ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A tenant and one of its ids.
    fn get(&mut self) -> (usize, i64) {
        let r = self.next();
        let k = r % TENANTS;
        let j = (r / TENANTS) % ROWS_PER_TENANT;
        (k as usize, (j * TENANTS + k + 1) as i64)
    }

    /// A tenant and the offset of one of its first pages.
    fn list(&mut self) -> (usize, u64) {
        let r = self.next();
        let k = r % TENANTS;
        (k as usize, u64::from(PAGE) * ((r / TENANTS) % LIST_PAGES))
    }
}

/// The row as the service returns it, decoded by hand.
fn json_row(r: &PgRow) -> Result<Row, sqlx::Error> {
    let mut out = Row::new();
    out.insert("id".to_owned(), Json::from(r.try_get::<i64, _>("id")?));
    out.insert(
        "tenant_id".to_owned(),
        Json::from(r.try_get::<String, _>("tenant_id")?),
    );
    out.insert(
        "name".to_owned(),
        Json::from(r.try_get::<String, _>("name")?),
    );
    out.insert("sku".to_owned(), Json::from(r.try_get::<String, _>("sku")?));
    out.insert(
        "price_cents".to_owned(),
        Json::from(r.try_get::<i64, _>("price_cents")?),
    );
    out.insert(
        "note".to_owned(),
        r.try_get::<Option<String>, _>("note")?
            .map_or(Json::Null, Json::from),
    );
    let at: DateTime<Utc> = r.try_get("created_at")?;
    out.insert(
        "created_at".to_owned(),
        Json::String(at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
    );
    Ok(out)
}

/// The row as a plain struct (what a `FromRow` derive would produce, and what
/// `TenantScopedService::typed` deserializes into).
#[derive(Debug, Deserialize)]
#[allow(dead_code, reason = "read through black_box and Debug only")]
struct Item {
    id: i64,
    tenant_id: String,
    name: String,
    sku: String,
    price_cents: i64,
    note: Option<String>,
    created_at: DateTime<Utc>,
}

fn typed_row(r: &PgRow) -> Result<Item, sqlx::Error> {
    Ok(Item {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        sku: r.try_get("sku")?,
        price_cents: r.try_get("price_cents")?,
        note: r.try_get("note")?,
        created_at: r.try_get("created_at")?,
    })
}

/// One way of doing a request.
#[derive(Clone)]
enum Side {
    /// `TenantScopedService`, built per request.
    Service(Database, Resource),
    /// `TenantScopedService::typed::<Item>()`, built per request.
    ServiceTyped(Database, Resource),
    /// Hand-written sqlx, rows decoded into the service's JSON shape.
    SqlxJson(PgPool),
    /// Hand-written sqlx, rows decoded into [`Item`].
    SqlxTyped(PgPool),
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Get,
    List50,
}

impl Side {
    /// Rows returned (1 for a get that found its row).
    async fn get(&self, tenant: &TenantId, id: i64) -> usize {
        match self {
            Side::Service(db, resource) => {
                let svc = TenantScopedService::new(db.clone(), resource.clone(), tenant.clone());
                let row = svc.get(id).await.unwrap();
                usize::from(black_box(row).is_some())
            }
            Side::ServiceTyped(db, resource) => {
                let svc = TenantScopedService::new(db.clone(), resource.clone(), tenant.clone())
                    .typed::<Item>();
                let row = svc.get(id).await.unwrap();
                usize::from(black_box(row).is_some())
            }
            Side::SqlxJson(pool) => {
                let row = sqlx::query(GET_SQL)
                    .bind(tenant.as_str())
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .unwrap();
                let row = row.map(|r| json_row(&r).unwrap());
                usize::from(black_box(row).is_some())
            }
            Side::SqlxTyped(pool) => {
                let row = sqlx::query(GET_SQL)
                    .bind(tenant.as_str())
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .unwrap();
                let row = row.map(|r| typed_row(&r).unwrap());
                usize::from(black_box(row).is_some())
            }
        }
    }

    async fn list(&self, tenant: &TenantId, offset: u64) -> usize {
        match self {
            Side::Service(db, resource) => {
                let svc = TenantScopedService::new(db.clone(), resource.clone(), tenant.clone());
                let rows = svc
                    .list(Page::new(PAGE, offset).unwrap(), &[])
                    .await
                    .unwrap();
                black_box(rows).len()
            }
            Side::ServiceTyped(db, resource) => {
                let svc = TenantScopedService::new(db.clone(), resource.clone(), tenant.clone())
                    .typed::<Item>();
                let page = Page::new(PAGE, offset).unwrap();
                let rows = svc.find(&ListQuery::new().page(page)).await.unwrap();
                black_box(rows).len()
            }
            Side::SqlxJson(pool) => {
                let rows = sqlx::query(LIST_SQL)
                    .bind(tenant.as_str())
                    .bind(offset as i64)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                let rows: Vec<Row> = rows.iter().map(|r| json_row(r).unwrap()).collect();
                black_box(rows).len()
            }
            Side::SqlxTyped(pool) => {
                let rows = sqlx::query(LIST_SQL)
                    .bind(tenant.as_str())
                    .bind(offset as i64)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                let rows: Vec<Item> = rows.iter().map(|r| typed_row(r).unwrap()).collect();
                black_box(rows).len()
            }
        }
    }

    async fn run(&self, op: Op, tenants: &[TenantId], pick: &mut Pick) -> usize {
        match op {
            Op::Get => {
                let (k, id) = pick.get();
                self.get(&tenants[k], id).await
            }
            Op::List50 => {
                let (k, offset) = pick.list();
                self.list(&tenants[k], offset).await
            }
        }
    }
}

struct Env {
    /// Superuser pool on the bench database (setup, RLS switching, the sqlx side).
    admin: Database,
    admin_pool: PgPool,
    /// The application role, no `with_row_level_security`.
    app: Database,
    resource: Resource,
    tenants: Arc<Vec<TenantId>>,
}

fn admin_url() -> String {
    std::env::var("TENANTRY_BENCH_POSTGRES_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `url` with its path replaced by `/<database>` (the query string is kept).
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let host_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[host_start..].find('/') {
        Some(slash) => &base[..host_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// `url` with its user replaced by `user` and no password.
fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{user}@{host}")
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Whether the bench database already holds the complete data set.
async fn is_loaded(url: &str) -> bool {
    let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
        return false;
    };
    let marker: Result<Option<String>, _> =
        sqlx::query_scalar("SELECT obj_description('public.items'::regclass, 'pg_class')")
            .fetch_one(&mut conn)
            .await;
    if marker.ok().flatten().as_deref() != Some(MARKER) {
        return false;
    }
    let n: Result<i64, _> = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&mut conn)
        .await;
    n.ok() == Some(ROWS as i64)
}

async fn setup() -> Env {
    let admin_url = admin_url();
    let url = with_database(&admin_url, DB_NAME);
    let mut conn = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL (TENANTRY_BENCH_POSTGRES_URL): {e}"));
    let reuse = is_loaded(&url).await;
    if !reuse {
        for sql in [
            format!("DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"),
            format!("CREATE DATABASE {DB_NAME}"),
        ] {
            sqlx::raw_sql(AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    sqlx::raw_sql(AssertSqlSafe(format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN \
         CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();

    let admin = Database::connect(&url).await.unwrap();
    let resource = items();
    admin.create_table(&resource).await.unwrap();
    let admin_pool = admin
        .unscoped_admin("bench: load data, switch RLS, hand-written side")
        .postgres()
        .unwrap()
        .clone();
    if reuse {
        println!("data: reusing {DB_NAME} ({ROWS} rows)");
    } else {
        let started = Instant::now();
        exec(
            &admin_pool,
            &format!(
                "INSERT INTO items ({COLUMNS}) \
                 SELECT g, 't' || lpad(((g - 1) % {TENANTS})::text, 3, '0'), \
                        'item ' || g, 'SKU-' || lpad(g::text, 7, '0'), (g * 7919) % 100000, \
                        CASE WHEN g % 4 = 0 THEN NULL ELSE 'note for item ' || g END, \
                        timestamptz '2026-01-01 00:00:00.123456+00' + g * interval '1.000271 second' \
                 FROM generate_series(1::bigint, {ROWS}) AS g"
            ),
        )
        .await;
        exec(
            &admin_pool,
            &format!("SELECT setval(pg_get_serial_sequence('items', 'id'), {ROWS})"),
        )
        .await;
        exec(&admin_pool, "VACUUM (ANALYZE) items").await;
        exec(
            &admin_pool,
            &format!("COMMENT ON TABLE items IS '{MARKER}'"),
        )
        .await;
        println!(
            "data: loaded {ROWS} rows into {DB_NAME} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    exec(
        &admin_pool,
        &format!("GRANT SELECT, INSERT, UPDATE, DELETE ON items TO {APP_ROLE}"),
    )
    .await;
    // Installs the policy (and FORCE); RLS itself stays off until the RLS cases.
    rls::enable(&admin, &resource).await.unwrap();
    set_rls(&admin_pool, false).await;

    let app = Database::connect(&with_user(&url, APP_ROLE)).await.unwrap();
    let audit = rls::audit(&app, "tenant_id").await.unwrap();
    assert!(
        !audit.role_bypasses_rls,
        "{APP_ROLE} must not bypass RLS: {:?}",
        audit.problems()
    );
    let tenants = (0..TENANTS)
        .map(|k| TenantId::parse(&tenant_name(k)).unwrap())
        .collect();
    Env {
        admin,
        admin_pool,
        app,
        resource,
        tenants: Arc::new(tenants),
    }
}

async fn set_rls(pool: &PgPool, on: bool) {
    let how = if on { "ENABLE" } else { "DISABLE" };
    exec(pool, &format!("ALTER TABLE items {how} ROW LEVEL SECURITY")).await;
}

/// Prints what the report needs: server version, sizes, plans.
async fn describe(env: &Env) {
    let pool = &env.admin_pool;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(pool)
        .await
        .unwrap();
    println!("data: server: {version}");
    let (rows, tenants, size): (i64, i64, String) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT tenant_id), \
                pg_size_pretty(pg_total_relation_size('items')) FROM items",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    println!("data: items: {rows} rows, {tenants} tenants, {size} with indexes");
    for (what, sql) in [
        ("get", GET_SQL.replace("$1", "'t042'").replace("$2", "4243")),
        (
            "list50",
            LIST_SQL.replace("$1", "'t042'").replace("$2", "450"),
        ),
    ] {
        let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {sql}")))
            .fetch_all(pool)
            .await
            .unwrap();
        println!("data: plan ({what}): {}", plan.join(" | "));
    }
}

/// Checks that every side returns the same rows for the first requests of the sequence.
async fn check_same(env: &Env, sides: &[(&str, &Side)]) {
    let mut pick = Pick::new(0);
    for _ in 0..20 {
        let (k, id) = pick.get();
        let (_, offset) = pick.list();
        let t = &env.tenants[k];
        let svc = TenantScopedService::new(env.admin.clone(), env.resource.clone(), t.clone());
        let want_get = svc.get(id).await.unwrap().expect("the row exists");
        assert_eq!(want_get["tenant_id"], t.as_str());
        let want_list = svc
            .list(Page::new(PAGE, offset).unwrap(), &[])
            .await
            .unwrap();
        assert_eq!(want_list.len(), PAGE as usize);
        let hand = env.admin_pool.clone();
        let got_get = json_row(
            &sqlx::query(GET_SQL)
                .bind(t.as_str())
                .bind(id)
                .fetch_one(&hand)
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(got_get, want_get, "get: hand-written JSON differs");
        let got_list: Vec<Row> = sqlx::query(LIST_SQL)
            .bind(t.as_str())
            .bind(offset as i64)
            .fetch_all(&hand)
            .await
            .unwrap()
            .iter()
            .map(|r| json_row(r).unwrap())
            .collect();
        assert_eq!(got_list, want_list, "list: hand-written JSON differs");
        for (name, side) in sides {
            assert_eq!(side.get(t, id).await, 1, "{name}: get");
            assert_eq!(side.list(t, offset).await, PAGE as usize, "{name}: list");
        }
    }
}

fn bench(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    env: &Env,
    name: &str,
    side: &Side,
    op: Op,
) {
    // The same sequence for every case; a fresh one per case.
    let mut pick = Pick::new(0);
    let want = match op {
        Op::Get => 1,
        Op::List50 => PAGE as usize,
    };
    assert_eq!(
        rt.block_on(side.run(op, &env.tenants, &mut Pick::new(0))),
        want,
        "{name}"
    );
    group.bench_function(name, |b| {
        b.iter(|| black_box(rt.block_on(side.run(op, &env.tenants, &mut pick))))
    });
}

struct Sides {
    service: Side,
    service_typed: Side,
    sqlx: Side,
    sqlx_typed: Side,
    app: Side,
    app_tx: Side,
}

fn sides(env: &Env) -> Sides {
    let app_rls = env.app.clone().with_row_level_security().unwrap();
    Sides {
        service: Side::Service(env.admin.clone(), env.resource.clone()),
        service_typed: Side::ServiceTyped(env.admin.clone(), env.resource.clone()),
        sqlx: Side::SqlxJson(env.admin_pool.clone()),
        sqlx_typed: Side::SqlxTyped(env.admin_pool.clone()),
        app: Side::Service(env.app.clone(), env.resource.clone()),
        app_tx: Side::Service(app_rls, env.resource.clone()),
    }
}

fn latency(c: &mut Criterion, rt: &Runtime, env: &Env, s: &Sides) {
    let mut group = c.benchmark_group("data");
    group
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5));
    for (op, prefix) in [(Op::Get, "get"), (Op::List50, "list50")] {
        bench(&mut group, rt, env, &format!("{prefix}/sqlx"), &s.sqlx, op);
        bench(
            &mut group,
            rt,
            env,
            &format!("{prefix}/sqlx-typed"),
            &s.sqlx_typed,
            op,
        );
        bench(
            &mut group,
            rt,
            env,
            &format!("{prefix}/service"),
            &s.service,
            op,
        );
        bench(
            &mut group,
            rt,
            env,
            &format!("{prefix}/service-typed"),
            &s.service_typed,
            op,
        );
        bench(
            &mut group,
            rt,
            env,
            &format!("{prefix}/service (app role, no rls)"),
            &s.app,
            op,
        );
        bench(
            &mut group,
            rt,
            env,
            &format!("{prefix}/service (app role, tx+set_config, table rls off)"),
            &s.app_tx,
            op,
        );
        rt.block_on(rls_on(env));
        bench(
            &mut group,
            rt,
            env,
            &format!("{prefix}/service+rls"),
            &s.app_tx,
            op,
        );
        rt.block_on(set_rls(&env.admin_pool, false));
    }
    group.finish();
}

/// Switches RLS on and checks that it binds the application role.
async fn rls_on(env: &Env) {
    set_rls(&env.admin_pool, true).await;
    let sql = "SELECT count(*) FROM items WHERE tenant_id = 't001'";
    let (n,): (i64,) = sqlx::query_as(sql)
        .fetch_one(
            env.app
                .unscoped_admin("bench: check RLS")
                .postgres()
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        n, 0,
        "RLS must hide every row from the app role without app.tenant_id"
    );
}

/// One case of an interleaved measurement: a side, and whether the table's RLS is on for it.
struct Case<'a> {
    name: &'static str,
    side: &'a Side,
    rls: bool,
}

/// Switches the table's RLS to `on` unless it already is.
async fn ensure_rls(env: &Env, state: &mut bool, on: bool) {
    if *state != on {
        if on {
            rls_on(env).await;
        } else {
            set_rls(&env.admin_pool, false).await;
        }
        *state = on;
    }
}

/// CPU time of this process (every thread) in ns, from `/proc/self/task/*/schedstat`. Threads
/// that exited are not counted; the bench keeps the same threads while it measures.
fn process_cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Prints, per case, the median, min and max over rounds of `table[round][case]`, then for
/// each `(base, case)` pair the median over rounds of the per-round throughput ratio
/// case/base (base time ÷ case time for latencies, case rate ÷ base rate for rates).
fn report(
    label: &str,
    unit: &str,
    cases: &[Case<'_>],
    table: &[Vec<f64>],
    pairs: &[(usize, usize)],
    latency: bool,
) {
    for (i, case) in cases.iter().enumerate() {
        let col: Vec<f64> = table.iter().map(|row| row[i]).collect();
        let (min, max) = col
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        println!(
            "{label}: {}: median {:.2} {unit} (min {min:.2}, max {max:.2}, {} rounds)",
            case.name,
            median(col.clone()),
            col.len()
        );
    }
    for &(b, c) in pairs {
        let ratios: Vec<f64> = table
            .iter()
            .map(|row| {
                if latency {
                    row[b] / row[c]
                } else {
                    row[c] / row[b]
                }
            })
            .collect();
        let (min, max) = ratios
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        println!(
            "{label}: throughput ratio {} / {}: median {:.3} (min {min:.3}, max {max:.3})",
            cases[c].name,
            cases[b].name,
            median(ratios)
        );
    }
}

/// Single-request latency with the cases interleaved: each round runs `per_block` requests of
/// every case in turn (the order rotating between rounds), one untimed request first after any
/// RLS switch. Every case draws its requests from the same sequence. Round 0 is warm-up.
#[allow(clippy::too_many_arguments, reason = "a bench helper")]
fn paired(
    rt: &Runtime,
    env: &Env,
    rls_state: &mut bool,
    label: &str,
    op: Op,
    cases: &[Case<'_>],
    pairs: &[(usize, usize)],
    per_block: u32,
) {
    let mut picks: Vec<Pick> = cases.iter().map(|_| Pick::new(0)).collect();
    let mut table = Vec::new();
    let mut cpu_table = Vec::new();
    for round in 0..=PAIRED_ROUNDS {
        let mut row = vec![0.0; cases.len()];
        let mut cpu_row = vec![0.0; cases.len()];
        for j in 0..cases.len() {
            let i = (j + round) % cases.len();
            let case = &cases[i];
            rt.block_on(ensure_rls(env, rls_state, case.rls));
            black_box(rt.block_on(case.side.run(op, &env.tenants, &mut Pick::new(u64::MAX))));
            let cpu = process_cpu_ns();
            let started = Instant::now();
            for _ in 0..per_block {
                black_box(rt.block_on(case.side.run(op, &env.tenants, &mut picks[i])));
            }
            row[i] = started.elapsed().as_secs_f64() * 1e6 / f64::from(per_block);
            cpu_row[i] = (process_cpu_ns() - cpu) as f64 / 1e3 / f64::from(per_block);
        }
        if round > 0 {
            table.push(row);
            cpu_table.push(cpu_row);
        }
    }
    report(label, "µs", cases, &table, pairs, true);
    let cpu_pairs: Vec<(usize, usize)> = Vec::new();
    report(
        &format!("{label}, bench process CPU per request"),
        "µs",
        cases,
        &cpu_table,
        &cpu_pairs,
        true,
    );
}

fn paired_all(rt: &Runtime, env: &Env, s: &Sides, rls_state: &mut bool) {
    println!(
        "\npaired latency: one request at a time (block_on), cases interleaved, {PAIRED_ROUNDS} rounds"
    );
    for (op, prefix, per_block) in [(Op::Get, "get", 200), (Op::List50, "list50", 50)] {
        let label = format!("paired {prefix} ({per_block} requests per case per round)");
        let cases = [
            Case {
                name: "sqlx",
                side: &s.sqlx,
                rls: false,
            },
            Case {
                name: "service",
                side: &s.service,
                rls: false,
            },
            Case {
                name: "sqlx-typed",
                side: &s.sqlx_typed,
                rls: false,
            },
            Case {
                name: "service-typed",
                side: &s.service_typed,
                rls: false,
            },
        ];
        paired(
            rt,
            env,
            rls_state,
            &label,
            op,
            &cases,
            &[(0, 1), (2, 3), (0, 2)],
            per_block,
        );
        let cases = [
            Case {
                name: "service (app role, no rls)",
                side: &s.app,
                rls: false,
            },
            Case {
                name: "service (app role, tx+set_config, table rls off)",
                side: &s.app_tx,
                rls: false,
            },
            Case {
                name: "service+rls",
                side: &s.app_tx,
                rls: true,
            },
        ];
        paired(
            rt,
            env,
            rls_state,
            &label,
            op,
            &cases,
            &[(0, 1), (0, 2), (1, 2)],
            per_block,
        );
    }
    rt.block_on(ensure_rls(env, rls_state, false));
}

/// Completed requests per second with `THROUGHPUT_TASKS` tasks for `THROUGHPUT_TIME`.
async fn throughput(env: &Env, side: &Side, op: Op) -> f64 {
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
    counting.store(true, Ordering::Relaxed);
    let started = Instant::now();
    tokio::time::sleep(THROUGHPUT_TIME).await;
    counting.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / elapsed.as_secs_f64()
}

fn throughput_all(rt: &Runtime, env: &Env, s: &Sides, rls_state: &mut bool) {
    println!(
        "\nthroughput: {THROUGHPUT_TASKS} concurrent tasks on the 2-worker runtime, per case {} ms warm-up then {} ms counted, cases alternating, {THROUGHPUT_ROUNDS} rounds",
        THROUGHPUT_WARMUP.as_millis(),
        THROUGHPUT_TIME.as_millis()
    );
    for (op, prefix) in [(Op::Get, "get"), (Op::List50, "list50")] {
        let label = format!("throughput {prefix}");
        for cases in [
            [
                Case {
                    name: "sqlx",
                    side: &s.sqlx,
                    rls: false,
                },
                Case {
                    name: "service",
                    side: &s.service,
                    rls: false,
                },
            ],
            [
                Case {
                    name: "service (app role, no rls)",
                    side: &s.app,
                    rls: false,
                },
                Case {
                    name: "service+rls",
                    side: &s.app_tx,
                    rls: true,
                },
            ],
        ] {
            let mut table = Vec::new();
            for round in 0..THROUGHPUT_ROUNDS {
                let mut row = vec![0.0; cases.len()];
                for j in 0..cases.len() {
                    let i = (j + round) % cases.len();
                    rt.block_on(ensure_rls(env, rls_state, cases[i].rls));
                    row[i] = rt.block_on(throughput(env, cases[i].side, op));
                }
                table.push(row);
            }
            report(&label, "req/s", &cases, &table, &[(0, 1)], false);
        }
    }
    rt.block_on(ensure_rls(env, rls_state, false));
}

fn main() {
    // `cargo test --benches` runs this without `--bench`: it would need PostgreSQL and load a
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
    rt.block_on(check_same(
        &env,
        &[
            ("sqlx-typed", &s.sqlx_typed),
            ("service-typed", &s.service_typed),
            ("app role", &s.app),
            ("app role, tx", &s.app_tx),
        ],
    ));
    let mut c = Criterion::default().configure_from_args();
    latency(&mut c, &rt, &env, &s);
    // RLS is off after `latency`.
    let mut rls_state = false;
    if std::env::var("TENANTRY_BENCH_PAIRED").as_deref() != Ok("0") {
        paired_all(&rt, &env, &s, &mut rls_state);
    }
    if std::env::var("TENANTRY_BENCH_THROUGHPUT").as_deref() != Ok("0") {
        throughput_all(&rt, &env, &s, &mut rls_state);
    }
    c.final_summary();
}
