//! The central ledger, `tenantry_migrations` in the catalog's database: what ran where, read
//! once per run, written in batches by one task.

use std::collections::BTreeMap;

use sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use tokio::sync::{mpsc, oneshot};

use crate::{
    data::{DataError, DataStore},
    driver::{Driver, dispatch, query},
};

/// The central ledger's table.
pub(super) const LEDGER: &str = "tenantry_migrations";

/// Rows per `INSERT` (5 values each: far below every backend's limit on bound values).
const BATCH_ROWS: usize = 1000;

/// One migration applied at one placement, for the central ledger.
#[derive(Debug, Clone)]
pub(super) struct Row {
    pub(super) placement: String,
    pub(super) version: i64,
    pub(super) description: String,
    pub(super) checksum: String,
}

pub(super) async fn ensure(central: &DataStore) -> Result<(), DataError> {
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

/// Placement → version → checksum: the whole ledger, in one query.
pub(super) async fn read(
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

/// Forgets what the ledger says ran at `key` (the placement was dropped). A ledger that does
/// not exist yet has nothing to forget.
pub(super) async fn forget(central: &DataStore, key: &str) {
    let delete = Query::delete()
        .from_table(Alias::new(LEDGER))
        .and_where(Expr::col(Alias::new("placement")).eq(key))
        .to_owned();
    let done = dispatch!(central.pool(), |pool| delete_on(pool, &delete).await);
    if let Err(e) = done {
        tracing::debug!(target: "tenantry::migrate", placement = %key, error = %e, "ledger not cleared");
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

/// Writes the ledger for the whole run: placements hand their rows to
/// [`record`](Self::record), which returns once they are stored; whatever arrives while a
/// write is under way goes into the next one, so a run at concurrency N commits about once
/// per N placements instead of once per placement. A row already there is left alone.
pub(super) struct Recorder {
    requests: mpsc::UnboundedSender<Request>,
    writer: tokio::task::JoinHandle<()>,
}

struct Request {
    rows: Vec<Row>,
    done: oneshot::Sender<Result<(), String>>,
}

impl Recorder {
    pub(super) fn start(central: DataStore) -> Self {
        let (requests, mut incoming) = mpsc::unbounded_channel::<Request>();
        let writer = tokio::spawn(async move {
            while let Some(first) = incoming.recv().await {
                let mut batch = vec![first];
                let mut rows = batch[0].rows.len();
                while rows < BATCH_ROWS {
                    match incoming.try_recv() {
                        Ok(more) => {
                            rows += more.rows.len();
                            batch.push(more);
                        }
                        Err(_) => break,
                    }
                }
                let all: Vec<&Row> = batch.iter().flat_map(|r| &r.rows).collect();
                let written = write(&central, &all).await.map_err(|e| e.to_string());
                for request in batch {
                    let _ = request.done.send(written.clone());
                }
            }
        });
        Self { requests, writer }
    }

    /// Stores `rows`, returning once they are in the ledger (or why not).
    pub(super) async fn record(&self, rows: Vec<Row>) -> Result<(), String> {
        if rows.is_empty() {
            return Ok(());
        }
        let (done, written) = oneshot::channel();
        self.requests
            .send(Request { rows, done })
            .map_err(|_| "the ledger writer stopped".to_owned())?;
        written
            .await
            .unwrap_or_else(|_| Err("the ledger writer stopped".to_owned()))
    }

    /// Waits for every pending write.
    pub(super) async fn finish(self) {
        drop(self.requests);
        let _ = self.writer.await;
    }
}

async fn write(central: &DataStore, rows: &[&Row]) -> Result<(), DataError> {
    let at = super::now();
    for chunk in rows.chunks(BATCH_ROWS) {
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new(LEDGER))
            .columns(
                [
                    "placement",
                    "version",
                    "description",
                    "checksum",
                    "applied_at",
                ]
                .map(Alias::new),
            )
            .on_conflict(
                OnConflict::columns([Alias::new("placement"), Alias::new("version")])
                    .do_nothing_on([Alias::new("placement")])
                    .to_owned(),
            );
        for row in chunk {
            insert.values_panic([
                row.placement.as_str().into(),
                row.version.into(),
                row.description.as_str().into(),
                row.checksum.as_str().into(),
                at.as_str().into(),
            ]);
        }
        dispatch!(central.pool(), |pool| insert_on(pool, &insert).await)?;
    }
    Ok(())
}

async fn insert_on<D: Driver>(
    pool: &sqlx::Pool<D>,
    insert: &sea_query::InsertStatement,
) -> Result<(), DataError> {
    let (sql, values) = D::build(insert);
    query::<D, _>(sql, values).execute(D::on_pool(pool)).await?;
    Ok(())
}
