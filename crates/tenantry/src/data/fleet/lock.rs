//! The run lock: one fleet migration per catalog at a time, released if the process dies.
//! How each backend holds it is its driver's (`driver/*/fleet.rs`).

use super::FleetError;
use crate::{
    data::{DataStore, Registry},
    driver::{Driver, RunLock, dispatch, open::ServerUrl},
};

/// Takes the run lock of the catalog in `central` (`registry`: its servers, for SQLite's file);
/// held until the returned value is dropped.
pub(super) async fn lock(
    central: &DataStore,
    registry: &Registry,
) -> Result<Option<RunLock>, FleetError> {
    let servers = registry.servers();
    let Some(catalog) = servers.spec(servers.default_server()).map(|s| &s.url) else {
        return Err(FleetError::Lock(
            "the catalog's server is not configured".into(),
        ));
    };
    dispatch!(central.pool(), |pool| take(pool, catalog).await).map_err(FleetError::Lock)
}

async fn take<D: Driver>(
    pool: &sqlx::Pool<D>,
    catalog: &ServerUrl,
) -> Result<Option<RunLock>, String> {
    D::run_lock(pool, catalog).await
}
