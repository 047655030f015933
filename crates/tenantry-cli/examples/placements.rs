//! The setup and the in-process timing of `bench/placements.sh`: makes `--count` tenants in
//! one placement kind, each as `tenantry tenants create ID --placement KIND` makes it (a
//! catalog record in status `provisioning`, [`Registry::provision`] with the demo's `items`
//! resource, then the record made `active`), and times every step of every tenant.
//!
//! ```sh
//! cargo run --release -p tenantry-cli --example placements -- \
//!     --database-url postgres://postgres@127.0.0.1:5432/bench --placement schema \
//!     --prefix s --count 100
//! ```
//!
//! Tenants are `PREFIX0001`, `PREFIX0002`, ... (from `--from`). It prints one summary line per
//! step (`provision`: [`Registry::provision`] alone; `tenant`: record + provision + activate,
//! what the CLI does after connecting) with the count, the median, p90, min and max in
//! milliseconds, and with `--times FILE` every tenant's figures as CSV. Tenants are made one
//! after the other, so each timing is of one call on an otherwise idle pool.

use std::{path::PathBuf, time::Instant};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use tenantry::{
    TenantId,
    catalog::{Catalog, CatalogStore as _, PlacementKind, TenantRecord, TenantStatus},
    data::{DataStore, Registry, Servers, TenantSetup},
};

/// The demo's `items` resource, the same definition `tenantry tenants create` provisions.
#[allow(dead_code)]
#[path = "../src/demo.rs"]
mod demo;

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    Row,
    Schema,
    Database,
}

#[derive(Debug, Parser)]
struct Args {
    /// The catalog's database (the server `main`): postgres://... or sqlite://FILE.
    #[arg(long)]
    database_url: String,
    /// Where the tenants go: shared rows (a catalog record only), their own schema or their
    /// own database, the name generated as the CLI generates it.
    #[arg(long, value_enum)]
    placement: Kind,
    /// Tenant ids are PREFIX followed by a 4-digit number.
    #[arg(long)]
    prefix: String,
    /// The first number.
    #[arg(long, default_value_t = 1)]
    from: u32,
    /// How many tenants.
    #[arg(long)]
    count: u32,
    /// Every tenant's timings as CSV: `tenant,provision_ms,tenant_ms`.
    #[arg(long)]
    times: Option<PathBuf>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let db = DataStore::connect(&args.database_url)
        .await
        .with_context(|| format!("cannot connect to {}", args.database_url))?;
    let store = db.catalog();
    store
        .migrate()
        .await
        .context("cannot create the catalog table")?;
    let registry = Registry::with_store(
        Servers::single(args.database_url.clone())?,
        Catalog::new(store.clone()),
        &db,
    );
    let items = demo::items()?;
    let kind = match args.placement {
        Kind::Row => PlacementKind::Row,
        Kind::Schema => PlacementKind::Schema,
        Kind::Database => PlacementKind::Database,
    };

    let mut provision_ms = Vec::with_capacity(args.count as usize);
    let mut tenant_ms = Vec::with_capacity(args.count as usize);
    let mut csv = String::from("tenant,provision_ms,tenant_ms\n");
    for n in args.from..args.from + args.count {
        let id = TenantId::parse(&format!("{}{n:04}", args.prefix)).context("tenant id")?;
        let placement = registry.generate(&id, kind, None)?;
        let started = Instant::now();
        let mut record = TenantRecord::new(id.clone(), format!("Bench {id}"))
            .with_status(if placement.is_row() {
                TenantStatus::Active
            } else {
                TenantStatus::Provisioning
            })
            .with_placement(placement.clone());
        store
            .create(&record)
            .await
            .with_context(|| format!("cannot create the record of {id}"))?;
        let mut provision = 0.0;
        if !placement.is_row() {
            let t = Instant::now();
            registry
                .provision(&placement, &TenantSetup::tables([items.clone()]))
                .await
                .with_context(|| format!("cannot provision {id} at {placement}"))?;
            provision = ms(t);
            record.status = TenantStatus::Active;
            record.touch();
            store.update(&record).await?;
        }
        let whole = ms(started);
        provision_ms.push(provision);
        tenant_ms.push(whole);
        csv.push_str(&format!("{id},{provision:.3},{whole:.3}\n"));
        if n % 500 == 0 {
            eprintln!("{id}: {placement}");
        }
    }
    if let Some(path) = &args.times {
        std::fs::write(path, csv).with_context(|| format!("cannot write {}", path.display()))?;
    }
    if !matches!(args.placement, Kind::Row) {
        println!("{}", summary("provision", &mut provision_ms));
    }
    println!("{}", summary("tenant", &mut tenant_ms));
    registry.close().await;
    Ok(())
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// `STEP n=.. median_ms=.. p90_ms=.. min_ms=.. max_ms=..`.
fn summary(step: &str, v: &mut [f64]) -> String {
    if v.is_empty() {
        return format!("{step} n=0");
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    format!(
        "{step} n={} median_ms={:.3} p90_ms={:.3} min_ms={:.3} max_ms={:.3}",
        v.len(),
        at(0.5),
        at(0.9),
        v[0],
        v[v.len() - 1]
    )
}
