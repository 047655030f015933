//! The catalog table on MariaDB / MySQL: `datetime(6)` in UTC, ids compared bytewise.

use chrono::{DateTime, Utc};
use sea_query::Value;
use sqlx::mysql::MySqlRow;
use sqlx::{MySql, Pool};

use crate::{
    catalog::{
        CatalogError, CatalogWatcher, TenantRecord,
        sql::{CatalogDdl, read_record},
    },
    driver::{change_log::poll_change_log, sealed::CatalogTable},
};

impl CatalogTable for MySql {
    const CATALOG_DDL: CatalogDdl = CatalogDdl {
        // DDL commits implicitly on MariaDB / MySQL; `CREATE TABLE IF NOT EXISTS` is safe to race.
        begin: "BEGIN",
        migrate: &["CREATE TABLE IF NOT EXISTS tenantry_tenants (
            id varchar(64) NOT NULL PRIMARY KEY,
            name text NOT NULL,
            status varchar(32) NOT NULL,
            plan varchar(64) NOT NULL,
            placement text NOT NULL,
            settings json NOT NULL,
            created_at datetime(6) NOT NULL,
            updated_at datetime(6) NOT NULL,
            CONSTRAINT tenantry_tenants_status_check
                CHECK (status IN ('active', 'suspended', 'provisioning', 'provisioning_failed', 'moving', 'deleted'))
        ) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
    "CREATE TABLE IF NOT EXISTS tenantry_tenant_changes (
        seq bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,
        id varchar(64) NOT NULL
    ) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
    "CREATE TRIGGER IF NOT EXISTS tenantry_tenants_inserted AFTER INSERT ON tenantry_tenants
     FOR EACH ROW BEGIN
        DECLARE newest bigint;
        INSERT INTO tenantry_tenant_changes (id) VALUES (NEW.id);
        SET newest = LAST_INSERT_ID();
        DELETE FROM tenantry_tenant_changes WHERE seq <= newest - 10000;
    END",
    "CREATE TRIGGER IF NOT EXISTS tenantry_tenants_updated AFTER UPDATE ON tenantry_tenants
     FOR EACH ROW BEGIN
        DECLARE newest bigint;
        INSERT INTO tenantry_tenant_changes (id) VALUES (NEW.id);
        SET newest = LAST_INSERT_ID();
        DELETE FROM tenantry_tenant_changes WHERE seq <= newest - 10000;
    END",
    "CREATE TRIGGER IF NOT EXISTS tenantry_tenants_deleted AFTER DELETE ON tenantry_tenants
     FOR EACH ROW BEGIN
        DECLARE newest bigint;
        INSERT INTO tenantry_tenant_changes (id) VALUES (OLD.id);
        SET newest = LAST_INSERT_ID();
        DELETE FROM tenantry_tenant_changes WHERE seq <= newest - 10000;
    END",
    ],
        has_folded: "SELECT count(*) FROM information_schema.columns \
                     WHERE table_schema = DATABASE() AND table_name = 'tenantry_tenants' \
                     AND column_name = 'id_folded'",
        add_folded: "ALTER TABLE tenantry_tenants \
                     ADD COLUMN id_folded varchar(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL",
        folded_clashes: "SELECT CAST(group_concat(id ORDER BY id SEPARATOR ' and ') AS CHAR) \
                         FROM tenantry_tenants GROUP BY id_folded HAVING count(*) > 1",
        has_statuses: "SELECT count(*) FROM information_schema.check_constraints \
                       WHERE constraint_schema = DATABASE() \
                       AND constraint_name = 'tenantry_tenants_status_check' \
                       AND check_clause LIKE '%provisioning_failed%'",
        add_statuses: &[
            "ALTER TABLE tenantry_tenants MODIFY status varchar(32) NOT NULL",
            "ALTER TABLE tenantry_tenants DROP CONSTRAINT IF EXISTS tenantry_tenants_status_check",
            "ALTER TABLE tenantry_tenants ADD CONSTRAINT tenantry_tenants_status_check \
             CHECK (status IN ('active', 'suspended', 'provisioning', 'provisioning_failed', 'moving', 'deleted'))",
        ],
    };

    /// `datetime(6)` has no zone: the UTC wall-clock time is stored.
    fn catalog_stamp(at: DateTime<Utc>) -> Value {
        Value::ChronoDateTimeUtc(Some(at))
    }

    async fn watch_catalog(pool: Pool<Self>, watcher: CatalogWatcher) {
        poll_change_log(pool, watcher).await
    }

    fn read_tenant(row: &MySqlRow) -> Result<TenantRecord, CatalogError> {
        read_record(row, Ok::<DateTime<Utc>, CatalogError>)
    }
}
