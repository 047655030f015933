//! SQLite ([`sqlx::Sqlite`]).

mod audit;
mod catalog;
mod ddl;
mod decode;
mod encode;
mod fleet;
mod group_commit;
mod import;
mod open;
mod schema;

use std::{future::Future, str::FromStr, time::Duration};

use chrono::{DateTime, SecondsFormat, Utc};
use sea_query::Value;
use sqlx::{
    Pool, Sqlite,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions},
};

use super::{
    ACQUIRE_TIMEOUT, AnyPool, Backend, ConnectError, GroupCommitStats, Scheme, Write, Written,
    sealed::Sealed,
};
use crate::{
    TenantId,
    data::{ColumnType, DataError, Ident},
};
use group_commit::GroupCommit;

/// A SQLite database as tenantry holds it: its pool and, unless turned off, the group-commit
/// writer its writes go through (`group_commit.rs`), created with the pool and ending when it
/// is closed.
#[derive(Debug, Clone)]
pub(crate) struct SqliteDb {
    pub(crate) pool: Pool<Sqlite>,
    writer: Option<GroupCommit>,
}

impl SqliteDb {
    /// `pool`, its writes group-committed when `group_commit` is set (a write waits at most the
    /// pool's acquire timeout for room in the writer's queue).
    pub(crate) fn new(pool: Pool<Sqlite>, group_commit: bool) -> Self {
        let writer = group_commit
            .then(|| GroupCommit::new(pool.clone(), pool.options().get_acquire_timeout()));
        Self { pool, writer }
    }

    /// The same pool, each write in its own transaction on it.
    pub(crate) fn without_group_commit(self) -> Self {
        Self {
            writer: None,
            ..self
        }
    }

    pub(crate) fn group_commit_stats(&self) -> Option<GroupCommitStats> {
        self.writer.as_ref().map(GroupCommit::stats)
    }
}

impl From<Pool<Sqlite>> for SqliteDb {
    /// Group commit on, as for every SQLite pool tenantry opens.
    fn from(pool: Pool<Sqlite>) -> Self {
        Self::new(pool, true)
    }
}

impl super::Held<Sqlite> for SqliteDb {
    fn pool(&self) -> &Pool<Sqlite> {
        &self.pool
    }
}

/// How long a connection waits for another writer's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

impl Sealed for Sqlite {
    const BACKEND: Backend = Backend::Sqlite;

    super::pool_glue!(Sqlite, sea_query::SqliteQueryBuilder);

    /// The file is created if missing and opened in WAL mode with a busy timeout. An in-memory
    /// database lives only while a connection to it is open: the pool keeps one for good.
    async fn connect(url: &str, _acquire: Duration) -> Result<Pool<Self>, ConnectError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Scheme::unparsable(url, e))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(BUSY_TIMEOUT);
        // No ping before each acquire, as in `open::pool_options`.
        let pool = SqlitePoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .test_before_acquire(false);
        let pool = if super::open::is_sqlite_in_memory(url) {
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

    fn quote(ident: &Ident) -> String {
        format!("\"{ident}\"")
    }

    const RETURNING: bool = true;

    fn last_insert_id(_: &Self::QueryResult) -> Option<i64> {
        None
    }

    fn group_write(
        pool: &AnyPool,
        write: Write,
    ) -> Result<impl Future<Output = Result<Written<Self>, DataError>> + Send, Write> {
        #[allow(irrefutable_let_patterns)]
        let AnyPool::Sqlite(SqliteDb {
            writer: Some(writer),
            ..
        }) = pool
        else {
            return Err(write);
        };
        Ok(writer.write(write))
    }

    fn bind_tenant(
        _: &mut Self::Connection,
        _: &TenantId,
        _: bool,
    ) -> impl Future<Output = Result<(), DataError>> + Send {
        std::future::ready(Ok(()))
    }

    /// Text, millisecond RFC 3339: sorts like time and matches the table default.
    fn timestamp_value(at: DateTime<Utc>) -> Value {
        Value::String(Some(at.to_rfc3339_opts(SecondsFormat::Millis, true)))
    }

    fn uuid_value(id: uuid::Uuid) -> Value {
        Value::String(Some(id.hyphenated().to_string()))
    }

    fn json_value(v: serde_json::Value) -> Value {
        Value::String(Some(v.to_string()))
    }

    fn null_value(ty: ColumnType) -> Value {
        match ty {
            ColumnType::Integer => Value::BigInt(None),
            ColumnType::Float => Value::Double(None),
            ColumnType::Bool => Value::Bool(None),
            _ => Value::String(None),
        }
    }
}
