//! Reading a tenant's rows: find (list, search), count, get.

use sqlx::Pool;

use super::{IdValue, Placed, TenantTable, run::run, statements};
use crate::{
    data::{DataError, JsonRow, ListQuery, Order, Page, Record, RowSink},
    driver::{Driver, dispatch, query, query_scalar},
};

impl TenantTable {
    /// The rows matching `query` (filters, search, order, page).
    pub async fn find(&self, query: &ListQuery) -> Result<Vec<Record>, DataError> {
        self.find_as::<Record>(query).await
    }

    /// [`find`](Self::find) with rows as JSON text.
    pub(crate) async fn find_json(&self, query: &ListQuery) -> Result<Vec<JsonRow>, DataError> {
        self.find_as::<JsonRow>(query).await
    }

    async fn find_as<S: RowSink>(&self, query: &ListQuery) -> Result<Vec<S::Out>, DataError> {
        let t = self.placed().await?;
        dispatch!(t.pool(), |pool| find::<_, S>(pool, &t, query).await)
    }

    /// How many rows match `query`'s filters and search (its page and order are ignored).
    pub async fn count_where(&self, query: &ListQuery) -> Result<u64, DataError> {
        let t = self.placed().await?;
        dispatch!(t.pool(), |pool| count(pool, &t, query).await)
    }

    /// A page of the tenant's rows.
    pub async fn list(&self, page: Page, order: &[Order]) -> Result<Vec<Record>, DataError> {
        self.find(&ListQuery::new().page(page).order(order.to_vec()))
            .await
    }

    /// How many rows the tenant has.
    pub async fn count(&self) -> Result<u64, DataError> {
        self.count_where(&ListQuery::new()).await
    }

    /// A page of the tenant's rows where `q` occurs (case-insensitively) in one of `fields`.
    pub async fn search(
        &self,
        q: &str,
        fields: Option<&[&str]>,
        page: Page,
        order: &[Order],
    ) -> Result<Vec<Record>, DataError> {
        let fields = fields.map(|f| f.iter().map(|s| (*s).to_owned()).collect());
        self.find(
            &ListQuery::new()
                .page(page)
                .order(order.to_vec())
                .search(q, fields),
        )
        .await
    }

    /// How many of the tenant's rows a [`search`](Self::search) matches.
    pub async fn count_search(&self, q: &str, fields: Option<&[&str]>) -> Result<u64, DataError> {
        let fields = fields.map(|f| f.iter().map(|s| (*s).to_owned()).collect());
        self.count_where(&ListQuery::new().search(q, fields)).await
    }

    /// The tenant's row with this id, if it has one.
    pub async fn get(&self, id: impl Into<IdValue>) -> Result<Option<Record>, DataError> {
        self.get_as::<Record>(id.into()).await
    }

    /// [`get`](Self::get) with the row as JSON text.
    pub(crate) async fn get_json(&self, id: IdValue) -> Result<Option<JsonRow>, DataError> {
        self.get_as::<JsonRow>(id).await
    }

    async fn get_as<S: RowSink>(&self, id: IdValue) -> Result<Option<S::Out>, DataError> {
        let t = self.placed().await?;
        dispatch!(t.pool(), |pool| get::<_, S>(pool, &t, &id).await)
    }
}

async fn find<D: Driver, S: RowSink>(
    pool: &Pool<D>,
    t: &Placed<'_>,
    list: &ListQuery,
) -> Result<Vec<S::Out>, DataError> {
    let (sql, values) = statements::find::<D>(t, list)?;
    run(pool, t, async |mut ex| {
        let rows = ex.fetch_all(query::<D, _>(sql, values)).await?;
        rows.iter()
            .map(|r| D::decode_row::<S>(r, &t.resource))
            .collect()
    })
    .await
}

async fn count<D: Driver>(
    pool: &Pool<D>,
    t: &Placed<'_>,
    list: &ListQuery,
) -> Result<u64, DataError>
where
    (i64,): for<'r> sqlx::FromRow<'r, D::Row>,
{
    let (sql, values) = statements::count::<D>(t, list)?;
    let n: i64 = run(pool, t, async |mut ex| {
        Ok(ex
            .fetch_scalar(query_scalar::<D, i64, _>(sql, values))
            .await?)
    })
    .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The tenant's row `id`; `None` if it has none, or `id` cannot be one of the resource's.
pub(super) async fn get<D: Driver, S: RowSink>(
    pool: &Pool<D>,
    t: &Placed<'_>,
    id: &IdValue,
) -> Result<Option<S::Out>, DataError> {
    let Some((id, _)) = id.bound::<D>(&t.resource) else {
        return Ok(None);
    };
    let (sql, values) = statements::select_one_cached::<D>(t, id);
    run(pool, t, async |mut ex| {
        match ex.fetch_optional(query::<D, _>(sql, values)).await? {
            Some(r) => Ok(Some(D::decode_row::<S>(&r, &t.resource)?)),
            None => Ok(None),
        }
    })
    .await
}
