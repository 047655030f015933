//! The default concurrency of a fleet run, from the servers' connection limits.
//!
//! A run holds about one connection per placement it migrates at once, on the server of that
//! placement. For each server the run touches, the budget is the smaller of
//! - its pool's `max_connections` (the configuration's limit for tenantry on that server,
//!   default 10), and
//! - a quarter of the connections the server has free when the run starts (PostgreSQL:
//!   `max_connections` − `superuser_reserved_connections` − client backends; MariaDB / MySQL:
//!   `max_connections` − `Threads_connected`), so that the application's running instances
//!   keep the rest during a deploy. SQLite has no such limit: its pool's size alone.
//!
//! The run's default is the smallest budget, at least [`FLOOR`] and at most [`CEILING`]. A
//! server whose limits cannot be read counts with its pool's size.

use crate::{
    catalog::{Placement, ServerName},
    data::Registry,
    driver::{Driver, dispatch},
};

/// The fewest placements migrated at once by default.
pub(super) const FLOOR: usize = 1;
/// The most placements migrated at once by default.
pub(super) const CEILING: usize = 32;

/// The default concurrency for a run touching `servers` (see the [module docs](self)).
pub(super) async fn derive<'a>(
    registry: &Registry,
    servers: impl IntoIterator<Item = &'a ServerName>,
) -> usize {
    let mut smallest: Option<usize> = None;
    for name in servers {
        let Some(spec) = registry.servers().spec(name) else {
            continue;
        };
        let pool = spec.shared.max_connections as usize;
        let budget = match free_connections(registry, name).await {
            Some(free) => pool.min(free / 4),
            None => pool,
        };
        smallest = Some(smallest.map_or(budget, |s| s.min(budget)));
    }
    smallest.unwrap_or(FLOOR).clamp(FLOOR, CEILING)
}

/// The connections `server` has free now (`None`: SQLite, or the limits cannot be read).
async fn free_connections(registry: &Registry, server: &ServerName) -> Option<usize> {
    let store = registry
        .admin_store(&Placement::row().on(server.clone()))
        .await
        .ok()?;
    match dispatch!(store.pool(), |pool| free_on(pool).await) {
        Ok(free) => free.map(|free| usize::try_from(free).unwrap_or(0)),
        Err(e) => {
            tracing::debug!(target: "tenantry::migrate", server = %server, error = %e, "connection limits not read");
            None
        }
    }
}

async fn free_on<D: Driver>(pool: &sqlx::Pool<D>) -> Result<Option<i64>, sqlx::Error> {
    D::free_connections(pool).await
}
