//! Isolation: tenant-scoped data services over SQLite, PostgreSQL and MariaDB/MySQL.
//!
//! - [`Resource`] describes a tenant table: its id, tenant field (default `tenant_id`), typed
//!   columns, and which columns may be searched, sorted and filtered. Names are [`Ident`]s,
//!   checked once when the resource is built.
//! - [`Database`] is a pool on one backend; [`Database::create_table`] creates a resource's table
//!   with its tenant index and per-tenant unique keys.
//! - [`TenantScopedService`] is every operation of one tenant on one resource. It cannot be
//!   built without a tenant and adds `tenant = $n` to every statement; a body naming another
//!   tenant is refused; ids and tenant fields never change.
//! - [`Typed`] is the same service with rows as your own serde structs.
//! - [`rls`] (PostgreSQL): row-level security policies as a second wall, and an audit.
//! - [`audit_tenant_columns`]: every tenant column must compare exactly (no case-insensitive or
//!   pad-space collation), or tenants whose ids differ in case would share rows; run it at boot.
//! - [`DataError`] maps every failure to an HTTP status and a stable code, never showing SQL.
//!
//! Raw SQL stays possible: [`Database::begin_for`] gives a transaction bound to one tenant, and
//! [`Database::unscoped_admin`] is the explicit, logged door for cross-tenant jobs.

mod collation;
mod database;
mod ddl;
mod error;
mod ident;
mod query;
mod resource;
#[cfg(feature = "postgres")]
pub mod rls;
mod scoped;
mod typed;
mod value;

pub use collation::{
    InexactTenantColumns, OnInexact, TenantColumn, TenantColumnAudit, audit_tenant_columns,
};
pub(crate) use collation::{mysql_collation_is_exact, sqlite_column_is_exact};
pub use database::{AdminPool, Backend, Database, TenantTransaction};
pub use error::DataError;
pub use ident::{Ident, InvalidIdent};
pub use query::{ListQuery, Order, Page, Search};
pub use resource::{Column, ColumnDef, ColumnType, IdKind, Resource, ResourceBuilder};
pub use scoped::{IdValue, TenantScopedService};
pub use typed::Typed;
pub(crate) use value::JsonRow;
pub use value::Row;
