//! SQLite column types and defaults. Timestamps, UUIDs and JSON are text, declared as what
//! they hold.

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

    /// Timestamps, UUIDs and JSON are stored as text, under declared types that say what they
    /// are, so that an export writes them as what they are and an import checks them
    /// (`"yesterday"` is no timestamp). SQLite gives these names NUMERIC affinity, which
    /// leaves their text alone (none of it reads as a number) except a JSON document that
    /// is a bare number, stored as one.
    fn column_type(ty: ColumnType, _key: bool) -> &'static str {
        match ty {
            ColumnType::Integer => "integer",
            ColumnType::Float => "real",
            ColumnType::Bool => "boolean",
            ColumnType::Text => "text",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Uuid => "uuid",
            ColumnType::Json => "json",
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
