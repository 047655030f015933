//! Imported rows into SQLite: multi-row `INSERT`s, each value checked and typed by the
//! column's declared type.

use sea_query::Value as Sql;
use sqlx::{Sqlite, SqliteConnection};

use crate::{
    driver::each_value as bind,
    driver::sealed::ImportRows,
    export::{
        ExportError, Reporter,
        import::{
            Feed, batched,
            check::{Cell, Kind},
        },
        schema::ColumnInfo,
    },
};

impl ImportRows for Sqlite {
    /// Rows per `INSERT`, within SQLite's limit of 32,766 bound parameters.
    fn import_batch(width: usize) -> usize {
        (30_000 / width.max(1)).clamp(1, 1000)
    }

    /// SQLite's declared types are free text: read as SQLite reads their affinity (`INT`
    /// anywhere is an integer, then `CHAR`/`CLOB`/`TEXT`, `BLOB`, `REAL`/`FLOA`/`DOUB`),
    /// refined by the names of the other types (`BOOLEAN`, `JSON`, `TIMESTAMP`, `DATE`, ...).
    /// A column without a type takes anything.
    fn import_kind(c: &ColumnInfo) -> Kind {
        let t = c.type_name.as_str();
        match t {
            _ if t.contains("bool") => Kind::Bool,
            _ if t.starts_with("json") => Kind::Json,
            // tenantry's own name for a decimal kept as its text.
            _ if t.starts_with("decimal_text") => Kind::Decimal,
            _ if t.contains("int") => Kind::Int,
            _ if t.contains("char") || t.contains("clob") || t.contains("text") => Kind::Text,
            _ if t.contains("blob") => Kind::Bytes,
            "" => Kind::Any,
            _ if t.contains("real") || t.contains("floa") || t.contains("doub") => Kind::Float,
            _ if t.contains("timestamp") || t.contains("datetime") => Kind::Timestamp,
            _ if t.contains("date") => Kind::Date,
            _ if t.contains("time") => Kind::Time,
            _ if t.contains("uuid") => Kind::Uuid,
            _ if t.contains("numeric") || t.contains("decimal") => Kind::Decimal,
            _ => Kind::Any,
        }
    }

    async fn insert_rows(
        conn: &mut SqliteConnection,
        feed: &mut Feed<'_>,
        reporter: &dyn Reporter,
    ) -> Result<u64, ExportError> {
        batched::<Sqlite>(conn, feed, reporter).await
    }

    async fn insert_batch(
        conn: &mut SqliteConnection,
        feed: &Feed<'_>,
        batch: Vec<Vec<Cell>>,
    ) -> Result<u64, ExportError> {
        bind::insert_batch::<Sqlite>(conn, feed, batch, value).await
    }
}

/// SQLite has no unsigned 64-bit integers (beyond `i64` they go as floats), and keeps a
/// timestamp as the text it came as.
fn value(cell: Cell, _: Kind) -> Sql {
    bind::value(
        cell,
        |v| match i64::try_from(v) {
            Ok(i) => Sql::BigInt(Some(i)),
            Err(_) => Sql::Double(Some(v as f64)),
        },
        |_, text| Sql::String(Some(text)),
    )
}
