//! Values in and out: JSON from the outside, checked against a column, bound as SQL values; rows
//! read back into JSON objects.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value as Json;
use sqlx::{ColumnIndex, Decode, Type};

use super::{Backend, ColumnDef, ColumnType, DataError, Resource, resource::Role};

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
        ColumnType::Integer => V::BigInt(Some(integer(v).ok_or_else(|| wrong("an integer"))?)),
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

/// An integer, also when written with a zero fraction (`662.0`): JSON Schema counts it as one,
/// so clients generated from the OpenAPI document may send it. Only up to 2^53, where every
/// integer has exactly one float spelling and nothing is rounded.
fn integer(v: &Json) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    v.as_i64().or_else(|| {
        let f = v.as_f64()?;
        // The range check makes the cast exact.
        #[allow(clippy::cast_possible_truncation)]
        (f.fract() == 0.0 && f.abs() <= EXACT).then_some(f as i64)
    })
}

fn decode_err(col: &str, e: sqlx::Error) -> DataError {
    tracing::error!(column = col, error = %e, "a column does not decode as its declared type");
    DataError::Database(e)
}

/// One column of a row as read from the database, on its way to JSON (borrowed from the row
/// where it can be).
pub(crate) enum Cell<'r> {
    Null,
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(&'r str),
    Owned(String),
    Json(Json),
}

impl Cell<'_> {
    fn into_json(self) -> Json {
        match self {
            Self::Null => Json::Null,
            Self::Int(v) => Json::from(v),
            Self::Float(v) => Json::from(v),
            Self::Bool(v) => Json::Bool(v),
            Self::Text(v) => Json::String(v.to_owned()),
            Self::Owned(v) => Json::String(v),
            Self::Json(v) => v,
        }
    }

    /// Appends the value as JSON text (the same text `into_json` would serialize to).
    fn write(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        match self {
            Self::Null => {
                out.extend_from_slice(b"null");
                Ok(())
            }
            Self::Int(v) => serde_json::to_writer(out, v),
            Self::Float(v) => serde_json::to_writer(out, v),
            Self::Bool(v) => serde_json::to_writer(out, v),
            Self::Text(v) => serde_json::to_writer(out, v),
            Self::Owned(v) => serde_json::to_writer(out, v),
            Self::Json(v) => serde_json::to_writer(out, v),
        }
    }
}

/// Where a decoded row goes: a [`Row`] map, or JSON text ([`JsonRow`]).
pub(crate) trait RowSink: Sized {
    type Out;
    fn start(columns: usize) -> Self;
    fn put(&mut self, col: &ColumnDef, cell: Cell<'_>) -> Result<(), DataError>;
    fn finish(self) -> Self::Out;
}

impl RowSink for Row {
    type Out = Row;
    fn start(_: usize) -> Self {
        Row::new()
    }
    fn put(&mut self, col: &ColumnDef, cell: Cell<'_>) -> Result<(), DataError> {
        self.insert(col.name.as_str().to_owned(), cell.into_json());
        Ok(())
    }
    fn finish(self) -> Row {
        self
    }
}

/// A row as the text of a JSON object, keys in the resource's column order: what an HTTP
/// answer sends, written straight from the database row (no map, no per-key allocation).
#[derive(Debug, Clone)]
pub(crate) struct JsonRow {
    text: Vec<u8>,
    /// Where the id's value is in `text`.
    id: Option<(usize, usize)>,
}

impl JsonRow {
    /// The object's text.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.text
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// The id as text (a number's digits, a string's value), as it goes in a URL.
    pub(crate) fn id_text(&self) -> Option<String> {
        let (from, to) = self.id?;
        match serde_json::from_slice::<Json>(self.text.get(from..to)?).ok()? {
            Json::String(s) => Some(s),
            Json::Null => None,
            other => Some(other.to_string()),
        }
    }
}

impl RowSink for JsonRow {
    type Out = JsonRow;
    fn start(columns: usize) -> Self {
        Self {
            text: Vec::with_capacity(24 * columns + 2),
            id: None,
        }
    }
    fn put(&mut self, col: &ColumnDef, cell: Cell<'_>) -> Result<(), DataError> {
        let out = &mut self.text;
        out.push(if out.is_empty() { b'{' } else { b',' });
        // An `Ident` is ASCII letters, digits and `_`: nothing to escape.
        out.push(b'"');
        out.extend_from_slice(col.name.as_str().as_bytes());
        out.extend_from_slice(b"\":");
        let from = out.len();
        cell.write(out).map_err(|e| {
            tracing::error!(column = %col.name, error = %e, "a column does not encode as JSON");
            DataError::Database(sqlx::Error::Decode(Box::new(e)))
        })?;
        if col.role == Role::Id {
            self.id = Some((from, out.len()));
        }
        Ok(())
    }
    fn finish(mut self) -> JsonRow {
        if self.text.is_empty() {
            self.text.push(b'{');
        }
        self.text.push(b'}');
        self
    }
}

/// A database row that decodes into any [`RowSink`]. Every statement selects the resource's
/// columns in [`Resource::columns`] order, so column `i` of the row is column `i` of the
/// resource (read by position: no name lookups).
pub(crate) trait DecodeRow {
    fn decode<S: RowSink>(&self, resource: &Resource) -> Result<S::Out, DataError>;
}

/// Reads an optional `T` from column `i`.
fn get<'r, R, T>(row: &'r R, i: usize, n: &str) -> Result<Option<T>, DataError>
where
    R: sqlx::Row,
    T: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    row.try_get::<Option<T>, _>(i).map_err(|e| decode_err(n, e))
}

/// Reads an optional `A`, or if the column's type does not fit, an optional `B`.
fn either<'r, R, A, B>(row: &'r R, i: usize, n: &str) -> Result<Option<Result<A, B>>, DataError>
where
    R: sqlx::Row,
    A: Decode<'r, R::Database> + Type<R::Database>,
    B: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    match row.try_get::<Option<A>, _>(i) {
        Ok(v) => Ok(v.map(Ok)),
        Err(_) => Ok(get::<R, B>(row, i, n)?.map(Err)),
    }
}

fn cell<T>(v: Option<T>, f: impl FnOnce(T) -> Cell<'static>) -> Cell<'static> {
    v.map_or(Cell::Null, f)
}

fn int<R>(row: &R, i: usize, n: &str) -> Result<Cell<'static>, DataError>
where
    R: sqlx::Row,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    let v = either::<R, i64, i32>(row, i, n)?;
    Ok(cell(v, |v| Cell::Int(v.unwrap_or_else(i64::from))))
}

fn float<R>(row: &R, i: usize, n: &str) -> Result<Cell<'static>, DataError>
where
    R: sqlx::Row,
    for<'r> f64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f32: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    let v = either::<R, f64, f32>(row, i, n)?;
    Ok(cell(v, |v| Cell::Float(v.unwrap_or_else(f64::from))))
}

fn text<'r, R>(row: &'r R, i: usize, n: &str) -> Result<Cell<'r>, DataError>
where
    R: sqlx::Row,
    &'r str: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    Ok(get::<R, &'r str>(row, i, n)?.map_or(Cell::Null, Cell::Text))
}

fn boolean<R>(row: &R, i: usize, n: &str) -> Result<Cell<'static>, DataError>
where
    R: sqlx::Row,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    Ok(cell(get::<R, bool>(row, i, n)?, Cell::Bool))
}

fn timestamp<R>(row: &R, i: usize, n: &str) -> Result<Cell<'static>, DataError>
where
    R: sqlx::Row,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> NaiveDateTime: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    let v = either::<R, DateTime<Utc>, NaiveDateTime>(row, i, n)?;
    Ok(cell(v, |v| {
        let at = v.unwrap_or_else(|t| t.and_utc());
        Cell::Owned(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }))
}

fn json<R>(row: &R, i: usize, n: &str) -> Result<Cell<'static>, DataError>
where
    R: sqlx::Row,
    for<'r> Json: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    Ok(cell(get::<R, Json>(row, i, n)?, Cell::Json))
}

macro_rules! decoder {
    ($feature:literal, $row:ty, |$r:ident, $i:ident, $n:ident| uuid: $uuid:expr, json: $json:expr) => {
        #[cfg(feature = $feature)]
        impl DecodeRow for $row {
            fn decode<S: RowSink>(&self, resource: &Resource) -> Result<S::Out, DataError> {
                let $r = self;
                let mut out = S::start(resource.columns().len());
                for ($i, c) in resource.columns().iter().enumerate() {
                    debug_assert_eq!(
                        sqlx::Column::name(&sqlx::Row::columns($r)[$i]),
                        c.name.as_str(),
                        "statements select the resource's columns in order"
                    );
                    let $n = c.name.as_str();
                    let v = match c.ty {
                        ColumnType::Integer => int($r, $i, $n)?,
                        ColumnType::Float => float($r, $i, $n)?,
                        ColumnType::Text => text($r, $i, $n)?,
                        ColumnType::Bool => boolean($r, $i, $n)?,
                        ColumnType::Timestamp => timestamp($r, $i, $n)?,
                        ColumnType::Uuid => $uuid,
                        ColumnType::Json => $json,
                    };
                    out.put(c, v)?;
                }
                Ok(out.finish())
            }
        }
    };
}

decoder!("postgres", sqlx::postgres::PgRow, |r, i, n|
    uuid: cell(get::<_, uuid::Uuid>(r, i, n)?, |u| Cell::Owned(u.hyphenated().to_string())),
    json: json(r, i, n)?);
decoder!("mysql", sqlx::mysql::MySqlRow, |r, i, n|
    uuid: text(r, i, n)?,
    json: json(r, i, n)?);
decoder!("sqlite", sqlx::sqlite::SqliteRow, |r, i, n|
uuid: text(r, i, n)?,
json: match get::<_, &str>(r, i, n)? {
    None => Cell::Null,
    Some(t) => serde_json::from_str(t).map_or(Cell::Text(t), Cell::Json),
});
