//! Each imported value checked against its column's type before anything is written, on every
//! backend: SQLite stores whatever it is given (`"not a number"` in an integer column,
//! `"yesterday"` as a timestamp), after which the data layer cannot read the row. A value that
//! does not fit names its row and column; nothing is imported.

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::{Value, value::RawValue};

/// What a column takes, as each driver reads its catalog's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    /// An integer (signed, or unsigned up to `u64::MAX`).
    Int,
    /// A float: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
    Float,
    /// A decimal: its exact text (a string, as exported), or a number.
    Decimal,
    Text,
    /// Base64.
    Bytes,
    /// Any JSON value, kept as its exact text.
    Json,
    Uuid,
    /// A timestamp with a zone (stored as an instant). SQLite has none.
    #[cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]
    Timestamptz,
    /// A timestamp without one (read and written as UTC).
    Timestamp,
    Date,
    /// A time of day (MariaDB's `TIME` is a duration, left to the server).
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    Time,
    /// Left to the database (PostgreSQL arrays, intervals and enums, MariaDB `TIME` durations,
    /// `YEAR`, `ENUM`, `SET`, SQLite columns without a type): by the JSON value.
    Any,
}

/// A checked value, ready for the driver to bind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    /// A timestamp: the instant in UTC, and the text it came as (SQLite keeps the text).
    At(NaiveDateTime, String),
    /// JSON, its exact text (a `json` column keeps key order and spacing).
    Json(String),
}

/// The key that marks a JSON value the export had to wrap: `{"$json": null}` is a JSON `null`
/// stored in a JSON column (a bare `null` is SQL `NULL`), and an object whose only key is
/// `$json` is wrapped the same way so that it, too, comes back as it was.
pub(crate) const JSON_WRAPPER: &str = "$json";

/// `text`, a value's JSON text, checked against `kind`; the error says what was expected and
/// what came.
pub(crate) fn check(kind: Kind, text: &str) -> Result<Cell, String> {
    if text == "null" {
        return Ok(Cell::Null);
    }
    if kind == Kind::Json {
        return Ok(Cell::Json(unwrap_json(text).to_owned()));
    }
    let value = match plain_string(text) {
        Some(s) => Value::String(s.to_owned()),
        None => serde_json::from_str(text).map_err(|e| e.to_string())?,
    };
    let wrong = |what: &str| format!("must be {what}, not {}", shown(text));
    Ok(match (kind, value) {
        (Kind::Bool, Value::Bool(b)) => Cell::Bool(b),
        (Kind::Bool, Value::Number(n)) if n.as_u64().is_some_and(|n| n <= 1) => {
            Cell::Bool(n.as_u64() == Some(1))
        }
        (Kind::Bool, _) => return Err(wrong("true or false")),
        (Kind::Int, Value::Number(n)) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Cell::I64(i),
            (None, Some(u)) => Cell::U64(u),
            _ => return Err(wrong("an integer")),
        },
        (Kind::Int, _) => return Err(wrong("an integer")),
        (Kind::Float, Value::Number(n)) => Cell::F64(n.as_f64().unwrap_or(f64::NAN)),
        (Kind::Float, Value::String(s)) => match s.as_str() {
            "NaN" => Cell::F64(f64::NAN),
            "Infinity" => Cell::F64(f64::INFINITY),
            "-Infinity" => Cell::F64(f64::NEG_INFINITY),
            _ => return Err(wrong("a number")),
        },
        (Kind::Float, _) => return Err(wrong("a number")),
        (Kind::Decimal, Value::Number(n)) => number(&n),
        (Kind::Decimal, Value::String(s)) if is_decimal(&s) => Cell::Text(s),
        (Kind::Decimal, _) => return Err(wrong("a decimal")),
        (Kind::Text, Value::String(s)) => Cell::Text(s),
        (Kind::Text, _) => return Err(wrong("a string")),
        (Kind::Bytes, Value::String(s)) => Cell::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| format!("must be base64, not {} ({e})", shown(text)))?,
        ),
        (Kind::Bytes, _) => return Err(wrong("base64 text")),
        (Kind::Uuid, Value::String(s)) if uuid::Uuid::parse_str(&s).is_ok() => Cell::Text(s),
        (Kind::Uuid, _) => return Err(wrong("a UUID")),
        (Kind::Timestamptz | Kind::Timestamp, Value::String(s)) => match timestamp(&s) {
            Some(at) => Cell::At(at, s),
            None => return Err(wrong("an RFC 3339 timestamp")),
        },
        (Kind::Timestamptz | Kind::Timestamp, _) => return Err(wrong("an RFC 3339 timestamp")),
        (Kind::Date, Value::String(s)) if NaiveDate::parse_from_str(&s, "%Y-%m-%d").is_ok() => {
            Cell::Text(s)
        }
        (Kind::Date, _) => return Err(wrong("a date (YYYY-MM-DD)")),
        (Kind::Time, Value::String(s)) if NaiveTime::parse_from_str(&s, "%H:%M:%S%.f").is_ok() => {
            Cell::Text(s)
        }
        (Kind::Time, _) => return Err(wrong("a time of day (HH:MM:SS)")),
        (Kind::Any | Kind::Json, v) => match v {
            Value::Null => Cell::Null,
            Value::Bool(b) => Cell::Bool(b),
            Value::Number(n) => number(&n),
            Value::String(s) => Cell::Text(s),
            v @ (Value::Array(_) | Value::Object(_)) => Cell::Text(v.to_string()),
        },
    })
}

/// The string `text` (a value's JSON text) holds, if it is one without escapes: its text
/// between the quotes, read without a parser (as most values are).
pub(crate) fn plain_string(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    (!inner.contains('\\')).then_some(inner)
}

fn number(n: &serde_json::Number) -> Cell {
    if let Some(i) = n.as_i64() {
        Cell::I64(i)
    } else if let Some(u) = n.as_u64() {
        Cell::U64(u)
    } else {
        Cell::F64(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// The value as a message shows it: its JSON text, cut at 40 characters.
fn shown(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_owned(),
    }
}

/// `-12.5`, `1e-30`, `NaN`, `Infinity`: what the decimal types print.
fn is_decimal(s: &str) -> bool {
    if matches!(s, "NaN" | "Infinity" | "-Infinity") {
        return true;
    }
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e.strip_prefix(['-', '+']).unwrap_or(e))),
        None => (s, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    !(int.is_empty() && frac.is_empty())
        && digits(int)
        && digits(frac)
        && exponent.is_none_or(|e| !e.is_empty() && digits(e))
}

/// A timestamp as the backends print and accept it, as an instant in UTC: RFC 3339 (the
/// export's form), or without an offset (read as UTC: an older export's zone-less form), with
/// `T` or a space, or a bare date (midnight).
pub(crate) fn timestamp(s: &str) -> Option<NaiveDateTime> {
    if let Ok(at) = DateTime::parse_from_rfc3339(s) {
        return Some(at.naive_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(s, format) {
            return Some(at);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN))
}

/// The JSON a JSON column holds, from its exported text: the wrapped value of
/// `{"$json": VALUE}`, else the text itself.
pub(crate) fn unwrap_json(text: &str) -> &str {
    if !(text.starts_with('{') && text.contains("json")) {
        return text;
    }
    match serde_json::from_str::<std::collections::BTreeMap<String, &RawValue>>(text) {
        Ok(map) if map.len() == 1 => match map.get(JSON_WRAPPER) {
            // The inner value's text, as a slice of `text`.
            Some(inner) => {
                let inner = inner.get();
                let start = inner.as_ptr() as usize - text.as_ptr() as usize;
                &text[start..start + inner.len()]
            }
            None => text,
        },
        _ => text,
    }
}

/// Whether the JSON text `raw` (a value a JSON column holds) must be exported wrapped: a JSON
/// `null`, or an object whose only key is `$json`.
pub(crate) fn needs_wrapper(raw: &str) -> bool {
    raw == "null" || (raw.starts_with('{') && unwrap_json(raw).len() != raw.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text`, which must be one JSON value (as the reader hands over).
    fn raw(text: &str) -> &str {
        RawValue::from_string(text.to_owned()).unwrap();
        text
    }

    #[test]
    fn values_are_checked_against_their_kind() {
        let ok = |k, t: &str| check(k, raw(t)).unwrap();
        let err = |k, t: &str| check(k, raw(t)).unwrap_err();
        assert_eq!(ok(Kind::Int, "9223372036854775807"), Cell::I64(i64::MAX));
        assert_eq!(ok(Kind::Int, "18446744073709551615"), Cell::U64(u64::MAX));
        assert_eq!(
            err(Kind::Int, r#""not a number""#),
            r#"must be an integer, not "not a number""#
        );
        assert!(err(Kind::Int, "1.5").contains("an integer"));
        assert_eq!(
            ok(Kind::Float, r#""-Infinity""#),
            Cell::F64(f64::NEG_INFINITY)
        );
        assert!(err(Kind::Float, r#""1.5""#).contains("a number"));
        assert_eq!(
            ok(Kind::Decimal, r#""-0.5000""#),
            Cell::Text("-0.5000".into())
        );
        assert_eq!(ok(Kind::Decimal, "12.5"), Cell::F64(12.5));
        assert!(err(Kind::Decimal, r#""12,5""#).contains("a decimal"));
        assert!(err(Kind::Text, "1").contains("a string"));
        assert_eq!(ok(Kind::Bytes, r#""AP8Q""#), Cell::Bytes(vec![0, 255, 16]));
        assert!(err(Kind::Bytes, r#""héllo""#).contains("must be base64"));
        assert!(err(Kind::Timestamp, r#""yesterday""#).contains("must be an RFC 3339 timestamp"));
        let at = timestamp("2024-05-06T07:08:09.5Z").unwrap();
        assert_eq!(
            ok(Kind::Timestamptz, r#""2024-05-06T09:08:09.5+02:00""#),
            Cell::At(at, "2024-05-06T09:08:09.5+02:00".into())
        );
        assert_eq!(timestamp("2024-05-06T07:08:09.500"), Some(at));
        assert!(timestamp("2024-05-06").is_some());
        assert!(err(Kind::Uuid, r#""a0eebc99""#).contains("a UUID"));
        assert!(err(Kind::Date, r#""2024-13-01""#).contains("a date"));
        assert!(err(Kind::Time, r#""25:00:00""#).contains("a time"));
        assert_eq!(ok(Kind::Any, r#"{"a":1}"#), Cell::Text(r#"{"a":1}"#.into()));
        assert_eq!(ok(Kind::Int, "null"), Cell::Null);
        let long = format!("\"{}\"", "x".repeat(100));
        assert!(err(Kind::Int, &long).ends_with("xxx..."));
    }

    #[test]
    fn json_keeps_its_text_and_unwraps_the_wrapper() {
        let ok = |t: &str| check(Kind::Json, raw(t)).unwrap();
        assert_eq!(
            ok(r#"{"z": 1,  "a":[2, 1]}"#),
            Cell::Json(r#"{"z": 1,  "a":[2, 1]}"#.into())
        );
        assert_eq!(ok("null"), Cell::Null);
        assert_eq!(ok(r#"{"$json":null}"#), Cell::Json("null".into()));
        assert_eq!(
            ok(r#"{"$json": {"$json": 1}}"#),
            Cell::Json(r#"{"$json": 1}"#.into())
        );
        assert_eq!(
            ok(r#"{"$json": 1, "b": 2}"#),
            Cell::Json(r#"{"$json": 1, "b": 2}"#.into())
        );
        assert_eq!(ok(r#"{"json": 1}"#), Cell::Json(r#"{"json": 1}"#.into()));
        assert!(needs_wrapper("null"));
        assert!(needs_wrapper(r#"{"$json":1}"#));
        assert!(needs_wrapper(r#"{"\u0024json":1}"#));
        assert!(!needs_wrapper(r#"{"$json":1,"b":2}"#));
        assert!(!needs_wrapper(r#"[null]"#));
        assert!(!needs_wrapper(r#""null""#));
    }

    #[test]
    fn plain_strings_are_read_without_a_parser() {
        assert_eq!(plain_string(r#""abc""#), Some("abc"));
        assert_eq!(plain_string(r#""""#), Some(""));
        assert_eq!(plain_string(r#""a\"b""#), None);
        assert_eq!(plain_string(r#""\u0041""#), None);
        assert_eq!(plain_string("12"), None);
        assert_eq!(plain_string(r#"["a"]"#), None);
        // Escaped or not, the same cell.
        assert_eq!(
            check(Kind::Text, raw(r#""\u00e9t\u00e9""#)),
            check(Kind::Text, raw(r#""été""#))
        );
    }

    #[test]
    fn decimals() {
        for s in [
            "0", "-1.5", "+2", ".5", "5.", "1e10", "1.5E-3", "NaN", "Infinity",
        ] {
            assert!(is_decimal(s), "{s}");
        }
        for s in ["", ".", "1e", "e5", "1.2.3", "0x10", "1,5", " 1", "inf"] {
            assert!(!is_decimal(s), "{s}");
        }
    }
}
