//! The import reader and row checks on arbitrary input files, into SQLite: an import never
//! panics, and whatever it accepts or refuses, another tenant's rows are untouched and every row
//! in the table belongs to one of the two tenants.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::json;
use tenantry::{
    TenantId,
    data::{Column, DataStore, Ident, Page, Record, Resource, TenantTable},
    export::{ImportOptions, ImportSource, NoProgress, import},
};

struct Setup {
    rt: tokio::runtime::Runtime,
    db: DataStore,
    items: Resource,
    dir: tempfile::TempDir,
    victim: Vec<Record>,
}

fn table(s: &Setup, tenant: &str) -> TenantTable {
    TenantTable::new(
        s.db.clone(),
        s.items.clone(),
        TenantId::parse(tenant).unwrap(),
    )
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("fuzz.db").display());
        let (db, items) = rt.block_on(async {
            let db = DataStore::connect(&url).await.unwrap();
            let items = Resource::builder("items")
                .integer_id("id")
                .column(Column::text("name"))
                .column(Column::text("sku"))
                .column(Column::integer("price_cents").with_default())
                .column(Column::text("note").nullable())
                .column(Column::json("attrs").nullable())
                .column(Column::timestamp("created_at").with_default())
                .unique_per_tenant(["sku"])
                .build()
                .unwrap();
            db.create_table(&items).await.unwrap();
            (db, items)
        });
        let mut s = Setup { rt, db, items, dir, victim: Vec::new() };
        let globex = table(&s, "globex");
        s.victim = s.rt.block_on(async {
            for i in 0..3 {
                let row = json!({"name": format!("globex {i}"), "sku": format!("S{i}"), "note": null, "attrs": {"i": i}});
                globex.create(row.as_object().cloned().unwrap()).await.unwrap();
            }
            globex.list(Page::new(100, 0).unwrap(), &[]).await.unwrap()
        });
        s
    })
}

fuzz_target!(|data: &[u8]| {
    let s = setup();
    let file = s.dir.path().join("input.json");
    std::fs::write(&file, data).unwrap();
    let source = ImportSource::Table {
        table: Ident::new("items").unwrap(),
        tenant_field: Ident::new("tenant_id").unwrap(),
        input: Some(file),
    };
    s.rt.block_on(async {
        let pool = s.db.unscoped_admin("fuzzing the import reader");
        let _ = import(&pool, source, &ImportOptions::new("acme"), &NoProgress).await;
        let globex = table(s, "globex");
        let page = Page::new(1000, 0).unwrap();
        assert_eq!(
            globex.list(page, &[]).await.unwrap(),
            s.victim,
            "the other tenant's rows changed"
        );
        // Leave acme empty for the next input; every row is acme's or globex's.
        let acme = table(s, "acme");
        for row in acme.list(page, &[]).await.unwrap() {
            acme.delete(row["id"].as_i64().unwrap()).await.unwrap();
        }
        assert_eq!(acme.count().await.unwrap(), 0);
    });
});
