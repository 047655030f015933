//! [`record_pool`]: connection pool gauges, set when the metrics are read.

use super::POOL_CONNECTIONS;
use crate::data::DataStore;

/// Sets `tenantry_db_pool_connections{state="idle"|"in_use"}` from `db`'s pool. Cheap: call it
/// when the metrics are scraped (as `tenantry serve` does) rather than per request.
pub fn record_pool(db: &DataStore) {
    let (size, idle) = (db.pool_size(), db.pool_idle());
    metrics::gauge!(POOL_CONNECTIONS, "state" => "idle").set(idle as f64);
    metrics::gauge!(POOL_CONNECTIONS, "state" => "in_use")
        .set(f64::from(size).max(idle as f64) - idle as f64);
}
