//! The import's transaction, written once for every driver: describe each table, then for
//! each, batches in, the driver's after-step, counts and checksums; commit only if all hold.

use sqlx::Pool;

use super::{Feed, ImportOptions, Job, TableImport};
use crate::{
    driver::Driver,
    export::{ExportError, Reporter, schema},
};

pub(super) async fn load<D: Driver>(
    pool: &Pool<D>,
    jobs: &[Job],
    opts: &ImportOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<TableImport>, ExportError> {
    let mut tables = Vec::with_capacity(jobs.len());
    for job in jobs {
        let info = schema::describe(pool, &job.table).await?;
        if !info.is_table {
            return Err(ExportError::Unsupported(format!(
                "`{}` is a view; rows can only be imported into a table",
                job.table
            )));
        }
        info.column(&job.tenant_field)?;
        tables.push(info);
    }
    let mut tx = pool.begin().await?;
    let mut done = Vec::with_capacity(jobs.len());
    for (job, info) in jobs.iter().zip(&tables) {
        let mut feed = Feed::open(job, info, opts, D::import_kind)?;
        reporter.start(info.name.as_str());
        let mut inserted = 0;
        loop {
            let batch = feed.next_batch(D::import_batch(feed.width()))?;
            if batch.is_empty() {
                break;
            }
            if feed.targets.is_empty() {
                return Err(ExportError::Input(format!(
                    "{}: the rows have no column that can be inserted into `{}`",
                    feed.reader.name, feed.info.name
                )));
            }
            inserted += D::insert_batch(&mut tx, &feed, batch).await?;
            reporter.rows(inserted);
        }
        D::after_import(&mut tx, &feed).await?;
        done.push(feed.finish(inserted, reporter)?);
    }
    tx.commit().await?;
    Ok(done)
}
