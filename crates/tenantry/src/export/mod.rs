//! Export and import one tenant's rows: the work behind `tenantry sql export-tenant` and
//! `tenantry sql import-tenant`, independent of any command line.
//!
//! - [`export_table`] streams one table's rows of one tenant as a JSON array (or NDJSON) to any
//!   writer, in constant memory: rows are fetched with a `sqlx` stream and written as they
//!   arrive. [`export_table_to_path`] does the same into a file that appears only when complete
//!   (temporary file in the same directory, renamed on success).
//! - [`export_all_tables`] writes every table that has the tenant field, one file each, plus a
//!   [`Manifest`] (tables, row counts, SHA-256 per file, each table's [`TableDefinition`], tool
//!   version, time), into a directory that likewise appears only when complete.
//! - [`import`] with [`ImportOptions::create_tables`] creates the tables a directory's manifest
//!   defines that the target lacks, on any backend (see [`TableDefinition`] for how types map
//!   between SQLite, PostgreSQL and MariaDB): a restore into a fresh database.
//! - [`import`] loads a file or an exported directory back in **one transaction**, refusing rows
//!   of another tenant, optionally rewriting the tenant (clone), and checking counts and
//!   checksums before it commits.
//!
//! Names: the table and the tenant field are [`Ident`]s (checked before any SQL runs); every
//! other name comes from the database's own catalog and is checked the same way; values are
//! always bound. The caller hands in the raw pool from
//! [`DataStore::unscoped_admin`](crate::data::DataStore::unscoped_admin), which logs the access.
//!
//! # Values
//!
//! | database type | JSON |
//! |---|---|
//! | integers, floats | numbers (`NaN`, `Infinity`, `-Infinity` as strings) |
//! | booleans (MariaDB/MySQL `tinyint(1)`, SQLite declared `BOOLEAN`) | `true` / `false` |
//! | text, enums, uuid | strings |
//! | decimal / numeric | strings, exactly as the database prints them |
//! | `timestamptz`, MariaDB/MySQL `timestamp` | RFC 3339 in UTC, `2024-05-06T07:08:09.123456Z` |
//! | `timestamp`, `datetime` (no zone), SQLite declared `TIMESTAMP`/`DATETIME` | the same: zone-less values are read as UTC, as the data layer writes them |
//! | date, time | `2024-05-06`, `07:08:09.5` |
//! | bytes (`bytea`, `blob`, `binary`; SQLite: any value of a column declared `BLOB`) | base64 (standard alphabet, padded) |
//! | `json`, `jsonb`, MariaDB JSON, SQLite declared `JSON` | the JSON value itself, as stored (a `json` column's key order and spacing kept); a JSON `null` as `{"$json":null}`, and an object whose only key is `$json` wrapped the same way (a bare `null` is SQL `NULL`) |
//! | anything else on PostgreSQL (arrays, intervals, domains, ranges, ...) | the database's text form |
//! | SQLite | by each value's storage class, refined by the declared type (`BOOLEAN`, `JSON`, `BLOB`, `TIMESTAMP`) |
//!
//! Fractions of a second have 0, 3 or 6 digits (9 where the database keeps nanoseconds), on
//! every backend alike. Export → import → export gives the same bytes, on one backend and
//! between any two for the column types above (a table with the same columns in the same
//! order on both; a decimal on SQLite is a `TEXT` column), with these limits: what a type
//! cannot hold does not move (MariaDB has no `NaN` or infinite floats and no timestamps
//! before 1970 in `TIMESTAMP`; `jsonb` and MySQL 8's JSON normalise key order and spacing;
//! a SQLite `JSON` column stores a document that is a bare number as a number, in SQLite's
//! spelling).
//!
//! # Import checks every value
//!
//! Before anything is written, each value is checked against its column's type on every
//! backend (SQLite would store `"not a number"` in an integer column): integers, floats,
//! decimals, booleans, strings, base64, UUIDs, RFC 3339 timestamps (or zone-less ones, read as
//! UTC), dates and times. A value that does not fit refuses the import with its row number and
//! column: `row 2 of items.json is refused: column `price_cents` must be an integer, not "not
//! a number"; nothing was imported`. Types the database checks itself (PostgreSQL arrays,
//! intervals and enums, MariaDB `ENUM`, `SET`, `TIME`, `YEAR`) are left to it.
//!
//! Rows are ordered by primary key; a SQLite table without one by `rowid`; a PostgreSQL or
//! MariaDB table without a primary key is exported in the order the database returns (the
//! manifest records `order_by: []`).

pub(crate) mod create;
mod definition;
pub(crate) mod encode;
mod file;
pub(crate) mod import;
mod manifest;
pub(crate) mod schema;

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
};

use serde::Serialize;
use sqlx::Pool;

pub use definition::{ColumnDefinition, PortableDefault, PortableType, TableDefinition};
pub use file::{AtomicFile, OutputFile, TEMP_MARKER};
pub use import::{IdPolicy, ImportOptions, ImportSource, ImportSummary, TableImport, import};
pub use manifest::{MANIFEST_FILE, Manifest, ManifestTable};

use crate::{
    data::{AdminPool, Ident},
    driver::{Driver, dispatch},
};

/// The version recorded in manifests: `tenantry <version>`.
pub const TOOL_VERSION: &str = concat!("tenantry ", env!("CARGO_PKG_VERSION"));

/// How rows are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON array of row objects, one row per line, and a trailing newline.
    #[default]
    Json,
    /// One JSON object per line (newline-delimited JSON).
    Ndjson,
}

impl Format {
    /// The file extension: `json` or `ndjson`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Ndjson => "ndjson",
        }
    }
}

/// What happens while rows move: implemented by the command line with a progress bar on a
/// terminal, and by [`NoProgress`] everywhere else. Called from the task doing the work, at
/// most every 4096 rows, so an implementation may be slow-ish but should never block.
pub trait Reporter: Send + Sync {
    /// Work on `table` starts.
    fn start(&self, table: &str) {
        let _ = table;
    }

    /// `done` rows of the current table are through so far.
    fn rows(&self, done: u64) {
        let _ = done;
    }

    /// The current table is complete with `rows` rows.
    fn finish(&self, table: &str, rows: u64) {
        let _ = (table, rows);
    }
}

/// Rows between two [`Reporter::rows`] calls.
pub(crate) const REPORT_EVERY: u64 = 4096;

/// A [`Reporter`] that reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Reporter for NoProgress {}

/// What went wrong. Every message is one line and never contains SQL or a URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// The table does not exist (or is not a table).
    #[error("table `{0}` does not exist")]
    UnknownTable(String),
    /// The table has no such column.
    #[error("table `{table}` has no column `{column}`")]
    UnknownColumn {
        /// The table.
        table: String,
        /// The missing column.
        column: String,
    },
    /// Something the database holds that this tool cannot carry (a name that is not a plain
    /// identifier, a type it cannot bind).
    #[error("{0}")]
    Unsupported(String),
    /// The input was refused: a row of another tenant, a count or checksum that does not match.
    /// Nothing was imported.
    #[error("{0}")]
    Refused(String),
    /// The input file is not a tenantry export (bad JSON, not objects, missing manifest).
    #[error("{0}")]
    Input(String),
    /// The output cannot be written where asked.
    #[error("{0}")]
    Output(String),
    /// No table has the tenant field (`--all-tables`).
    #[error("no table in this database has a column `{0}`")]
    NoTables(String),
    /// The database failed; the message is the database's own, on one line.
    #[error("{}", database_message(.0))]
    Database(sqlx::Error),
    /// Reading or writing failed.
    #[error("{context}: {cause}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        cause: io::Error,
    },
}

impl From<sqlx::Error> for ExportError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

/// One line: the server's message for errors it reports, else the driver's.
fn database_message(e: &sqlx::Error) -> String {
    let one_line = |s: String| s.lines().next().unwrap_or_default().to_owned();
    match e {
        sqlx::Error::Database(db) => one_line(format!("the database refused: {}", db.message())),
        sqlx::Error::PoolTimedOut => "the database did not answer in time".to_owned(),
        other => one_line(format!("database error: {other}")),
    }
}

impl ExportError {
    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> Self {
        let context = context.into();
        move |cause| Self::Io { context, cause }
    }

    /// Whether this is a broken pipe on the output (the reader went away: `| head`).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Self::Io { cause, .. } if cause.kind() == io::ErrorKind::BrokenPipe)
    }
}

/// One table of one tenant to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// The table.
    pub table: Ident,
    /// The column holding the tenant (default `tenant_id`).
    pub tenant_field: Ident,
    /// The tenant whose rows are exported (compared with `=` to the tenant field, bound).
    pub tenant: String,
    /// At most this many rows (by primary key); `None` for all.
    pub limit: Option<u64>,
    /// Layout.
    pub format: Format,
}

impl ExportRequest {
    /// All rows of `tenant` in `table`, tenant field `tenant_id`, as a JSON array.
    pub fn new(table: Ident, tenant: impl Into<String>) -> Self {
        Self {
            table,
            tenant_field: Ident::new("tenant_id").expect("a plain identifier"),
            tenant: tenant.into(),
            limit: None,
            format: Format::Json,
        }
    }
}

/// What an export wrote for one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TableExport {
    /// The table.
    pub table: String,
    /// Rows written.
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// The columns the rows are ordered by (empty: database order).
    pub order_by: Vec<String>,
}

/// Streams `req`'s rows into `out` (which should be buffered) and flushes it.
///
/// The table and the tenant field are looked up in the database's catalog first, so an unknown
/// name is [`ExportError::UnknownTable`] / [`ExportError::UnknownColumn`] before any row query
/// runs. Nothing is written before that check passes.
pub async fn export_table<W: Write>(
    pool: &AdminPool,
    req: &ExportRequest,
    out: W,
    reporter: &dyn Reporter,
) -> Result<TableExport, ExportError> {
    dispatch!(pool.any(), |pool| {
        let (table, field) = described(pool, req).await?;
        encode::export(pool, &table, &field, req, out, reporter).await
    })
}

/// The table of `req` and its tenant field, from the database's catalog.
async fn described<D: Driver>(
    pool: &Pool<D>,
    req: &ExportRequest,
) -> Result<(schema::TableInfo, schema::ColumnInfo), ExportError> {
    let table = schema::describe(pool, &req.table).await?;
    let field = table.column(&req.tenant_field)?.clone();
    Ok((table, field))
}

/// [`export_table`] into the file `path`, atomically: the rows go to a temporary file next to
/// it (named `.NAME.tenantry-tmp-PID`), which is renamed to `path` only once complete and
/// flushed to disk. On any error, or if the future is dropped, the temporary file is removed
/// and `path` is left as it was. A temporary file left by a killed process is removed by the
/// next export to the same path.
///
/// A path that is not a regular file is never replaced ([`OutputFile`]): a character device
/// (`/dev/null`) or a FIFO is written straight into, as `cp` does; a directory, a socket or a
/// block device is [`ExportError::Output`] before any row is read.
pub async fn export_table_to_path(
    pool: &AdminPool,
    req: &ExportRequest,
    path: &Path,
    reporter: &dyn Reporter,
) -> Result<TableExport, ExportError> {
    dispatch!(pool.any(), |pool| {
        let (table, field) = described(pool, req).await?;
        let mut file = OutputFile::open(path).await?;
        let done = {
            let out = io::BufWriter::with_capacity(256 * 1024, file.file());
            encode::export(pool, &table, &field, req, out, reporter).await?
        };
        file.commit()
            .map_err(ExportError::io(format!("cannot write {}", path.display())))?;
        Ok(done)
    })
}

/// Every table of the current schema / database that has `req.tenant_field`, exported for
/// `req.tenant` into the directory `dir`: `TABLE.json` (or `.ndjson`) each and
/// [`MANIFEST_FILE`]. `req.table` is ignored.
///
/// The directory is written under a temporary name next to `dir` and renamed once complete; `dir`
/// must not exist or be empty. Tables whose name is not a plain identifier are skipped and listed
/// in [`Manifest::skipped`].
pub async fn export_all_tables(
    pool: &AdminPool,
    req: &ExportRequest,
    dir: &Path,
    reporter: &dyn Reporter,
) -> Result<Manifest, ExportError> {
    dispatch!(pool.any(), |pool| all_tables(pool, req, dir, reporter)
        .await)
}

async fn all_tables<D: Driver>(
    pool: &Pool<D>,
    req: &ExportRequest,
    dir: &Path,
    reporter: &dyn Reporter,
) -> Result<Manifest, ExportError> {
    let (names, skipped) = schema::tables_with(pool, &req.tenant_field).await?;
    if names.is_empty() {
        return Err(ExportError::NoTables(req.tenant_field.to_string()));
    }
    let mut described = Vec::with_capacity(names.len());
    for name in &names {
        let table = schema::describe(pool, name).await?;
        let field = table.column(&req.tenant_field)?.clone();
        described.push((table, field));
    }
    let out = file::AtomicDir::create(dir)?;
    let mut manifest = Manifest::new(req, D::BACKEND.name());
    manifest.skipped = skipped;
    for (table, field) in &described {
        let file_name = format!("{}.{}", table.name, req.format.extension());
        let path = out.path().join(&file_name);
        let f = std::fs::File::create(&path)
            .map_err(ExportError::io(format!("cannot create {}", path.display())))?;
        let mut hashed = file::Sha256Writer::new(f);
        let per_table = ExportRequest {
            table: table.name.clone(),
            ..req.clone()
        };
        let done = {
            let out = io::BufWriter::with_capacity(256 * 1024, &mut hashed);
            encode::export(pool, table, field, &per_table, out, reporter).await?
        };
        let (f, sha256) = hashed.finish();
        f.sync_all()
            .map_err(ExportError::io(format!("cannot write {}", path.display())))?;
        manifest.tables.push(ManifestTable {
            table: done.table,
            file: file_name,
            rows: done.rows,
            bytes: done.bytes,
            sha256,
            order_by: done.order_by,
            definition: Some(TableDefinition::of::<D>(table)),
        });
    }
    manifest.write(out.path())?;
    out.commit()?;
    Ok(manifest)
}

/// `path` made absolute against the working directory (for messages and sibling temp names).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
