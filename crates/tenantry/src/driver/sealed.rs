//! What differs per backend, one trait per file of `driver/<backend>/`: each driver
//! implements [`Sealed`] in its `mod.rs`, [`Ddl`] in `ddl.rs`, and so on.

use super::*;
use crate::{
    catalog::{CatalogError, TenantRecord, sql::CatalogDdl},
    data::{ColumnType, DataError, Resource, RowSink, TenantColumn},
    export::{
        ExportError, PortableType,
        create::{IdentitySql, Spelling},
        encode::{Enc, Plan},
        import::Feed,
        schema::{ColumnInfo, TableInfo},
    },
};

/// Connecting, running statements, values (`mod.rs`).
pub trait Sealed:
    sqlx::Database
    + sqlx::database::HasStatementCache
    + Ddl
    + Rows
    + Audit
    + CatalogTable
    + Schema
    + ExportRows
    + ImportRows
    + Open
    + Fleet
{
    /// The backend.
    const BACKEND: Backend;

    /// This pool, as a pool of any backend.
    fn wrap(pool: Pool<Self>) -> AnyPool;
    /// The pool, if `any` is of this backend.
    fn unwrap(any: &AnyPool) -> Option<&Pool<Self>>;
    /// Connects by URL (its scheme already matched); a server's pool waits at most
    /// `acquire` for a connection later (SQLite's: [`ACQUIRE_TIMEOUT`]).
    fn connect(
        url: &str,
        acquire: Duration,
    ) -> impl Future<Output = Result<Pool<Self>, ConnectError>> + Send;

    /// The pool as an executor.
    fn on_pool(pool: &Pool<Self>) -> impl Executor<'_, Database = Self>;
    /// A connection (or transaction) as an executor.
    fn on_conn(conn: &mut Self::Connection) -> impl Executor<'_, Database = Self>;
    /// sea-query's values, bound the way sea-query-sqlx binds them on this backend.
    fn arguments(values: SqlxValues) -> Self::Arguments;
    /// A sea-query statement as this backend's SQL text and values.
    fn build<S: SqlxBinder>(statement: &S) -> (String, SqlxValues);
    /// A checked identifier quoted for this backend.
    fn quote(ident: &Ident) -> String;

    /// Hands `write` to `pool`'s group-commit writer, if it has one (SQLite unless turned
    /// off: `sqlite/group_commit.rs`), for a future answering once its transaction
    /// committed; else gives it back, to be run on the pool (every other backend).
    fn group_write(
        pool: &AnyPool,
        write: Write,
    ) -> Result<impl Future<Output = Result<Written<Self>, DataError>> + Send, Write> {
        let _ = pool;
        Err::<std::future::Ready<_>, _>(write)
    }

    /// `INSERT`/`UPDATE ... RETURNING` exists (MariaDB / MySQL: no, the row is read back).
    const RETURNING: bool;
    /// The id the database assigned to the row an `INSERT` made (read-back backends only).
    fn last_insert_id(done: &Self::QueryResult) -> Option<i64>;
    /// How many rows a statement changed.
    fn rows_affected(done: &Self::QueryResult) -> u64;
    /// Binds the tenant for the rest of the transaction (PostgreSQL: `app.tenant_id`, read
    /// by row-level security policies; elsewhere nothing). `prepare`: the statement may be
    /// prepared and cached on the connection (not behind a transaction-mode pooler).
    fn bind_tenant(
        conn: &mut Self::Connection,
        tenant: &TenantId,
        prepare: bool,
    ) -> impl Future<Output = Result<(), DataError>> + Send;

    /// A timestamp as the data layer stores it.
    fn timestamp_value(at: chrono::DateTime<chrono::Utc>) -> Value;
    /// A UUID as the data layer stores it.
    fn uuid_value(id: uuid::Uuid) -> Value;
    /// A JSON value as the data layer stores it.
    fn json_value(v: serde_json::Value) -> Value;
    /// A typed null for a column of `ty`.
    fn null_value(ty: ColumnType) -> Value;
}

/// Table definitions (`ddl.rs`).
pub trait Ddl: sqlx::Database {
    /// The column type of `ty` (`key`: the id or the tenant column, which must be indexable).
    fn column_type(ty: ColumnType, key: bool) -> &'static str;
    /// The default expression of a column of `ty` that has one.
    fn default_expr(ty: ColumnType) -> Option<&'static str>;
    /// What follows the type of a generated integer id.
    const GENERATED_ID: &'static str;
    /// The collation every text column gets so that it compares exactly (`None`: the
    /// backend's default already does).
    fn exact_collation(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Option<&'static str>, DataError>> + Send;

    /// How a table created from an export's definition gets its database-assigned id.
    const IDENTITY: IdentitySql;
    /// Whether `CREATE TABLE` is part of a transaction (MariaDB / MySQL: no, it commits).
    const TRANSACTIONAL_DDL: bool;
    /// How this backend spells `ty` for a column created from an export's definition
    /// (`key`: in the primary key or the tenant column, so indexable); why not, if it
    /// cannot hold it.
    fn spell(ty: PortableType, key: bool) -> Result<Spelling, &'static str>;
}

/// Database rows to the data layer's JSON (`decode.rs`).
pub trait Rows: sqlx::Database {
    /// A row of `resource`'s columns, in order, into `S`.
    fn decode_row<S: RowSink>(row: &Self::Row, resource: &Resource) -> Result<S::Out, DataError>;
}

/// Whether tenant columns compare exactly (`audit.rs`).
pub trait Audit: sqlx::Database {
    /// Every base table with column `field`, and whether it compares exactly.
    fn audit_tenant_columns(
        pool: &Pool<Self>,
        field: &str,
    ) -> impl Future<Output = Result<Vec<TenantColumn>, DataError>> + Send;
}

/// The `tenantry_tenants` table (`catalog.rs`).
pub trait CatalogTable: sqlx::Database {
    /// The table's DDL and migration statements.
    const CATALOG_DDL: CatalogDdl;
    /// A catalog timestamp, as stored.
    fn catalog_stamp(at: chrono::DateTime<chrono::Utc>) -> Value;
    /// A catalog row back into a record.
    fn read_tenant(row: &Self::Row) -> Result<TenantRecord, CatalogError>;
    /// Tells `watcher` about every change of the table, for as long as it runs.
    fn watch_catalog(
        pool: Pool<Self>,
        watcher: crate::catalog::CatalogWatcher,
    ) -> impl Future<Output = ()> + Send + 'static;
}

/// What the database's own catalog says about a table (`schema.rs`).
pub trait Schema: sqlx::Database {
    /// The table as the database's catalog describes it; [`ExportError::UnknownTable`] if
    /// there is no such table or view.
    fn describe(
        conn: &mut Self::Connection,
        table: &Ident,
    ) -> impl Future<Output = Result<TableInfo, ExportError>> + Send;
    /// A column's type in the vocabulary of export manifests, from its catalog type.
    fn portable_type(column: &ColumnInfo) -> PortableType;
    /// Names of the base tables (of the current schema / database) with a column `field`.
    fn tables_with(
        pool: &Pool<Self>,
        field: &Ident,
    ) -> impl Future<Output = Result<Vec<String>, ExportError>> + Send;
}

/// Database rows to an export's JSON (`encode.rs`).
pub trait ExportRows: sqlx::Database {
    /// How the export selects `column` (PostgreSQL types without a binary decoder: as text).
    fn export_column(column: &ColumnInfo) -> sea_query::SimpleExpr;
    /// `field = tenant`, the tenant bound in the tenant column's own type where possible,
    /// compared exactly even when the column itself does not (`field.exact` false).
    fn export_tenant(
        field: &ColumnInfo,
        tenant: &str,
    ) -> Result<sea_query::SimpleExpr, ExportError>;
    /// How each column of the export's rows is encoded, from the first row.
    fn export_plan(row: &Self::Row, table: &TableInfo) -> Result<Vec<Enc>, ExportError>;
    /// Writes one row as a JSON object.
    fn write_row(row: &Self::Row, plan: &Plan, buf: &mut Vec<u8>) -> Result<(), ExportError>;
}

/// Imported rows into a table (`import.rs`).
/// Pools on a configured server, its own database or a tenant's; a tenant's schema or
/// database made and dropped (`open.rs`).
pub trait Open: sqlx::Database {
    /// A lazily connected pool on `server`, on its `database` when one is named.
    fn open(
        server: &super::open::ServerUrl,
        database: Option<&str>,
        settings: &super::open::PoolSettings,
    ) -> Result<Pool<Self>, ConnectError>;

    /// Creates `container` on `server`; [`ContainerError::Exists`] if it exists (never
    /// taken over: it may be someone else's).
    fn create_container(
        server: &super::open::ServerUrl,
        container: super::open::Container<'_>,
    ) -> impl Future<Output = Result<(), super::open::ContainerError>> + Send;

    /// Drops `container` on `server` with everything in it; nothing if it is not there.
    fn drop_container(
        server: &super::open::ServerUrl,
        container: super::open::Container<'_>,
    ) -> impl Future<Output = Result<(), super::open::ContainerError>> + Send;

    /// `SET LOCAL search_path` to `schema` for the rest of the transaction.
    fn set_local_search_path(
        conn: &mut Self::Connection,
        schema: &Ident,
    ) -> impl Future<Output = Result<(), DataError>> + Send {
        let _ = (conn, schema);
        std::future::ready(Err(DataError::Placement(
            "schema placement needs PostgreSQL".into(),
        )))
    }
}

/// What a fleet migration asks of a server (`fleet.rs`).
pub trait Fleet: sqlx::Database {
    /// The connections the server has free now (its limit, less what it reserves and what
    /// is in use); `None` where the backend has no such limit (SQLite).
    fn free_connections(
        pool: &Pool<Self>,
    ) -> impl Future<Output = Result<Option<i64>, sqlx::Error>> + Send;

    /// Takes the run lock of the catalog on `pool` (`catalog`: its server): one fleet
    /// migration per catalog at a time, held until the returned value is dropped or the
    /// process dies. `None`: nothing to lock (an in-memory SQLite catalog).
    fn run_lock(
        pool: &Pool<Self>,
        catalog: &super::open::ServerUrl,
    ) -> impl Future<Output = Result<Option<super::RunLock>, String>> + Send;
}

pub trait ImportRows: sqlx::Database {
    /// Rows per insert of an import, for rows `width` columns wide.
    fn import_batch(width: usize) -> usize;
    /// What a column takes, from its catalog type: each imported value is checked
    /// against it before anything is written.
    fn import_kind(c: &ColumnInfo) -> crate::export::import::check::Kind;
    /// Inserts every row of `feed` (checked as it is read); how many went in. SQLite and
    /// MariaDB: [`batched`](crate::export::import::batched) `INSERT`s; PostgreSQL: `COPY`.
    fn insert_rows(
        conn: &mut Self::Connection,
        feed: &mut Feed<'_>,
        reporter: &dyn crate::export::Reporter,
    ) -> impl Future<Output = Result<u64, ExportError>> + Send;
    /// Inserts one batch of checked rows (cells in `feed.targets` order); how many went in.
    fn insert_batch(
        conn: &mut Self::Connection,
        feed: &Feed<'_>,
        batch: Vec<Vec<crate::export::import::check::Cell>>,
    ) -> impl Future<Output = Result<u64, ExportError>> + Send;
    /// After a table's rows are in (PostgreSQL: id sequences moved past the largest id).
    fn after_import(
        conn: &mut Self::Connection,
        feed: &Feed<'_>,
    ) -> impl Future<Output = Result<(), ExportError>> + Send {
        let _ = (conn, feed);
        std::future::ready(Ok(()))
    }
}
