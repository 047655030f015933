//! Imported rows into SQLite: multi-row `INSERT`s, each value typed by the declared type.

use sea_query::Value as Sql;
use serde_json::{Map, Value};
use sqlx::{Sqlite, SqliteConnection};

use crate::{
    driver::each_value::{self as bind, Bind},
    driver::sealed::ImportRows,
    export::{ExportError, import::Feed, schema::ColumnInfo},
};

impl ImportRows for Sqlite {
    /// Rows per `INSERT`, within SQLite's limit of 32,766 bound parameters.
    fn import_batch(width: usize) -> usize {
        (30_000 / width.max(1)).clamp(1, 1000)
    }

    async fn insert_batch(
        conn: &mut SqliteConnection,
        feed: &Feed<'_>,
        batch: Vec<Map<String, Value>>,
    ) -> Result<u64, ExportError> {
        bind::insert_batch::<Sqlite>(conn, feed, batch, kind, value).await
    }
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
