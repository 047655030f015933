//! `SqlCatalog`: one suite, run on SQLite, PostgreSQL and MariaDB / MySQL (each behind its
//! feature; the servers come from `db`).

#![cfg(any(feature = "sqlite", feature = "postgres", feature = "mysql"))]

use serde_json::json;
use tenantry::{
    TenantId,
    catalog::{
        Catalog, CatalogError, CatalogStore, Placement, SqlCatalog, TenantRecord, TenantStatus,
    },
};

use crate::db;

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite() {
    let url = db::sqlite_url().await;
    let catalog = SqlCatalog::connect(&url).await.unwrap();
    let raw = Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap());
    assert_eq!(raw.text("PRAGMA journal_mode").await, "wal");
    suite(catalog, raw).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres() {
    let url = db::postgres_url().await;
    let catalog = SqlCatalog::connect(&url).await.unwrap();
    let raw = Raw::Postgres(sqlx::PgPool::connect(&url).await.unwrap());
    suite(catalog, raw).await;
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn mysql() {
    let url = db::mysql_url().await;
    // The `mariadb:` scheme is an alias of `mysql:`.
    let catalog = SqlCatalog::connect(&url.replacen("mysql:", "mariadb:", 1))
        .await
        .unwrap();
    let raw = Raw::MySql(sqlx::MySqlPool::connect(&url).await.unwrap());
    suite(catalog, raw).await;
}

/// A catalog table made before `id_folded` existed (the statement every backend accepts).
const OLDER_TABLE: &str = "CREATE TABLE tenantry_tenants (
    id varchar(64) NOT NULL PRIMARY KEY, name text NOT NULL, status varchar(16) NOT NULL,
    plan varchar(64) NOT NULL, placement text NOT NULL, settings text NOT NULL,
    created_at varchar(40) NOT NULL, updated_at varchar(40) NOT NULL)";

/// `migrate` upgrades an older table: `id_folded` is added and filled, and from then on ids
/// differing only in case are refused, and the status column takes `provisioning_failed`. An
/// older table that already holds such ids is named and refused rather than upgraded.
async fn older_tables_are_upgraded(raw: Raw) {
    let row = |id: &'static str| match id {
        "acme" => {
            "INSERT INTO tenantry_tenants VALUES ('acme', 'Acme', 'active', 'free', 'row', '{}', 'x', 'x')"
        }
        _ => {
            "INSERT INTO tenantry_tenants VALUES ('ACME', 'Acme', 'active', 'free', 'row', '{}', 'x', 'x')"
        }
    };
    let table = match raw {
        #[cfg(feature = "mysql")]
        // As older versions made it on MariaDB: ids compared bytewise.
        Raw::MySql(_) => {
            "CREATE TABLE tenantry_tenants (
    id varchar(64) NOT NULL PRIMARY KEY, name text NOT NULL, status varchar(16) NOT NULL,
    plan varchar(64) NOT NULL, placement text NOT NULL, settings text NOT NULL,
    created_at varchar(40) NOT NULL, updated_at varchar(40) NOT NULL)
    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
        }
        #[allow(unreachable_patterns)]
        _ => OLDER_TABLE,
    };
    raw.exec(&[table, row("acme"), row("ACME")]).await;
    let err = raw.catalog().migrate().await.unwrap_err().to_string();
    assert!(err.contains("ACME and acme"), "{err}");
    raw.exec(&["DELETE FROM tenantry_tenants WHERE id = 'ACME'"])
        .await;
    raw.catalog().migrate().await.unwrap();
    let err = raw
        .catalog()
        .create(&TenantRecord::new(id("ACME"), "Impostor"))
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::CaseConflict { .. }), "{err:?}");
    raw.catalog().migrate().await.unwrap();
    // The status column takes every status of this version, and the rows came through.
    raw.exec(&["UPDATE tenantry_tenants SET status = 'provisioning_failed' WHERE id = 'acme'"])
        .await;
    assert_eq!(
        raw.text("SELECT status FROM tenantry_tenants WHERE id = 'acme'")
            .await,
        "provisioning_failed"
    );
    let err = raw
        .exec_err("UPDATE tenantry_tenants SET status = 'bogus' WHERE id = 'acme'")
        .await;
    assert!(
        err.to_lowercase().contains("check") || err.contains("23514"),
        "{err}"
    );
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn older_tables_are_upgraded_sqlite() {
    let url = db::sqlite_url().await;
    older_tables_are_upgraded(Raw::Sqlite(
        sqlx::SqlitePool::connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap(),
    ))
    .await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn older_tables_are_upgraded_postgres() {
    let url = db::postgres_url().await;
    older_tables_are_upgraded(Raw::Postgres(sqlx::PgPool::connect(&url).await.unwrap())).await;
}

#[cfg(feature = "mysql")]
#[tokio::test]
async fn older_tables_are_upgraded_mysql() {
    let url = db::mysql_url().await;
    older_tables_are_upgraded(Raw::MySql(sqlx::MySqlPool::connect(&url).await.unwrap())).await;
}

/// Everything a `CatalogStore` promises, against one database.
async fn suite(catalog: SqlCatalog, raw: Raw) {
    // Two "processes" (pools) migrating a fresh database at once, then again: all fine.
    let other = raw.catalog();
    let migrations = tokio::join!(
        catalog.migrate(),
        other.migrate(),
        catalog.migrate(),
        other.migrate()
    );
    for migration in <[_; 4]>::from(migrations) {
        migration.unwrap();
    }
    catalog.migrate().await.unwrap();
    assert!(
        raw.expected_columns()
            .contains(&raw.text(raw.columns_sql()).await.as_str()),
        "column types: {}",
        raw.text(raw.columns_sql()).await
    );

    // Unknown ids are `None`; the table starts empty.
    assert_eq!(catalog.get(&id("nobody")).await.unwrap(), None);
    assert_eq!(catalog.list().await.unwrap(), []);

    // Create, then get: every field comes back equal.
    let mut acme = TenantRecord::new(id("acme"), "Acme Corp — Ünïcödé 🚀 'quoted'")
        .with_status(TenantStatus::Provisioning)
        .with_plan("pro")
        .with_placement(Placement::schema("tenant_acme").unwrap())
        .with_settings(json!({
            "theme": {"color": "teal", "sizes": [1, 2.5, null, {"deep": [true, false]}]},
            "quota": 12_345_678_901_i64,
            "note": "multi\nline \"quoted\" ✓",
            "empty": {}
        }));
    acme.created_at = "2024-02-29T23:59:59.123456Z".parse().unwrap();
    catalog.create(&acme).await.unwrap();
    assert_eq!(catalog.get(&acme.id).await.unwrap().as_ref(), Some(&acme));

    // A taken id is `AlreadyExists`, and the stored record is untouched.
    let err = catalog
        .create(&TenantRecord::new(id("acme"), "Impostor"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, CatalogError::AlreadyExists(taken) if *taken == "acme"),
        "{err:?}"
    );
    assert_eq!(catalog.get(&acme.id).await.unwrap().as_ref(), Some(&acme));
    // An id differing only in case is refused too (issue 11, item 1), naming the one that
    // exists; the stored record is untouched and `ACME` does not exist.
    for variant in ["ACME", "Acme", "acmE"] {
        let err = catalog
            .create(&TenantRecord::new(id(variant), "Impostor"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CatalogError::CaseConflict { id, existing } if *id == variant && existing == "acme"),
            "{variant}: {err:?}"
        );
        assert!(err.to_string().contains("only in case"), "{err}");
        assert_eq!(catalog.get(&id(variant)).await.unwrap(), None);
    }
    assert_eq!(catalog.get(&acme.id).await.unwrap().as_ref(), Some(&acme));

    // `list` is ordered by id, bytewise (as `MemoryCatalog` orders), with full records.
    let mut ids = vec!["acme"];
    for name in ["b", "Z9", "a-1", "a.2", "a_3", "a", "0", "acme.eu"] {
        catalog
            .create(&TenantRecord::new(id(name), name))
            .await
            .unwrap();
        ids.push(name);
    }
    ids.sort_unstable();
    let listed = catalog.list().await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ids
    );
    assert_eq!(listed.iter().find(|r| r.id == "acme"), Some(&acme));
    assert_eq!(
        other.list().await.unwrap(),
        listed,
        "a catalog over the same database sees it"
    );

    // Update replaces everything but the id; a missing id is `NotFound` and creates nothing.
    let mut changed = acme
        .clone()
        .with_status(TenantStatus::Suspended)
        .with_plan("enterprise")
        .with_placement(
            Placement::database("eu_west_2")
                .unwrap()
                .on(tenantry::catalog::ServerName::new("eu-west-2").unwrap()),
        )
        .with_settings(json!({"limits": [1, {"burst": null}]}));
    changed.name = "Acme Holdings".into();
    changed.touch();
    catalog.update(&changed).await.unwrap();
    assert_eq!(
        catalog.get(&acme.id).await.unwrap().as_ref(),
        Some(&changed)
    );
    // The same values again still match a row (MariaDB counts matched rows, not changed ones).
    catalog.update(&changed).await.unwrap();
    let ghost = TenantRecord::new(id("ghost"), "Ghost");
    let err = catalog.update(&ghost).await.unwrap_err();
    assert!(
        matches!(&err, CatalogError::NotFound(missing) if *missing == "ghost"),
        "{err:?}"
    );
    assert_eq!(catalog.get(&ghost.id).await.unwrap(), None);

    // Remove, then it is gone; removing again is `NotFound`.
    catalog.remove(&id("b")).await.unwrap();
    assert_eq!(catalog.get(&id("b")).await.unwrap(), None);
    let err = catalog.remove(&id("b")).await.unwrap_err();
    assert!(
        matches!(&err, CatalogError::NotFound(missing) if *missing == "b"),
        "{err:?}"
    );
    assert_eq!(catalog.list().await.unwrap().len(), ids.len() - 1);

    // The cached `Catalog` sees its own changes at once.
    let cached = Catalog::new(catalog.clone());
    assert_eq!(
        cached.get(&acme.id).await.unwrap().unwrap().status,
        TenantStatus::Suspended
    );
    cached
        .set_status(&acme.id, TenantStatus::Active)
        .await
        .unwrap();
    assert_eq!(
        cached.get(&acme.id).await.unwrap().unwrap().status,
        TenantStatus::Active
    );
    let stored = catalog.get(&acme.id).await.unwrap().unwrap();
    assert_eq!(stored.status, TenantStatus::Active);
    assert!(stored.updated_at >= changed.updated_at);
    other
        .update(&stored.clone().with_status(TenantStatus::Moving))
        .await
        .unwrap();
    // Another writer's change reaches the cache when invalidated: by the store's watch
    // (LISTEN/NOTIFY on PostgreSQL, so possibly already), or by hand.
    cached.invalidate(&acme.id);
    assert_eq!(
        cached.get(&acme.id).await.unwrap().unwrap().status,
        TenantStatus::Moving
    );

    corrupt_rows(&catalog, &raw).await;
}

/// Rows written behind the catalog's back that it cannot read are `Corrupt`, never a panic or a
/// silently wrong record.
async fn corrupt_rows(catalog: &SqlCatalog, raw: &Raw) {
    let victim = id("victim");
    catalog
        .create(&TenantRecord::new(victim.clone(), "Victim"))
        .await
        .unwrap();

    raw.exec(&[
        raw.allow_bad_status(),
        "UPDATE tenantry_tenants SET status = 'bogus' WHERE id = 'victim'",
    ])
    .await;
    assert_corrupt(catalog.get(&victim).await, "bogus");
    assert_corrupt(catalog.list().await, "bogus");

    raw.exec(&[
        "UPDATE tenantry_tenants SET status = 'active', placement = 'shard:7' WHERE id = 'victim'",
    ])
    .await;
    assert_corrupt(catalog.get(&victim).await, "shard:7");

    raw.exec(&[
        "UPDATE tenantry_tenants SET placement = 'row', id = ' victim' WHERE id = 'victim'",
    ])
    .await;
    assert_corrupt(catalog.list().await, "victim");
    raw.exec(&["UPDATE tenantry_tenants SET id = 'not an id!' WHERE id = ' victim'"])
        .await;
    assert_corrupt(catalog.list().await, "not an id!");

    raw.exec(&["DELETE FROM tenantry_tenants WHERE id = 'not an id!'"])
        .await;
    catalog.list().await.unwrap();
}

#[track_caller]
fn assert_corrupt<T: std::fmt::Debug>(result: Result<T, CatalogError>, mentions: &str) {
    match result {
        Err(CatalogError::Corrupt(why)) => assert!(why.contains(mentions), "{why}"),
        other => panic!("expected Corrupt mentioning {mentions:?}, got {other:?}"),
    }
}

/// SQLite keeps timestamps as fixed-width RFC 3339 text (UTC, microseconds) and settings as
/// JSON text; text that does not parse is `Corrupt`.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_text_columns() {
    let url = db::sqlite_url().await;
    let catalog = SqlCatalog::connect(&url).await.unwrap();
    let raw = Raw::Sqlite(sqlx::SqlitePool::connect(&url).await.unwrap());
    catalog.migrate().await.unwrap();
    let mut record = TenantRecord::new(id("acme"), "Acme");
    record.created_at = "2024-01-02T03:04:05Z".parse().unwrap();
    record.updated_at = "2024-01-02T03:04:05.000007Z".parse().unwrap();
    catalog.create(&record).await.unwrap();
    assert_eq!(
        raw.text("SELECT created_at || ' ' || updated_at || ' ' || settings FROM tenantry_tenants")
            .await,
        "2024-01-02T03:04:05.000000Z 2024-01-02T03:04:05.000007Z {}"
    );

    raw.exec(&["UPDATE tenantry_tenants SET settings = '{not json'"])
        .await;
    assert_corrupt(catalog.get(&record.id).await, "settings");
    raw.exec(&["UPDATE tenantry_tenants SET settings = '{}', created_at = 'yesterday'"])
        .await;
    assert_corrupt(catalog.get(&record.id).await, "yesterday");
}

/// A missing database file is created.
#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite_creates_the_file() {
    let url = db::sqlite_url().await;
    let path = url.trim_start_matches("sqlite://").to_owned();
    assert!(!std::path::Path::new(&path).exists());
    SqlCatalog::connect(&url)
        .await
        .unwrap()
        .migrate()
        .await
        .unwrap();
    assert!(std::path::Path::new(&path).exists());
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn unreachable_server_is_unavailable_quickly() {
    use std::time::{Duration, Instant};

    let started = Instant::now();
    let err = SqlCatalog::connect("postgres://nobody@127.0.0.1:1/x")
        .await
        .unwrap_err();
    assert!(matches!(err, CatalogError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unsupported_urls_are_refused_without_their_password() {
    for url in [
        "redis://admin:hunter2@127.0.0.1:6379/0",
        "hunter2@db.example.com/tenants",
        "",
        #[cfg(not(feature = "sqlite"))]
        "sqlite://tenants.db",
        #[cfg(feature = "postgres")]
        "postgres://admin:hunter2@127.0.0.1:notaport/x",
        #[cfg(feature = "mysql")]
        "mysql://admin:hunter2@127.0.0.1:notaport/x",
    ] {
        let err = SqlCatalog::connect(url).await.unwrap_err();
        assert!(
            matches!(err, CatalogError::UnsupportedUrl(_)),
            "{url}: {err:?}"
        );
        let message = format!("{err} {err:?}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}

fn id(raw: &str) -> TenantId {
    TenantId::parse(raw).unwrap()
}

/// Direct access to the catalog's database, bypassing the catalog.
enum Raw {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(sqlx::MySqlPool),
}

/// Runs `$body` with `$pool` bound to the pool, whatever the backend.
macro_rules! on_pool {
    ($raw:expr, |$pool:ident| $body:expr) => {
        match $raw {
            #[cfg(feature = "sqlite")]
            Raw::Sqlite($pool) => $body,
            #[cfg(feature = "postgres")]
            Raw::Postgres($pool) => $body,
            #[cfg(feature = "mysql")]
            Raw::MySql($pool) => $body,
        }
    };
}

impl Raw {
    /// Another catalog over this pool (as a second process would have).
    fn catalog(&self) -> SqlCatalog {
        match self {
            #[cfg(feature = "sqlite")]
            Raw::Sqlite(pool) => SqlCatalog::from_pool(pool.clone()),
            #[cfg(feature = "postgres")]
            Raw::Postgres(pool) => SqlCatalog::from_pool(pool.clone()),
            #[cfg(feature = "mysql")]
            Raw::MySql(pool) => SqlCatalog::from_pool(pool.clone()),
        }
    }

    /// Runs statements in order on one connection.
    async fn exec(&self, statements: &[&'static str]) {
        on_pool!(self, |pool| {
            let mut conn = pool.acquire().await.unwrap();
            for statement in statements {
                sqlx::raw_sql(*statement).execute(&mut *conn).await.unwrap();
            }
        })
    }

    /// The error `statement` fails with.
    async fn exec_err(&self, statement: &'static str) -> String {
        on_pool!(self, |pool| sqlx::raw_sql(statement)
            .execute(pool)
            .await
            .expect_err("the statement must fail")
            .to_string())
    }

    /// The first column of the first row, as text.
    async fn text(&self, sql: &'static str) -> String {
        on_pool!(self, |pool| sqlx::query_scalar(sql)
            .fetch_one(pool)
            .await
            .unwrap())
    }

    /// Lets the next statement on the same connection store a status the CHECK refuses.
    fn allow_bad_status(&self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Raw::Sqlite(_) => "PRAGMA ignore_check_constraints = ON",
            #[cfg(feature = "postgres")]
            Raw::Postgres(_) => {
                "ALTER TABLE tenantry_tenants DROP CONSTRAINT tenantry_tenants_status_check"
            }
            #[cfg(feature = "mysql")]
            Raw::MySql(_) => {
                "ALTER TABLE tenantry_tenants DROP CONSTRAINT tenantry_tenants_status_check"
            }
        }
    }

    /// One line naming each column of `tenantry_tenants` and its type.
    fn columns_sql(&self) -> &'static str {
        match self {
            #[cfg(feature = "sqlite")]
            Raw::Sqlite(_) => {
                "SELECT group_concat(name || ' ' || type, ', ') \
                 FROM (SELECT name, type FROM pragma_table_info('tenantry_tenants') ORDER BY cid)"
            }
            #[cfg(feature = "postgres")]
            Raw::Postgres(_) => {
                "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name = 'tenantry_tenants'"
            }
            #[cfg(feature = "mysql")]
            Raw::MySql(_) => {
                "SELECT CAST(group_concat(concat(column_name, ' ', column_type) \
                     ORDER BY ordinal_position SEPARATOR ', ') AS CHAR) \
                 FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = 'tenantry_tenants'"
            }
        }
    }

    /// What `columns_sql` must return: real types, readable by the database's own tools.
    fn expected_columns(&self) -> &'static [&'static str] {
        match self {
            #[cfg(feature = "sqlite")]
            // SQLite reports its own type names in upper case.
            Raw::Sqlite(_) => &[
                "id varchar(64), name TEXT, status varchar(32), plan varchar(64), \
                 placement TEXT, settings TEXT, created_at TEXT, updated_at TEXT, id_folded TEXT",
            ],
            #[cfg(feature = "postgres")]
            Raw::Postgres(_) => &[
                "id character varying, name text, status character varying, \
                 plan character varying, placement text, settings jsonb, \
                 created_at timestamp with time zone, updated_at timestamp with time zone, \
                 id_folded text",
            ],
            #[cfg(feature = "mysql")]
            Raw::MySql(_) => &[
                // MariaDB: JSON is an alias of longtext (with a json_valid check).
                "id varchar(64), name text, status varchar(32), plan varchar(64), placement text, \
                 settings longtext, created_at datetime(6), updated_at datetime(6), \
                 id_folded varchar(255)",
                "id varchar(64), name text, status varchar(32), plan varchar(64), placement text, \
                 settings json, created_at datetime(6), updated_at datetime(6), id_folded varchar(255)",
            ],
        }
    }
}
