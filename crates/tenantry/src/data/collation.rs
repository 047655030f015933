//! Exact comparison of tenant columns: the collation audit.
//!
//! Every statement tenantry runs scopes rows with `tenant_field = ?`. That is a wall only if the
//! column compares exactly. A column with a case-insensitive collation (MariaDB's default
//! `utf8mb4_general_ci`, SQLite's `COLLATE NOCASE`, PostgreSQL's `citext` or a nondeterministic
//! ICU collation) makes tenants `ACME` and `acme` one tenant; a pad-space collation (MariaDB's
//! `utf8mb4_bin`) makes `acme` and `acme ` one.
//!
//! Tables that tenantry creates ([`DataStore::create_table`]) always compare exactly. Tables the
//! application creates itself are checked by [`audit_tenant_columns`], which lists every table
//! with the tenant column and says for each whether it compares exactly; run it at boot and
//! refuse to start ([`TenantColumnAudit::check`]) or at least warn.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use tenantry::data::{DataStore, OnInexact, audit_tenant_columns};
//!
//! let store = DataStore::connect("sqlite::memory:").await.unwrap();
//! let admin = store.unscoped_admin("example: an application table");
//! sqlx::raw_sql("CREATE TABLE notes (id integer PRIMARY KEY, tenant_id text COLLATE NOCASE)")
//!     .execute(admin.pool::<sqlx::Sqlite>().unwrap())
//!     .await
//!     .unwrap();
//! let audit = audit_tenant_columns(&store, "tenant_id").await.unwrap();
//! assert!(!audit.is_clean());
//! assert!(audit.problems()[0].contains("NOCASE"));
//! assert!(audit.check(OnInexact::Refuse).is_err());
//! # });
//! ```

use std::fmt;

use super::{DataError, DataStore};
use crate::driver::dispatch;

/// What to do about tenant columns that compare inexactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnInexact {
    /// Refuse to start: [`TenantColumnAudit::check`] fails (the default).
    #[default]
    Refuse,
    /// Log each problem at `warn` and go on. Tenants whose ids differ only in case (or in
    /// trailing spaces) then share those tables' rows: use only while fixing the columns.
    Warn,
}

/// One table's tenant column, as [`audit_tenant_columns`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantColumn {
    /// The schema (PostgreSQL), database (MariaDB) or `main` (SQLite).
    pub schema: String,
    /// The table.
    pub table: String,
    /// The column's type as the database names it.
    pub column_type: String,
    /// Its collation, where it has one.
    pub collation: Option<String>,
    /// Why it does not compare exactly; `None` when it does.
    pub inexact: Option<String>,
}

/// Every tenant column of a database and whether it compares exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantColumnAudit {
    /// The tenant field audited.
    pub tenant_field: String,
    /// Every table that has it.
    pub columns: Vec<TenantColumn>,
}

/// Tenant columns that compare inexactly, from [`TenantColumnAudit::check`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant columns that do not compare exactly (tenants differing only in case would share rows): {}", .0.join("; "))]
pub struct InexactTenantColumns(pub Vec<String>);

impl TenantColumnAudit {
    /// Whether every tenant column compares exactly.
    pub fn is_clean(&self) -> bool {
        self.columns.iter().all(|c| c.inexact.is_none())
    }

    /// One line per inexact column, with how to fix it.
    pub fn problems(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter_map(|c| {
                let why = c.inexact.as_ref()?;
                Some(format!(
                    "{}.{}.{}: {why}",
                    c.schema, c.table, self.tenant_field
                ))
            })
            .collect()
    }

    /// Applies `policy`: with [`OnInexact::Refuse`] an error listing every inexact column, with
    /// [`OnInexact::Warn`] a `warn` event for each (target `tenantry::audit`).
    pub fn check(&self, policy: OnInexact) -> Result<(), InexactTenantColumns> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        match policy {
            OnInexact::Refuse => Err(InexactTenantColumns(problems)),
            OnInexact::Warn => {
                for p in &problems {
                    tracing::warn!(target: "tenantry::audit", problem = %p, "tenant column compares inexactly");
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for TenantColumnAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.columns {
            let verdict = c.inexact.as_deref().unwrap_or("exact");
            writeln!(
                f,
                "{}.{}.{}: {verdict}",
                c.schema, c.table, self.tenant_field
            )?;
        }
        Ok(())
    }
}

/// Lists every base table of `store` that has a column `tenant_field` and says whether that column
/// compares exactly:
///
/// | backend | inexact |
/// |---|---|
/// | MariaDB / MySQL | any collation but a binary no-pad one (`*_ci`, `*_cs`, the pad-space `utf8mb4_bin`) |
/// | SQLite | `COLLATE NOCASE`, `COLLATE RTRIM`, or an application-defined collation |
/// | PostgreSQL | `citext` (or a domain over it), a nondeterministic collation |
///
/// PostgreSQL is audited across all schemas but the system ones; MariaDB / MySQL in the
/// connection's database; SQLite in `main`.
pub async fn audit_tenant_columns(
    store: &DataStore,
    tenant_field: &str,
) -> Result<TenantColumnAudit, DataError> {
    let columns = dispatch!(store.pool(), |pool| { audit(pool, tenant_field).await? });
    Ok(TenantColumnAudit {
        tenant_field: tenant_field.to_owned(),
        columns,
    })
}

async fn audit<D: crate::driver::Driver>(
    pool: &sqlx::Pool<D>,
    tenant_field: &str,
) -> Result<Vec<TenantColumn>, DataError> {
    D::audit_tenant_columns(pool, tenant_field).await
}
