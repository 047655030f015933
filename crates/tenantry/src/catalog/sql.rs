//! STUB: being implemented.
use super::{BoxFuture, CatalogError, CatalogStore, TenantRecord};
use crate::TenantId;

/// The catalog in the `tenantry_tenants` table.
#[derive(Debug, Clone)]
pub struct SqlCatalog {}

impl SqlCatalog {
    /// Connects by URL.
    pub async fn connect(_url: &str) -> Result<Self, CatalogError> {
        Err(CatalogError::Corrupt("stub".into()))
    }
    /// Creates the table if missing.
    pub async fn migrate(&self) -> Result<(), CatalogError> {
        Ok(())
    }
}

impl CatalogStore for SqlCatalog {
    fn get<'a>(&'a self, _id: &'a TenantId) -> BoxFuture<'a, Result<Option<TenantRecord>, CatalogError>> {
        Box::pin(async { Ok(None) })
    }
    fn list(&self) -> BoxFuture<'_, Result<Vec<TenantRecord>, CatalogError>> {
        Box::pin(async { Ok(vec![]) })
    }
    fn create<'a>(&'a self, _r: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(async { Ok(()) })
    }
    fn update<'a>(&'a self, _r: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(async { Ok(()) })
    }
    fn remove<'a>(&'a self, _id: &'a TenantId) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(async { Ok(()) })
    }
}
