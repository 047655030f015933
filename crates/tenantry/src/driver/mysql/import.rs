//! Imported rows into MariaDB / MySQL: multi-row `INSERT`s, each value typed by the column.

use sea_query::Value as Sql;
use serde_json::{Map, Value};
use sqlx::{MySql, MySqlConnection};

use crate::{
    driver::each_value::{self as bind, Bind},
    driver::{query, sealed::Sealed},
    export::{ExportError, import::Feed, schema::ColumnInfo},
};

/// Rows per `INSERT`, well within the 65,535 bound parameters a statement may have.
pub(super) fn batch(width: usize) -> usize {
    (30_000 / width.max(1)).clamp(1, 1000)
}

fn kind(c: &ColumnInfo) -> Bind {
    let t = c.type_name.as_str();
    match t {
        _ if c.json_text || t == "json" => Bind::JsonText,
        "tinyint" if c.column_type.starts_with("tinyint(1)") => Bind::Bool,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit"
        | "geometry" => Bind::Bytes,
        "float" | "double" | "real" => Bind::Float,
        "timestamp" => Bind::Timestamptz,
        "datetime" => Bind::Timestamp,
        _ => Bind::Auto,
    }
}

fn value(cell: bind::Cell) -> Sql {
    bind::value(cell, |v| Sql::BigUnsigned(Some(v)))
}

pub(super) async fn insert(
    conn: &mut MySqlConnection,
    feed: &Feed<'_>,
    batch: Vec<Map<String, Value>>,
) -> Result<u64, ExportError> {
    let rows = bind::cells(feed, batch, kind)?;
    let (sql, values) = MySql::build(&bind::insert(feed, rows, value)?);
    let done = query::<MySql, _>(sql, values)
        .execute(MySql::on_conn(conn))
        .await?;
    Ok(done.rows_affected())
}
