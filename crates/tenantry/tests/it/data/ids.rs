//! UUID ids (issue 11, item 7): integer ids come from one sequence shared by every tenant, so
//! the gaps in a tenant's own ids tell it how fast the others insert. A resource with
//! `uuid_id` gets UUIDv7 ids: random past the millisecond, in creation order, keyed with the
//! tenant. Every backend: create, get, list in order, pages, export and import; every refused
//! cross-tenant attempt is followed by the victim reading its rows back unchanged.

use serde_json::{Value, json};
use tenantry::{
    data::{Column, DataError, DataStore, Ident, Order, Page, Record, Resource, TenantTable},
    export::{self, ExportRequest, ImportOptions, ImportSource, NoProgress},
};

use super::{on_every_backend, row, tenant};

fn notes() -> Resource {
    Resource::builder("notes")
        .uuid_id("id")
        .column(Column::text("body"))
        .column(Column::timestamp("created_at").with_default())
        .sortable(["id", "body"])
        .build()
        .unwrap()
}

fn id_of(r: &Record) -> uuid::Uuid {
    uuid::Uuid::parse_str(r["id"].as_str().expect("a UUID id is a string")).unwrap()
}

async fn export_of(db: &DataStore, t: &str) -> String {
    let admin = db.unscoped_admin("uuid ids test: export");
    let mut out = Vec::new();
    let req = ExportRequest::new(Ident::new("notes").unwrap(), t);
    export::export_table(&admin, &req, &mut out, &NoProgress)
        .await
        .unwrap();
    String::from_utf8(out).unwrap()
}

async fn import_into(db: &DataStore, file: &std::path::Path, t: &str, as_tenant: Option<&str>) {
    let admin = db.unscoped_admin("uuid ids test: import");
    let mut opts = ImportOptions::new(t);
    opts.as_tenant = as_tenant.map(str::to_owned);
    let source = ImportSource::Table {
        table: Ident::new("notes").unwrap(),
        tenant_field: Ident::new("tenant_id").unwrap(),
        input: Some(file.to_path_buf()),
    };
    export::import(&admin, source, &opts, &NoProgress)
        .await
        .unwrap();
}

mod uuid_ids_are_v7_ordered_and_private {
    use super::*;
    on_every_backend!(super::suite);
}

async fn suite(db: DataStore) {
    let resource = notes();
    db.create_table(&resource).await.unwrap();
    let svc = |t: &str| TenantTable::new(db.clone(), resource.clone(), tenant(t));
    let (acme, globex) = (svc("acme"), svc("globex"));

    // Interleaved inserts: acme's ids are v7, in creation order, and say nothing of globex's.
    let mut mine = Vec::new();
    for i in 0..6 {
        let r = acme
            .create(row(json!({"body": format!("note {i}")})))
            .await
            .unwrap();
        let id = id_of(&r);
        assert_eq!(id.get_version_num(), 7, "{id}");
        mine.push(id);
        globex
            .create(row(json!({"body": format!("other {i}")})))
            .await
            .unwrap();
    }
    assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
    // 74 random bits: no two ids share their random part.
    let random = |u: &uuid::Uuid| u.as_u128() & ((1 << 74) - 1);
    assert!(mine.windows(2).all(|w| random(&w[0]) != random(&w[1])));

    // Get, list in id order, pages.
    let first = acme.get(mine[0]).await.unwrap().unwrap();
    assert_eq!(first["body"], "note 0");
    assert_eq!(
        acme.get(mine[0].to_string().as_str()).await.unwrap(),
        Some(first.clone())
    );
    let ids = |rows: Vec<Record>| rows.iter().map(id_of).collect::<Vec<_>>();
    let all = acme
        .list(Page::new(100, 0).unwrap(), &[Order::asc("id")])
        .await
        .unwrap();
    assert_eq!(ids(all), mine);
    let desc = acme
        .list(Page::new(100, 0).unwrap(), &[Order::desc("id")])
        .await
        .unwrap();
    assert_eq!(ids(desc), mine.iter().rev().copied().collect::<Vec<_>>());
    let page = acme
        .list(Page::new(2, 2).unwrap(), &[Order::asc("id")])
        .await
        .unwrap();
    assert_eq!(ids(page), mine[2..4]);
    assert_eq!(acme.count().await.unwrap(), 6);

    // Cross-tenant: globex cannot read, change or delete acme's rows by id ...
    let before = acme
        .list(Page::new(100, 0).unwrap(), &[Order::asc("id")])
        .await
        .unwrap();
    assert!(globex.get(mine[1]).await.unwrap().is_none());
    let patched = globex.update(mine[1], row(json!({"body": "stolen"}))).await;
    assert!(matches!(patched, Err(DataError::NotFound)), "{patched:?}");
    let deleted = globex.delete(mine[1]).await;
    assert!(matches!(deleted, Err(DataError::NotFound)), "{deleted:?}");
    // ... and creating with acme's id makes globex a row of its own: no 409 says the id exists.
    let own = globex
        .create(row(json!({"id": mine[1].to_string(), "body": "mine now?"})))
        .await
        .unwrap();
    assert_eq!(
        (own["tenant_id"].clone(), id_of(&own)),
        (json!("globex"), mine[1])
    );
    let planted = globex
        .create(row(json!({"tenant_id": "acme", "body": "planted"})))
        .await;
    assert!(
        matches!(planted, Err(DataError::TenantMismatch { .. })),
        "{planted:?}"
    );
    // The victim reads every row back unchanged.
    let after = acme
        .list(Page::new(100, 0).unwrap(), &[Order::asc("id")])
        .await
        .unwrap();
    assert_eq!(after, before);
    assert_eq!(acme.get(mine[1]).await.unwrap().unwrap()["body"], "note 1");

    // Export, import as a clone into the same table (the ids are kept: keyed with the
    // tenant, they do not collide), export again: the same rows under the new tenant.
    let exported = export_of(&db, "acme").await;
    let rows: Vec<Value> = serde_json::from_str(&exported).unwrap();
    assert_eq!(rows.len(), 6);
    assert!(!exported.contains("globex"));
    let dir = tempdir();
    let file = dir.join("acme.json");
    std::fs::write(&file, &exported).unwrap();
    import_into(&db, &file, "acme", Some("initech")).await;
    assert_eq!(
        export_of(&db, "initech").await,
        exported.replace("\"tenant_id\":\"acme\"", "\"tenant_id\":\"initech\"")
    );
    assert_eq!(
        ids(svc("initech")
            .list(Page::new(100, 0).unwrap(), &[Order::asc("id")])
            .await
            .unwrap()),
        mine
    );
    // The victim's rows are still its own and unchanged.
    assert_eq!(
        acme.list(Page::new(100, 0).unwrap(), &[Order::asc("id")])
            .await
            .unwrap(),
        before
    );

    // Into a fresh database of the same backend: byte for byte the same export.
    let fresh = DataStore::connect(&fresh_url(&db).await).await.unwrap();
    fresh.create_table(&resource).await.unwrap();
    import_into(&fresh, &file, "acme", None).await;
    assert_eq!(export_of(&fresh, "acme").await, exported);
    let _ = std::fs::remove_dir_all(dir);
}

async fn fresh_url(db: &DataStore) -> String {
    match db.backend() {
        #[cfg(feature = "sqlite")]
        tenantry::data::Backend::Sqlite => crate::db::sqlite_url().await,
        #[cfg(feature = "postgres")]
        tenantry::data::Backend::Postgres => crate::db::postgres_url().await,
        #[cfg(feature = "mysql")]
        tenantry::data::Backend::MySql => crate::db::mysql_url().await,
        #[allow(unreachable_patterns)]
        other => panic!("{other} is not compiled in"),
    }
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(crate::db::unique_name());
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
