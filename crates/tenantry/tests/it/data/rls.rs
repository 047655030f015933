//! PostgreSQL row-level security, tested as an ordinary (non-superuser) role.

use serde_json::json;
use sqlx::{Connection, Row as _};
use tenantry::data::{DataStore, Page, rls};

use super::{Fixture, row, tenant};

#[tokio::test]
async fn policies_hold_for_raw_sql_as_a_non_superuser() {
    // A fresh database, set up by the (superuser) test role.
    let url = crate::db::postgres_url().await;
    let admin = DataStore::connect(&url).await.unwrap();
    let f = Fixture::new(admin.clone(), "items").await;
    f.item("acme", "a1", "A1").await;
    f.item("acme", "a2", "A2").await;
    f.item("globex", "g1", "G1").await;
    let (acme_before, globex_before) = (f.snapshot("acme").await, f.snapshot("globex").await);

    // Before: the audit flags the table and the superuser connection.
    let before = rls::audit(&admin, "tenant_id").await.unwrap();
    assert!(before.role_bypasses_rls, "the test connects as a superuser");
    let t = before.tables.iter().find(|t| t.table == "items").unwrap();
    assert!(!t.enabled && !t.forced && t.policies == 0);
    assert!(before.problems().iter().any(|p| p.contains("not enabled")));

    rls::enable(&admin, &f.resource).await.unwrap();
    rls::enable(&admin, &f.resource).await.unwrap(); // idempotent
    let after = rls::audit(&admin, "tenant_id").await.unwrap();
    let t = after.tables.iter().find(|t| t.table == "items").unwrap();
    assert!(t.enabled && t.forced && t.policies == 1, "{t:?}");

    // An application role: no superuser, no BYPASSRLS.
    let role = format!("tenantry_app_{}", std::process::id());
    let pool = match &admin
        .unscoped_admin("test setup: create the application role")
        .pool::<sqlx::Postgres>()
    {
        Some(p) => (*p).clone(),
        None => unreachable!(),
    };
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN \
         CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END $$; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON items TO {role}; \
         GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {role};"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let app_url = with_user(&url, &role);
    let app = DataStore::connect(&app_url)
        .await
        .unwrap()
        .with_row_level_security()
        .unwrap();
    let audit = rls::audit(&app, "tenant_id").await.unwrap();
    assert!(
        !audit.role_bypasses_rls && audit.is_clean(),
        "{:?}",
        audit.problems()
    );

    // Raw SQL in a tenant transaction sees only that tenant's rows, with no WHERE at all.
    let mut tx = app
        .begin_for::<sqlx::Postgres>(&tenant("acme"))
        .await
        .unwrap();
    let names: Vec<String> = sqlx::query("SELECT name FROM items ORDER BY id")
        .fetch_all(&mut *tx)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(names, ["a1", "a2"]);
    // An INSERT naming another tenant fails the policy's WITH CHECK.
    let planted =
        sqlx::query("INSERT INTO items (tenant_id, name, sku) VALUES ('globex', 'planted', 'P')")
            .execute(&mut *tx)
            .await;
    assert!(planted.is_err(), "the policy let a row into another tenant");
    drop(tx);
    // An UPDATE cannot move a row out either.
    let mut tx = app
        .begin_for::<sqlx::Postgres>(&tenant("acme"))
        .await
        .unwrap();
    let moved = sqlx::query("UPDATE items SET tenant_id = 'globex'")
        .execute(&mut *tx)
        .await;
    assert!(moved.is_err());
    drop(tx);
    // Both tenants read their rows back unchanged, through their owners.
    assert_eq!(f.snapshot("acme").await, acme_before);
    assert_eq!(f.snapshot("globex").await, globex_before);
    // Without the setting, the application role sees nothing at all.
    let mut bare = sqlx::PgConnection::connect(&app_url).await.unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&mut bare)
        .await
        .unwrap();
    assert_eq!(n, 0);

    // The scoped service works through RLS unchanged.
    let svc = tenantry::data::TenantTable::new(app.clone(), f.resource.clone(), tenant("globex"));
    assert_eq!(svc.list(Page::default(), &[]).await.unwrap().len(), 1);
    let created = svc
        .create(row(json!({"name": "g2", "sku": "G2"})))
        .await
        .unwrap();
    assert_eq!(created["tenant_id"], "globex");
    assert_eq!(svc.count().await.unwrap(), 2);
    // And the superuser still sees all four rows (the audit warned about that).
    let all: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(all, 4);
}

fn with_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap();
    let host = rest.split_once('@').map_or(rest, |(_, h)| h);
    format!("{scheme}://{user}@{host}")
}
