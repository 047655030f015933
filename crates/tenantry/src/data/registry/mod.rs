//! [`Registry`]: where each tenant's rows are, read on every request from its catalog record's
//! [`Placement`], on the configured [`Servers`].
//!
//! | placement | connection | table names |
//! |---|---|---|
//! | `row` (`@server`) | the server's own pool | `"items"`, rows filtered by the tenant column |
//! | `schema:NAME` (PostgreSQL) | the server's own pool, or the one of its [schema pools](super::ServerConfig::schema_pools) that serves `NAME` | `"NAME"."items"`: schema-qualified, no `SET search_path` |
//! | `database:NAME` | the tenant's own pool ([bounded cache](PoolStats)) | `"items"` in the tenant's database |
//!
//! In every placement the tenant column is still set and filtered on, so a row copied between
//! placements stays the tenant's, and the filter is a second wall behind the schema or
//! database. The placement comes from the record the enforcement layer already read for the
//! request (no second lookup); outside a request, from the registry's [`Catalog`] (cached). A
//! tenant the catalog does not know is placed in shared rows on the default server.

mod location;
mod provision;

pub(crate) use location::Location;
pub use provision::{PROVISIONING_ERROR, ProvisionError};

use std::{
    fmt,
    sync::{Arc, OnceLock},
    time::Duration,
};

use super::{DataError, DataStore, Ident, PoolStats, Servers, pools::TenantPools};
use crate::{
    TenantId,
    catalog::{Catalog, Placement, ServerName},
    driver::{AnyPool, Backend, ConnectError, dispatch, open},
};
use location::Handle;

/// Every tenant's placement, on every configured server. Cheap to clone (clones share pools).
/// Build with [`connect`](Self::connect); hand out [`store`](Self::store) to
/// [`TenantTable`](super::TenantTable), [`Typed`](super::Typed) and the CRUD router, which then
/// serve each tenant from where it is placed without any change to application code.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use serde_json::json;
/// use tenantry::{TenantId, catalog::{Catalog, MemoryCatalog, Placement, TenantRecord}};
/// use tenantry::data::{Column, Registry, Resource, ServerConfig, Servers, ServersConfig, TenantTable};
///
/// let dir = std::env::temp_dir().join(format!("tenantry-registry-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let mut config = ServersConfig::default();
/// config.servers.insert("main".into(), ServerConfig::url(format!("sqlite://{}/main.db", dir.display())));
/// let servers = Servers::from_config(config).unwrap();
///
/// let globex = TenantId::parse("globex").unwrap();
/// let catalog = Catalog::new(MemoryCatalog::new()
///     .with(TenantRecord::new(TenantId::parse("acme").unwrap(), "Acme"))
///     .with(TenantRecord::new(globex.clone(), "Globex")
///         .with_placement(Placement::database("t_globex").unwrap())));
/// let registry = Registry::connect(servers, catalog).await.unwrap();
///
/// let notes = Resource::builder("notes").integer_id("id").column(Column::text("body")).build().unwrap();
/// let store = registry.store();
/// store.create_table(&notes).await.unwrap();                        // acme's shared table
/// registry.create_placement(&Placement::database("t_globex").unwrap()).await.unwrap();
/// store.create_table_for(&globex, &notes).await.unwrap();            // globex's own file
///
/// let table = TenantTable::new(store, notes, globex);
/// table.create(json!({"body": "in its own database"}).as_object().unwrap().clone()).await.unwrap();
/// assert!(dir.join("t_globex.db").exists());
/// # std::fs::remove_dir_all(&dir).ok();
/// # });
/// ```
#[derive(Clone)]
pub struct Registry(Arc<Inner>);

struct Inner {
    servers: Servers,
    catalog: Catalog,
    /// Each server's own pool, in `servers.specs` order; the default's opened at once.
    shared: Vec<OnceLock<AnyPool>>,
    /// Each server's schema pools (`ServerConfig::schema_pools`), opened on first use.
    schema_pools: Vec<OnceLock<Vec<AnyPool>>>,
    /// Each server's tenant pools, in `servers.specs` order.
    tenants: Vec<TenantPools>,
    default: usize,
    /// Set by [`Registry::close`]: no pool is opened after it.
    closed: std::sync::atomic::AtomicBool,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("servers", &self.0.servers.names().collect::<Vec<_>>())
            .field("default", self.0.servers.default_server())
            .finish_non_exhaustive()
    }
}
impl Registry {
    /// Connects the default server (waiting for a first connection, so a wrong URL or password
    /// fails here) and prepares the others (connected on first use, so a server that is down
    /// fails only its own tenants' requests, with 503).
    pub async fn connect(servers: Servers, catalog: Catalog) -> Result<Self, DataError> {
        let default = servers
            .specs
            .iter()
            .position(|s| s.name == servers.default)
            .unwrap_or(0);
        let spec = &servers.specs[default];
        let pool = if open::is_sqlite_in_memory(&spec.url.url) {
            // As `DataStore::connect`: the in-memory database kept alive by a connection that
            // is never closed.
            AnyPool::connect_with(&spec.url.url, spec.shared.acquire_timeout)
                .await
                .map(|p| match spec.shared.group_commit {
                    true => p,
                    false => p.without_group_commit(),
                })
                .map_err(connect_error)?
        } else {
            // The server's configured pool (its size, timeouts, group commit), files created
            // if missing.
            let mut settings = spec.shared;
            settings.create = true;
            let pool = AnyPool::open(&spec.url, None, &settings).map_err(connect_error)?;
            dispatch!(&pool, |p| crate::driver::first_connection(p).await)
                .map_err(connect_error)?;
            pool
        };
        Ok(Self::assemble(servers, catalog, default, pool))
    }

    /// A registry whose default server is served by `store`'s pool (one pool, not two, when
    /// the application already has a [`DataStore`] on that server, as the catalog's).
    /// `servers`' default must name the same database as `store`.
    pub fn with_store(servers: Servers, catalog: Catalog, store: &DataStore) -> Self {
        let default = servers
            .specs
            .iter()
            .position(|s| s.name == servers.default)
            .unwrap_or(0);
        Self::assemble(servers, catalog, default, store.pool().clone())
    }

    fn assemble(servers: Servers, catalog: Catalog, default: usize, pool: AnyPool) -> Self {
        let shared: Vec<OnceLock<AnyPool>> =
            servers.specs.iter().map(|_| OnceLock::new()).collect();
        let _ = shared[default].set(pool);
        let schema_pools = servers.specs.iter().map(|_| OnceLock::new()).collect();
        let tenants = servers
            .specs
            .iter()
            .map(|s| TenantPools::new(s.url.clone(), s.tenant_pools, s.tenant_pool))
            .collect();
        let registry = Self(Arc::new(Inner {
            servers,
            catalog,
            shared,
            schema_pools,
            tenants,
            default,
            closed: Default::default(),
        }));
        registry.sweep_idle_pools();
        registry
    }

    /// The store of the default server, placing every tenant through this registry.
    pub fn store(&self) -> DataStore {
        DataStore::placed(self.clone())
    }

    /// The servers.
    pub fn servers(&self) -> &Servers {
        &self.0.servers
    }

    /// The catalog placements are read from.
    pub fn catalog(&self) -> &Catalog {
        &self.0.catalog
    }

    /// The default server's own pool.
    pub(crate) fn default_pool(&self) -> &AnyPool {
        self.0.shared[self.0.default]
            .get()
            .expect("the default server's pool is set in connect")
    }

    /// What the tenant pools of `server` hold now (`None`: no such server).
    pub fn pool_stats(&self, server: &ServerName) -> Option<PoolStats> {
        let i = self.index(Some(server)).ok()?;
        Some(self.0.tenants[i].stats())
    }

    /// The tenant pools of every server, added up.
    pub fn total_pool_stats(&self) -> PoolStats {
        self.0
            .tenants
            .iter()
            .fold(PoolStats::default(), |mut sum, t| {
                let s = t.stats();
                sum.pools += s.pools;
                sum.connections += s.connections;
                sum.idle += s.idle;
                sum
            })
    }

    /// Where `tenant`'s statements run.
    pub(crate) async fn locate(&self, tenant: &TenantId) -> Result<Location<'_>, DataError> {
        let record =
            match crate::context::current_record(tenant) {
                Some(record) => Some(record),
                None => self.0.catalog.get(tenant).await.map_err(|e| {
                    DataError::Placement(format!("the catalog cannot be read: {e}"))
                })?,
            };
        match record {
            Some(record) => self.place(&record.placement).await,
            None => self.place(&Placement::row()).await,
        }
    }

    /// Where statements of a tenant placed at `placement` run.
    pub(crate) async fn place(&self, placement: &Placement) -> Result<Location<'_>, DataError> {
        let i = self.index(placement.server())?;
        let spec = &self.0.servers.specs[i];
        let (prepare, pooler) = (!spec.pooler, spec.pooler);
        Ok(match placement {
            Placement::Row { .. } => Location {
                prepare,
                pooler,
                ..Location::shared(self.shared(i)?)
            },
            Placement::Schema { schema, .. } => {
                schemas_on(spec).map_err(DataError::Placement)?;
                let pool = match spec.schema_pools {
                    0 => self.shared(i)?,
                    _ => self.schema_pool(i, schema)?,
                };
                Location {
                    pool: Handle::Shared(pool),
                    schema: Some(object_ident(schema)?),
                    row: false,
                    // Each schema's statements are its own: prepared, they would evict each
                    // other from the connection's cache (see ServerConfig).
                    prepare: spec.prepare_schemas,
                    pooler,
                }
            }
            Placement::Database { database, .. } => {
                object_ident(database)?;
                Location {
                    pool: Handle::Own(self.0.tenants[i].get(database).await?),
                    schema: None,
                    row: false,
                    prepare,
                    pooler,
                }
            }
        })
    }

    /// The index of `server` (`None`: the default) in the configuration.
    fn index(&self, server: Option<&ServerName>) -> Result<usize, DataError> {
        match server {
            None => Ok(self.0.default),
            Some(name) => self
                .0
                .servers
                .specs
                .iter()
                .position(|s| s.name == *name)
                .ok_or_else(|| DataError::Placement(format!("server {name} is not configured"))),
        }
    }

    /// Server `i`'s own pool, opened on first use.
    fn shared(&self, i: usize) -> Result<&AnyPool, DataError> {
        if let Some(pool) = self.0.shared[i].get() {
            return Ok(pool);
        }
        if self.0.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(DataError::Unavailable(sqlx::Error::PoolClosed));
        }
        let spec = &self.0.servers.specs[i];
        let mut settings = spec.shared;
        settings.create = true;
        let pool = AnyPool::open(&spec.url, None, &settings).map_err(connect_error)?;
        Ok(self.0.shared[i].get_or_init(|| pool))
    }

    /// The pool of server `i` that serves `schema`, always the same one (chosen by a hash of
    /// the name); the server's schema pools are opened on first use (lazily: none connects
    /// before its first statement).
    fn schema_pool(&self, i: usize, schema: &str) -> Result<&AnyPool, DataError> {
        let pools = match self.0.schema_pools[i].get() {
            Some(pools) => pools,
            None => {
                if self.0.closed.load(std::sync::atomic::Ordering::Acquire) {
                    return Err(DataError::Unavailable(sqlx::Error::PoolClosed));
                }
                let spec = &self.0.servers.specs[i];
                let url = with_statement_cache(&spec.url);
                let pools = (0..spec.schema_pools)
                    .map(|_| AnyPool::open(&url, None, &spec.schema_pool))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(connect_error)?;
                self.0.schema_pools[i].get_or_init(|| pools)
            }
        };
        let mut hash = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(schema, &mut hash);
        let n = pools.len().max(1) as u64;
        pools
            .get((std::hash::Hasher::finish(&hash) % n) as usize)
            .ok_or_else(|| DataError::Placement("a server has no schema pools".into()))
    }

    /// Closes every pool, on every server (waiting for connections in use to come back), and
    /// opens no more: afterwards every tenant's statements are [`DataError::Unavailable`]
    /// (503). For a graceful shutdown, after the server stopped taking requests.
    pub async fn close(&self) {
        self.0
            .closed
            .store(true, std::sync::atomic::Ordering::Release);
        for pool in self.0.shared.iter().filter_map(OnceLock::get) {
            dispatch!(pool, |p| p.close().await);
        }
        for pool in self
            .0
            .schema_pools
            .iter()
            .filter_map(OnceLock::get)
            .flatten()
        {
            dispatch!(pool, |p| p.close().await);
        }
        for pools in &self.0.tenants {
            pools.close().await;
        }
    }

    /// Forgets a tenant database's pool (after the tenant moved or was deprovisioned).
    pub(crate) fn forget_pool(&self, placement: &Placement) {
        if let Placement::Database { database, .. } = placement
            && let Ok(i) = self.index(placement.server())
        {
            self.0.tenants[i].forget(database);
        }
    }

    /// Closes tenant pools idle past their time, every quarter of it, while the registry lives.
    fn sweep_idle_pools(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let every = self
            .0
            .tenants
            .iter()
            .map(TenantPools::idle_timeout)
            .min()
            .unwrap_or(Duration::from_secs(300))
            .div_f32(4.0)
            .max(Duration::from_millis(250));
        let weak = Arc::downgrade(&self.0);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { return };
                for pools in &inner.tenants {
                    pools.evict_idle(pools.idle_timeout());
                }
            }
        });
    }
}

/// A stored schema or database name as an identifier, refused unless it is one tenantry could
/// have generated (so a tampered catalog row cannot name `pg_catalog` or `../x`).
fn object_ident(name: &str) -> Result<Ident, DataError> {
    if !crate::catalog::is_object_name(name) || name.starts_with("pg_") {
        return Err(DataError::Placement(format!(
            "placement names {name:?}, which is not a name tenantry generates"
        )));
    }
    Ident::new(name).map_err(|e| DataError::Placement(e.to_string()))
}

/// Whether `spec`'s server can hold schema tenants (PostgreSQL only); else why not.
fn schemas_on(spec: &super::server::ServerSpec) -> Result<(), String> {
    match spec.backend {
        Backend::Postgres => Ok(()),
        other => Err(format!(
            "schema placement needs PostgreSQL; server {} is {other}",
            spec.name
        )),
    }
}

/// `url` keeping [`SCHEMA_POOL_STATEMENTS`](super::SCHEMA_POOL_STATEMENTS) prepared statements
/// per connection, unless it says how many itself.
fn with_statement_cache(url: &open::ServerUrl) -> open::ServerUrl {
    let mut url = url.clone();
    if !url.url.contains("statement-cache-capacity=") {
        let joint = if url.url.contains('?') { '&' } else { '?' };
        url.url = format!(
            "{}{joint}statement-cache-capacity={}",
            url.url,
            super::SCHEMA_POOL_STATEMENTS
        );
    }
    url
}

fn connect_error(e: ConnectError) -> DataError {
    match e {
        ConnectError::Unavailable(e) => DataError::Unavailable(e),
        ConnectError::UnsupportedUrl(why) => DataError::Unsupported(why),
    }
}
