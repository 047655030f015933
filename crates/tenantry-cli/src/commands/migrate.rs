//! `tenantry migrate`: the application's migrations on every placement, with a report.

use std::process::ExitCode;

use tenantry::{
    TenantId,
    catalog::Catalog,
    data::{FleetOptions, Outcome, Registry},
};

use super::USAGE;
use crate::{
    cli::MigrateArgs,
    database::{self, Create},
};

pub(crate) async fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let tenants = match &args.tenants {
        None => None,
        Some(ids) => {
            let mut parsed = Vec::new();
            for raw in ids {
                match TenantId::parse(raw) {
                    Ok(id) => parsed.push(id),
                    Err(e) => {
                        eprintln!("error: --tenants: invalid tenant id {raw:?}: {e}");
                        return Ok(ExitCode::from(USAGE));
                    }
                }
            }
            Some(parsed)
        }
    };
    let migrator = match sqlx::migrate::Migrator::new(args.source.as_path()).await {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: --source {}: {e}", args.source.display());
            return Ok(ExitCode::from(USAGE));
        }
    };
    let url = args.catalog.db.resolve(false);
    let servers = database::servers(&args.catalog.db, &url)?;
    let db = database::open(&url, Create::No).await?;
    let registry = Registry::with_store(servers, Catalog::new(db.catalog()), &db);
    let mut options = FleetOptions::default();
    options.tenants = tenants;
    options.concurrency = args.concurrency.max(1);
    options.dry_run = args.dry_run;
    let report = registry.migrate_fleet(&migrator, &options).await?;
    if args.catalog.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        // One line per placement where something happened or would; the current ones are
        // counted in the summary (a no-op run over 2,000 schemas is one line, not 2,001).
        for line in &report.placements {
            let what = match &line.outcome {
                Outcome::Applied { versions } => format!("applied {}", list(versions)),
                Outcome::Current => continue,
                Outcome::WouldApply { versions } => format!("would apply {}", list(versions)),
                Outcome::Failed { version, error } => match version {
                    Some(v) => format!("FAILED at {v}: {error}"),
                    None => format!("FAILED: {error}"),
                },
                _ => "?".to_owned(),
            };
            let tenants = if line.tenants.is_empty() {
                String::new()
            } else {
                format!(" ({})", line.tenants.join(", "))
            };
            eprintln!("{}{tenants}: {what}", line.placement);
        }
        let would = report
            .placements
            .iter()
            .filter(|p| matches!(p.outcome, Outcome::WouldApply { .. }))
            .count();
        if args.dry_run {
            eprintln!(
                "{} placements: {would} to migrate, {} already current (dry run: nothing applied)",
                report.placements.len(),
                report.current(),
            );
        } else if report.current() == report.placements.len() {
            eprintln!(
                "{} placements: all already current, nothing to apply",
                report.placements.len()
            );
        } else {
            eprintln!(
                "{} placements: {} applied, {} already current, {} failed",
                report.placements.len(),
                report.applied(),
                report.current(),
                report.failed()
            );
        }
    }
    Ok(if report.failed() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn list(versions: &[i64]) -> String {
    versions
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
