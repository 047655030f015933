//! The ceiling of `bench/crud.sh`: the demo's three hot `items` routes as a plain axum + sqlx
//! service with no tenancy at all: no resolver, no catalog, no scoped service, no query builder,
//! rows decoded into a struct.
//!
//! ```sh
//! cargo run --release -p tenantry-cli --example plain_items -- \
//!     --bind 127.0.0.1:8091 --database-url sqlite://tenantry-demo.db
//! ```
//!
//! It serves the `items` table that `tenantry serve` created, under the same prefix:
//!
//! - `GET /api/v1/items/{id}`: the row by primary key alone (no tenant filter);
//! - `GET /api/v1/items?limit=&offset=`: a page by id plus `count(*)`, as
//!   `{"total","items","limit","offset"}`. Both statements have `WHERE tenant_id = $1` with the
//!   `X-Tenant-Id` header's raw value, so they read as many rows as the demo's do; with
//!   `--list-all` they read the whole table instead;
//! - `POST /api/v1/items`: inserts `name`, `sku`, `price_cents` and the raw `X-Tenant-Id` value,
//!   answers 201 with the stored row and a `Location`.
//!
//! The header is plain column data here: never checked against anything. The pools are opened
//! as the demo opens them (sqlx's default size; SQLite in WAL mode with a 5 s busy timeout), and
//! every statement is a prepared `sqlx::query`.

use std::{net::SocketAddr, str::FromStr, time::Duration};

use anyhow::Context as _;
use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{
    PgPool, Row as _, SqlitePool,
    postgres::{PgPoolOptions, PgRow},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow},
};

const PREFIX: &str = "/api/v1/items";

#[derive(Debug, Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8091")]
    bind: SocketAddr,
    /// sqlite://FILE or postgres://...
    #[arg(long)]
    database_url: String,
    /// List and count the whole table instead of the rows whose `tenant_id` is `X-Tenant-Id`.
    #[arg(long)]
    list_all: bool,
}

#[derive(Debug, Clone)]
enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// One backend's statements.
#[derive(Debug)]
struct Sql {
    get: &'static str,
    page: &'static str,
    count: &'static str,
    page_all: &'static str,
    count_all: &'static str,
    insert: &'static str,
}

const SQLITE: Sql = Sql {
    get: "SELECT id, tenant_id, name, sku, price_cents, created_at FROM items WHERE id = ?",
    page: "SELECT id, tenant_id, name, sku, price_cents, created_at FROM items \
           WHERE tenant_id = ? ORDER BY id LIMIT ? OFFSET ?",
    count: "SELECT count(*) FROM items WHERE tenant_id = ?",
    page_all: "SELECT id, tenant_id, name, sku, price_cents, created_at FROM items \
               ORDER BY id LIMIT ? OFFSET ?",
    count_all: "SELECT count(*) FROM items",
    insert: "INSERT INTO items (name, sku, price_cents, tenant_id) VALUES (?, ?, ?, ?) \
             RETURNING id, tenant_id, name, sku, price_cents, created_at",
};

const POSTGRES: Sql = Sql {
    get: "SELECT id, tenant_id, name, sku, price_cents, created_at FROM items WHERE id = $1",
    page: "SELECT id, tenant_id, name, sku, price_cents, created_at FROM items \
           WHERE tenant_id = $1 ORDER BY id LIMIT $2 OFFSET $3",
    count: "SELECT count(*) FROM items WHERE tenant_id = $1",
    page_all: "SELECT id, tenant_id, name, sku, price_cents, created_at FROM items \
               ORDER BY id LIMIT $1 OFFSET $2",
    count_all: "SELECT count(*) FROM items",
    insert: "INSERT INTO items (name, sku, price_cents, tenant_id) VALUES ($1, $2, $3, $4) \
             RETURNING id, tenant_id, name, sku, price_cents, created_at",
};

#[derive(Debug, Clone)]
struct AppState {
    db: Db,
    list_all: bool,
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

/// Reads a row of either backend (the same code, type-checked for each).
macro_rules! item_from {
    ($row:ty) => {
        impl TryFrom<&$row> for Item {
            type Error = sqlx::Error;

            fn try_from(r: &$row) -> Result<Self, sqlx::Error> {
                let at: DateTime<Utc> = r.try_get("created_at")?;
                Ok(Self {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    name: r.try_get("name")?,
                    sku: r.try_get("sku")?,
                    price_cents: r.try_get("price_cents")?,
                    created_at: at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
                })
            }
        }
    };
}
item_from!(SqliteRow);
item_from!(PgRow);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    limit: Option<i64>,
    offset: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct NewItem {
    name: String,
    sku: String,
    #[serde(default)]
    price_cents: i64,
}

/// A database error as a status: 409 for a duplicate key, 500 otherwise.
struct DbError(sqlx::Error);

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        Self(e)
    }
}

impl IntoResponse for DbError {
    fn into_response(self) -> Response {
        let status = match &self.0 {
            sqlx::Error::Database(e) if e.is_unique_violation() => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status.is_server_error() {
            eprintln!("database error: {}", self.0);
        }
        status.into_response()
    }
}

fn tenant(headers: &HeaderMap) -> String {
    headers
        .get("x-tenant-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Runs `$body` once per backend with `$pool` and `$sql` bound to that backend's pool and
/// statements, decoding rows with `Item::try_from`.
macro_rules! on_db {
    ($db:expr, |$pool:ident, $sql:ident| $body:expr) => {
        match $db {
            Db::Sqlite($pool) => {
                let $sql = &SQLITE;
                $body
            }
            Db::Postgres($pool) => {
                let $sql = &POSTGRES;
                $body
            }
        }
    };
}

async fn get_item(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, DbError> {
    let item: Option<Item> = on_db!(&state.db, |pool, sql| {
        let row = sqlx::query(sql.get).bind(id).fetch_optional(pool).await?;
        row.as_ref().map(Item::try_from).transpose()?
    });
    Ok(match item {
        Some(item) => Json(item).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    })
}

async fn list_items(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Result<Response, DbError> {
    let limit = q.limit.unwrap_or(50);
    let offset = q.offset.unwrap_or(0);
    if !(1..=1000).contains(&limit) || offset < 0 {
        return Ok(StatusCode::UNPROCESSABLE_ENTITY.into_response());
    }
    let tenant = tenant(&headers);
    let (items, total): (Vec<Item>, i64) = on_db!(&state.db, |pool, sql| {
        let (rows, total) = if state.list_all {
            let rows = sqlx::query(sql.page_all)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(sql.count_all).fetch_one(pool).await?;
            (rows, total)
        } else {
            let rows = sqlx::query(sql.page)
                .bind(&tenant)
                .bind(limit)
                .bind(offset)
                .fetch_all(pool)
                .await?;
            let total: i64 = sqlx::query_scalar(sql.count)
                .bind(&tenant)
                .fetch_one(pool)
                .await?;
            (rows, total)
        };
        let items = rows.iter().map(Item::try_from).collect::<Result<_, _>>()?;
        (items, total)
    });
    Ok(
        Json(json!({"total": total, "items": items, "limit": limit, "offset": offset}))
            .into_response(),
    )
}

async fn create_item(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(new): Json<NewItem>,
) -> Result<Response, DbError> {
    let tenant = tenant(&headers);
    let item: Item = on_db!(&state.db, |pool, sql| {
        let row = sqlx::query(sql.insert)
            .bind(&new.name)
            .bind(&new.sku)
            .bind(new.price_cents)
            .bind(&tenant)
            .fetch_one(pool)
            .await?;
        Item::try_from(&row)?
    });
    let location = format!("{PREFIX}/{}", item.id);
    let mut res = (StatusCode::CREATED, Json(item)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

async fn connect(url: &str) -> anyhow::Result<Db> {
    let timeout = Duration::from_secs(5);
    if url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(timeout);
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(timeout)
            .connect_with(options)
            .await?;
        Ok(Db::Sqlite(pool))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let pool = PgPoolOptions::new()
            .acquire_timeout(timeout)
            .connect_with(url.parse()?)
            .await?;
        Ok(Db::Postgres(pool))
    } else {
        anyhow::bail!("--database-url must be sqlite://FILE or postgres://...")
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = connect(&args.database_url)
        .await
        .context("cannot open the database")?;
    let state = AppState {
        db,
        list_all: args.list_all,
    };
    let app = Router::new()
        .route("/healthz", get(|| async { Json(json!({"status": "ok"})) }))
        .route(PREFIX, get(list_items).post(create_item))
        .route(&format!("{PREFIX}/{{id}}"), get(get_item))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind))?;
    println!("plain_items listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
