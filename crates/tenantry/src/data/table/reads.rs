//! Reading a tenant's rows: find (list, search), count, get.

use sqlx::Pool;

use super::{IdValue, Placed, TenantTable, run::run, statements};
use crate::{
    data::{DataError, JsonRow, ListQuery, Order, Page, Record, RowSink},
    driver::{Backend, Driver, dispatch, query, query_scalar},
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

    /// [`find_json`](Self::find_json), and whether more rows follow the page (one row more
    /// is read to tell).
    #[cfg(feature = "crud")]
    pub(crate) async fn find_page_json(
        &self,
        query: &ListQuery,
    ) -> Result<(Vec<JsonRow>, bool), DataError> {
        let t = self.placed().await?;
        let mut rows = dispatch!(t.pool(), |pool| find::<_, JsonRow>(pool, &t, query, 1)
            .await)?;
        let limit = query.page.limit() as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        Ok((rows, more))
    }

    async fn find_as<S: RowSink>(&self, query: &ListQuery) -> Result<Vec<S::Out>, DataError> {
        let t = self.placed().await?;
        dispatch!(t.pool(), |pool| find::<_, S>(pool, &t, query, 0).await)
    }

    /// The query planner's estimate of how many rows match `query`'s filters and search, from
    /// the table's statistics: PostgreSQL's `EXPLAIN` (the top plan node's `rows`), MariaDB's
    /// `EXPLAIN FORMAT=JSON` (`rows` × `filtered` %). `None` on SQLite, which keeps no such
    /// estimate. What the figure means per backend is in the [CRUD docs](crate::crud#totals).
    pub async fn estimate_where(&self, query: &ListQuery) -> Result<Option<u64>, DataError> {
        let t = self.placed().await?;
        dispatch!(t.pool(), |pool| estimate(pool, &t, query).await)
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
    extra: u64,
) -> Result<Vec<S::Out>, DataError> {
    let (sql, values) = statements::find::<D>(t, list, extra)?;
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

async fn estimate<D: Driver>(
    pool: &Pool<D>,
    t: &Placed<'_>,
    list: &ListQuery,
) -> Result<Option<u64>, DataError>
where
    (String,): for<'r> sqlx::FromRow<'r, D::Row>,
{
    let prefix = match D::BACKEND {
        Backend::Postgres => "EXPLAIN ",
        Backend::MySql => "EXPLAIN FORMAT=JSON ",
        Backend::Sqlite => return Ok(None),
    };
    let (sql, values) = statements::explain::<D>(t, list)?;
    let sql = format!("{prefix}{sql}");
    // The first line (PostgreSQL) or the one document (MariaDB) is all that is read.
    let plan: String = run(pool, t, async |mut ex| {
        Ok(ex
            .fetch_scalar(query_scalar::<D, String, _>(sql, values))
            .await?)
    })
    .await?;
    Ok(match D::BACKEND {
        Backend::Postgres => plan_rows_postgres(&plan),
        _ => plan_rows_mariadb(&plan),
    })
}

/// `rows=N` of the top node: `Index Scan using ... (cost=0.29..8.31 rows=1 width=8)`.
fn plan_rows_postgres(line: &str) -> Option<u64> {
    let rest = &line[line.find(" rows=")? + 6..];
    let digits = rest.split(|c: char| !c.is_ascii_digit()).next()?;
    digits.parse().ok()
}

/// `rows` × `filtered` / 100 of the table in MariaDB's (and MySQL's) JSON plan.
fn plan_rows_mariadb(doc: &str) -> Option<u64> {
    fn table(v: &serde_json::Value) -> Option<&serde_json::Value> {
        match v {
            serde_json::Value::Object(m) => match m.get("table") {
                Some(t) if t.get("rows").is_some() => Some(t),
                _ => m.values().find_map(table),
            },
            serde_json::Value::Array(a) => a.iter().find_map(table),
            _ => None,
        }
    }
    let plan: serde_json::Value = serde_json::from_str(doc).ok()?;
    let t = table(&plan)?;
    let rows = t.get("rows").and_then(serde_json::Value::as_f64)?;
    let filtered = t
        .get("filtered")
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(100.0);
    // Rounded to the nearest row; estimates are far from exact anyway.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Some((rows * filtered / 100.0).round().max(0.0) as u64)
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

#[cfg(test)]
mod tests {
    use super::{plan_rows_mariadb, plan_rows_postgres};

    #[test]
    fn plan_rows() {
        assert_eq!(
            plan_rows_postgres("Bitmap Heap Scan on items  (cost=4.3..20.1 rows=2043 width=8)"),
            Some(2043)
        );
        assert_eq!(
            plan_rows_postgres("Result  (cost=0.00..0.01 width=0)"),
            None
        );
        let doc = r#"{"query_block": {"select_id": 1, "nested_loop": [{"table": {"table_name": "t",
            "rows": 2000, "filtered": 50}}]}}"#;
        assert_eq!(plan_rows_mariadb(doc), Some(1000));
        assert_eq!(
            plan_rows_mariadb(r#"{"query_block": {"table": {"rows": 7}}}"#),
            Some(7)
        );
        assert_eq!(plan_rows_mariadb("not json"), None);
    }
}
