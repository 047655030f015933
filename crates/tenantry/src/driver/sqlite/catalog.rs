//! The catalog table on SQLite: timestamps as RFC 3339 text, settings as JSON text.

use chrono::{DateTime, Utc};
use sea_query::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Pool, Sqlite};

use crate::{
    catalog::{
        CatalogError, CatalogWatcher, TenantRecord,
        sql::{CatalogDdl, read_record},
    },
    driver::{change_log::poll_change_log, sealed::CatalogTable},
};

impl CatalogTable for Sqlite {
    const CATALOG_DDL: CatalogDdl = CatalogDdl {
        // Takes the write lock at once (waiting up to the busy timeout), so concurrent migrations
        // queue instead of failing to upgrade a read lock.
        begin: "BEGIN IMMEDIATE",
        migrate: &["CREATE TABLE IF NOT EXISTS tenantry_tenants (
            id varchar(64) NOT NULL PRIMARY KEY,
            name text NOT NULL,
            status varchar(32) NOT NULL,
            plan varchar(64) NOT NULL,
            placement text NOT NULL,
            settings text NOT NULL,
            created_at text NOT NULL,
            updated_at text NOT NULL,
            CONSTRAINT tenantry_tenants_status_check
                CHECK (status IN ('active', 'suspended', 'provisioning', 'provisioning_failed', 'moving', 'deleted'))
        )",
    "CREATE TABLE IF NOT EXISTS tenantry_tenant_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id text NOT NULL
    )",
    "CREATE TRIGGER IF NOT EXISTS tenantry_tenants_inserted AFTER INSERT ON tenantry_tenants BEGIN
        INSERT INTO tenantry_tenant_changes (id) VALUES (NEW.id);
        DELETE FROM tenantry_tenant_changes
        WHERE seq <= (SELECT max(seq) FROM tenantry_tenant_changes) - 10000;
    END",
    "CREATE TRIGGER IF NOT EXISTS tenantry_tenants_updated AFTER UPDATE ON tenantry_tenants BEGIN
        INSERT INTO tenantry_tenant_changes (id) VALUES (NEW.id);
        DELETE FROM tenantry_tenant_changes
        WHERE seq <= (SELECT max(seq) FROM tenantry_tenant_changes) - 10000;
    END",
    "CREATE TRIGGER IF NOT EXISTS tenantry_tenants_deleted AFTER DELETE ON tenantry_tenants BEGIN
        INSERT INTO tenantry_tenant_changes (id) VALUES (OLD.id);
        DELETE FROM tenantry_tenant_changes
        WHERE seq <= (SELECT max(seq) FROM tenantry_tenant_changes) - 10000;
    END",
    ],
        has_folded: "SELECT count(*) FROM pragma_table_info('tenantry_tenants') WHERE name = 'id_folded'",
        add_folded: "ALTER TABLE tenantry_tenants ADD COLUMN id_folded text",
        folded_clashes: "SELECT group_concat(id, ' and ') \
                         FROM (SELECT id, id_folded FROM tenantry_tenants ORDER BY id) \
                         GROUP BY id_folded HAVING count(*) > 1",
        has_statuses: "SELECT count(*) FROM sqlite_master WHERE type = 'table' \
                       AND name = 'tenantry_tenants' AND sql LIKE '%provisioning_failed%'",
        // SQLite cannot change a check: the table is copied into one with the new check.
        add_statuses: &[
            "CREATE TABLE tenantry_tenants_upgraded (
                id varchar(64) NOT NULL PRIMARY KEY,
                name text NOT NULL,
                status varchar(32) NOT NULL,
                plan varchar(64) NOT NULL,
                placement text NOT NULL,
                settings text NOT NULL,
                created_at text NOT NULL,
                updated_at text NOT NULL,
                id_folded text,
                CONSTRAINT tenantry_tenants_status_check
                    CHECK (status IN ('active', 'suspended', 'provisioning', 'provisioning_failed', 'moving', 'deleted'))
            )",
            "INSERT INTO tenantry_tenants_upgraded
                (id, name, status, plan, placement, settings, created_at, updated_at, id_folded)
             SELECT id, name, status, plan, placement, settings, created_at, updated_at, id_folded
             FROM tenantry_tenants",
            "DROP TABLE tenantry_tenants",
            "ALTER TABLE tenantry_tenants_upgraded RENAME TO tenantry_tenants",
        ],
    };

    /// Fixed width (always six fractional digits, `Z`), so the text sorts in time order.
    fn catalog_stamp(at: DateTime<Utc>) -> Value {
        Value::String(Some(
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        ))
    }

    async fn watch_catalog(pool: Pool<Self>, watcher: CatalogWatcher) {
        poll_change_log(pool, watcher).await
    }

    fn read_tenant(row: &SqliteRow) -> Result<TenantRecord, CatalogError> {
        read_record(row, |text: String| {
            DateTime::parse_from_rfc3339(&text)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|e| CatalogError::Corrupt(format!("timestamp {text:?}: {e}")))
        })
    }
}
