//! Isolation: tenant-scoped tables over SQLite, PostgreSQL and MariaDB/MySQL.
//!
//! - [`Resource`] describes a tenant table: its id, tenant field (default `tenant_id`), typed
//!   columns, and which columns may be searched, sorted and filtered. Names are [`Ident`]s,
//!   checked once when the resource is built.
//! - [`DataStore`] is a pool on one backend; [`DataStore::create_table`] creates a resource's
//!   table with its tenant index and per-tenant unique keys.
//! - [`TenantTable`] is every operation of one tenant on one resource. It cannot be built
//!   without a tenant and adds `tenant = $n` to every statement; a body naming another tenant is
//!   refused; ids and tenant fields never change.
//! - [`Typed`] is the same table with rows as your own serde structs.
//! - [`rls`] (PostgreSQL): row-level security policies as a second wall, and an audit.
//! - [`audit_tenant_columns`]: every tenant column must compare exactly (no case-insensitive or
//!   pad-space collation), or tenants whose ids differ in case would share rows; run it at boot.
//! - [`DataError`] maps every failure to an HTTP status and a stable code, never showing SQL.
//!
//! Raw SQL stays possible: [`DataStore::begin_for`] gives a real `sqlx::Transaction` of the
//! store's backend, bound to one tenant, and [`DataStore::unscoped_admin`] is the explicit,
//! logged door for cross-tenant jobs.
//!
//! The backends themselves live in the crate's `driver` module: this module is written once,
//! over any of them.

mod collation;
mod column;
mod ddl;
mod error;
mod fleet;
mod ident;
mod pools;
mod query;
pub(crate) mod registry;
mod resource;
#[cfg(feature = "postgres")]
pub mod rls;
pub(crate) mod rows;
mod server;
mod setup;
mod store;
mod table;
mod typed;
mod value;

pub use crate::driver::open::TenantJournal;
pub use crate::driver::{Backend, Driver, GroupCommitStats};
pub use collation::{
    InexactTenantColumns, OnInexact, TenantColumn, TenantColumnAudit, audit_tenant_columns,
};
pub use column::{Column, ColumnDef, ColumnType, IdKind};
pub(crate) use ddl::index_name;
pub use error::DataError;
pub use fleet::{FleetError, FleetOptions, FleetProgress, FleetReport, Outcome, PlacementReport};
pub use ident::{Ident, InvalidIdent};
pub use pools::PoolStats;
pub use query::{ListQuery, Order, Page, Search};
pub use registry::{PROVISIONING_ERROR, ProvisionError, Registry};
pub use resource::{Resource, ResourceBuilder};
pub(crate) use rows::{JsonRow, RowSink};
pub use server::{SCHEMA_POOL_STATEMENTS, ServerConfig, Servers, ServersConfig};
pub use setup::TenantSetup;
pub use store::{AdminPool, DataStore};
pub use table::{IdValue, TenantTable};
pub use typed::Typed;
pub use value::Record;
