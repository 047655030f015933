//! [`DataStore`]: where tenants' rows are kept, and how every query on them is scoped.

use std::fmt;

use sqlx::Pool;

use super::{DataError, Ident, Registry, Resource, ddl, registry::Location};
use crate::{
    ConfigError, TenantId,
    catalog::SqlCatalog,
    driver::{AnyPool, Backend, ConnectError, Driver, dispatch},
};

/// A pool on SQLite, PostgreSQL or MariaDB/MySQL, plus how tenant scoping is applied on it.
/// Cheap to clone; clones share the pool.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use tenantry::data::{Backend, DataStore};
///
/// let store = DataStore::connect("sqlite::memory:").await.unwrap();
/// assert_eq!(store.backend(), Backend::Sqlite);
/// assert!(DataStore::connect("oracle://x").await.is_err());
///
/// // Or over a pool you already have:
/// let pool = sqlx::SqlitePool::connect("sqlite::memory:").await.unwrap();
/// assert_eq!(DataStore::from_pool(pool).backend(), Backend::Sqlite);
/// # });
/// ```
///
/// A store made by [`Registry::store`] serves each tenant from its placement (shared rows,
/// its own schema, its own database, on any configured server); one made by
/// [`connect`](Self::connect) or [`from_pool`](Self::from_pool) serves every tenant from
/// shared rows on its pool, and refuses (503) a request whose catalog record places the
/// tenant elsewhere, rather than serve it from the wrong tables.
#[derive(Clone)]
pub struct DataStore {
    pool: AnyPool,
    rls: bool,
    registry: Option<Registry>,
}

impl fmt::Debug for DataStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataStore")
            .field("backend", &self.backend())
            .field("row_level_security", &self.rls)
            .finish()
    }
}

impl DataStore {
    /// Connects by URL (`sqlite:`, `postgres:`, `mysql:`). A SQLite file is created if missing.
    /// An operation waits up to 5 s for a connection: right for batch work (imports, exports,
    /// migrations) on a loaded machine. A service answering requests wants
    /// [`connect_serving`](Self::connect_serving).
    pub async fn connect(url: &str) -> Result<Self, DataError> {
        Self::connect_pool(AnyPool::connect(url).await)
    }

    /// [`connect`](Self::connect) for a service answering requests: on PostgreSQL and MariaDB /
    /// MySQL an operation waits at most 750 ms for a connection, so that while the server is
    /// down or saturated every request is [`DataError::Unavailable`] (503) within a second
    /// instead of hanging; the pool connects again by itself once the server is back. Start-up
    /// still waits (up to 5 s, retrying) for a first connection. SQLite is opened as by
    /// `connect`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use tenantry::data::DataStore;
    ///
    /// let store = DataStore::connect_serving("sqlite::memory:").await.unwrap();
    /// assert!(DataStore::connect_serving("oracle://x").await.is_err());
    /// # let _ = store;
    /// # });
    /// ```
    pub async fn connect_serving(url: &str) -> Result<Self, DataError> {
        Self::connect_pool(AnyPool::connect_with(url, crate::driver::SERVER_ACQUIRE_TIMEOUT).await)
    }

    fn connect_pool(pool: Result<AnyPool, ConnectError>) -> Result<Self, DataError> {
        match pool {
            Ok(pool) => Ok(Self {
                pool,
                rls: false,
                registry: None,
            }),
            Err(ConnectError::Unavailable(e)) => Err(DataError::Unavailable(e)),
            Err(ConnectError::UnsupportedUrl(why)) => Err(DataError::Unsupported(why)),
        }
    }

    /// Uses an existing pool of any backend tenantry drives.
    pub fn from_pool<D: Driver>(pool: Pool<D>) -> Self {
        Self {
            pool: D::wrap(pool),
            rls: false,
            registry: None,
        }
    }

    pub(crate) fn from_any(pool: AnyPool) -> Self {
        Self {
            pool,
            rls: false,
            registry: None,
        }
    }

    /// The default server's store of `registry` (see [`Registry::store`]).
    pub(crate) fn placed(registry: Registry) -> Self {
        Self {
            pool: registry.default_pool().clone(),
            rls: false,
            registry: Some(registry),
        }
    }

    /// Closes the store's pools (with a registry: every pool on every server), waiting for
    /// connections in use to come back. Afterwards every statement is
    /// [`DataError::Unavailable`] (503). For a graceful shutdown.
    pub async fn close(&self) {
        match &self.registry {
            Some(registry) => registry.close().await,
            None => dispatch!(&self.pool, |p| p.close().await),
        }
    }

    /// The registry placing tenants, if the store has one.
    pub fn registry(&self) -> Option<&Registry> {
        self.registry.as_ref()
    }

    /// Where `tenant`'s statements run.
    pub(crate) async fn locate(&self, tenant: &TenantId) -> Result<Location<'_>, DataError> {
        match &self.registry {
            Some(registry) => registry.locate(tenant).await,
            None => {
                if let Some(record) = crate::context::current_record(tenant)
                    && !record.placement.is_row()
                {
                    return Err(DataError::Placement(format!(
                        "tenant {tenant} is placed at {}, but this store has no registry \
                         (build it with Registry::store)",
                        record.placement
                    )));
                }
                Ok(Location::shared(&self.pool))
            }
        }
    }

    /// PostgreSQL only: every scoped operation runs in a transaction that first sets
    /// `app.tenant_id` with `set_config(.., true)` (transaction-local, so safe behind
    /// transaction-mode poolers), so that the row-level security policies installed by
    /// [`rls::enable`](super::rls::enable) hold as a second wall behind the query filter.
    /// Costs a transaction and one more round trip per operation (see docs/PERFORMANCE.md).
    pub fn with_row_level_security(mut self) -> Result<Self, ConfigError> {
        if self.backend() != Backend::Postgres {
            return Err(ConfigError::RowLevelSecurity);
        }
        self.rls = true;
        Ok(self)
    }

    /// SQLite: each write in its own transaction on the pool, instead of group-committed.
    ///
    /// By default the creates, updates and deletes of [`TenantTable`](super::TenantTable) (and
    /// so of the CRUD router) on a SQLite database go through one writer per database file,
    /// which takes every write waiting at that moment (up to 64) and commits them in one
    /// transaction, each behind its own savepoint: a write that fails (a unique violation: 409)
    /// fails alone, and each is answered only after the commit holding it returned. An
    /// acknowledged write is therefore committed, as durable as the database's `synchronous`
    /// setting makes a commit (tenantry keeps SQLite's default, `FULL`: in WAL mode, the log is
    /// on disk before the commit returns). With concurrent writers that is one disk flush for
    /// many writes instead of one each (docs/PERFORMANCE.md, "Writes: group commit on
    /// SQLite"). Reads keep using the pool; raw transactions ([`begin_for`](Self::begin_for))
    /// do not go through the writer.
    ///
    /// Only this store's own pool changes: for the tenants a [`Registry`] places, set
    /// [`ServerConfig::group_commit`](super::ServerConfig::group_commit) (or
    /// [`Servers::without_group_commit`](super::Servers::without_group_commit)), and build the
    /// registry with [`Registry::with_store`] over this store. Other backends have no group
    /// commit; there it changes nothing.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use tenantry::data::DataStore;
    ///
    /// let store = DataStore::connect("sqlite::memory:").await.unwrap();
    /// assert!(store.group_commit_stats().is_some());
    /// let store = store.without_group_commit();
    /// assert!(store.group_commit_stats().is_none());
    /// # });
    /// ```
    pub fn without_group_commit(mut self) -> Self {
        self.pool = self.pool.without_group_commit();
        self
    }

    /// What the group-commit writer of this store's own pool did so far; `None` if its writes
    /// are not group-committed (another backend, or
    /// [`without_group_commit`](Self::without_group_commit)).
    pub fn group_commit_stats(&self) -> Option<crate::driver::GroupCommitStats> {
        self.pool.group_commit_stats()
    }

    /// Whether scoped operations set `app.tenant_id` (PostgreSQL row-level security).
    pub fn uses_row_level_security(&self) -> bool {
        self.rls
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Connections the pool holds now, idle and in use.
    pub fn pool_size(&self) -> u32 {
        dispatch!(&self.pool, |pool| pool.size())
    }

    /// Connections of the pool that are idle now.
    pub fn pool_idle(&self) -> usize {
        dispatch!(&self.pool, |pool| pool.num_idle())
    }

    /// The catalog (`tenantry_tenants`) in this store's database, sharing its pool.
    pub fn catalog(&self) -> SqlCatalog {
        SqlCatalog::sharing(self.pool.clone())
    }

    /// Creates the resource's table if it does not exist, with an index on (tenant, id) and a
    /// unique index on (tenant, cols...) for each
    /// [`unique_per_tenant`](super::ResourceBuilder::unique_per_tenant) set: the same `sku`
    /// may repeat across tenants but not within one. An existing table is left as it is.
    ///
    /// Every text column compares exactly on every backend: on MariaDB / MySQL it gets a binary,
    /// no-pad collation (`utf8mb4_nopad_bin`, or MySQL 8's `utf8mb4_0900_bin`) instead of the
    /// server's case-insensitive default, so tenants `ACME` and `acme` never share rows.
    pub async fn create_table(&self, resource: &Resource) -> Result<(), DataError> {
        dispatch!(&self.pool, |pool| ddl::create_table(pool, resource, None)
            .await)
    }

    /// [`create_table`](Self::create_table) where `tenant` is placed: in its schema, in its
    /// database, or the shared table of its server. The schema or database must exist (see
    /// [`Registry::create_placement`]).
    pub async fn create_table_for(
        &self,
        tenant: &TenantId,
        resource: &Resource,
    ) -> Result<(), DataError> {
        let at = self.locate(tenant).await?;
        let schema: Option<&Ident> = at.schema.as_ref();
        dispatch!(at.pool(), |pool| ddl::create_table(pool, resource, schema)
            .await)
    }

    /// **Cross-tenant access.** The raw pool, for jobs that must see every tenant (migrations,
    /// reports, moving a tenant). Every call is logged at `warn` with its `reason`; grep for
    /// `unscoped_admin` to audit them. Application code serving a request never needs it.
    pub fn unscoped_admin(&self, reason: &str) -> AdminPool {
        tracing::warn!(target: "tenantry::admin", reason, "unscoped cross-tenant database access");
        AdminPool(self.pool.clone())
    }

    /// Raw access for one tenant: a transaction of backend `D` where the tenant is placed, on
    /// which the tenant is already bound:
    ///
    /// - shared rows: on PostgreSQL with row-level security, `app.tenant_id` is set, so even a
    ///   query without a `WHERE tenant_id = ..` sees only this tenant's rows; on other backends
    ///   nothing enforces the tenant below your SQL: filter on it yourself;
    /// - its own schema: `SET LOCAL search_path` to that schema (only for this transaction, so
    ///   safe behind a transaction-mode pooler), so unqualified names are the tenant's tables;
    /// - its own database: a connection of that database.
    ///
    /// [`DataError::WrongBackend`] if the tenant's server is not on `D`.
    pub async fn begin_for<D: Driver>(
        &self,
        tenant: &TenantId,
    ) -> Result<sqlx::Transaction<'static, D>, DataError> {
        let at = self.locate(tenant).await?;
        let pool = at.pool().get::<D>().ok_or(DataError::WrongBackend {
            wanted: D::BACKEND,
            found: at.pool().backend(),
        })?;
        let mut tx = pool.begin().await?;
        if let Some(schema) = &at.schema {
            D::set_local_search_path(&mut tx, schema).await?;
        } else if self.rls && at.row {
            D::bind_tenant(&mut tx, tenant, at.prepare).await?;
        }
        Ok(tx)
    }
}

/// The raw pool of a [`DataStore`], from [`DataStore::unscoped_admin`]: no tenant is enforced.
#[derive(Debug, Clone)]
pub struct AdminPool(AnyPool);

impl AdminPool {
    /// The pool, if the store is on backend `D`.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use tenantry::data::DataStore;
    ///
    /// let admin = DataStore::connect("sqlite::memory:").await.unwrap().unscoped_admin("example");
    /// assert!(admin.pool::<sqlx::Sqlite>().is_some());
    /// assert!(admin.pool::<sqlx::Postgres>().is_none());
    /// # });
    /// ```
    pub fn pool<D: Driver>(&self) -> Option<&Pool<D>> {
        self.0.get::<D>()
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.0.backend()
    }

    pub(crate) fn any(&self) -> &AnyPool {
        &self.0
    }
}
