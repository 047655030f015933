//! Tenant ids that differ only in case are different tenants on every backend (issue 11, item
//! 1: on MariaDB, `ACME` listed, read, patched and deleted `acme`'s rows, learned its skus
//! through 409s, and exported its rows, because `items.tenant_id` had the server's default
//! case-insensitive collation). Every refusal is followed by the victim reading its rows back.

use serde_json::json;
use tenantry::{
    data::{
        Backend, DataError, DataStore, Ident, ListQuery, OnInexact, Page, audit_tenant_columns,
    },
    export::{self, ExportRequest, NoProgress},
};

use super::{Fixture, on_every_backend, row};

mod case_variants_are_different_tenants {
    use super::*;
    on_every_backend!(super::case_variants_suite);
}

async fn case_variants_suite(db: DataStore) {
    let f = Fixture::new(db.clone(), "items").await;
    let (victim, rival) = (f.service("acme"), f.service("ACME"));
    let anvil = f.item("acme", "Anvil", "ANV-1").await;
    let before = victim.get(anvil).await.unwrap().unwrap();

    // Nothing of acme's is visible or reachable to ACME.
    assert_eq!(rival.count().await.unwrap(), 0);
    assert!(rival.list(Page::default(), &[]).await.unwrap().is_empty());
    assert!(rival.get(anvil).await.unwrap().is_none());
    let q = ListQuery::new().filter("sku", "ANV-1");
    assert!(rival.find(&q).await.unwrap().is_empty());
    let patched = rival.update(anvil, row(json!({"name": "stolen"}))).await;
    assert!(matches!(patched, Err(DataError::NotFound)), "{patched:?}");
    let deleted = rival.delete(anvil).await;
    assert!(matches!(deleted, Err(DataError::NotFound)), "{deleted:?}");
    // The same sku is free for ACME: no 409 tells it that acme holds it.
    let own = rival
        .create(row(json!({"name": "Own anvil", "sku": "ANV-1"})))
        .await
        .unwrap();
    assert_eq!(own["tenant_id"], "ACME");

    // The victim's row is as it was, and it still sees only its own.
    assert_eq!(victim.get(anvil).await.unwrap().unwrap(), before);
    assert_eq!(victim.count().await.unwrap(), 1);
    assert_eq!(rival.count().await.unwrap(), 1);

    // The export of ACME holds only ACME's row.
    let admin = db.unscoped_admin("collation test: export");
    let mut out = Vec::new();
    let req = ExportRequest::new(Ident::new("items").unwrap(), "ACME");
    let done = export::export_table(&admin, &req, &mut out, &NoProgress)
        .await
        .unwrap();
    assert_eq!(done.rows, 1, "{}", String::from_utf8_lossy(&out));
    assert!(!String::from_utf8_lossy(&out).contains("\"acme\""));

    // Tables that tenantry creates pass the audit.
    let audit = audit_tenant_columns(&db, "tenant_id").await.unwrap();
    assert!(audit.is_clean(), "{audit}");
    assert_eq!(audit.columns.len(), 1, "{audit}");
    audit.check(OnInexact::Refuse).unwrap();
}

mod the_audit_refuses_inexact_tenant_columns {
    use super::*;
    on_every_backend!(super::audit_suite);
}

/// Application tables whose tenant column compares without case (or padding), one per way of
/// getting it wrong on the backend; the audit names each, and an export through such a column
/// still compares exactly.
async fn audit_suite(db: DataStore) {
    let admin = db.unscoped_admin("collation test: application tables");
    let (inexact, exact): (&[&str], &[&str]) = match db.backend() {
        Backend::Sqlite => (
            &[
                "CREATE TABLE nocase (id integer PRIMARY KEY, tenant_id text COLLATE NOCASE)",
                "CREATE TABLE rtrim (id integer PRIMARY KEY, \"tenant_id\" text collate rtrim)",
            ],
            &["CREATE TABLE plain (id integer PRIMARY KEY, tenant_id text COLLATE BINARY)"],
        ),
        Backend::Postgres => (
            &[
                "CREATE EXTENSION IF NOT EXISTS citext",
                "CREATE TABLE ci (id bigint PRIMARY KEY, tenant_id citext)",
                "CREATE COLLATION IF NOT EXISTS ci_und (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
                "CREATE TABLE nondet (id bigint PRIMARY KEY, tenant_id text COLLATE ci_und)",
            ],
            &["CREATE TABLE plain (id bigint PRIMARY KEY, tenant_id text)"],
        ),
        Backend::MySql => (
            &[
                "CREATE TABLE general (id bigint PRIMARY KEY, tenant_id varchar(64) COLLATE utf8mb4_general_ci)",
                "CREATE TABLE padded (id bigint PRIMARY KEY, tenant_id varchar(64) COLLATE utf8mb4_bin)",
            ],
            &[
                "CREATE TABLE plain (id bigint PRIMARY KEY, tenant_id varchar(64) COLLATE utf8mb4_nopad_bin)",
            ],
        ),
        other => panic!("no case for {other:?}"),
    };
    for sql in inexact.iter().chain(exact) {
        exec(&admin, sql).await;
    }
    let audit = audit_tenant_columns(&db, "tenant_id").await.unwrap();
    let flagged: Vec<&str> = audit
        .columns
        .iter()
        .filter(|c| c.inexact.is_some())
        .map(|c| c.table.as_str())
        .collect();
    let tables = |sqls: &[&str]| -> Vec<String> {
        sqls.iter()
            .filter_map(|s| s.strip_prefix("CREATE TABLE "))
            .map(|s| s.split_whitespace().next().unwrap().to_owned())
            .collect()
    };
    let mut want = tables(inexact);
    want.sort();
    let mut got: Vec<String> = flagged.iter().map(|s| (*s).to_owned()).collect();
    got.sort();
    assert_eq!(got, want, "{audit}");
    assert!(
        audit
            .columns
            .iter()
            .any(|c| c.table == "plain" && c.inexact.is_none())
    );
    let err = audit.check(OnInexact::Refuse).unwrap_err().to_string();
    for t in &want {
        assert!(err.contains(t.as_str()), "{err}");
    }
    audit.check(OnInexact::Warn).unwrap();

    // Rows of `acme` and `ACME` in the first inexact table: an export of either holds only its
    // own row, even though the column itself would match both.
    let table = &want[0];
    for sql in [
        format!("INSERT INTO {table} (id, tenant_id) VALUES (1, 'acme')"),
        format!("INSERT INTO {table} (id, tenant_id) VALUES (2, 'ACME')"),
    ] {
        exec(&admin, &sql).await;
    }
    for (tenant, id) in [("acme", 1), ("ACME", 2)] {
        let mut out = Vec::new();
        let req = ExportRequest::new(Ident::new(table).unwrap(), tenant);
        let done = export::export_table(&admin, &req, &mut out, &NoProgress)
            .await
            .unwrap();
        let rows: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(done.rows, 1, "{tenant}: {rows}");
        assert_eq!(rows[0]["id"], id, "{tenant}: {rows}");
    }
}

async fn exec(admin: &tenantry::data::AdminPool, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    #[cfg(feature = "sqlite")]
    if let Some(p) = admin.pool::<sqlx::Sqlite>() {
        sqlx::raw_sql(sql).execute(p).await.unwrap();
        return;
    }
    #[cfg(feature = "postgres")]
    if let Some(p) = admin.pool::<sqlx::Postgres>() {
        sqlx::raw_sql(sql).execute(p).await.unwrap();
        return;
    }
    #[cfg(feature = "mysql")]
    if let Some(p) = admin.pool::<sqlx::MySql>() {
        sqlx::raw_sql(sql).execute(p).await.unwrap();
        return;
    }
    unreachable!("an admin pool of an enabled backend")
}
