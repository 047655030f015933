//! MariaDB / MySQL rows to the data layer's JSON: UUIDs are `char(36)`, JSON is JSON.

use sqlx::MySql;
use sqlx::mysql::MySqlRow;

use crate::{
    data::{
        DataError, Resource, RowSink,
        rows::{self, Cell},
    },
    driver::sealed::Rows,
};

impl Rows for MySql {
    fn decode_row<S: RowSink>(row: &MySqlRow, resource: &Resource) -> Result<S::Out, DataError> {
        rows::decode::<_, S>(row, resource, text, crate::driver::typed::json)
    }
}

fn text<'r>(row: &'r MySqlRow, i: usize, name: &str) -> Result<Cell<'r>, DataError> {
    rows::text(row, i, name)
}
