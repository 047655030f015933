//! Writing a tenant's rows: create, update, delete. Backends without `RETURNING` (MariaDB /
//! MySQL) write and read the row back in one transaction. On SQLite each write goes to the
//! database's group-commit writer when it has one (`driver/sqlite/group_commit.rs`), and
//! answers once the transaction holding it committed.

use sea_query::Value;
use sqlx::Pool;

use super::{
    IdValue, Placed, TenantTable, reads,
    run::{in_transaction, run},
    statements::{self, Patch},
};
use crate::{
    data::{DataError, JsonRow, Record, RowSink},
    driver::{Driver, Write, Written, dispatch, query},
};

impl TenantTable {
    /// Creates a row for the tenant and returns it as stored.
    pub async fn create(&self, values: Record) -> Result<Record, DataError> {
        self.create_as::<Record>(values).await
    }

    /// [`create`](Self::create) with the stored row as JSON text.
    pub(crate) async fn create_json(&self, values: Record) -> Result<JsonRow, DataError> {
        self.create_as::<JsonRow>(values).await
    }

    async fn create_as<S: RowSink>(&self, values: Record) -> Result<S::Out, DataError> {
        let t = self.placed().await?;
        dispatch!(t.pool(), |pool| create::<_, S>(pool, &t, &values).await)
    }

    /// Changes fields of the tenant's row `id` and returns it as stored. Fields absent from
    /// `patch` keep their values; an empty patch changes nothing. The id and the tenant field
    /// may be repeated with their current values; any other value for them, and any value for
    /// another immutable field, is refused.
    pub async fn update(&self, id: impl Into<IdValue>, patch: Record) -> Result<Record, DataError> {
        self.update_as::<Record>(id.into(), patch).await
    }

    /// [`update`](Self::update) with the stored row as JSON text.
    pub(crate) async fn update_json(
        &self,
        id: IdValue,
        patch: Record,
    ) -> Result<JsonRow, DataError> {
        self.update_as::<JsonRow>(id, patch).await
    }

    async fn update_as<S: RowSink>(&self, id: IdValue, patch: Record) -> Result<S::Out, DataError> {
        let t = self.placed().await?;
        dispatch!(t.pool(), |pool| update::<_, S>(pool, &t, &id, &patch).await)
    }

    /// Deletes the tenant's row `id`; [`DataError::NotFound`] if it has none.
    pub async fn delete(&self, id: impl Into<IdValue>) -> Result<(), DataError> {
        let id = id.into();
        let t = self.placed().await?;
        dispatch!(t.pool(), |pool| delete(pool, &t, &id).await)
    }
}

async fn create<D: Driver, S: RowSink>(
    pool: &Pool<D>,
    t: &Placed<'_>,
    values: &Record,
) -> Result<S::Out, DataError> {
    let ((sql, args), id_value) = statements::insert::<D>(t, values)?;
    if D::RETURNING {
        let (sql, args) = match to_writer::<D>(t, Write::returning(sql, args)) {
            Ok(written) => return D::decode_row::<S>(&written.await?.one_row()?, &t.resource),
            Err(write) => write.into_parts(),
        };
        return run(pool, t, async |mut ex| {
            let row = ex.fetch_one(query::<D, _>(sql, args)).await?;
            D::decode_row::<S>(&row, &t.resource)
        })
        .await;
    }
    // No RETURNING: insert and read back on one connection.
    in_transaction(pool, t, async |mut ex| {
        let done = ex.execute(query::<D, _>(sql, args)).await?;
        let id = id_value.unwrap_or(Value::BigInt(Some(
            D::last_insert_id(&done).unwrap_or(i64::MAX),
        )));
        let (sql, args) = statements::select_one_cached::<D>(t, id);
        let row = ex.fetch_one(query::<D, _>(sql, args)).await?;
        D::decode_row::<S>(&row, &t.resource)
    })
    .await
}

async fn update<D: Driver, S: RowSink>(
    pool: &Pool<D>,
    t: &Placed<'_>,
    id: &IdValue,
    patch: &Record,
) -> Result<S::Out, DataError> {
    let (sql, args, id) = match statements::update::<D>(t, id, patch)? {
        None => return Err(DataError::NotFound),
        Some(Patch::Unchanged) => {
            return reads::get::<D, S>(pool, t, id)
                .await?
                .ok_or(DataError::NotFound);
        }
        Some(Patch::Update((sql, args), id)) => (sql, args, id),
    };
    if D::RETURNING {
        let (sql, args) = match to_writer::<D>(t, Write::returning(sql, args)) {
            Ok(written) => {
                return match written.await?.row() {
                    Some(r) => D::decode_row::<S>(&r, &t.resource),
                    None => Err(DataError::NotFound),
                };
            }
            Err(write) => write.into_parts(),
        };
        return run(pool, t, async |mut ex| {
            match ex.fetch_optional(query::<D, _>(sql, args)).await? {
                Some(r) => D::decode_row::<S>(&r, &t.resource),
                None => Err(DataError::NotFound),
            }
        })
        .await;
    }
    in_transaction(pool, t, async |mut ex| {
        ex.execute(query::<D, _>(sql, args)).await?;
        let (sql, args) = statements::select_one_cached::<D>(t, id);
        let row = ex.fetch_optional(query::<D, _>(sql, args)).await?;
        row.map(|r| D::decode_row::<S>(&r, &t.resource))
            .ok_or(DataError::NotFound)?
    })
    .await
}

async fn delete<D: Driver>(pool: &Pool<D>, t: &Placed<'_>, id: &IdValue) -> Result<(), DataError> {
    let Some((sql, values)) = statements::delete::<D>(t, id) else {
        return Err(DataError::NotFound);
    };
    let affected = match to_writer::<D>(t, Write::counting(sql, values)) {
        Ok(written) => written.await?.changed(),
        Err(write) => {
            let (sql, values) = write.into_parts();
            run(pool, t, async |mut ex| {
                let done = ex.execute(query::<D, _>(sql, values)).await?;
                Ok(D::rows_affected(&done))
            })
            .await?
        }
    };
    if affected == 0 {
        Err(DataError::NotFound)
    } else {
        Ok(())
    }
}

/// `write` handed to the group-commit writer of the tenant's database, if it has one (SQLite),
/// for a future answering once the transaction holding it committed; else given back, to run
/// on the pool. Writes that must run in a transaction of their own (row-level security, a
/// transaction-mode pooler) are given back too.
fn to_writer<'a, D: Driver>(
    t: &'a Placed<'_>,
    write: Write,
) -> Result<impl Future<Output = Result<Written<D>, DataError>> + Send + 'a, Write> {
    if t.rls() || t.at.pooler {
        return Err(write);
    }
    D::group_write(t.pool(), write)
}
