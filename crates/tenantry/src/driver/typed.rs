//! For the drivers with typed columns (PostgreSQL, MariaDB / MySQL): the encodings and value
//! writers they share, and the data layer's JSON column reader.

use std::io::Write as _;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde_json::Value as Json;
use sqlx::{ColumnIndex, Database, Decode, Type, types::JsonRawValue};

use crate::{
    data::{
        DataError,
        rows::{Cell, cell, get},
    },
    export::{
        ExportError,
        encode::{Enc, dec, non_finite, put_bool, put_bytes, put_f64, put_json, put_num, put_str},
    },
};

pub(crate) fn json<R>(row: &R, i: usize, n: &str) -> Result<Cell<'static>, DataError>
where
    R: sqlx::Row,
    for<'r> Json: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    Ok(cell(get::<R, Json>(row, i, n)?, Cell::Json))
}

/// The encodings PostgreSQL and MariaDB share, written the same way on both.
pub(crate) fn common_cell<DB: Database>(
    raw: DB::ValueRef<'_>,
    enc: Enc,
    i: usize,
    buf: &mut Vec<u8>,
) -> Result<(), ExportError>
where
    for<'r> bool: Decode<'r, DB>,
    for<'r> i16: Decode<'r, DB>,
    for<'r> i32: Decode<'r, DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'r> f32: Decode<'r, DB>,
    for<'r> f64: Decode<'r, DB>,
    for<'r> &'r str: Decode<'r, DB>,
    for<'r> &'r JsonRawValue: Decode<'r, DB>,
    for<'r> &'r [u8]: Decode<'r, DB>,
    for<'r> DateTime<Utc>: Decode<'r, DB>,
    for<'r> NaiveDateTime: Decode<'r, DB>,
    for<'r> NaiveDate: Decode<'r, DB>,
    for<'r> NaiveTime: Decode<'r, DB>,
{
    match enc {
        Enc::Bool => put_bool(buf, dec::<DB, _>(raw, i)?),
        Enc::I16 => put_num(buf, dec::<DB, i16>(raw, i)?),
        Enc::I32 => put_num(buf, dec::<DB, i32>(raw, i)?),
        Enc::I64 => put_num(buf, dec::<DB, i64>(raw, i)?),
        Enc::F32 => put_f32(buf, dec::<DB, _>(raw, i)?),
        Enc::F64 => put_f64(buf, dec::<DB, _>(raw, i)?),
        Enc::Text => put_str(buf, dec::<DB, _>(raw, i)?),
        Enc::Json => put_json(buf, dec::<DB, &JsonRawValue>(raw, i)?.get()),
        Enc::Bytes => put_bytes(buf, dec::<DB, _>(raw, i)?),
        Enc::Timestamptz => put_timestamptz(buf, dec::<DB, _>(raw, i)?),
        Enc::Timestamp => put_timestamp(buf, dec::<DB, _>(raw, i)?),
        Enc::Date => put_date(buf, dec::<DB, _>(raw, i)?),
        Enc::Time => put_time(buf, dec::<DB, _>(raw, i)?),
        Enc::Null => buf.extend_from_slice(b"null"),
        other => {
            return Err(ExportError::Unsupported(format!(
                "column {i}: {other:?} is not an encoding of this backend"
            )));
        }
    }
    Ok(())
}

pub(crate) fn put_display(buf: &mut Vec<u8>, v: impl std::fmt::Display) {
    buf.push(b'"');
    write!(buf, "{v}").expect("writing to a Vec cannot fail");
    buf.push(b'"');
}

pub(crate) fn put_f32(buf: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        put_num(buf, v);
    } else {
        put_str(buf, non_finite(f64::from(v)));
    }
}

fn push2(buf: &mut Vec<u8>, v: u32) {
    buf.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
}

/// `YYYY-MM-DD`, by hand (chrono's formatter parses its pattern on every call: a fifth of an
/// export's time). Years outside 0..=9999 go through chrono (sign, more digits).
pub(crate) fn push_date(buf: &mut Vec<u8>, v: NaiveDate) {
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
pub(crate) fn push_time(buf: &mut Vec<u8>, v: NaiveTime) {
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

pub(crate) fn put_timestamptz(buf: &mut Vec<u8>, v: DateTime<Utc>) {
    let v = v.naive_utc();
    buf.push(b'"');
    push_date(buf, v.date());
    buf.push(b'T');
    push_time(buf, v.time());
    buf.extend_from_slice(b"Z\"");
}

/// A timestamp without a zone, as RFC 3339 in UTC: zone-less columns are read as UTC, as the
/// data layer writes them (and as import writes them back), so every backend's timestamps
/// carry the same text and move between them unchanged.
pub(crate) fn put_timestamp(buf: &mut Vec<u8>, v: NaiveDateTime) {
    put_timestamptz(buf, v.and_utc());
}

pub(crate) fn put_date(buf: &mut Vec<u8>, v: NaiveDate) {
    buf.push(b'"');
    push_date(buf, v);
    buf.push(b'"');
}

pub(crate) fn put_time(buf: &mut Vec<u8>, v: NaiveTime) {
    buf.push(b'"');
    push_time(buf, v);
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use chrono::Timelike as _;

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
            "\"2024-05-06T07:08:09Z\""
        );
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
            assert_eq!(s(|b| put_timestamp(b, at.naive_utc())), want);
        }
        let far = NaiveDate::from_ymd_opt(-44, 3, 15).unwrap();
        assert_eq!(
            s(|b| put_date(b, far)),
            format!("\"{}\"", far.format("%Y-%m-%d"))
        );
    }
}
