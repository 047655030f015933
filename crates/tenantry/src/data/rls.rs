//! PostgreSQL row-level security: a second wall behind the query filter.
//!
//! [`enable`] installs, on a resource's table, `ENABLE` and `FORCE ROW LEVEL SECURITY` (so the
//! table's owner is bound too) and one policy whose `USING` and `WITH CHECK` are
//! `tenant_field = current_setting('app.tenant_id', true)`. A connection that has not set
//! `app.tenant_id` sees no rows and can write none.
//!
//! [`DataStore::with_row_level_security`] makes every [`TenantTable`](super::TenantTable)
//! operation set `app.tenant_id` with `set_config(.., true)` inside its transaction
//! (transaction-local, so a transaction-mode pooler such as PgBouncer cannot leak it to another
//! client), and [`DataStore::begin_for`] does the same for raw SQL.
//!
//! [`audit`], at boot, reports tenant tables (tables with the tenant column) without RLS, without
//! FORCE or without a policy, and a connection whose role bypasses RLS (a superuser or a role
//! with `BYPASSRLS`: policies do not apply to it at all).
//!
//! Caveat: RLS is defence in depth. The scoped service filters by tenant on its own; RLS catches
//! raw SQL that forgets to, and bugs.

use sqlx::{PgPool, Postgres, Row as _};

use super::{Backend, DataError, DataStore, Resource};
use crate::driver::SqlText;

/// The setting the policies read.
pub const SETTING: &str = "app.tenant_id";
/// The name of the policy [`enable`] installs.
pub const POLICY: &str = "tenantry_tenant_isolation";

fn pg(store: &DataStore) -> Result<&PgPool, DataError> {
    store
        .pool()
        .get::<Postgres>()
        .ok_or(DataError::WrongBackend {
            wanted: Backend::Postgres,
            found: store.backend(),
        })
}

/// Turns on row-level security for `resource`'s table (idempotent: the policy is replaced).
/// Needs a role that owns the table.
pub async fn enable(store: &DataStore, resource: &Resource) -> Result<(), DataError> {
    let pool = pg(store)?;
    let (table, tenant) = (resource.table(), resource.tenant_field());
    let check = " = current_setting('app.tenant_id', true)";
    let sql = SqlText::<Postgres>::new("BEGIN; ALTER TABLE ")
        .ident(table)
        .push(" ENABLE ROW LEVEL SECURITY; ALTER TABLE ")
        .ident(table)
        .push(" FORCE ROW LEVEL SECURITY; DROP POLICY IF EXISTS tenantry_tenant_isolation ON ")
        .ident(table)
        .push("; CREATE POLICY tenantry_tenant_isolation ON ")
        .ident(table)
        .push(" USING (")
        .ident(tenant)
        .push(check)
        .push(") WITH CHECK (")
        .ident(tenant)
        .push(check)
        .push("); COMMIT;");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.into_string()))
        .execute(pool)
        .await?;
    Ok(())
}

/// One tenant table, as [`audit`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableAudit {
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// `ENABLE ROW LEVEL SECURITY` is on.
    pub enabled: bool,
    /// `FORCE ROW LEVEL SECURITY` is on (the owner is bound too).
    pub forced: bool,
    /// How many policies the table has.
    pub policies: i64,
}

/// What [`audit`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Every table with the tenant column.
    pub tables: Vec<TableAudit>,
    /// The role of the audited connection.
    pub role: String,
    /// That role bypasses RLS (superuser or `BYPASSRLS`): no policy applies to it.
    pub role_bypasses_rls: bool,
}

impl Audit {
    /// Whether nothing is wrong.
    pub fn is_clean(&self) -> bool {
        self.problems().is_empty()
    }

    /// One line per problem.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.role_bypasses_rls {
            out.push(format!(
                "role {} bypasses row-level security (superuser or BYPASSRLS); connect the application as an ordinary role",
                self.role
            ));
        }
        for t in &self.tables {
            let name = format!("{}.{}", t.schema, t.table);
            if !t.enabled {
                out.push(format!("{name}: row-level security is not enabled"));
            } else if !t.forced {
                out.push(format!(
                    "{name}: row-level security is not forced (its owner is not bound)"
                ));
            }
            if t.policies == 0 {
                out.push(format!("{name}: has no policy"));
            }
        }
        out
    }
}

/// Reports tables that have a `tenant_field` column and lack RLS, FORCE or a policy, and whether
/// the connection's role bypasses RLS. Log [`Audit::problems`] at boot.
pub async fn audit(store: &DataStore, tenant_field: &str) -> Result<Audit, DataError> {
    let pool = pg(store)?;
    let rows = sqlx::query(
        "SELECT n.nspname::text, c.relname::text, c.relrowsecurity, c.relforcerowsecurity, \
                (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'p') \
           AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
           AND n.nspname NOT LIKE 'pg_toast%' \
           AND EXISTS (SELECT 1 FROM pg_attribute a \
                       WHERE a.attrelid = c.oid AND a.attname = $1 AND NOT a.attisdropped) \
         ORDER BY 1, 2",
    )
    .bind(tenant_field)
    .fetch_all(pool)
    .await?;
    let tables = rows
        .iter()
        .map(|r| {
            Ok(TableAudit {
                schema: r.try_get(0)?,
                table: r.try_get(1)?,
                enabled: r.try_get(2)?,
                forced: r.try_get(3)?,
                policies: r.try_get(4)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let role = sqlx::query(
        "SELECT current_user::text, rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(pool)
    .await?;
    Ok(Audit {
        tables,
        role: role.try_get(0)?,
        role_bypasses_rls: role.try_get(1)?,
    })
}
