//! Connection pools by URL, shared by the SQL catalog and the data layer.

use std::time::Duration;

/// How long connecting waits for a first connection (and the pool for any connection later).
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a SQLite connection waits for another writer's lock.
#[cfg(feature = "sqlite")]
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
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

impl Pool {
    /// Connects by URL, choosing the backend from its scheme: `sqlite:`, `postgres:` /
    /// `postgresql:`, `mysql:` / `mariadb:`. A SQLite file is created if missing and opened in
    /// WAL mode with a busy timeout; at most [`ACQUIRE_TIMEOUT`] is spent waiting.
    pub(crate) async fn connect(url: &str) -> Result<Self, ConnectError> {
        let scheme = Scheme::of(url);
        Ok(match scheme.0.as_deref() {
            #[cfg(feature = "sqlite")]
            Some("sqlite") => Pool::Sqlite(connect_sqlite(url).await?),
            #[cfg(feature = "postgres")]
            Some("postgres" | "postgresql") => {
                let options = url.parse().map_err(|e| scheme.unparsable(e))?;
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await;
                Pool::Postgres(pool.map_err(ConnectError::Unavailable)?)
            }
            #[cfg(feature = "mysql")]
            Some("mysql" | "mariadb") => {
                let options = url.parse().map_err(|e| scheme.unparsable(e))?;
                let pool = sqlx::mysql::MySqlPoolOptions::new()
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_with(options)
                    .await;
                Pool::MySql(pool.map_err(ConnectError::Unavailable)?)
            }
            _ => return Err(scheme.unsupported()),
        })
    }
}

#[cfg(feature = "sqlite")]
async fn connect_sqlite(url: &str) -> Result<sqlx::SqlitePool, ConnectError> {
    use std::str::FromStr;

    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| Scheme::of(url).unparsable(e))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
    // An in-memory database lives only while a connection to it is open: keep one for good.
    let pool = if url.contains(":memory:") || url.contains("mode=memory") {
        pool.min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        pool
    };
    pool.connect_with(options)
        .await
        .map_err(ConnectError::Unavailable)
}

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

    fn unsupported(&self) -> ConnectError {
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
    fn unparsable(&self, e: sqlx::Error) -> ConnectError {
        let scheme = self.0.as_deref().unwrap_or_default();
        ConnectError::UnsupportedUrl(format!("{scheme}: URL does not parse: {e}"))
    }
}
