//! The change log of `tenantry_tenants` on SQLite and MariaDB / MySQL: the table's triggers
//! append each changed tenant to `tenantry_tenant_changes` (the newest 10,000 kept), and every
//! instance reads what is new every [`POLL_EVERY`].

use std::time::Duration;

use sqlx::Pool;

use super::{Driver, query_as, query_scalar};
use crate::catalog::CatalogWatcher;

/// How often the change log is read.
pub(crate) const POLL_EVERY: Duration = Duration::from_millis(200);

/// Reads the change log (`tenantry_tenant_changes`, filled by the catalog table's triggers)
/// every [`POLL_EVERY`], telling `watcher` each tenant that changed; runs until the task is
/// aborted (when the last clone of its catalog is dropped).
pub(crate) async fn poll_change_log<D: Driver>(pool: Pool<D>, watcher: CatalogWatcher)
where
    (i64,): for<'r> sqlx::FromRow<'r, D::Row>,
    (i64, String): for<'r> sqlx::FromRow<'r, D::Row>,
{
    use sea_query::{Alias, Expr, ExprTrait, Func, Query};

    let table = || Alias::new("tenantry_tenant_changes");
    let newest = || {
        D::build(
            Query::select()
                .expr(Func::coalesce([
                    Expr::col(Alias::new("seq")).max(),
                    Expr::val(0i64),
                ]))
                .from(table()),
        )
    };
    let mut seen: Option<i64> = None;
    let mut interval = tokio::time::interval(POLL_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(last) = seen else {
            let (sql, values) = newest();
            match query_scalar::<D, i64, _>(sql, values)
                .fetch_one(D::on_pool(&pool))
                .await
            {
                Ok(n) => seen = Some(n),
                Err(e) => {
                    tracing::debug!(target: "tenantry::catalog", error = %e, "cannot read the catalog's change log");
                }
            }
            continue;
        };
        let (sql, values) = D::build(
            Query::select()
                .columns([Alias::new("seq"), Alias::new("id")])
                .from(table())
                .and_where(Expr::col(Alias::new("seq")).gt(last))
                .order_by(Alias::new("seq"), sea_query::Order::Asc)
                .limit(1000),
        );
        let rows: Vec<(i64, String)> = match query_as::<D, _, _>(sql, values)
            .fetch_all(D::on_pool(&pool))
            .await
        {
            Ok(rows) => rows,
            Err(e) => {
                // The database is away: what changed meanwhile is unknown.
                tracing::debug!(target: "tenantry::catalog", error = %e, "cannot read the catalog's change log");
                watcher.everything_changed();
                seen = None;
                continue;
            }
        };
        if let Some((first, _)) = rows.first()
            && *first > last + 1
            && log_starts_after(&pool, last).await
        {
            // Entries after `last` were pruned before this instance read them.
            watcher.everything_changed();
        }
        for (seq, tenant) in &rows {
            watcher.changed(tenant);
            seen = Some(*seq);
        }
        if rows.len() == 1000 {
            interval.reset_immediately();
        }
    }
}

/// Whether the change log's oldest entry is after `last + 1` (older ones pruned).
async fn log_starts_after<D: Driver>(pool: &Pool<D>, last: i64) -> bool
where
    (i64,): for<'r> sqlx::FromRow<'r, D::Row>,
{
    use sea_query::{Alias, Expr, ExprTrait, Func, Query};
    let (sql, values) = D::build(
        Query::select()
            .expr(Func::coalesce([
                Expr::col(Alias::new("seq")).min(),
                Expr::val(0i64),
            ]))
            .from(Alias::new("tenantry_tenant_changes")),
    );
    query_scalar::<D, i64, _>(sql, values)
        .fetch_one(D::on_pool(pool))
        .await
        .is_ok_and(|oldest| oldest > last + 1)
}
