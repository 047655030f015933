//! SQLite column types and defaults. Timestamps, UUIDs and JSON are text.

use sqlx::{Pool, Sqlite};

use crate::{
    data::{ColumnType, DataError},
    driver::sealed::Ddl,
};

impl Ddl for Sqlite {
    const GENERATED_ID: &'static str = " PRIMARY KEY AUTOINCREMENT";

    /// BINARY, SQLite's default, compares exactly.
    async fn exact_collation(_: &Pool<Self>) -> Result<Option<&'static str>, DataError> {
        Ok(None)
    }

    fn column_type(ty: ColumnType, _key: bool) -> &'static str {
        match ty {
            ColumnType::Integer => "integer",
            ColumnType::Float => "real",
            ColumnType::Bool => "boolean",
            _ => "text",
        }
    }

    fn default_expr(ty: ColumnType) -> Option<&'static str> {
        Some(match ty {
            ColumnType::Integer | ColumnType::Float => "0",
            ColumnType::Bool => "false",
            ColumnType::Text => "''",
            // Millisecond RFC 3339, as the data layer writes timestamps.
            ColumnType::Timestamp => "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            ColumnType::Json => "'{}'",
            _ => return None,
        })
    }
}
