//! One placement brought up to date: its own ledger, `_tenantry_migrations`, says what is
//! applied there; each pending migration runs in a transaction with its ledger row.
//!
//! Schemas share one pool per server for the whole run (a connection per schema would be most
//! of the time of a run over thousands of them): each migration's transaction starts with
//! `SET LOCAL search_path` to the schema, and the ledger is named with its schema, whatever the
//! migration does to the search path. The pool is the run's own, closed at its end, so a
//! migration that changes a session setting changes nothing of the application's. A database
//! gets a pool of one connection for its migrations.

use std::{collections::BTreeMap, sync::Mutex, time::Duration};

use sea_query::{Alias, Query};

use super::{Outcome, Step, ledger};
use crate::{
    catalog::{Placement, ServerName},
    data::{DataError, DataStore, Ident, Registry},
    driver::{AnyPool, Backend, ConnectError, Driver, dispatch, open::PoolSettings, query},
};

/// Each placement's own ledger.
pub(super) const LOCAL: &str = "_tenantry_migrations";

/// How long a migration waits for a connection (batch work on a loaded server).
const ACQUIRE: Duration = Duration::from_secs(30);

fn local_ddl(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {table} (version bigint NOT NULL PRIMARY KEY, \
         checksum varchar(128) NOT NULL, applied_at varchar(40) NOT NULL)"
    )
}

/// What a run shares between its placements.
pub(super) struct Run {
    pub(super) registry: Registry,
    pub(super) steps: Vec<Step>,
    pub(super) recorder: ledger::Recorder,
    /// Connections of each server's schema pool.
    connections: u32,
    /// Server → the run's pool for its schemas, opened on first use.
    schema_pools: Mutex<BTreeMap<ServerName, AnyPool>>,
}

/// A migration failed (its version, if one ran) or the placement could not be reached.
type Failure = (Option<i64>, String);

impl Run {
    pub(super) fn new(registry: Registry, steps: Vec<Step>, connections: usize) -> Self {
        let recorder = ledger::Recorder::start(registry.store());
        Self {
            registry,
            steps,
            recorder,
            connections: u32::try_from(connections.max(1)).unwrap_or(u32::MAX),
            schema_pools: Mutex::new(BTreeMap::new()),
        }
    }

    /// Brings `placement` (ledger key `key`) up to date; `unrecorded` are the versions the
    /// central ledger lacks for it, recorded there once they are known applied. Returns when
    /// the placement's work is done and the central rows are handed to the recorder (whose
    /// answer the caller awaits, with the placement's connection already given back).
    pub(super) async fn migrate(
        &self,
        key: &str,
        placement: &Placement,
        unrecorded: &[i64],
    ) -> (Outcome, Vec<ledger::Row>) {
        let mut done = Vec::new();
        let result = match placement {
            Placement::Schema { schema, server } => match self.schema_pool(server.as_ref()) {
                Ok(pool) => self.on_schema(&pool, schema, &mut done).await,
                Err(e) => Err((None, super::why(&e))),
            },
            _ => match self.store(placement).await {
                Ok(store) => {
                    let r = self.on_store(&store, &mut done).await;
                    if !placement.is_row() {
                        store.close().await;
                    }
                    r
                }
                Err(e) => Err((None, super::why(&e))),
            },
        };
        let rows = done
            .iter()
            .filter(|(v, _)| unrecorded.contains(v))
            .filter_map(|(v, _)| self.steps.iter().find(|s| s.version == *v))
            .map(|s| ledger::Row {
                placement: key.to_owned(),
                version: s.version,
                description: s.description.clone(),
                checksum: s.checksum.clone(),
            })
            .collect();
        let applied: Vec<i64> = done
            .iter()
            .filter(|(_, now)| *now)
            .map(|(v, _)| *v)
            .collect();
        let outcome = match result {
            Ok(()) if applied.is_empty() => Outcome::Current,
            Ok(()) => Outcome::Applied { versions: applied },
            Err((version, error)) => Outcome::Failed { version, error },
        };
        (outcome, rows)
    }

    /// Closes the run's pools and waits for the ledger writes.
    pub(super) async fn finish(self) {
        let pools: Vec<AnyPool> = {
            let mut map = self.schema_pools.lock().unwrap_or_else(|p| p.into_inner());
            std::mem::take(&mut *map).into_values().collect()
        };
        for pool in pools {
            dispatch!(&pool, |p| p.close().await);
        }
        self.recorder.finish().await;
    }

    fn schema_pool(&self, server: Option<&ServerName>) -> Result<AnyPool, DataError> {
        let servers = self.registry.servers();
        let name = server.unwrap_or(servers.default_server());
        let spec = servers
            .spec(name)
            .ok_or_else(|| DataError::Placement(format!("server {name} is not configured")))?;
        let mut pools = self.schema_pools.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(pool) = pools.get(name) {
            return Ok(pool.clone());
        }
        let settings = PoolSettings {
            max_connections: self.connections,
            idle_timeout: Duration::from_secs(60),
            acquire_timeout: ACQUIRE,
            create: false,
            // Migrations run their own transactions; nothing to batch.
            group_commit: false,
        };
        let pool = AnyPool::open(&spec.url, None, &settings).map_err(connect_error)?;
        pools.insert(name.clone(), pool.clone());
        Ok(pool)
    }

    /// Shared rows: the server's own pool; a database: a pool of one connection to it.
    async fn store(&self, placement: &Placement) -> Result<DataStore, DataError> {
        let Placement::Database { database, server } = placement else {
            return self.registry.admin_store(placement).await;
        };
        let servers = self.registry.servers();
        let name = server.as_ref().unwrap_or(servers.default_server());
        let spec = servers
            .spec(name)
            .ok_or_else(|| DataError::Placement(format!("server {name} is not configured")))?;
        let database = checked(database)?;
        let settings = PoolSettings {
            max_connections: 1,
            idle_timeout: Duration::from_secs(60),
            acquire_timeout: ACQUIRE,
            create: false,
            // Migrations run their own transactions; nothing to batch.
            group_commit: false,
        };
        let pool =
            AnyPool::open(&spec.url, Some(database.as_str()), &settings).map_err(connect_error)?;
        Ok(DataStore::from_any(pool))
    }

    /// A schema (PostgreSQL only), through the run's pool of its server. `done` gets each
    /// version known applied, and whether it was applied now.
    async fn on_schema(
        &self,
        pool: &AnyPool,
        schema: &str,
        done: &mut Vec<(i64, bool)>,
    ) -> Result<(), Failure> {
        let schema = checked(schema).map_err(|e| (None, super::why(&e)))?;
        dispatch!(pool, |pool| on_schema(pool, &schema, &self.steps, done)
            .await)
    }

    async fn on_store(
        &self,
        store: &DataStore,
        done: &mut Vec<(i64, bool)>,
    ) -> Result<(), Failure> {
        let local = local_ledger(store)
            .await
            .map_err(|e| (None, super::why(&e)))?;
        for step in &self.steps {
            match local.get(&step.version) {
                Some(c) if *c == step.checksum => done.push((step.version, false)),
                Some(_) => return Err(other_text(step)),
                None => {
                    dispatch!(store.pool(), |pool| apply(pool, step).await)
                        .map_err(|e| (Some(step.version), super::why(&e)))?;
                    done.push((step.version, true));
                }
            }
        }
        Ok(())
    }
}

fn other_text(step: &Step) -> Failure {
    (
        Some(step.version),
        format!(
            "migration {} ({}) ran here with other text",
            step.version, step.description
        ),
    )
}

fn connect_error(e: ConnectError) -> DataError {
    match e {
        ConnectError::Unavailable(e) => DataError::Unavailable(e),
        ConnectError::UnsupportedUrl(why) => DataError::Unsupported(why),
    }
}

/// A schema or database name as tenantry generates them (never a name from elsewhere).
fn checked(name: &str) -> Result<Ident, DataError> {
    if !crate::catalog::is_object_name(name) || name.starts_with("pg_") {
        return Err(DataError::Placement(format!(
            "placement names {name:?}, which is not a name tenantry generates"
        )));
    }
    Ident::new(name).map_err(|e| DataError::Placement(e.to_string()))
}

/// Each pending step in `schema`, in its own transaction that starts with `SET LOCAL
/// search_path` to it, with its row in the schema's ledger (named with its schema).
async fn on_schema<D: Driver>(
    pool: &sqlx::Pool<D>,
    schema: &Ident,
    steps: &[Step],
    done: &mut Vec<(i64, bool)>,
) -> Result<(), Failure>
where
    (i64, String): for<'r> sqlx::FromRow<'r, D::Row>,
{
    use sqlx::FromRow as _;

    if D::BACKEND != Backend::Postgres {
        return Err((
            None,
            "schema placement needs PostgreSQL; this server is not".to_owned(),
        ));
    }
    let unreachable = |e: sqlx::Error| (None, super::why(&DataError::from(e)));
    let table = format!("{}.{LOCAL}", D::quote(schema));
    let mut conn = pool.acquire().await.map_err(unreachable)?;
    // The ledger made if missing and read, in one round trip.
    let read = format!(
        "{};\nSELECT version, checksum FROM {table}",
        local_ddl(&table)
    );
    let rows = sqlx::raw_sql(sqlx::AssertSqlSafe(read))
        .fetch_all(D::on_conn(&mut conn))
        .await
        .map_err(unreachable)?;
    let mut local = BTreeMap::new();
    for row in &rows {
        let (version, checksum) = <(i64, String)>::from_row(row).map_err(unreachable)?;
        local.insert(version, checksum);
    }
    for step in steps {
        match local.get(&step.version) {
            Some(c) if *c == step.checksum => done.push((step.version, false)),
            Some(_) => return Err(other_text(step)),
            None => {
                let failed = |e: DataError| (Some(step.version), super::why(&e));
                let mut tx = sqlx::Connection::begin(&mut *conn)
                    .await
                    .map_err(|e| failed(e.into()))?;
                D::set_local_search_path(&mut tx, schema)
                    .await
                    .map_err(failed)?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(step.sql.clone()))
                    .execute(D::on_conn(&mut tx))
                    .await
                    .map_err(|e| failed(e.into()))?;
                let (sql, values) = D::build(&ledger_insert(Some(schema), step));
                query::<D, _>(sql, values)
                    .execute(D::on_conn(&mut tx))
                    .await
                    .map_err(|e| failed(e.into()))?;
                tx.commit().await.map_err(|e| failed(e.into()))?;
                done.push((step.version, true));
            }
        }
    }
    Ok(())
}

/// The placement's own ledger (made if missing): version → checksum.
async fn local_ledger(store: &DataStore) -> Result<BTreeMap<i64, String>, DataError> {
    let ddl = local_ddl(LOCAL);
    let select = format!("SELECT version, checksum FROM {LOCAL}");
    let rows: Vec<(i64, String)> = dispatch!(store.pool(), |pool| {
        sqlx::raw_sql(sqlx::AssertSqlSafe(ddl))
            .execute(pool)
            .await?;
        sqlx::query_as(sqlx::AssertSqlSafe(select))
            .fetch_all(pool)
            .await?
    });
    Ok(rows.into_iter().collect())
}

/// Runs one migration and its ledger row in one transaction (atomic where DDL is
/// transactional: PostgreSQL, SQLite; MariaDB commits each DDL statement by itself).
async fn apply<D: Driver>(pool: &sqlx::Pool<D>, step: &Step) -> Result<(), DataError> {
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(step.sql.clone()))
        .execute(D::on_conn(&mut tx))
        .await?;
    let insert = ledger_insert(None, step);
    let (sql, values) = D::build(&insert);
    query::<D, _>(sql, values)
        .execute(D::on_conn(&mut tx))
        .await?;
    tx.commit().await?;
    Ok(())
}

/// The row of the ledger `_tenantry_migrations` (in `schema`, if given) saying `step` ran.
fn ledger_insert(schema: Option<&Ident>, step: &Step) -> sea_query::InsertStatement {
    let mut insert = Query::insert();
    match schema {
        Some(schema) => insert.into_table((Alias::new(schema.as_str()), Alias::new(LOCAL))),
        None => insert.into_table(Alias::new(LOCAL)),
    };
    insert
        .columns([
            Alias::new("version"),
            Alias::new("checksum"),
            Alias::new("applied_at"),
        ])
        .values_panic([
            step.version.into(),
            step.checksum.as_str().into(),
            super::now().into(),
        ])
        .to_owned()
}
