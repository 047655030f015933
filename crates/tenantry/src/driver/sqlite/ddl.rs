//! SQLite column types and defaults. Timestamps, UUIDs and JSON are text.

use crate::data::ColumnType;

pub(super) fn column_type(ty: ColumnType, _key: bool) -> &'static str {
    match ty {
        ColumnType::Integer => "integer",
        ColumnType::Float => "real",
        ColumnType::Bool => "boolean",
        _ => "text",
    }
}

pub(super) fn default_expr(ty: ColumnType) -> Option<&'static str> {
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

/// The rowid alias: assigned when left out.
pub(super) const GENERATED_ID: &str = " PRIMARY KEY AUTOINCREMENT";
