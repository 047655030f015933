//! [`TenantPools`]: the pools of tenants placed in databases of their own on one server, a
//! bounded cache.
//!
//! - At most `max_pools` pools are kept; opening one more closes the least recently used.
//! - A pool unused for its idle time is closed (and its connections with it: no file
//!   descriptor of a SQLite tenant outlives its idle time).
//! - Every pool holds `connections` permits of one semaphore of `max_pools * connections`
//!   from before it opens until its last connection is closed, so however many tenants a
//!   burst touches, the connections open on the server never exceed that product. A request
//!   that finds every permit held (every pool busy) waits for one, up to the acquire timeout,
//!   then is [`DataError::Unavailable`].
//! - An evicted pool is closed only once no request holds it: a request that got it keeps
//!   using it to the end; the next request for that tenant opens a new one.
//!
//! The key is the database's name, which is the tenant's own (generated at provisioning and
//! unique on the server), so a pool is never handed to another tenant.

use std::{
    num::NonZeroUsize,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use lru::LruCache;
use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use super::DataError;
use crate::driver::{
    AnyPool, ConnectError, dispatch,
    open::{PoolSettings, ServerUrl},
};

/// One tenant's pool, with the permits for its connections.
pub(crate) struct TenantPool {
    pub(crate) pool: AnyPool,
    permits: Option<OwnedSemaphorePermit>,
    open: Arc<AtomicUsize>,
}

impl Drop for TenantPool {
    /// Closes the pool (waiting for connections still out to come back), then gives its
    /// permits back. Without a runtime (the process is ending) the pool just drops.
    fn drop(&mut self) {
        let pool = self.pool.clone();
        let permits = self.permits.take();
        let open = Arc::clone(&self.open);
        let close = async move {
            dispatch!(&pool, |p| p.close().await);
            drop(permits);
            open.fetch_sub(1, Ordering::Relaxed);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => drop(runtime.spawn(close)),
            Err(_) => {
                self.open.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }
}

struct Slot {
    pool: Arc<OnceCell<Arc<TenantPool>>>,
    used: Instant,
}

/// What the tenant pools of a server hold now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Pools open (cached, or closing while a request finishes with them).
    pub pools: usize,
    /// Connections of the cached pools, idle and in use.
    pub connections: u32,
    /// Connections of the cached pools that are idle.
    pub idle: usize,
}

/// The tenant pools of one server. See the [module docs](self).
pub(crate) struct TenantPools {
    server: ServerUrl,
    settings: PoolSettings,
    slots: Mutex<LruCache<Arc<str>, Slot>>,
    permits: Arc<Semaphore>,
    open: Arc<AtomicUsize>,
}

impl TenantPools {
    pub(crate) fn new(server: ServerUrl, max_pools: usize, settings: PoolSettings) -> Self {
        let max_pools = NonZeroUsize::new(max_pools).unwrap_or(NonZeroUsize::MIN);
        let per_pool = settings.max_connections.max(1) as usize;
        Self {
            server,
            settings,
            slots: Mutex::new(LruCache::new(max_pools)),
            permits: Arc::new(Semaphore::new(max_pools.get() * per_pool)),
            open: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The pool of `database`, opened if it is not cached.
    pub(crate) async fn get(&self, database: &str) -> Result<Arc<TenantPool>, DataError> {
        let cell = self.slot(database);
        let pool = cell.get_or_try_init(|| self.open_pool(database)).await?;
        Ok(Arc::clone(pool))
    }

    /// The slot of `database`, made if missing; the least recently used one goes when full.
    /// Also drops slots idle for longer than the idle time.
    fn slot(&self, database: &str) -> Arc<OnceCell<Arc<TenantPool>>> {
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(slot) = slots.get_mut(database) {
            slot.used = now;
            return Arc::clone(&slot.pool);
        }
        // A miss: a good moment to let idle pools go (the least recently used are last).
        while let Some((_, slot)) = slots.peek_lru() {
            if now.duration_since(slot.used) < self.settings.idle_timeout {
                break;
            }
            slots.pop_lru();
        }
        let pool = Arc::new(OnceCell::new());
        slots.push(
            database.into(),
            Slot {
                pool: Arc::clone(&pool),
                used: now,
            },
        );
        pool
    }

    async fn open_pool(&self, database: &str) -> Result<Arc<TenantPool>, DataError> {
        let per_pool = self.settings.max_connections.max(1);
        let permits = tokio::time::timeout(
            self.settings.acquire_timeout,
            Arc::clone(&self.permits).acquire_many_owned(per_pool),
        )
        .await
        .map_err(|_| DataError::Unavailable(sqlx::Error::PoolTimedOut))?
        .map_err(|_| DataError::Unavailable(sqlx::Error::PoolClosed))?;
        let pool =
            AnyPool::open(&self.server, Some(database), &self.settings).map_err(|e| match e {
                ConnectError::Unavailable(e) => DataError::Unavailable(e),
                ConnectError::UnsupportedUrl(why) => DataError::Unsupported(why),
            })?;
        self.open.fetch_add(1, Ordering::Relaxed);
        Ok(Arc::new(TenantPool {
            pool,
            permits: Some(permits),
            open: Arc::clone(&self.open),
        }))
    }

    /// Closes every idle pool now (a pool a request holds closes when it is done).
    pub(crate) fn evict_idle(&self, idle: Duration) {
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((_, slot)) = slots.peek_lru() {
            if now.duration_since(slot.used) < idle {
                break;
            }
            slots.pop_lru();
        }
    }

    /// Closes every pool and opens no more: later requests for these tenants are
    /// [`DataError::Unavailable`] (503).
    pub(crate) async fn close(&self) {
        self.permits.close();
        let pools: Vec<Arc<TenantPool>> = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            let pools = slots
                .iter()
                .filter_map(|(_, s)| s.pool.get().cloned())
                .collect();
            slots.clear();
            pools
        };
        for pool in pools {
            dispatch!(&pool.pool, |p| p.close().await);
        }
    }

    /// Forgets the pool of `database` (its tenant was moved or deleted).
    pub(crate) fn forget(&self, database: &str) {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots.pop(database);
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        let mut stats = PoolStats {
            pools: self.open.load(Ordering::Relaxed),
            ..PoolStats::default()
        };
        for (_, slot) in slots.iter() {
            if let Some(pool) = slot.pool.get() {
                stats.connections += dispatch!(&pool.pool, |p| p.size());
                stats.idle += dispatch!(&pool.pool, |p| p.num_idle());
            }
        }
        stats
    }

    /// The idle time after which pools close.
    pub(crate) fn idle_timeout(&self) -> Duration {
        self.settings.idle_timeout
    }
}
