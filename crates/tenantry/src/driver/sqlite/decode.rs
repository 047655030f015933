//! SQLite rows to the data layer's JSON: UUIDs and JSON are stored as text.

use sqlx::Sqlite;
use sqlx::sqlite::SqliteRow;

use crate::{
    data::{
        DataError, Resource, RowSink,
        rows::{self, Cell},
    },
    driver::sealed::Rows,
};

impl Rows for Sqlite {
    fn decode_row<S: RowSink>(row: &SqliteRow, resource: &Resource) -> Result<S::Out, DataError> {
        rows::decode::<_, S>(row, resource, text, json)
    }
}

/// JSON text as its value; text that is not JSON (written by another program) as a string; a
/// bare number that a `json` column's affinity stored as a number, as that number.
fn json<'r>(row: &'r SqliteRow, i: usize, name: &str) -> Result<Cell<'r>, DataError> {
    let class = sqlx::Row::try_get_raw(row, i)
        .map(|raw| sqlx::TypeInfo::name(&*sqlx::ValueRef::type_info(&raw)).to_owned())
        .unwrap_or_default();
    Ok(match class.as_str() {
        "INTEGER" => rows::cell(rows::get::<_, i64>(row, i, name)?, Cell::Int),
        "REAL" => rows::cell(rows::get::<_, f64>(row, i, name)?, Cell::Float),
        _ => match rows::get::<_, &str>(row, i, name)? {
            None => Cell::Null,
            Some(t) => serde_json::from_str(t).map_or(Cell::Text(t), Cell::Json),
        },
    })
}

fn text<'r>(row: &'r SqliteRow, i: usize, name: &str) -> Result<Cell<'r>, DataError> {
    rows::text(row, i, name)
}
