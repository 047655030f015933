//! Changes made to a catalog by other processes, seen within a second.
//!
//! A [`Catalog`](super::Catalog) caches lookups for its TTL. A tenant suspended with
//! `tenantry tenants suspend` (another process) would otherwise keep being served until its
//! entry expires: so the cache asks its store to [`watch`](super::CatalogStore::watch) for
//! changes and forgets each changed tenant's entry as soon as the store reports it.
//! [`SqlCatalog`](super::SqlCatalog) reports every insert, update and delete of
//! `tenantry_tenants`, whoever makes it (the table's triggers record them): on PostgreSQL
//! through `LISTEN`/`NOTIFY` as they happen, on SQLite and MariaDB / MySQL from a small change
//! log read every 200 ms. The TTL stays as the backstop.

use std::sync::Arc;

use moka::sync::Cache;

use super::TenantRecord;
use crate::TenantId;

/// Tells a [`Catalog`](super::Catalog)'s cache what changed in its store; handed to
/// [`CatalogStore::watch`](super::CatalogStore::watch).
#[derive(Clone)]
pub struct CatalogWatcher {
    cache: Cache<TenantId, Option<Arc<TenantRecord>>>,
}

impl std::fmt::Debug for CatalogWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogWatcher").finish_non_exhaustive()
    }
}

impl CatalogWatcher {
    pub(super) fn new(cache: Cache<TenantId, Option<Arc<TenantRecord>>>) -> Self {
        Self { cache }
    }

    /// The tenant `id` changed (was created, updated or removed).
    pub fn changed(&self, id: &str) {
        tracing::debug!(target: "tenantry::catalog", tenant = id, "catalog change seen");
        self.cache.invalidate(id);
    }

    /// Changes may have been missed (a lost connection, a change log read too late): every
    /// cached entry is forgotten.
    pub fn everything_changed(&self) {
        tracing::debug!(target: "tenantry::catalog", "catalog changes may have been missed");
        self.cache.invalidate_all();
    }
}
