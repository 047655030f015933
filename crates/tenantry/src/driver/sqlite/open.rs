//! Pools on a SQLite "server": a directory. Its URL names either the server's own file
//! (`sqlite://data/main.db`: shared rows, and tenant files beside it) or only the directory
//! (`sqlite://data/tenants/`, trailing slash: tenant files only). A tenant's database `NAME`
//! is the file `NAME.db` in that directory.

use std::{path::PathBuf, str::FromStr};

use sqlx::{
    Connection, Pool, Sqlite, SqliteConnection,
    sqlite::{SqliteConnectOptions, SqliteJournalMode},
};

use super::BUSY_TIMEOUT;
use crate::driver::{
    ConnectError, Scheme,
    open::{Container, ContainerError, PoolSettings, ServerUrl, TenantJournal, pool_options},
    sealed::Open,
};

/// The server's options, and whether its URL names a directory (ends with `/`).
fn base(server: &ServerUrl) -> Result<(SqliteConnectOptions, bool), ConnectError> {
    let url = &server.url;
    let options = SqliteConnectOptions::from_str(url).map_err(|e| Scheme::unparsable(url, e))?;
    let is_directory = url
        .split('?')
        .next()
        .is_some_and(|path| path.ends_with('/'));
    Ok((options, is_directory))
}

/// The file of tenant database `name` on `server`.
fn tenant_file(
    server: &ServerUrl,
    name: &str,
) -> Result<(SqliteConnectOptions, PathBuf), ConnectError> {
    let (options, is_directory) = base(server)?;
    if crate::driver::open::is_sqlite_in_memory(&server.url) {
        return Err(ConnectError::UnsupportedUrl(
            "sqlite: an in-memory server has no directory for tenant databases".into(),
        ));
    }
    let file = options.get_filename();
    let dir = if is_directory {
        file.to_path_buf()
    } else {
        file.parent().map(PathBuf::from).unwrap_or_default()
    };
    let path = dir.join(format!("{name}.db"));
    Ok((options, path))
}

fn tuned(options: SqliteConnectOptions, create: bool) -> SqliteConnectOptions {
    options
        .create_if_missing(create)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(BUSY_TIMEOUT)
}

/// [`tuned`], for a tenant database file: in the server's journal mode for tenant files. A file
/// in another mode is switched when it is opened with no other connection on it (else it stays
/// as it is until then).
fn tuned_tenant(
    options: SqliteConnectOptions,
    create: bool,
    journal: TenantJournal,
) -> SqliteConnectOptions {
    let mode = match journal {
        TenantJournal::Wal => SqliteJournalMode::Wal,
        TenantJournal::Truncate => SqliteJournalMode::Truncate,
        TenantJournal::Delete => SqliteJournalMode::Delete,
    };
    tuned(options, create).journal_mode(mode)
}

impl Open for Sqlite {
    fn open(
        server: &ServerUrl,
        database: Option<&str>,
        settings: &PoolSettings,
    ) -> Result<Pool<Self>, ConnectError> {
        let options = match database {
            None => {
                let (options, is_directory) = base(server)?;
                if is_directory {
                    return Err(ConnectError::UnsupportedUrl(
                        "sqlite: this server is a directory of tenant databases (its URL ends \
                         with `/`); it holds no shared tables"
                            .into(),
                    ));
                }
                options
            }
            Some(name) => {
                let (options, path) = tenant_file(server, name)?;
                let options = tuned_tenant(
                    options.filename(path),
                    settings.create,
                    server.tenant_journal,
                );
                return Ok(pool_options::<Self>(settings).connect_lazy_with(options));
            }
        };
        Ok(pool_options::<Self>(settings).connect_lazy_with(tuned(options, settings.create)))
    }

    /// A database is a file: claimed with `create_new` (so an existing file is never taken
    /// over), then opened once to give it the server's journal mode for tenant files.
    async fn create_container(
        server: &ServerUrl,
        container: Container<'_>,
    ) -> Result<(), ContainerError> {
        let Container::Database(name) = container else {
            return Err(ContainerError::Unsupported(
                "schema placement needs PostgreSQL, not SQLite".into(),
            ));
        };
        let (options, path) = tenant_file(server, name.as_str())?;
        let what = || format!("cannot create {}", path.display());
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| ContainerError::File {
                what: what(),
                source,
            })?;
        }
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(ContainerError::Exists(format!(
                    "database file {}",
                    path.display()
                )));
            }
            Err(source) => {
                return Err(ContainerError::File {
                    what: what(),
                    source,
                });
            }
        }
        let conn = SqliteConnection::connect_with(&tuned_tenant(
            options.filename(&path),
            false,
            server.tenant_journal,
        ))
        .await
        .map_err(|source| ContainerError::Server {
            what: what(),
            source,
        })?;
        conn.close().await.map_err(|source| ContainerError::Server {
            what: what(),
            source,
        })
    }

    async fn drop_container(
        server: &ServerUrl,
        container: Container<'_>,
    ) -> Result<(), ContainerError> {
        let Container::Database(name) = container else {
            return Ok(());
        };
        let (_, path) = tenant_file(server, name.as_str())?;
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            match std::fs::remove_file(&file) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(ContainerError::File {
                        what: format!("cannot remove {}", PathBuf::from(file).display()),
                        source,
                    });
                }
            }
        }
        Ok(())
    }
}
