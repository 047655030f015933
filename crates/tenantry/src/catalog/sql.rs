//! `SqlCatalog`: the catalog in the `tenantry_tenants` table, on SQLite, PostgreSQL or
//! MariaDB / MySQL.
//!
//! Each backend has its own static SQL (a `Dialect`); the code that runs it is written once, in
//! `on_backend!` bodies, and compiled for every enabled backend.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{ColumnIndex, Decode, Row, Type, error::ErrorKind, types::Json};

use super::{BoxFuture, CatalogError, CatalogStore, TenantRecord};
use crate::TenantId;
use crate::pool::{ConnectError, Pool};

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
/// (`row`, `schema:NAME`, `database:REF`). Ids sort bytewise on every backend, so
/// [`list`](CatalogStore::list) returns the same order everywhere. A row that cannot be read
/// back (unknown status or placement, invalid id, bad JSON) is [`CatalogError::Corrupt`].
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
    backend: Pool,
}

/// Runs `$body` once per enabled backend, with `$pool` bound to that backend's pool and `$d` to
/// its [`Dialect`]; the body is written once and type-checked against each backend.
macro_rules! on_backend {
    ($backend:expr, |$pool:ident, $d:ident| $body:expr) => {
        match $backend {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite($pool) => {
                let $d = &SQLITE;
                $body
            }
            #[cfg(feature = "postgres")]
            Pool::Postgres($pool) => {
                let $d = &POSTGRES;
                $body
            }
            #[cfg(feature = "mysql")]
            Pool::MySql($pool) => {
                let $d = &MYSQL;
                $body
            }
        }
    };
}

/// Binds a record's columns after `id`, in table order (`name` .. `updated_at`).
macro_rules! bind_fields {
    ($query:expr, $record:expr, $d:expr) => {
        $query
            .bind($record.name.as_str())
            .bind($record.status.as_str())
            .bind($record.plan.as_str())
            .bind($record.placement.to_string())
            .bind(Json(&$record.settings))
            .bind(($d.stamp)($record.created_at))
            .bind(($d.stamp)($record.updated_at))
    };
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
            backend: Pool::connect(url).await?,
        })
    }

    /// The catalog in `database`, sharing its pool.
    pub fn on(database: &crate::data::Database) -> Self {
        Self {
            backend: database.pool().clone(),
        }
    }

    /// A catalog over an existing SQLite pool.
    #[cfg(feature = "sqlite")]
    pub fn from_sqlite_pool(pool: sqlx::SqlitePool) -> Self {
        Self {
            backend: Pool::Sqlite(pool),
        }
    }

    /// A catalog over an existing PostgreSQL pool.
    #[cfg(feature = "postgres")]
    pub fn from_pg_pool(pool: sqlx::PgPool) -> Self {
        Self {
            backend: Pool::Postgres(pool),
        }
    }

    /// A catalog over an existing MariaDB / MySQL pool.
    #[cfg(feature = "mysql")]
    pub fn from_mysql_pool(pool: sqlx::MySqlPool) -> Self {
        Self {
            backend: Pool::MySql(pool),
        }
    }

    /// Creates the `tenantry_tenants` table if it does not exist.
    ///
    /// Idempotent, and safe to run from several processes at once (on PostgreSQL it holds an
    /// advisory lock while it runs). An existing table is left as it is.
    pub async fn migrate(&self) -> Result<(), CatalogError> {
        on_backend!(&self.backend, |pool, d| {
            let mut tx = pool.begin_with(d.begin).await.map_err(unavailable)?;
            for statement in d.migrate {
                sqlx::raw_sql(*statement)
                    .execute(&mut *tx)
                    .await
                    .map_err(unavailable)?;
            }
            // Tables made before `id_folded` existed get it, filled, then its unique index. Ids
            // that differ only in case make the index fail: they are named.
            let has_folded: i64 = sqlx::query_scalar(d.has_folded)
                .fetch_one(&mut *tx)
                .await
                .map_err(unavailable)?;
            if has_folded == 0 {
                match sqlx::raw_sql(d.add_folded).execute(&mut *tx).await {
                    // Another process added it between the check and here (MariaDB / MySQL,
                    // where DDL does not wait for the transaction): nothing left to do.
                    Err(sqlx::Error::Database(db))
                        if matches!(db.code().as_deref(), Some("42S21" | "42701")) => {}
                    other => other.map(drop).map_err(unavailable)?,
                }
            }
            sqlx::raw_sql(d.fill_folded)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
            let clashes: Vec<String> = sqlx::query_scalar(d.folded_clashes)
                .fetch_all(&mut *tx)
                .await
                .map_err(unavailable)?;
            if !clashes.is_empty() {
                return Err(CatalogError::Corrupt(format!(
                    "tenant ids that differ only in case: {}; rename all but one \
                     before this version can run",
                    clashes.join(", ")
                )));
            }
            sqlx::raw_sql(d.index_folded)
                .execute(&mut *tx)
                .await
                .map_err(unavailable)?;
            tx.commit().await.map_err(unavailable)
        })
    }
}

impl CatalogStore for SqlCatalog {
    fn get<'a>(
        &'a self,
        id: &'a TenantId,
    ) -> BoxFuture<'a, Result<Option<TenantRecord>, CatalogError>> {
        Box::pin(async move {
            on_backend!(&self.backend, |pool, d| {
                let row = sqlx::query(d.get)
                    .bind(id.as_str())
                    .fetch_optional(pool)
                    .await
                    .map_err(unavailable)?;
                row.map(|row| read_record(&row, d.unstamp)).transpose()
            })
        })
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<TenantRecord>, CatalogError>> {
        Box::pin(async move {
            on_backend!(&self.backend, |pool, d| {
                let rows = sqlx::query(d.list)
                    .fetch_all(pool)
                    .await
                    .map_err(unavailable)?;
                rows.iter().map(|row| read_record(row, d.unstamp)).collect()
            })
        })
    }

    fn create<'a>(&'a self, record: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(async move {
            let folded = fold(&record.id);
            let result = on_backend!(&self.backend, |pool, d| {
                let query = sqlx::query(d.insert).bind(record.id.as_str());
                bind_fields!(query, record, d)
                    .bind(folded.as_str())
                    .execute(pool)
                    .await
                    .map(drop)
            });
            match result {
                Ok(()) => Ok(()),
                Err(sqlx::Error::Database(db)) if db.kind() == ErrorKind::UniqueViolation => {
                    // The id itself, or only its case? Ask which id holds the folded form.
                    let existing: Option<String> = on_backend!(&self.backend, |pool, d| {
                        sqlx::query_scalar(d.by_folded)
                            .bind(folded.as_str())
                            .fetch_optional(pool)
                            .await
                            .map_err(unavailable)?
                    });
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
        })
    }

    fn update<'a>(&'a self, record: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(async move {
            let affected = on_backend!(&self.backend, |pool, d| {
                let query = bind_fields!(sqlx::query(d.update), record, d).bind(record.id.as_str());
                query.execute(pool).await.map(|done| done.rows_affected())
            });
            match affected.map_err(unavailable)? {
                0 => Err(CatalogError::NotFound(record.id.clone())),
                _ => Ok(()),
            }
        })
    }

    fn remove<'a>(&'a self, id: &'a TenantId) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(async move {
            let affected = on_backend!(&self.backend, |pool, d| {
                let query = sqlx::query(d.delete).bind(id.as_str());
                query.execute(pool).await.map(|done| done.rows_affected())
            });
            match affected.map_err(unavailable)? {
                0 => Err(CatalogError::NotFound(id.clone())),
                _ => Ok(()),
            }
        })
    }
}

/// One backend's SQL, and how it stores timestamps (`S`).
struct Dialect<S> {
    /// Starts `migrate`'s transaction.
    begin: &'static str,
    /// Run in one transaction by `migrate`.
    migrate: &'static [&'static str],
    /// 1 when the table has `id_folded`, else 0.
    has_folded: &'static str,
    /// Adds `id_folded` to an older table.
    add_folded: &'static str,
    /// Fills `id_folded` where it is null (rows of an older version).
    fill_folded: &'static str,
    /// Folded ids held by more than one tenant.
    folded_clashes: &'static str,
    /// The unique index on `id_folded`.
    index_folded: &'static str,
    /// The id whose folded form is bound first.
    by_folded: &'static str,
    /// By id (bound first).
    get: &'static str,
    /// Every row, ordered by id.
    list: &'static str,
    /// Binds id, then the fields in table order.
    insert: &'static str,
    /// Binds the fields in table order, then id.
    update: &'static str,
    /// By id.
    delete: &'static str,
    stamp: fn(DateTime<Utc>) -> S,
    unstamp: fn(S) -> Result<DateTime<Utc>, CatalogError>,
}

/// Timestamps the driver maps to a native column type.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn native(at: DateTime<Utc>) -> Result<DateTime<Utc>, CatalogError> {
    Ok(at)
}

#[cfg(feature = "sqlite")]
static SQLITE: Dialect<String> = Dialect {
    // Takes the write lock at once (waiting up to the busy timeout), so concurrent migrations
    // queue instead of failing to upgrade a read lock.
    begin: "BEGIN IMMEDIATE",
    migrate: &["CREATE TABLE IF NOT EXISTS tenantry_tenants (
        id varchar(64) NOT NULL PRIMARY KEY,
        name text NOT NULL,
        status varchar(16) NOT NULL,
        plan varchar(64) NOT NULL,
        placement text NOT NULL,
        settings text NOT NULL,
        created_at text NOT NULL,
        updated_at text NOT NULL,
        CONSTRAINT tenantry_tenants_status_check
            CHECK (status IN ('active', 'suspended', 'provisioning', 'moving', 'deleted'))
    )"],
    has_folded: "SELECT count(*) FROM pragma_table_info('tenantry_tenants') WHERE name = 'id_folded'",
    add_folded: "ALTER TABLE tenantry_tenants ADD COLUMN id_folded text",
    fill_folded: "UPDATE tenantry_tenants SET id_folded = lower(id) WHERE id_folded IS NULL",
    folded_clashes: "SELECT group_concat(id, ' and ') \
                     FROM (SELECT id, id_folded FROM tenantry_tenants ORDER BY id) \
                     GROUP BY id_folded HAVING count(*) > 1",
    index_folded: "CREATE UNIQUE INDEX IF NOT EXISTS tenantry_tenants_id_folded_key \
                   ON tenantry_tenants (id_folded)",
    by_folded: "SELECT id FROM tenantry_tenants WHERE id_folded = ?",
    get: "SELECT id, name, status, plan, placement, settings, created_at, updated_at \
          FROM tenantry_tenants WHERE id = ?",
    list: "SELECT id, name, status, plan, placement, settings, created_at, updated_at \
           FROM tenantry_tenants ORDER BY id",
    insert: "INSERT INTO tenantry_tenants \
             (id, name, status, plan, placement, settings, created_at, updated_at, id_folded) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    update: "UPDATE tenantry_tenants SET name = ?, status = ?, plan = ?, placement = ?, \
             settings = ?, created_at = ?, updated_at = ? WHERE id = ?",
    delete: "DELETE FROM tenantry_tenants WHERE id = ?",
    // Fixed width (always six fractional digits, `Z`), so the text sorts in time order.
    stamp: |at| at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    unstamp: |text| {
        DateTime::parse_from_rfc3339(&text)
            .map(|at| at.with_timezone(&Utc))
            .map_err(|e| CatalogError::Corrupt(format!("timestamp {text:?}: {e}")))
    },
};

#[cfg(feature = "postgres")]
static POSTGRES: Dialect<DateTime<Utc>> = Dialect {
    begin: "BEGIN",
    migrate: &[
        // Concurrent `CREATE TABLE IF NOT EXISTS` can fail on PostgreSQL; serialize it.
        "SELECT pg_advisory_xact_lock(7370661283316395386)",
        "CREATE TABLE IF NOT EXISTS tenantry_tenants (
            id varchar(64) COLLATE \"C\" PRIMARY KEY,
            name text NOT NULL,
            status varchar(16) NOT NULL,
            plan varchar(64) NOT NULL,
            placement text NOT NULL,
            settings jsonb NOT NULL,
            created_at timestamptz NOT NULL,
            updated_at timestamptz NOT NULL,
            CONSTRAINT tenantry_tenants_status_check
                CHECK (status IN ('active', 'suspended', 'provisioning', 'moving', 'deleted'))
        )",
    ],
    has_folded: "SELECT count(*) FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = 'tenantry_tenants' \
                 AND column_name = 'id_folded'",
    add_folded: "ALTER TABLE tenantry_tenants ADD COLUMN id_folded text",
    fill_folded: "UPDATE tenantry_tenants SET id_folded = lower(id) WHERE id_folded IS NULL",
    folded_clashes: "SELECT string_agg(id, ' and ' ORDER BY id) FROM tenantry_tenants \
                     GROUP BY id_folded HAVING count(*) > 1",
    index_folded: "CREATE UNIQUE INDEX IF NOT EXISTS tenantry_tenants_id_folded_key \
                   ON tenantry_tenants (id_folded)",
    by_folded: "SELECT id FROM tenantry_tenants WHERE id_folded = $1",
    get: "SELECT id, name, status, plan, placement, settings, created_at, updated_at \
          FROM tenantry_tenants WHERE id = $1",
    list: "SELECT id, name, status, plan, placement, settings, created_at, updated_at \
           FROM tenantry_tenants ORDER BY id",
    insert: "INSERT INTO tenantry_tenants \
             (id, name, status, plan, placement, settings, created_at, updated_at, id_folded) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    update: "UPDATE tenantry_tenants SET name = $1, status = $2, plan = $3, placement = $4, \
             settings = $5, created_at = $6, updated_at = $7 WHERE id = $8",
    delete: "DELETE FROM tenantry_tenants WHERE id = $1",
    stamp: |at| at,
    unstamp: native,
};

#[cfg(feature = "mysql")]
static MYSQL: Dialect<DateTime<Utc>> = Dialect {
    // DDL commits implicitly on MariaDB / MySQL; `CREATE TABLE IF NOT EXISTS` is safe to race.
    begin: "BEGIN",
    migrate: &["CREATE TABLE IF NOT EXISTS tenantry_tenants (
        id varchar(64) NOT NULL PRIMARY KEY,
        name text NOT NULL,
        status varchar(16) NOT NULL,
        plan varchar(64) NOT NULL,
        placement text NOT NULL,
        settings json NOT NULL,
        created_at datetime(6) NOT NULL,
        updated_at datetime(6) NOT NULL,
        CONSTRAINT tenantry_tenants_status_check
            CHECK (status IN ('active', 'suspended', 'provisioning', 'moving', 'deleted'))
    ) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"],
    has_folded: "SELECT count(*) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = 'tenantry_tenants' \
                 AND column_name = 'id_folded'",
    add_folded: "ALTER TABLE tenantry_tenants \
                 ADD COLUMN id_folded varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL",
    fill_folded: "UPDATE tenantry_tenants SET id_folded = lower(id) WHERE id_folded IS NULL",
    folded_clashes: "SELECT CAST(group_concat(id ORDER BY id SEPARATOR ' and ') AS CHAR) \
                     FROM tenantry_tenants GROUP BY id_folded HAVING count(*) > 1",
    index_folded: "CREATE UNIQUE INDEX IF NOT EXISTS tenantry_tenants_id_folded_key \
                   ON tenantry_tenants (id_folded)",
    by_folded: "SELECT CAST(id AS CHAR) FROM tenantry_tenants WHERE id_folded = ?",
    get: "SELECT id, name, status, plan, placement, settings, created_at, updated_at \
          FROM tenantry_tenants WHERE id = ?",
    list: "SELECT id, name, status, plan, placement, settings, created_at, updated_at \
           FROM tenantry_tenants ORDER BY id",
    insert: "INSERT INTO tenantry_tenants \
             (id, name, status, plan, placement, settings, created_at, updated_at, id_folded) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    update: "UPDATE tenantry_tenants SET name = ?, status = ?, plan = ?, placement = ?, \
             settings = ?, created_at = ?, updated_at = ? WHERE id = ?",
    delete: "DELETE FROM tenantry_tenants WHERE id = ?",
    // `datetime(6)` has no zone: the UTC wall-clock time is stored.
    stamp: |at| at,
    unstamp: native,
};

/// Reads one row; anything that does not decode is [`CatalogError::Corrupt`].
fn read_record<R, S>(
    row: &R,
    unstamp: fn(S) -> Result<DateTime<Utc>, CatalogError>,
) -> Result<TenantRecord, CatalogError>
where
    R: Row,
    for<'c> &'c str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Json<Value>: Decode<'r, R::Database> + Type<R::Database>,
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
            .try_get::<Json<Value>, _>("settings")
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
