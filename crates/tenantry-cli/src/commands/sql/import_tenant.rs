//! `tenantry sql import-tenant`: an export back into its tables, in one transaction.

use std::{path::Path, process::ExitCode};

use anyhow::Context as _;
use tenantry::{
    catalog::{CatalogStore as _, TenantRecord},
    export::{self, IdPolicy, ImportOptions, ImportSource, MANIFEST_FILE},
};

use super::{connect, ident, in_catalog, interruptible, tenant, tenant_store, usage};
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
        if args.create_tables {
            return usage(
                "--create-tables needs an export directory (`export-tenant --all-tables`), whose \
                 manifest carries the table definitions; one table's file has none",
            );
        }
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
    let tenant_id = match tenant("--tenant-id", &args.tenant_id) {
        Ok(t) => t,
        Err(e) => return usage(e),
    };
    let as_tenant = match args.as_tenant.as_deref().map(|t| tenant("--as-tenant", t)) {
        Some(Err(e)) => return usage(e),
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let db = connect(&args.db).await?;
    // Rows written under a tenant the catalog does not know could never be read through the
    // service: refuse, unless asked to add the tenant.
    if let Some(target) = &as_tenant {
        match in_catalog(&db, target).await? {
            Some(true) => {}
            Some(false) if args.create_tenant => {
                db.catalog()
                    .create(&TenantRecord::new(target.clone(), target.as_str()))
                    .await
                    .with_context(|| format!("cannot add tenant {target} to the catalog"))?;
                eprintln!("created tenant {target} (active, plan free) in the catalog");
            }
            Some(false) => anyhow::bail!(
                "tenant {target} is not in the catalog of this database; create it first \
                 (`tenantry tenants create {target}`) or pass --create-tenant"
            ),
            None if args.create_tenant => {
                let store = db.catalog();
                store
                    .migrate()
                    .await
                    .context("cannot create the tenant catalog")?;
                store
                    .create(&TenantRecord::new(target.clone(), target.as_str()))
                    .await
                    .with_context(|| format!("cannot add tenant {target} to the catalog"))?;
                eprintln!("created tenant {target} (active, plan free) in a new catalog");
            }
            // A database tenantry did not set up has no catalog to check against.
            None => {}
        }
    }
    let target = as_tenant.as_ref().unwrap_or(&tenant_id);
    let db = tenant_store(db, &args.db, target).await?;
    let pool = db.unscoped_admin("tenantry sql import-tenant: writes one tenant's rows");
    let reporter = reporter::stderr("importing");
    let opts = ImportOptions {
        tenant: tenant_id.to_string(),
        as_tenant: as_tenant.as_ref().map(ToString::to_string),
        keep_ids: args.keep_ids,
        create_tables: args.create_tables,
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
