//! `tenantry migrate`: the application's migrations on every placement, with a report.

use std::process::ExitCode;

use tenantry::{
    TenantId,
    catalog::Catalog,
    data::{FleetOptions, Outcome, PlacementReport, Registry},
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
    options.concurrency = args.concurrency.map(usize::from);
    options.dry_run = args.dry_run;
    options.progress = super::migrate_progress::for_run(args.catalog.json);
    let report = registry.migrate_fleet(&migrator, &options).await;
    // The bar, if any, is cleared before the report is printed.
    drop(options);
    let report = report?;
    if args.catalog.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for line in &report.placements {
            eprintln!("{}", describe(line));
        }
        let would = report
            .placements
            .iter()
            .filter(|p| matches!(p.outcome, Outcome::WouldApply { .. }))
            .count();
        let total = report.placements.len();
        if args.dry_run {
            eprintln!(
                "{total} placements: {would} to migrate, {} already current (dry run: nothing applied)",
                report.current(),
            );
        } else if report.current() == total {
            eprintln!("{total} placements: all already current, nothing to apply");
        } else {
            eprintln!(
                "{total} placements: {} applied, {} already current, {} failed (concurrency {})",
                report.applied(),
                report.current(),
                report.failed(),
                report.concurrency,
            );
        }
    }
    Ok(if report.failed() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `PLACEMENT (TENANTS): OUTCOME`, one report line.
pub(super) fn describe(line: &PlacementReport) -> String {
    let what = match &line.outcome {
        Outcome::Applied { versions } => format!("applied {}", list(versions)),
        Outcome::Current => "already current".to_owned(),
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
    format!("{}{tenants}: {what}", line.placement)
}

fn list(versions: &[i64]) -> String {
    versions
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
