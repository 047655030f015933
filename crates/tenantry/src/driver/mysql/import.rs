//! Imported rows into MariaDB / MySQL: multi-row `INSERT`s, each value typed by the column.

use sea_query::Value as Sql;
use serde_json::{Map, Value};
use sqlx::{MySql, MySqlConnection};

use crate::{
    driver::each_value::{self as bind, Bind},
    driver::sealed::ImportRows,
    export::{ExportError, import::Feed, schema::ColumnInfo},
};

impl ImportRows for MySql {
    /// Rows per `INSERT`, well within the 65,535 bound parameters a statement may have.
    fn import_batch(width: usize) -> usize {
        (30_000 / width.max(1)).clamp(1, 1000)
    }

    async fn insert_batch(
        conn: &mut MySqlConnection,
        feed: &Feed<'_>,
        batch: Vec<Map<String, Value>>,
    ) -> Result<u64, ExportError> {
        bind::insert_batch::<MySql>(conn, feed, batch, kind, value).await
    }
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
