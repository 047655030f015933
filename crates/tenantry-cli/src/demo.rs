//! The demo's data: the `items` resource, its table and seed rows.

use anyhow::Context as _;
use serde_json::json;
use tenantry::{
    TenantId,
    crud::Crud,
    data::{Column, DataStore, Resource, TenantTable},
};

/// Where the items API is mounted (also under `/tenants/{tenant_id}/...`).
pub(crate) const ITEMS_PREFIX: &str = "/api/v1/items";

/// `items(id, tenant_id, name, sku, price_cents default 0, created_at default now)`, unique
/// `(tenant_id, sku)`.
pub(crate) fn items() -> anyhow::Result<Resource> {
    Resource::builder("items")
        .integer_id("id")
        .column(Column::text("name"))
        .column(Column::text("sku"))
        .column(Column::integer("price_cents").with_default())
        .column(Column::timestamp("created_at").with_default())
        .searchable(["name", "sku"])
        .sortable(["id", "name", "price_cents", "created_at"])
        .filterable(["sku"])
        .unique_per_tenant(["sku"])
        .build()
        .context("the items resource")
}

const SEED: &[(&str, &str, &str, i64)] = &[
    ("acme", "Anvil", "ANV-1", 1999),
    ("acme", "Rocket skates", "RS-2", 4999),
    ("acme", "Giant magnet", "GM-3", 2999),
    ("globex", "Hammock", "HM-1", 8900),
    ("globex", "Doomsday device", "DD-9", 99_999_900),
];

/// Creates the items table, and seeds each demo tenant that has no items yet.
pub(crate) async fn prepare(db: &DataStore) -> anyhow::Result<Crud> {
    let items = items()?;
    db.create_table(&items)
        .await
        .context("cannot create the items table")?;
    for tenant in ["acme", "globex"] {
        let id = TenantId::parse(tenant).context("demo tenant id")?;
        let svc = TenantTable::new(db.clone(), items.clone(), id);
        if svc.count().await.context("cannot read items")? > 0 {
            continue;
        }
        for &(_, name, sku, price) in SEED.iter().filter(|s| s.0 == tenant) {
            let row = json!({"name": name, "sku": sku, "price_cents": price});
            let row = row.as_object().cloned().unwrap_or_default();
            svc.create(row).await.context("cannot seed items")?;
        }
    }
    Crud::new(db.clone(), items)
        .at(ITEMS_PREFIX)
        .context("items prefix")
}
