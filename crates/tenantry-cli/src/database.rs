//! The database every command works on: one URL (flag, `TENANTRY_DATABASE_URL`, `SQL_URL` for the
//! `sql` commands, or the demo's default), checked before anything connects so that a mistake
//! gets its root cause in one line and never creates a database by accident.

use std::{
    fmt::Display,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::Context as _;
use tenantry::data::{DataStore, ServerConfig, Servers, ServersConfig};

use crate::cli::{DEFAULT_DATABASE_URL, DatabaseArgs};

/// How long a first connection may take before the command gives up with the cause.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether opening may create a missing SQLite file. Only `tenantry serve` creates a database
/// (the demo's); every other command refuses a file that does not exist, unless its URL asks
/// for creation with `?mode=rwc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Create {
    Yes,
    No,
}

/// A command-line mistake in the URL (exit 2), apart from a database that fails (exit 1).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadUrl(pub(crate) String);

impl DatabaseArgs {
    /// The URL: `--database-url`, else `TENANTRY_DATABASE_URL` (clap reads both), else
    /// `SQL_URL` when `sql_url` (the `sql` commands, as svc-infra's CLI reads it), else the
    /// demo's database.
    pub(crate) fn resolve(&self, sql_url: bool) -> String {
        let given = self.database_url.clone().filter(|u| !u.trim().is_empty());
        let from_sql_url = || {
            std::env::var("SQL_URL")
                .ok()
                .filter(|u| sql_url && !u.trim().is_empty())
        };
        given
            .or_else(from_sql_url)
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
    }
}

/// The servers tenants may be placed on: `main` at `url` (the catalog's), and those of the
/// `--servers` file. A file that does not parse, names `main` or a `default`, or names an
/// environment variable that is not set is a usage error (exit 2).
pub(crate) fn servers(args: &DatabaseArgs, url: &str) -> anyhow::Result<Servers> {
    servers_with(args, ServerConfig::url(url.to_owned()))
}

/// [`servers`] with `main` configured as `main` says (its URL and any limits `serve` sets).
pub(crate) fn servers_with(args: &DatabaseArgs, main: ServerConfig) -> anyhow::Result<Servers> {
    let mut config = match &args.servers {
        None => ServersConfig::default(),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| BadUrl(format!("--servers {}: {e}", path.display())))?;
            let config: ServersConfig = toml::from_str(&text)
                .map_err(|e| BadUrl(format!("--servers {}: {}", path.display(), one_line(&e))))?;
            if config.default.is_some() || config.servers.contains_key(MAIN) {
                return Err(BadUrl(format!(
                    "--servers {}: `{MAIN}` is the database URL's server and the default; the \
                     file lists the others",
                    path.display()
                ))
                .into());
            }
            config
        }
    };
    config.servers.insert(MAIN.to_owned(), main);
    config.default = Some(MAIN.to_owned());
    Servers::from_config(config).map_err(|e| BadUrl(e.to_string()).into())
}

/// The server of the database URL.
const MAIN: &str = "main";

/// `url` with any password replaced by `***`.
pub(crate) fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The backend a URL names, for logs: `sqlite`, `postgres`, `mysql`.
pub(crate) fn kind(url: &str) -> &'static str {
    match url.split(':').next().unwrap_or_default() {
        s if s.eq_ignore_ascii_case("sqlite") => "sqlite",
        s if s.eq_ignore_ascii_case("postgres") || s.eq_ignore_ascii_case("postgresql") => {
            "postgres"
        }
        s if s.eq_ignore_ascii_case("mysql") || s.eq_ignore_ascii_case("mariadb") => "mysql",
        _ => "unknown",
    }
}

/// What a `sqlite:` URL names.
#[derive(Debug, PartialEq, Eq)]
enum SqliteTarget {
    /// An in-memory database.
    Memory,
    /// A file; `create`: the URL asks for creation (`mode=rwc`).
    File { path: PathBuf, create: bool },
    /// `sqlite:` or `sqlite://` alone.
    Nothing,
}

fn sqlite_target(url: &str) -> Option<SqliteTarget> {
    let rest = url
        .get(..7)
        .filter(|s| s.eq_ignore_ascii_case("sqlite:"))
        .map(|_| &url[7..])?;
    if rest.contains(":memory:") || rest.contains("mode=memory") {
        return Some(SqliteTarget::Memory);
    }
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Some(SqliteTarget::Nothing);
    }
    let create = query.split('&').any(|kv| kv == "mode=rwc");
    Some(SqliteTarget::File {
        path: path.into(),
        create,
    })
}

/// Checks a SQLite URL against the file system before SQLite sees it: SQLite's own answer for
/// every failure is "unable to open database file", which names no cause.
fn check_sqlite(url: &str, create: Create) -> anyhow::Result<()> {
    let shown = redact(url);
    let Some(target) = sqlite_target(url) else {
        return Ok(());
    };
    let (path, url_creates) = match target {
        SqliteTarget::Memory => return Ok(()),
        SqliteTarget::Nothing => {
            return Err(BadUrl(format!(
                "database URL {shown:?} names no file; give sqlite://FILE (the demo's is \
                 {DEFAULT_DATABASE_URL})"
            ))
            .into());
        }
        SqliteTarget::File { path, create } => (path, create),
    };
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => {
            anyhow::bail!("cannot open {shown}: {} is a directory", path.display())
        }
        Ok(_) => std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map(drop)
            .with_context(|| format!("cannot open {shown}: {} is not writable", path.display())),
        Err(_) if create == Create::No && !url_creates => {
            let hint = if url == DEFAULT_DATABASE_URL {
                "`tenantry serve` creates the demo's here; or pass --database-url or set \
                 TENANTRY_DATABASE_URL"
            } else {
                "only `tenantry serve` creates a database, or a URL ending in ?mode=rwc"
            };
            anyhow::bail!(
                "cannot open {shown}: the file {} does not exist ({hint})",
                path.display()
            )
        }
        Err(_) => {
            let dir = parent(&path);
            if !dir.is_dir() {
                anyhow::bail!(
                    "cannot create {shown}: the directory {} does not exist",
                    dir.display()
                );
            }
            // An empty file is an empty SQLite database: creating it here is what SQLite would
            // do next, and a failure names its cause (permission denied, read-only file system).
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .map(drop)
                .with_context(|| format!("cannot create {shown}"))
        }
    }
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Opens `url`: the file checks above, then one plain connection (a pool only says it timed
/// out; this says why: refused, unknown host, authentication failed, no such database), then
/// the pool. Every message names the URL without its password, and its cause once.
pub(crate) async fn open(url: &str, create: Create) -> anyhow::Result<DataStore> {
    open_as(url, create, Use::Batch).await
}

/// What a store is opened for: a command's batch work (a slow database is waited for, up to
/// 5 s per connection), or `serve`'s requests (750 ms, then 503: `DataStore::connect_serving`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    Batch,
    Serving,
}

/// [`open`] for `use_`.
pub(crate) async fn open_as(url: &str, create: Create, use_: Use) -> anyhow::Result<DataStore> {
    check_sqlite(url, create)?;
    let shown = redact(url);
    probe(url)
        .await
        .with_context(|| format!("cannot connect to {shown}"))?;
    let store = match use_ {
        Use::Batch => DataStore::connect(url).await,
        Use::Serving => DataStore::connect_serving(url).await,
    };
    match store {
        Ok(db) => Ok(db),
        Err(tenantry::data::DataError::Unsupported(why)) => {
            Err(BadUrl(format!("unsupported database URL {shown}: {why}")).into())
        }
        Err(e) => Err(anyhow::anyhow!("{}", root_cause(&e)))
            .with_context(|| format!("cannot connect to {shown}")),
    }
}

async fn probe(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection as _;

    let attempt = async {
        match kind(url) {
            "postgres" => sqlx::PgConnection::connect(url).await?.close().await,
            "mysql" => sqlx::MySqlConnection::connect(url).await?.close().await,
            _ => Ok(()),
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(sqlx::Error::Database(db))) => anyhow::bail!("{}", db.message()),
        Ok(Err(sqlx::Error::Configuration(e))) => {
            Err(BadUrl(format!("the URL does not parse: {}", one_line(&e))).into())
        }
        Ok(Err(e)) => anyhow::bail!("{}", root_cause(&e)),
        Err(_) => anyhow::bail!("no answer within {} s", CONNECT_TIMEOUT.as_secs()),
    }
}

/// The innermost cause of `e`, on one line (drivers repeat their source in their own text).
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last: &dyn std::error::Error = e;
    while let Some(next) = last.source() {
        last = next;
    }
    let text = one_line(last);
    text.strip_prefix("error communicating with database: ")
        .unwrap_or(&text)
        .to_owned()
}

/// The first line of an error (drivers sometimes append detail lines).
pub(crate) fn one_line(e: &dyn Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

/// Whether `e` says a table does not exist (SQLite, PostgreSQL `42P01`, MariaDB `42S02`).
pub(crate) fn is_missing_table(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(sqlx::Error::Database(db)) = err.downcast_ref::<sqlx::Error>() {
            let code = db.code().unwrap_or_default();
            return code == "42P01" || code == "42S02" || db.message().contains("no such table");
        }
        cur = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_targets_and_redaction() {
        assert_eq!(
            sqlite_target("sqlite://a/b.db?mode=rwc"),
            Some(SqliteTarget::File {
                path: "a/b.db".into(),
                create: true
            })
        );
        assert_eq!(
            sqlite_target("sqlite:///tmp/x.db"),
            Some(SqliteTarget::File {
                path: "/tmp/x.db".into(),
                create: false
            })
        );
        assert_eq!(sqlite_target("sqlite::memory:"), Some(SqliteTarget::Memory));
        assert_eq!(sqlite_target("sqlite:"), Some(SqliteTarget::Nothing));
        assert_eq!(sqlite_target("sqlite://"), Some(SqliteTarget::Nothing));
        assert_eq!(sqlite_target("postgres://x"), None);
        assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("mysql://root@h/db"), "mysql://root@h/db");
        assert_eq!(kind("postgresql://h"), "postgres");
        assert_eq!(kind("mariadb://h"), "mysql");
    }
}
