use std::{
    fmt,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use moka::sync::Cache;

use super::{
    CatalogError, CatalogStore, CatalogWatcher, LifecycleEvent, LifecycleSubscriber, TenantRecord,
    TenantStatus,
};
use crate::TenantId;

/// A [`CatalogStore`] with a bounded TTL cache in front.
///
/// Lookups (including "no such tenant") are cached for [`ttl`](Catalog::ttl) (default 30 s), at
/// most [`capacity`](Catalog::capacity) entries (default 100,000). Changes made through this
/// `Catalog` invalidate their entry immediately. Changes made by another process are seen as
/// soon as the store reports them: on first use the catalog spawns the store's
/// [`watch`](CatalogStore::watch) task (within a second for [`SqlCatalog`](super::SqlCatalog)),
/// and at the latest when the entry expires. Cloning shares the cache and the watch.
#[derive(Clone)]
pub struct Catalog {
    store: Arc<dyn CatalogStore>,
    cache: Cache<TenantId, Option<Arc<TenantRecord>>>,
    watch: Arc<Watch>,
    lifecycle: Option<Arc<dyn LifecycleSubscriber>>,
}

/// The store's watch task: started once, aborted when the last clone of the catalog goes.
#[derive(Default)]
struct Watch {
    started: AtomicBool,
    task: Mutex<Option<tokio::task::AbortHandle>>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let task = self.task.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(task) = task.take() {
            task.abort();
        }
    }
}

impl fmt::Debug for Catalog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Catalog")
            .field("cached", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

impl Catalog {
    /// Default time an entry stays cached.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
    /// Default number of cached entries.
    pub const DEFAULT_CAPACITY: u64 = 100_000;

    /// A cached catalog over `store`.
    pub fn new(store: impl CatalogStore) -> Self {
        Self::from_arc(Arc::new(store))
    }

    /// A cached catalog over a shared store.
    pub fn from_arc(store: Arc<dyn CatalogStore>) -> Self {
        Self {
            store,
            cache: Self::build_cache(Self::DEFAULT_TTL, Self::DEFAULT_CAPACITY),
            watch: Arc::default(),
            lifecycle: None,
        }
    }

    /// Tells `subscriber` of every lifecycle change made through this catalog (and its
    /// clones): see [`LifecycleEvent`].
    pub fn with_lifecycle(self, subscriber: impl LifecycleSubscriber) -> Self {
        Self {
            lifecycle: Some(Arc::new(subscriber)),
            ..self
        }
    }

    /// Tells the subscriber, if there is one.
    pub(crate) fn emit(&self, tenant: &TenantRecord, event: LifecycleEvent) {
        if let Some(subscriber) = &self.lifecycle {
            subscriber.on_event(tenant, &event);
        }
    }

    /// Spawns the store's watch task, once (on the runtime of the first lookup).
    fn start_watching(&self) {
        if self.watch.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if let Some(task) = self.store.watch(CatalogWatcher::new(self.cache.clone())) {
            let handle = runtime.spawn(task).abort_handle();
            *self
                .watch
                .task
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = Some(handle);
        }
    }

    fn build_cache(ttl: Duration, capacity: u64) -> Cache<TenantId, Option<Arc<TenantRecord>>> {
        Cache::builder()
            .max_capacity(capacity)
            .time_to_live(ttl)
            .build()
    }

    /// Sets how long an entry stays cached (zero disables caching).
    pub fn ttl(self, ttl: Duration) -> Self {
        let capacity = self
            .cache
            .policy()
            .max_capacity()
            .unwrap_or(Self::DEFAULT_CAPACITY);
        let capacity = if ttl.is_zero() { 0 } else { capacity };
        Self {
            cache: Self::build_cache(ttl.max(Duration::from_nanos(1)), capacity),
            ..self
        }
    }

    /// Sets the most entries kept.
    pub fn capacity(self, capacity: u64) -> Self {
        let ttl = self
            .cache
            .policy()
            .time_to_live()
            .unwrap_or(Self::DEFAULT_TTL);
        Self {
            cache: Self::build_cache(ttl, capacity),
            ..self
        }
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn CatalogStore> {
        &self.store
    }

    /// The record for `id`, from the cache when fresh.
    pub async fn get(&self, id: &TenantId) -> Result<Option<Arc<TenantRecord>>, CatalogError> {
        if let Some(hit) = self.cache.get(id) {
            return Ok(hit);
        }
        if !self.watch.started.load(Ordering::Relaxed) {
            self.start_watching();
        }
        let found = self.store.get(id).await?.map(Arc::new);
        self.cache.insert(id.clone(), found.clone());
        Ok(found)
    }

    /// The cached answer for `id` without asking the store: `None` when it is not cached (or
    /// has expired).
    pub(crate) fn cached(&self, id: &TenantId) -> Option<Option<Arc<TenantRecord>>> {
        self.cache.get(id)
    }

    /// Every record, from the store.
    pub async fn list(&self) -> Result<Vec<TenantRecord>, CatalogError> {
        self.store.list().await
    }

    /// Adds a record.
    pub async fn create(&self, record: TenantRecord) -> Result<TenantRecord, CatalogError> {
        let result = self.store.create(&record).await;
        self.cache.invalidate(&record.id);
        result?;
        self.emit(&record, LifecycleEvent::Created);
        Ok(record)
    }

    /// Replaces a record, setting `updated_at` to now.
    pub async fn update(&self, mut record: TenantRecord) -> Result<TenantRecord, CatalogError> {
        // The status before, to tell the subscriber what changed (read only when there is one).
        let before = match &self.lifecycle {
            Some(_) => self.store.get(&record.id).await?.map(|r| r.status),
            None => None,
        };
        record.touch();
        let result = self.store.update(&record).await;
        self.cache.invalidate(&record.id);
        result?;
        if let Some(event) =
            before.and_then(|from| LifecycleEvent::of_transition(from, record.status))
        {
            self.emit(&record, event);
        }
        Ok(record)
    }

    /// Changes a tenant's status.
    pub async fn set_status(
        &self,
        id: &TenantId,
        status: TenantStatus,
    ) -> Result<TenantRecord, CatalogError> {
        let mut record = self
            .store
            .get(id)
            .await?
            .ok_or_else(|| CatalogError::NotFound(id.clone()))?;
        record.status = status;
        self.update(record).await
    }

    /// Removes a record for good.
    pub async fn remove(&self, id: &TenantId) -> Result<(), CatalogError> {
        let before = match &self.lifecycle {
            Some(_) => self.store.get(id).await?,
            None => None,
        };
        let result = self.store.remove(id).await;
        self.cache.invalidate(id);
        result?;
        if let Some(record) = before {
            self.emit(&record, LifecycleEvent::Removed);
        }
        Ok(())
    }

    /// Forgets the cached entry for `id` (after a change made elsewhere).
    pub fn invalidate(&self, id: &TenantId) {
        self.cache.invalidate(id);
    }
}
