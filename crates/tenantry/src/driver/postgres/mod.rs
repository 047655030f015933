//! PostgreSQL ([`sqlx::Postgres`]).

mod audit;
mod catalog;
mod ddl;
mod decode;
mod encode;
mod import;
mod schema;

use std::future::Future;

use chrono::{DateTime, Utc};
use sea_query::Value;
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::{Executor, IntoArguments, Pool, Postgres, postgres::PgPoolOptions};

use super::{ACQUIRE_TIMEOUT, AnyPool, Backend, ConnectError, Scheme, sealed::Sealed};
use crate::{
    TenantId,
    catalog::{CatalogError, TenantRecord},
    data::{ColumnType, DataError, Ident, Resource, RowSink, TenantColumn},
    export::{
        ExportError,
        encode::{Enc, Plan},
        import::Feed,
        schema::{ColumnInfo, TableInfo},
    },
};

impl Sealed for Postgres {
    const BACKEND: Backend = Backend::Postgres;

    fn wrap(pool: Pool<Self>) -> AnyPool {
        AnyPool::Postgres(pool)
    }

    fn unwrap(any: &AnyPool) -> Option<&Pool<Self>> {
        match any {
            AnyPool::Postgres(pool) => Some(pool),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    async fn connect(url: &str) -> Result<Pool<Self>, ConnectError> {
        let options = url.parse().map_err(|e| Scheme::unparsable(url, e))?;
        PgPoolOptions::new()
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(ConnectError::Unavailable)
    }

    fn on_pool(pool: &Pool<Self>) -> impl Executor<'_, Database = Self> {
        pool
    }

    fn on_conn(conn: &mut Self::Connection) -> impl Executor<'_, Database = Self> {
        conn
    }

    fn arguments(values: SqlxValues) -> Self::Arguments {
        IntoArguments::<Postgres>::into_arguments(values)
    }

    fn build<S: SqlxBinder>(statement: &S) -> (String, SqlxValues) {
        statement.build_sqlx(sea_query::PostgresQueryBuilder)
    }

    fn quote(ident: &Ident) -> String {
        format!("\"{ident}\"")
    }

    const RETURNING: bool = true;

    fn last_insert_id(_: &Self::QueryResult) -> Option<i64> {
        None
    }

    fn rows_affected(done: &Self::QueryResult) -> u64 {
        done.rows_affected()
    }

    /// `app.tenant_id` for the rest of the transaction (`set_config(.., true)`: transaction
    /// local, so a transaction-mode pooler cannot hand it to another client).
    async fn bind_tenant(conn: &mut Self::Connection, tenant: &TenantId) -> Result<(), DataError> {
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(tenant.as_str())
            .execute(conn)
            .await?;
        Ok(())
    }

    fn timestamp_value(at: DateTime<Utc>) -> Value {
        Value::ChronoDateTimeUtc(Some(at))
    }

    fn uuid_value(id: uuid::Uuid) -> Value {
        Value::Uuid(Some(id))
    }

    fn json_value(v: serde_json::Value) -> Value {
        Value::Json(Some(Box::new(v)))
    }

    fn null_value(ty: ColumnType) -> Value {
        match ty {
            ColumnType::Integer => Value::BigInt(None),
            ColumnType::Float => Value::Double(None),
            ColumnType::Bool => Value::Bool(None),
            ColumnType::Timestamp => Value::ChronoDateTimeUtc(None),
            ColumnType::Uuid => Value::Uuid(None),
            ColumnType::Json => Value::Json(None),
            ColumnType::Text => Value::String(None),
        }
    }

    fn column_type(ty: ColumnType, key: bool) -> &'static str {
        ddl::column_type(ty, key)
    }

    fn default_expr(ty: ColumnType) -> Option<&'static str> {
        ddl::default_expr(ty)
    }

    const GENERATED_ID: &'static str = ddl::GENERATED_ID;

    fn exact_collation(
        _: &Pool<Self>,
    ) -> impl Future<Output = Result<Option<&'static str>, DataError>> + Send {
        // Deterministic collations (every default one) compare exactly.
        std::future::ready(Ok(None))
    }

    fn decode_row<S: RowSink>(row: &Self::Row, resource: &Resource) -> Result<S::Out, DataError> {
        decode::row::<S>(row, resource)
    }

    fn audit_tenant_columns<'a>(
        pool: &'a Pool<Self>,
        field: &'a str,
    ) -> impl Future<Output = Result<Vec<TenantColumn>, DataError>> + Send + 'a {
        audit::tenant_columns(pool, field)
    }

    fn catalog_ddl() -> &'static crate::catalog::sql::CatalogDdl {
        &catalog::DDL
    }

    fn catalog_stamp(at: DateTime<Utc>) -> Value {
        catalog::stamp(at)
    }

    fn read_tenant(row: &Self::Row) -> Result<TenantRecord, CatalogError> {
        catalog::read(row)
    }

    fn describe<'a>(
        pool: &'a Pool<Self>,
        table: &'a Ident,
    ) -> impl Future<Output = Result<TableInfo, ExportError>> + Send + 'a {
        schema::describe(pool, table)
    }

    fn tables_with<'a>(
        pool: &'a Pool<Self>,
        field: &'a Ident,
    ) -> impl Future<Output = Result<Vec<String>, ExportError>> + Send + 'a {
        schema::tables_with(pool, field)
    }

    fn export_column(column: &ColumnInfo) -> sea_query::SimpleExpr {
        encode::column(column)
    }

    fn export_tenant(
        field: &ColumnInfo,
        tenant: &str,
    ) -> Result<sea_query::SimpleExpr, ExportError> {
        encode::tenant(field, tenant)
    }

    fn export_plan(row: &Self::Row, table: &TableInfo) -> Result<Vec<Enc>, ExportError> {
        encode::plan(row, table)
    }

    fn write_row(row: &Self::Row, plan: &Plan, buf: &mut Vec<u8>) -> Result<(), ExportError> {
        encode::row(row, plan, buf)
    }

    fn import_batch(width: usize) -> usize {
        import::batch(width)
    }

    fn insert_batch<'a>(
        conn: &'a mut Self::Connection,
        feed: &'a Feed<'_>,
        batch: Vec<serde_json::Map<String, serde_json::Value>>,
    ) -> impl Future<Output = Result<u64, ExportError>> + Send + 'a {
        import::insert(conn, feed, batch)
    }

    fn after_import<'a>(
        conn: &'a mut Self::Connection,
        feed: &'a Feed<'_>,
    ) -> impl Future<Output = Result<(), ExportError>> + Send + 'a {
        import::sequences(conn, feed)
    }
}
