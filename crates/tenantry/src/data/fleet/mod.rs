//! Fleet migrations: the application's sqlx migrations applied to every placement (the shared
//! tables of each server once, each schema, each database), resumably.
//!
//! How a run works is on [`Registry::migrate_fleet`], the entry point.

mod apply;
mod concurrency;
mod ledger;
mod lock;
mod progress;

use std::{
    collections::{BTreeMap, BTreeSet},
    sync::Arc,
};

use sqlx::migrate::{MigrationType, Migrator};

pub use progress::FleetProgress;

use super::{DataError, Registry};
use crate::{
    TenantId,
    catalog::{CatalogError, Placement},
};

/// What to migrate and how.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct FleetOptions {
    /// Only these tenants' placements (`None`: every tenant's, and every server's shared rows).
    pub tenants: Option<Vec<TenantId>>,
    /// Placements migrated at once (`None`: [`Registry::fleet_concurrency`]'s rule, from the
    /// servers' connection limits).
    pub concurrency: Option<usize>,
    /// Say what would be applied where, apply nothing.
    pub dry_run: bool,
    /// Told of the run's progress.
    pub progress: Option<Arc<dyn FleetProgress>>,
}

impl std::fmt::Debug for FleetOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetOptions")
            .field("tenants", &self.tenants)
            .field("concurrency", &self.concurrency)
            .field("dry_run", &self.dry_run)
            .field("progress", &self.progress.as_ref().map(|_| ".."))
            .finish()
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
    /// Placements migrated at once (0 when there was nothing to migrate).
    pub concurrency: usize,
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

/// One up migration of the directory.
#[derive(Debug, Clone)]
struct Step {
    version: i64,
    description: String,
    sql: String,
    checksum: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The up migrations of `migrator`, in order.
fn steps(migrator: &Migrator) -> Vec<Step> {
    migrator
        .iter()
        .filter(|m| !matches!(m.migration_type, MigrationType::ReversibleDown))
        .map(|m| Step {
            version: m.version,
            description: m.description.to_string(),
            sql: m.sql.as_str().to_owned(),
            checksum: hex(&m.checksum),
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

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
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

impl Registry {
    /// Applies `migrator`'s migrations to every placement `options` selects: the shared tables
    /// of each server once, each schema, each database, resumably. A placement that fails is
    /// in the report as [`Outcome::Failed`]; the others go on. With nothing to apply anywhere,
    /// the run reads the catalog and the central ledger (one query each) and connects to no
    /// placement.
    ///
    /// Two ledgers keep it boring:
    /// - in each placement, `_tenantry_migrations` (version, checksum, time), written in the same
    ///   transaction as the migration where the backend has transactional DDL (PostgreSQL, SQLite):
    ///   the truth about that placement, so a run killed midway never applies a migration twice;
    /// - in the catalog's database, `tenantry_migrations` (placement, version, description,
    ///   checksum, time): the index, so a run with nothing to do reads one table and connects to
    ///   no placement, and a migration whose file changed after it ran is refused before anything
    ///   runs, naming the file and the placements that ran the old text.
    ///
    /// One run at a time per catalog (a PostgreSQL advisory lock, MariaDB `GET_LOCK`, a lock file
    /// beside a SQLite catalog: each released if the process dies); a second run waits, then
    /// finds the work done. A placement that fails is reported and the others go on.
    ///
    /// A run migrates [`FleetOptions::concurrency`] placements at once, by default a number
    /// derived from the servers' connection limits (see [`Registry::fleet_concurrency`]). Schemas
    /// share one pool per server for the run, each migration setting `search_path` for its own
    /// transaction only; the central ledger is written in batches by one task. On MariaDB / MySQL
    /// DDL is not transactional: a run killed between a migration's statements and its ledger row
    /// leaves that placement for a person to look at (the next run reports the database's error
    /// there), as with any migration tool on MariaDB.
    ///
    /// ```no_run
    /// # async fn example(registry: tenantry::data::Registry) -> Result<(), Box<dyn std::error::Error>> {
    /// use tenantry::data::FleetOptions;
    ///
    /// let migrator = sqlx::migrate::Migrator::new(std::path::Path::new("migrations")).await?;
    /// let report = registry.migrate_fleet(&migrator, &FleetOptions::default()).await?;
    /// assert_eq!(report.failed(), 0, "{report:?}");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn migrate_fleet(
        &self,
        migrator: &Migrator,
        options: &FleetOptions,
    ) -> Result<FleetReport, FleetError> {
        let steps = steps(migrator);
        let central = self.store();
        let _lock = lock::lock(&central, self).await?;
        ledger::ensure(&central).await.map_err(FleetError::Ledger)?;
        let done = ledger::read(&central).await.map_err(FleetError::Ledger)?;

        // Refuse before anything runs if a file changed after it was applied.
        for step in &steps {
            let ran_old: Vec<String> = done
                .iter()
                .filter(|(_, applied)| {
                    applied
                        .get(&step.version)
                        .is_some_and(|c| *c != step.checksum)
                })
                .map(|(p, _)| p.clone())
                .collect();
            if !ran_old.is_empty() {
                return Err(FleetError::ChecksumChanged {
                    version: step.version,
                    description: step.description.clone(),
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
                .map(|s| s.version)
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
                work.push((k, placement, tenants, pending));
            }
        }

        let progress = options.progress.clone();
        if let Some(progress) = &progress {
            progress.planned(report.len() + work.len(), work.len());
        }
        let mut concurrency = 0;
        if !work.is_empty() {
            concurrency = match options.concurrency {
                Some(n) => n.max(1),
                None => {
                    let servers: BTreeSet<_> = work
                        .iter()
                        .map(|(_, p, _, _)| {
                            p.server()
                                .unwrap_or(self.servers().default_server())
                                .clone()
                        })
                        .collect();
                    concurrency::derive(self, &servers).await
                }
            };
            report.extend(self.run(steps, work, concurrency, progress).await);
        }
        report.sort_by(|a, b| {
            (!a.placement.starts_with("row"), &a.placement)
                .cmp(&(!b.placement.starts_with("row"), &b.placement))
        });
        Ok(FleetReport {
            concurrency,
            placements: report,
        })
    }

    /// The concurrency a fleet run uses when [`FleetOptions::concurrency`] is `None`: for each
    /// server, the smaller of its pool's `max_connections` and a quarter of the connections the
    /// server has free now (PostgreSQL, MariaDB / MySQL; SQLite: the pool's size), the smallest
    /// over the servers, from 1 to 32. (A run counts only the servers it has work on.)
    pub async fn fleet_concurrency(&self) -> usize {
        let names: Vec<_> = self.servers().names().cloned().collect();
        concurrency::derive(self, &names).await
    }

    async fn run(
        &self,
        steps: Vec<Step>,
        work: Vec<(String, Placement, Vec<String>, Vec<i64>)>,
        concurrency: usize,
        progress: Option<Arc<dyn FleetProgress>>,
    ) -> Vec<PlacementReport> {
        let run = Arc::new(apply::Run::new(self.clone(), steps, concurrency));
        let limit = Arc::new(tokio::sync::Semaphore::new(concurrency));
        let mut runs = tokio::task::JoinSet::new();
        for (k, placement, tenants, pending) in work {
            let (run, limit, progress) = (run.clone(), limit.clone(), progress.clone());
            runs.spawn(async move {
                let permit = limit.acquire_owned().await;
                let (mut outcome, rows) = run.migrate(&k, &placement, &pending).await;
                // The next placement starts while this one's rows are written.
                drop(permit);
                if let Err(e) = run.recorder.record(rows).await {
                    outcome = Outcome::Failed {
                        version: None,
                        error: format!(
                            "migrated, but the central ledger was not written ({e}); the next \
                             run records it"
                        ),
                    };
                }
                let line = PlacementReport {
                    placement: k,
                    tenants,
                    outcome,
                };
                if let Some(progress) = &progress {
                    progress.finished(&line);
                }
                line
            });
        }
        let mut report = Vec::new();
        while let Some(done) = runs.join_next().await {
            match done {
                Ok(line) => report.push(line),
                Err(e) => {
                    tracing::error!(target: "tenantry::migrate", error = %e, "a migration task panicked")
                }
            }
        }
        match Arc::try_unwrap(run) {
            Ok(run) => run.finish().await,
            Err(_) => {
                tracing::error!(target: "tenantry::migrate", "a migration task outlived its run")
            }
        }
        report
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
    ledger::ensure(&central).await?;
    let default_server = registry.servers().default_server().to_string();
    let k = key(placement, &default_server);
    let steps = steps(migrator);
    let all: Vec<i64> = steps.iter().map(|s| s.version).collect();
    let run = apply::Run::new(registry.clone(), steps, 1);
    let (outcome, rows) = run.migrate(&k, placement, &all).await;
    let recorded = run.recorder.record(rows).await;
    run.finish().await;
    match outcome {
        Outcome::Failed { version, error } => Err(DataError::Placement(match version {
            Some(v) => format!("migration {v} failed: {error}"),
            None => format!("the migrations could not run: {error}"),
        })),
        _ => recorded.map_err(|e| {
            DataError::Placement(format!("the migration ledger could not be written: {e}"))
        }),
    }
}

/// Forgets what the central ledger says ran at `placement` (it was dropped).
pub(super) async fn forget_placement(registry: &Registry, placement: &Placement) {
    let default_server = registry.servers().default_server().to_string();
    ledger::forget(&registry.store(), &key(placement, &default_server)).await;
}
