//! Rows to JSON, streamed: one `SELECT` per table whose rows are written as they arrive. The
//! loop, the framing and the value writers are here, once; each driver says how its column
//! types map to an [`Enc`] and writes the cells only it has (`driver/<backend>/encode.rs`).

use std::io::Write;

use base64::Engine as _;
use futures_util::TryStreamExt;
use sea_query::{Expr, Query};
use sqlx::{ColumnIndex, Database, Decode, Pool, ValueRef as _};

use super::import::check::{JSON_WRAPPER, needs_wrapper};
use super::{
    ExportError, ExportRequest, Format, REPORT_EVERY, Reporter, TableExport,
    schema::{ColumnInfo, TableInfo},
};
use crate::driver::{Driver, query};

/// How one column's values become JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Enc {
    Bool,
    I16,
    I32,
    I64,
    U64,
    F32,
    F64,
    /// Text (and anything the database printed as text for us).
    Text,
    /// Text that holds JSON (MariaDB's `JSON`): the JSON itself when it parses.
    JsonText,
    Json,
    Uuid,
    Bytes,
    Timestamptz,
    Timestamp,
    Date,
    Time,
    /// MariaDB `TIME`: a duration, possibly negative or over 24 hours.
    MySqlTime,
    /// MariaDB `YEAR`.
    Year,
    /// SQLite: by the value's storage class; `boolean`/`json`/`bytes` from the declared type.
    Dynamic {
        boolean: bool,
        json: bool,
        /// Declared `BLOB`: bytes, also when a value was stored as text.
        bytes: bool,
        /// Declared `TIMESTAMP` / `DATETIME`: RFC 3339 text written in the common form.
        timestamp: bool,
    },
    /// Always null (a `NULL` literal column).
    Null,
}

/// How an export writes its rows: an encoding and the `"name":` key of each column.
#[derive(Debug)]
pub struct Plan {
    pub(crate) encs: Vec<Enc>,
    pub(crate) keys: Vec<Vec<u8>>,
}

/// Frames rows as a JSON array (one row per line) or NDJSON, counting rows and bytes.
struct Sink<W: Write> {
    out: W,
    format: Format,
    rows: u64,
    bytes: u64,
}

impl<W: Write> Sink<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), ExportError> {
        self.out
            .write_all(bytes)
            .map_err(ExportError::io("cannot write the export"))?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    fn row(&mut self, row: &[u8]) -> Result<(), ExportError> {
        match self.format {
            Format::Json => self.put(if self.rows == 0 { b"[\n" } else { b",\n" })?,
            Format::Ndjson if self.rows > 0 => self.put(b"\n")?,
            Format::Ndjson => {}
        }
        self.put(row)?;
        self.rows += 1;
        Ok(())
    }

    fn end(mut self) -> Result<(u64, u64), ExportError> {
        match (self.format, self.rows) {
            (Format::Json, 0) => self.put(b"[]\n")?,
            (Format::Json, _) => self.put(b"\n]\n")?,
            (Format::Ndjson, 0) => {}
            (Format::Ndjson, _) => self.put(b"\n")?,
        }
        self.out
            .flush()
            .map_err(ExportError::io("cannot write the export"))?;
        Ok((self.rows, self.bytes))
    }
}

/// `"name":` for each column, ready to copy.
fn keys<'a>(names: impl Iterator<Item = &'a str>) -> Vec<Vec<u8>> {
    names
        .map(|n| {
            let mut k = serde_json::to_vec(n).expect("a string serializes");
            k.push(b':');
            k
        })
        .collect()
}

/// The `SELECT` for `req`: every column (as the driver reads it), the tenant compared exactly,
/// ordered by primary key (SQLite rowid tables by `rowid`), and the limit.
fn select<D: Driver>(
    table: &TableInfo,
    field: &ColumnInfo,
    req: &ExportRequest,
) -> Result<sea_query::SelectStatement, ExportError> {
    let mut stmt = Query::select();
    for c in &table.columns {
        stmt.expr_as(D::export_column(c), c.name.iden());
    }
    stmt.from(table.name.iden());
    stmt.and_where(D::export_tenant(field, &req.tenant)?);
    for c in &table.primary_key {
        stmt.order_by(c.iden(), sea_query::Order::Asc);
    }
    if table.primary_key.is_empty() && table.rowid {
        stmt.order_by_expr(Expr::cust("rowid"), sea_query::Order::Asc);
    }
    if let Some(n) = req.limit {
        // Bound as a signed 64-bit integer on every backend.
        stmt.limit(n.min(i64::MAX as u64));
    }
    Ok(stmt)
}

/// `field = tenant`, and when the column does not compare exactly by itself, `exact` (custom SQL
/// whose two placeholders are the column and the tenant) as well: the index narrows, then the
/// exact comparison decides, so that tenant `ACME` never exports `acme`'s rows.
pub(crate) fn tenant_eq(
    field: &ColumnInfo,
    tenant: sea_query::SimpleExpr,
    exact: &'static str,
) -> sea_query::SimpleExpr {
    use sea_query::ExprTrait as _;
    let col = Expr::col(field.name.iden());
    let eq = col.clone().eq(tenant.clone());
    if field.exact {
        eq
    } else {
        eq.and(Expr::cust_with_exprs(exact, [col, tenant]))
    }
}

pub(super) async fn export<D: Driver, W: Write>(
    pool: &Pool<D>,
    table: &TableInfo,
    field: &ColumnInfo,
    req: &ExportRequest,
    out: W,
    reporter: &dyn Reporter,
) -> Result<TableExport, ExportError> {
    let (sql, values) = D::build(&select::<D>(table, field, req)?);
    let mut sink = Sink {
        out,
        format: req.format,
        rows: 0,
        bytes: 0,
    };
    reporter.start(table.name.as_str());
    let mut rows = query::<D, _>(sql, values).fetch(D::on_pool(pool));
    let mut plan: Option<Plan> = None;
    let mut buf = Vec::with_capacity(512);
    while let Some(row) = rows.try_next().await? {
        let plan = match &plan {
            Some(p) => p,
            None => plan.insert(Plan {
                encs: D::export_plan(&row, table)?,
                keys: keys(table.columns.iter().map(|c| c.name.as_str())),
            }),
        };
        buf.clear();
        D::write_row(&row, plan, &mut buf)?;
        sink.row(&buf)?;
        if sink.rows.is_multiple_of(REPORT_EVERY) {
            reporter.rows(sink.rows);
            // Rows may arrive without ever making this task wait (SQLite's worker fills a
            // channel ahead): give the runtime a turn, so a caller racing this future against a
            // signal or a timeout gets to see it.
            tokio::task::yield_now().await;
        }
    }
    drop(rows);
    let (rows, bytes) = sink.end()?;
    reporter.finish(table.name.as_str(), rows);
    Ok(TableExport {
        table: table.name.to_string(),
        rows,
        bytes,
        order_by: if table.primary_key.is_empty() && table.rowid {
            vec!["rowid".to_owned()]
        } else {
            table.primary_key.iter().map(ToString::to_string).collect()
        },
    })
}

/// Writes `row` as a JSON object with `plan`, each non-null cell by `cell` (the driver's own
/// encodings first, then [`common_cell`]), given the row and the column's index.
pub(crate) fn write_row<R>(
    row: &R,
    plan: &Plan,
    buf: &mut Vec<u8>,
    cell: fn(&R, usize, Enc, &mut Vec<u8>) -> Result<(), ExportError>,
) -> Result<(), ExportError>
where
    R: sqlx::Row,
    usize: ColumnIndex<R>,
{
    buf.push(b'{');
    for (i, (enc, key)) in plan.encs.iter().zip(&plan.keys).enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        buf.extend_from_slice(key);
        if row.try_get_raw(i)?.is_null() {
            buf.extend_from_slice(b"null");
            continue;
        }
        cell(row, i, *enc, buf)?;
    }
    buf.push(b'}');
    Ok(())
}

/// The value of a column whose type was read from its `TypeInfo`: decoded without checking it
/// again.
pub(crate) fn dec<'r, DB: Database, T: Decode<'r, DB>>(
    raw: DB::ValueRef<'r>,
    i: usize,
) -> Result<T, ExportError> {
    T::decode(raw).map_err(|source| {
        sqlx::Error::ColumnDecode {
            index: i.to_string(),
            source,
        }
        .into()
    })
}

// --- value writers -------------------------------------------------------------------------

pub(crate) fn put_str(buf: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *buf, s).expect("writing to a Vec cannot fail");
}

pub(crate) fn put_num(buf: &mut Vec<u8>, v: impl serde::Serialize) {
    serde_json::to_writer(&mut *buf, &v).expect("writing to a Vec cannot fail");
}

pub(crate) fn put_bool(buf: &mut Vec<u8>, v: bool) {
    buf.extend_from_slice(if v { b"true" } else { b"false" });
}

/// Floats as numbers; JSON has no NaN or infinities, so those are the strings every backend's
/// float input accepts.
pub(crate) fn put_f64(buf: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        put_num(buf, v);
    } else {
        put_str(buf, non_finite(v));
    }
}

pub(crate) fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// The JSON a JSON column holds, exactly as stored (key order and spacing kept). A JSON `null`
/// is written `{"$json":null}` (a bare `null` is SQL `NULL`), and an object whose only key is
/// `$json` is wrapped the same way, so that import gives each back as it was.
pub(crate) fn put_json(buf: &mut Vec<u8>, raw: &str) {
    if needs_wrapper(raw) {
        buf.extend_from_slice(b"{\"");
        buf.extend_from_slice(JSON_WRAPPER.as_bytes());
        buf.extend_from_slice(b"\":");
        buf.extend_from_slice(raw.as_bytes());
        buf.push(b'}');
    } else {
        buf.extend_from_slice(raw.as_bytes());
    }
}

pub(crate) fn put_bytes(buf: &mut Vec<u8>, v: &[u8]) {
    buf.push(b'"');
    let start = buf.len();
    buf.resize(start + base64::encoded_len(v.len(), true).unwrap_or(0), 0);
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(v, &mut buf[start..])
        .expect("sized above");
    buf.truncate(start + n);
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing() {
        for (format, rows, want) in [
            (Format::Json, 0, "[]\n"),
            (Format::Json, 2, "[\n{},\n{}\n]\n"),
            (Format::Ndjson, 0, ""),
            (Format::Ndjson, 2, "{}\n{}\n"),
        ] {
            let mut out = Vec::new();
            let mut sink = Sink {
                out: &mut out,
                format,
                rows: 0,
                bytes: 0,
            };
            for _ in 0..rows {
                sink.row(b"{}").unwrap();
            }
            let (n, bytes) = sink.end().unwrap();
            assert_eq!((n, bytes as usize), (rows, want.len()));
            assert_eq!(String::from_utf8(out).unwrap(), want, "{format:?}");
        }
    }
}
