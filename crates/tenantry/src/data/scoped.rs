//! [`TenantScopedService`]: every operation of one tenant on one resource, scoped.

use std::sync::Arc;

use sea_query::{
    Alias, Asterisk, Cond, Condition, Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement,
};
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use serde_json::Value as Json;

#[cfg(feature = "postgres")]
use super::database::bind_tenant;
use super::{
    Backend, DataError, Database, IdKind, ListQuery, Order, Page, Resource, Row,
    query::like_pattern,
    resource::Role,
    value::{DecodeRow, JsonRow, RowSink, to_sql},
};
use crate::{TenantId, context::NoTenantContext, pool::Pool};

/// An id as given by a caller (a path segment, a number in code); checked against the
/// resource's [`IdKind`]. An id that cannot be valid answers [`DataError::NotFound`], like any
/// other id the tenant does not have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdValue {
    /// A number.
    Int(i64),
    /// Text (also a number or UUID written as text).
    Text(String),
}

impl From<i64> for IdValue {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<&str> for IdValue {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for IdValue {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<uuid::Uuid> for IdValue {
    fn from(v: uuid::Uuid) -> Self {
        Self::Text(v.to_string())
    }
}

/// The data of one tenant in one table. It cannot be built without a tenant, and every
/// statement it runs carries `tenant_field = $n` with that tenant bound:
///
/// - `list`, `count`, `get`, `search`, `count_search`, `find` see only the tenant's rows;
/// - `create` sets the tenant field itself, and refuses values that name another tenant
///   ([`DataError::TenantMismatch`]; the same tenant is accepted);
/// - `update` and `delete` touch only the tenant's rows; another tenant's id is
///   [`DataError::NotFound`], exactly like a missing one; the id, the tenant field and other
///   immutable fields cannot be changed;
/// - identifiers come only from the [`Resource`] (checked when it was built) and every value is
///   bound, never written into SQL.
///
/// With [`Database::with_row_level_security`] on PostgreSQL, each operation also runs in a
/// transaction with `app.tenant_id` set, so the table's policies enforce the same boundary.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use serde_json::json;
/// use tenantry::{TenantId, data::{Column, Database, DataError, Page, Resource, TenantScopedService}};
///
/// let db = Database::connect("sqlite::memory:").await.unwrap();
/// let notes = Resource::builder("notes").integer_id("id").column(Column::text("body")).build().unwrap();
/// db.create_table(&notes).await.unwrap();
///
/// let acme = TenantScopedService::new(db.clone(), notes.clone(), TenantId::parse("acme").unwrap());
/// let globex = TenantScopedService::new(db, notes, TenantId::parse("globex").unwrap());
///
/// let row = acme.create(json!({"body": "hello"}).as_object().unwrap().clone()).await.unwrap();
/// assert_eq!(row["tenant_id"], "acme");
/// let id = row["id"].as_i64().unwrap();
/// assert!(globex.get(id).await.unwrap().is_none());                       // not visible
/// assert!(matches!(globex.delete(id).await, Err(DataError::NotFound)));   // not deletable
/// let planted = json!({"body": "x", "tenant_id": "acme"}).as_object().unwrap().clone();
/// assert!(matches!(globex.create(planted).await, Err(DataError::TenantMismatch { .. })));
/// assert_eq!(acme.list(Page::default(), &[]).await.unwrap().len(), 1);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct TenantScopedService {
    db: Database,
    resource: Resource,
    tenant: TenantId,
}

/// Runs `$body` with `$ex` bound to an executor of the service's backend (the body is expanded
/// once per backend, so rows it reads have that backend's type). On PostgreSQL with row-level
/// security, `$ex` is a transaction with the tenant bound, committed after `$body`.
///
/// The transaction path runs boxed: its futures (`begin`, `set_config`, `commit`) are several
/// kilobytes, and inline they would make every operation's future that large on every backend,
/// to be copied around on each call even when no transaction is used.
macro_rules! run {
    ($self:ident, |$ex:ident| $body:expr) => {
        match $self.db.pool() {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => {
                let $ex = pool;
                $body
            }
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => {
                if $self.db.uses_row_level_security() {
                    Box::pin(async {
                        let mut tx = pool.begin().await?;
                        bind_tenant(&mut tx, &$self.tenant).await?;
                        let out = {
                            let $ex = &mut *tx;
                            $body
                        };
                        tx.commit().await?;
                        Ok::<_, DataError>(out)
                    })
                    .await?
                } else {
                    let $ex = pool;
                    $body
                }
            }
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => {
                let $ex = pool;
                $body
            }
        }
    };
}

fn q(sql: String) -> sqlx::AssertSqlSafe<String> {
    // Built by sea-query from checked identifiers; every value is a bound parameter.
    sqlx::AssertSqlSafe(sql)
}

impl TenantScopedService {
    /// The service for `tenant`.
    pub fn new(db: Database, resource: Resource, tenant: TenantId) -> Self {
        Self {
            db,
            resource,
            tenant,
        }
    }

    /// The service for the tenant of the current task ([`crate::context`]); an error outside a
    /// tenant scope, never a default tenant.
    pub fn for_current(db: Database, resource: Resource) -> Result<Self, NoTenantContext> {
        Ok(Self::new(db, resource, crate::context::current_tenant()?))
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The resource.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    fn build<S: SqlxBinder>(&self, stmt: &S) -> (String, SqlxValues) {
        match self.db.backend() {
            Backend::Postgres => stmt.build_sqlx(sea_query::PostgresQueryBuilder),
            Backend::MySql => stmt.build_sqlx(sea_query::MysqlQueryBuilder),
            Backend::Sqlite => stmt.build_sqlx(sea_query::SqliteQueryBuilder),
        }
    }

    fn tenant_col(&self) -> Expr {
        Expr::col(self.resource.tenant_field().iden())
    }

    /// `tenant_field = $tenant`: part of every statement.
    fn scope(&self) -> Expr {
        self.tenant_col().eq(self.tenant.as_str())
    }

    fn columns(&self) -> impl Iterator<Item = Alias> + '_ {
        self.resource.columns().iter().map(|c| c.name.iden())
    }

    /// The id as a bound value and as JSON (for comparing with a patch). `None`: it cannot be a
    /// valid id of this resource.
    fn id(&self, id: &IdValue) -> Option<(sea_query::Value, Json)> {
        use sea_query::Value as V;
        match (self.resource.id_kind(), id) {
            (IdKind::Integer, IdValue::Int(i)) => Some((V::BigInt(Some(*i)), Json::from(*i))),
            (IdKind::Integer, IdValue::Text(s)) => {
                let i: i64 = s.trim().parse().ok()?;
                Some((V::BigInt(Some(i)), Json::from(i)))
            }
            (IdKind::Uuid, IdValue::Text(s)) => {
                let u = uuid::Uuid::parse_str(s.trim()).ok()?;
                let text = u.hyphenated().to_string();
                let v = match self.db.backend() {
                    Backend::Postgres => V::Uuid(Some(u)),
                    _ => V::String(Some(text.clone())),
                };
                Some((v, Json::String(text)))
            }
            (IdKind::Text, IdValue::Text(s)) => {
                Some((V::String(Some(s.clone())), Json::String(s.clone())))
            }
            (IdKind::Text, IdValue::Int(i)) => {
                Some((V::String(Some(i.to_string())), Json::String(i.to_string())))
            }
            (IdKind::Uuid, IdValue::Int(_)) => None,
        }
    }

    fn by_id(&self, id: sea_query::Value) -> Condition {
        Cond::all()
            .add(self.scope())
            .add(Expr::col(self.resource.id().iden()).eq(id))
    }

    fn select_one(&self, id: sea_query::Value) -> SelectStatement {
        let mut stmt = Query::select();
        stmt.columns(self.columns())
            .from(self.resource.table().iden())
            .cond_where(self.by_id(id));
        stmt
    }

    /// The by-id `SELECT` and its values. Its text depends only on the resource and the backend,
    /// so sea-query builds it once per resource; the values are bound in the order it placed
    /// them (the tenant, then the id: checked when the text is built).
    fn select_one_cached(
        &self,
        id: sea_query::Value,
    ) -> (sqlx::AssertSqlSafe<Arc<str>>, SqlxValues) {
        let values = vec![sea_query::Value::from(self.tenant.as_str()), id];
        let sql = self.resource.select_by_id_sql(self.db.backend(), || {
            let (sql, built) = self.build(&self.select_one(values[1].clone()));
            debug_assert_eq!(built.0.0, values, "by-id SELECT binds tenant, then id");
            sql
        });
        // Built by sea-query from checked identifiers; every value is a bound parameter.
        (
            sqlx::AssertSqlSafe(sql),
            SqlxValues(sea_query::Values(values)),
        )
    }

    /// The tenant scope plus the query's filters and search, all checked against the resource.
    fn conditions(&self, query: &ListQuery) -> Result<Condition, DataError> {
        let backend = self.db.backend();
        let mut all = Cond::all().add(self.scope());
        for (field, value) in &query.filters {
            let allowed = self
                .resource
                .filterable()
                .iter()
                .any(|f| f.as_str() == field);
            let col = self
                .resource
                .column(field)
                .filter(|_| allowed)
                .ok_or_else(|| DataError::query(field.clone(), "is not a filterable field"))?;
            let v = to_sql(backend, col, value)
                .map_err(|e| DataError::query(field.clone(), e.to_string()))?;
            all = all.add(Expr::col(col.name.iden()).eq(v));
        }
        if let Some(search) = &query.search {
            let fields: Vec<&super::Ident> = match &search.fields {
                None => self.resource.searchable().iter().collect(),
                Some(names) => names
                    .iter()
                    .map(|n| {
                        self.resource
                            .searchable()
                            .iter()
                            .find(|s| s.as_str() == n)
                            .ok_or_else(|| {
                                DataError::query(
                                    "fields",
                                    format!("{n:?} is not a searchable field"),
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?,
            };
            if fields.is_empty() {
                return Err(DataError::query(
                    "q",
                    "this resource has no searchable fields",
                ));
            }
            if !search.q.is_empty() {
                let pattern = like_pattern(&search.q);
                let mut any = Cond::any();
                for f in fields {
                    let lowered = Expr::expr(Func::lower(Expr::col(f.iden())));
                    any = any.add(lowered.like(LikeExpr::new(pattern.clone()).escape('!')));
                }
                all = all.add(any);
            }
        }
        Ok(all)
    }

    fn ordered(&self, stmt: &mut SelectStatement, order: &[Order]) -> Result<(), DataError> {
        let id = self.resource.id();
        for o in order {
            let col = self
                .resource
                .sortable()
                .iter()
                .find(|s| s.as_str() == o.column())
                .ok_or_else(|| {
                    DataError::query(
                        "order_by",
                        format!("{:?} is not a sortable field", o.column()),
                    )
                })?;
            let dir = if o.is_descending() {
                sea_query::Order::Desc
            } else {
                sea_query::Order::Asc
            };
            stmt.order_by(col.iden(), dir);
        }
        // The id breaks ties, so pages never overlap or skip.
        if !order.iter().any(|o| o.column() == id.as_str()) {
            stmt.order_by(id.iden(), sea_query::Order::Asc);
        }
        Ok(())
    }

    /// The rows matching `query` (filters, search, order, page).
    pub async fn find(&self, query: &ListQuery) -> Result<Vec<Row>, DataError> {
        self.find_as::<Row>(query).await
    }

    /// [`find`](Self::find) with rows as JSON text.
    pub(crate) async fn find_json(&self, query: &ListQuery) -> Result<Vec<JsonRow>, DataError> {
        self.find_as::<JsonRow>(query).await
    }

    async fn find_as<S: RowSink>(&self, query: &ListQuery) -> Result<Vec<S::Out>, DataError> {
        let mut stmt = Query::select();
        stmt.columns(self.columns())
            .from(self.resource.table().iden())
            .cond_where(self.conditions(query)?)
            .limit(u64::from(query.page.limit()))
            .offset(query.page.offset());
        self.ordered(&mut stmt, &query.order)?;
        let (sql, values) = self.build(&stmt);
        let resource = &self.resource;
        run!(self, |ex| {
            let rows = sqlx::query_with(q(sql), values).fetch_all(ex).await?;
            rows.iter().map(|r| r.decode::<S>(resource)).collect()
        })
    }

    /// How many rows match `query`'s filters and search (its page and order are ignored).
    pub async fn count_where(&self, query: &ListQuery) -> Result<u64, DataError> {
        let stmt = Query::select()
            .expr(Expr::col(Asterisk).count())
            .from(self.resource.table().iden())
            .cond_where(self.conditions(query)?)
            .to_owned();
        let (sql, values) = self.build(&stmt);
        let n: i64 = run!(self, |ex| {
            sqlx::query_scalar_with(q(sql), values)
                .fetch_one(ex)
                .await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// A page of the tenant's rows.
    pub async fn list(&self, page: Page, order: &[Order]) -> Result<Vec<Row>, DataError> {
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
    ) -> Result<Vec<Row>, DataError> {
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
    pub async fn get(&self, id: impl Into<IdValue>) -> Result<Option<Row>, DataError> {
        self.get_as::<Row>(id.into()).await
    }

    /// [`get`](Self::get) with the row as JSON text.
    pub(crate) async fn get_json(&self, id: IdValue) -> Result<Option<JsonRow>, DataError> {
        self.get_as::<JsonRow>(id).await
    }

    async fn get_as<S: RowSink>(&self, id: IdValue) -> Result<Option<S::Out>, DataError> {
        let Some((id, _)) = self.id(&id) else {
            return Ok(None);
        };
        let (sql, values) = self.select_one_cached(id);
        let resource = &self.resource;
        run!(self, |ex| {
            match sqlx::query_with(sql, values).fetch_optional(ex).await? {
                Some(r) => Ok(Some(r.decode::<S>(resource)?)),
                None => Ok(None),
            }
        })
    }

    /// Creates a row for the tenant and returns it as stored.
    pub async fn create(&self, values: Row) -> Result<Row, DataError> {
        self.create_as::<Row>(values).await
    }

    /// [`create`](Self::create) with the stored row as JSON text.
    pub(crate) async fn create_json(&self, values: Row) -> Result<JsonRow, DataError> {
        self.create_as::<JsonRow>(values).await
    }

    async fn create_as<S: RowSink>(&self, values: Row) -> Result<S::Out, DataError> {
        let backend = self.db.backend();
        let tenant_field = self.resource.tenant_field().as_str();
        let mut cols = Vec::new();
        let mut vals = Vec::new();
        let mut given_id = None;
        for (name, value) in &values {
            let col = self
                .resource
                .column(name)
                .ok_or_else(|| DataError::UnknownField(name.clone()))?;
            match col.role {
                Role::Tenant => {
                    if value.as_str() != Some(self.tenant.as_str()) {
                        return Err(DataError::TenantMismatch {
                            field: tenant_field.to_owned(),
                        });
                    }
                }
                Role::Id if self.resource.id_kind() == IdKind::Integer => {
                    return Err(DataError::Validation(format!(
                        "field `{name}` is assigned by the database"
                    )));
                }
                Role::Id => {
                    let text = value.as_str().ok_or_else(|| {
                        DataError::Validation(format!("field `{name}` must be a string"))
                    })?;
                    let (v, _) = self.id(&IdValue::Text(text.to_owned())).ok_or_else(|| {
                        DataError::Validation(format!("field `{name}` is not a valid id"))
                    })?;
                    given_id = Some(v);
                }
                Role::Data => {
                    cols.push(col.name.iden());
                    vals.push(Expr::val(to_sql(backend, col, value)?));
                }
            }
        }
        for col in self.resource.columns() {
            if col.role == Role::Data
                && !values.contains_key(col.name.as_str())
                && !col.nullable
                && !col.has_default
            {
                return Err(DataError::Validation(format!(
                    "field `{}` is required",
                    col.name
                )));
            }
        }
        let id_value = match (self.resource.id_kind(), given_id) {
            (IdKind::Integer, _) => None,
            (_, Some(v)) => Some(v),
            (IdKind::Uuid, None) => self
                .id(&IdValue::from(uuid::Uuid::new_v4()))
                .map(|(v, _)| v),
            (IdKind::Text, None) => {
                return Err(DataError::Validation(format!(
                    "field `{}` is required",
                    self.resource.id()
                )));
            }
        };
        if let Some(v) = &id_value {
            cols.push(self.resource.id().iden());
            vals.push(Expr::val(v.clone()));
        }
        cols.push(self.resource.tenant_field().iden());
        vals.push(Expr::val(self.tenant.as_str()));
        let mut insert = Query::insert();
        insert
            .into_table(self.resource.table().iden())
            .columns(cols)
            .values(vals)
            .map_err(|e| DataError::Config(e.to_string()))?;
        if backend != Backend::MySql {
            insert.returning(Query::returning().columns(self.columns()));
        }
        let (sql, args) = self.build(&insert);
        let resource = &self.resource;
        match self.db.pool() {
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => {
                // No RETURNING: insert and read back on one connection (boxed, as in `run!`).
                Box::pin(async {
                    let mut tx = pool.begin().await?;
                    let done = sqlx::query_with(q(sql), args).execute(&mut *tx).await?;
                    let id = id_value.unwrap_or(sea_query::Value::BigInt(Some(
                        i64::try_from(done.last_insert_id()).unwrap_or(i64::MAX),
                    )));
                    let (sql, args) = self.select_one_cached(id);
                    let row = sqlx::query_with(sql, args).fetch_one(&mut *tx).await?;
                    tx.commit().await?;
                    row.decode::<S>(resource)
                })
                .await
            }
            #[allow(unreachable_patterns)]
            _ => run!(self, |ex| {
                let row = sqlx::query_with(q(sql), args).fetch_one(ex).await?;
                row.decode::<S>(resource)
            }),
        }
    }

    /// Changes fields of the tenant's row `id` and returns it as stored. Fields absent from
    /// `patch` keep their values; an empty patch changes nothing. The id and the tenant field
    /// may be repeated with their current values; any other value for them, and any value for
    /// another immutable field, is refused.
    pub async fn update(&self, id: impl Into<IdValue>, patch: Row) -> Result<Row, DataError> {
        self.update_as::<Row>(id.into(), patch).await
    }

    /// [`update`](Self::update) with the stored row as JSON text.
    pub(crate) async fn update_json(&self, id: IdValue, patch: Row) -> Result<JsonRow, DataError> {
        self.update_as::<JsonRow>(id, patch).await
    }

    async fn update_as<S: RowSink>(&self, id: IdValue, patch: Row) -> Result<S::Out, DataError> {
        let backend = self.db.backend();
        let (id, id_json) = self.id(&id).ok_or(DataError::NotFound)?;
        let mut sets = Vec::new();
        for (name, value) in &patch {
            let col = self
                .resource
                .column(name)
                .ok_or_else(|| DataError::UnknownField(name.clone()))?;
            match col.role {
                Role::Tenant if value.as_str() == Some(self.tenant.as_str()) => {}
                Role::Tenant => {
                    return Err(DataError::TenantMismatch {
                        field: name.clone(),
                    });
                }
                Role::Id if *value == id_json => {}
                Role::Id => return Err(DataError::ImmutableField(name.clone())),
                Role::Data if col.immutable => return Err(DataError::ImmutableField(name.clone())),
                Role::Data => sets.push((col.name.iden(), Expr::val(to_sql(backend, col, value)?))),
            }
        }
        if sets.is_empty() {
            return self.get_scoped::<S>(id).await;
        }
        let mut update = Query::update();
        update
            .table(self.resource.table().iden())
            .values(sets)
            .cond_where(self.by_id(id.clone()));
        if backend != Backend::MySql {
            update.returning(Query::returning().columns(self.columns()));
        }
        let (sql, args) = self.build(&update);
        let resource = &self.resource;
        match self.db.pool() {
            #[cfg(feature = "mysql")]
            Pool::MySql(pool) => {
                Box::pin(async {
                    let mut tx = pool.begin().await?;
                    sqlx::query_with(q(sql), args).execute(&mut *tx).await?;
                    let (sql, args) = self.select_one_cached(id);
                    let row = sqlx::query_with(sql, args).fetch_optional(&mut *tx).await?;
                    tx.commit().await?;
                    row.map(|r| r.decode::<S>(resource))
                        .ok_or(DataError::NotFound)?
                })
                .await
            }
            #[allow(unreachable_patterns)]
            _ => run!(self, |ex| {
                match sqlx::query_with(q(sql), args).fetch_optional(ex).await? {
                    Some(r) => r.decode::<S>(resource),
                    None => Err(DataError::NotFound),
                }
            }),
        }
    }

    async fn get_scoped<S: RowSink>(&self, id: sea_query::Value) -> Result<S::Out, DataError> {
        let (sql, values) = self.select_one_cached(id);
        let resource = &self.resource;
        run!(self, |ex| {
            match sqlx::query_with(sql, values).fetch_optional(ex).await? {
                Some(r) => r.decode::<S>(resource),
                None => Err(DataError::NotFound),
            }
        })
    }

    /// Deletes the tenant's row `id`; [`DataError::NotFound`] if it has none.
    pub async fn delete(&self, id: impl Into<IdValue>) -> Result<(), DataError> {
        let (id, _) = self.id(&id.into()).ok_or(DataError::NotFound)?;
        let stmt = Query::delete()
            .from_table(self.resource.table().iden())
            .cond_where(self.by_id(id))
            .to_owned();
        let (sql, values) = self.build(&stmt);
        let affected = run!(self, |ex| {
            sqlx::query_with(q(sql), values)
                .execute(ex)
                .await?
                .rows_affected()
        });
        if affected == 0 {
            Err(DataError::NotFound)
        } else {
            Ok(())
        }
    }
}
