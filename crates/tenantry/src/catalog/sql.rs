//! `SqlCatalog`: the catalog in the `tenantry_tenants` table, on SQLite, PostgreSQL or
//! MariaDB / MySQL.
//!
//! The statements that read and write records are built by sea-query, once for every backend;
//! each driver's `catalog.rs` holds its table's DDL and how it stores timestamps.

use chrono::{DateTime, Utc};
use sea_query::{Alias, Expr, ExprTrait, Query, SelectStatement, Value};
use serde_json::Value as Json;
use sqlx::{ColumnIndex, Decode, Pool, Row, Type, error::ErrorKind, types::Json as SqlJson};

use super::{CatalogError, CatalogStore, TenantRecord};
use crate::{
    BoxFuture, TenantId,
    driver::{AnyPool, ConnectError, Driver, dispatch, query, query_scalar},
};

/// The catalog in the `tenantry_tenants` table of a SQLite, PostgreSQL or MariaDB / MySQL
/// database (features `sqlite`, `postgres`, `mysql`).
///
/// [`migrate`](SqlCatalog::migrate) creates the table if it is missing:
///
/// | column | PostgreSQL | MariaDB / MySQL | SQLite |
/// |---|---|---|---|
/// | `id` (primary key) | `varchar(64)`, collation `"C"` | `varchar(64)`, `utf8mb4_bin` | `varchar(64)` |
/// | `id_folded` (unique) | `text` | `varchar(255)`, `utf8mb4_bin` | `text` |
/// | `name` | `text` | `text` | `text` |
/// | `status` | `varchar(16)` | `varchar(16)` | `varchar(16)` |
/// | `plan` | `varchar(64)` | `varchar(64)` | `varchar(64)` |
/// | `placement` | `text` | `text` | `text` |
/// | `settings` | `jsonb` | `json` | `text` (JSON) |
/// | `created_at`, `updated_at` | `timestamptz` | `datetime(6)`, UTC | `text`, RFC 3339 UTC, µs |
///
/// `id_folded` is the id in lower case, unique: two tenants whose ids differ only in case are
/// refused ([`CatalogError::CaseConflict`]), so that no case-insensitive comparison anywhere
/// (a collation, a host name) can ever make them one. [`migrate`](SqlCatalog::migrate) adds it
/// to a table made by an older version.
///
/// `status` is checked against the five [`TenantStatus`](super::TenantStatus) values (constraint
/// `tenantry_tenants_status_check`); `placement` holds [`Placement`](super::Placement)'s text
/// (`row`, `schema:NAME`, `database:NAME`, each maybe `@SERVER`). Ids sort bytewise on every backend, so
/// [`list`](CatalogStore::list) returns the same order everywhere. A row that cannot be read
/// back (unknown status or placement, invalid id, bad JSON) is [`CatalogError::Corrupt`].
///
/// Behind a transaction-mode pooler (PgBouncer before 1.21), say so with
/// [`behind_transaction_pooler`](SqlCatalog::behind_transaction_pooler).
///
/// Cloning is cheap and shares the connection pool.
///
/// ```
/// # #[cfg(feature = "sqlite")]
/// # async fn example() -> Result<(), tenantry::catalog::CatalogError> {
/// use tenantry::{TenantId, catalog::{CatalogStore, SqlCatalog, TenantRecord, TenantStatus}};
///
/// let catalog = SqlCatalog::connect("sqlite::memory:").await?;
/// catalog.migrate().await?;
///
/// let acme = TenantId::parse("acme").unwrap();
/// catalog.create(&TenantRecord::new(acme.clone(), "Acme Corp")).await?;
/// let stored = catalog.get(&acme).await?.unwrap();
/// assert_eq!(stored.status, TenantStatus::Active);
/// # Ok(())
/// # }
/// # #[cfg(feature = "sqlite")]
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
/// #     .block_on(example()).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct SqlCatalog {
    pool: AnyPool,
    /// Behind a transaction-mode pooler: statements unnamed, each in a transaction.
    pooler: bool,
}

/// One backend's catalog DDL, run by [`SqlCatalog::migrate`].
#[derive(Debug)]
pub(crate) struct CatalogDdl {
    /// Starts `migrate`'s transaction.
    pub(crate) begin: &'static str,
    /// Run in one transaction by `migrate`.
    pub(crate) migrate: &'static [&'static str],
    /// 1 when the table has `id_folded`, else 0.
    pub(crate) has_folded: &'static str,
    /// Adds `id_folded` to an older table.
    pub(crate) add_folded: &'static str,
    /// Folded ids held by more than one tenant.
    pub(crate) folded_clashes: &'static str,
    /// 1 when the status column takes every status of this version (`provisioning_failed`).
    pub(crate) has_statuses: &'static str,
    /// Widens an older table's status column and its check to every status.
    pub(crate) add_statuses: &'static [&'static str],
}

/// The catalog's table and columns, in the order every `SELECT` reads them.
const TABLE: &str = "tenantry_tenants";
const COLUMNS: [&str; 8] = [
    "id",
    "name",
    "status",
    "plan",
    "placement",
    "settings",
    "created_at",
    "updated_at",
];

fn col(name: &'static str) -> Alias {
    Alias::new(name)
}

fn select() -> SelectStatement {
    let mut stmt = Query::select();
    stmt.columns(COLUMNS.map(col)).from(col(TABLE));
    stmt
}

impl SqlCatalog {
    /// Connects by URL, choosing the backend from its scheme: `sqlite:`, `postgres:` /
    /// `postgresql:`, `mysql:` / `mariadb:`.
    ///
    /// A SQLite file is created if missing and opened in WAL mode with a 5 s busy timeout. At
    /// most 5 s is spent waiting for a first connection. A scheme whose feature is off, an unknown
    /// scheme or a URL that does not parse is [`CatalogError::UnsupportedUrl`] (the message never
    /// repeats the URL); a server that cannot be reached is [`CatalogError::Unavailable`].
    /// Does not create the table: call [`migrate`](Self::migrate).
    pub async fn connect(url: &str) -> Result<Self, CatalogError> {
        Ok(Self {
            pool: AnyPool::connect(url).await?,
            pooler: false,
        })
    }

    /// A catalog over an existing pool of any backend tenantry drives.
    pub fn from_pool<D: Driver>(pool: Pool<D>) -> Self {
        Self {
            pool: D::wrap(pool),
            pooler: false,
        }
    }

    /// A catalog sharing a pool (see [`DataStore::catalog`](crate::data::DataStore::catalog)).
    pub(crate) fn sharing(pool: AnyPool) -> Self {
        Self {
            pool,
            pooler: false,
        }
    }

    /// The URL is a pooler in transaction mode (PgBouncer before 1.21, or any pooler that does
    /// not track prepared statements; see
    /// [`ServerConfig::transaction_pooler`](crate::data::ServerConfig::transaction_pooler)):
    /// every statement is sent unnamed, in a transaction of its own, so that it is parsed and
    /// run on the same server connection and no statement name meets another client's. The
    /// pooler ends every session at the end of its transaction, so `LISTEN` cannot work through
    /// it: the catalog does not [`watch`](CatalogStore::watch) for changes, and a change made
    /// by another process is seen when the cached entry expires (the
    /// [`Catalog`](super::Catalog)'s TTL).
    ///
    /// ```
    /// # #[cfg(feature = "sqlite")]
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use tenantry::catalog::SqlCatalog;
    ///
    /// let catalog = SqlCatalog::connect("sqlite::memory:").await.unwrap().behind_transaction_pooler();
    /// catalog.migrate().await.unwrap();
    /// # });
    /// ```
    pub fn behind_transaction_pooler(mut self) -> Self {
        self.pooler = true;
        self
    }

    /// Creates the `tenantry_tenants` table if it does not exist.
    ///
    /// Idempotent, and safe to run from several processes at once (on PostgreSQL it holds an
    /// advisory lock while it runs). An existing table is left as it is, except that a table
    /// made by an older version gains `id_folded`.
    pub async fn migrate(&self) -> Result<(), CatalogError> {
        dispatch!(&self.pool, |pool| migrate(pool, !self.pooler).await)
    }
}

/// Runs `op` on a connection of `pool`; behind a transaction-mode pooler, in a transaction of
/// its own (committed after it), so that every message of its statements reaches the same
/// server connection.
async fn on_connection<D: Driver, T>(
    pool: &Pool<D>,
    pooler: bool,
    op: impl AsyncFnOnce(&mut D::Connection) -> Result<T, sqlx::Error>,
) -> Result<T, sqlx::Error> {
    if pooler {
        let mut tx = pool.begin().await?;
        let out = op(&mut tx).await?;
        tx.commit().await?;
        Ok(out)
    } else {
        op(&mut *pool.acquire().await?).await
    }
}

async fn migrate<D: Driver>(pool: &Pool<D>, prepare: bool) -> Result<(), CatalogError>
where
    (i64,): for<'r> sqlx::FromRow<'r, D::Row>,
    (String,): for<'r> sqlx::FromRow<'r, D::Row>,
{
    let ddl = &D::CATALOG_DDL;
    let none = || sea_query_sqlx::SqlxValues(sea_query::Values(Vec::new()));
    let mut tx = pool.begin_with(ddl.begin).await.map_err(unavailable)?;
    for statement in ddl.migrate {
        sqlx::raw_sql(*statement)
            .execute(D::on_conn(&mut tx))
            .await
            .map_err(unavailable)?;
    }
    // Tables made before `id_folded` existed get it, filled, then its unique index. Ids that
    // differ only in case make the index fail: they are named.
    let has_folded: i64 = query_scalar::<D, i64, _>(ddl.has_folded, none())
        .persistent(prepare)
        .fetch_one(D::on_conn(&mut tx))
        .await
        .map_err(unavailable)?;
    if has_folded == 0 {
        match sqlx::raw_sql(ddl.add_folded)
            .execute(D::on_conn(&mut tx))
            .await
        {
            // Another process added it between the check and here (MariaDB / MySQL, where DDL
            // does not wait for the transaction): nothing left to do.
            Err(sqlx::Error::Database(db))
                if matches!(db.code().as_deref(), Some("42S21" | "42701")) => {}
            other => other.map(drop).map_err(unavailable)?,
        }
    }
    sqlx::raw_sql("UPDATE tenantry_tenants SET id_folded = lower(id) WHERE id_folded IS NULL")
        .execute(D::on_conn(&mut tx))
        .await
        .map_err(unavailable)?;
    // Tables made before `provisioning_failed` take it (on SQLite, by a copy of the table, whose
    // triggers `migrate`'s statements then make again).
    let has_statuses: i64 = query_scalar::<D, i64, _>(ddl.has_statuses, none())
        .persistent(prepare)
        .fetch_one(D::on_conn(&mut tx))
        .await
        .map_err(unavailable)?;
    if has_statuses == 0 {
        for statement in ddl.add_statuses.iter().chain(ddl.migrate) {
            sqlx::raw_sql(*statement)
                .execute(D::on_conn(&mut tx))
                .await
                .map_err(unavailable)?;
        }
    }
    let clashes: Vec<String> = query_scalar::<D, String, _>(ddl.folded_clashes, none())
        .persistent(prepare)
        .fetch_all(D::on_conn(&mut tx))
        .await
        .map_err(unavailable)?;
    if !clashes.is_empty() {
        return Err(CatalogError::Corrupt(format!(
            "tenant ids that differ only in case: {}; rename all but one \
             before this version can run",
            clashes.join(", ")
        )));
    }
    sqlx::raw_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS tenantry_tenants_id_folded_key \
         ON tenantry_tenants (id_folded)",
    )
    .execute(D::on_conn(&mut tx))
    .await
    .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)
}

impl CatalogStore for SqlCatalog {
    fn get<'a>(
        &'a self,
        id: &'a TenantId,
    ) -> BoxFuture<'a, Result<Option<TenantRecord>, CatalogError>> {
        Box::pin(async move { dispatch!(&self.pool, |pool| get(pool, id, self.pooler).await) })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<TenantRecord>, CatalogError>> {
        Box::pin(async move { dispatch!(&self.pool, |pool| list(pool, self.pooler).await) })
    }

    fn create<'a>(&'a self, record: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(
            async move { dispatch!(&self.pool, |pool| create(pool, record, self.pooler).await) },
        )
    }

    fn update<'a>(&'a self, record: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(
            async move { dispatch!(&self.pool, |pool| update(pool, record, self.pooler).await) },
        )
    }

    fn remove<'a>(&'a self, id: &'a TenantId) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(async move { dispatch!(&self.pool, |pool| remove(pool, id, self.pooler).await) })
    }

    /// Every insert, update and delete of `tenantry_tenants`, by whoever makes it (the table's
    /// triggers record them): PostgreSQL `LISTEN`/`NOTIFY`, the change log elsewhere.
    /// Not behind a transaction-mode pooler, through which `LISTEN` cannot work.
    fn watch(&self, watcher: super::CatalogWatcher) -> Option<BoxFuture<'static, ()>> {
        if self.pooler {
            return None;
        }
        Some(dispatch!(&self.pool, |pool| Box::pin(watch(
            pool.clone(),
            watcher
        ))))
    }
}

async fn watch<D: Driver>(pool: Pool<D>, watcher: super::CatalogWatcher) {
    D::watch_catalog(pool, watcher).await
}

async fn get<D: Driver>(
    pool: &Pool<D>,
    id: &TenantId,
    pooler: bool,
) -> Result<Option<TenantRecord>, CatalogError> {
    let (sql, values) = D::build(select().and_where(Expr::col(col("id")).eq(id.as_str())));
    let q = query::<D, _>(sql, values).persistent(!pooler);
    let row = on_connection(pool, pooler, async |c| {
        q.fetch_optional(D::on_conn(c)).await
    })
    .await
    .map_err(unavailable)?;
    row.map(|row| D::read_tenant(&row)).transpose()
}

async fn list<D: Driver>(pool: &Pool<D>, pooler: bool) -> Result<Vec<TenantRecord>, CatalogError> {
    let (sql, values) = D::build(select().order_by(col("id"), sea_query::Order::Asc));
    let q = query::<D, _>(sql, values).persistent(!pooler);
    let rows = on_connection(pool, pooler, async |c| q.fetch_all(D::on_conn(c)).await)
        .await
        .map_err(unavailable)?;
    rows.iter().map(D::read_tenant).collect()
}

/// A record's fields after `id`, in table order (`name` .. `updated_at`), as bound on `D`.
fn fields<D: Driver>(record: &TenantRecord) -> [Value; 7] {
    [
        record.name.as_str().into(),
        record.status.as_str().into(),
        record.plan.as_str().into(),
        record.placement.to_string().into(),
        D::json_value(record.settings.clone()),
        D::catalog_stamp(record.created_at),
        D::catalog_stamp(record.updated_at),
    ]
}

async fn create<D: Driver>(
    pool: &Pool<D>,
    record: &TenantRecord,
    pooler: bool,
) -> Result<(), CatalogError>
where
    (String,): for<'r> sqlx::FromRow<'r, D::Row>,
{
    let folded = fold(&record.id);
    let mut values = vec![Value::from(record.id.as_str())];
    values.extend(fields::<D>(record));
    values.push(folded.as_str().into());
    let mut columns: Vec<Alias> = COLUMNS.map(col).into();
    columns.push(col("id_folded"));
    let mut insert = Query::insert();
    insert
        .into_table(col(TABLE))
        .columns(columns)
        .values(values.into_iter().map(Expr::val))
        .map_err(|e| CatalogError::Corrupt(e.to_string()))?;
    let (sql, values) = D::build(&insert);
    let q = query::<D, _>(sql, values).persistent(!pooler);
    match on_connection(pool, pooler, async |c| q.execute(D::on_conn(c)).await).await {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(db)) if db.kind() == ErrorKind::UniqueViolation => {
            // The id itself, or only its case? Ask which id holds the folded form.
            let (sql, values) = D::build(
                Query::select()
                    .column(col("id"))
                    .from(col(TABLE))
                    .and_where(Expr::col(col("id_folded")).eq(folded.as_str())),
            );
            let q = query_scalar::<D, String, _>(sql, values).persistent(!pooler);
            let existing: Option<String> = on_connection(pool, pooler, async |c| {
                q.fetch_optional(D::on_conn(c)).await
            })
            .await
            .map_err(unavailable)?;
            Err(match existing {
                Some(other) if other != record.id.as_str() => CatalogError::CaseConflict {
                    id: record.id.clone(),
                    existing: other,
                },
                _ => CatalogError::AlreadyExists(record.id.clone()),
            })
        }
        Err(e) => Err(unavailable(e)),
    }
}

async fn update<D: Driver>(
    pool: &Pool<D>,
    record: &TenantRecord,
    pooler: bool,
) -> Result<(), CatalogError> {
    let sets = COLUMNS[1..]
        .iter()
        .zip(fields::<D>(record))
        .map(|(c, v)| (col(c), Expr::val(v)));
    let (sql, values) = D::build(
        Query::update()
            .table(col(TABLE))
            .values(sets)
            .and_where(Expr::col(col("id")).eq(record.id.as_str())),
    );
    let q = query::<D, _>(sql, values).persistent(!pooler);
    let done = on_connection(pool, pooler, async |c| q.execute(D::on_conn(c)).await)
        .await
        .map_err(unavailable)?;
    match D::rows_affected(&done) {
        0 => Err(CatalogError::NotFound(record.id.clone())),
        _ => Ok(()),
    }
}

async fn remove<D: Driver>(
    pool: &Pool<D>,
    id: &TenantId,
    pooler: bool,
) -> Result<(), CatalogError> {
    let (sql, values) = D::build(
        Query::delete()
            .from_table(col(TABLE))
            .and_where(Expr::col(col("id")).eq(id.as_str())),
    );
    let q = query::<D, _>(sql, values).persistent(!pooler);
    let done = on_connection(pool, pooler, async |c| q.execute(D::on_conn(c)).await)
        .await
        .map_err(unavailable)?;
    match D::rows_affected(&done) {
        0 => Err(CatalogError::NotFound(id.clone())),
        _ => Ok(()),
    }
}

/// Reads one row; anything that does not decode is [`CatalogError::Corrupt`].
pub(crate) fn read_record<R, S>(
    row: &R,
    unstamp: fn(S) -> Result<DateTime<Utc>, CatalogError>,
) -> Result<TenantRecord, CatalogError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> SqlJson<Json>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> S: Decode<'r, R::Database> + Type<R::Database>,
{
    let corrupt = |e: sqlx::Error| CatalogError::Corrupt(e.to_string());
    let text = |column: &str| row.try_get::<String, _>(column).map_err(corrupt);
    let stamp = |column: &str| unstamp(row.try_get(column).map_err(corrupt)?);

    let raw_id = text("id")?;
    let id = TenantId::parse(&raw_id)
        .ok()
        .filter(|id| id.as_str() == raw_id)
        .ok_or_else(|| CatalogError::Corrupt(format!("stored tenant id {raw_id:?} is invalid")))?;
    let in_record = |e: CatalogError| match e {
        CatalogError::Corrupt(why) => CatalogError::Corrupt(format!("tenant {id}: {why}")),
        other => other,
    };
    Ok(TenantRecord {
        name: text("name")?,
        status: text("status")?.parse().map_err(in_record)?,
        plan: text("plan")?,
        placement: text("placement")?.parse().map_err(in_record)?,
        settings: row
            .try_get::<SqlJson<Json>, _>("settings")
            .map_err(corrupt)?
            .0,
        created_at: stamp("created_at").map_err(in_record)?,
        updated_at: stamp("updated_at").map_err(in_record)?,
        id,
    })
}

/// The id as `id_folded` holds it: lower case (Unicode-aware, for custom id rules).
fn fold(id: &TenantId) -> String {
    id.as_str().to_lowercase()
}

fn unavailable(e: sqlx::Error) -> CatalogError {
    CatalogError::Unavailable(Box::new(e))
}

impl From<ConnectError> for CatalogError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::UnsupportedUrl(why) => Self::UnsupportedUrl(why),
            ConnectError::Unavailable(e) => unavailable(e),
        }
    }
}
