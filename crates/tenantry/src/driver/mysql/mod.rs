//! MariaDB and MySQL ([`sqlx::MySql`]).

mod audit;
mod catalog;
mod ddl;
mod decode;
mod encode;
mod fleet;
mod import;
mod open;
mod schema;

use std::future::Future;

use chrono::{DateTime, Utc};
use sea_query::Value;
use sqlx::{MySql, Pool};

use super::{Backend, ConnectError, sealed::Sealed};
use crate::{
    TenantId,
    data::{ColumnType, DataError, Ident},
};

impl Sealed for MySql {
    const BACKEND: Backend = Backend::MySql;

    super::pool_glue!(MySql, sea_query::MysqlQueryBuilder);

    async fn connect(url: &str, acquire: std::time::Duration) -> Result<Pool<Self>, ConnectError> {
        super::connect_server(url, acquire).await
    }

    fn quote(ident: &Ident) -> String {
        format!("`{ident}`")
    }

    const RETURNING: bool = false;

    fn last_insert_id(done: &Self::QueryResult) -> Option<i64> {
        i64::try_from(done.last_insert_id()).ok()
    }

    fn bind_tenant(
        _: &mut Self::Connection,
        _: &TenantId,
        _: bool,
    ) -> impl Future<Output = Result<(), DataError>> + Send {
        std::future::ready(Ok(()))
    }

    fn timestamp_value(at: DateTime<Utc>) -> Value {
        Value::ChronoDateTimeUtc(Some(at))
    }

    fn uuid_value(id: uuid::Uuid) -> Value {
        Value::String(Some(id.hyphenated().to_string()))
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
            ColumnType::Json => Value::Json(None),
            _ => Value::String(None),
        }
    }
}
