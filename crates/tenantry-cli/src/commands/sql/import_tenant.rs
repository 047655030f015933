//! `tenantry sql import-tenant`: an export back into its tables, in one transaction.

use std::{path::Path, process::ExitCode};

use tenantry::export::{self, IdPolicy, ImportOptions, ImportSource, MANIFEST_FILE};

use super::{connect, ident, interruptible, usage};
use crate::{cli::ImportTenantArgs, reporter};

pub(crate) async fn run(args: ImportTenantArgs) -> anyhow::Result<ExitCode> {
    let dir = Path::new(&args.target);
    let source = if dir.is_dir() {
        if args.input.is_some() {
            return usage("--input is for a TABLE; a directory names its files in its manifest");
        }
        if !dir.join(MANIFEST_FILE).is_file() {
            return usage(format!(
                "{} is a directory without {MANIFEST_FILE}; give a TABLE and --input FILE, \
                 or a directory written by `export-tenant --all-tables`",
                dir.display()
            ));
        }
        ImportSource::Directory(dir.to_path_buf())
    } else {
        let table = match ident("TABLE", &args.target) {
            Ok(t) => t,
            Err(e) => {
                return usage(format!(
                    "{e} (give a table name and the file with --input FILE, or an export directory)"
                ));
            }
        };
        let tenant_field = match ident("--tenant-field", &args.tenant_field) {
            Ok(f) => f,
            Err(e) => return usage(e),
        };
        ImportSource::Table {
            table,
            tenant_field,
            input: args.input.clone(),
        }
    };
    if args.tenant_id.trim().is_empty() {
        return usage("--tenant-id must not be empty");
    }
    if args
        .as_tenant
        .as_deref()
        .is_some_and(|t| t.trim().is_empty())
    {
        return usage("--as-tenant must not be empty");
    }
    let url = match args.db.url() {
        Ok(url) => url,
        Err(e) => return usage(e),
    };
    let db = connect(url).await?;
    let pool = db.unscoped_admin("tenantry sql import-tenant: writes one tenant's rows");
    let reporter = reporter::stderr("importing");
    let opts = ImportOptions {
        tenant: args.tenant_id.clone(),
        as_tenant: args.as_tenant.clone(),
        keep_ids: args.keep_ids,
    };
    let summary = interruptible(
        async { Ok(export::import(&pool, source, &opts, reporter.as_ref()).await?) },
        "nothing was imported",
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        for t in &summary.tables {
            let ids = match t.ids {
                Some(IdPolicy::Kept) => ", ids kept",
                Some(IdPolicy::New) => ", new ids",
                None => "",
            };
            eprintln!(
                "imported {} rows into {} for tenant {}{}{ids}",
                t.rows,
                t.table,
                summary.imported_as,
                if summary.imported_as == summary.tenant_id {
                    String::new()
                } else {
                    format!(" (exported from {})", summary.tenant_id)
                },
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
