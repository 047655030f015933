//! Group commit: the concurrent writes of one SQLite database, committed together.
//!
//! SQLite lets one connection write at a time, and with `synchronous = FULL` (SQLite's
//! default, which tenantry keeps) every commit waits until the write-ahead log is on disk.
//! Written one by one, concurrent writes queue for the lock and pay that wait each. Here one
//! writer task per database takes every write waiting at that moment (up to a batch cap) and
//! commits them in one transaction:
//!
//! - the batch runs in `BEGIN IMMEDIATE` on one connection, each write behind its own
//!   savepoint: a write that fails (a unique violation, a missing value) is rolled back to its
//!   savepoint and answered with its own error (409, 422), and the others are committed;
//! - each write is answered only after the commit holding it returned, so an acknowledged write
//!   is committed, as durable as a commit of that database is (WAL with `synchronous = FULL`:
//!   on disk); when the commit fails, every write of the batch is answered 503 and none is
//!   acknowledged (a write may then be in the database unacknowledged, as when a process dies
//!   between commit and answer);
//! - a write that finds no other waiting runs alone, in autocommit, as it would on the pool;
//! - the queue is bounded ([`QUEUE`] writes): a write that finds it full waits for room up to
//!   the pool's acquire timeout, then is 503; memory does not grow with the load;
//! - a write whose caller has gone away (a dropped request) before its batch starts is not run;
//! - the writer takes one connection of the pool when writes arrive and keeps it while more
//!   are waiting; reads keep using the pool's other connections and, in WAL mode, never wait
//!   for the writer;
//! - the writer starts with the first write and ends when its pool is closed (writes still
//!   waiting then are answered 503) or dropped.
//!
//! Caveat: a constraint SQLite checks only at commit (a foreign key declared `DEFERRABLE
//! INITIALLY DEFERRED`, or `PRAGMA defer_foreign_keys`) fails the whole batch (503), not
//! only the write that broke it. Tenantry's own tables declare none.

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{
    mpsc::{self, error::TrySendError},
    oneshot,
};

use crate::{
    data::DataError,
    driver::{GroupCommitStats, Write, Written, query},
};

/// Most writes committed in one transaction.
pub(crate) const MAX_BATCH: usize = 64;
/// Most writes waiting for the writer.
pub(crate) const QUEUE: usize = 1024;

/// The group-commit writer of one SQLite database (its pool). Cheap to clone; clones share the
/// writer. See the [module docs](self).
#[derive(Clone)]
pub(crate) struct GroupCommit(Arc<Shared>);

struct Shared {
    pool: SqlitePool,
    /// How long a write waits for room in a full queue.
    wait: Duration,
    /// The writer's queue, once started (again, if its runtime went away).
    queue: Mutex<Option<mpsc::Sender<Job>>>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

/// A write and where its outcome goes.
struct Job {
    write: Write,
    reply: oneshot::Sender<Result<Written<Sqlite>, DataError>>,
}

type Outcome = Result<Written<Sqlite>, DataError>;

#[derive(Default)]
struct Counters {
    batches: AtomicU64,
    writes: AtomicU64,
    largest: AtomicU64,
}

impl GroupCommit {
    /// The writer of `pool`'s writes (started by the first one); a write waits at most `wait`
    /// for room in the queue.
    pub(crate) fn new(pool: SqlitePool, wait: Duration) -> Self {
        Self(Arc::new(Shared {
            pool,
            wait,
            queue: Mutex::new(None),
            counters: Arc::default(),
        }))
    }

    /// Runs `write` in the writer's next transaction; answers once that transaction committed
    /// (or failed).
    pub(crate) async fn write(&self, write: Write) -> Outcome {
        let queue = self.queue()?;
        let (reply, answer) = oneshot::channel();
        match queue.try_send(Job { write, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(job)) => {
                match tokio::time::timeout(self.0.wait, queue.send(job)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Err(closed()),
                    Err(_) => return Err(DataError::Unavailable(sqlx::Error::PoolTimedOut)),
                }
            }
            Err(TrySendError::Closed(_)) => return Err(closed()),
        }
        // No answer: the writer stopped (its runtime ended) before the write's commit returned.
        answer
            .await
            .unwrap_or_else(|_| Err(DataError::Unavailable(sqlx::Error::WorkerCrashed)))
    }

    /// What the writer did so far.
    pub(crate) fn stats(&self) -> GroupCommitStats {
        let c = &self.0.counters;
        GroupCommitStats {
            batches: c.batches.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            largest_batch: c.largest.load(Ordering::Relaxed),
        }
    }

    /// The writer's queue, starting the writer if it is not running.
    fn queue(&self) -> Result<mpsc::Sender<Job>, DataError> {
        let mut slot = self.0.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(queue) = slot.as_ref().filter(|q| !q.is_closed()) {
            return Ok(queue.clone());
        }
        if self.0.pool.is_closed() {
            return Err(closed());
        }
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(writer(
            self.0.pool.clone(),
            jobs,
            Arc::clone(&self.0.counters),
        ));
        *slot = Some(queue.clone());
        Ok(queue)
    }
}

fn closed() -> DataError {
    DataError::Unavailable(sqlx::Error::PoolClosed)
}

/// The writer task: batches until the pool closes or every handle is dropped.
async fn writer(pool: SqlitePool, mut jobs: mpsc::Receiver<Job>, counters: Arc<Counters>) {
    let closing = pool.close_event();
    tokio::pin!(closing);
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    let mut held = None;
    loop {
        tokio::select! {
            biased;
            () = &mut closing => break,
            n = jobs.recv_many(&mut batch, MAX_BATCH) => if n == 0 { break },
        }
        batch.retain(|job| !job.reply.is_closed());
        if batch.is_empty() {
            continue;
        }
        let mut conn = match held.take() {
            Some(conn) => conn,
            None => match pool.acquire().await {
                Ok(conn) => conn,
                Err(e) => {
                    fail(batch.drain(..).map(|j| j.reply), &Arc::new(e));
                    continue;
                }
            },
        };
        let taken = batch.len() as u64;
        let committed = commit(&mut conn, &mut batch).await;
        if let Some(committed) = committed {
            counters.batches.fetch_add(1, Ordering::Relaxed);
            counters.writes.fetch_add(committed, Ordering::Relaxed);
            counters.largest.fetch_max(taken, Ordering::Relaxed);
        }
        // Keep the connection while writes are waiting; else give it back to the pool.
        if !jobs.is_empty() {
            held = Some(conn);
        }
    }
    drop(held);
    jobs.close();
    while let Ok(job) = jobs.try_recv() {
        let _ = job.reply.send(Err(closed()));
    }
}

/// Runs and commits `batch` (emptying it), answering each write; how many writes were
/// committed, `None` if the transaction was not.
async fn commit(conn: &mut SqliteConnection, batch: &mut Vec<Job>) -> Option<u64> {
    if batch.len() == 1 {
        let Job { write, reply } = batch.pop()?;
        let outcome = run(write, conn, false).await.map_err(DataError::from);
        let ok = outcome.is_ok();
        let _ = reply.send(outcome);
        return ok.then_some(1);
    }
    let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            fail(batch.drain(..).map(|j| j.reply), &Arc::new(e));
            return None;
        }
    };
    // Each write's outcome; `None`: not run (its transaction was gone first).
    let mut ran: Vec<(oneshot::Sender<Outcome>, Option<Outcome>)> = Vec::with_capacity(batch.len());
    // Set when the transaction itself is gone (SQLite rolls it back on I/O errors, a full
    // disk): nothing of it will be committed.
    let mut lost = None;
    for Job { write, reply } in batch.drain(..) {
        if lost.is_some() {
            ran.push((reply, None));
            continue;
        }
        match run(write, &mut tx, true).await {
            Ok(written) => ran.push((reply, Some(Ok(written)))),
            Err(e) => {
                // The write, or its savepoint (if the transaction is gone): back to before it.
                if let Err(gone) = sqlx::query("ROLLBACK TO w").execute(&mut *tx).await {
                    lost = Some(gone);
                }
                ran.push((reply, Some(Err(DataError::from(e)))));
            }
        }
    }
    let failed = match lost {
        Some(e) => Some(Arc::new(e)),
        None => tx.commit().await.err().map(Arc::new),
    };
    let mut committed = 0;
    for (reply, outcome) in ran {
        // A write that failed on its own keeps its own answer; the others of a batch whose
        // transaction failed are not acknowledged.
        let outcome = match (&failed, outcome) {
            (None, Some(outcome)) => {
                committed += u64::from(outcome.is_ok());
                outcome
            }
            (Some(_), Some(Err(own))) => Err(own),
            (Some(e), _) => Err(batch_failed(e)),
            (None, None) => Err(closed()),
        };
        let _ = reply.send(outcome);
    }
    failed.is_none().then_some(committed)
}

/// Runs one write on `conn` (prepared once per connection and reused), behind a new savepoint
/// `w` if `savepoint`. A `RETURNING` write and its savepoint are one statement text, so one
/// round trip to the connection's thread; a counting write runs its savepoint first (SQLite's
/// count of changed rows after a `SAVEPOINT` is the previous statement's, which a combined
/// text would add in).
async fn run(
    write: Write,
    conn: &mut SqliteConnection,
    savepoint: bool,
) -> Result<Written<Sqlite>, sqlx::Error> {
    let returning = write.is_returning();
    let (sql, values) = write.into_parts();
    if returning {
        let sql = if savepoint {
            format!("SAVEPOINT w; {sql}")
        } else {
            sql
        };
        return query::<Sqlite, _>(sql, values)
            .fetch_optional(conn)
            .await
            .map(Written::Row);
    }
    if savepoint {
        sqlx::query("SAVEPOINT w").execute(&mut *conn).await?;
    }
    let done = query::<Sqlite, _>(sql, values).execute(conn).await?;
    Ok(Written::Changed(done.rows_affected()))
}

/// Answers every reply with the failure of the batch's transaction.
fn fail(replies: impl Iterator<Item = oneshot::Sender<Outcome>>, e: &Arc<sqlx::Error>) {
    for reply in replies {
        let _ = reply.send(Err(batch_failed(e)));
    }
}

/// A write of a batch whose transaction could not begin or commit: 503, the cause kept as the
/// error's source for logs.
fn batch_failed(e: &Arc<sqlx::Error>) -> DataError {
    DataError::Unavailable(sqlx::Error::Io(std::io::Error::other(BatchFailed(
        Arc::clone(e),
    ))))
}

/// The transaction of a write's batch failed.
#[derive(Debug, thiserror::Error)]
#[error("the transaction of this write's batch failed")]
struct BatchFailed(#[source] Arc<sqlx::Error>);
