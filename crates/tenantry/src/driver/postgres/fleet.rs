//! A fleet migration on PostgreSQL: the run lock is a session advisory lock, and the server's
//! free connections are its limit less the superuser reserve and the client backends.

use sqlx::{PgPool, Postgres};

use crate::driver::{RunLock, open::ServerUrl, sealed::Fleet};

/// The advisory lock's key (any fixed number; tenantry's own).
const RUN_LOCK_KEY: i64 = 7370661283316395387;

impl Fleet for Postgres {
    async fn free_connections(pool: &PgPool) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT current_setting('max_connections')::bigint \
             - current_setting('superuser_reserved_connections')::bigint \
             - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')",
        )
        .fetch_one(pool)
        .await
        .map(Some)
    }

    async fn run_lock(pool: &PgPool, _: &ServerUrl) -> Result<Option<RunLock>, String> {
        let mut conn = pool.acquire().await.map_err(|e| e.to_string())?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(RUN_LOCK_KEY)
            .execute(&mut *conn)
            .await
            .map_err(|e| e.to_string())?;
        // Detached: closing it (when dropped, or by the process dying) releases the lock.
        Ok(Some(Box::new(conn.detach())))
    }
}
