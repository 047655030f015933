//! A fleet migration on MariaDB / MySQL: the run lock is a named lock held by a connection,
//! and the server's free connections are its limit less the threads connected.

use sqlx::{MySql, MySqlPool};

use crate::driver::{RunLock, open::ServerUrl, sealed::Fleet};

impl Fleet for MySql {
    async fn free_connections(pool: &MySqlPool) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT CAST(@@max_connections AS SIGNED) - CAST(variable_value AS SIGNED) \
             FROM information_schema.global_status WHERE variable_name = 'THREADS_CONNECTED'",
        )
        .fetch_one(pool)
        .await
        .map(Some)
    }

    async fn run_lock(pool: &MySqlPool, _: &ServerUrl) -> Result<Option<RunLock>, String> {
        let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
        let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK('tenantry_migrate', 3600)")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
        if got != Some(1) {
            return Err("another run holds it".into());
        }
        // Detached: closing it (when dropped, or by the process dying) releases the lock.
        Ok(Some(Box::new(conn.detach())))
    }
}
