//! A fleet migration on SQLite: the run lock is an advisory lock on a file beside the
//! catalog's database (`main.db.migrate-lock`), released by the kernel if the process dies;
//! SQLite has no connection limit to share.

use sqlx::{Sqlite, SqlitePool};

use crate::driver::{RunLock, open::ServerUrl, sealed::Fleet};

impl Fleet for Sqlite {
    async fn free_connections(_: &SqlitePool) -> Result<Option<i64>, sqlx::Error> {
        Ok(None)
    }

    async fn run_lock(_: &SqlitePool, catalog: &ServerUrl) -> Result<Option<RunLock>, String> {
        let url = &catalog.url;
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or("")
            .split('?')
            .next()
            .unwrap_or("");
        if path.is_empty() || path.contains(":memory:") {
            return Ok(None);
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(format!("{path}.migrate-lock"))
            .map_err(|e| e.to_string())?;
        let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        Ok(Some(Box::new(file)))
    }
}
