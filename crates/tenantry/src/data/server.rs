//! [`Servers`]: the database servers tenants can be placed on, by name, from configuration.
//!
//! A server is a URL (`postgres://app@db1:5432/app`, `mysql://app@db2/app`,
//! `sqlite://data/main.db`, or `sqlite://data/tenants/` for a directory of tenant files only),
//! its password from an environment variable (never in the file, never in the catalog), and
//! how many connections tenantry may open on it. The catalog stores only the server's *name*
//! in each tenant's [`Placement`](crate::catalog::Placement).

use std::{collections::BTreeMap, fmt, time::Duration};

use serde::Deserialize;

use crate::{
    ConfigError,
    catalog::ServerName,
    driver::{
        Backend,
        open::{PoolSettings, ServerUrl, TenantJournal, backend_of_url},
    },
};

/// One server, as configuration says it (for example a TOML table `[servers.main]`).
///
/// Exactly one of `url` and `url_env` is given. `password_env` names an environment variable
/// holding the password, which then replaces any in the URL.
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The URL: `postgres://`, `mysql://` / `mariadb://`, `sqlite://`.
    pub url: Option<String>,
    /// The environment variable holding the URL.
    pub url_env: Option<String>,
    /// The environment variable holding the password.
    pub password_env: Option<String>,
    /// Connections of the server's own pool (shared rows and schemas). Default 10.
    pub max_connections: Option<u32>,
    /// Database placement: tenant pools open at once on this server. Default 128 on SQLite
    /// (at most three file descriptors per connection: the file, its `-wal` and `-shm`), 64
    /// on PostgreSQL and MariaDB / MySQL (whose `max_connections` the product below must fit).
    pub max_tenant_pools: Option<usize>,
    /// Database placement: connections per tenant pool. Default 1 on SQLite (one writer per
    /// file at a time anyway, and each connection is a thread and three descriptors), 2
    /// elsewhere. At most `max_tenant_pools * tenant_pool_connections` connections are ever
    /// open for tenant databases on this server, whatever the load.
    pub tenant_pool_connections: Option<u32>,
    /// Database placement: a tenant pool unused for this many seconds is closed. Default 300.
    pub tenant_pool_idle_seconds: Option<u64>,
    /// SQLite database placement: the journal mode of tenant database files (`wal`,
    /// `truncate` or `delete`; the server's own file is always WAL). Default `wal`: one disk
    /// flush per commit, and readers never wait for the writer. But each tenant pool opened
    /// then makes the file's `-wal` and `-shm` (mapped into memory), and the last connection
    /// closed checkpoints the log and removes both: with many more tenant databases than
    /// [`max_tenant_pools`](Self::max_tenant_pools), pools open and close all the time, and a
    /// rollback journal (`truncate`) costs less for each (docs/PERFORMANCE.md, "Placements at
    /// scale"), at two flushes per commit, and a commit blocks readers of that file (on other
    /// connections and in other processes) while it writes. A file in another mode is switched
    /// when a pool opens it with no other connection on it.
    pub tenant_journal_mode: Option<TenantJournal>,
    /// The URL is a pooler in transaction mode (PgBouncer before 1.21, or any pooler that does
    /// not track prepared statements): statements are sent unnamed, never prepared once and
    /// reused, since the next transaction may run on another server connection. Default
    /// `false`. Schema placement needs nothing else: its SQL is schema-qualified.
    #[serde(default)]
    pub transaction_pooler: bool,
    /// PostgreSQL schema placement: a schema tenant's statements are prepared on each
    /// connection and kept in sqlx's statement cache, as shared rows' statements are. Default
    /// `false`: they are sent unnamed (parsed and planned on every execution, in one round trip
    /// fewer than a prepare). Every schema has statement texts of its own (its name qualifies
    /// each table), so with many schemas they do not fit in the cache (100 statements per
    /// connection unless the URL sets `statement-cache-capacity`): every miss would prepare the
    /// statement, close the one it evicts, then run it, three round trips instead of two.
    /// Turn it on when the schemas one server serves are few, or the cache holds all of their
    /// statements (docs/PERFORMANCE.md, "Placements at scale"); [`schema_pools`](Self::schema_pools)
    /// turns it on. Shared rows and tenant databases always prepare; behind a
    /// [`transaction_pooler`](Self::transaction_pooler) nothing does.
    #[serde(default)]
    pub prepare_schema_statements: bool,
    /// PostgreSQL schema placement: schema tenants are served by this many pools of their own
    /// instead of the server's own pool, each schema always by the same one (chosen by its
    /// name), each pool of `max_connections / schema_pools` connections (at least 1). Every
    /// connection then meets only its share of the schemas, so their statements can stay
    /// prepared (this turns [`prepare_schema_statements`](Self::prepare_schema_statements) on),
    /// in a statement cache of [`SCHEMA_POOL_STATEMENTS`] per connection unless the URL sets
    /// `statement-cache-capacity`, and PostgreSQL plans each statement and loads each schema's
    /// tables into its caches on one connection instead of on all of them. The cost: about
    /// `max_connections` more connections on the server, and a schema's requests share only its
    /// pool's connections (a burst for one schema waits for them while other pools idle).
    /// Default: none, schema tenants share the server's own pool.
    pub schema_pools: Option<u32>,
    /// SQLite: concurrent writes to one database file are group-committed, several in one
    /// transaction, each acknowledged only after its commit (see
    /// [`DataStore::without_group_commit`](super::DataStore::without_group_commit)). Default
    /// `true`; `false` runs each write in its own transaction. Other backends ignore it.
    pub group_commit: Option<bool>,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("url", &self.url.as_ref().map(|_| ".."))
            .field("url_env", &self.url_env)
            .field("password_env", &self.password_env)
            .field("max_connections", &self.max_connections)
            .field("max_tenant_pools", &self.max_tenant_pools)
            .field("tenant_pool_connections", &self.tenant_pool_connections)
            .field("tenant_pool_idle_seconds", &self.tenant_pool_idle_seconds)
            .field("tenant_journal_mode", &self.tenant_journal_mode)
            .field("transaction_pooler", &self.transaction_pooler)
            .field("prepare_schema_statements", &self.prepare_schema_statements)
            .field("schema_pools", &self.schema_pools)
            .field("group_commit", &self.group_commit)
            .finish()
    }
}

impl ServerConfig {
    /// A server at `url`, with the default limits.
    pub fn url(url: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ..Self::default()
        }
    }

    /// The password comes from the environment variable `var`.
    pub fn password_env(mut self, var: impl Into<String>) -> Self {
        self.password_env = Some(var.into());
        self
    }

    /// At most `pools` tenant pools of `connections` each on this server.
    pub fn tenant_pools(mut self, pools: usize, connections: u32) -> Self {
        self.max_tenant_pools = Some(pools);
        self.tenant_pool_connections = Some(connections);
        self
    }

    /// The URL is a transaction-mode pooler (see
    /// [`transaction_pooler`](Self::transaction_pooler)).
    pub fn behind_transaction_pooler(mut self) -> Self {
        self.transaction_pooler = true;
        self
    }

    /// Schema tenants' statements are prepared and cached per connection (see
    /// [`prepare_schema_statements`](Self::prepare_schema_statements)).
    pub fn with_prepared_schema_statements(mut self) -> Self {
        self.prepare_schema_statements = true;
        self
    }

    /// SQLite: each write in its own transaction, no group commit (see
    /// [`group_commit`](Self::group_commit)).
    pub fn without_group_commit(mut self) -> Self {
        self.group_commit = Some(false);
        self
    }

    /// Tenant pools unused for `idle` are closed.
    pub fn tenant_pool_idle(mut self, idle: Duration) -> Self {
        self.tenant_pool_idle_seconds = Some(idle.as_secs().max(1));
        self
    }
}

/// Every configured server, as configuration says it (for example a TOML file):
///
/// ```toml
/// default = "main"            # the server holding the catalog; optional with one server
///
/// [servers.main]
/// url = "postgres://app@127.0.0.1:5432/app"
/// password_env = "MAIN_DB_PASSWORD"
///
/// [servers.eu-1]
/// url_env = "EU_DATABASE_URL"
/// max_tenant_pools = 200
///
/// [servers.files]
/// url = "sqlite://data/tenants/"
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ServersConfig {
    /// The server holding the catalog and every tenant whose placement names no server.
    /// Optional when there is one server, or one named `main`.
    pub default: Option<String>,
    /// The servers by name.
    #[serde(default)]
    pub servers: BTreeMap<String, ServerConfig>,
}

/// One checked server: its name, URL, backend and limits.
#[derive(Debug, Clone)]
pub(crate) struct ServerSpec {
    pub(crate) name: ServerName,
    pub(crate) url: ServerUrl,
    pub(crate) backend: Backend,
    pub(crate) shared: PoolSettings,
    pub(crate) tenant_pools: usize,
    pub(crate) tenant_pool: PoolSettings,
    /// Behind a transaction-mode pooler: nothing is prepared, every operation runs in a
    /// transaction of its own.
    pub(crate) pooler: bool,
    /// Schema tenants' statements are prepared and cached (not behind a pooler).
    pub(crate) prepare_schemas: bool,
    /// Pools serving schema tenants, each schema by one of them (none: the server's own).
    pub(crate) schema_pools: u32,
    /// The settings of each of those pools.
    pub(crate) schema_pool: PoolSettings,
}

/// The configured servers, checked: names valid, each URL of a compiled-in backend, every
/// environment variable set, one default. Build with [`from_config`](Self::from_config) or
/// [`single`](Self::single); give to [`Registry`](super::Registry).
///
/// ```
/// use tenantry::data::{ServerConfig, Servers, ServersConfig};
///
/// let mut config = ServersConfig::default();
/// config.servers.insert("main".into(), ServerConfig::url("sqlite::memory:"));
/// config.servers.insert("files".into(), ServerConfig::url("sqlite://tenants/").tenant_pools(64, 1));
/// let servers = Servers::from_config(config).unwrap();
/// assert_eq!(servers.default_server().as_str(), "main");
/// assert_eq!(servers.names().count(), 2);
///
/// let mut bad = ServersConfig::default();
/// bad.servers.insert("Main".into(), ServerConfig::url("sqlite::memory:"));
/// assert!(Servers::from_config(bad).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Servers {
    pub(crate) default: ServerName,
    pub(crate) specs: Vec<ServerSpec>,
}

const DEFAULT_CONNECTIONS: u32 = 10;
/// Prepared statements each connection of a [schema pool](ServerConfig::schema_pools) keeps,
/// unless the server's URL sets `statement-cache-capacity` (sqlx's own default is 100).
pub const SCHEMA_POOL_STATEMENTS: usize = 2048;
/// Tenant pools of a server, and connections of each: (SQLite, other backends).
const DEFAULT_TENANT_POOLS: (usize, usize) = (128, 64);
const DEFAULT_TENANT_POOL_CONNECTIONS: (u32, u32) = (1, 2);
const DEFAULT_TENANT_POOL_IDLE: Duration = Duration::from_secs(300);

/// The default of a pair: (SQLite, other backends).
fn by_backend<T>(sqlite: bool, (on_sqlite, elsewhere): (T, T)) -> T {
    if sqlite { on_sqlite } else { elsewhere }
}

impl Servers {
    /// One server named `main` at `url`, the default.
    pub fn single(url: impl Into<String>) -> Result<Self, ConfigError> {
        let mut config = ServersConfig::default();
        config
            .servers
            .insert("main".into(), ServerConfig::url(url.into()));
        Self::from_config(config)
    }

    /// Checks `config`, reading the environment variables it names.
    pub fn from_config(config: ServersConfig) -> Result<Self, ConfigError> {
        Self::from_config_with(config, |var| std::env::var(var).ok())
    }

    /// [`from_config`](Self::from_config) with the environment given by `env`.
    pub fn from_config_with(
        config: ServersConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        if config.servers.is_empty() {
            return Err(ConfigError::Servers("no server is configured".into()));
        }
        let mut specs = Vec::with_capacity(config.servers.len());
        for (name, server) in config.servers {
            specs.push(spec(&name, server, &env)?);
        }
        let default = match config.default {
            Some(name) => specs
                .iter()
                .find(|s| s.name.as_str() == name)
                .map(|s| s.name.clone())
                .ok_or_else(|| {
                    ConfigError::Servers(format!("the default server {name:?} is not configured"))
                })?,
            None if specs.len() == 1 => specs[0].name.clone(),
            None => specs
                .iter()
                .find(|s| s.name.as_str() == "main")
                .map(|s| s.name.clone())
                .ok_or_else(|| {
                    ConfigError::Servers(
                        "several servers and none named `main`: say which is the default".into(),
                    )
                })?,
        };
        Ok(Self { default, specs })
    }

    /// The default server: the catalog's, and every tenant's whose placement names none.
    pub fn default_server(&self) -> &ServerName {
        &self.default
    }

    /// The servers' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &ServerName> {
        self.specs.iter().map(|s| &s.name)
    }

    /// The backend of the server `name`.
    pub fn backend(&self, name: &ServerName) -> Option<Backend> {
        self.spec(name).map(|s| s.backend)
    }

    pub(crate) fn spec(&self, name: &ServerName) -> Option<&ServerSpec> {
        self.specs.iter().find(|s| s.name == *name)
    }

    /// Every server without group commit: on SQLite each write in its own transaction (see
    /// [`ServerConfig::group_commit`]).
    pub fn without_group_commit(mut self) -> Self {
        for spec in &mut self.specs {
            spec.shared.group_commit = false;
            spec.tenant_pool.group_commit = false;
        }
        self
    }
}

fn spec(
    name: &str,
    config: ServerConfig,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<ServerSpec, ConfigError> {
    let server = ServerName::new(name).map_err(|e| ConfigError::Servers(e.to_string()))?;
    let bad = |why: String| ConfigError::Servers(format!("server {name}: {why}"));
    let from_env = |var: &str, what: &str| {
        env(var).filter(|v| !v.is_empty()).ok_or_else(|| {
            bad(format!(
                "the environment variable {var} (its {what}) is not set"
            ))
        })
    };
    let url = match (config.url, config.url_env) {
        (Some(url), None) => url,
        (None, Some(var)) => from_env(&var, "URL")?,
        _ => return Err(bad("give exactly one of `url` and `url_env`".into())),
    };
    let password = match &config.password_env {
        Some(var) => Some(from_env(var, "password")?),
        None => None,
    };
    let backend = backend_of_url(&url).map_err(bad)?;
    let idle = config
        .tenant_pool_idle_seconds
        .map_or(DEFAULT_TENANT_POOL_IDLE, Duration::from_secs);
    let acquire_timeout = match backend {
        Backend::Sqlite => crate::driver::ACQUIRE_TIMEOUT,
        _ => crate::driver::SERVER_ACQUIRE_TIMEOUT,
    };
    let positive = |n: Option<u32>, default: u32, what: &str| match n {
        Some(0) => Err(bad(format!("`{what}` must be at least 1"))),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    let group_commit = config.group_commit.unwrap_or(true);
    let sqlite = backend == Backend::Sqlite;
    let tenant_pools = match config.max_tenant_pools {
        Some(0) => return Err(bad("`max_tenant_pools` must be at least 1".into())),
        Some(n) => n,
        None => by_backend(sqlite, DEFAULT_TENANT_POOLS),
    };
    let schema_pools = match config.schema_pools {
        None => 0,
        Some(0) => return Err(bad("`schema_pools` must be at least 1".into())),
        Some(_) if backend != Backend::Postgres => {
            return Err(bad(format!(
                "`schema_pools` needs PostgreSQL (schema placement); this server is {backend}"
            )));
        }
        Some(n) => n,
    };
    let tenant_journal = match config.tenant_journal_mode {
        Some(mode) if mode != TenantJournal::Wal && backend != Backend::Sqlite => {
            return Err(bad(format!(
                "`tenant_journal_mode` is for SQLite tenant files; this server is {backend}"
            )));
        }
        mode => mode.unwrap_or_default(),
    };
    let max_connections = positive(
        config.max_connections,
        DEFAULT_CONNECTIONS,
        "max_connections",
    )?;
    let shared = PoolSettings {
        max_connections,
        idle_timeout: Duration::from_secs(600),
        acquire_timeout,
        create: false,
        group_commit,
    };
    Ok(ServerSpec {
        name: server,
        url: ServerUrl {
            url,
            password,
            tenant_journal,
        },
        backend,
        pooler: config.transaction_pooler,
        prepare_schemas: (config.prepare_schema_statements || schema_pools > 0)
            && !config.transaction_pooler,
        schema_pools,
        schema_pool: PoolSettings {
            max_connections: (max_connections / schema_pools.max(1)).max(1),
            ..shared
        },
        shared,
        tenant_pools,
        tenant_pool: PoolSettings {
            max_connections: positive(
                config.tenant_pool_connections,
                by_backend(sqlite, DEFAULT_TENANT_POOL_CONNECTIONS),
                "tenant_pool_connections",
            )?,
            idle_timeout: idle,
            acquire_timeout,
            create: false,
            group_commit,
        },
    })
}

#[cfg(all(test, any(feature = "sqlite", feature = "postgres")))]
mod tests {
    use super::*;

    fn one(config: ServerConfig) -> Result<ServerSpec, ConfigError> {
        spec("main", config, &|_: &str| None)
    }

    #[cfg(feature = "sqlite")]
    #[test]
    fn sqlite_tenant_pools_default_to_many_pools_of_one_connection() {
        let s = one(ServerConfig::url("sqlite://data/main.db")).unwrap();
        assert_eq!((s.tenant_pools, s.tenant_pool.max_connections), (128, 1));
        assert_eq!(s.url.tenant_journal, TenantJournal::Wal);
        let mut truncate = ServerConfig::url("sqlite://data/main.db");
        truncate.tenant_journal_mode = Some(TenantJournal::Truncate);
        assert_eq!(
            one(truncate).unwrap().url.tenant_journal,
            TenantJournal::Truncate
        );
        let mut pools = ServerConfig::url("sqlite://data/main.db");
        pools.schema_pools = Some(2);
        assert!(one(pools).is_err(), "schema pools need PostgreSQL");
    }

    #[cfg(feature = "postgres")]
    #[test]
    fn schema_statements_are_unnamed_unless_prepared_or_pooled_apart() {
        let url = "postgres://app@db/app";
        let s = one(ServerConfig::url(url)).unwrap();
        assert_eq!((s.tenant_pools, s.tenant_pool.max_connections), (64, 2));
        assert!(!s.prepare_schemas && !s.pooler && s.schema_pools == 0);
        assert!(
            one(ServerConfig::url(url).with_prepared_schema_statements())
                .unwrap()
                .prepare_schemas
        );
        let mut pools = ServerConfig::url(url);
        pools.schema_pools = Some(4);
        let s = one(pools.clone()).unwrap();
        assert!(s.prepare_schemas);
        // Ten connections in four pools: two each; at least one however many pools.
        assert_eq!((s.schema_pools, s.schema_pool.max_connections), (4, 2));
        pools.schema_pools = Some(40);
        assert_eq!(one(pools.clone()).unwrap().schema_pool.max_connections, 1);
        // Behind a transaction-mode pooler nothing is prepared, whatever else is asked.
        let behind = one(pools.behind_transaction_pooler()).unwrap();
        assert!(behind.pooler && !behind.prepare_schemas);
        let mut zero = ServerConfig::url(url);
        zero.schema_pools = Some(0);
        assert!(one(zero).is_err());
        let mut journal = ServerConfig::url(url);
        journal.tenant_journal_mode = Some(TenantJournal::Delete);
        assert!(one(journal).is_err(), "journal modes are SQLite's");
    }
}
