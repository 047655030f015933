//! Rows to JSON, streamed: one `SELECT` per table whose rows are written as they arrive, each
//! value encoded by its column's type name (`TypeInfo::name()`) on that backend.

// Some helpers serve only some backends: a build with one backend leaves the others unused.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_imports, unused_variables)
)]

use std::io::Write;

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use futures_util::{TryStreamExt, stream::BoxStream};

use super::{
    ExportError, ExportRequest, Format, REPORT_EVERY, Reporter, TableExport,
    schema::{ColumnInfo, Conn, TableInfo},
    sql::{param, q, safe},
};
use crate::data::{Backend, Ident};

/// How one column's values become JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enc {
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
    /// SQLite: by the value's storage class; `boolean`/`json` from the declared type.
    Dynamic {
        boolean: bool,
        json: bool,
    },
    /// Always null (a `NULL` literal column).
    Null,
}

/// PostgreSQL types read in their binary form; every other type (numeric, arrays, intervals,
/// enums, domains, ...) is selected as `::text`.
#[cfg(feature = "postgres")]
const PG_NATIVE: &[&str] = &[
    "bool",
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "text",
    "varchar",
    "bpchar",
    "name",
    "uuid",
    "json",
    "jsonb",
    "bytea",
    "timestamptz",
    "timestamp",
    "date",
    "time",
];

fn enc_for(
    backend: Backend,
    type_name: &str,
    column: Option<&ColumnInfo>,
) -> Result<Enc, ExportError> {
    use Enc::*;
    let unsupported = || {
        ExportError::Unsupported(format!(
            "column `{}` has type {type_name}, which tenantry cannot export",
            column.map_or("?", |c| c.name.as_str())
        ))
    };
    Ok(match backend {
        Backend::Postgres => match type_name {
            "BOOL" => Bool,
            "INT2" => I16,
            "INT4" => I32,
            "INT8" => I64,
            "FLOAT4" => F32,
            "FLOAT8" => F64,
            "TEXT" | "VARCHAR" | "CHAR" | "NAME" => Text,
            "UUID" => Uuid,
            "JSON" | "JSONB" => Json,
            "BYTEA" => Bytes,
            "TIMESTAMPTZ" => Timestamptz,
            "TIMESTAMP" => Timestamp,
            "DATE" => Date,
            "TIME" => Time,
            _ => return Err(unsupported()),
        },
        Backend::MySql => match type_name {
            _ if column.is_some_and(|c| c.json_text) => JsonText,
            "BOOLEAN" => Bool,
            "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" => I64,
            "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "INT UNSIGNED" | "MEDIUMINT UNSIGNED"
            | "BIGINT UNSIGNED" => U64,
            "FLOAT" => F32,
            "DOUBLE" => F64,
            // DECIMAL travels as its exact decimal text, as do the character types.
            "DECIMAL" | "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT"
            | "ENUM" | "SET" => Text,
            "JSON" => Json,
            "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BIT"
            | "GEOMETRY" => Bytes,
            "TIMESTAMP" => Timestamptz,
            "DATETIME" => Timestamp,
            "DATE" => Date,
            "TIME" => MySqlTime,
            "YEAR" => Year,
            "NULL" => Null,
            _ => return Err(unsupported()),
        },
        Backend::Sqlite => {
            let decl = column.map_or("", |c| c.type_name.as_str());
            Dynamic {
                boolean: decl.contains("bool"),
                json: decl == "json" || decl == "jsonb",
            }
        }
    })
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

/// Streams `rows` into `sink`, encoding each with `encode`.
async fn pump<R, W: Write>(
    mut rows: BoxStream<'_, Result<R, sqlx::Error>>,
    sink: &mut Sink<W>,
    reporter: &dyn Reporter,
    mut encode: impl FnMut(&R, &mut Vec<u8>) -> Result<(), ExportError>,
) -> Result<(), ExportError> {
    let mut buf = Vec::with_capacity(512);
    while let Some(row) = rows.try_next().await? {
        buf.clear();
        encode(&row, &mut buf)?;
        sink.row(&buf)?;
        if sink.rows.is_multiple_of(REPORT_EVERY) {
            reporter.rows(sink.rows);
            // Rows may arrive without ever making this task wait (SQLite's worker fills a
            // channel ahead): give the runtime a turn, so a caller racing this future against a
            // signal or a timeout gets to see it.
            tokio::task::yield_now().await;
        }
    }
    Ok(())
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

/// The `SELECT` for `req`: every column (PostgreSQL types without a binary decoder as text),
/// the tenant filter as parameter 1, the order, and the limit as parameter 2.
fn select(table: &TableInfo, field: &ColumnInfo, req: &ExportRequest, tenant_cmp: &str) -> String {
    let b = table.backend;
    let cols: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let name = q(b, &c.name);
            #[cfg(feature = "postgres")]
            if b == Backend::Postgres && !PG_NATIVE.contains(&c.type_name.as_str()) {
                return format!("{name}::text AS {name}");
            }
            name
        })
        .collect();
    let mut sql = format!(
        "SELECT {} FROM {} WHERE {} = {tenant_cmp}",
        cols.join(", "),
        q(b, &table.name),
        q(b, &field.name),
    );
    if !field.exact {
        // The column compares without case (or padding): narrow with the index, then compare
        // exactly, so that tenant `ACME` never exports `acme`'s rows.
        let f = q(b, &field.name);
        match b {
            Backend::Sqlite => sql.push_str(&format!(" AND {f} = {tenant_cmp} COLLATE BINARY")),
            Backend::Postgres => sql.push_str(&format!(
                " AND CAST({f} AS text) COLLATE \"C\" = CAST($1 AS text) COLLATE \"C\""
            )),
            // Bound a second time (MySQL placeholders are positional).
            Backend::MySql => {
                sql.push_str(&format!(" AND CAST({f} AS BINARY) = CAST(? AS BINARY)"))
            }
        }
    }
    let order = order_by(table);
    if !order.is_empty() {
        let cols: Vec<String> = order.iter().map(|c| q(b, c)).collect();
        sql.push_str(" ORDER BY ");
        sql.push_str(&cols.join(", "));
    } else if table.rowid {
        sql.push_str(" ORDER BY rowid");
    }
    if req.limit.is_some() {
        sql.push_str(" LIMIT ");
        sql.push_str(&param(b, 2));
    }
    sql
}

fn order_by(table: &TableInfo) -> Vec<Ident> {
    table.primary_key.clone()
}

pub(super) async fn export<W: Write>(
    conn: Conn<'_>,
    table: &TableInfo,
    field: &ColumnInfo,
    req: &ExportRequest,
    out: W,
    reporter: &dyn Reporter,
) -> Result<TableExport, ExportError> {
    let limit = req.limit.map(|n| i64::try_from(n).unwrap_or(i64::MAX));
    let mut sink = Sink {
        out,
        format: req.format,
        rows: 0,
        bytes: 0,
    };
    reporter.start(table.name.as_str());
    let p1 = param(table.backend, 1);
    match conn {
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(pool) => {
            let sql = select(table, field, req, &p1);
            let mut query = sqlx::query(safe(sql)).bind(req.tenant.as_str());
            if let Some(n) = limit {
                query = query.bind(n);
            }
            let encs: Vec<Enc> = table
                .columns
                .iter()
                .map(|c| enc_for(Backend::Sqlite, "", Some(c)))
                .collect::<Result<_, _>>()?;
            let keys = keys(table.columns.iter().map(|c| c.name.as_str()));
            pump(query.fetch(pool), &mut sink, reporter, |row, buf| {
                sqlite::row(row, &encs, &keys, buf)
            })
            .await?;
        }
        #[cfg(feature = "postgres")]
        Conn::Postgres(pool) => {
            let (cmp, tenant) = postgres::tenant_param(field, &req.tenant)?;
            let sql = select(table, field, req, &cmp);
            let mut query = sqlx::query(safe(sql));
            query = match tenant {
                postgres::TenantValue::Text(t) => query.bind(t),
                postgres::TenantValue::Int(t) => query.bind(t),
                postgres::TenantValue::Uuid(t) => query.bind(t),
            };
            if let Some(n) = limit {
                query = query.bind(n);
            }
            let mut plan: Option<(Vec<Enc>, Vec<Vec<u8>>)> = None;
            pump(query.fetch(pool), &mut sink, reporter, |row, buf| {
                use sqlx::{Column as _, Row as _, TypeInfo as _};
                if plan.is_none() {
                    let encs = row
                        .columns()
                        .iter()
                        .zip(&table.columns)
                        .map(|(c, info)| {
                            enc_for(Backend::Postgres, c.type_info().name(), Some(info))
                        })
                        .collect::<Result<_, _>>()?;
                    plan = Some((encs, keys(row.columns().iter().map(|c| c.name()))));
                }
                let (encs, keys) = plan.as_ref().expect("set above");
                postgres::row(row, encs, keys, buf)
            })
            .await?;
        }
        #[cfg(feature = "mysql")]
        Conn::MySql(pool) => {
            let sql = select(table, field, req, &p1);
            let mut query = sqlx::query(safe(sql)).bind(req.tenant.as_str());
            if !field.exact {
                query = query.bind(req.tenant.as_str());
            }
            if let Some(n) = limit {
                query = query.bind(n);
            }
            let mut plan: Option<(Vec<Enc>, Vec<Vec<u8>>)> = None;
            pump(query.fetch(pool), &mut sink, reporter, |row, buf| {
                use sqlx::{Column as _, Row as _, TypeInfo as _};
                if plan.is_none() {
                    let encs = row
                        .columns()
                        .iter()
                        .zip(&table.columns)
                        .map(|(c, info)| enc_for(Backend::MySql, c.type_info().name(), Some(info)))
                        .collect::<Result<_, _>>()?;
                    // The catalog's spelling of each name (the result may differ in case).
                    plan = Some((encs, keys(table.columns.iter().map(|c| c.name.as_str()))));
                }
                let (encs, keys) = plan.as_ref().expect("set above");
                mysql::row(row, encs, keys, buf)
            })
            .await?;
        }
    }
    let (rows, bytes) = sink.end()?;
    reporter.finish(table.name.as_str(), rows);
    Ok(TableExport {
        table: table.name.to_string(),
        rows,
        bytes,
        order_by: if table.rowid {
            vec!["rowid".to_owned()]
        } else {
            order_by(table).iter().map(ToString::to_string).collect()
        },
    })
}

// --- value writers -------------------------------------------------------------------------

fn put_str(buf: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *buf, s).expect("writing to a Vec cannot fail");
}

fn put_display(buf: &mut Vec<u8>, v: impl std::fmt::Display) {
    buf.push(b'"');
    write!(buf, "{v}").expect("writing to a Vec cannot fail");
    buf.push(b'"');
}

fn put_num(buf: &mut Vec<u8>, v: impl serde::Serialize) {
    serde_json::to_writer(&mut *buf, &v).expect("writing to a Vec cannot fail");
}

fn put_bool(buf: &mut Vec<u8>, v: bool) {
    buf.extend_from_slice(if v { b"true" } else { b"false" });
}

/// Floats as numbers; JSON has no NaN or infinities, so those are the strings every backend's
/// float input accepts.
fn put_f64(buf: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        put_num(buf, v);
    } else {
        put_str(buf, non_finite(v));
    }
}

fn put_f32(buf: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        put_num(buf, v);
    } else {
        put_str(buf, non_finite(f64::from(v)));
    }
}

fn non_finite(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

fn put_bytes(buf: &mut Vec<u8>, v: &[u8]) {
    buf.push(b'"');
    let start = buf.len();
    buf.resize(start + base64::encoded_len(v.len(), true).unwrap_or(0), 0);
    let n = base64::engine::general_purpose::STANDARD
        .encode_slice(v, &mut buf[start..])
        .expect("sized above");
    buf.truncate(start + n);
    buf.push(b'"');
}

fn push2(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
}

/// `YYYY-MM-DD`, by hand (chrono's formatter parses its pattern on every call: a fifth of an
/// export's time). Years outside 0..=9999 go through chrono (sign, more digits).
fn push_date(buf: &mut Vec<u8>, v: NaiveDate) {
    use chrono::Datelike as _;
    match u32::try_from(v.year()) {
        Ok(y) if y <= 9999 => {
            push2(buf, y / 100);
            push2(buf, y % 100);
            buf.push(b'-');
            push2(buf, v.month());
            buf.push(b'-');
            push2(buf, v.day());
        }
        _ => write!(buf, "{}", v.format("%Y-%m-%d")).expect("writing to a Vec cannot fail"),
    }
}

/// `HH:MM:SS` and a fraction of 3, 6 or 9 digits when there is one (like chrono's `%.f`).
fn push_time(buf: &mut Vec<u8>, v: NaiveTime) {
    use chrono::Timelike as _;
    let nanos = v.nanosecond();
    if nanos >= 1_000_000_000 {
        // A leap second: chrono knows how to print it.
        write!(buf, "{}", v.format("%H:%M:%S%.f")).expect("writing to a Vec cannot fail");
        return;
    }
    push2(buf, v.hour());
    buf.push(b':');
    push2(buf, v.minute());
    buf.push(b':');
    push2(buf, v.second());
    let (digits, value) = match nanos {
        0 => return,
        n if n % 1_000_000 == 0 => (3, n / 1_000_000),
        n if n % 1_000 == 0 => (6, n / 1_000),
        n => (9, n),
    };
    buf.push(b'.');
    let start = buf.len();
    buf.resize(start + digits, b'0');
    let mut rest = value;
    for slot in buf[start..].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
}

fn put_timestamptz(buf: &mut Vec<u8>, v: DateTime<Utc>) {
    let v = v.naive_utc();
    buf.push(b'"');
    push_date(buf, v.date());
    buf.push(b'T');
    push_time(buf, v.time());
    buf.extend_from_slice(b"Z\"");
}

fn put_timestamp(buf: &mut Vec<u8>, v: NaiveDateTime) {
    buf.push(b'"');
    push_date(buf, v.date());
    buf.push(b'T');
    push_time(buf, v.time());
    buf.push(b'"');
}

fn put_date(buf: &mut Vec<u8>, v: NaiveDate) {
    buf.push(b'"');
    push_date(buf, v);
    buf.push(b'"');
}

fn put_time(buf: &mut Vec<u8>, v: NaiveTime) {
    buf.push(b'"');
    push_time(buf, v);
    buf.push(b'"');
}

/// Text that should be JSON: itself when it parses, else as a string.
fn put_json_text(buf: &mut Vec<u8>, s: &str) {
    match serde_json::from_str::<&serde_json::value::RawValue>(s) {
        Ok(raw) => buf.extend_from_slice(raw.get().as_bytes()),
        Err(_) => put_str(buf, s),
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use sqlx::{
        Decode, Postgres, Row as _, ValueRef as _,
        postgres::{PgRow, PgValueRef},
        types::JsonRawValue,
    };

    use super::*;

    pub(super) enum TenantValue {
        Text(String),
        Int(i64),
        Uuid(uuid::Uuid),
    }

    /// How the tenant is compared: bound in the tenant field's own type where we can, so the
    /// index on it is used; any other type compares as text.
    pub(super) fn tenant_param(
        field: &ColumnInfo,
        tenant: &str,
    ) -> Result<(String, TenantValue), ExportError> {
        let bad = |what: &str| {
            ExportError::Refused(format!(
                "tenant id {tenant:?} is not {what}, the type of column `{}`",
                field.name
            ))
        };
        Ok(match field.type_name.as_str() {
            "int2" | "int4" | "int8" => (
                "$1".into(),
                TenantValue::Int(tenant.parse().map_err(|_| bad("an integer"))?),
            ),
            "uuid" => (
                "$1".into(),
                TenantValue::Uuid(tenant.parse().map_err(|_| bad("a UUID"))?),
            ),
            "text" | "varchar" | "bpchar" | "name" => {
                ("$1".into(), TenantValue::Text(tenant.into()))
            }
            _ => ("CAST($1 AS text)".into(), TenantValue::Text(tenant.into())),
        })
    }

    /// The value of a column whose type was read from its `TypeInfo`: decoded without checking
    /// it again.
    fn dec<'r, T: Decode<'r, Postgres>>(raw: PgValueRef<'r>, i: usize) -> Result<T, ExportError> {
        T::decode(raw).map_err(|source| {
            sqlx::Error::ColumnDecode {
                index: i.to_string(),
                source,
            }
            .into()
        })
    }

    pub(super) fn row(
        row: &PgRow,
        encs: &[Enc],
        keys: &[Vec<u8>],
        buf: &mut Vec<u8>,
    ) -> Result<(), ExportError> {
        buf.push(b'{');
        for (i, (enc, key)) in encs.iter().zip(keys).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(key);
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                buf.extend_from_slice(b"null");
                continue;
            }
            match enc {
                Enc::Bool => put_bool(buf, dec(raw, i)?),
                Enc::I16 => put_num(buf, dec::<i16>(raw, i)?),
                Enc::I32 => put_num(buf, dec::<i32>(raw, i)?),
                Enc::I64 => put_num(buf, dec::<i64>(raw, i)?),
                Enc::F32 => put_f32(buf, dec(raw, i)?),
                Enc::F64 => put_f64(buf, dec(raw, i)?),
                Enc::Text => put_str(buf, dec(raw, i)?),
                Enc::Json => buf.extend_from_slice(dec::<&JsonRawValue>(raw, i)?.get().as_bytes()),
                Enc::Uuid => put_display(buf, dec::<uuid::Uuid>(raw, i)?.hyphenated()),
                Enc::Bytes => put_bytes(buf, dec(raw, i)?),
                Enc::Timestamptz => put_timestamptz(buf, dec(raw, i)?),
                Enc::Timestamp => put_timestamp(buf, dec(raw, i)?),
                Enc::Date => put_date(buf, dec(raw, i)?),
                Enc::Time => put_time(buf, dec(raw, i)?),
                other => unreachable!("{other:?} is not a PostgreSQL encoding"),
            }
        }
        buf.push(b'}');
        Ok(())
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use sqlx::{
        Decode, MySql, Row as _, ValueRef as _,
        mysql::{MySqlRow, MySqlValueRef},
        types::JsonRawValue,
    };

    use super::*;

    /// The value of a column whose type was read from its `TypeInfo` (DECIMAL, ENUM and SET
    /// arrive as text and are read as such).
    fn dec<'r, T: Decode<'r, MySql>>(raw: MySqlValueRef<'r>, i: usize) -> Result<T, ExportError> {
        T::decode(raw).map_err(|source| {
            sqlx::Error::ColumnDecode {
                index: i.to_string(),
                source,
            }
            .into()
        })
    }

    pub(super) fn row(
        row: &MySqlRow,
        encs: &[Enc],
        keys: &[Vec<u8>],
        buf: &mut Vec<u8>,
    ) -> Result<(), ExportError> {
        buf.push(b'{');
        for (i, (enc, key)) in encs.iter().zip(keys).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(key);
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                buf.extend_from_slice(b"null");
                continue;
            }
            match enc {
                Enc::Bool => put_bool(buf, dec(raw, i)?),
                Enc::I64 => put_num(buf, dec::<i64>(raw, i)?),
                Enc::U64 => put_num(buf, dec::<u64>(raw, i)?),
                Enc::F32 => put_f32(buf, dec(raw, i)?),
                Enc::F64 => put_f64(buf, dec(raw, i)?),
                Enc::Text => put_str(buf, dec(raw, i)?),
                Enc::JsonText => put_json_text(buf, dec(raw, i)?),
                Enc::Json => buf.extend_from_slice(dec::<&JsonRawValue>(raw, i)?.get().as_bytes()),
                Enc::Bytes => put_bytes(buf, dec(raw, i)?),
                Enc::Timestamptz => put_timestamptz(buf, dec(raw, i)?),
                Enc::Timestamp => put_timestamp(buf, dec(raw, i)?),
                Enc::Date => put_date(buf, dec(raw, i)?),
                Enc::MySqlTime => put_display(buf, dec::<sqlx::mysql::types::MySqlTime>(raw, i)?),
                Enc::Year => put_num(buf, dec::<u16>(raw, i)?),
                Enc::Null => buf.extend_from_slice(b"null"),
                other => unreachable!("{other:?} is not a MariaDB encoding"),
            }
        }
        buf.push(b'}');
        Ok(())
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use sqlx::{
        Decode, Row as _, Sqlite, TypeInfo as _, ValueRef as _,
        sqlite::{SqliteRow, SqliteValueRef},
    };

    use super::*;

    /// The value read as its own storage class.
    fn dec<'r, T: Decode<'r, Sqlite>>(raw: SqliteValueRef<'r>, i: usize) -> Result<T, ExportError> {
        T::decode(raw).map_err(|source| {
            sqlx::Error::ColumnDecode {
                index: i.to_string(),
                source,
            }
            .into()
        })
    }

    pub(super) fn row(
        row: &SqliteRow,
        encs: &[Enc],
        keys: &[Vec<u8>],
        buf: &mut Vec<u8>,
    ) -> Result<(), ExportError> {
        buf.push(b'{');
        for (i, (enc, key)) in encs.iter().zip(keys).enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(key);
            let raw = row.try_get_raw(i)?;
            if raw.is_null() {
                buf.extend_from_slice(b"null");
                continue;
            }
            let Enc::Dynamic { boolean, json } = *enc else {
                unreachable!("{enc:?} is not a SQLite encoding")
            };
            // The value's storage class, not the declared type: SQLite keeps what it was given.
            let class = raw.type_info();
            match class.name() {
                "INTEGER" if boolean => put_bool(buf, dec::<i64>(raw, i)? != 0),
                "INTEGER" => put_num(buf, dec::<i64>(raw, i)?),
                "REAL" => put_f64(buf, dec(raw, i)?),
                "BLOB" => put_bytes(buf, dec(raw, i)?),
                _ if json => put_json_text(buf, dec(raw, i)?),
                _ => put_str(buf, dec(raw, i)?),
            }
        }
        buf.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut buf = Vec::new();
        f(&mut buf);
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn values_are_written_as_documented() {
        assert_eq!(s(|b| put_f64(b, 0.1)), "0.1");
        assert_eq!(s(|b| put_f64(b, 1.0)), "1.0");
        assert_eq!(s(|b| put_f32(b, 0.1)), "0.1");
        assert_eq!(s(|b| put_f64(b, f64::NAN)), "\"NaN\"");
        assert_eq!(s(|b| put_f64(b, f64::NEG_INFINITY)), "\"-Infinity\"");
        assert_eq!(s(|b| put_bytes(b, b"\x00\xffhi")), "\"AP9oaQ==\"");
        assert_eq!(s(|b| put_bytes(b, b"")), "\"\"");
        assert_eq!(s(|b| put_str(b, "a\"b\n")), r#""a\"b\n""#);
        let at = DateTime::parse_from_rfc3339("2024-05-06T07:08:09.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            s(|b| put_timestamptz(b, at)),
            "\"2024-05-06T07:08:09.123456Z\""
        );
        assert_eq!(
            s(|b| put_timestamp(b, at.naive_utc().with_nanosecond(0).unwrap())),
            "\"2024-05-06T07:08:09\""
        );
        assert_eq!(s(|b| put_json_text(b, r#"{"a": [1]}"#)), r#"{"a": [1]}"#);
        assert_eq!(s(|b| put_json_text(b, "not json")), "\"not json\"");
    }

    #[test]
    fn hand_formatted_times_match_chrono() {
        for text in [
            "2024-05-06T07:08:09Z",
            "2024-05-06T07:08:09.5Z",
            "1999-12-31T23:59:59.123456Z",
            "0001-01-01T00:00:00.000000001Z",
            "9999-12-31T23:59:59.999999999Z",
        ] {
            let at = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            let want = format!("\"{}\"", at.format("%Y-%m-%dT%H:%M:%S%.fZ"));
            assert_eq!(s(|b| put_timestamptz(b, at)), want);
            let want = format!("\"{}\"", at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f"));
            assert_eq!(s(|b| put_timestamp(b, at.naive_utc())), want);
        }
        let far = NaiveDate::from_ymd_opt(-44, 3, 15).unwrap();
        assert_eq!(
            s(|b| put_date(b, far)),
            format!("\"{}\"", far.format("%Y-%m-%d"))
        );
    }

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

    use chrono::Timelike as _;
}
