//! `tenantry sql export-tenant`: one tenant's rows as JSON, streamed and written atomically.

use std::{io::Write as _, process::ExitCode};

use tenantry::export::{self, ExportRequest, Format};

use super::{connect, ident, in_catalog, interruptible, tenant, tenant_store, usage};
use crate::{
    cli::{ExportTenantArgs, FormatArg},
    reporter,
};

pub(crate) async fn run(args: ExportTenantArgs) -> anyhow::Result<ExitCode> {
    // Names are checked before anything connects: a hostile one never reaches a database.
    let tenant_field = match ident("--tenant-field", &args.tenant_field) {
        Ok(f) => f,
        Err(e) => return usage(e),
    };
    let table = match args.table.as_deref().map(|t| ident("TABLE", t)).transpose() {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let tenant_id = match tenant("--tenant-id", &args.tenant_id) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let format = match args.format {
        FormatArg::Json => Format::Json,
        FormatArg::Ndjson => Format::Ndjson,
    };
    let db = connect(&args.db).await?;
    // A typo must not pass as an empty export: where the database has a catalog, the tenant
    // must be in it; where it has none, an export without rows says so on stderr.
    let catalog = in_catalog(&db, &tenant_id).await?;
    if catalog == Some(false) {
        anyhow::bail!(
            "tenant {tenant_id} is not in the catalog of this database \
             (`tenantry tenants list` shows its tenants)"
        );
    }
    let db = tenant_store(db, &args.db, &tenant_id).await?;
    let pool = db.unscoped_admin("tenantry sql export-tenant: reads one tenant's rows");
    let reporter = reporter::stderr("exporting");
    let mut req = ExportRequest::new(
        table.clone().unwrap_or_else(|| tenant_field.clone()),
        tenant_id.to_string(),
    );
    req.tenant_field = tenant_field;
    req.limit = args.limit.filter(|&n| n > 0);
    req.format = format;

    let rows = match (table, args.output) {
        (None, Some(dir)) => {
            let manifest = interruptible(
                async {
                    Ok(export::export_all_tables(&pool, &req, &dir, reporter.as_ref()).await?)
                },
                "no directory was written",
            )
            .await?;
            for name in &manifest.skipped {
                eprintln!("warning: skipped table {name:?}: not a plain SQL identifier");
            }
            let rows: u64 = manifest.tables.iter().map(|t| t.rows).sum();
            if reporter::interactive() {
                eprintln!(
                    "exported {rows} rows of tenant {} from {} tables into {}",
                    req.tenant,
                    manifest.tables.len(),
                    dir.display()
                );
            }
            rows
        }
        (Some(_), Some(path)) => {
            let done = interruptible(
                async {
                    Ok(export::export_table_to_path(&pool, &req, &path, reporter.as_ref()).await?)
                },
                "no file was written",
            )
            .await?;
            if reporter::interactive() {
                eprintln!(
                    "exported {} rows of tenant {} from {} to {}",
                    done.rows,
                    req.tenant,
                    done.table,
                    path.display()
                );
            }
            done.rows
        }
        (Some(_), None) => {
            let stdout = std::io::stdout();
            let out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
            let result = interruptible(
                async { Ok(export::export_table(&pool, &req, out, reporter.as_ref()).await?) },
                "the output is incomplete",
            )
            .await;
            match result {
                Ok(done) => done.rows,
                // The reader went away (`| head`): not a failure of ours.
                Err(e)
                    if e.downcast_ref::<export::ExportError>()
                        .is_some_and(export::ExportError::is_broken_pipe) =>
                {
                    return Ok(ExitCode::SUCCESS);
                }
                Err(e) => {
                    let _ = std::io::stdout().flush();
                    return Err(e);
                }
            }
        }
        (None, None) => return usage("--all-tables needs --output DIR"),
    };
    if rows == 0 && catalog.is_none() {
        eprintln!(
            "warning: no rows of tenant {tenant_id}; this database has no tenant catalog to \
             tell an unknown tenant from an empty one"
        );
    }
    Ok(ExitCode::SUCCESS)
}
