//! The demo's data: the `items` resource, its table and seed rows.

use anyhow::Context as _;
use serde_json::{Value, json};
use tenantry::{
    TenantId,
    crud::{Crud, OpenApi},
    data::{Column, Registry, Resource, TenantTable},
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

/// The demo tenants that get seed items.
const SEEDED: [&str; 2] = ["acme", "globex"];

/// Creates the items table (shared, and in the schema or database of a demo tenant placed in
/// one), and seeds each demo tenant that has no items yet. Other tenants' tables were made when
/// they were provisioned (`tenants create`): starting does not open every tenant's database.
pub(crate) async fn prepare(registry: &Registry) -> anyhow::Result<Crud> {
    let db = registry.store();
    let items = items()?;
    db.create_table(&items)
        .await
        .context("cannot create the items table")?;
    for tenant in SEEDED {
        let id = TenantId::parse(tenant).context("demo tenant id")?;
        let record = registry
            .catalog()
            .get(&id)
            .await
            .context("cannot read the catalog")?;
        // Placed in a schema or database of its own (not in the catalog: shared rows).
        let apart = record.as_ref().filter(|r| !r.placement.is_row());
        if let Some(record) = apart
            // Made when the demo placed it; created again if missing (IF NOT EXISTS). A
            // placement that cannot be reached fails only its own tenant's requests (503), not
            // the service.
            && let Err(e) = db.create_table_for(&id, &items).await
        {
            tracing::warn!(
                target: "tenantry::serve",
                tenant = %id,
                placement = %record.placement,
                error = %e,
                "cannot prepare the items table where the tenant is placed"
            );
        }
        let svc = TenantTable::new(db.clone(), items.clone(), id.clone());
        let count = match svc.count().await {
            Ok(n) => n,
            // Placed apart and out of reach (a tenant file missing, its server down): not
            // seeded, and, like every other tenant placed apart, only its own requests fail.
            Err(e) if apart.is_some() => {
                tracing::warn!(
                    target: "tenantry::serve",
                    tenant = %id,
                    error = %e,
                    "cannot read the tenant's items where it is placed; not seeding them"
                );
                continue;
            }
            Err(e) => return Err(anyhow::Error::new(e).context("cannot read items")),
        };
        if count > 0 {
            continue;
        }
        for &(_, name, sku, price) in SEED.iter().filter(|s| s.0 == tenant) {
            let row = json!({"name": name, "sku": sku, "price_cents": price});
            let row = row.as_object().cloned().unwrap_or_default();
            svc.create(row).await.context("cannot seed items")?;
        }
    }
    Crud::new(db, items)
        .at(ITEMS_PREFIX)
        .context("items prefix")
}

/// The demo's OpenAPI document: the items resource, `whoami` and the health check.
pub(crate) fn openapi(items: &Crud) -> Value {
    let whoami = json!({
        "operationId": "whoami",
        "summary": "The tenant this request acts for, how it was chosen, and the caller.",
        "responses": {"200": {"description": "the request's tenant", "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": false,
            "required": ["tenant_id", "resolved_by", "subject"],
            "properties": {
                "tenant_id": {"type": "string"},
                "resolved_by": {"type": "string", "description": "the resolver that named the tenant"},
                "subject": {"type": ["string", "null"], "description": "the token's `sub`"},
            }
        }}}}},
    });
    let healthz = json!({
        "operationId": "healthz",
        "summary": "Whether the service is up (no tenant needed).",
        "responses": {"200": {"description": "up", "content": {"application/json": {"schema": {
            "type": "object", "additionalProperties": false, "required": ["status"],
            "properties": {"status": {"const": "ok"}},
        }}}}},
    });
    OpenApi::new("tenantry demo", env!("CARGO_PKG_VERSION"))
        .crud(items)
        .tenant_operation("get", "/api/v1/whoami", whoami)
        .operation("get", "/healthz", healthz)
        .into_json()
}
