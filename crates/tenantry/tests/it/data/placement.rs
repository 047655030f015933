//! Tenants placed apart: shared rows, a schema of their own (PostgreSQL), a database of their
//! own, served by one `TenantTable` code path through a `Registry`, every refusal followed by
//! the victim reading its rows back unchanged.

use std::time::Duration;

use serde_json::json;
use sqlx::Row as _;
use tenantry::{
    TenantId,
    catalog::{Catalog, MemoryCatalog, Placement, TenantRecord},
    data::{DataError, Page, Registry, ServerConfig, Servers, ServersConfig, TenantTable},
};

use super::{items, row, tenant};

/// A registry on a fresh database of `backend` with `acme` in shared rows and each of
/// `placed` at its placement.
async fn registry(backend: &str, placed: &[(&str, Placement)], server: ServerConfig) -> Registry {
    let url = match backend {
        #[cfg(feature = "sqlite")]
        "sqlite" => crate::db::sqlite_url().await,
        #[cfg(feature = "postgres")]
        "postgres" => crate::db::postgres_url().await,
        #[cfg(feature = "mysql")]
        "mysql" => crate::db::mysql_url().await,
        other => panic!("backend {other} is not compiled in (enable its feature)"),
    };
    let mut server = server;
    server.url = Some(url);
    let mut config = ServersConfig::default();
    config.servers.insert("main".into(), server);
    let mut catalog = MemoryCatalog::new().with(TenantRecord::new(tenant("acme"), "Acme"));
    for (id, placement) in placed {
        catalog =
            catalog.with(TenantRecord::new(tenant(id), *id).with_placement(placement.clone()));
    }
    let registry = Registry::connect(Servers::from_config(config).unwrap(), Catalog::new(catalog))
        .await
        .unwrap();
    let resource = items("items");
    registry.store().create_table(&resource).await.unwrap();
    for (id, placement) in placed {
        registry.create_placement(placement).await.unwrap();
        registry
            .store()
            .create_table_for(&tenant(id), &resource)
            .await
            .unwrap();
    }
    registry
}

fn table(registry: &Registry, t: &str) -> TenantTable {
    TenantTable::new(registry.store(), items("items"), tenant(t))
}

/// A database name no other test (or process) uses, swept with the test databases.
fn own_database() -> Placement {
    Placement::database(&crate::db::unique_name()).unwrap()
}

/// Every tenant writes, reads, updates and deletes its own rows; none sees or touches
/// another's; each one's rows are where its placement says.
async fn tenants_in_every_placement_are_apart(registry: &Registry, others: &[&str]) {
    let all: Vec<&str> = std::iter::once("acme")
        .chain(others.iter().copied())
        .collect();
    let mut ids = Vec::new();
    for t in &all {
        let made = table(registry, t)
            .create(row(json!({"name": format!("{t}'s anvil"), "sku": "A-1"})))
            .await
            .unwrap();
        assert_eq!(made["tenant_id"], *t);
        ids.push(made["id"].as_i64().unwrap());
    }
    for (t, id) in all.iter().zip(&ids) {
        let own = table(registry, t);
        let rows = own.list(Page::default(), &[]).await.unwrap();
        assert_eq!(rows.len(), 1, "{t} sees exactly its own row");
        assert_eq!(rows[0]["name"], format!("{t}'s anvil"));
        // Every other tenant's id: not visible, not writable, not deletable.
        for (other, other_id) in all.iter().zip(&ids) {
            if other == t {
                continue;
            }
            if let Some(seen) = own.get(*other_id).await.unwrap() {
                // Ids may coincide across databases: what is seen must be the tenant's own.
                assert_eq!(seen["tenant_id"], *t, "{t} read {other}'s row");
            }
            match own
                .update(*other_id, row(json!({"name": "hijacked"})))
                .await
            {
                Err(DataError::NotFound) => {}
                Ok(r) => assert_eq!(r["tenant_id"], *t, "{t} updated {other}'s row"),
                Err(e) => panic!("{e:?}"),
            }
        }
        let _ = id;
    }
    // Victims read their rows back unchanged (the cross-tenant updates above that hit an id
    // a tenant also has only changed the tenant's own row: undo and compare).
    for (t, id) in all.iter().zip(&ids) {
        let own = table(registry, t);
        own.update(*id, row(json!({"name": format!("{t}'s anvil")})))
            .await
            .unwrap();
    }
    for (t, id) in all.iter().zip(&ids) {
        let got = table(registry, t).get(*id).await.unwrap().unwrap();
        assert_eq!(got["name"], format!("{t}'s anvil"));
        assert_eq!(got["tenant_id"], *t);
        assert_eq!(table(registry, t).count().await.unwrap(), 1);
    }
    // The shared table holds acme's row only.
    let shared = registry
        .store()
        .unscoped_admin("test: who is in the shared table");
    let tenants_in_shared: Vec<String> = if let Some(pool) = shared.pool::<sqlx::Sqlite>() {
        sqlx::query_scalar("SELECT tenant_id FROM items")
            .fetch_all(pool)
            .await
            .unwrap()
    } else if let Some(pool) = shared.pool::<sqlx::Postgres>() {
        sqlx::query_scalar("SELECT tenant_id FROM items")
            .fetch_all(pool)
            .await
            .unwrap()
    } else if let Some(pool) = shared.pool::<sqlx::MySql>() {
        sqlx::query_scalar("SELECT tenant_id FROM items")
            .fetch_all(pool)
            .await
            .unwrap()
    } else {
        unreachable!()
    };
    assert_eq!(tenants_in_shared, ["acme"]);
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_rows_and_databases() {
    let registry = registry(
        "sqlite",
        &[
            ("globex", Placement::database("t_globex").unwrap()),
            ("initech", Placement::database("t_initech").unwrap()),
        ],
        ServerConfig::default(),
    )
    .await;
    tenants_in_every_placement_are_apart(&registry, &["globex", "initech"]).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_rows_schemas_and_databases() {
    let registry = registry(
        "postgres",
        &[
            ("globex", Placement::schema("t_globex").unwrap()),
            ("hooli", Placement::schema("t_hooli").unwrap()),
            ("initech", own_database()),
        ],
        ServerConfig::default(),
    )
    .await;
    tenants_in_every_placement_are_apart(&registry, &["globex", "hooli", "initech"]).await;

    // A raw scoped transaction of a schema tenant sees its schema's tables unqualified.
    let store = registry.store();
    let mut tx = store
        .begin_for::<sqlx::Postgres>(&tenant("globex"))
        .await
        .unwrap();
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM items")
        .fetch_all(&mut *tx)
        .await
        .unwrap();
    assert_eq!(names, ["globex's anvil"]);
    let path: String = sqlx::query("SHOW search_path")
        .fetch_one(&mut *tx)
        .await
        .unwrap()
        .get(0);
    assert_eq!(path, "t_globex");
    tx.rollback().await.unwrap();
    // The setting was local to that transaction: the next one on the pool is back to normal.
    let admin = store.unscoped_admin("test: search_path after a scoped transaction");
    let path: String = sqlx::query("SHOW search_path")
        .fetch_one(admin.pool::<sqlx::Postgres>().unwrap())
        .await
        .unwrap()
        .get(0);
    assert!(!path.contains("t_globex"), "{path}");
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn mysql_rows_and_databases() {
    let registry = registry(
        "mysql",
        &[("globex", own_database()), ("initech", own_database())],
        ServerConfig::default(),
    )
    .await;
    tenants_in_every_placement_are_apart(&registry, &["globex", "initech"]).await;
}

/// A schema on a backend without schemas, and a server nobody configured, are refused with
/// 503-class errors, never served from the shared tables.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn placements_that_cannot_be_served_are_refused() {
    let registry = registry("sqlite", &[], ServerConfig::default()).await;
    for placement in [
        Placement::schema("t_x").unwrap(),
        Placement::row().on(tenantry::catalog::ServerName::new("elsewhere").unwrap()),
    ] {
        let catalog = registry.catalog();
        let id = TenantId::parse("stray").unwrap();
        catalog.remove(&id).await.ok();
        catalog
            .create(TenantRecord::new(id.clone(), "Stray").with_placement(placement.clone()))
            .await
            .unwrap();
        let err = table(&registry, "stray")
            .list(Page::default(), &[])
            .await
            .unwrap_err();
        assert!(
            matches!(err, DataError::Placement(_)),
            "{placement}: {err:?}"
        );
        assert_eq!(err.status(), 503);
    }
}

/// Many tenants in databases through a cache of two pools of one connection each: every
/// answer is the tenant's own, evicted pools reopen, and no more than two pools are ever open.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn tenant_pools_are_bounded_and_reopen() {
    let names: Vec<String> = (0..6).map(|i| format!("tenant-{i}")).collect();
    let placed: Vec<(&str, Placement)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), Placement::database(&format!("t_{i}")).unwrap()))
        .collect();
    let registry = registry(
        "sqlite",
        &placed,
        ServerConfig::default()
            .tenant_pools(2, 1)
            .tenant_pool_idle(Duration::from_secs(60)),
    )
    .await;
    for n in &names {
        table(&registry, n)
            .create(row(json!({"name": n, "sku": "S"})))
            .await
            .unwrap();
    }
    let mut tasks = Vec::new();
    for round in 0..5 {
        for n in names.clone() {
            let registry = registry.clone();
            tasks.push(tokio::spawn(async move {
                let rows = table(&registry, &n)
                    .list(Page::default(), &[])
                    .await
                    .unwrap();
                assert_eq!(rows.len(), 1, "round {round}: {n}");
                assert_eq!(rows[0]["name"], n);
                let stats = registry.total_pool_stats();
                assert!(stats.connections <= 2, "{stats:?}");
            }));
        }
    }
    for t in tasks {
        t.await.unwrap();
    }
    let stats = registry.total_pool_stats();
    assert!(stats.pools <= 2, "{stats:?}");
}
