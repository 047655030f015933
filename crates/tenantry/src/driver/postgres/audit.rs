//! Whether PostgreSQL tenant columns compare exactly: not `citext`, not a nondeterministic
//! collation.

use sqlx::PgPool;
use sqlx::Postgres;

use crate::{
    data::{DataError, TenantColumn},
    driver::sealed::Audit,
};

impl Audit for Postgres {
    async fn audit_tenant_columns(
        pool: &PgPool,
        field: &str,
    ) -> Result<Vec<TenantColumn>, DataError> {
        let rows: Vec<(String, String, String, bool, Option<String>, bool)> = sqlx::query_as(
            "SELECT n.nspname::text, c.relname::text, format_type(a.atttypid, a.atttypmod), \
                    (t.typname = 'citext' OR (t.typtype = 'd' AND EXISTS ( \
                        SELECT 1 FROM pg_type b WHERE b.oid = t.typbasetype AND b.typname = 'citext'))), \
                    co.collname::text, COALESCE(co.collisdeterministic, true) \
             FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation \
             WHERE a.attname = $1 AND a.attnum > 0 AND NOT a.attisdropped \
               AND c.relkind IN ('r', 'p') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg_toast%' \
             ORDER BY 1, 2",
        )
        .bind(field)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(schema, table, column_type, citext, collation, deterministic)| {
                let inexact = if citext {
                    Some(format!(
                        "type {column_type} compares without case; use text: \
                         ALTER TABLE \"{schema}\".\"{table}\" ALTER COLUMN \"{field}\" TYPE text"
                    ))
                } else if !deterministic {
                    Some(format!(
                        "collation {} is nondeterministic; use a deterministic one: \
                         ALTER TABLE \"{schema}\".\"{table}\" ALTER COLUMN \"{field}\" TYPE {column_type} COLLATE \"C\"",
                        collation.as_deref().unwrap_or("?")
                    ))
                } else {
                    None
                };
                TenantColumn {
                    schema,
                    table,
                    column_type,
                    collation,
                    inexact,
                }
            })
            .collect())
    }
}
