//! PostgreSQL rows to the data layer's JSON: native UUIDs and `jsonb`.

use sqlx::Postgres;
use sqlx::postgres::PgRow;

use crate::{
    data::{
        DataError, Resource, RowSink,
        rows::{self, Cell},
    },
    driver::sealed::Rows,
};

impl Rows for Postgres {
    fn decode_row<S: RowSink>(row: &PgRow, resource: &Resource) -> Result<S::Out, DataError> {
        rows::decode::<_, S>(row, resource, uuid, crate::driver::typed::json)
    }
}

fn uuid<'r>(row: &'r PgRow, i: usize, name: &str) -> Result<Cell<'r>, DataError> {
    let id = rows::get::<_, uuid::Uuid>(row, i, name)?;
    Ok(rows::cell(id, |u| Cell::Owned(u.hyphenated().to_string())))
}
