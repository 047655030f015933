//! The SQL backends, laid out as sqlx lays out its drivers.
//!
//! [`Driver`] is implemented for [`sqlx::Sqlite`], [`sqlx::Postgres`] and [`sqlx::MySql`] (each
//! behind its feature) and carries everything that differs per backend; the rest of the SQL half
//! (`data`, `export`, `catalog`) is written once, as generic functions over `D: Driver`. Each
//! backend's code lives in one folder whose files have the same names as the others':
//!
//! | file | what differs |
//! |---|---|
//! | `mod.rs` | connecting, the query builder (sea-query's), bound values, `RETURNING` or read-back, the tenant bound in a transaction |
//! | `ddl.rs` | column types, defaults, generated ids, the exact text collation |
//! | `decode.rs` | database rows to the data layer's JSON |
//! | `encode.rs` | database rows to an export's JSON, by type name |
//! | `import.rs` | batch insert of imported rows and what follows it (PostgreSQL sequences) |
//! | `schema.rs` | what the database's own catalog says about a table |
//! | `catalog.rs` | the `tenantry_tenants` table: its DDL and how its timestamps are stored |
//! | `audit.rs` | whether a tenant column compares exactly |
//! | `fleet.rs` | a fleet migration's run lock and the server's free connections |
//!
//! The traits behind [`Driver`], one per file name above, and their documented contract are in
//! `sealed.rs`.
//!
//! Where a URL picks the backend at run time, [`AnyPool`] holds one pool of any backend and
//! `dispatch!` matches it once, handing the typed pool to a generic function: the only `match`
//! on backends in the crate, and the only place their features are named.

// `Driver` is public so that users can name a backend (`begin_for::<sqlx::Postgres>`), and sealed:
// its supertrait's methods speak of crate-private types on purpose, as sealed traits do.
#![allow(private_interfaces, private_bounds)]

use std::{fmt, future::Future, time::Duration};

use sea_query::Value;
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::{Executor, Pool};

use crate::{TenantId, data::Ident};

mod args;
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) mod change_log;
mod describe;
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) mod each_value;
pub(crate) mod open;
pub(crate) mod sealed;
mod sql;
mod tenant_id;
#[cfg(any(feature = "postgres", feature = "mysql"))]
mod typed;
mod write;

#[cfg(feature = "mysql")]
mod mysql;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
pub(crate) use sqlite::SqliteDb;

#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) use args::query_as;
pub(crate) use args::{Args, query, query_scalar};
pub(crate) use describe::{ColumnInfo, Generated, TableInfo, checked};
pub(crate) use sql::SqlText;
pub use write::GroupCommitStats;
pub(crate) use write::{Write, Written};

/// A SQL backend tenantry drives: [`sqlx::Sqlite`], [`sqlx::Postgres`] or [`sqlx::MySql`]
/// (features `sqlite`, `postgres`, `mysql`). Sealed: its methods are tenantry's own.
///
/// Name one where a typed pool or transaction is wanted:
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use tenantry::{TenantId, data::DataStore};
///
/// let store = DataStore::connect("sqlite::memory:").await.unwrap();
/// let mut tx = store.begin_for::<sqlx::Sqlite>(&TenantId::parse("acme").unwrap()).await.unwrap();
/// let one: i64 = sqlx::query_scalar("SELECT 1").fetch_one(&mut *tx).await.unwrap();
/// assert_eq!(one, 1);
/// // Asking for another backend than the store's is an error, not a panic.
/// assert!(store.begin_for::<sqlx::Postgres>(&TenantId::parse("acme").unwrap()).await.is_err());
/// # });
/// ```
pub trait Driver: sealed::Sealed {}

impl<D: sealed::Sealed> Driver for D {}

/// Which backend a pool talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (feature `sqlite`).
    Sqlite,
    /// PostgreSQL (feature `postgres`).
    Postgres,
    /// MariaDB or MySQL (feature `mysql`).
    MySql,
}

impl Backend {
    /// `sqlite`, `postgres` or `mysql`: as export manifests record it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::MySql => "mysql",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How long a SQLite pool waits for a connection (another writer may hold the file's lock).
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a request waits for a connection to a PostgreSQL or MariaDB / MySQL server of a
/// [`Registry`](crate::data::Registry) (and of `DataStore::connect_serving`) before it is
/// [`DataError::Unavailable`](crate::data::DataError::Unavailable) (503): short enough that a
/// server that is down is answered within a second, never a hang; long enough for a busy
/// pool's queue (docs/PERFORMANCE.md, "Outages and load"). Batch work (`DataStore::connect`,
/// the CLI's commands) waits [`ACQUIRE_TIMEOUT`] instead: a loaded machine slows it down
/// rather than failing it.
pub(crate) const SERVER_ACQUIRE_TIMEOUT: Duration = Duration::from_millis(750);

/// How long connecting to a server waits for its first connection, retrying while the server
/// refuses or says it is starting up (a wrong password or database fails at once).
pub(crate) const FIRST_CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// A held fleet-migration run lock ([`sealed::Fleet::run_lock`]): a detached connection or a
/// locked file, released when dropped.
pub(crate) type RunLock = Box<dyn std::any::Any + Send>;

/// A pool of one backend, chosen at run time (by a URL's scheme).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub(crate) enum AnyPool {
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteDb),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// Runs `$body` with `$pool` bound to the typed pool inside `$any` (an [`AnyPool`]): the one
/// place a run-time backend becomes a type. `$body` is written once, usually a call to a generic
/// function, and compiled for every enabled backend.
macro_rules! dispatch {
    ($any:expr, |$pool:ident| $body:expr) => {
        match $any {
            #[cfg(feature = "sqlite")]
            $crate::driver::AnyPool::Sqlite($crate::driver::SqliteDb { pool: $pool, .. }) => $body,
            #[cfg(feature = "postgres")]
            $crate::driver::AnyPool::Postgres($pool) => $body,
            #[cfg(feature = "mysql")]
            $crate::driver::AnyPool::MySql($pool) => $body,
        }
    };
}
pub(crate) use dispatch;

/// The items of [`sealed::Sealed`] that are the same glue on every driver, written once: the
/// driver's `AnyPool` variant, its executors, sea-query's builder and binding for it, and the
/// rows a statement changed. Used inside each driver's `impl Sealed`.
macro_rules! pool_glue {
    ($variant:ident, $builder:expr) => {
        fn wrap(pool: sqlx::Pool<Self>) -> $crate::driver::AnyPool {
            $crate::driver::AnyPool::$variant(pool.into())
        }

        fn unwrap(any: &$crate::driver::AnyPool) -> Option<&sqlx::Pool<Self>> {
            match any {
                $crate::driver::AnyPool::$variant(held) => {
                    Some($crate::driver::Held::<Self>::pool(held))
                }
                #[allow(unreachable_patterns)]
                _ => None,
            }
        }

        fn on_pool(pool: &sqlx::Pool<Self>) -> impl sqlx::Executor<'_, Database = Self> {
            pool
        }

        fn on_conn(conn: &mut Self::Connection) -> impl sqlx::Executor<'_, Database = Self> {
            conn
        }

        fn arguments(values: sea_query_sqlx::SqlxValues) -> Self::Arguments {
            sqlx::IntoArguments::<Self>::into_arguments(values)
        }

        fn build<S: sea_query_sqlx::SqlxBinder>(
            statement: &S,
        ) -> (String, sea_query_sqlx::SqlxValues) {
            statement.build_sqlx($builder)
        }

        fn rows_affected(done: &Self::QueryResult) -> u64 {
            done.rows_affected()
        }
    };
}
use pool_glue;

/// What an [`AnyPool`] variant holds: the pool itself (PostgreSQL, MariaDB / MySQL), or the
/// pool with what goes with it (SQLite: [`SqliteDb`], its group-commit writer).
pub(crate) trait Held<D: sqlx::Database>: From<Pool<D>> {
    fn pool(&self) -> &Pool<D>;
}

impl<D: sqlx::Database> Held<D> for Pool<D> {
    fn pool(&self) -> &Pool<D> {
        self
    }
}

/// Why a pool could not be made.
#[derive(Debug)]
pub(crate) enum ConnectError {
    /// Unknown scheme, scheme whose feature is off, or a URL the driver cannot parse. The text
    /// never repeats the URL (it may hold a password).
    UnsupportedUrl(String),
    /// The server could not be reached.
    Unavailable(sqlx::Error),
}

impl AnyPool {
    /// Connects by URL, choosing the backend from its scheme: `sqlite:`, `postgres:` /
    /// `postgresql:`, `mysql:` / `mariadb:`. A SQLite file is created if missing and opened in
    /// WAL mode with a busy timeout; at most [`ACQUIRE_TIMEOUT`] is spent waiting.
    pub(crate) async fn connect(url: &str) -> Result<Self, ConnectError> {
        Self::connect_with(url, ACQUIRE_TIMEOUT).await
    }

    /// [`connect`](Self::connect), a server's pool waiting at most `acquire` for a connection
    /// once it is open (SQLite's keeps [`ACQUIRE_TIMEOUT`]: its waits are for file locks).
    pub(crate) async fn connect_with(url: &str, acquire: Duration) -> Result<Self, ConnectError> {
        let scheme = Scheme::of(url);
        Ok(match scheme.0.as_deref() {
            #[cfg(feature = "sqlite")]
            Some("sqlite") => Self::Sqlite(
                <sqlx::Sqlite as sealed::Sealed>::connect(url, acquire)
                    .await?
                    .into(),
            ),
            #[cfg(feature = "postgres")]
            Some("postgres" | "postgresql") => {
                Self::Postgres(<sqlx::Postgres as sealed::Sealed>::connect(url, acquire).await?)
            }
            #[cfg(feature = "mysql")]
            Some("mysql" | "mariadb") => {
                Self::MySql(<sqlx::MySql as sealed::Sealed>::connect(url, acquire).await?)
            }
            _ => return Err(scheme.unsupported()),
        })
    }

    /// The backend.
    pub(crate) fn backend(&self) -> Backend {
        dispatch!(self, |pool| backend_of(pool))
    }

    /// The typed pool, if this is `D`'s.
    pub(crate) fn get<D: Driver>(&self) -> Option<&Pool<D>> {
        D::unwrap(self)
    }

    /// The same pool, every write in its own transaction on it (SQLite: no group commit;
    /// other backends have none).
    pub(crate) fn without_group_commit(self) -> Self {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(db) => Self::Sqlite(db.without_group_commit()),
            #[allow(unreachable_patterns)]
            other => other,
        }
    }

    /// What the pool's group-commit writer did so far, if it has one.
    pub(crate) fn group_commit_stats(&self) -> Option<GroupCommitStats> {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(db) => db.group_commit_stats(),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// A pool on a database server by URL: the driver parses it (its message names what is wrong,
/// never the URL). The pool is lazy, with `acquire` for every later request; up to
/// [`FIRST_CONNECTION_TIMEOUT`] is spent on a first connection (see [`first_connection`]).
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn connect_server<D: Driver>(
    url: &str,
    acquire: Duration,
) -> Result<Pool<D>, ConnectError>
where
    <D::Connection as sqlx::Connection>::Options: std::str::FromStr<Err = sqlx::Error>,
{
    let options = url.parse().map_err(|e| Scheme::unparsable(url, e))?;
    let pool = sqlx::pool::PoolOptions::<D>::new()
        .acquire_timeout(acquire)
        .connect_lazy_with(options);
    first_connection(&pool).await?;
    Ok(pool)
}

/// Waits for `pool`'s first connection, for up to [`FIRST_CONNECTION_TIMEOUT`] whatever the
/// pool's own (short) acquire timeout: each attempt that times out (a server refusing, or
/// starting up) is retried; any other error (authentication, no such database) is returned at
/// once. The pool stays lazy afterwards: a server that goes away later fails requests with
/// 503 within the acquire timeout, and serves them again as soon as it is back.
pub(crate) async fn first_connection<D: Driver>(pool: &Pool<D>) -> Result<(), ConnectError> {
    let deadline = tokio::time::Instant::now() + FIRST_CONNECTION_TIMEOUT;
    loop {
        match pool.acquire().await {
            Ok(conn) => {
                drop(conn);
                return Ok(());
            }
            Err(sqlx::Error::PoolTimedOut) if tokio::time::Instant::now() < deadline => {}
            Err(e) => return Err(ConnectError::Unavailable(e)),
        }
    }
}

fn backend_of<D: Driver>(_: &Pool<D>) -> Backend {
    D::BACKEND
}

/// A URL's scheme, lower case.
pub(crate) struct Scheme(Option<String>);

impl Scheme {
    pub(crate) fn of(url: &str) -> Self {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme).filter(|s| {
            s.starts_with(|c: char| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
        Self(scheme.map(str::to_ascii_lowercase))
    }

    pub(crate) fn unsupported(&self) -> ConnectError {
        let why = match self.0.as_deref() {
            None => "it has no scheme (expected sqlite:, postgres: or mysql:)".to_owned(),
            Some(scheme @ "sqlite") => format!("{scheme}: needs tenantry's feature `sqlite`"),
            Some(scheme @ ("postgres" | "postgresql")) => {
                format!("{scheme}: needs tenantry's feature `postgres`")
            }
            Some(scheme @ ("mysql" | "mariadb")) => {
                format!("{scheme}: needs tenantry's feature `mysql`")
            }
            Some(scheme) => {
                format!("scheme {scheme}: is not one of sqlite:, postgres:, mysql:")
            }
        };
        ConnectError::UnsupportedUrl(why)
    }

    /// A URL of a supported scheme that the driver cannot parse. The driver's message names
    /// what is wrong (a port, an option), not the URL.
    pub(crate) fn unparsable(url: &str, e: sqlx::Error) -> ConnectError {
        let scheme = Self::of(url).0.unwrap_or_default();
        ConnectError::UnsupportedUrl(format!("{scheme}: URL does not parse: {e}"))
    }
}
