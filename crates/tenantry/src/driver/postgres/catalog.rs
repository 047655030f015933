//! The catalog table on PostgreSQL: `timestamptz`, `jsonb`, ids ordered bytewise (`"C"`).

use chrono::{DateTime, Utc};
use sea_query::Value;
use sqlx::Postgres;
use sqlx::postgres::PgRow;

use crate::{
    catalog::{
        CatalogError, TenantRecord,
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
                status varchar(16) NOT NULL,
                plan varchar(64) NOT NULL,
                placement text NOT NULL,
                settings jsonb NOT NULL,
                created_at timestamptz NOT NULL,
                updated_at timestamptz NOT NULL,
                CONSTRAINT tenantry_tenants_status_check
                    CHECK (status IN ('active', 'suspended', 'provisioning', 'moving', 'deleted'))
            )",
        ],
        has_folded: "SELECT count(*) FROM information_schema.columns \
                     WHERE table_schema = current_schema() AND table_name = 'tenantry_tenants' \
                     AND column_name = 'id_folded'",
        add_folded: "ALTER TABLE tenantry_tenants ADD COLUMN id_folded text",
        folded_clashes: "SELECT string_agg(id, ' and ' ORDER BY id) FROM tenantry_tenants \
                         GROUP BY id_folded HAVING count(*) > 1",
    };

    fn catalog_stamp(at: DateTime<Utc>) -> Value {
        Value::ChronoDateTimeUtc(Some(at))
    }

    fn read_tenant(row: &PgRow) -> Result<TenantRecord, CatalogError> {
        read_record(row, Ok::<DateTime<Utc>, CatalogError>)
    }
}
