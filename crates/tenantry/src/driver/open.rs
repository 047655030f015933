//! Opening pools on a configured server: the server's own database (shared rows, schemas), or
//! one tenant's database on it. Each driver's `open.rs` says how its URL names a database.

use std::{fmt, time::Duration};

use super::{AnyPool, Backend, ConnectError, Scheme, sealed::Open};
use crate::data::Ident;

/// A server's URL and the password that goes with it (from an environment variable, so it is
/// never in a file or the catalog). `Debug` shows neither.
#[derive(Clone)]
pub(crate) struct ServerUrl {
    pub(crate) url: String,
    /// PostgreSQL, MariaDB / MySQL: the password from the environment (SQLite has none).
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    pub(crate) password: Option<String>,
    /// SQLite: how tenant database files keep their journal (the server's own file is WAL).
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    pub(crate) tenant_journal: TenantJournal,
}

/// SQLite: the journal mode of tenant database files (`ServerConfig::tenant_journal_mode`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum TenantJournal {
    /// Write-ahead log: the `-wal` and `-shm` files beside the database (the default).
    #[default]
    Wal,
    /// Rollback journal, truncated after each commit.
    Truncate,
    /// Rollback journal, deleted after each commit.
    Delete,
}

/// Whether `url` names an in-memory SQLite database (`sqlite::memory:`, `mode=memory`): one that
/// lives as long as a connection to it, so its pool must keep one open.
pub(crate) fn is_sqlite_in_memory(url: &str) -> bool {
    url.starts_with("sqlite:") && (url.contains(":memory:") || url.contains("mode=memory"))
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerUrl(..)")
    }
}

/// How a pool on a server is sized.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolSettings {
    /// Most connections it holds.
    pub(crate) max_connections: u32,
    /// Idle connections are closed after this long.
    pub(crate) idle_timeout: Duration,
    /// How long a request waits for a connection.
    pub(crate) acquire_timeout: Duration,
    /// SQLite: create the file if it is missing (provisioning only; a request for a tenant
    /// whose file is gone must fail, not find an empty database).
    pub(crate) create: bool,
    /// SQLite: concurrent writes are group-committed (`driver/sqlite/group_commit.rs`).
    pub(crate) group_commit: bool,
}

impl AnyPool {
    /// A pool on `server`, on its own `database` if given (a SQLite file in the server's
    /// directory, a PostgreSQL or MariaDB / MySQL database), connected lazily: the first query
    /// connects, so opening never waits on the network.
    pub(crate) fn open(
        server: &ServerUrl,
        database: Option<&str>,
        settings: &PoolSettings,
    ) -> Result<Self, ConnectError> {
        let scheme = Scheme::of(&server.url);
        Ok(match scheme.0.as_deref() {
            #[cfg(feature = "sqlite")]
            Some("sqlite") => Self::Sqlite(super::SqliteDb::new(
                <sqlx::Sqlite as Open>::open(server, database, settings)?,
                settings.group_commit,
            )),
            #[cfg(feature = "postgres")]
            Some("postgres" | "postgresql") => {
                Self::Postgres(<sqlx::Postgres as Open>::open(server, database, settings)?)
            }
            #[cfg(feature = "mysql")]
            Some("mysql" | "mariadb") => {
                Self::MySql(<sqlx::MySql as Open>::open(server, database, settings)?)
            }
            _ => return Err(scheme.unsupported()),
        })
    }
}

/// The pool options every driver starts from. SQLite's connections are not pinged before each
/// acquire (sqlx's `test_before_acquire`): they are files in this process, which cannot drop as
/// a server connection can, and each ping is a round trip to the connection's own thread, a
/// wake-up and a sleep of it on every statement. Server connections keep the ping, which finds
/// one the server or the network closed before a statement fails on it.
pub(crate) fn pool_options<D: super::Driver>(
    settings: &PoolSettings,
) -> sqlx::pool::PoolOptions<D> {
    sqlx::pool::PoolOptions::<D>::new()
        .max_connections(settings.max_connections.max(1))
        .min_connections(0)
        .idle_timeout(Some(settings.idle_timeout))
        .acquire_timeout(settings.acquire_timeout)
        .test_before_acquire(D::BACKEND != Backend::Sqlite)
}

/// The backend a URL's scheme names, if it is compiled in; else why not (never repeating the
/// URL).
pub(crate) fn backend_of_url(url: &str) -> Result<Backend, String> {
    let scheme = Scheme::of(url);
    match scheme.0.as_deref() {
        #[cfg(feature = "sqlite")]
        Some("sqlite") => Ok(Backend::Sqlite),
        #[cfg(feature = "postgres")]
        Some("postgres" | "postgresql") => Ok(Backend::Postgres),
        #[cfg(feature = "mysql")]
        Some("mysql" | "mariadb") => Ok(Backend::MySql),
        _ => match scheme.unsupported() {
            ConnectError::UnsupportedUrl(why) => Err(why),
            ConnectError::Unavailable(e) => Err(e.to_string()),
        },
    }
}

/// What a tenant gets of its own on a server.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Container<'a> {
    /// A PostgreSQL schema.
    Schema(&'a Ident),
    /// A database (a SQLite file `NAME.db` in the server's directory).
    Database(&'a Ident),
}

impl fmt::Display for Container<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Schema(name) => write!(f, "schema {name}"),
            Self::Database(name) => write!(f, "database {name}"),
        }
    }
}

/// Why a container could not be made or dropped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ContainerError {
    /// It exists already.
    #[error("{0} exists already")]
    Exists(String),
    /// The backend has no such container (a schema on MariaDB or SQLite).
    #[cfg(any(feature = "sqlite", feature = "mysql"))]
    #[error("{0}")]
    Unsupported(String),
    /// The server could not be reached or refused.
    #[error("{what}: {source}")]
    Server {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    /// A SQLite file could not be made or removed.
    #[cfg(feature = "sqlite")]
    #[error("{what}: {source}")]
    File {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The URL is unusable.
    #[error("{0}")]
    Url(String),
}

impl From<ConnectError> for ContainerError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::UnsupportedUrl(why) => Self::Url(why),
            ConnectError::Unavailable(source) => Self::Server {
                what: "cannot connect".into(),
                source,
            },
        }
    }
}

/// Runs `$body` with `D` the driver of `$url`'s scheme.
macro_rules! by_scheme {
    ($url:expr, |$d:ident| $body:expr) => {{
        let scheme = Scheme::of($url);
        match scheme.0.as_deref() {
            #[cfg(feature = "sqlite")]
            Some("sqlite") => {
                type $d = sqlx::Sqlite;
                $body
            }
            #[cfg(feature = "postgres")]
            Some("postgres" | "postgresql") => {
                type $d = sqlx::Postgres;
                $body
            }
            #[cfg(feature = "mysql")]
            Some("mysql" | "mariadb") => {
                type $d = sqlx::MySql;
                $body
            }
            _ => Err(ContainerError::from(scheme.unsupported())),
        }
    }};
}

/// Creates `container` on `server` (see [`Open::create_container`]).
pub(crate) async fn create_container(
    server: &ServerUrl,
    container: Container<'_>,
) -> Result<(), ContainerError> {
    by_scheme!(&server.url, |D| D::create_container(server, container)
        .await)
}

/// Drops `container` on `server` (see [`Open::drop_container`]).
pub(crate) async fn drop_container(
    server: &ServerUrl,
    container: Container<'_>,
) -> Result<(), ContainerError> {
    by_scheme!(&server.url, |D| D::drop_container(server, container).await)
}
