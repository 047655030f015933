//! The run lock: one fleet migration per catalog at a time, released if the process dies.

use super::FleetError;
use crate::data::{DataStore, Registry};

/// Held for the run: one fleet migration per catalog at a time.
pub(super) enum RunLock {
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    Connection(#[allow(dead_code)] Box<dyn std::any::Any + Send>),
    #[cfg(feature = "sqlite")]
    File(#[allow(dead_code)] std::fs::File),
    #[allow(dead_code)]
    None,
}

// `registry` names the SQLite catalog's file; the other backends lock on a connection.
#[cfg_attr(not(feature = "sqlite"), allow(unused_variables))]
pub(super) async fn lock(central: &DataStore, registry: &Registry) -> Result<RunLock, FleetError> {
    use crate::driver::AnyPool;
    let fail = |e: &dyn std::fmt::Display| FleetError::Lock(e.to_string());
    match central.pool() {
        #[cfg(feature = "postgres")]
        AnyPool::Postgres(pool) => {
            let mut conn = pool.acquire().await.map_err(|e| fail(&e))?;
            sqlx::query("SELECT pg_advisory_lock(7370661283316395387)")
                .execute(&mut *conn)
                .await
                .map_err(|e| fail(&e))?;
            // Detached: closing it (here, or by the process dying) releases the lock.
            Ok(RunLock::Connection(Box::new(conn.detach())))
        }
        #[cfg(feature = "mysql")]
        AnyPool::MySql(pool) => {
            let mut conn = pool.acquire().await.map_err(|e| fail(&e))?;
            let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK('tenantry_migrate', 3600)")
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| fail(&e))?;
            if got != Some(1) {
                return Err(FleetError::Lock("another run holds it".into()));
            }
            Ok(RunLock::Connection(Box::new(conn.detach())))
        }
        #[cfg(feature = "sqlite")]
        AnyPool::Sqlite(_) => {
            let url = &registry
                .servers()
                .spec(registry.servers().default_server())
                .map(|s| s.url.url.clone())
                .unwrap_or_default();
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or("")
                .split('?')
                .next()
                .unwrap_or("");
            if path.is_empty() || path.contains(":memory:") {
                return Ok(RunLock::None);
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(format!("{path}.migrate-lock"))
                .map_err(|e| fail(&e))?;
            let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
                .await
                .map_err(|e| fail(&e))?
                .map_err(|e| fail(&e))?;
            Ok(RunLock::File(file))
        }
    }
}
