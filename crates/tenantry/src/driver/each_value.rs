//! For the drivers that bind each value (SQLite, MariaDB / MySQL): imported rows, each value
//! checked and typed by its column, bound in multi-row `INSERT`s; and JSON text written back
//! as JSON.

use chrono::NaiveDateTime;
use sea_query::{Expr, InsertStatement, Query, Value as Sql};

use crate::{
    driver::{Driver, query},
    export::{
        ExportError,
        encode::{put_json, put_str},
        import::{
            Feed,
            check::{Cell, Kind},
        },
    },
};

/// Inserts `batch` into the feed's table on `conn` in one multi-row `INSERT`, each checked
/// cell bound as `value` makes it for its column's kind; how many rows went in.
pub(crate) async fn insert_batch<D: Driver>(
    conn: &mut D::Connection,
    feed: &Feed<'_>,
    batch: Vec<Vec<Cell>>,
    value: fn(Cell, Kind) -> Sql,
) -> Result<u64, ExportError> {
    let (sql, values) = D::build(&insert(feed, batch, value)?);
    let done = query::<D, _>(sql, values).execute(D::on_conn(conn)).await?;
    Ok(D::rows_affected(&done))
}

/// One multi-row `INSERT` of `rows` into the feed's table, each cell bound as `value` makes it.
fn insert(
    feed: &Feed<'_>,
    rows: Vec<Vec<Cell>>,
    value: fn(Cell, Kind) -> Sql,
) -> Result<InsertStatement, ExportError> {
    let mut insert = Query::insert();
    insert
        .into_table(feed.info.name.iden())
        .columns(feed.targets.iter().map(|(_, c)| c.name.iden()));
    for row in rows {
        insert
            .values(
                row.into_iter()
                    .zip(&feed.kinds)
                    .map(|(c, k)| Expr::val(value(c, *k))),
            )
            .map_err(|e| ExportError::Unsupported(e.to_string()))?;
    }
    Ok(insert)
}

/// A cell as sea-query binds it; `u64` beyond `i64` (`big`) and timestamps (`at`: the instant
/// in UTC and the text it came as) are for the driver to say.
pub(crate) fn value(
    cell: Cell,
    big: impl FnOnce(u64) -> Sql,
    at: impl FnOnce(NaiveDateTime, String) -> Sql,
) -> Sql {
    match cell {
        Cell::Null => Sql::String(None),
        Cell::Bool(v) => Sql::Bool(Some(v)),
        Cell::I64(v) => Sql::BigInt(Some(v)),
        Cell::U64(v) => big(v),
        Cell::F64(v) => Sql::Double(Some(v)),
        Cell::Text(v) | Cell::Json(v) => Sql::String(Some(v)),
        Cell::Bytes(v) => Sql::Bytes(Some(v)),
        Cell::At(utc, text) => at(utc, text),
    }
}

/// Text that should be JSON: itself when it parses (see [`put_json`]), else as a string.
pub(crate) fn put_json_text(buf: &mut Vec<u8>, s: &str) {
    match serde_json::from_str::<&serde_json::value::RawValue>(s) {
        Ok(raw) => put_json(buf, raw.get()),
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
        assert_eq!(s("null"), r#"{"$json":null}"#);
        assert_eq!(s(r#"{"$json": 1}"#), r#"{"$json":{"$json": 1}}"#);
    }
}
