//! Fleet migrations: the application's sqlx migrations applied to every placement (the shared
//! tables of each server once, each schema, each database), resumably.
//!
//! Two ledgers keep it boring:
//! - in each placement, `_tenantry_migrations` (version, checksum, time), written in the same
//!   transaction as the migration where the backend has transactional DDL (PostgreSQL, SQLite):
//!   the truth about that placement, so a run killed midway never applies a migration twice;
//! - in the catalog's database, `tenantry_migrations` (placement, version, description,
//!   checksum, time): the index, so a run with nothing to do reads one table and connects to
//!   no placement, and a migration whose file changed after it ran is refused before anything
//!   runs, naming the file and the placements that ran the old text.
//!
//! One run at a time per catalog (a PostgreSQL advisory lock, MariaDB `GET_LOCK`, a lock file
//! beside a SQLite catalog: each released if the process dies); a second run waits, then
//! finds the work done. A placement that fails is reported and the others go on.

use std::{collections::BTreeMap, sync::Arc};

use sea_query::{Expr, ExprTrait, Query};
use sqlx::migrate::{MigrationType, Migrator};

use super::{DataError, DataStore, Registry};
use crate::{
    TenantId,
    catalog::{CatalogError, Placement},
    driver::{Driver, dispatch, query},
};

/// What to migrate and how.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FleetOptions {
    /// Only these tenants' placements (`None`: every tenant's, and every server's shared rows).
    pub tenants: Option<Vec<TenantId>>,
    /// Placements migrated at once.
    pub concurrency: usize,
    /// Say what would be applied where, apply nothing.
    pub dry_run: bool,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            tenants: None,
            concurrency: 4,
            dry_run: false,
        }
    }
}

/// What happened to one placement.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// These versions were applied now.
    Applied {
        /// The versions, in order.
        versions: Vec<i64>,
    },
    /// Nothing to apply.
    Current,
    /// (Dry run) these versions would be applied.
    WouldApply {
        /// The versions, in order.
        versions: Vec<i64>,
    },
    /// A migration failed here (those before it stay applied); the database's error.
    Failed {
        /// The version that failed, if one did (else the placement could not be reached).
        version: Option<i64>,
        /// What the database said.
        error: String,
    },
}

/// One placement's line of the report.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct PlacementReport {
    /// The placement (`row@main` for a server's shared tables).
    pub placement: String,
    /// The tenants placed there (empty for shared rows).
    pub tenants: Vec<String>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Every placement's outcome, in a stable order (shared rows first, then by placement).
#[derive(Debug, Clone, Default, serde::Serialize)]
#[non_exhaustive]
pub struct FleetReport {
    /// One line per placement.
    pub placements: Vec<PlacementReport>,
}

impl FleetReport {
    /// Placements where a migration failed.
    pub fn failed(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Failed { .. }))
    }

    /// Placements where migrations were applied.
    pub fn applied(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Applied { .. }))
    }

    /// Placements that had nothing to apply.
    pub fn current(&self) -> usize {
        self.count(|o| matches!(o, Outcome::Current))
    }

    fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.placements.iter().filter(|p| f(&p.outcome)).count()
    }
}

/// Why a fleet migration did not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// A migration's file changed after it was applied somewhere.
    #[error(
        "migration {version} ({description}) changed after it was applied; its old text ran on {}: \
         restore the file, or add a new migration instead",
        placements.join(", ")
    )]
    ChecksumChanged {
        /// Its version.
        version: i64,
        /// Its description (from the file name).
        description: String,
        /// Where the old text ran.
        placements: Vec<String>,
    },
    /// The catalog could not be read.
    #[error("the catalog cannot be read: {0}")]
    Catalog(#[from] CatalogError),
    /// The ledger in the catalog's database could not be read or written.
    #[error("the migration ledger: {0}")]
    Ledger(#[source] DataError),
    /// The run lock could not be taken.
    #[error("cannot take the migration lock: {0}")]
    Lock(String),
}

/// The central ledger, in the catalog's database.
const LEDGER: &str = "tenantry_migrations";
/// Each placement's own ledger.
const LOCAL: &str = "_tenantry_migrations";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The up migrations of `migrator`, in order: (version, description, sql, checksum).
fn steps(migrator: &Migrator) -> Vec<(i64, String, String, String)> {
    migrator
        .iter()
        .filter(|m| !matches!(m.migration_type, MigrationType::ReversibleDown))
        .map(|m| {
            (
                m.version,
                m.description.to_string(),
                m.sql.as_str().to_owned(),
                hex(&m.checksum),
            )
        })
        .collect()
}

/// A placement's key in the ledger: its text, with the server always named.
fn key(placement: &Placement, default_server: &str) -> String {
    match placement.server() {
        Some(_) => placement.to_string(),
        None => format!("{placement}@{default_server}"),
    }
}

impl Registry {
    /// Applies `migrator`'s migrations to every placement `options` selects (see the
    /// [module docs](self)). A placement that fails is in the report as
    /// [`Outcome::Failed`]; the others go on.
    pub async fn migrate_fleet(
        &self,
        migrator: &Migrator,
        options: &FleetOptions,
    ) -> Result<FleetReport, FleetError> {
        let steps = Arc::new(steps(migrator));
        let central = self.store();
        let _lock = lock(&central, self).await?;
        ensure_ledger(&central).await.map_err(FleetError::Ledger)?;
        let done = read_ledger(&central).await.map_err(FleetError::Ledger)?;

        // Refuse before anything runs if a file changed after it was applied.
        for (version, description, _, checksum) in steps.iter() {
            let ran_old: Vec<String> = done
                .iter()
                .filter(|(_, applied)| applied.get(version).is_some_and(|c| c != checksum))
                .map(|(p, _)| p.clone())
                .collect();
            if !ran_old.is_empty() {
                return Err(FleetError::ChecksumChanged {
                    version: *version,
                    description: description.clone(),
                    placements: ran_old,
                });
            }
        }

        // The placements: every server's shared rows (all tenants) or the selected tenants'.
        let default_server = self.servers().default_server().to_string();
        let mut targets: BTreeMap<String, (Placement, Vec<String>)> = BTreeMap::new();
        let records = self.catalog().list().await?;
        let wanted = |id: &TenantId| {
            options
                .tenants
                .as_ref()
                .is_none_or(|only| only.contains(id))
        };
        if options.tenants.is_none() {
            for name in self.servers().names() {
                let shared = Placement::row().on(name.clone());
                targets.insert(shared.to_string(), (shared, Vec::new()));
            }
        }
        for record in records.iter().filter(|r| wanted(&r.id)) {
            let placement = record.placement.clone();
            let k = key(&placement, &default_server);
            let entry = targets.entry(k).or_insert_with(|| (placement, Vec::new()));
            if !entry.0.is_row() {
                entry.1.push(record.id.to_string());
            }
        }

        let mut report = Vec::new();
        let mut work = Vec::new();
        for (k, (placement, tenants)) in targets {
            let applied = done.get(&k);
            let pending: Vec<i64> = steps
                .iter()
                .map(|s| s.0)
                .filter(|v| applied.is_none_or(|a| !a.contains_key(v)))
                .collect();
            if pending.is_empty() {
                report.push(PlacementReport {
                    placement: k,
                    tenants,
                    outcome: Outcome::Current,
                });
            } else if options.dry_run {
                report.push(PlacementReport {
                    placement: k,
                    tenants,
                    outcome: Outcome::WouldApply { versions: pending },
                });
            } else {
                work.push((k, placement, tenants));
            }
        }

        let limit = Arc::new(tokio::sync::Semaphore::new(options.concurrency.max(1)));
        let mut runs = tokio::task::JoinSet::new();
        for (k, placement, tenants) in work {
            let (registry, steps, limit, central) =
                (self.clone(), steps.clone(), limit.clone(), central.clone());
            runs.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let outcome = migrate_one(&registry, &central, &k, &placement, &steps).await;
                PlacementReport {
                    placement: k,
                    tenants,
                    outcome,
                }
            });
        }
        while let Some(done) = runs.join_next().await {
            match done {
                Ok(line) => report.push(line),
                Err(e) => {
                    tracing::error!(target: "tenantry::migrate", error = %e, "a migration task panicked")
                }
            }
        }
        report.sort_by(|a, b| {
            (!a.placement.starts_with("row"), &a.placement)
                .cmp(&(!b.placement.starts_with("row"), &b.placement))
        });
        Ok(FleetReport { placements: report })
    }
}

/// A new placement's migrations, at provisioning: applied and recorded in both ledgers, as
/// [`Registry::migrate_fleet`] would, so later fleet runs find them done.
pub(super) async fn provision_migrations(
    registry: &Registry,
    placement: &Placement,
    migrator: &Migrator,
) -> Result<(), DataError> {
    let central = registry.store();
    ensure_ledger(&central).await?;
    let default_server = registry.servers().default_server().to_string();
    let k = key(placement, &default_server);
    match migrate_one(registry, &central, &k, placement, &steps(migrator)).await {
        Outcome::Failed { version, error } => Err(DataError::Placement(match version {
            Some(v) => format!("migration {v} failed: {error}"),
            None => format!("the migrations could not run: {error}"),
        })),
        _ => Ok(()),
    }
}

/// Forgets what the central ledger says ran at `placement` (it was dropped). A ledger that
/// does not exist yet has nothing to forget.
pub(super) async fn forget_placement(registry: &Registry, placement: &Placement) {
    let central = registry.store();
    let default_server = registry.servers().default_server().to_string();
    let k = key(placement, &default_server);
    let delete = Query::delete()
        .from_table(sea_query::Alias::new(LEDGER))
        .and_where(Expr::col(sea_query::Alias::new("placement")).eq(k.as_str()))
        .to_owned();
    let done = dispatch!(central.pool(), |pool| delete_on(pool, &delete).await);
    if let Err(e) = done {
        tracing::debug!(target: "tenantry::migrate", placement = %k, error = %e, "ledger not cleared");
    }
}

async fn delete_on<D: Driver>(
    pool: &sqlx::Pool<D>,
    delete: &sea_query::DeleteStatement,
) -> Result<(), DataError> {
    let (sql, values) = D::build(delete);
    query::<D, _>(sql, values).execute(D::on_pool(pool)).await?;
    Ok(())
}

/// Brings one placement up to date: its own ledger says what is applied (recorded centrally
/// too if a killed run did not), then each pending migration runs with its ledger row.
async fn migrate_one(
    registry: &Registry,
    central: &DataStore,
    key: &str,
    placement: &Placement,
    steps: &[(i64, String, String, String)],
) -> Outcome {
    let store = match registry.admin_store(placement).await {
        Ok(store) => store,
        Err(e) => {
            return Outcome::Failed {
                version: None,
                error: why(&e),
            };
        }
    };
    let result = async {
        let local = local_ledger(&store).await.map_err(|e| (None, why(&e)))?;
        let mut applied = Vec::new();
        for (version, description, sql, checksum) in steps {
            match local.get(version) {
                Some(c) if c == checksum => {}
                Some(_) => {
                    return Err((
                        Some(*version),
                        format!("migration {version} ({description}) ran here with other text"),
                    ));
                }
                None => {
                    dispatch!(store.pool(), |pool| apply(pool, *version, sql, checksum)
                        .await)
                    .map_err(|e| (Some(*version), why(&e)))?;
                    applied.push(*version);
                }
            }
            record(central, key, *version, description, checksum)
                .await
                .map_err(|e| (Some(*version), format!("recording it: {}", why(&e))))?;
        }
        Ok(applied)
    }
    .await;
    if !placement.is_row() {
        store.close().await;
    }
    match result {
        Ok(applied) if applied.is_empty() => Outcome::Current,
        Ok(versions) => Outcome::Applied { versions },
        Err((version, error)) => Outcome::Failed { version, error },
    }
}

/// What the database said, for the report: its own message where it sent one, else the
/// innermost cause (a connection refused, a pool timed out).
fn why(e: &DataError) -> String {
    if let DataError::Placement(why) = e {
        return why.clone();
    }
    let mut last = e.to_string();
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(sqlx::Error::Database(db)) = s.downcast_ref::<sqlx::Error>() {
            return db.message().to_owned();
        }
        last = s.to_string();
        source = s.source();
    }
    last
}

/// The placement's own ledger (made if missing): version → checksum.
async fn local_ledger(store: &DataStore) -> Result<BTreeMap<i64, String>, DataError> {
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {LOCAL} (version bigint NOT NULL PRIMARY KEY, \
         checksum varchar(128) NOT NULL, applied_at varchar(40) NOT NULL)"
    );
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
/// transactional).
async fn apply<D: Driver>(
    pool: &sqlx::Pool<D>,
    version: i64,
    sql: &str,
    checksum: &str,
) -> Result<(), DataError> {
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(D::on_conn(&mut tx))
        .await?;
    let insert = Query::insert()
        .into_table(sea_query::Alias::new(LOCAL))
        .columns([
            sea_query::Alias::new("version"),
            sea_query::Alias::new("checksum"),
            sea_query::Alias::new("applied_at"),
        ])
        .values_panic([version.into(), checksum.into(), now().into()])
        .to_owned();
    let (sql, values) = D::build(&insert);
    query::<D, _>(sql, values)
        .execute(D::on_conn(&mut tx))
        .await?;
    tx.commit().await?;
    Ok(())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

async fn ensure_ledger(central: &DataStore) -> Result<(), DataError> {
    let suffix = match central.backend() {
        crate::driver::Backend::MySql => " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
        _ => "",
    };
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {LEDGER} (placement varchar(255) NOT NULL, \
         version bigint NOT NULL, description text NOT NULL, checksum varchar(128) NOT NULL, \
         applied_at varchar(40) NOT NULL, PRIMARY KEY (placement, version)){suffix}"
    );
    dispatch!(central.pool(), |pool| sqlx::raw_sql(sqlx::AssertSqlSafe(
        ddl
    ))
    .execute(pool)
    .await
    .map(drop))?;
    Ok(())
}

/// Placement → version → checksum, from the central ledger.
async fn read_ledger(
    central: &DataStore,
) -> Result<BTreeMap<String, BTreeMap<i64, String>>, DataError> {
    let sql = format!("SELECT placement, version, checksum FROM {LEDGER}");
    let rows: Vec<(String, i64, String)> = dispatch!(central.pool(), |pool| sqlx::query_as(
        sqlx::AssertSqlSafe(sql)
    )
    .fetch_all(pool)
    .await)?;
    let mut done: BTreeMap<String, BTreeMap<i64, String>> = BTreeMap::new();
    for (placement, version, checksum) in rows {
        done.entry(placement).or_default().insert(version, checksum);
    }
    Ok(done)
}

/// Records `version` as applied at `key` (once: a row already there is left alone).
async fn record(
    central: &DataStore,
    key: &str,
    version: i64,
    description: &str,
    checksum: &str,
) -> Result<(), DataError> {
    let exists = Query::select()
        .expr(Expr::val(1))
        .from(sea_query::Alias::new(LEDGER))
        .and_where(Expr::col(sea_query::Alias::new("placement")).eq(key))
        .and_where(Expr::col(sea_query::Alias::new("version")).eq(version))
        .to_owned();
    let insert = Query::insert()
        .into_table(sea_query::Alias::new(LEDGER))
        .columns(
            [
                "placement",
                "version",
                "description",
                "checksum",
                "applied_at",
            ]
            .map(sea_query::Alias::new),
        )
        .values_panic([
            key.into(),
            version.into(),
            description.into(),
            checksum.into(),
            now().into(),
        ])
        .to_owned();
    dispatch!(central.pool(), |pool| record_on(pool, &exists, &insert)
        .await)
}

async fn record_on<D: Driver>(
    pool: &sqlx::Pool<D>,
    exists: &sea_query::SelectStatement,
    insert: &sea_query::InsertStatement,
) -> Result<(), DataError> {
    let (sql, values) = D::build(exists);
    if query::<D, _>(sql, values)
        .fetch_optional(D::on_pool(pool))
        .await?
        .is_some()
    {
        return Ok(());
    }
    let (sql, values) = D::build(insert);
    query::<D, _>(sql, values).execute(D::on_pool(pool)).await?;
    Ok(())
}

/// Held for the run: one fleet migration per catalog at a time.
enum RunLock {
    #[cfg(any(feature = "postgres", feature = "mysql"))]
    Connection(#[allow(dead_code)] Box<dyn std::any::Any + Send>),
    #[cfg(feature = "sqlite")]
    File(#[allow(dead_code)] std::fs::File),
    #[allow(dead_code)]
    None,
}

// `registry` names the SQLite catalog's file; the other backends lock on a connection.
#[cfg_attr(not(feature = "sqlite"), allow(unused_variables))]
async fn lock(central: &DataStore, registry: &Registry) -> Result<RunLock, FleetError> {
    use crate::driver::AnyPool;
    let fail = |e: &dyn std::fmt::Display| FleetError::Lock(e.to_string());
    match central.pool() {
        #[cfg(feature = "postgres")]
        AnyPool::Postgres(pool) => {
            let mut conn = pool.acquire().await.map_err(|e| fail(&e))?;
            sqlx::query("SELECT pg_advisory_lock(7370661283316395387)")
                .execute(&mut *conn)
                .await
                .map_err(|e| fail(&e))?;
            // Detached: closing it (here, or by the process dying) releases the lock.
            Ok(RunLock::Connection(Box::new(conn.detach())))
        }
        #[cfg(feature = "mysql")]
        AnyPool::MySql(pool) => {
            let mut conn = pool.acquire().await.map_err(|e| fail(&e))?;
            let got: Option<i64> = sqlx::query_scalar("SELECT GET_LOCK('tenantry_migrate', 3600)")
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| fail(&e))?;
            if got != Some(1) {
                return Err(FleetError::Lock("another run holds it".into()));
            }
            Ok(RunLock::Connection(Box::new(conn.detach())))
        }
        #[cfg(feature = "sqlite")]
        AnyPool::Sqlite(_) => {
            let url = &registry
                .servers()
                .spec(registry.servers().default_server())
                .map(|s| s.url.url.clone())
                .unwrap_or_default();
            let path = url
                .strip_prefix("sqlite://")
                .or_else(|| url.strip_prefix("sqlite:"))
                .unwrap_or("")
                .split('?')
                .next()
                .unwrap_or("");
            if path.is_empty() || path.contains(":memory:") {
                return Ok(RunLock::None);
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(format!("{path}.migrate-lock"))
                .map_err(|e| fail(&e))?;
            let file = tokio::task::spawn_blocking(move || file.lock().map(|()| file))
                .await
                .map_err(|e| fail(&e))?
                .map_err(|e| fail(&e))?;
            Ok(RunLock::File(file))
        }
    }
}
