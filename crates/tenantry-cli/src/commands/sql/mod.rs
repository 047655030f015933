//! `tenantry sql ...`: one tenant's rows out of and back into SQL tables.

mod export_tenant;
mod import_tenant;

use std::{fmt::Display, future::Future, process::ExitCode};

use anyhow::Context as _;
use tenantry::data::{DataStore, Ident};

use super::USAGE;
use crate::cli::{DatabaseArgs, SqlCommand};

pub(crate) async fn run(command: SqlCommand) -> anyhow::Result<ExitCode> {
    match command {
        SqlCommand::ExportTenant(args) => export_tenant::run(args).await,
        SqlCommand::ImportTenant(args) => import_tenant::run(args).await,
    }
}

/// A command-line mistake found after parsing: `error: ...` on stderr, exit 2.
fn usage(message: impl Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(USAGE))
}

/// `name` checked as a SQL identifier, or the usage message naming `what`.
fn ident(what: &str, name: &str) -> Result<Ident, String> {
    Ident::new(name).map_err(|e| format!("{what}: {e}"))
}

impl DatabaseArgs {
    /// The URL, or the usage message naming both ways to give one.
    fn url(&self) -> Result<&str, &'static str> {
        self.database_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .ok_or("no database URL: pass --database-url URL or set SQL_URL")
    }
}

/// Connects, refusing a SQLite file that does not exist (instead of creating an empty one).
async fn connect(url: &str) -> anyhow::Result<DataStore> {
    let shown = redact(url);
    if let Some(path) = sqlite_file(url)
        && !path.exists()
    {
        anyhow::bail!(
            "cannot open {shown}: the file {} does not exist",
            path.display()
        );
    }
    // One plain connection first: a pool only says it timed out, this says why (refused,
    // unknown host, bad password, no such database).
    probe(url)
        .await
        .with_context(|| format!("cannot connect to {shown}"))?;
    DataStore::connect(url)
        .await
        .with_context(|| format!("cannot connect to {shown}"))
}

pub(super) async fn probe(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection as _;

    let scheme = url
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let attempt = async {
        match scheme.as_str() {
            "postgres" | "postgresql" => sqlx::PgConnection::connect(url).await?.close().await,
            "mysql" | "mariadb" => sqlx::MySqlConnection::connect(url).await?.close().await,
            _ => Ok(()),
        }
    };
    match tokio::time::timeout(std::time::Duration::from_secs(10), attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(sqlx::Error::Database(db))) => anyhow::bail!("{}", db.message()),
        Ok(Err(e)) => Err(anyhow::anyhow!("{}", one_line(&e))),
        Err(_) => anyhow::bail!("no answer within 10 s"),
    }
}

/// The first line of an error (drivers sometimes append detail lines).
fn one_line(e: &dyn Display) -> String {
    e.to_string().lines().next().unwrap_or_default().to_owned()
}

/// The file of a `sqlite:` URL (not for in-memory databases).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    if rest.contains(":memory:") || rest.contains("mode=memory") {
        return None;
    }
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty()).then(|| path.into())
}

/// `url` with any password replaced by `***`.
fn redact(url: &str) -> String {
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

/// Runs `work` until it finishes or the process gets Ctrl-C / SIGTERM; then `work` is dropped
/// (which removes a half-written temporary file, or rolls back a transaction) and the error
/// says `what_remains`.
async fn interruptible<T>(
    work: impl Future<Output = anyhow::Result<T>>,
    what_remains: &str,
) -> anyhow::Result<T> {
    // Handlers are installed before the work starts, so a signal can never take the default
    // action (dying without cleaning up) while the work runs.
    #[cfg(unix)]
    let stop = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        async move {
            tokio::select! {
                _ = int.recv() => "interrupted",
                _ = term.recv() => "terminated",
            }
        }
    };
    #[cfg(not(unix))]
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    };
    tokio::select! {
        biased;
        why = stop => anyhow::bail!("{why}; {what_remains}"),
        result = work => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_files_and_redaction() {
        assert_eq!(
            sqlite_file("sqlite://a/b.db?mode=rwc"),
            Some("a/b.db".into())
        );
        assert_eq!(sqlite_file("sqlite:///tmp/x.db"), Some("/tmp/x.db".into()));
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x"), None);
        assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("mysql://root@h/db"), "mysql://root@h/db");
    }
}
