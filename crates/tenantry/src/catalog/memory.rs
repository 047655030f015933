use std::{
    collections::BTreeMap,
    sync::{PoisonError, RwLock},
};

use super::{CatalogError, CatalogStore, TenantRecord};
use crate::BoxFuture;
use crate::TenantId;

/// A catalog kept in memory: for tests, demos and applications whose tenants are fixed in code.
///
/// ```
/// use tenantry::{TenantId, catalog::{MemoryCatalog, TenantRecord, TenantStatus}};
///
/// let catalog = MemoryCatalog::new()
///     .with(TenantRecord::new(TenantId::parse("acme").unwrap(), "Acme"))
///     .with(TenantRecord::new(TenantId::parse("initech").unwrap(), "Initech")
///         .with_status(TenantStatus::Suspended));
/// ```
#[derive(Debug, Default)]
pub struct MemoryCatalog {
    records: RwLock<BTreeMap<TenantId, TenantRecord>>,
}

impl MemoryCatalog {
    /// An empty catalog.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a record.
    pub fn with(self, record: TenantRecord) -> Self {
        self.records
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(record.id.clone(), record);
        self
    }

    /// A catalog of active tenants with these ids (names equal to ids).
    pub fn with_active<I: IntoIterator<Item = TenantId>>(ids: I) -> Self {
        ids.into_iter().fold(Self::new(), |c, id| {
            c.with(TenantRecord::new(id.clone(), id.as_str()))
        })
    }
}

impl CatalogStore for MemoryCatalog {
    fn get<'a>(
        &'a self,
        id: &'a TenantId,
    ) -> BoxFuture<'a, Result<Option<TenantRecord>, CatalogError>> {
        let found = self
            .records
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned();
        Box::pin(std::future::ready(Ok(found)))
    }

    fn list(&self) -> BoxFuture<'_, Result<Vec<TenantRecord>, CatalogError>> {
        let all = self
            .records
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        Box::pin(std::future::ready(Ok(all)))
    }

    fn create<'a>(&'a self, record: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>> {
        let mut map = self.records.write().unwrap_or_else(PoisonError::into_inner);
        let folded = record.id.as_str().to_lowercase();
        let same_but_case = map
            .keys()
            .find(|k| k.as_str() != record.id.as_str() && k.as_str().to_lowercase() == folded);
        let result = if map.contains_key(&record.id) {
            Err(CatalogError::AlreadyExists(record.id.clone()))
        } else if let Some(existing) = same_but_case {
            Err(CatalogError::CaseConflict {
                id: record.id.clone(),
                existing: existing.to_string(),
            })
        } else {
            map.insert(record.id.clone(), record.clone());
            Ok(())
        };
        Box::pin(std::future::ready(result))
    }

    fn update<'a>(&'a self, record: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>> {
        let mut map = self.records.write().unwrap_or_else(PoisonError::into_inner);
        let result = match map.get_mut(&record.id) {
            Some(slot) => {
                *slot = record.clone();
                Ok(())
            }
            None => Err(CatalogError::NotFound(record.id.clone())),
        };
        Box::pin(std::future::ready(result))
    }

    fn remove<'a>(&'a self, id: &'a TenantId) -> BoxFuture<'a, Result<(), CatalogError>> {
        let mut map = self.records.write().unwrap_or_else(PoisonError::into_inner);
        let result = match map.remove(id) {
            Some(_) => Ok(()),
            None => Err(CatalogError::NotFound(id.clone())),
        };
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ids_differing_only_in_case_are_refused() {
        let store = MemoryCatalog::new();
        let id = |s: &str| TenantId::parse(s).unwrap();
        store
            .create(&TenantRecord::new(id("acme"), "Acme"))
            .await
            .unwrap();
        let err = store
            .create(&TenantRecord::new(id("ACME"), "x"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, CatalogError::CaseConflict { existing, .. } if existing == "acme"),
            "{err:?}"
        );
        assert!(store.get(&id("ACME")).await.unwrap().is_none());
        assert!(matches!(
            store.create(&TenantRecord::new(id("acme"), "x")).await,
            Err(CatalogError::AlreadyExists(_))
        ));
    }
}
