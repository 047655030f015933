//! Where the CPU of one `GET /api/v1/items/{id}` goes, in process, on SQLite
//! (docs/PERFORMANCE.md, "CRUD router: where a get's time goes").
//!
//! `bench/crud.sh` measures the demo over HTTP against a plain axum + sqlx ceiling; this bench
//! takes the HTTP server and the client away and adds one layer at a time, so each step's cost is
//! the difference between two neighbouring cases:
//!
//! 1. `sqlx+struct`: the by-id statement on the pool, decoded into a struct (no HTTP types);
//! 2. `service`: `TenantTable::new(..).get(id)` (the data layer, JSON row);
//! 3. `router+plain handler`: an axum `Router` whose handler does step 1 and answers `Json`;
//! 4. `tenancy+plain handler`: the same router behind the demo's `TenancyLayer` (JWT HS256,
//!    `X-Tenant-Id` and path resolvers, trusted gateway, the SQL catalog on the same database
//!    behind its cache, `/healthz` a public path), mounted as the demo mounts it with rate
//!    limits off (one router behind the layer); the handler takes the `TenantId`;
//! 5. `tenancy+crud`: the demo itself: the same layer and mount around `Crud::router()`.
//!
//! Every case sends the same statement text (`SELECT "id", .. FROM "items" WHERE "tenant_id" = ?
//! AND "id" = ?`) for the same (tenant, id) sequence, reads the whole response body, and runs
//! under `Runtime::block_on` on a current-thread runtime (SQLite itself runs on sqlx's worker
//! thread, as in the server). Data: 10 tenants × 10,000 rows in a temporary WAL-mode file; tenant
//! `t{k}` owns ids `k + 1`, `k + 11`, ...
//!
//! Wall time on this 2-core VM is noisy, so the bench has a second mode for instruction counts:
//! `TENANTRY_PROBE=<case> TENANTRY_PROBE_N=<n>` skips criterion and sends `n` requests of one
//! case (case names as above); run it under `valgrind --tool=callgrind` for two values of `n`,
//! and the difference in instructions over the difference in `n` is the per-request cost
//! without the set-up (`bench/crud_probe.sh` does that for every case).
//!
//! `cargo bench -p tenantry --features sqlite,crud --bench crud`

use std::{convert::Infallible, hint::black_box, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Body,
    extract::{Path, State},
    http::StatusCode,
    routing::get,
};
use criterion::Criterion;
use http::{HeaderValue, Request};
use http_body_util::BodyExt;
use serde::Serialize;
use sqlx::{
    Row as _, SqlitePool,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow},
};
use tenantry::{
    Tenancy, TenancyLayer, TenantId,
    catalog::{Catalog, TenantRecord},
    crud::Crud,
    data::{Column, DataStore, Resource, TenantTable},
    resolve::{HeaderResolver, JwtResolver, PathResolver},
};
use tokio::runtime::Runtime;
use tower::{Layer, ServiceExt};

#[path = "support/mod.rs"]
mod support;

use support::TempDir;

const TENANTS: u64 = 10;
const PER_TENANT: u64 = 10_000;
const PREFIX: &str = "/api/v1/items";
const SQL: &str = "SELECT \"id\", \"tenant_id\", \"name\", \"sku\", \"price_cents\", \"created_at\" \
                   FROM \"items\" WHERE \"tenant_id\" = ? AND \"id\" = ?";
const CASES: [&str; 5] = [
    "sqlx+struct",
    "service",
    "router+plain handler",
    "tenancy+plain handler",
    "tenancy+crud",
];

/// The demo's `items` resource (crates/tenantry-cli/src/demo.rs).
fn items() -> Resource {
    Resource::builder("items")
        .integer_id("id")
        .column(Column::text("name"))
        .column(Column::text("sku"))
        .column(Column::integer("price_cents").with_default())
        .column(Column::timestamp("created_at").with_default())
        .searchable(["name", "sku"])
        .sortable(["id", "name", "price_cents", "created_at"])
        .filterable(["sku"])
        .unique_per_tenant(["sku"])
        .build()
        .unwrap()
}

#[derive(Debug, Serialize)]
struct Item {
    id: i64,
    tenant_id: String,
    name: String,
    sku: String,
    price_cents: i64,
    created_at: String,
}

impl TryFrom<&SqliteRow> for Item {
    type Error = sqlx::Error;
    fn try_from(r: &SqliteRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: r.try_get("id")?,
            tenant_id: r.try_get("tenant_id")?,
            name: r.try_get("name")?,
            sku: r.try_get("sku")?,
            price_cents: r.try_get("price_cents")?,
            created_at: r.try_get("created_at")?,
        })
    }
}

async fn fetch(pool: &SqlitePool, tenant: &str, id: i64) -> Option<Item> {
    let row = sqlx::query(SQL)
        .bind(tenant)
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap()?;
    Some(Item::try_from(&row).unwrap())
}

/// The (tenant, id) of request `i`: a fixed pseudo-random walk over every row.
fn target(i: u64) -> (String, i64) {
    let n = TENANTS * PER_TENANT;
    let id = (i.wrapping_mul(2_654_435_761) % n) + 1;
    (format!("t{}", (id - 1) % TENANTS), id as i64)
}

struct Fixture {
    _dir: Option<TempDir>,
    db: DataStore,
    pool: SqlitePool,
    resource: Resource,
    catalog: Catalog,
}

/// The data, in `TENANTRY_PROBE_DB` (kept, and reused when it already holds the rows) or in a
/// temporary directory.
async fn fixture() -> Fixture {
    let (file, dir) = match std::env::var_os("TENANTRY_PROBE_DB") {
        Some(file) => (std::path::PathBuf::from(file), None),
        None => {
            let dir =
                std::env::temp_dir().join(format!("tenantry-bench-crud-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            (dir.join("items.db"), Some(TempDir(dir)))
        }
    };
    // One connection, opened once: with more, the pool opens new ones whenever a request comes
    // before the last one's connection is back, at times that vary from run to run (each costs
    // ~200k instructions of schema loading), which would blur the probe's counts.
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(options)
        .await
        .unwrap();
    let db = DataStore::from_pool(pool.clone());
    let resource = items();
    db.create_table(&resource).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    if rows != (TENANTS * PER_TENANT) as i64 {
        sqlx::query("DELETE FROM items")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) \
             INSERT INTO items (id, tenant_id, name, sku, price_cents) \
             SELECT i, 't' || ((i - 1) % ?), 'item ' || i, 'SKU-' || i, i * 7 FROM n",
        )
        .bind((TENANTS * PER_TENANT) as i64)
        .bind(TENANTS as i64)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    }

    let store = db.catalog();
    store.migrate().await.unwrap();
    // An hour: under callgrind a run takes minutes, and a refresh at a random request would blur
    // the counts; at full speed the default 30 s expires once per ~300,000 requests.
    let catalog = Catalog::new(store).ttl(Duration::from_secs(3600));
    for k in 0..TENANTS {
        let id = TenantId::parse(&format!("t{k}")).unwrap();
        if catalog.get(&id).await.unwrap().is_none() {
            catalog
                .create(TenantRecord::new(id, format!("Tenant {k}")))
                .await
                .unwrap();
        }
    }
    // Everything in the main file, so a copy of it is the whole database.
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&pool)
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        db,
        pool,
        resource,
        catalog,
    }
}

/// The demo's tenancy layer (crates/tenantry-cli/src/commands/serve.rs) in header mode.
fn tenancy(catalog: Catalog) -> TenancyLayer {
    TenancyLayer::builder()
        .resolver(JwtResolver::hs256(
            b"bench-secret-bench-secret-bench-secret",
        ))
        .resolver(HeaderResolver::x_tenant_id())
        .resolver(PathResolver::default())
        .catalog(catalog)
        .trusted_gateway(true)
        .public_path("/healthz")
        .build()
}

/// Mounted as the demo mounts its API (rate limits off): one router with `/healthz`, a public
/// path of the layer, behind the layer.
fn demo_mount(tenancy: &TenancyLayer, api: Router) -> Tenancy<Router> {
    tenancy.layer(
        Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .merge(api),
    )
}

/// The by-id route alone, served by `handler`.
fn by_id<H, T>(pool: SqlitePool, handler: H) -> Router
where
    H: axum::handler::Handler<T, SqlitePool>,
    T: 'static,
{
    Router::new()
        .route(&format!("{PREFIX}/{{id}}"), get(handler))
        .with_state(pool)
}

/// The item or 404.
async fn answer(pool: &SqlitePool, tenant: &str, id: i64) -> Result<Json<Item>, StatusCode> {
    fetch(pool, tenant, id)
        .await
        .map(Json)
        .ok_or(StatusCode::NOT_FOUND)
}

/// No tenant anywhere: the handler derives the owner from the id, to send the same statement.
fn plain_router(pool: SqlitePool) -> Router {
    async fn handler(
        State(pool): State<SqlitePool>,
        Path(id): Path<i64>,
    ) -> Result<Json<Item>, StatusCode> {
        answer(&pool, &format!("t{}", (id - 1) as u64 % TENANTS), id).await
    }
    by_id(pool, handler)
}

/// The tenant from the layer.
fn tenant_router(pool: SqlitePool) -> Router {
    async fn handler(
        State(pool): State<SqlitePool>,
        tenant: TenantId,
        Path(id): Path<i64>,
    ) -> Result<Json<Item>, StatusCode> {
        answer(&pool, tenant.as_str(), id).await
    }
    by_id(pool, handler)
}

/// One case: sends request `i`, returns its body's length.
enum Case {
    Sqlx(SqlitePool),
    Service(DataStore, Resource),
    Http(Http),
}

/// Every HTTP case behind the same box, so they pay the same for it.
type Http = tower::util::BoxCloneSyncService<Request<Body>, axum::response::Response, Infallible>;

impl Case {
    fn new(name: &str, f: &Fixture) -> Self {
        match name {
            "sqlx+struct" => Self::Sqlx(f.pool.clone()),
            "service" => Self::Service(f.db.clone(), f.resource.clone()),
            "router+plain handler" => Self::Http(Http::new(plain_router(f.pool.clone()))),
            "tenancy+plain handler" => Self::Http(Http::new(demo_mount(
                &tenancy(f.catalog.clone()),
                tenant_router(f.pool.clone()),
            ))),
            "tenancy+crud" => {
                let crud = Crud::new(f.db.clone(), f.resource.clone())
                    .at(PREFIX)
                    .unwrap();
                Self::Http(Http::new(demo_mount(
                    &tenancy(f.catalog.clone()),
                    crud.router(),
                )))
            }
            other => panic!("unknown case {other:?}; cases: {CASES:?}"),
        }
    }

    async fn run(&self, i: u64) -> usize {
        let (tenant, id) = target(i);
        match self {
            Self::Sqlx(pool) => {
                let item = fetch(pool, &tenant, id).await.unwrap();
                black_box(&item);
                item.name.len()
            }
            Self::Service(db, resource) => {
                let tenant = TenantId::parse(&tenant).unwrap();
                let svc = TenantTable::new(db.clone(), resource.clone(), tenant);
                let row = svc.get(id).await.unwrap().unwrap();
                black_box(&row);
                row.len()
            }
            Self::Http(router) => {
                let req = Request::get(format!("{PREFIX}/{id}"))
                    .header("x-tenant-id", HeaderValue::from_str(&tenant).unwrap())
                    .body(Body::empty())
                    .unwrap();
                let res = router.clone().oneshot(req).await.unwrap();
                assert_eq!(res.status(), StatusCode::OK);
                let body = res.into_body().collect().await.unwrap().to_bytes();
                black_box(&body);
                body.len()
            }
        }
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// `TENANTRY_PROBE=<case>`: `n` requests of one case and nothing else (for callgrind).
fn probe(rt: &Runtime, f: &Fixture, name: &str) {
    let n: u64 = std::env::var("TENANTRY_PROBE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let case = Case::new(name, f);
    let bytes: usize = rt.block_on(async {
        let mut total = 0;
        for i in 0..n {
            total += case.run(i).await;
        }
        total
    });
    println!("{name}: {n} requests, {bytes} bytes");
}

fn main() {
    let rt = runtime();
    let f = rt.block_on(fixture());
    // Warm the catalog cache and the statement caches once, whatever runs next.
    for name in CASES {
        rt.block_on(Case::new(name, &f).run(0));
    }
    if let Ok(name) = std::env::var("TENANTRY_PROBE") {
        probe(&rt, &f, &name);
        return;
    }
    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));
    let mut group = c.benchmark_group("crud get");
    for name in CASES {
        let case = Arc::new(Case::new(name, &f));
        let mut i = 0u64;
        group.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                rt.block_on(case.run(i))
            })
        });
    }
    group.finish();
    c.final_summary();
}
