//! `tenantry tenants ...`: the catalog table, for operators and scripts.

use std::process::ExitCode;

use anyhow::Context as _;
use serde_json::Value;
use tenantry::{
    TenantId,
    catalog::{
        Catalog, CatalogError, CatalogStore, Placement, PlacementKind, ServerName, SqlCatalog,
        TenantRecord, TenantStatus,
    },
    data::{DataStore, ProvisionError, Registry, Servers, TenantSetup},
};

use super::USAGE;
use crate::cli::{
    CatalogArgs, StatusArg, TenantArgs, TenantsCommand, TenantsCreateArgs, TenantsDeleteArgs,
    TenantsListArgs,
};
use crate::database::{self, Create};

pub(crate) async fn run(command: TenantsCommand) -> anyhow::Result<ExitCode> {
    match command {
        TenantsCommand::List(args) => list(args).await,
        TenantsCommand::Show(args) => show(args).await,
        TenantsCommand::Create(args) => create(args).await,
        TenantsCommand::Suspend(args) => set_status(args, TenantStatus::Suspended).await,
        TenantsCommand::Resume(args) => set_status(args, TenantStatus::Active).await,
        TenantsCommand::Delete(args) => delete(args).await,
    }
}

fn usage(message: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    eprintln!("error: {message}");
    Ok(ExitCode::from(USAGE))
}

fn tenant_id(raw: &str) -> Result<TenantId, String> {
    TenantId::parse(raw).map_err(|e| format!("invalid tenant id {raw:?}: {e}"))
}

fn status(s: StatusArg) -> TenantStatus {
    match s {
        StatusArg::Active => TenantStatus::Active,
        StatusArg::Suspended => TenantStatus::Suspended,
        StatusArg::Provisioning => TenantStatus::Provisioning,
        StatusArg::ProvisioningFailed => TenantStatus::ProvisioningFailed,
        StatusArg::Moving => TenantStatus::Moving,
        StatusArg::Deleted => TenantStatus::Deleted,
    }
}

/// The catalog of `c`'s database (which must exist: only `serve` creates one). `create`: make
/// the catalog table if missing (`tenants create`); other verbs need it to be there.
async fn open(c: &CatalogArgs, create: bool) -> anyhow::Result<Store> {
    let url = c.db.resolve(false);
    let db = database::open(&url, Create::No).await?;
    let store = db.catalog();
    if create {
        store
            .migrate()
            .await
            .context("cannot create the catalog table")?;
    }
    let servers = database::servers(&c.db, &url)?;
    Ok(Store {
        store,
        url,
        db,
        servers,
    })
}

/// A catalog, the URL it came from (for messages) and its database.
struct Store {
    store: SqlCatalog,
    url: String,
    db: DataStore,
    servers: Servers,
}

impl Store {
    /// The registry placing tenants on this database's server (`main`).
    fn registry(&self) -> anyhow::Result<Registry> {
        let servers = self.servers.clone();
        Ok(Registry::with_store(
            servers,
            Catalog::new(self.store.clone()),
            &self.db,
        ))
    }
}

impl Store {
    /// `e`, or for a missing table the message saying how to get one.
    fn explain(&self, e: CatalogError) -> anyhow::Error {
        if database::is_missing_table(&e) {
            anyhow::anyhow!(
                "{} has no tenant catalog (table tenantry_tenants); `tenantry tenants create ID` \
                 makes one, `tenantry serve` makes the demo's",
                database::redact(&self.url)
            )
        } else {
            e.into()
        }
    }

    async fn list(&self) -> anyhow::Result<Vec<TenantRecord>> {
        self.store.list().await.map_err(|e| self.explain(e))
    }

    async fn get(&self, id: &TenantId) -> anyhow::Result<TenantRecord> {
        self.store
            .get(id)
            .await
            .map_err(|e| self.explain(e))?
            .with_context(|| format!("tenant {id} does not exist"))
    }
}

async fn list(args: TenantsListArgs) -> anyhow::Result<ExitCode> {
    let store = open(&args.catalog, false).await?;
    let mut records = store.list().await?;
    if let Some(s) = args.status {
        records.retain(|r| r.status == status(s));
    }
    if args.catalog.json {
        println!("{}", serde_json::to_string_pretty(&records)?);
    } else {
        print!("{}", table(&records));
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(args: TenantArgs) -> anyhow::Result<ExitCode> {
    let id = match tenant_id(&args.id) {
        Ok(id) => id,
        Err(e) => return usage(e),
    };
    let store = open(&args.catalog, false).await?;
    let record = store.get(&id).await?;
    if args.catalog.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        print!("{}", details(&record));
    }
    Ok(ExitCode::SUCCESS)
}

async fn create(args: TenantsCreateArgs) -> anyhow::Result<ExitCode> {
    let id = match tenant_id(&args.id) {
        Ok(id) => id,
        Err(e) => return usage(e),
    };
    let server = match args.server.as_deref().map(ServerName::new).transpose() {
        Ok(server) => server,
        Err(e) => return usage(format!("--server: {e}")),
    };
    let kind = args.placement.parse::<PlacementKind>().ok();
    let exact = match kind {
        Some(_) => None,
        None => match args.placement.parse::<Placement>() {
            Ok(p) if server.is_some() && p.server().is_some() => {
                return usage("give the server either in --placement (@NAME) or as --server");
            }
            Ok(p) => Some(match server.clone() {
                Some(server) => p.on(server),
                None => p,
            }),
            Err(_) => {
                return usage(format!(
                    "--placement {:?} is not row, schema, database, schema:NAME or \
                     database:NAME (optionally @SERVER)",
                    args.placement
                ));
            }
        },
    };
    let settings = match serde_json::from_str::<Value>(&args.settings) {
        Ok(v @ Value::Object(_)) => v,
        _ => return usage("--settings must be a JSON object"),
    };
    let name = args.name.clone().unwrap_or_else(|| id.to_string());
    if name.trim().is_empty() {
        return usage("--name must not be empty");
    }
    let store = open(&args.catalog, true).await?;
    let registry = store.registry()?;
    let placement = match (exact, kind) {
        (Some(p), _) => p,
        (None, Some(kind)) => match registry.generate(&id, kind, server) {
            Ok(p) => p,
            Err(e) => return usage(format!("--placement {}: {e}", args.placement)),
        },
        (None, None) => unreachable!("one of the two parsed"),
    };
    let record = TenantRecord::new(id, name)
        .with_plan(args.plan.clone())
        .with_status(status(args.status))
        .with_placement(placement.clone())
        .with_settings(settings);
    let record = if placement.is_row() {
        store.store.create(&record).await?;
        record
    } else {
        // Held as `provisioning` (423) while its schema or database is made with the demo's
        // tables; on failure nothing is kept and the record says `provisioning_failed`.
        let id = record.id.clone();
        let mut setup = TenantSetup::tables([crate::demo::items()?]);
        if let Some(dir) = &args.migrations {
            let migrations = match sqlx::migrate::Migrator::new(dir.as_path()).await {
                Ok(m) => m,
                Err(e) => return usage(format!("--migrations {}: {e}", dir.display())),
            };
            setup = setup.migrations(migrations);
        }
        match registry.provision_tenant(record, &setup).await {
            Ok(made) => made,
            Err(ProvisionError::Failed { why, recorded, .. }) => anyhow::bail!(
                "cannot provision tenant {id} at {placement}: {why}; nothing was kept{}",
                if recorded {
                    format!(
                        ", and the tenant is provisioning_failed \
                         (`tenantry tenants create {id} ...` again retries)"
                    )
                } else {
                    String::new()
                }
            ),
            Err(ProvisionError::Catalog(e)) => return Err(e.into()),
            Err(e) => return Err(e.into()),
        }
    };
    report(
        &args.catalog,
        &record,
        &format!(
            "created tenant {} ({}, {})",
            record.id, record.status, record.placement
        ),
    )
}

async fn set_status(args: TenantArgs, to: TenantStatus) -> anyhow::Result<ExitCode> {
    let id = match tenant_id(&args.id) {
        Ok(id) => id,
        Err(e) => return usage(e),
    };
    let store = open(&args.catalog, false).await?;
    let mut record = store.get(&id).await?;
    let from = record.status;
    if to == TenantStatus::Suspended && from == TenantStatus::Deleted {
        anyhow::bail!("tenant {id} is deleted; `tenantry tenants resume {id}` restores it first");
    }
    if from != to {
        record.status = to;
        record.touch();
        store.store.update(&record).await?;
    }
    report(&args.catalog, &record, &transition(&id, from, to))
}

async fn delete(args: TenantsDeleteArgs) -> anyhow::Result<ExitCode> {
    let id = match tenant_id(&args.id) {
        Ok(id) => id,
        Err(e) => return usage(e),
    };
    let store = open(&args.catalog, false).await?;
    let mut record = store.get(&id).await?;
    if args.purge && !record.placement.is_row() {
        if args.confirm.as_deref() != Some(id.as_str()) {
            return usage(format!(
                "tenant {id} has its own {} ({}): --purge drops it with all its data; \
                 repeat the id with --confirm {id}",
                record.placement.kind(),
                record.placement
            ));
        }
        if !matches!(
            record.status,
            TenantStatus::Suspended | TenantStatus::Deleted
        ) {
            anyhow::bail!(
                "tenant {id} is {}; suspend it first (`tenantry tenants suspend {id}`), then purge",
                record.status
            );
        }
        store
            .registry()?
            .drop_placement(&record.placement)
            .await
            .with_context(|| format!("cannot drop {}", record.placement))?;
    }
    if args.purge {
        store.store.remove(&id).await?;
        if args.catalog.json {
            println!("{}", serde_json::json!({ "id": id, "purged": true }));
        } else {
            if record.placement.is_row() {
                eprintln!(
                    "purged tenant {id} from the catalog (rows in data tables are untouched)"
                );
            } else {
                eprintln!(
                    "purged tenant {id}: dropped {} and its record",
                    record.placement
                );
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let from = record.status;
    if from != TenantStatus::Deleted {
        record.status = TenantStatus::Deleted;
        record.touch();
        store.store.update(&record).await?;
    }
    report(
        &args.catalog,
        &record,
        &transition(&id, from, TenantStatus::Deleted),
    )
}

fn transition(id: &TenantId, from: TenantStatus, to: TenantStatus) -> String {
    if from == to {
        format!("tenant {id} is already {to}")
    } else {
        format!("tenant {id}: {from} -> {to}")
    }
}

/// The record as JSON on stdout with `--json`; otherwise one line on stderr.
fn report(c: &CatalogArgs, record: &TenantRecord, line: &str) -> anyhow::Result<ExitCode> {
    if c.json {
        println!("{}", serde_json::to_string_pretty(record)?);
    } else {
        eprintln!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

fn stamp(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Aligned columns with a header; `(no tenants)` when empty.
fn table(records: &[TenantRecord]) -> String {
    if records.is_empty() {
        return "(no tenants)\n".to_owned();
    }
    let header = ["ID", "NAME", "STATUS", "PLAN", "PLACEMENT", "CREATED"].map(str::to_owned);
    let rows: Vec<[String; 6]> = records
        .iter()
        .map(|r| {
            [
                r.id.to_string(),
                r.name.clone(),
                r.status.to_string(),
                r.plan.clone(),
                r.placement.to_string(),
                stamp(&r.created_at),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

fn details(r: &TenantRecord) -> String {
    format!(
        "id:         {}\nname:       {}\nstatus:     {}\nplan:       {}\nplacement:  {}\n\
         isolation:  {}\nsettings:   {}\ncreated_at: {}\nupdated_at: {}\n",
        r.id,
        r.name,
        r.status,
        r.plan,
        r.placement,
        r.placement.isolation(),
        r.settings,
        stamp(&r.created_at),
        stamp(&r.updated_at)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_human_table_is_aligned() {
        let a = TenantRecord::new(TenantId::parse("acme").unwrap(), "Acme Corp").with_plan("pro");
        let b = TenantRecord::new(TenantId::parse("globex-industries").unwrap(), "G");
        let text = table(&[a, b]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[0].starts_with("ID                 NAME       STATUS  PLAN  PLACEMENT  CREATED")
        );
        assert!(lines[1].starts_with("acme               Acme Corp  active  pro   row"));
        assert_eq!(table(&[]), "(no tenants)\n");
    }
}
