//! [`record_pool`]: connection pool gauges, set when the metrics are read.

use super::{POOL_CONNECTIONS, TENANT_POOL_CONNECTIONS, TENANT_POOLS};
use crate::data::DataStore;

/// Sets `tenantry_db_pool_connections{state="idle"|"in_use"}` from `db`'s pool, and for a store
/// placing tenants through a [`Registry`](crate::data::Registry) the tenant databases' pools
/// on every server: `tenantry_db_tenant_pools` (open) and
/// `tenantry_db_tenant_pool_connections{state}`. Cheap: call it when the metrics are scraped
/// (as `tenantry serve` does) rather than per request.
pub fn record_pool(db: &DataStore) {
    let (size, idle) = (db.pool_size(), db.pool_idle());
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
    metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use")
        .set(f64::from(size).max(idle as f64) - idle as f64);
    if let Some(registry) = db.registry() {
        let tenants = registry.total_pool_stats();
        metrics::gauge!(TENANT_POOLS).set(tenants.pools as f64);
        metrics::gauge!(TENANT_POOL_CONNECTIONS, "state" => "idle").set(tenants.idle as f64);
        metrics::gauge!(TENANT_POOL_CONNECTIONS, "state" => "in_use")
            .set(f64::from(tenants.connections).max(tenants.idle as f64) - tenants.idle as f64);
    }
}
