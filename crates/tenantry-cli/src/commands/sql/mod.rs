//! `tenantry sql ...`: one tenant's rows out of and back into SQL tables.

mod export_tenant;
mod import_tenant;

use std::{fmt::Display, future::Future, process::ExitCode};

use anyhow::Context as _;
use tenantry::{
    TenantId,
    catalog::Catalog,
    catalog::CatalogStore as _,
    data::{DataError, DataStore, Ident, Registry},
};

use super::USAGE;
use crate::{
    cli::{DatabaseArgs, SqlCommand},
    database::Create,
};

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

/// Opens the database of a `sql` command (`--database-url`, `TENANTRY_DATABASE_URL`,
/// `SQL_URL`, or the demo's), refusing to create one.
async fn connect(db: &DatabaseArgs) -> anyhow::Result<DataStore> {
    crate::database::open(&db.resolve(true), Create::No).await
}

/// `raw` checked with the rule requests use, or the usage message naming `flag`.
fn tenant(flag: &str, raw: &str) -> Result<TenantId, String> {
    TenantId::parse(raw).map_err(|e| format!("{flag} {raw:?} is not a valid tenant id: {e}"))
}

/// Where the database keeps a tenant catalog (`tenantry_tenants`), whether it lists `id`;
/// `None` when there is no catalog to ask (a database tenantry did not set up).
async fn in_catalog(db: &DataStore, id: &TenantId) -> anyhow::Result<Option<bool>> {
    match db.catalog().get(id).await {
        Ok(found) => Ok(Some(found.is_some())),
        Err(e) if crate::database::is_missing_table(&e) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context("cannot read the tenant catalog")),
    }
}

/// The store where `id`'s tables are the unqualified names: `db` for a tenant in shared rows
/// (or one the catalog does not know), else its own schema or database on `db`'s server.
async fn tenant_store(
    db: DataStore,
    args: &DatabaseArgs,
    id: &TenantId,
) -> anyhow::Result<DataStore> {
    let record = match db.catalog().get(id).await {
        Ok(Some(record)) if !record.placement.is_row() => record,
        _ => return Ok(db),
    };
    let registry = Registry::with_store(
        crate::database::servers(args, &args.resolve(true))?,
        Catalog::new(db.catalog()),
        &db,
    );
    registry
        .admin_store(&record.placement)
        .await
        .map_err(|e| match e {
            DataError::Placement(why) => anyhow::anyhow!(why),
            e => e.into(),
        })
        .with_context(|| format!("cannot open tenant {id}'s {}", record.placement))
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
