//! For the drivers that bind each value (SQLite, MariaDB / MySQL): imported JSON values typed
//! back by the column's declared type, and JSON text written back as JSON.

use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use sea_query::{Expr, InsertStatement, Query, Value as Sql};
use serde_json::{Map, Value};

use crate::{
    data::Ident,
    driver::{ColumnInfo, Driver, query},
    export::{ExportError, encode::put_str, import::Feed},
};

/// A value converted for its column, ready to bind.
pub(crate) enum Cell {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    Tz(DateTime<Utc>),
    Naive(NaiveDateTime),
}

/// How a column takes its values on SQLite and MariaDB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Bind {
    Bool,
    Bytes,
    JsonText,
    Float,
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    Timestamptz,
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    Timestamp,
    /// By the JSON value.
    Auto,
}

pub(crate) fn cell(kind: Bind, value: Value, column: &Ident) -> Result<Cell, ExportError> {
    Ok(match (kind, value) {
        (_, Value::Null) => Cell::Null,
        (Bind::JsonText, v) => Cell::Text(v.to_string()),
        (Bind::Bool, Value::Bool(b)) => Cell::Bool(b),
        (Bind::Bool, Value::Number(n)) => Cell::Bool(n.as_f64().is_some_and(|f| f != 0.0)),
        (Bind::Bytes, Value::String(s)) => Cell::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| ExportError::Input(format!("column `{column}`: not base64: {e}")))?,
        ),
        (Bind::Float, Value::String(s)) => match s.as_str() {
            "NaN" => Cell::F64(f64::NAN),
            "Infinity" => Cell::F64(f64::INFINITY),
            "-Infinity" => Cell::F64(f64::NEG_INFINITY),
            _ => Cell::Text(s),
        },
        (Bind::Timestamptz, Value::String(s)) => match DateTime::parse_from_rfc3339(&s) {
            Ok(at) => Cell::Tz(at.with_timezone(&Utc)),
            Err(_) => Cell::Text(s),
        },
        (Bind::Timestamp, Value::String(s)) => {
            match NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f") {
                Ok(at) => Cell::Naive(at),
                Err(_) => Cell::Text(s),
            }
        }
        (_, Value::Bool(b)) => Cell::Bool(b),
        (_, Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Cell::I64(i)
            } else if let Some(u) = n.as_u64() {
                Cell::U64(u)
            } else {
                Cell::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        (_, Value::String(s)) => Cell::Text(s),
        (_, v @ (Value::Array(_) | Value::Object(_))) => Cell::Text(v.to_string()),
    })
}

/// The batch's rows as cells, column by column in `feed.targets` order, each typed by `kind`.
fn cells(
    feed: &Feed<'_>,
    batch: Vec<Map<String, Value>>,
    kind: fn(&ColumnInfo) -> Bind,
) -> Result<Vec<Vec<Cell>>, ExportError> {
    let kinds: Vec<Bind> = feed.targets.iter().map(|(_, c)| kind(c)).collect();
    batch
        .into_iter()
        .map(|mut row| {
            feed.targets
                .iter()
                .zip(&kinds)
                .map(|((key, col), kind)| {
                    cell(*kind, row.remove(key).unwrap_or(Value::Null), &col.name)
                })
                .collect()
        })
        .collect()
}

/// Inserts `batch` into the feed's table on `conn` in one multi-row `INSERT`, each value typed
/// by `kind` and bound as `value` makes it; how many rows went in.
pub(crate) async fn insert_batch<D: Driver>(
    conn: &mut D::Connection,
    feed: &Feed<'_>,
    batch: Vec<Map<String, Value>>,
    kind: fn(&ColumnInfo) -> Bind,
    value: fn(Cell) -> Sql,
) -> Result<u64, ExportError> {
    let rows = cells(feed, batch, kind)?;
    let (sql, values) = D::build(&insert(feed, rows, value)?);
    let done = query::<D, _>(sql, values).execute(D::on_conn(conn)).await?;
    Ok(D::rows_affected(&done))
}

/// One multi-row `INSERT` of `rows` into the feed's table, each cell bound as `value` makes it.
fn insert(
    feed: &Feed<'_>,
    rows: Vec<Vec<Cell>>,
    value: fn(Cell) -> Sql,
) -> Result<InsertStatement, ExportError> {
    let mut insert = Query::insert();
    insert
        .into_table(feed.info.name.iden())
        .columns(feed.targets.iter().map(|(_, c)| c.name.iden()));
    for row in rows {
        insert
            .values(row.into_iter().map(|c| Expr::val(value(c))))
            .map_err(|e| ExportError::Unsupported(e.to_string()))?;
    }
    Ok(insert)
}

/// A cell as sea-query binds it; `u64` beyond `i64` is for the driver to say.
pub(crate) fn value(cell: Cell, big: fn(u64) -> Sql) -> Sql {
    match cell {
        Cell::Null => Sql::String(None),
        Cell::Bool(v) => Sql::Bool(Some(v)),
        Cell::I64(v) => Sql::BigInt(Some(v)),
        Cell::U64(v) => big(v),
        Cell::F64(v) => Sql::Double(Some(v)),
        Cell::Text(v) => Sql::String(Some(v)),
        Cell::Bytes(v) => Sql::Bytes(Some(v)),
        Cell::Tz(v) => Sql::ChronoDateTimeUtc(Some(v)),
        Cell::Naive(v) => Sql::ChronoDateTime(Some(v)),
    }
}

/// Text that should be JSON: itself when it parses, else as a string.
pub(crate) fn put_json_text(buf: &mut Vec<u8>, s: &str) {
    match serde_json::from_str::<&serde_json::value::RawValue>(s) {
        Ok(raw) => buf.extend_from_slice(raw.get().as_bytes()),
        Err(_) => put_str(buf, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_text_is_written_as_json_when_it_parses() {
        let s = |text: &str| {
            let mut buf = Vec::new();
            put_json_text(&mut buf, text);
            String::from_utf8(buf).unwrap()
        };
        assert_eq!(s(r#"{"a": [1]}"#), r#"{"a": [1]}"#);
        assert_eq!(s("not json"), "\"not json\"");
    }
}
