//! The import's transaction, written once for every driver: the missing tables created (with
//! `create_tables`), each table described, then for each, batches in, the driver's after-step,
//! counts and checksums; commit only if all hold.

use sqlx::Pool;

use super::{Feed, ImportOptions, Job, TableImport};
use crate::{
    driver::{Driver, SqlText},
    export::{ExportError, Reporter, create::create_table_sql, schema},
};

pub(super) async fn load<D: Driver>(
    pool: &Pool<D>,
    jobs: &[Job],
    opts: &ImportOptions,
    reporter: &dyn Reporter,
) -> Result<Vec<TableImport>, ExportError> {
    let collation = if opts.create_tables {
        D::exact_collation(pool)
            .await
            .map_err(|e| ExportError::Unsupported(e.to_string()))?
    } else {
        None
    };
    // Where `CREATE TABLE` commits (MariaDB), the missing tables are made before the
    // transaction starts (a transaction cannot use a table created after its snapshot), and
    // dropped again if the import fails: nothing is left either way.
    let mut made = Vec::new();
    let mut result = Ok(());
    if opts.create_tables && !D::TRANSACTIONAL_DDL {
        let mut conn = pool.acquire().await?;
        for job in jobs {
            match create_missing::<D>(&mut conn, job, collation).await {
                Ok(true) => made.push(job),
                Ok(false) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
    }
    let result = match result {
        Ok(()) => transact(pool, jobs, opts, reporter, collation).await,
        Err(e) => Err(e),
    };
    if result.is_err() {
        for job in made.iter().rev() {
            let sql = SqlText::<D>::new("DROP TABLE IF EXISTS ").ident(&job.table);
            if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.into_string()))
                .execute(D::on_pool(pool))
                .await
            {
                tracing::warn!(
                    table = %job.table,
                    error = %e,
                    "the import failed and the table it created could not be dropped"
                );
            }
        }
    }
    result
}

/// Creates `job`'s table from its definition if it does not exist; whether it did so.
async fn create_missing<D: Driver>(
    conn: &mut D::Connection,
    job: &Job,
    collation: Option<&'static str>,
) -> Result<bool, ExportError> {
    match schema::describe_on::<D>(conn, &job.table).await {
        Ok(_) => Ok(false),
        Err(ExportError::UnknownTable(_)) => {
            let Some((definition, from)) = &job.definition else {
                return Err(ExportError::Input(format!(
                    "table `{}` does not exist, and the export has no definition to create it \
                     from",
                    job.table
                )));
            };
            let statements =
                create_table_sql::<D>(&job.table, &job.tenant_field, definition, from, collation)?;
            for statement in statements {
                sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
                    .execute(D::on_conn(conn))
                    .await?;
            }
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

async fn transact<D: Driver>(
    pool: &Pool<D>,
    jobs: &[Job],
    opts: &ImportOptions,
    reporter: &dyn Reporter,
    collation: Option<&'static str>,
) -> Result<Vec<TableImport>, ExportError> {
    let mut tx = pool.begin().await?;
    let mut tables = Vec::with_capacity(jobs.len());
    for job in jobs {
        if opts.create_tables && D::TRANSACTIONAL_DDL {
            create_missing::<D>(&mut tx, job, collation).await?;
        }
        let info = match schema::describe_on::<D>(&mut tx, &job.table).await {
            Err(ExportError::UnknownTable(t)) if job.definition.is_some() => {
                return Err(ExportError::Refused(format!(
                    "table `{t}` does not exist (--create-tables creates it from the \
                     export's manifest); nothing was imported"
                )));
            }
            other => other?,
        };
        if !info.is_table {
            return Err(ExportError::Unsupported(format!(
                "`{}` is a view; rows can only be imported into a table",
                job.table
            )));
        }
        info.column(&job.tenant_field)?;
        tables.push(info);
    }
    let mut done = Vec::with_capacity(jobs.len());
    for (job, info) in jobs.iter().zip(&tables) {
        let mut feed = Feed::open(job, info, opts, D::import_kind)?;
        reporter.start(info.name.as_str());
        let inserted = D::insert_rows(&mut tx, &mut feed, reporter).await?;
        D::after_import(&mut tx, &feed).await?;
        done.push(feed.finish(inserted, reporter)?);
    }
    tx.commit().await?;
    Ok(done)
}

/// Every row of `feed` into its table on `conn`, in multi-row `INSERT`s of
/// [`import_batch`](crate::driver::sealed::ImportRows::import_batch) rows (SQLite, MariaDB;
/// PostgreSQL where `COPY` cannot be used); how many went in.
pub(crate) async fn batched<D: Driver>(
    conn: &mut D::Connection,
    feed: &mut Feed<'_>,
    reporter: &dyn Reporter,
) -> Result<u64, ExportError> {
    let mut inserted = 0;
    loop {
        let batch = feed.next_batch(D::import_batch(feed.width()))?;
        if batch.is_empty() {
            break;
        }
        feed.has_columns()?;
        inserted += D::insert_batch(conn, feed, batch).await?;
        reporter.rows(inserted);
    }
    Ok(inserted)
}
