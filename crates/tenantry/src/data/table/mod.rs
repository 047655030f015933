//! [`TenantTable`]: every operation of one tenant on one resource, scoped.
//!
//! - `statements.rs` builds the SQL (sea-query, from the resource's checked names; the tenant
//!   and every other value bound);
//! - `reads.rs` lists, counts, gets;
//! - `writes.rs` creates, updates, deletes;
//! - `run.rs` runs a statement on the tenant's pool, or in a transaction with the tenant bound
//!   when row-level security is on.
//!
//! Each operation first asks the store where the tenant is placed ([`Placed`]): which pool,
//! and which schema qualifies the table's name.

mod id;
mod reads;
mod run;
mod statements;
mod writes;

pub use id::IdValue;

use std::ops::Deref;

use super::{DataError, DataStore, Ident, Resource, registry::Location};
use crate::{TenantId, context::NoTenantContext, driver::AnyPool};

/// The data of one tenant in one table. It cannot be built without a tenant, and every
/// statement it runs carries `tenant_field = $n` with that tenant bound:
///
/// - `list`, `count`, `get`, `search`, `count_search`, `find` see only the tenant's rows;
/// - `create` sets the tenant field itself, and refuses values that name another tenant
///   ([`DataError::TenantMismatch`](super::DataError::TenantMismatch); the same tenant is
///   accepted);
/// - `update` and `delete` touch only the tenant's rows; another tenant's id is
///   [`DataError::NotFound`](super::DataError::NotFound), exactly like a missing one; the id,
///   the tenant field and other immutable fields cannot be changed;
/// - identifiers come only from the [`Resource`] (checked when it was built) and every value is
///   bound, never written into SQL.
///
/// With [`DataStore::with_row_level_security`] on PostgreSQL, each operation on a tenant in
/// shared rows also runs in a transaction with `app.tenant_id` set, so the table's policies
/// enforce the same boundary.
///
/// With a store from a [`Registry`](super::Registry), each operation runs where the tenant is
/// placed: shared rows, its own schema (schema-qualified SQL), or its own database; the code
/// calling it is the same for all three.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use serde_json::json;
/// use tenantry::{TenantId, data::{Column, DataStore, DataError, Page, Resource, TenantTable}};
///
/// let store = DataStore::connect("sqlite::memory:").await.unwrap();
/// let notes = Resource::builder("notes").integer_id("id").column(Column::text("body")).build().unwrap();
/// store.create_table(&notes).await.unwrap();
///
/// let acme = TenantTable::new(store.clone(), notes.clone(), TenantId::parse("acme").unwrap());
/// let globex = TenantTable::new(store, notes, TenantId::parse("globex").unwrap());
///
/// let row = acme.create(json!({"body": "hello"}).as_object().unwrap().clone()).await.unwrap();
/// assert_eq!(row["tenant_id"], "acme");
/// let id = row["id"].as_i64().unwrap();
/// assert!(globex.get(id).await.unwrap().is_none());                       // not visible
/// assert!(matches!(globex.delete(id).await, Err(DataError::NotFound)));   // not deletable
/// let planted = json!({"body": "x", "tenant_id": "acme"}).as_object().unwrap().clone();
/// assert!(matches!(globex.create(planted).await, Err(DataError::TenantMismatch { .. })));
/// assert_eq!(acme.list(Page::default(), &[]).await.unwrap().len(), 1);
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct TenantTable {
    store: DataStore,
    resource: Resource,
    tenant: TenantId,
}

impl TenantTable {
    /// The table of `resource` for `tenant`.
    pub fn new(store: DataStore, resource: Resource, tenant: TenantId) -> Self {
        Self {
            store,
            resource,
            tenant,
        }
    }

    /// The table for the tenant of the current task ([`crate::context`]); an error outside a
    /// tenant scope, never a default tenant.
    pub fn for_current(store: DataStore, resource: Resource) -> Result<Self, NoTenantContext> {
        Ok(Self::new(
            store,
            resource,
            crate::context::current_tenant()?,
        ))
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The resource.
    pub fn resource(&self) -> &Resource {
        &self.resource
    }

    /// The store.
    pub fn store(&self) -> &DataStore {
        &self.store
    }
}

/// A tenant's table where the tenant is placed: the pool its statements run on, and the schema
/// that qualifies the table's name. Dereferences to the [`TenantTable`].
pub(super) struct Placed<'a> {
    table: &'a TenantTable,
    at: Location<'a>,
}

impl Deref for Placed<'_> {
    type Target = TenantTable;
    fn deref(&self) -> &TenantTable {
        self.table
    }
}

impl Placed<'_> {
    /// The pool the tenant's statements run on.
    pub(super) fn pool(&self) -> &AnyPool {
        self.at.pool()
    }

    /// The schema qualifying the table's name (schema placement).
    pub(super) fn schema(&self) -> Option<&Ident> {
        self.at.schema.as_ref()
    }

    /// Whether statements bind the tenant for row-level security (shared rows only: a schema
    /// or a database of its own is the wall there).
    pub(super) fn rls(&self) -> bool {
        self.at.row && self.table.store.uses_row_level_security()
    }
}

impl TenantTable {
    /// Where this tenant's statements run.
    pub(super) async fn placed(&self) -> Result<Placed<'_>, DataError> {
        Ok(Placed {
            table: self,
            at: self.store.locate(&self.tenant).await?,
        })
    }
}
