//! What the database's own catalog says about a table: does it exist, its columns and their
//! types, which are generated, its primary key. Every name read back is checked as an [`Ident`]
//! before it can reach SQL; every name sent is bound.

use sqlx::Pool;

use super::ExportError;
pub(crate) use crate::driver::{ColumnInfo, Generated, TableInfo};
use crate::{data::Ident, driver::Driver};

/// Looks `table` up in the catalog: [`ExportError::UnknownTable`] if there is no such table or
/// view.
pub(crate) async fn describe<D: Driver>(
    pool: &Pool<D>,
    table: &Ident,
) -> Result<TableInfo, ExportError> {
    let mut conn = pool.acquire().await?;
    D::describe(&mut conn, table).await
}

/// [`describe`] on a connection (or a transaction: what it created so far is seen).
pub(crate) async fn describe_on<D: Driver>(
    conn: &mut D::Connection,
    table: &Ident,
) -> Result<TableInfo, ExportError> {
    D::describe(conn, table).await
}

/// Base tables (of the current schema / database) that have a column `field`, by name; and the
/// names of those skipped because they are not plain identifiers.
pub(crate) async fn tables_with<D: Driver>(
    pool: &Pool<D>,
    field: &Ident,
) -> Result<(Vec<Ident>, Vec<String>), ExportError> {
    let names = D::tables_with(pool, field).await?;
    let mut ok = Vec::new();
    let mut skipped = Vec::new();
    for name in names {
        match Ident::new(&name) {
            Ok(ident) => ok.push(ident),
            Err(_) => skipped.push(name),
        }
    }
    Ok((ok, skipped))
}
