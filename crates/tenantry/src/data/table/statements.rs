//! The statements of a [`TenantTable`], built by sea-query from the resource's checked names,
//! with the tenant and every other value bound. Each carries `tenant_field = $tenant`.

use std::sync::Arc;

use sea_query::{
    Alias, Asterisk, Cond, Condition, Expr, ExprTrait, Func, IntoTableRef, LikeExpr, Query,
    SelectStatement, SimpleExpr, TableRef,
};
use sea_query_sqlx::SqlxValues;

use super::{IdValue, Placed};
use crate::{
    data::{
        ColumnType, DataError, IdKind, Ident, ListQuery, Order, Record, column::Role,
        query::like_pattern, value::to_sql,
    },
    driver::{Backend, Driver},
};

/// Statement text and its values.
pub(super) type Built = (String, SqlxValues);

/// The table's name, qualified by the tenant's schema when it has one.
fn table(t: &Placed<'_>) -> TableRef {
    match t.schema() {
        Some(schema) => (schema.iden(), t.resource.table().iden()).into_table_ref(),
        None => t.resource.table().iden().into_table_ref(),
    }
}

fn tenant_col(t: &Placed<'_>) -> Expr {
    Expr::col(t.resource.tenant_field().iden())
}

/// `tenant_field = $tenant`: part of every statement.
fn scope(t: &Placed<'_>) -> SimpleExpr {
    tenant_col(t).eq(t.tenant.as_str())
}

fn columns<'a>(t: &'a Placed<'_>) -> impl Iterator<Item = Alias> + 'a {
    t.resource.columns().iter().map(|c| c.name.iden())
}

fn by_id(t: &Placed<'_>, id: sea_query::Value) -> Condition {
    Cond::all()
        .add(scope(t))
        .add(Expr::col(t.resource.id().iden()).eq(id))
}

fn select_one(t: &Placed<'_>, id: sea_query::Value) -> SelectStatement {
    let mut stmt = Query::select();
    stmt.columns(columns(t))
        .from(table(t))
        .cond_where(by_id(t, id));
    stmt
}

/// The by-id `SELECT` and its values. Its text depends only on the resource and the driver,
/// so sea-query builds it once per resource; the values are bound in the order it placed them
/// (the tenant, then the id: checked when the text is built).
pub(super) fn select_one_cached<D: Driver>(
    t: &Placed<'_>,
    id: sea_query::Value,
) -> (Arc<str>, SqlxValues) {
    let values = vec![sea_query::Value::from(t.tenant.as_str()), id];
    let sql = t.resource.select_by_id_sql(D::BACKEND, t.schema(), || {
        let (sql, built) = D::build(&select_one(t, values[1].clone()));
        debug_assert_eq!(built.0.0, values, "by-id SELECT binds tenant, then id");
        sql
    });
    (sql, SqlxValues(sea_query::Values(values)))
}

/// The tenant scope plus the query's filters and search, all checked against the resource.
fn conditions<D: Driver>(t: &Placed<'_>, query: &ListQuery) -> Result<Condition, DataError> {
    let resource = &t.resource;
    let mut all = Cond::all().add(scope(t));
    for (field, value) in &query.filters {
        let allowed = resource.filterable().iter().any(|f| f.as_str() == field);
        let col = resource
            .column(field)
            .filter(|_| allowed)
            .ok_or_else(|| DataError::query(field.clone(), "is not a filterable field"))?;
        let v =
            to_sql::<D>(col, value).map_err(|e| DataError::query(field.clone(), e.to_string()))?;
        all = all.add(Expr::col(col.name.iden()).eq(v));
    }
    if let Some(search) = &query.search {
        let fields: Vec<&Ident> = match &search.fields {
            None => resource.searchable().iter().collect(),
            Some(names) => names
                .iter()
                .map(|n| {
                    resource
                        .searchable()
                        .iter()
                        .find(|s| s.as_str() == n)
                        .ok_or_else(|| {
                            DataError::query("fields", format!("{n:?} is not a searchable field"))
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

fn ordered(t: &Placed<'_>, stmt: &mut SelectStatement, order: &[Order]) -> Result<(), DataError> {
    let id = t.resource.id();
    for o in order {
        let col = t
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

/// The rows matching `query` (filters, search, keyset start, order, page), and `extra` rows
/// more than the page holds (1 tells whether another page follows).
pub(super) fn find<D: Driver>(
    t: &Placed<'_>,
    query: &ListQuery,
    extra: u64,
) -> Result<Built, DataError> {
    let mut cond = conditions::<D>(t, query)?;
    if let Some(after) = &query.after {
        cond = cond.add(keyset::<D>(t, query, after)?);
    }
    let mut stmt = Query::select();
    stmt.columns(columns(t))
        .from(table(t))
        .cond_where(cond)
        .limit(u64::from(query.page.limit()) + extra)
        .offset(query.page.offset());
    ordered(t, &mut stmt, &query.order)?;
    Ok(D::build(&stmt))
}

/// Rows strictly after the position `after` (one value per sort key) in the list's order.
///
/// Only values come from `after`, each bound and checked against its column's type; the columns
/// and directions come from the order, already checked against the resource. So whatever
/// `after` holds, the condition is one more `AND` beside the tenant's: it can only narrow.
///
/// NULLs sort as the backend sorts them: below every value on SQLite and MariaDB, above on
/// PostgreSQL. With every key ascending (or every key descending) and none nullable, it is one
/// row-value comparison, `(a, id) > ($1, $2)`, which an index on the keys serves as a range;
/// otherwise the expanded form `a > $1 OR (a = $1 AND id > $2)`, with NULLs placed.
fn keyset<D: Driver>(
    t: &Placed<'_>,
    query: &ListQuery,
    after: &[serde_json::Value],
) -> Result<Condition, DataError> {
    let resource = &t.resource;
    let keys = query.sort_keys(resource.id().as_str());
    if keys.len() != after.len() {
        return Err(DataError::query(
            "after",
            format!("needs {} values, one per sort key", keys.len()),
        ));
    }
    let mut cols = Vec::with_capacity(keys.len());
    for key in &keys {
        let col = resource
            .column(key.column())
            .filter(|c| c.name == *resource.id() || resource.sortable().contains(&c.name))
            .ok_or_else(|| {
                DataError::query(
                    "order_by",
                    format!("{:?} is not a sortable field", key.column()),
                )
            })?;
        if col.ty == ColumnType::Json {
            return Err(DataError::query(
                "after",
                format!("cannot start after a value of JSON column `{}`", col.name),
            ));
        }
        cols.push(col);
    }
    let value = |i: usize| -> Result<sea_query::Value, DataError> {
        to_sql::<D>(cols[i], &after[i]).map_err(|e| DataError::query("after", e.to_string()))
    };
    let descending = keys[0].is_descending();
    let past = |c: Expr, v: sea_query::Value| if descending { c.lt(v) } else { c.gt(v) };
    if cols.len() == 1 {
        return Ok(Cond::all().add(past(Expr::col(cols[0].name.iden()), value(0)?)));
    }
    if cols.iter().all(|c| !c.nullable) && keys.iter().all(|k| k.is_descending() == descending) {
        // The leading key's bound on its own as well: what MariaDB's optimizer turns into a
        // range (it reads row-value comparisons as a filter).
        let first = Expr::col(cols[0].name.iden());
        let bound = if descending {
            first.lte(value(0)?)
        } else {
            first.gte(value(0)?)
        };
        let left = Expr::tuple(cols.iter().map(|c| Expr::col(c.name.iden())));
        let right = Expr::tuple(
            (0..cols.len())
                .map(|i| value(i).map(Expr::val))
                .collect::<Result<Vec<_>, _>>()?,
        );
        let beyond = if descending {
            left.lt(right)
        } else {
            left.gt(right)
        };
        return Ok(Cond::all().add(bound).add(beyond));
    }
    // Where a NULL sorts: first in an ascending order when NULL is the lowest value.
    let nulls_low = D::BACKEND != Backend::Postgres;
    let mut any = Cond::any();
    for i in 0..keys.len() {
        let mut all = Cond::all();
        for j in 0..i {
            let c = Expr::col(cols[j].name.iden());
            all = all.add(if after[j] == serde_json::Value::Null {
                c.is_null()
            } else {
                c.eq(value(j)?)
            });
        }
        let c = Expr::col(cols[i].name.iden());
        let nulls_first = nulls_low != keys[i].is_descending();
        let past = if after[i] == serde_json::Value::Null {
            if !nulls_first {
                continue; // nothing sorts after NULL at the end
            }
            Cond::all().add(c.is_not_null())
        } else {
            let v = value(i)?;
            let beyond = if keys[i].is_descending() {
                c.clone().lt(v)
            } else {
                c.clone().gt(v)
            };
            if nulls_first || !cols[i].nullable {
                Cond::all().add(beyond)
            } else {
                Cond::any().add(beyond).add(c.is_null())
            }
        };
        any = any.add(all.add(past));
    }
    Ok(any)
}

/// The rows `query`'s filters and search match, as the planner would read them, for
/// `EXPLAIN`: the tenant scope and filters, no order, no page.
pub(super) fn explain<D: Driver>(t: &Placed<'_>, query: &ListQuery) -> Result<Built, DataError> {
    let stmt = Query::select()
        .column(t.resource.id().iden())
        .from(table(t))
        .cond_where(conditions::<D>(t, query)?)
        .to_owned();
    Ok(D::build(&stmt))
}

/// How many rows match `query`'s filters and search.
pub(super) fn count<D: Driver>(t: &Placed<'_>, query: &ListQuery) -> Result<Built, DataError> {
    let stmt = Query::select()
        .expr(Expr::col(Asterisk).count())
        .from(table(t))
        .cond_where(conditions::<D>(t, query)?)
        .to_owned();
    Ok(D::build(&stmt))
}

/// The `INSERT` of `values` for the tenant (the tenant field set by us, a body naming another
/// tenant refused), and the id it will have when it is not generated by the database.
pub(super) fn insert<D: Driver>(
    t: &Placed<'_>,
    values: &Record,
) -> Result<(Built, Option<sea_query::Value>), DataError> {
    let resource = &t.resource;
    let tenant_field = resource.tenant_field().as_str();
    let mut cols = Vec::new();
    let mut vals = Vec::new();
    let mut given_id = None;
    for (name, value) in values {
        let col = resource
            .column(name)
            .ok_or_else(|| DataError::UnknownField(name.clone()))?;
        match col.role {
            Role::Tenant => {
                if value.as_str() != Some(t.tenant.as_str()) {
                    return Err(DataError::TenantMismatch {
                        field: tenant_field.to_owned(),
                    });
                }
            }
            Role::Id if resource.id_kind() == IdKind::Integer => {
                return Err(DataError::Validation(format!(
                    "field `{name}` is assigned by the database"
                )));
            }
            Role::Id => {
                let text = value.as_str().ok_or_else(|| {
                    DataError::Validation(format!("field `{name}` must be a string"))
                })?;
                let (v, _) = IdValue::Text(text.to_owned())
                    .bound::<D>(resource)
                    .ok_or_else(|| {
                        DataError::Validation(format!("field `{name}` is not a valid id"))
                    })?;
                given_id = Some(v);
            }
            Role::Data => {
                cols.push(col.name.iden());
                vals.push(Expr::val(to_sql::<D>(col, value)?));
            }
        }
    }
    for col in resource.columns() {
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
    let id_value = match (resource.id_kind(), given_id) {
        (IdKind::Integer, _) => None,
        (_, Some(v)) => Some(v),
        (IdKind::Uuid, None) => IdValue::from(uuid::Uuid::now_v7())
            .bound::<D>(resource)
            .map(|(v, _)| v),
        (IdKind::Text, None) => {
            return Err(DataError::Validation(format!(
                "field `{}` is required",
                resource.id()
            )));
        }
    };
    if let Some(v) = &id_value {
        cols.push(resource.id().iden());
        vals.push(Expr::val(v.clone()));
    }
    cols.push(resource.tenant_field().iden());
    vals.push(Expr::val(t.tenant.as_str()));
    let mut insert = Query::insert();
    insert
        .into_table(table(t))
        .columns(cols)
        .values(vals)
        .map_err(|e| DataError::Unsupported(e.to_string()))?;
    if D::RETURNING {
        insert.returning(Query::returning().columns(columns(t)));
    }
    Ok((D::build(&insert), id_value))
}

/// What an update does: nothing (an empty patch), or a statement.
pub(super) enum Patch {
    /// Nothing to change: the row is read as it is.
    Unchanged,
    /// The `UPDATE` and the row's id.
    Update(Built, sea_query::Value),
}

/// The `UPDATE` of the tenant's row `id` with `patch`: the id and tenant field may be
/// repeated with their current values; any other value for them, and any value for another
/// immutable field, is refused. `None`: the id cannot be one of this resource.
pub(super) fn update<D: Driver>(
    t: &Placed<'_>,
    id: &IdValue,
    patch: &Record,
) -> Result<Option<Patch>, DataError> {
    let Some((id, id_json)) = id.bound::<D>(&t.resource) else {
        return Ok(None);
    };
    let mut sets = Vec::new();
    for (name, value) in patch {
        let col = t
            .resource
            .column(name)
            .ok_or_else(|| DataError::UnknownField(name.clone()))?;
        match col.role {
            Role::Tenant if value.as_str() == Some(t.tenant.as_str()) => {}
            Role::Tenant => {
                return Err(DataError::TenantMismatch {
                    field: name.clone(),
                });
            }
            Role::Id if *value == id_json => {}
            Role::Id => return Err(DataError::ImmutableField(name.clone())),
            Role::Data if col.immutable => return Err(DataError::ImmutableField(name.clone())),
            Role::Data => sets.push((col.name.iden(), Expr::val(to_sql::<D>(col, value)?))),
        }
    }
    if sets.is_empty() {
        return Ok(Some(Patch::Unchanged));
    }
    let mut update = Query::update();
    update
        .table(table(t))
        .values(sets)
        .cond_where(by_id(t, id.clone()));
    if D::RETURNING {
        update.returning(Query::returning().columns(columns(t)));
    }
    Ok(Some(Patch::Update(D::build(&update), id)))
}

/// The `DELETE` of the tenant's row `id`; `None`: the id cannot be one of this resource.
pub(super) fn delete<D: Driver>(t: &Placed<'_>, id: &IdValue) -> Option<Built> {
    let (id, _) = id.bound::<D>(&t.resource)?;
    let stmt = Query::delete()
        .from_table(table(t))
        .cond_where(by_id(t, id))
        .to_owned();
    Some(D::build(&stmt))
}
