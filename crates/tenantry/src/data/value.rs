//! Values in and out: JSON from the outside, checked against a column, bound as SQL values; rows
//! read back into JSON objects.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value as Json;
use sqlx::{ColumnIndex, Decode, Type};

use super::{Backend, ColumnDef, ColumnType, DataError, Resource};

/// A row as the data layer reads and writes it: column name to JSON value.
pub type Row = serde_json::Map<String, Json>;

/// Checks `v` against `col` and converts it to the value bound for `backend`.
pub(crate) fn to_sql(
    backend: Backend,
    col: &ColumnDef,
    v: &Json,
) -> Result<sea_query::Value, DataError> {
    use sea_query::Value as V;
    let name = col.name.as_str();
    let wrong = |what: &str| DataError::Validation(format!("field `{name}` must be {what}"));
    if v.is_null() {
        if !col.nullable {
            return Err(DataError::Validation(format!(
                "field `{name}` may not be null"
            )));
        }
        return Ok(match (col.ty, backend) {
            (ColumnType::Integer, _) => V::BigInt(None),
            (ColumnType::Float, _) => V::Double(None),
            (ColumnType::Bool, _) => V::Bool(None),
            (ColumnType::Timestamp, Backend::Postgres | Backend::MySql) => {
                V::ChronoDateTimeUtc(None)
            }
            (ColumnType::Uuid, Backend::Postgres) => V::Uuid(None),
            (ColumnType::Json, Backend::Postgres | Backend::MySql) => V::Json(None),
            _ => V::String(None),
        });
    }
    Ok(match col.ty {
        ColumnType::Integer => V::BigInt(Some(v.as_i64().ok_or_else(|| wrong("an integer"))?)),
        ColumnType::Float => V::Double(Some(v.as_f64().ok_or_else(|| wrong("a number"))?)),
        ColumnType::Text => V::String(Some(
            v.as_str().ok_or_else(|| wrong("a string"))?.to_owned(),
        )),
        ColumnType::Bool => V::Bool(Some(v.as_bool().ok_or_else(|| wrong("true or false"))?)),
        ColumnType::Timestamp => {
            let at = v
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .ok_or_else(|| wrong("an RFC 3339 timestamp"))?
                .with_timezone(&Utc);
            match backend {
                // SQLite keeps timestamps as text; millisecond RFC 3339 sorts like time and
                // matches the table default.
                Backend::Sqlite => V::String(Some(at.to_rfc3339_opts(SecondsFormat::Millis, true))),
                _ => V::ChronoDateTimeUtc(Some(at)),
            }
        }
        ColumnType::Uuid => {
            let id = v
                .as_str()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(|| wrong("a UUID"))?;
            match backend {
                Backend::Postgres => V::Uuid(Some(id)),
                _ => V::String(Some(id.hyphenated().to_string())),
            }
        }
        ColumnType::Json => match backend {
            Backend::Sqlite => V::String(Some(v.to_string())),
            _ => V::Json(Some(Box::new(v.clone()))),
        },
    })
}

fn decode_err(col: &str, e: sqlx::Error) -> DataError {
    tracing::error!(column = col, error = %e, "a column does not decode as its declared type");
    DataError::Database(e)
}

/// Reads an optional `T` from column `n`, or the first alternative type that decodes.
fn get<'r, R, T>(row: &'r R, n: &str) -> Result<Option<T>, sqlx::Error>
where
    R: sqlx::Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    for<'s> &'s str: ColumnIndex<R>,
{
    row.try_get::<Option<T>, _>(n)
}

fn int<R>(row: &R, n: &str) -> Result<Json, DataError>
where
    R: sqlx::Row,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    for<'s> &'s str: ColumnIndex<R>,
{
    let v = get::<R, i64>(row, n)
        .or_else(|_| get::<R, i32>(row, n).map(|v| v.map(i64::from)))
        .map_err(|e| decode_err(n, e))?;
    Ok(v.map_or(Json::Null, Json::from))
}

fn float<R>(row: &R, n: &str) -> Result<Json, DataError>
where
    R: sqlx::Row,
    for<'r> f64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f32: Decode<'r, R::Database> + Type<R::Database>,
    for<'s> &'s str: ColumnIndex<R>,
{
    let v = get::<R, f64>(row, n)
        .or_else(|_| get::<R, f32>(row, n).map(|v| v.map(f64::from)))
        .map_err(|e| decode_err(n, e))?;
    Ok(v.map_or(Json::Null, Json::from))
}

fn plain<'r, R, T>(row: &'r R, n: &str) -> Result<Json, DataError>
where
    R: sqlx::Row,
    T: Into<Json> + Decode<'r, R::Database> + Type<R::Database>,
    for<'s> &'s str: ColumnIndex<R>,
{
    Ok(get::<R, T>(row, n)
        .map_err(|e| decode_err(n, e))?
        .map_or(Json::Null, Into::into))
}

fn stamp(at: DateTime<Utc>) -> Json {
    Json::String(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

fn timestamp<R>(row: &R, n: &str) -> Result<Json, DataError>
where
    R: sqlx::Row,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> NaiveDateTime: Decode<'r, R::Database> + Type<R::Database>,
    for<'s> &'s str: ColumnIndex<R>,
{
    let v = get::<R, DateTime<Utc>>(row, n)
        .or_else(|_| get::<R, NaiveDateTime>(row, n).map(|v| v.map(|t| t.and_utc())))
        .map_err(|e| decode_err(n, e))?;
    Ok(v.map_or(Json::Null, stamp))
}

macro_rules! decoder {
    ($feature:literal, $fn:ident, $row:ty, |$r:ident, $n:ident| uuid: $uuid:expr, json: $json:expr) => {
        #[cfg(feature = $feature)]
        pub(crate) fn $fn(resource: &Resource, $r: &$row) -> Result<Row, DataError> {
            let mut out = Row::new();
            for c in resource.columns() {
                let $n = c.name.as_str();
                let v = match c.ty {
                    ColumnType::Integer => int($r, $n)?,
                    ColumnType::Float => float($r, $n)?,
                    ColumnType::Text => plain::<_, String>($r, $n)?,
                    ColumnType::Bool => plain::<_, bool>($r, $n)?,
                    ColumnType::Timestamp => timestamp($r, $n)?,
                    ColumnType::Uuid => $uuid,
                    ColumnType::Json => $json,
                };
                out.insert($n.to_owned(), v);
            }
            Ok(out)
        }
    };
}

decoder!("postgres", pg_row, sqlx::postgres::PgRow, |r, n|
    uuid: get::<_, uuid::Uuid>(r, n).map_err(|e| decode_err(n, e))?
        .map_or(Json::Null, |u| Json::String(u.hyphenated().to_string())),
    json: plain::<_, Json>(r, n)?);
decoder!("mysql", mysql_row, sqlx::mysql::MySqlRow, |r, n|
    uuid: plain::<_, String>(r, n)?,
    json: plain::<_, Json>(r, n)?);
decoder!("sqlite", sqlite_row, sqlx::sqlite::SqliteRow, |r, n|
uuid: plain::<_, String>(r, n)?,
json: match get::<_, String>(r, n).map_err(|e| decode_err(n, e))? {
    None => Json::Null,
    Some(text) => serde_json::from_str(&text).unwrap_or(Json::String(text)),
});
