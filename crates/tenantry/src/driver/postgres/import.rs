//! Imported rows into PostgreSQL with `COPY ... FROM STDIN`, the server's own bulk path:
//! every value checked against its column first (as on every backend), then written in
//! `COPY`'s text format, each value in the form its column type's input function reads
//! (numeric from its exact text, timestamps from RFC 3339, bytes as `bytea` hex, JSON as its
//! exact text, arrays, intervals and enums from their text form), streamed batch by batch
//! inside the import's transaction. A value the feed refuses midway aborts the `COPY`; one
//! the server refuses fails it; either way nothing is written.
//!
//! Where `COPY` cannot be used (row-level security applies to the importing role: PostgreSQL
//! refuses `COPY FROM` then), each batch is one `jsonb` array turned into rows by
//! `jsonb_populate_record`, with the same conversions.

use chrono::SecondsFormat;
use sea_query::Value as Sql;
use sea_query_sqlx::SqlxValues;
use serde_json::{Map, Value};
use sqlx::{PgConnection, Postgres};

use crate::{
    driver::{SqlText, query, sealed::ImportRows, sealed::Sealed},
    export::{
        ExportError, Reporter,
        encode::non_finite,
        import::{
            Feed, batched,
            check::{Cell, Kind},
        },
        schema::{ColumnInfo, Generated},
    },
};

/// Rows per `COPY` data message (a few hundred KiB for typical rows).
const COPY_BATCH: usize = 2000;

impl ImportRows for Postgres {
    fn import_batch(_width: usize) -> usize {
        1000
    }

    fn import_kind(c: &ColumnInfo) -> Kind {
        match c.type_name.as_str() {
            "bool" => Kind::Bool,
            "int2" | "int4" | "int8" => Kind::Int,
            "float4" | "float8" => Kind::Float,
            "numeric" => Kind::Decimal,
            "text" | "varchar" | "bpchar" | "name" => Kind::Text,
            "bytea" => Kind::Bytes,
            "json" | "jsonb" => Kind::Json,
            "uuid" => Kind::Uuid,
            "timestamptz" => Kind::Timestamptz,
            "timestamp" => Kind::Timestamp,
            "date" => Kind::Date,
            "time" => Kind::Time,
            // Arrays, intervals, enums, domains, ...: their input functions check them.
            _ => Kind::Any,
        }
    }

    async fn insert_rows(
        conn: &mut PgConnection,
        feed: &mut Feed<'_>,
        reporter: &dyn Reporter,
    ) -> Result<u64, ExportError> {
        let rls: bool = sqlx::query_scalar("SELECT row_security_active(to_regclass($1))")
            .bind(Postgres::quote(&feed.info.name))
            .fetch_one(&mut *conn)
            .await?;
        if rls {
            return batched::<Postgres>(conn, feed, reporter).await;
        }
        copy(conn, feed, reporter).await
    }

    async fn insert_batch(
        conn: &mut PgConnection,
        feed: &Feed<'_>,
        batch: Vec<Vec<Cell>>,
    ) -> Result<u64, ExportError> {
        let mut rows = Vec::with_capacity(batch.len());
        for row in batch {
            let mut element = Map::new();
            for (cell, ((_, col), kind)) in
                row.into_iter().zip(feed.targets.iter().zip(&feed.kinds))
            {
                element.insert(col.name.to_string(), json(cell, *kind));
            }
            rows.push(Value::Object(element));
        }
        let always = feed
            .targets
            .iter()
            .any(|(_, c)| c.generated == Generated::Id { always: true });
        let mut sql = SqlText::<Postgres>::new("INSERT INTO ")
            .ident(&feed.info.name)
            .push(" (")
            .idents(feed.targets.iter().map(|(_, c)| &c.name))
            .push(") ")
            .push(if always {
                "OVERRIDING SYSTEM VALUE "
            } else {
                ""
            })
            .push("SELECT ");
        let mut values = vec![Sql::Json(Some(Box::new(Value::Array(rows))))];
        for (i, ((_, c), kind)) in feed.targets.iter().zip(&feed.kinds).enumerate() {
            if i > 0 {
                sql = sql.push(", ");
            }
            if *kind == Kind::Json {
                // The exact text, from the element's string (`->>`: SQL NULL for null).
                values.push(c.name.as_str().into());
                sql = sql.push("CAST(e.value ->> ").param(values.len()).push(
                    if c.type_name == "json" {
                        " AS json)"
                    } else {
                        " AS jsonb)"
                    },
                );
            } else {
                sql = sql.push("r.").ident(&c.name);
            }
        }
        let sql = sql
            .push(" FROM jsonb_array_elements($1) AS e, jsonb_populate_record(NULL::")
            .ident(&feed.info.name)
            .push(", e.value) AS r");
        let done = query::<Postgres, _>(sql.into_string(), SqlxValues(sea_query::Values(values)))
            .execute(Postgres::on_conn(conn))
            .await?;
        Ok(done.rows_affected())
    }

    /// After ids were inserted as they were, moves each id sequence past the largest id, so the
    /// next row the application inserts does not collide.
    async fn after_import(conn: &mut PgConnection, feed: &Feed<'_>) -> Result<(), ExportError> {
        for (_, c) in &feed.targets {
            if !matches!(c.generated, Generated::Id { .. }) {
                continue;
            }
            let sql = SqlText::<Postgres>::new(
                "SELECT setval(s, GREATEST(m, COALESCE(pg_sequence_last_value(s), 1))) \
                 FROM (SELECT pg_get_serial_sequence($1, $2)::regclass AS s, (SELECT max(",
            )
            .ident(&c.name)
            .push(") FROM ")
            .ident(&feed.info.name)
            .push(")::bigint AS m) AS x WHERE s IS NOT NULL AND m IS NOT NULL");
            let values = SqlxValues(sea_query::Values(vec![
                Postgres::quote(&feed.info.name).into(),
                c.name.as_str().into(),
            ]));
            query::<Postgres, _>(sql.into_string(), values)
                .execute(Postgres::on_conn(conn))
                .await?;
        }
        Ok(())
    }
}

/// Every row of `feed` through one `COPY ... FROM STDIN` (text format) on `conn`.
async fn copy(
    conn: &mut PgConnection,
    feed: &mut Feed<'_>,
    reporter: &dyn Reporter,
) -> Result<u64, ExportError> {
    // The first batch fixes the columns, which the statement names.
    let mut batch = feed.next_batch(COPY_BATCH)?;
    if batch.is_empty() {
        return Ok(0);
    }
    feed.has_columns()?;
    let sql = SqlText::<Postgres>::new("COPY ")
        .ident(&feed.info.name)
        .push(" (")
        .idents(feed.targets.iter().map(|(_, c)| &c.name))
        .push(") FROM STDIN");
    let mut copy = conn.copy_in_raw(&sql.into_string()).await?;
    let mut buf = Vec::with_capacity(256 * 1024);
    let mut sent = 0u64;
    loop {
        buf.clear();
        for row in batch {
            for (i, (cell, kind)) in row.into_iter().zip(&feed.kinds).enumerate() {
                if i > 0 {
                    buf.push(b'\t');
                }
                copy_text(cell, *kind, &mut buf);
            }
            buf.push(b'\n');
            sent += 1;
        }
        copy.send(buf.as_slice()).await?;
        reporter.rows(sent);
        batch = match feed.next_batch(COPY_BATCH) {
            Ok(b) if b.is_empty() => break,
            Ok(b) => b,
            Err(e) => {
                // The server answers an abort with an error, which rolls the transaction back.
                let _ = copy.abort("the import was refused").await;
                return Err(e);
            }
        };
    }
    Ok(copy.finish().await?)
}

/// A checked cell in `COPY`'s text format: `\N` for NULL, backslash, tab, newline and carriage
/// return escaped, each value as its column type's input function reads it.
fn copy_text(cell: Cell, kind: Kind, buf: &mut Vec<u8>) {
    use std::io::Write as _;
    match cell {
        Cell::Null => buf.extend_from_slice(b"\\N"),
        Cell::Bool(v) => buf.push(if v { b't' } else { b'f' }),
        Cell::I64(v) => {
            let _ = write!(buf, "{v}");
        }
        Cell::U64(v) => {
            let _ = write!(buf, "{v}");
        }
        // The shortest text that reads back as the same float, as the export writes it.
        Cell::F64(v) if v.is_finite() => {
            let _ = serde_json::to_writer(&mut *buf, &v);
        }
        Cell::F64(v) => buf.extend_from_slice(non_finite(v).as_bytes()),
        Cell::Text(v) | Cell::Json(v) => escaped(v.as_bytes(), buf),
        Cell::Bytes(v) => {
            // `\x` hex, its backslash escaped.
            const HEX: &[u8; 16] = b"0123456789abcdef";
            buf.reserve(3 + 2 * v.len());
            buf.extend_from_slice(b"\\\\x");
            for b in v {
                buf.push(HEX[usize::from(b >> 4)]);
                buf.push(HEX[usize::from(b & 15)]);
            }
        }
        // In UTC: `timestamp` input ignores an offset, so the zone-less one gets none.
        Cell::At(utc, _) => {
            let _ = match kind {
                Kind::Timestamptz => write!(
                    buf,
                    "{}",
                    utc.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true)
                ),
                _ => write!(buf, "{}", utc.format("%Y-%m-%dT%H:%M:%S%.f")),
            };
        }
    }
}

/// `text` with `COPY`'s text-format escapes.
fn escaped(text: &[u8], buf: &mut Vec<u8>) {
    let mut start = 0;
    for (i, b) in text.iter().enumerate() {
        let escape = match b {
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            _ => continue,
        };
        buf.extend_from_slice(&text[start..i]);
        buf.push(b'\\');
        buf.push(escape);
        start = i + 1;
    }
    buf.extend_from_slice(&text[start..]);
}

/// A checked cell as the element's JSON: what the column type's input function reads.
fn json(cell: Cell, kind: Kind) -> Value {
    match cell {
        Cell::Null => Value::Null,
        Cell::Bool(v) => Value::Bool(v),
        Cell::I64(v) => Value::from(v),
        Cell::U64(v) => Value::from(v),
        Cell::F64(v) if v.is_finite() => Value::from(v),
        Cell::F64(v) => Value::String(non_finite(v).to_owned()),
        Cell::Text(v) | Cell::Json(v) => Value::String(v),
        Cell::Bytes(v) => {
            let mut hex = String::with_capacity(2 + 2 * v.len());
            hex.push_str("\\x");
            for b in v {
                hex.push_str(&format!("{b:02x}"));
            }
            Value::String(hex)
        }
        // In UTC: `timestamp` input ignores an offset, so the zone-less one gets none.
        Cell::At(utc, _) => Value::String(match kind {
            Kind::Timestamptz => utc.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true),
            _ => utc.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cell: Cell, kind: Kind) -> String {
        let mut buf = Vec::new();
        copy_text(cell, kind, &mut buf);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn copy_text_escapes_and_spells_each_value() {
        assert_eq!(text(Cell::Null, Kind::Text), "\\N");
        assert_eq!(
            text(Cell::Text("a\tb\nc\\d\re".into()), Kind::Text),
            "a\\tb\\nc\\\\d\\re"
        );
        assert_eq!(text(Cell::Text("\\N".into()), Kind::Text), "\\\\N");
        assert_eq!(
            text(Cell::Bytes(vec![0, 255, 16]), Kind::Bytes),
            "\\\\x00ff10"
        );
        assert_eq!(text(Cell::F64(1e308), Kind::Float), "1e+308");
        assert_eq!(text(Cell::F64(0.1), Kind::Float), "0.1");
        assert_eq!(text(Cell::F64(f64::NEG_INFINITY), Kind::Float), "-Infinity");
        assert_eq!(text(Cell::U64(u64::MAX), Kind::Int), "18446744073709551615");
        assert_eq!(text(Cell::Bool(false), Kind::Bool), "f");
        let at = crate::export::import::check::timestamp("2024-05-06T09:08:09.5+02:00").unwrap();
        assert_eq!(
            text(Cell::At(at, String::new()), Kind::Timestamptz),
            "2024-05-06T07:08:09.500Z"
        );
        assert_eq!(
            text(Cell::At(at, String::new()), Kind::Timestamp),
            "2024-05-06T07:08:09.500"
        );
    }
}
