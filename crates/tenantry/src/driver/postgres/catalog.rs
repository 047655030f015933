//! The catalog table on PostgreSQL: `timestamptz`, `jsonb`, ids ordered bytewise (`"C"`).

use chrono::{DateTime, Utc};
use sea_query::Value;
use sqlx::postgres::PgRow;
use sqlx::{Pool, Postgres, postgres::PgListener};

/// How long to wait before listening again after the connection failed.
const RETRY: std::time::Duration = std::time::Duration::from_millis(500);

use crate::{
    catalog::{
        CatalogError, CatalogWatcher, TenantRecord,
        sql::{CatalogDdl, read_record},
    },
    driver::sealed::CatalogTable,
};

impl CatalogTable for Postgres {
    const CATALOG_DDL: CatalogDdl = CatalogDdl {
        begin: "BEGIN",
        migrate: &[
            // Concurrent `CREATE TABLE IF NOT EXISTS` can fail on PostgreSQL; serialize it.
            "SELECT pg_advisory_xact_lock(7370661283316395386)",
            "CREATE TABLE IF NOT EXISTS tenantry_tenants (
                id varchar(64) COLLATE \"C\" PRIMARY KEY,
                name text NOT NULL,
                status varchar(32) NOT NULL,
                plan varchar(64) NOT NULL,
                placement text NOT NULL,
                settings jsonb NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                CONSTRAINT tenantry_tenants_status_check
                    CHECK (status IN ('active', 'suspended', 'provisioning', 'provisioning_failed', 'moving', 'deleted'))
            )",
            "CREATE OR REPLACE FUNCTION tenantry_tenants_notify() RETURNS trigger
         LANGUAGE plpgsql AS $$
         BEGIN
             PERFORM pg_notify('tenantry_tenants', COALESCE(NEW.id, OLD.id));
             RETURN NULL;
         END $$",
            "DROP TRIGGER IF EXISTS tenantry_tenants_notify ON tenantry_tenants",
            "CREATE TRIGGER tenantry_tenants_notify
         AFTER INSERT OR UPDATE OR DELETE ON tenantry_tenants
         FOR EACH ROW EXECUTE FUNCTION tenantry_tenants_notify()",
        ],
        has_folded: "SELECT count(*) FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = 'tenantry_tenants' \
                     AND column_name = 'id_folded'",
        add_folded: "ALTER TABLE tenantry_tenants ADD COLUMN id_folded text",
        folded_clashes: "SELECT string_agg(id, ' and ' ORDER BY id) FROM tenantry_tenants \
                         GROUP BY id_folded HAVING count(*) > 1",
        has_statuses: "SELECT count(*) FROM pg_constraint \
                       WHERE conrelid = 'tenantry_tenants'::regclass \
                       AND conname = 'tenantry_tenants_status_check' \
                       AND pg_get_constraintdef(oid) LIKE '%provisioning_failed%'",
        add_statuses: &[
            "ALTER TABLE tenantry_tenants ALTER COLUMN status TYPE varchar(32)",
            "ALTER TABLE tenantry_tenants DROP CONSTRAINT IF EXISTS tenantry_tenants_status_check",
            "ALTER TABLE tenantry_tenants ADD CONSTRAINT tenantry_tenants_status_check \
             CHECK (status IN ('active', 'suspended', 'provisioning', 'provisioning_failed', 'moving', 'deleted'))",
        ],
    };

    fn catalog_stamp(at: DateTime<Utc>) -> Value {
        Value::ChronoDateTimeUtc(Some(at))
    }

    /// `LISTEN tenantry_tenants`: the trigger notifies each changed id as the change commits.
    /// A lost connection may have lost notifications: every entry is forgotten then.
    async fn watch_catalog(pool: Pool<Self>, watcher: CatalogWatcher) {
        loop {
            let mut listener = match PgListener::connect_with(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::debug!(target: "tenantry::catalog", error = %e, "cannot listen for catalog changes");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            if let Err(e) = listener.listen("tenantry_tenants").await {
                tracing::debug!(target: "tenantry::catalog", error = %e, "cannot listen for catalog changes");
                tokio::time::sleep(RETRY).await;
                continue;
            }
            // Anything changed before LISTEN took effect is unknown.
            watcher.everything_changed();
            loop {
                match listener.try_recv().await {
                    Ok(Some(change)) => watcher.changed(change.payload()),
                    Ok(None) => watcher.everything_changed(),
                    Err(e) => {
                        tracing::debug!(target: "tenantry::catalog", error = %e, "catalog notifications stopped");
                        watcher.everything_changed();
                        tokio::time::sleep(RETRY).await;
                        break;
                    }
                }
            }
        }
    }

    fn read_tenant(row: &PgRow) -> Result<TenantRecord, CatalogError> {
        read_record(row, Ok::<DateTime<Utc>, CatalogError>)
    }
}
