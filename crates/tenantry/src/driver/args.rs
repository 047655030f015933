//! Statements built by sea-query, bound and run on any driver.

use sea_query_sqlx::SqlxValues;
use sqlx::{AssertSqlSafe, IntoArguments, query::Query};

use super::Driver;

/// A driver's arguments, made from sea-query's values by the driver.
pub(crate) struct Args<D: sqlx::Database>(D::Arguments);

impl<D: sqlx::Database> IntoArguments<D> for Args<D> {
    fn into_arguments(self) -> D::Arguments {
        self.0
    }
}

/// `sql` with `values` bound, on `D`. The text must come from sea-query (from checked
/// identifiers; every value a parameter) or from [`SqlText`](super::SqlText): the one door for
/// dynamic SQL text.
pub(crate) fn query<D: Driver, S>(sql: S, values: SqlxValues) -> Query<'static, D, Args<D>>
where
    S: Into<std::sync::Arc<str>>,
{
    sqlx::query_with(AssertSqlSafe(sql.into()), Args(D::arguments(values)))
}

/// [`query`], for a single value.
pub(crate) fn query_scalar<D: Driver, O, S>(
    sql: S,
    values: SqlxValues,
) -> sqlx::query::QueryScalar<'static, D, O, Args<D>>
where
    S: Into<std::sync::Arc<str>>,
    (O,): for<'r> sqlx::FromRow<'r, D::Row>,
{
    sqlx::query_scalar_with(AssertSqlSafe(sql.into()), Args(D::arguments(values)))
}

/// [`query`], for rows of `O`.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
pub(crate) fn query_as<D: Driver, O, S>(
    sql: S,
    values: SqlxValues,
) -> sqlx::query::QueryAs<'static, D, O, Args<D>>
where
    S: Into<std::sync::Arc<str>>,
    O: for<'r> sqlx::FromRow<'r, D::Row>,
{
    sqlx::query_as_with(AssertSqlSafe(sql.into()), Args(D::arguments(values)))
}
