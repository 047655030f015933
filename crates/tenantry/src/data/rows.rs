//! Values out: a database row, column by column, into JSON (a [`Record`] map, or JSON text
//! for HTTP answers). Written once over `sqlx::Row`; each driver only says how it reads UUIDs
//! and JSON.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value as Json;
use sqlx::{ColumnIndex, Decode, Type};

use super::{ColumnDef, ColumnType, DataError, Record, Resource, column::Role};

fn decode_err(col: &str, e: sqlx::Error) -> DataError {
    tracing::debug!(column = col, error = %e, "a column does not decode as asked");
    DataError::Database(e)
}

/// What a column of type `ty` holds, in a message.
fn expected(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Integer => "integer",
        ColumnType::Float => "number",
        ColumnType::Text => "text",
        ColumnType::Bool => "boolean",
        ColumnType::Timestamp => "timestamp",
        ColumnType::Uuid => "UUID",
        ColumnType::Json => "JSON value",
    }
}

/// A value of `col` that the database handed over but that does not decode as the column's
/// type: [`DataError::StoredValueInvalid`] naming the column. Any other failure stays what it
/// was.
fn stored(resource: &Resource, col: &ColumnDef, e: DataError) -> DataError {
    match e {
        DataError::Database(sqlx::Error::ColumnDecode { source, .. }) => {
            tracing::error!(
                table = %resource.table(),
                column = %col.name,
                error = %source,
                "a stored value does not decode as its column's type"
            );
            DataError::StoredValueInvalid {
                column: col.name.to_string(),
                expected: expected(col.ty),
            }
        }
        other => other,
    }
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

/// Where a decoded row goes: a [`Record`] map, or JSON text ([`JsonRow`]).
pub(crate) trait RowSink: Sized {
    type Out;
    fn start(columns: usize) -> Self;
    fn put(&mut self, col: &ColumnDef, cell: Cell<'_>) -> Result<(), DataError>;
    fn finish(self) -> Self::Out;
}

impl RowSink for Record {
    type Out = Record;
    fn start(_: usize) -> Self {
        Record::new()
    }
    fn put(&mut self, col: &ColumnDef, cell: Cell<'_>) -> Result<(), DataError> {
        self.insert(col.name.as_str().to_owned(), cell.into_json());
        Ok(())
    }
    fn finish(self) -> Record {
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
    #[cfg(feature = "crud")]
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.text
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// The id as text (a number's digits, a string's value), as it goes in a URL.
    #[cfg(feature = "crud")]
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

/// Reads an optional `T` from column `i`.
pub(crate) fn get<'r, R, T>(row: &'r R, i: usize, n: &str) -> Result<Option<T>, DataError>
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

pub(crate) fn cell<T>(v: Option<T>, f: impl FnOnce(T) -> Cell<'static>) -> Cell<'static> {
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

pub(crate) fn text<'r, R>(row: &'r R, i: usize, n: &str) -> Result<Cell<'r>, DataError>
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

/// How a driver reads a UUID or a JSON column into a cell.
pub(crate) type Reader<R> = for<'r> fn(&'r R, usize, &str) -> Result<Cell<'r>, DataError>;

/// Decodes `row` into `S`. Every statement selects the resource's columns in
/// [`Resource::columns`] order, so column `i` of the row is column `i` of the resource (read by
/// position: no name lookups). `uuid` and `json` read those types, which differ per driver.
pub(crate) fn decode<R, S>(
    row: &R,
    resource: &Resource,
    uuid: Reader<R>,
    json: Reader<R>,
) -> Result<S::Out, DataError>
where
    R: sqlx::Row,
    S: RowSink,
    usize: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i32: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f32: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> &'r str: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> NaiveDateTime: Decode<'r, R::Database> + Type<R::Database>,
{
    let mut out = S::start(resource.columns().len());
    for (i, c) in resource.columns().iter().enumerate() {
        debug_assert_eq!(
            sqlx::Column::name(&sqlx::Row::columns(row)[i]),
            c.name.as_str(),
            "statements select the resource's columns in order"
        );
        let n = c.name.as_str();
        let v = match c.ty {
            ColumnType::Integer => int(row, i, n),
            ColumnType::Float => float(row, i, n),
            ColumnType::Text => text(row, i, n),
            ColumnType::Bool => boolean(row, i, n),
            ColumnType::Timestamp => timestamp(row, i, n),
            ColumnType::Uuid => uuid(row, i, n),
            ColumnType::Json => json(row, i, n),
        }
        .map_err(|e| stored(resource, c, e))?;
        out.put(c, v)?;
    }
    Ok(out.finish())
}
