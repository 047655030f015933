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

/// The hand-written statements on one table.
#[derive(Clone, Copy)]
struct Stmts {
    get: &'static str,
    list: &'static str,
}

impl Stmts {
    /// `SELECT .. WHERE tenant_id = $1 AND id = $2` and `.. ORDER BY id LIMIT 50 OFFSET $2`,
    /// as an application would write them (leaked once: static strings, like literals).
    fn on(table: &str) -> Self {
        let get = format!("SELECT {COLUMNS} FROM {table} WHERE tenant_id = $1 AND id = $2");
        let list = format!(
            "SELECT {COLUMNS} FROM {table} WHERE tenant_id = $1 ORDER BY id LIMIT 50 OFFSET $2"
        );
        Self {
            get: Box::leak(get.into_boxed_str()),
            list: Box::leak(list.into_boxed_str()),
        }
    }
}

/// The tests' `items` resource (tests/it/data.rs), on `table`.
fn items(table: &str) -> Resource {
    Resource::builder(table)
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
fn json_row(r: &PgRow) -> Result<Record, sqlx::Error> {
    let mut out = Record::new();
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
/// `TenantTable::typed` deserializes into).
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
    /// `TenantTable`, built per request.
    Service(DataStore, Resource),
    /// `TenantTable::typed::<Item>()`, built per request.
    ServiceTyped(DataStore, Resource),
    /// Hand-written sqlx, rows decoded into the service's JSON shape.
    SqlxJson(PgPool, Stmts),
    /// Hand-written sqlx, rows decoded into [`Item`].
    SqlxTyped(PgPool, Stmts),
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
                let svc = TenantTable::new(db.clone(), resource.clone(), tenant.clone());
                let row = svc.get(id).await.unwrap();
                usize::from(black_box(row).is_some())
            }
            Side::ServiceTyped(db, resource) => {
                let svc =
                    TenantTable::new(db.clone(), resource.clone(), tenant.clone()).typed::<Item>();
                let row = svc.get(id).await.unwrap();
                usize::from(black_box(row).is_some())
            }
            Side::SqlxJson(pool, sql) => {
                let row = sqlx::query(sql.get)
                    .bind(tenant.as_str())
                    .bind(id)
                    .fetch_optional(pool)
                    .await
                    .unwrap();
                let row = row.map(|r| json_row(&r).unwrap());
                usize::from(black_box(row).is_some())
            }
            Side::SqlxTyped(pool, sql) => {
                let row = sqlx::query(sql.get)
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
                let svc = TenantTable::new(db.clone(), resource.clone(), tenant.clone());
                let rows = svc
                    .list(Page::new(PAGE, offset).unwrap(), &[])
                    .await
                    .unwrap();
                black_box(rows).len()
            }
            Side::ServiceTyped(db, resource) => {
                let svc =
                    TenantTable::new(db.clone(), resource.clone(), tenant.clone()).typed::<Item>();
                let page = Page::new(PAGE, offset).unwrap();
                let rows = svc.find(&ListQuery::new().page(page)).await.unwrap();
                black_box(rows).len()
            }
            Side::SqlxJson(pool, sql) => {
                let rows = sqlx::query(sql.list)
                    .bind(tenant.as_str())
                    .bind(offset as i64)
                    .fetch_all(pool)
                    .await
                    .unwrap();
                let rows: Vec<Record> = rows.iter().map(|r| json_row(r).unwrap()).collect();
                black_box(rows).len()
            }
            Side::SqlxTyped(pool, sql) => {
                let rows = sqlx::query(sql.list)
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
    /// Superuser pool on the bench database (setup and the hand-written side).
    admin: DataStore,
    admin_pool: PgPool,
    /// The application role, no `with_row_level_security`.
    app: DataStore,
    items: Resource,
    items_rls: Resource,
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

/// Whether the bench database already holds the complete data set in both tables.
async fn is_loaded(url: &str) -> bool {
    let Ok(mut conn) = sqlx::PgConnection::connect(url).await else {
        return false;
    };
    for table in [TABLE, TABLE_RLS] {
        let marker: Result<Option<String>, _> =
            sqlx::query_scalar("SELECT obj_description(to_regclass('public.' || $1), 'pg_class')")
                .bind(table)
                .fetch_one(&mut conn)
                .await;
        if marker.ok().flatten().as_deref() != Some(MARKER) {
            return false;
        }
        let n: Result<i64, _> =
            sqlx::query_scalar(AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
                .fetch_one(&mut conn)
                .await;
        if n.ok() != Some(ROWS as i64) {
            return false;
        }
    }
    true
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

    let admin = DataStore::connect(&url).await.unwrap();
    let (items, items_rls) = (items(TABLE), items(TABLE_RLS));
    admin.create_table(&items).await.unwrap();
    admin.create_table(&items_rls).await.unwrap();
    let admin_pool = admin
        .unscoped_admin("bench: load data, hand-written side")
        .pool::<sqlx::Postgres>()
        .unwrap()
        .clone();
    if reuse {
        println!("data: reusing {DB_NAME} ({ROWS} rows in {TABLE} and in {TABLE_RLS})");
    } else {
        let started = Instant::now();
        exec(
            &admin_pool,
            &format!(
                "INSERT INTO {TABLE} ({COLUMNS}) \
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
            &format!("INSERT INTO {TABLE_RLS} SELECT * FROM {TABLE} ORDER BY id"),
        )
        .await;
        for table in [TABLE, TABLE_RLS] {
            exec(
                &admin_pool,
                &format!("SELECT setval(pg_get_serial_sequence('{table}', 'id'), {ROWS})"),
            )
            .await;
            exec(&admin_pool, &format!("VACUUM (ANALYZE) {table}")).await;
            exec(
                &admin_pool,
                &format!("COMMENT ON TABLE {table} IS '{MARKER}'"),
            )
            .await;
        }
        println!(
            "data: loaded {ROWS} rows into {TABLE} and copied them to {TABLE_RLS} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    for table in [TABLE, TABLE_RLS] {
        exec(
            &admin_pool,
            &format!("GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {APP_ROLE}"),
        )
        .await;
    }
    exec(
        &admin_pool,
        &format!("ALTER TABLE {TABLE} DISABLE ROW LEVEL SECURITY"),
    )
    .await;
    rls::enable(&admin, &items_rls).await.unwrap();

    let app = DataStore::connect(&with_user(&url, APP_ROLE))
        .await
        .unwrap();
    let audit = rls::audit(&app, "tenant_id").await.unwrap();
    assert!(
        !audit.role_bypasses_rls,
        "{APP_ROLE} must not bypass RLS: {:?}",
        audit.problems()
    );
    // RLS binds the app role on items_rls (no rows without app.tenant_id) and not on items.
    let app_pool = app
        .unscoped_admin("bench: check RLS")
        .pool::<sqlx::Postgres>()
        .unwrap()
        .clone();
    for (table, want) in [(TABLE, 10_000), (TABLE_RLS, 0)] {
        let n: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE tenant_id = 't001'"
        )))
        .fetch_one(&app_pool)
        .await
        .unwrap();
        assert_eq!(
            n, want,
            "{table}: rows the app role sees without app.tenant_id"
        );
    }
    let tenants = (0..TENANTS)
        .map(|k| TenantId::parse(&tenant_name(k)).unwrap())
        .collect();
    Env {
        admin,
        admin_pool,
        app,
        items,
        items_rls,
        tenants: Arc::new(tenants),
    }
}

/// Prints what the report needs: server version, sizes, plans.
async fn describe(env: &Env) {
    let pool = &env.admin_pool;
    let version: String = sqlx::query_scalar("SELECT version()")
        .fetch_one(pool)
        .await
        .unwrap();
    println!("data: server: {version}");
    for table in [TABLE, TABLE_RLS] {
        let (rows, tenants, size): (i64, i64, String) = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT count(*), count(DISTINCT tenant_id), \
                    pg_size_pretty(pg_total_relation_size('{table}')) FROM {table}"
        )))
        .fetch_one(pool)
        .await
        .unwrap();
        println!("data: {table}: {rows} rows, {tenants} tenants, {size} with indexes");
    }
    let sql = Stmts::on(TABLE);
    for (what, sql) in [
        ("get", sql.get.replace("$1", "'t042'").replace("$2", "4243")),
        (
            "list50",
            sql.list.replace("$1", "'t042'").replace("$2", "450"),
        ),
    ] {
        let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {sql}")))
            .fetch_all(pool)
            .await
            .unwrap();
        println!("data: plan ({what}): {}", plan.join(" | "));
    }
}

/// Checks, for the first requests of the sequence, that the hand-written JSON equals the
/// service's rows and that every side finds what it should.
async fn check_same(env: &Env, sides: &[(&str, &Side)]) {
    let sql = Stmts::on(TABLE);
    let mut pick = Pick::new(0);
    for _ in 0..20 {
        let (k, id) = pick.get();
        let (_, offset) = pick.list();
        let t = &env.tenants[k];
        let svc = TenantTable::new(env.admin.clone(), env.items.clone(), t.clone());
        let want_get = svc.get(id).await.unwrap().expect("the row exists");
        assert_eq!(want_get["tenant_id"], t.as_str());
        let want_list = svc
            .list(Page::new(PAGE, offset).unwrap(), &[])
            .await
            .unwrap();
        assert_eq!(want_list.len(), PAGE as usize);
        let hand = &env.admin_pool;
        let got_get = json_row(
            &sqlx::query(sql.get)
                .bind(t.as_str())
                .bind(id)
                .fetch_one(hand)
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(got_get, want_get, "get: hand-written JSON differs");
        let got_list: Vec<Record> = sqlx::query(sql.list)
            .bind(t.as_str())
            .bind(offset as i64)
            .fetch_all(hand)
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

/// Every side of every comparison.
struct Sides {
    sqlx: Side,
    sqlx_typed: Side,
    service: Side,
    service_typed: Side,
    app: Side,
    app_tx: Side,
    app_rls: Side,
    sqlx_rls_table: Side,
}

fn sides(env: &Env) -> Sides {
    let with_rls = env.app.clone().with_row_level_security().unwrap();
    let (sql, sql_rls) = (Stmts::on(TABLE), Stmts::on(TABLE_RLS));
    Sides {
        sqlx: Side::SqlxJson(env.admin_pool.clone(), sql),
        sqlx_typed: Side::SqlxTyped(env.admin_pool.clone(), sql),
        service: Side::Service(env.admin.clone(), env.items.clone()),
        service_typed: Side::ServiceTyped(env.admin.clone(), env.items.clone()),
        app: Side::Service(env.app.clone(), env.items.clone()),
        app_tx: Side::Service(with_rls.clone(), env.items.clone()),
        app_rls: Side::Service(with_rls, env.items_rls.clone()),
        sqlx_rls_table: Side::SqlxJson(env.admin_pool.clone(), sql_rls),
    }
}

impl Sides {
    /// The comparisons: the library against hand-written sqlx, and RLS on against off; each
    /// with the pairs `(base, case)` whose ratio is reported.
    fn groups(&self) -> [Group<'_>; 2] {
        [
            (
                vec![
                    ("sqlx", &self.sqlx),
                    ("service", &self.service),
                    ("sqlx-typed", &self.sqlx_typed),
                    ("service-typed", &self.service_typed),
                ],
                vec![(0, 1), (2, 3), (0, 2)],
            ),
            (
                vec![
                    ("service (app role, no rls)", &self.app),
                    (
                        "service (app role, tx+set_config, table rls off)",
                        &self.app_tx,
                    ),
                    ("service+rls", &self.app_rls),
                    ("sqlx", &self.sqlx),
                    ("sqlx (items_rls, superuser)", &self.sqlx_rls_table),
                ],
                vec![(0, 1), (0, 2), (1, 2), (3, 4)],
            ),
        ]
    }
}

/// Cases (name, side) and the pairs `(base, case)` compared.
type Group<'a> = (Vec<(&'static str, &'a Side)>, Vec<(usize, usize)>);

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

const OPS: [(Op, &str); 2] = [(Op::Get, "get"), (Op::List50, "list50")];

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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5)
}

/// Single requests with the cases interleaved request by request (see the module docs), after
/// 100 untimed requests per case.
fn paired(rt: &Runtime, env: &Env, op: Op, label: &str, (cases, pairs): &Group<'_>, n: usize) {
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

fn paired_all(rt: &Runtime, env: &Env, s: &Sides) {
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

/// Completed requests per second with `THROUGHPUT_TASKS` tasks for `THROUGHPUT_TIME`.
/// CPU time in ns of the threads of `pid` (all of them for `self`), from
/// `/proc/<pid>/task/*/schedstat`; `None` when unreadable (a server in another container).
fn cpu_ns(pid: &str) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    Some(
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
            .sum(),
    )
}

/// CPU time of the bench process and of the server processes of the bench database.
async fn cpu_now(env: &Env) -> (u64, Option<u64>) {
    let pids: Vec<i32> =
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            .fetch_all(&env.admin_pool)
            .await
            .unwrap();
    let server = pids.iter().map(|p| cpu_ns(&p.to_string())).sum();
    (cpu_ns("self").unwrap_or(0), server)
}

/// What one throughput case measured.
struct Rate {
    per_second: f64,
    /// CPU µs per request of the bench process.
    client_us: f64,
    /// CPU µs per request of the server processes, when readable.
    server_us: Option<f64>,
}

/// Completed requests per second with `THROUGHPUT_TASKS` tasks for `THROUGHPUT_TIME`, and the
/// CPU time spent per request on each side meanwhile.
async fn throughput(env: &Env, side: &Side, op: Op) -> Rate {
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

fn throughput_all(rt: &Runtime, env: &Env, s: &Sides) {
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
