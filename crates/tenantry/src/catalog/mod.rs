//! Catalog: which tenants exist, their status, plan and placement.
//!
//! A [`CatalogStore`] keeps [`TenantRecord`]s: [`MemoryCatalog`] in memory, [`SqlCatalog`] in
//! the `tenantry_tenants` table (features `sqlite`, `postgres`, `mysql`). [`Catalog`] puts a
//! bounded TTL cache in front of any store; changes made through it invalidate the cached entry at
//! once, changes made elsewhere (another process) as soon as the store reports them (within a
//! second for [`SqlCatalog`], see [`CatalogWatcher`]), and at the latest when the entry expires.
//!
//! ```
//! # tokio_test_block_on(async {
//! use tenantry::{TenantId, catalog::{Catalog, MemoryCatalog, TenantRecord, TenantStatus}};
//!
//! let catalog = Catalog::new(MemoryCatalog::new());
//! catalog.create(TenantRecord::new(TenantId::parse("acme").unwrap(), "Acme Corp")).await.unwrap();
//! let acme = catalog.get(&TenantId::parse("acme").unwrap()).await.unwrap().unwrap();
//! assert_eq!(acme.status, TenantStatus::Active);
//! # });
//! # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```

mod cache;
mod lifecycle;
mod memory;
mod placement;
mod record;
#[cfg(feature = "_sql")]
pub(crate) mod sql;
mod watch;

pub use cache::Catalog;
pub use lifecycle::{LifecycleEvent, LifecycleSubscriber};
pub use memory::MemoryCatalog;
#[cfg(feature = "_sql")]
pub(crate) use placement::is_object_name;
pub use placement::{InvalidServerName, Placement, PlacementKind, ServerName};
pub use record::{TenantRecord, TenantStatus};
#[cfg(feature = "_sql")]
pub use sql::SqlCatalog;
pub use watch::CatalogWatcher;

use crate::{BoxFuture, TenantId};

/// What can go wrong in a catalog operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// No tenant with that id.
    #[error("tenant {0} does not exist")]
    NotFound(TenantId),
    /// A tenant with that id exists already.
    #[error("tenant {0} exists already")]
    AlreadyExists(TenantId),
    /// A tenant exists whose id differs from this one only in case. Such ids are refused: host
    /// names, some collations and people compare without case, and would mix the two up.
    #[error("tenant {id} differs from the existing tenant {existing} only in case")]
    CaseConflict {
        /// The id refused.
        id: TenantId,
        /// The id that exists.
        existing: String,
    },
    /// The backing store could not be reached or failed.
    #[error("catalog store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored record could not be read (bad status, bad id, bad JSON).
    #[error("catalog record is corrupt: {0}")]
    Corrupt(String),
    /// A catalog URL names a backend that is not compiled in (its feature is off), an unknown
    /// scheme, or does not parse. The message never repeats the URL (it may hold a password).
    #[error("unsupported catalog URL: {0}")]
    UnsupportedUrl(String),
}

/// Storage for tenant records. Implement it to keep the catalog somewhere tenantry does not know.
pub trait CatalogStore: Send + Sync + 'static {
    /// The record for `id`, if any.
    fn get<'a>(
        &'a self,
        id: &'a TenantId,
    ) -> BoxFuture<'a, Result<Option<TenantRecord>, CatalogError>>;

    /// Every record, ordered by id.
    fn list(&self) -> BoxFuture<'_, Result<Vec<TenantRecord>, CatalogError>>;

    /// Adds a record; [`CatalogError::AlreadyExists`] if its id is taken,
    /// [`CatalogError::CaseConflict`] if an id differing from it only in case is.
    fn create<'a>(&'a self, record: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>>;

    /// Replaces a record (matched by id); [`CatalogError::NotFound`] if there is none.
    fn update<'a>(&'a self, record: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>>;

    /// Removes a record for good; [`CatalogError::NotFound`] if there is none.
    fn remove<'a>(&'a self, id: &'a TenantId) -> BoxFuture<'a, Result<(), CatalogError>>;

    /// A task that tells `watcher` about changes made to the store by others (other processes,
    /// other tools), for as long as it runs; `None` (the default) if the store cannot tell.
    /// [`Catalog`] spawns it on first use and aborts it when its last clone is dropped.
    fn watch(&self, watcher: CatalogWatcher) -> Option<BoxFuture<'static, ()>> {
        let _ = watcher;
        None
    }
}
