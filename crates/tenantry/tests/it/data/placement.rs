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

/// Schema tenants' statements are sent unnamed unless the server says to prepare them, or
/// serves schemas from pools of their own (which prepare). Each registry has one connection
/// per pool, so the raw transaction that counts the connection's prepared statements runs on
/// the connection that just served the tenant.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn schema_statements_are_prepared_only_when_asked() {
    let one = |mut config: ServerConfig| {
        config.max_connections = Some(1);
        config
    };
    let mut pools = ServerConfig::default();
    pools.schema_pools = Some(2);
    for (config, prepared) in [
        (one(ServerConfig::default()), false),
        (
            one(ServerConfig::default().with_prepared_schema_statements()),
            true,
        ),
        (one(pools), true),
    ] {
        let what = format!("{config:?}");
        let registry = registry(
            "postgres",
            &[("globex", Placement::schema("t_globex").unwrap())],
            config,
        )
        .await;
        let globex = table(&registry, "globex");
        let made = globex
            .create(row(json!({"name": "globex's anvil", "sku": "A-1"})))
            .await
            .unwrap();
        let got = globex.get(made["id"].as_i64().unwrap()).await.unwrap();
        assert_eq!(got.unwrap()["name"], "globex's anvil");
        assert_eq!(globex.list(Page::default(), &[]).await.unwrap().len(), 1);
        let mut tx = registry
            .store()
            .begin_for::<sqlx::Postgres>(&tenant("globex"))
            .await
            .unwrap();
        let kept: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%\"t_globex\"%'",
        )
        // Unnamed itself, so that it does not count itself.
        .persistent(false)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(
            kept > 0,
            prepared,
            "{what}: {kept} statements kept prepared"
        );
    }
}

/// A tenant whose PostgreSQL database is dropped under the running service gets 503
/// unavailable (3D000 on reconnecting), not 500, as a missing SQLite tenant file does; the
/// other tenants read their rows as before.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn a_dropped_tenant_database_is_unavailable() {
    let name = crate::db::unique_name();
    let placed = Placement::database(&name).unwrap();
    let registry = registry("postgres", &[("initech", placed)], ServerConfig::default()).await;
    let acme = table(&registry, "acme");
    let initech = table(&registry, "initech");
    let mine = acme
        .create(row(json!({"name": "acme's anvil", "sku": "A-1"})))
        .await
        .unwrap();
    let theirs = initech
        .create(row(json!({"name": "initech's anvil", "sku": "A-1"})))
        .await
        .unwrap();
    let admin = registry
        .store()
        .unscoped_admin("test: drop a tenant's database");
    // `name` is `[a-z0-9_]` only (unique_name).
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        r#"DROP DATABASE "{name}" WITH (FORCE)"#
    )))
    .execute(admin.pool::<sqlx::Postgres>().unwrap())
    .await
    .unwrap();
    for _ in 0..2 {
        let got = initech.get(theirs["id"].as_i64().unwrap()).await;
        assert!(matches!(got, Err(DataError::Unavailable(_))), "{got:?}");
    }
    let rows = acme.list(Page::default(), &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0], mine);
}

/// The default server's pool has the size its configuration gives (it had sqlx's default of 10
/// whenever the URL carried no password from the environment, so that the test above counted
/// statements on whichever of its connections it was handed).
#[cfg(feature = "postgres")]
#[tokio::test]
async fn the_default_servers_pool_has_its_configured_size() {
    let mut config = ServerConfig::default();
    config.max_connections = Some(2);
    let registry = registry("postgres", &[], config).await;
    let store = registry.store();
    let mut held = Vec::new();
    let mut pids = Vec::new();
    for _ in 0..2 {
        let mut tx = store
            .begin_for::<sqlx::Postgres>(&tenant("acme"))
            .await
            .unwrap();
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        pids.push(pid);
        held.push(tx);
    }
    assert_ne!(pids[0], pids[1]);
    // A third waits for the acquire timeout and is refused as unavailable.
    let third = store.begin_for::<sqlx::Postgres>(&tenant("acme")).await;
    assert!(
        matches!(
            third,
            Err(DataError::Unavailable(sqlx::Error::PoolTimedOut))
        ),
        "{third:?}"
    );
    held.clear();
    // Given back, a connection serves again, and the tenant's rows are as they were.
    assert!(
        table(&registry, "acme")
            .list(Page::default(), &[])
            .await
            .unwrap()
            .is_empty()
    );
}

/// Schema tenants served from pools of their own, each schema by one of them: every tenant in
/// every placement stays apart, as on the server's own pool.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn schema_pools_keep_tenants_apart() {
    let mut config = ServerConfig::default();
    config.schema_pools = Some(3);
    let schemas: Vec<String> = (0..8).map(|i| format!("s{i}")).collect();
    let mut placed: Vec<(&str, Placement)> = schemas
        .iter()
        .map(|s| (s.as_str(), Placement::schema(&format!("t_{s}")).unwrap()))
        .collect();
    placed.push(("initech", own_database()));
    let registry = registry("postgres", &placed, config).await;
    let others: Vec<&str> = placed.iter().map(|(t, _)| *t).collect();
    tenants_in_every_placement_are_apart(&registry, &others).await;
}

/// SQLite tenant files take the journal mode the server asks for; every placement still
/// serves its own rows.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_tenant_files_take_the_journal_mode_asked() {
    for (mode, name) in [
        (tenantry::data::TenantJournal::Truncate, "truncate"),
        (tenantry::data::TenantJournal::Wal, "wal"),
    ] {
        let mut config = ServerConfig::default();
        config.tenant_journal_mode = Some(mode);
        let registry = registry(
            "sqlite",
            &[
                ("globex", Placement::database("t_globex").unwrap()),
                ("initech", Placement::database("t_initech").unwrap()),
            ],
            config,
        )
        .await;
        tenants_in_every_placement_are_apart(&registry, &["globex", "initech"]).await;
        let mut tx = registry
            .store()
            .begin_for::<sqlx::Sqlite>(&tenant("globex"))
            .await
            .unwrap();
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(journal, name);
    }
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

/// A registry on a fresh PostgreSQL database (`main`) and a server that refuses connections
/// (`down`), with a catalog telling `events` of every lifecycle event.
#[cfg(feature = "postgres")]
async fn provisioning_registry(
    events: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> (Registry, String) {
    use tenantry::catalog::LifecycleEvent;
    let url = crate::db::postgres_url().await;
    let mut config = ServersConfig::default();
    config
        .servers
        .insert("main".into(), ServerConfig::url(url.clone()));
    config.servers.insert(
        "down".into(),
        ServerConfig::url("postgres://postgres@127.0.0.1:1/nothing"),
    );
    config.default = Some("main".into());
    let catalog = Catalog::new(MemoryCatalog::new()).with_lifecycle(
        move |t: &TenantRecord, e: &LifecycleEvent| {
            let e = match e {
                LifecycleEvent::ProvisioningFailed(_) => "provisioning failed".to_owned(),
                LifecycleEvent::Provisioned(_) => "provisioned".to_owned(),
                e => e.to_string(),
            };
            events.lock().unwrap().push(format!("{} {e}", t.id));
        },
    );
    let registry = Registry::connect(Servers::from_config(config).unwrap(), catalog)
        .await
        .unwrap();
    (registry, url)
}

#[cfg(feature = "postgres")]
async fn schemas(url: &str) -> Vec<String> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_scalar(
        "SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 't\\_%' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap()
}

/// A migrations directory: `0001` makes `notes`, and `0002`, when `broken`, fails.
fn migrations_dir(broken: bool) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(crate::db::unique_name());
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("0001_notes.sql"),
        "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL);",
    )
    .unwrap();
    if broken {
        std::fs::write(dir.join("0002_broken.sql"), "CREATE TABLE broken (;").unwrap();
    }
    dir
}

/// Provisioning fails at each step (a migration, a server that refuses connections, a schema
/// that exists) and leaves nothing behind, the tenant `provisioning_failed` with the error and
/// never active; on success the migrations ran inside the tenant's schema; the subscriber
/// hears each step.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn provisioning_fails_cleanly_at_each_step() {
    use tenantry::{
        catalog::{PlacementKind, ServerName, TenantStatus},
        data::{PROVISIONING_ERROR, ProvisionError, TenantSetup},
    };
    let events = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (registry, url) = provisioning_registry(events.clone()).await;
    let setup = |broken| async move {
        let dir = migrations_dir(broken);
        let m = sqlx::migrate::Migrator::new(dir.as_path()).await.unwrap();
        TenantSetup::tables([items("items")]).migrations(m)
    };
    let record = |id: &str, placement: Placement| {
        TenantRecord::new(tenant(id), id).with_placement(placement)
    };
    let status = |id: &'static str| {
        let registry = registry.clone();
        async move {
            let r = registry.catalog().get(&tenant(id)).await.unwrap().unwrap();
            (
                r.status,
                r.settings[PROVISIONING_ERROR].as_str().map(str::to_owned),
            )
        }
    };

    // A migration that fails: the schema goes, with the tables made before it.
    let p = registry
        .generate(&tenant("m-fail"), PlacementKind::Schema, None)
        .unwrap();
    let err = registry
        .provision_tenant(record("m-fail", p), &setup(true).await)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ProvisionError::Failed { recorded: true, .. }),
        "{err:?}"
    );
    let (s, why) = status("m-fail").await;
    assert_eq!(s, TenantStatus::ProvisioningFailed);
    assert!(why.unwrap().contains("migration"), "{err}");
    assert_eq!(schemas(&url).await, Vec::<String>::new());

    // A server that refuses connections: nothing is made anywhere.
    let p = registry
        .generate(
            &tenant("s-down"),
            PlacementKind::Schema,
            Some(ServerName::new("down").unwrap()),
        )
        .unwrap();
    let err = registry
        .provision_tenant(record("s-down", p), &setup(false).await)
        .await
        .unwrap_err();
    assert!(matches!(err, ProvisionError::Failed { .. }), "{err:?}");
    assert_eq!(status("s-down").await.0, TenantStatus::ProvisioningFailed);

    // A schema that exists: refused, and its contents are untouched.
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(
            "CREATE SCHEMA t_taken; CREATE TABLE t_taken.items (id int); \
             INSERT INTO t_taken.items VALUES (7)",
        )
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let err = registry
        .provision_tenant(
            record("dup", Placement::schema("t_taken").unwrap()),
            &setup(false).await,
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("exists already"), "{err}");
    assert_eq!(status("dup").await.0, TenantStatus::ProvisioningFailed);
    assert_eq!(schemas(&url).await, ["t_taken"]);
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM t_taken.items")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 1);
    }
    // Nothing that failed is ever served.
    for id in ["m-fail", "s-down", "dup"] {
        let refused = table(&registry, id)
            .create(row(json!({"name": "x", "sku": "X"})))
            .await;
        assert!(refused.is_err(), "{id} was served");
    }

    // Retried with a good setup, the failed one turns active, its migrations in its schema.
    let p = registry
        .generate(&tenant("m-fail"), PlacementKind::Schema, None)
        .unwrap();
    let made = registry
        .provision_tenant(record("m-fail", p.clone()), &setup(false).await)
        .await
        .unwrap();
    assert_eq!(made.status, TenantStatus::Active);
    assert!(made.settings.get(PROVISIONING_ERROR).is_none());
    let schema = p.to_string().strip_prefix("schema:").unwrap().to_owned();
    {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = $1 \
             ORDER BY 1",
        )
        .bind(&schema)
        .fetch_all(&mut conn)
        .await
        .unwrap();
        assert_eq!(tables, ["_tenantry_migrations", "items", "notes"]);
    }
    table(&registry, "m-fail")
        .create(row(json!({"name": "served", "sku": "S"})))
        .await
        .unwrap();
    let seen = events.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "m-fail created",
            "m-fail provisioning failed",
            "s-down created",
            "s-down provisioning failed",
            "dup created",
            "dup provisioning failed",
            "m-fail provisioned",
            "m-fail activated",
        ]
    );
}

/// Ids that a plain mapping would make one name (`a-b`, `a_b`, `a.b`), a UUID and a
/// 64-character id are provisioned side by side, in schemas and in databases, and each
/// reads only its own rows.
#[cfg(feature = "postgres")]
#[tokio::test]
async fn ids_that_stress_names_get_schemas_and_databases_of_their_own() {
    use tenantry::{catalog::PlacementKind, data::TenantSetup};
    let (registry, _) = provisioning_registry(Default::default()).await;
    let long = "x".repeat(64);
    let ids = [
        "a-b",
        "a_b",
        "a.b",
        "0199a3b2-7c4e-7d1a-9f00-0123456789ab",
        long.as_str(),
    ];
    let setup = TenantSetup::tables([items("items")]);
    for kind in [PlacementKind::Schema, PlacementKind::Database] {
        let suffix = match kind {
            PlacementKind::Schema => "s",
            _ => "d",
        };
        let named: Vec<String> = ids
            .iter()
            .map(|id| {
                // Distinct ids per kind: the 64-character one keeps its length.
                if id.len() == 64 {
                    format!("{}{suffix}", &id[..63])
                } else {
                    format!("{id}{suffix}")
                }
            })
            .collect();
        for id in &named {
            let p = registry.generate(&tenant(id), kind, None).unwrap();
            registry
                .provision_tenant(TenantRecord::new(tenant(id), id).with_placement(p), &setup)
                .await
                .unwrap();
            table(&registry, id)
                .create(row(json!({"name": id, "sku": "S"})))
                .await
                .unwrap();
        }
        for id in &named {
            let rows = table(&registry, id)
                .list(Page::default(), &[])
                .await
                .unwrap();
            assert_eq!(rows.len(), 1, "{id}");
            assert_eq!(rows[0]["name"], id.as_str());
        }
    }
}
