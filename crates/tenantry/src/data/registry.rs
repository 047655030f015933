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

use serde_json::Value;
use std::{
    fmt,
    sync::{Arc, OnceLock},
    time::Duration,
};

use super::{
    DataError, DataStore, Ident, PoolStats, Servers, TenantSetup, ddl, pools::TenantPool,
    pools::TenantPools,
};
use crate::{
    ConfigError, TenantId,
    catalog::{
        Catalog, CatalogError, LifecycleEvent, Placement, PlacementKind, ServerName, TenantRecord,
        TenantStatus,
    },
    driver::{AnyPool, Backend, ConnectError, dispatch, open},
};

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

/// Where one tenant's statements run.
pub(crate) struct Location<'a> {
    pool: Handle<'a>,
    /// The schema to qualify table names with.
    pub(crate) schema: Option<Ident>,
    /// Shared rows: row-level security applies.
    pub(crate) row: bool,
    /// Statements are prepared once per connection and reused from sqlx's statement cache;
    /// else sent unnamed (schema tenants by default, everything behind a pooler).
    pub(crate) prepare: bool,
    /// Behind a transaction-mode pooler: every operation runs in a transaction of its own, so
    /// that its statements stay on one server connection.
    pub(crate) pooler: bool,
}

enum Handle<'a> {
    Shared(&'a AnyPool),
    Own(Arc<TenantPool>),
}

impl<'a> Location<'a> {
    /// Shared rows on `pool`.
    pub(crate) fn shared(pool: &'a AnyPool) -> Self {
        Self {
            pool: Handle::Shared(pool),
            schema: None,
            row: true,
            prepare: true,
            pooler: false,
        }
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        match &self.pool {
            Handle::Shared(pool) => pool,
            Handle::Own(own) => &own.pool,
        }
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
        let pool = match &spec.url.password {
            // As `DataStore::connect`: in-memory SQLite kept alive, files created if missing.
            None => AnyPool::connect_with(&spec.url.url, spec.shared.acquire_timeout)
                .await
                .map(|p| match spec.shared.group_commit {
                    true => p,
                    false => p.without_group_commit(),
                })
                .map_err(connect_error)?,
            Some(_) => {
                let mut settings = spec.shared;
                settings.create = true;
                let pool = AnyPool::open(&spec.url, None, &settings).map_err(connect_error)?;
                dispatch!(&pool, |p| crate::driver::first_connection(p).await)
                    .map_err(connect_error)?;
                pool
            }
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

    /// Creates the schema or database `placement` names, on its server (nothing for shared
    /// rows). One that exists already is [`DataError::PlacementExists`] and is left alone: it
    /// may hold someone else's data.
    pub async fn create_placement(&self, placement: &Placement) -> Result<(), DataError> {
        let Some((i, container)) = self.container(placement)? else {
            return Ok(());
        };
        let spec = &self.0.servers.specs[i];
        open::create_container(&spec.url, container.as_container())
            .await
            .map_err(container_error)
    }

    /// Drops the schema or database `placement` names, with everything in it (nothing for
    /// shared rows; nothing if it is not there). Its pool is closed first.
    pub async fn drop_placement(&self, placement: &Placement) -> Result<(), DataError> {
        let Some((i, container)) = self.container(placement)? else {
            return Ok(());
        };
        self.forget_pool(placement);
        let spec = &self.0.servers.specs[i];
        open::drop_container(&spec.url, container.as_container())
            .await
            .map_err(container_error)?;
        super::fleet::forget_placement(self, placement).await;
        Ok(())
    }

    fn container(&self, placement: &Placement) -> Result<Option<(usize, Owned)>, DataError> {
        let i = self.index(placement.server())?;
        Ok(match placement {
            Placement::Row { .. } => None,
            Placement::Schema { schema, .. } => Some((i, Owned::Schema(object_ident(schema)?))),
            Placement::Database { database, .. } => {
                Some((i, Owned::Database(object_ident(database)?)))
            }
        })
    }

    /// A placement of `kind` for `tenant` on `server` (`None`: the default), its name generated
    /// (see [`Placement::generated`]): databases on a PostgreSQL or MariaDB server are prefixed
    /// with the server's own database name. A kind the server's backend cannot hold (a schema
    /// on MariaDB or SQLite) or an unknown server is a [`ConfigError`].
    pub fn generate(
        &self,
        tenant: &TenantId,
        kind: PlacementKind,
        server: Option<ServerName>,
    ) -> Result<Placement, ConfigError> {
        let i = self.index(server.as_ref()).map_err(|_| {
            ConfigError::Servers(format!(
                "server {} is not configured",
                server.as_ref().map_or("(default)", |s| s.as_str())
            ))
        })?;
        let spec = &self.0.servers.specs[i];
        if kind == PlacementKind::Schema {
            schemas_on(spec).map_err(ConfigError::Servers)?;
        }
        let prefix = match spec.backend {
            Backend::Sqlite => None,
            _ => own_database(&spec.url.url),
        };
        let placement = Placement::generated(kind, tenant, prefix);
        Ok(match server {
            Some(server) => placement.on(server),
            None => placement,
        })
    }

    /// Makes `placement` ready to serve: creates its schema or database (refused with
    /// [`DataError::PlacementExists`] if one is there already, which is left alone), then
    /// `setup`'s tables and migrations in it. A failure at any step drops what this call
    /// created, so nothing half-made is left behind; the caller marks the tenant active only on
    /// success (as [`provision_tenant`](Self::provision_tenant) does).
    ///
    /// For shared rows it only creates the shared tables if missing, and runs no migrations
    /// (the shared tables' migrations are the application's own business).
    pub async fn provision(
        &self,
        placement: &Placement,
        setup: &TenantSetup,
    ) -> Result<(), DataError> {
        self.create_placement(placement).await?;
        let made = async {
            let at = self.place(placement).await?;
            for resource in &setup.tables {
                let schema: Option<&Ident> = at.schema.as_ref();
                dispatch!(at.pool(), |pool| ddl::create_table(pool, resource, schema)
                    .await)?;
            }
            if let Some(migrations) = setup.migrations.as_deref()
                && !placement.is_row()
            {
                // Through the fleet's ledgers, so `tenantry migrate` later knows what ran here.
                super::fleet::provision_migrations(self, placement, migrations).await?;
            }
            Ok::<_, DataError>(())
        }
        .await;
        if let Err(e) = made {
            if let Err(cleanup) = self.drop_placement(placement).await {
                tracing::error!(
                    target: "tenantry::registry",
                    placement = %placement,
                    error = %cleanup,
                    "could not drop a placement whose provisioning failed"
                );
            }
            return Err(e);
        }
        Ok(())
    }

    /// A store on which `placement`'s tables are the unqualified names, for administration
    /// (export, import, migrations): shared rows, the server's own store; its own database, a
    /// pool of that database; its own schema (PostgreSQL), a pool of its own whose connections
    /// start with `search_path` set to the schema, so they are never shared with anyone else.
    /// Not for the request path, which needs none of this ([`store`](Self::store) places each
    /// statement). The store's pools close when it is dropped.
    pub async fn admin_store(&self, placement: &Placement) -> Result<DataStore, DataError> {
        let i = self.index(placement.server())?;
        let spec = &self.0.servers.specs[i];
        let mut settings = spec.tenant_pool;
        settings.create = false;
        let pool = match placement {
            Placement::Row { .. } => self.shared(i)?.clone(),
            Placement::Schema { schema, .. } => {
                object_ident(schema)?;
                schemas_on(spec).map_err(DataError::Placement)?;
                let mut url = spec.url.clone();
                let joint = if url.url.contains('?') { '&' } else { '?' };
                url.url = format!("{}{joint}options[search_path]={schema}", url.url);
                AnyPool::open(&url, None, &settings).map_err(connect_error)?
            }
            Placement::Database { database, .. } => {
                object_ident(database)?;
                AnyPool::open(&spec.url, Some(database), &settings).map_err(connect_error)?
            }
        };
        Ok(DataStore::from_any(pool))
    }

    /// The whole of a tenant's provisioning, through the registry's catalog: the record is
    /// stored as [`Provisioning`](TenantStatus::Provisioning) (refused with 423 meanwhile; one
    /// left [`ProvisioningFailed`](TenantStatus::ProvisioningFailed) is taken again), its
    /// placement is [provisioned](Self::provision) with `setup`, and only then is
    /// it given the status `record` asks for. If provisioning fails, what was made is dropped
    /// and the record stays `provisioning_failed`, with the error in its settings under
    /// `tenantry.provisioning_error`. The catalog's lifecycle subscriber is told
    /// [`Provisioned`](LifecycleEvent::Provisioned) or
    /// [`ProvisioningFailed`](LifecycleEvent::ProvisioningFailed), then the status change.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use tenantry::{TenantId, catalog::{Catalog, MemoryCatalog, PlacementKind, TenantRecord, TenantStatus}};
    /// use tenantry::data::{Column, Registry, Resource, Servers, TenantSetup};
    ///
    /// let dir = std::env::temp_dir().join(format!("tenantry-provision-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let servers = Servers::single(format!("sqlite://{}/main.db", dir.display())).unwrap();
    /// let registry = Registry::connect(servers, Catalog::new(MemoryCatalog::new())).await.unwrap();
    /// let notes = Resource::builder("notes").integer_id("id").column(Column::text("body")).build().unwrap();
    ///
    /// let hooli = TenantId::parse("hooli").unwrap();
    /// let placement = registry.generate(&hooli, PlacementKind::Database, None).unwrap();
    /// let record = TenantRecord::new(hooli.clone(), "Hooli").with_placement(placement);
    /// let made = registry.provision_tenant(record, &TenantSetup::tables([notes])).await.unwrap();
    /// assert_eq!(made.status, TenantStatus::Active);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # });
    /// ```
    pub async fn provision_tenant(
        &self,
        record: TenantRecord,
        setup: &TenantSetup,
    ) -> Result<TenantRecord, ProvisionError> {
        let catalog = &self.0.catalog;
        let wanted = record.status;
        let mut record = record.with_status(TenantStatus::Provisioning);
        if let Value::Object(settings) = &mut record.settings {
            settings.remove(PROVISIONING_ERROR);
        }
        record = match catalog.create(record.clone()).await {
            Ok(made) => made,
            Err(CatalogError::AlreadyExists(_))
                if catalog.store().get(&record.id).await?.map(|r| r.status)
                    == Some(TenantStatus::ProvisioningFailed) =>
            {
                catalog.update(record).await?
            }
            Err(e) => return Err(e.into()),
        };
        match self.provision(&record.placement, setup).await {
            Ok(()) => {
                catalog.emit(
                    &record,
                    LifecycleEvent::Provisioned(record.placement.clone()),
                );
                record.status = wanted;
                Ok(catalog.update(record).await?)
            }
            Err(e) => {
                let why = match &e {
                    DataError::Placement(why) => why.clone(),
                    e => e.to_string(),
                };
                record.status = TenantStatus::ProvisioningFailed;
                if let Value::Object(settings) = &mut record.settings {
                    settings.insert(PROVISIONING_ERROR.into(), Value::String(why.clone()));
                }
                catalog.emit(&record, LifecycleEvent::ProvisioningFailed(why.clone()));
                let kept = catalog.update(record).await;
                Err(ProvisionError::Failed {
                    why,
                    source: e,
                    recorded: kept.is_ok(),
                })
            }
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

/// Where a failed provisioning's error is kept, in the tenant's settings.
pub const PROVISIONING_ERROR: &str = "tenantry.provisioning_error";

/// Why [`Registry::provision_tenant`] did not make a tenant active.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The catalog refused the record (the id is taken by a tenant that did not fail
    /// provisioning, or differs from one only in case) or could not be reached.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// Making the placement failed; what was made was dropped. `recorded`: the tenant's record
    /// says `provisioning_failed` with `why` (false if the catalog could not be written).
    #[error("{why}")]
    Failed {
        /// What failed, for people (names the schema or database, not the server's URL).
        why: String,
        /// The error itself.
        #[source]
        source: DataError,
        /// Whether the failure was written to the tenant's record.
        recorded: bool,
    },
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

/// The database a PostgreSQL or MariaDB URL names (`…/NAME?…`), if any.
fn own_database(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let path = rest.split_once('/')?.1;
    let name = path.split(['?', '#']).next()?;
    (!name.is_empty()).then_some(name)
}

/// A container's name, owned.
enum Owned {
    Schema(Ident),
    Database(Ident),
}

impl Owned {
    fn as_container(&self) -> open::Container<'_> {
        match self {
            Self::Schema(name) => open::Container::Schema(name),
            Self::Database(name) => open::Container::Database(name),
        }
    }
}

fn container_error(e: open::ContainerError) -> DataError {
    match e {
        open::ContainerError::Exists(what) => DataError::PlacementExists(what),
        open::ContainerError::Server { source, .. } if is_unreachable(&source) => {
            DataError::Unavailable(source)
        }
        other => DataError::Placement(other.to_string()),
    }
}

fn is_unreachable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
    )
}

fn connect_error(e: ConnectError) -> DataError {
    match e {
        ConnectError::Unavailable(e) => DataError::Unavailable(e),
        ConnectError::UnsupportedUrl(why) => DataError::Unsupported(why),
    }
}
