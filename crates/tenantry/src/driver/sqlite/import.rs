//! Imported rows into SQLite: multi-row `INSERT`s, each value typed by the declared type.

use sea_query::Value as Sql;
use serde_json::{Map, Value};
use sqlx::{Sqlite, SqliteConnection};

use crate::{
    driver::each_value::{self as bind, Bind},
    driver::{query, sealed::Sealed},
    export::{ExportError, import::Feed, schema::ColumnInfo},
};

/// Rows per `INSERT`, within SQLite's limit of 32,766 bound parameters.
pub(super) fn batch(width: usize) -> usize {
    (30_000 / width.max(1)).clamp(1, 1000)
}

/// SQLite's declared types are free text: read by affinity-like substrings.
fn kind(c: &ColumnInfo) -> Bind {
    let t = c.type_name.as_str();
    match t {
        _ if t.contains("bool") => Bind::Bool,
        _ if t.contains("blob") => Bind::Bytes,
        "json" | "jsonb" => Bind::JsonText,
        _ if t.contains("real") || t.contains("floa") || t.contains("doub") => Bind::Float,
        _ => Bind::Auto,
    }
}

/// SQLite has no unsigned 64-bit integers: beyond `i64` they go as floats.
fn value(cell: bind::Cell) -> Sql {
    bind::value(cell, |v| match i64::try_from(v) {
        Ok(i) => Sql::BigInt(Some(i)),
        Err(_) => Sql::Double(Some(v as f64)),
    })
}

pub(super) async fn insert(
    conn: &mut SqliteConnection,
    feed: &Feed<'_>,
    batch: Vec<Map<String, Value>>,
) -> Result<u64, ExportError> {
    let rows = bind::cells(feed, batch, kind)?;
    let (sql, values) = Sqlite::build(&bind::insert(feed, rows, value)?);
    let done = query::<Sqlite, _>(sql, values)
        .execute(Sqlite::on_conn(conn))
        .await?;
    Ok(done.rows_affected())
}
