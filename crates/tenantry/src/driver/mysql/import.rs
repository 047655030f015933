//! Imported rows into MariaDB / MySQL: multi-row `INSERT`s, each value checked and typed by
//! the column.

use sea_query::Value as Sql;
use sqlx::{MySql, MySqlConnection};

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

impl ImportRows for MySql {
    /// Rows per `INSERT`, well within the 65,535 bound parameters a statement may have.
    fn import_batch(width: usize) -> usize {
        (30_000 / width.max(1)).clamp(1, 1000)
    }

    fn import_kind(c: &ColumnInfo) -> Kind {
        let t = c.type_name.as_str();
        match t {
            _ if c.json_text || t == "json" => Kind::Json,
            "tinyint" if c.column_type.starts_with("tinyint(1)") => Kind::Bool,
            "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "bigint" => Kind::Int,
            "float" | "double" | "real" => Kind::Float,
            "decimal" | "numeric" => Kind::Decimal,
            "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" => Kind::Text,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit"
            | "geometry" => Kind::Bytes,
            "uuid" => Kind::Uuid,
            "timestamp" => Kind::Timestamptz,
            "datetime" => Kind::Timestamp,
            "date" => Kind::Date,
            // TIME is a duration (`-838:59:59`), YEAR, ENUM and SET are checked by the server.
            _ => Kind::Any,
        }
    }

    async fn insert_rows(
        conn: &mut MySqlConnection,
        feed: &mut Feed<'_>,
        reporter: &dyn Reporter,
    ) -> Result<u64, ExportError> {
        batched::<MySql>(conn, feed, reporter).await
    }

    async fn insert_batch(
        conn: &mut MySqlConnection,
        feed: &Feed<'_>,
        batch: Vec<Vec<Cell>>,
    ) -> Result<u64, ExportError> {
        bind::insert_batch::<MySql>(conn, feed, batch, value).await
    }
}

/// Timestamps as the instant in UTC: `TIMESTAMP` as one (the session's zone is UTC),
/// `DATETIME` as its UTC wall-clock time (which is how the export reads it back).
fn value(cell: Cell, kind: Kind) -> Sql {
    bind::value(
        cell,
        |v| Sql::BigUnsigned(Some(v)),
        |utc, _| match kind {
            Kind::Timestamptz => Sql::ChronoDateTimeUtc(Some(utc.and_utc())),
            _ => Sql::ChronoDateTime(Some(utc)),
        },
    )
}
