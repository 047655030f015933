//! [`Database`]: a connection pool on one of the supported backends.

use std::fmt;

use super::{DataError, Resource, ddl};
use crate::{
    TenantId,
    pool::{ConnectError, Pool},
};

/// Which database a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (feature `sqlite`).
    Sqlite,
    /// PostgreSQL (feature `postgres`).
    Postgres,
    /// MariaDB or MySQL (feature `mysql`).
    MySql,
}

/// A pool on SQLite, PostgreSQL or MariaDB/MySQL, plus how tenant scoping is applied on it.
/// Cheap to clone; clones share the pool.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use tenantry::data::{Backend, Database};
///
/// let db = Database::connect("sqlite::memory:").await.unwrap();
/// assert_eq!(db.backend(), Backend::Sqlite);
/// assert!(Database::connect("oracle://x").await.is_err());
/// # });
/// ```
#[derive(Clone)]
pub struct Database {
    pool: Pool,
    rls: bool,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .field("row_level_security", &self.rls)
            .finish()
    }
}

impl Database {
    /// Connects by URL (`sqlite:`, `postgres:`, `mysql:`). A SQLite file is created if missing.
    pub async fn connect(url: &str) -> Result<Self, DataError> {
        match Pool::connect(url).await {
            Ok(pool) => Ok(Self { pool, rls: false }),
            Err(ConnectError::Unavailable(e)) => Err(DataError::Unavailable(e)),
            Err(ConnectError::UnsupportedUrl(why)) => Err(DataError::Config(why)),
        }
    }

    /// Uses an existing SQLite pool.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(pool: sqlx::SqlitePool) -> Self {
        Self {
            pool: Pool::Sqlite(pool),
            rls: false,
        }
    }

    /// Uses an existing PostgreSQL pool.
    #[cfg(feature = "postgres")]
    pub fn postgres(pool: sqlx::PgPool) -> Self {
        Self {
            pool: Pool::Postgres(pool),
            rls: false,
        }
    }

    /// Uses an existing MariaDB/MySQL pool.
    #[cfg(feature = "mysql")]
    pub fn mysql(pool: sqlx::MySqlPool) -> Self {
        Self {
            pool: Pool::MySql(pool),
            rls: false,
        }
    }

    /// PostgreSQL only: every scoped operation runs in a transaction that first sets
    /// `app.tenant_id` with `set_config(.., true)` (transaction-local, so safe behind
    /// transaction-mode poolers), so that the row-level security policies installed by
    /// [`rls::enable`](super::rls::enable) hold as a second wall behind the query filter.
    /// Costs a transaction and one more round trip per operation (see docs/PERFORMANCE.md).
    pub fn with_row_level_security(mut self) -> Result<Self, DataError> {
        if self.backend() != Backend::Postgres {
            return Err(DataError::Config(
                "row-level security needs PostgreSQL".into(),
            ));
        }
        self.rls = true;
        Ok(self)
    }

    /// Whether scoped operations set `app.tenant_id` (PostgreSQL row-level security).
    pub fn uses_row_level_security(&self) -> bool {
        self.rls
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Pool::MySql(_) => Backend::MySql,
        }
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Connections the pool holds now, idle and in use.
    pub fn pool_size(&self) -> u32 {
        match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => p.size(),
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => p.size(),
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => p.size(),
        }
    }

    /// Connections of the pool that are idle now.
    pub fn pool_idle(&self) -> usize {
        match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => p.num_idle(),
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => p.num_idle(),
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => p.num_idle(),
        }
    }

    /// Creates the resource's table if it does not exist, with an index on (tenant, id) and a
    /// unique index on (tenant, cols...) for each
    /// [`unique_per_tenant`](super::ResourceBuilder::unique_per_tenant) set: the same `sku`
    /// may repeat across tenants but not within one. An existing table is left as it is.
    pub async fn create_table(&self, resource: &Resource) -> Result<(), DataError> {
        for statement in ddl::create_table(self.backend(), resource)? {
            self.execute_ddl(statement).await?;
        }
        Ok(())
    }

    pub(crate) async fn execute_ddl(&self, statement: String) -> Result<(), DataError> {
        let sql = sqlx::AssertSqlSafe(statement);
        match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => sqlx::raw_sql(sql).execute(p).await.map(drop)?,
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => sqlx::raw_sql(sql).execute(p).await.map(drop)?,
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => sqlx::raw_sql(sql).execute(p).await.map(drop)?,
        }
        Ok(())
    }

    /// **Cross-tenant access.** The raw pool, for jobs that must see every tenant (migrations,
    /// reports, moving a tenant). Every call is logged at `warn` with its `reason`; grep for
    /// `unscoped_admin` to audit them. Application code serving a request never needs it.
    pub fn unscoped_admin(&self, reason: &str) -> AdminPool {
        tracing::warn!(target: "tenantry::admin", reason, "unscoped cross-tenant database access");
        AdminPool(self.pool.clone())
    }

    /// Raw access for one tenant: a transaction on which the tenant is already bound (on
    /// PostgreSQL with row-level security, `app.tenant_id` is set, so even a query without a
    /// `WHERE tenant_id = ..` sees only this tenant's rows). On other backends nothing enforces
    /// the tenant below your SQL: filter on it yourself.
    pub async fn begin_for(&self, tenant: &TenantId) -> Result<TenantTransaction, DataError> {
        #[cfg(not(feature = "postgres"))]
        let _ = tenant;
        Ok(match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(p) => TenantTransaction::Sqlite(p.begin().await?),
            #[cfg(feature = "postgres")]
            Pool::Postgres(p) => {
                let mut tx = p.begin().await?;
                if self.rls {
                    bind_tenant(&mut tx, tenant).await?;
                }
                TenantTransaction::Postgres(tx)
            }
            #[cfg(feature = "mysql")]
            Pool::MySql(p) => TenantTransaction::MySql(p.begin().await?),
        })
    }
}

/// Sets `app.tenant_id` for the rest of the transaction.
#[cfg(feature = "postgres")]
pub(crate) async fn bind_tenant(
    tx: &mut sqlx::PgConnection,
    tenant: &TenantId,
) -> Result<(), DataError> {
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.as_str())
        .execute(tx)
        .await?;
    Ok(())
}

/// A transaction bound to one tenant, from [`Database::begin_for`].
#[derive(Debug)]
#[non_exhaustive]
pub enum TenantTransaction {
    /// On SQLite.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// On PostgreSQL (with `app.tenant_id` set when row-level security is on).
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    /// On MariaDB / MySQL.
    #[cfg(feature = "mysql")]
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
}

/// The raw pool of a [`Database`], from [`Database::unscoped_admin`]: no tenant is enforced.
#[derive(Debug, Clone)]
pub struct AdminPool(Pool);

impl AdminPool {
    /// The SQLite pool, if that is the backend.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(&self) -> Option<&sqlx::SqlitePool> {
        match &self.0 {
            Pool::Sqlite(p) => Some(p),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The PostgreSQL pool, if that is the backend.
    #[cfg(feature = "postgres")]
    pub fn postgres(&self) -> Option<&sqlx::PgPool> {
        match &self.0 {
            Pool::Postgres(p) => Some(p),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    /// The MariaDB / MySQL pool, if that is the backend.
    #[cfg(feature = "mysql")]
    pub fn mysql(&self) -> Option<&sqlx::MySqlPool> {
        match &self.0 {
            Pool::MySql(p) => Some(p),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}
