//! Exports back into tables: one transaction, rows of another tenant refused, the tenant
//! optionally rewritten, counts and checksums checked before the commit.
//!
//! - `reader.rs` reads row objects from a JSON array or NDJSON, hashing every byte, each into
//!   the one `row.rs` buffer of keys and value texts;
//! - `feed.rs` checks each row (tenant, columns) and rewrites it (tenant, ids);
//! - `check.rs` checks each value against its column's type (the driver says which) and
//!   converts it for binding;
//! - `load.rs` runs the transaction, once for every driver, creating missing tables from the
//!   manifest's definitions when asked (`export/create.rs`); each driver's `import.rs` inserts
//!   a batch its own way.

pub(crate) mod check;
mod feed;
mod load;
mod reader;
mod row;

use std::path::PathBuf;

use serde::Serialize;

pub(crate) use feed::Feed;
pub(crate) use load::batched;

use super::{ExportError, MANIFEST_FILE, Manifest, Reporter, TableDefinition};
use crate::{
    data::{AdminPool, Ident},
    driver::dispatch,
};

/// Where the rows come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ImportSource {
    /// One table's export (JSON array or NDJSON), from a file or, with `None`, standard input.
    Table {
        /// The table to load into.
        table: Ident,
        /// The column holding the tenant.
        tenant_field: Ident,
        /// The file; `None` reads standard input.
        input: Option<PathBuf>,
    },
    /// A directory written by [`export_all_tables`](super::export_all_tables): every table in
    /// its manifest, in manifest order, each file's row count and SHA-256 checked.
    Directory(PathBuf),
}

/// How the import treats tenants and ids.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The tenant every row must belong to; a row of any other tenant refuses the import.
    pub tenant: String,
    /// Write the rows under this tenant instead (clone a tenant).
    pub as_tenant: Option<String>,
    /// Keep database-assigned ids even with `as_tenant` (by default they are left out, so the
    /// database assigns new ones and a clone into the same table does not collide).
    pub keep_ids: bool,
    /// Create the tables that do not exist, from the definitions in the directory's manifest
    /// (see [`TableDefinition`](super::TableDefinition)); in the import's transaction where
    /// the backend allows it (SQLite, PostgreSQL), else just before it and dropped again if
    /// the import fails (MariaDB / MySQL, where `CREATE TABLE` commits). Only for an
    /// [`ImportSource::Directory`]: a single table's file carries no definition.
    pub create_tables: bool,
}

impl ImportOptions {
    /// Rows of `tenant`, imported as they are.
    pub fn new(tenant: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            as_tenant: None,
            keep_ids: false,
            create_tables: false,
        }
    }

    pub(crate) fn omit_ids(&self) -> bool {
        self.as_tenant.is_some() && !self.keep_ids
    }
}

/// What happened to a table's database-assigned ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdPolicy {
    /// Inserted as exported.
    Kept,
    /// Left out: the database assigned new ones.
    New,
}

/// One table's import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct TableImport {
    /// The table.
    pub table: String,
    /// Rows inserted.
    pub rows: u64,
    /// What happened to its generated id column (`None`: it has none).
    pub ids: Option<IdPolicy>,
    /// The file it came from (`None`: standard input).
    pub file: Option<String>,
    /// The SHA-256 of the input, lowercase hex.
    pub sha256: String,
}

/// What an import did; all of it was committed together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImportSummary {
    /// The tenant the rows belonged to in the export.
    pub tenant_id: String,
    /// The tenant they were written under.
    pub imported_as: String,
    /// Rows inserted, all tables.
    pub rows: u64,
    /// Per table, in import order.
    pub tables: Vec<TableImport>,
}

/// One table to load.
pub(crate) struct Job {
    pub(crate) table: Ident,
    pub(crate) tenant_field: Ident,
    pub(crate) input: Option<PathBuf>,
    /// Rows and SHA-256 from the manifest.
    pub(crate) expected: Option<(u64, String)>,
    /// The table's definition from the manifest, and the backend it was read on.
    pub(crate) definition: Option<(TableDefinition, String)>,
}

/// Loads `source` in one transaction. Nothing is committed unless every row belongs to
/// `opts.tenant`, every row went in, and (for a directory) every file matches its manifest
/// entry; otherwise the transaction is rolled back and the error says why.
///
/// Input is read synchronously, through a buffer, between batched inserts.
pub async fn import(
    pool: &AdminPool,
    source: ImportSource,
    opts: &ImportOptions,
    reporter: &dyn Reporter,
) -> Result<ImportSummary, ExportError> {
    let jobs = plan(source, opts)?;
    let done = dispatch!(pool.any(), |pool| load::load(pool, &jobs, opts, reporter)
        .await?);
    Ok(ImportSummary {
        tenant_id: opts.tenant.clone(),
        imported_as: opts
            .as_tenant
            .clone()
            .unwrap_or_else(|| opts.tenant.clone()),
        rows: done.iter().map(|t| t.rows).sum(),
        tables: done,
    })
}

fn plan(source: ImportSource, opts: &ImportOptions) -> Result<Vec<Job>, ExportError> {
    if opts.create_tables && matches!(source, ImportSource::Table { .. }) {
        return Err(ExportError::Input(
            "--create-tables needs an export directory (`export-tenant --all-tables`), whose \
             manifest carries the table definitions; one table's file has none"
                .to_owned(),
        ));
    }
    Ok(match source {
        ImportSource::Table {
            table,
            tenant_field,
            input,
        } => vec![Job {
            table,
            tenant_field,
            input,
            expected: None,
            definition: None,
        }],
        ImportSource::Directory(dir) => {
            let manifest = Manifest::read(&dir)?;
            if manifest.tenant_id != opts.tenant {
                return Err(ExportError::Refused(format!(
                    "{} holds tenant {:?}, not {:?}; nothing was imported",
                    dir.display(),
                    manifest.tenant_id,
                    opts.tenant
                )));
            }
            let field = Ident::new(&manifest.tenant_field)
                .map_err(|e| ExportError::Input(format!("{MANIFEST_FILE}: tenant field: {e}")))?;
            if opts.create_tables
                && let Some(t) = manifest.tables.iter().find(|t| t.definition.is_none())
            {
                return Err(ExportError::Input(format!(
                    "--create-tables: {} has no definition of table `{}` (it was written by \
                     {}, before exports carried table definitions); create the tables first \
                     and import without --create-tables, or export the tenant again",
                    dir.join(MANIFEST_FILE).display(),
                    t.table,
                    manifest.tool
                )));
            }
            manifest
                .tables
                .iter()
                .map(|t| {
                    Ok(Job {
                        table: Ident::new(&t.table).map_err(|e| {
                            ExportError::Input(format!("{MANIFEST_FILE}: table: {e}"))
                        })?,
                        tenant_field: field.clone(),
                        input: Some(dir.join(&t.file)),
                        expected: Some((t.rows, t.sha256.clone())),
                        definition: t.definition.clone().map(|d| (d, manifest.backend.clone())),
                    })
                })
                .collect::<Result<_, ExportError>>()?
        }
    })
}
