//! PostgreSQL ([`sqlx::Postgres`]).

mod audit;
mod catalog;
mod ddl;
mod decode;
mod encode;
mod fleet;
mod import;
mod open;
mod schema;

use chrono::{DateTime, Utc};
use sea_query::Value;
use sqlx::{Pool, Postgres};

use super::{Backend, ConnectError, sealed::Sealed};
use crate::{
    TenantId,
    data::{ColumnType, DataError, Ident},
};

impl Sealed for Postgres {
    const BACKEND: Backend = Backend::Postgres;

    super::pool_glue!(Postgres, sea_query::PostgresQueryBuilder);

    async fn connect(url: &str, acquire: std::time::Duration) -> Result<Pool<Self>, ConnectError> {
        super::connect_server(url, acquire).await
    }

    fn quote(ident: &Ident) -> String {
        format!("\"{ident}\"")
    }

    const RETURNING: bool = true;

    fn last_insert_id(_: &Self::QueryResult) -> Option<i64> {
        None
    }

    /// `app.tenant_id` for the rest of the transaction (`set_config(.., true)`: transaction
    /// local, so a transaction-mode pooler cannot hand it to another client). Behind such a
    /// pooler the statement is unnamed: a named one would be prepared on one server connection
    /// and looked for, or prepared again under the same name, on another.
    async fn bind_tenant(
        conn: &mut Self::Connection,
        tenant: &TenantId,
        prepare: bool,
    ) -> Result<(), DataError> {
        sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
            .bind(tenant.as_str())
            .persistent(prepare)
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
}
