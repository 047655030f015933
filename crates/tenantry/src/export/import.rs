//! Exports back into tables: one transaction, rows of another tenant refused, the tenant
//! optionally rewritten, counts and checksums checked before the commit.

// Some helpers serve only some backends: a build with one backend leaves the others unused.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_imports, unused_variables)
)]

use std::{
    fs::File,
    io::{self, BufRead, BufReader, Read},
    path::{Path, PathBuf},
};

use base64::Engine as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize as _, Serialize};
use serde_json::{Map, Value};

use super::{
    ExportError, MANIFEST_FILE, Manifest, Reporter,
    file::Sha256Reader,
    schema::{self, ColumnInfo, Conn, Generated, TableInfo},
    sql::{q, safe},
};
use crate::data::{AdminPool, Backend, Ident};

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
}

impl ImportOptions {
    /// Rows of `tenant`, imported as they are.
    pub fn new(tenant: impl Into<String>) -> Self {
        Self {
            tenant: tenant.into(),
            as_tenant: None,
            keep_ids: false,
        }
    }

    fn omit_ids(&self) -> bool {
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
struct Job {
    table: Ident,
    tenant_field: Ident,
    input: Option<PathBuf>,
    /// Rows and SHA-256 from the manifest.
    expected: Option<(u64, String)>,
}

/// Loads `source` in one transaction. Nothing is committed unless every row belongs to
/// `opts.tenant`, every row went in, and (for a directory) every file matches its manifest
/// entry; otherwise the transaction is rolled back and the error says why.
///
/// Input is read synchronously, through a buffer, between batched inserts of up to 1,000 rows.
pub async fn import(
    pool: &AdminPool,
    source: ImportSource,
    opts: &ImportOptions,
    reporter: &dyn Reporter,
) -> Result<ImportSummary, ExportError> {
    let conn = Conn::of(pool);
    let jobs = plan(source, opts)?;
    let mut tables = Vec::with_capacity(jobs.len());
    for job in &jobs {
        let info = schema::describe(conn, &job.table).await?;
        if !info.is_table {
            return Err(ExportError::Unsupported(format!(
                "`{}` is a view; rows can only be imported into a table",
                job.table
            )));
        }
        info.column(&job.tenant_field)?;
        tables.push(info);
    }
    let done = match conn {
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(pool) => {
            let mut tx = pool.begin().await?;
            let mut done = Vec::new();
            for (job, info) in jobs.iter().zip(&tables) {
                let mut feed = Feed::open(job, info, opts)?;
                reporter.start(info.name.as_str());
                let mut inserted = 0;
                loop {
                    let batch = feed.next_batch(batch_size(feed.width()))?;
                    if batch.is_empty() {
                        break;
                    }
                    inserted += rows::sqlite(&mut tx, &feed, batch).await?;
                    reporter.rows(inserted);
                }
                done.push(feed.finish(inserted, reporter)?);
            }
            tx.commit().await?;
            done
        }
        #[cfg(feature = "postgres")]
        Conn::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            let mut done = Vec::new();
            for (job, info) in jobs.iter().zip(&tables) {
                let mut feed = Feed::open(job, info, opts)?;
                reporter.start(info.name.as_str());
                let mut inserted = 0;
                loop {
                    let batch = feed.next_batch(1000)?;
                    if batch.is_empty() {
                        break;
                    }
                    inserted += rows::postgres(&mut tx, &feed, batch).await?;
                    reporter.rows(inserted);
                }
                rows::postgres_sequences(&mut tx, &feed).await?;
                done.push(feed.finish(inserted, reporter)?);
            }
            tx.commit().await?;
            done
        }
        #[cfg(feature = "mysql")]
        Conn::MySql(pool) => {
            let mut tx = pool.begin().await?;
            let mut done = Vec::new();
            for (job, info) in jobs.iter().zip(&tables) {
                let mut feed = Feed::open(job, info, opts)?;
                reporter.start(info.name.as_str());
                let mut inserted = 0;
                loop {
                    let batch = feed.next_batch(batch_size(feed.width()))?;
                    if batch.is_empty() {
                        break;
                    }
                    inserted += rows::mysql(&mut tx, &feed, batch).await?;
                    reporter.rows(inserted);
                }
                done.push(feed.finish(inserted, reporter)?);
            }
            tx.commit().await?;
            done
        }
    };
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

/// Rows per `INSERT`, within every backend's limit on bound parameters.
fn batch_size(width: usize) -> usize {
    (30_000 / width.max(1)).clamp(1, 1000)
}

fn plan(source: ImportSource, opts: &ImportOptions) -> Result<Vec<Job>, ExportError> {
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
                    })
                })
                .collect::<Result<_, ExportError>>()?
        }
    })
}

// --- reading ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// Not yet looked at.
    Unknown,
    /// Inside a JSON array; `true` once an element was read.
    Array(bool),
    /// One object per line.
    Lines,
    Done,
}

/// Row objects from a JSON array (read element by element) or NDJSON, hashing every byte.
struct RowReader {
    inner: BufReader<Sha256Reader<Box<dyn Read + Send>>>,
    layout: Layout,
    name: String,
    line: String,
    lines: u64,
}

impl RowReader {
    fn open(input: Option<&Path>) -> Result<Self, ExportError> {
        let (read, name): (Box<dyn Read + Send>, String) = match input {
            Some(path) => (
                Box::new(
                    File::open(path)
                        .map_err(ExportError::io(format!("cannot open {}", path.display())))?,
                ),
                path.display().to_string(),
            ),
            None => (Box::new(io::stdin()), "standard input".to_owned()),
        };
        Ok(Self {
            inner: BufReader::with_capacity(256 * 1024, Sha256Reader::new(read)),
            layout: Layout::Unknown,
            name,
            line: String::new(),
            lines: 0,
        })
    }

    fn bad(&self, what: impl std::fmt::Display) -> ExportError {
        ExportError::Input(format!("{}: {what}", self.name))
    }
}

fn read_error(name: &str, e: io::Error) -> ExportError {
    ExportError::io(format!("cannot read {name}"))(e)
}

impl RowReader {
    /// The next byte that is not white space, without consuming it.
    fn peek(&mut self) -> Result<Option<u8>, ExportError> {
        loop {
            let buf = self
                .inner
                .fill_buf()
                .map_err(|e| read_error(&self.name, e))?;
            let Some(&b) = buf.first() else {
                return Ok(None);
            };
            if b.is_ascii_whitespace() {
                self.inner.consume(1);
            } else {
                return Ok(Some(b));
            }
        }
    }

    fn next(&mut self) -> Result<Option<Map<String, Value>>, ExportError> {
        loop {
            match self.layout {
                Layout::Done => return Ok(None),
                Layout::Unknown => match self.peek()? {
                    Some(b'[') => {
                        self.inner.consume(1);
                        self.layout = Layout::Array(false);
                    }
                    Some(b'{') => self.layout = Layout::Lines,
                    None => self.layout = Layout::Done,
                    Some(_) => {
                        return Err(self.bad("not a JSON array or NDJSON of row objects"));
                    }
                },
                Layout::Array(started) => {
                    match self.peek()? {
                        Some(b']') => {
                            self.inner.consume(1);
                            if self.peek()?.is_some() {
                                return Err(self.bad("text after the closing `]`"));
                            }
                            self.layout = Layout::Done;
                            continue;
                        }
                        Some(b',') if started => {
                            self.inner.consume(1);
                        }
                        Some(_) if !started => {}
                        Some(_) => return Err(self.bad("expected `,` or `]` between rows")),
                        None => return Err(self.bad("ends before the closing `]`")),
                    }
                    self.layout = Layout::Array(true);
                    if self.peek()? != Some(b'{') {
                        return Err(self.bad("every element must be a row object"));
                    }
                    // A fresh deserializer per element: it stops right after the object's `}`.
                    let mut de = serde_json::Deserializer::from_reader(&mut self.inner);
                    let row = Map::deserialize(&mut de).map_err(|e| self.bad(e))?;
                    return Ok(Some(row));
                }
                Layout::Lines => {
                    self.line.clear();
                    let n = self
                        .inner
                        .read_line(&mut self.line)
                        .map_err(|e| read_error(&self.name, e))?;
                    if n == 0 {
                        self.layout = Layout::Done;
                        continue;
                    }
                    self.lines += 1;
                    if self.line.trim().is_empty() {
                        continue;
                    }
                    let row = serde_json::from_str::<Map<String, Value>>(&self.line)
                        .map_err(|e| self.bad(format_args!("line {}: {e}", self.lines)))?;
                    return Ok(Some(row));
                }
            }
        }
    }

    /// Reads to the end (so the digest covers the whole input) and returns the digest.
    fn digest(&mut self) -> Result<String, ExportError> {
        io::copy(&mut self.inner, &mut io::sink()).map_err(|e| read_error(&self.name, e))?;
        Ok(self.inner.get_ref().hex())
    }
}

// --- checking and rewriting ------------------------------------------------------------------

/// The checked, rewritten rows of one table.
struct Feed<'a> {
    reader: RowReader,
    job: &'a Job,
    info: &'a TableInfo,
    opts: &'a ImportOptions,
    /// The tenant field's key in the rows.
    tenant_key: String,
    /// Keys of the first row, sorted; every row must have the same.
    keys: Option<Vec<String>>,
    /// Columns inserted: (key in the rows, column).
    targets: Vec<(String, &'a ColumnInfo)>,
    /// What happened to a generated id column, if the rows have one.
    ids: Option<IdPolicy>,
    rows: u64,
}

impl<'a> Feed<'a> {
    fn open(
        job: &'a Job,
        info: &'a TableInfo,
        opts: &'a ImportOptions,
    ) -> Result<Self, ExportError> {
        Ok(Self {
            reader: RowReader::open(job.input.as_deref())?,
            job,
            info,
            opts,
            tenant_key: info.column(&job.tenant_field)?.name.to_string(),
            keys: None,
            targets: Vec::new(),
            ids: None,
            rows: 0,
        })
    }

    fn width(&self) -> usize {
        self.info.columns.len()
    }

    /// The first row fixes which columns are inserted.
    fn plan_columns(&mut self, row: &Map<String, Value>) -> Result<(), ExportError> {
        let mut keys: Vec<String> = row.keys().cloned().collect();
        keys.sort();
        for key in &keys {
            let Some(col) = self.info.find(key) else {
                return Err(ExportError::UnknownColumn {
                    table: self.info.name.to_string(),
                    column: key.clone(),
                });
            };
            match col.generated {
                Generated::Computed => continue,
                Generated::Id { .. } if self.opts.omit_ids() => {
                    self.ids = Some(IdPolicy::New);
                    continue;
                }
                Generated::Id { .. } => self.ids = Some(IdPolicy::Kept),
                Generated::No => {}
            }
            self.targets.push((key.clone(), col));
        }
        if !keys
            .iter()
            .any(|k| k.eq_ignore_ascii_case(&self.tenant_key))
        {
            return Err(self.refuse(1, "has no tenant field"));
        }
        // Use the exported spelling of the tenant field from here on.
        if let Some(k) = keys
            .iter()
            .find(|k| k.eq_ignore_ascii_case(&self.tenant_key))
        {
            self.tenant_key = k.clone();
        }
        self.keys = Some(keys);
        Ok(())
    }

    fn refuse(&self, row: u64, why: impl std::fmt::Display) -> ExportError {
        ExportError::Refused(format!(
            "row {row} of {} {why}; nothing was imported",
            self.reader.name
        ))
    }

    /// Up to `max` checked rows, holding only the inserted columns, tenant rewritten.
    fn next_batch(&mut self, max: usize) -> Result<Vec<Map<String, Value>>, ExportError> {
        let mut out = Vec::with_capacity(max.min(1024));
        while out.len() < max {
            let Some(mut row) = self.reader.next()? else {
                break;
            };
            self.rows += 1;
            let n = self.rows;
            if self.keys.is_none() {
                self.plan_columns(&row)?;
            }
            let keys = self.keys.as_deref().expect("planned above");
            if row.len() != keys.len() || !keys.iter().all(|k| row.contains_key(k)) {
                return Err(ExportError::Input(format!(
                    "{}: row {n} does not have the same columns as row 1",
                    self.reader.name
                )));
            }
            let tenant = match row.get(&self.tenant_key) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            if tenant != self.opts.tenant {
                return Err(self.refuse(
                    n,
                    format_args!("belongs to tenant {tenant:?}, not {:?}", self.opts.tenant),
                ));
            }
            if let Some(to) = &self.opts.as_tenant {
                let was_number = row.get(&self.tenant_key).is_some_and(Value::is_number);
                let value = match to.parse::<i64>() {
                    Ok(i) if was_number => Value::from(i),
                    _ => Value::String(to.clone()),
                };
                row.insert(self.tenant_key.clone(), value);
            }
            let mut kept = Map::new();
            for (key, _) in &self.targets {
                if let Some(v) = row.remove(key) {
                    kept.insert(key.clone(), v);
                }
            }
            out.push(kept);
        }
        Ok(out)
    }

    /// Checks counts (and the manifest's checksum) once all rows are in.
    fn finish(
        mut self,
        inserted: u64,
        reporter: &dyn Reporter,
    ) -> Result<TableImport, ExportError> {
        let sha256 = self.reader.digest()?;
        let name = &self.reader.name;
        if inserted != self.rows {
            return Err(ExportError::Refused(format!(
                "{name}: {} rows read but {inserted} inserted; nothing was imported",
                self.rows
            )));
        }
        if let Some((rows, sum)) = &self.job.expected {
            if *rows != self.rows {
                return Err(ExportError::Refused(format!(
                    "{name} holds {} rows, the manifest says {rows}; nothing was imported",
                    self.rows
                )));
            }
            if *sum != sha256 {
                return Err(ExportError::Refused(format!(
                    "{name} does not match its SHA-256 in the manifest; nothing was imported"
                )));
            }
        }
        reporter.finish(self.info.name.as_str(), inserted);
        Ok(TableImport {
            table: self.info.name.to_string(),
            rows: inserted,
            ids: self.ids.take(),
            file: self.job.input.as_ref().map(|p| p.display().to_string()),
            sha256,
        })
    }

    /// `INSERT INTO t (cols)` for the inserted columns.
    fn insert_head(&self, backend: Backend) -> String {
        let cols: Vec<String> = self
            .targets
            .iter()
            .map(|(_, c)| q(backend, &c.name))
            .collect();
        format!(
            "INSERT INTO {} ({}) ",
            q(backend, &self.info.name),
            cols.join(", ")
        )
    }
}

// --- typing values back ------------------------------------------------------------------------

/// A value converted for its column, ready to bind.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
enum Cell {
    Null,
    Bool(bool),
    I64(i64),
    U64(u64),
    F64(f64),
    Text(String),
    Bytes(Vec<u8>),
    Tz(DateTime<Utc>),
    Naive(NaiveDateTime),
}

/// How a column takes its values on SQLite and MariaDB.
#[cfg(any(feature = "sqlite", feature = "mysql"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bind {
    Bool,
    Bytes,
    JsonText,
    Float,
    Timestamptz,
    Timestamp,
    /// By the JSON value.
    Auto,
}

#[cfg(any(feature = "sqlite", feature = "mysql"))]
fn bind_kind(backend: Backend, c: &ColumnInfo) -> Bind {
    let t = c.type_name.as_str();
    match backend {
        Backend::MySql => match t {
            _ if c.json_text || t == "json" => Bind::JsonText,
            "tinyint" if c.column_type.starts_with("tinyint(1)") => Bind::Bool,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "bit"
            | "geometry" => Bind::Bytes,
            "float" | "double" | "real" => Bind::Float,
            "timestamp" => Bind::Timestamptz,
            "datetime" => Bind::Timestamp,
            _ => Bind::Auto,
        },
        _ => match t {
            _ if t.contains("bool") => Bind::Bool,
            _ if t.contains("blob") => Bind::Bytes,
            "json" | "jsonb" => Bind::JsonText,
            _ if t.contains("real") || t.contains("floa") || t.contains("doub") => Bind::Float,
            _ => Bind::Auto,
        },
    }
}

#[cfg(any(feature = "sqlite", feature = "mysql"))]
fn cell(kind: Bind, value: Value, column: &Ident) -> Result<Cell, ExportError> {
    Ok(match (kind, value) {
        (_, Value::Null) => Cell::Null,
        (Bind::JsonText, v) => Cell::Text(v.to_string()),
        (Bind::Bool, Value::Bool(b)) => Cell::Bool(b),
        (Bind::Bool, Value::Number(n)) => Cell::Bool(n.as_f64().is_some_and(|f| f != 0.0)),
        (Bind::Bytes, Value::String(s)) => Cell::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(s.as_bytes())
                .map_err(|e| ExportError::Input(format!("column `{column}`: not base64: {e}")))?,
        ),
        (Bind::Float, Value::String(s)) => match s.as_str() {
            "NaN" => Cell::F64(f64::NAN),
            "Infinity" => Cell::F64(f64::INFINITY),
            "-Infinity" => Cell::F64(f64::NEG_INFINITY),
            _ => Cell::Text(s),
        },
        (Bind::Timestamptz, Value::String(s)) => match DateTime::parse_from_rfc3339(&s) {
            Ok(at) => Cell::Tz(at.with_timezone(&Utc)),
            Err(_) => Cell::Text(s),
        },
        (Bind::Timestamp, Value::String(s)) => {
            match NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f") {
                Ok(at) => Cell::Naive(at),
                Err(_) => Cell::Text(s),
            }
        }
        (_, Value::Bool(b)) => Cell::Bool(b),
        (_, Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Cell::I64(i)
            } else if let Some(u) = n.as_u64() {
                Cell::U64(u)
            } else {
                Cell::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        (_, Value::String(s)) => Cell::Text(s),
        (_, v @ (Value::Array(_) | Value::Object(_))) => Cell::Text(v.to_string()),
    })
}

mod rows {
    #[allow(unused_imports)]
    use super::*;

    #[cfg(any(feature = "sqlite", feature = "mysql"))]
    fn cells(
        backend: Backend,
        feed: &Feed<'_>,
        batch: Vec<Map<String, Value>>,
    ) -> Result<Vec<Vec<Cell>>, ExportError> {
        let kinds: Vec<Bind> = feed
            .targets
            .iter()
            .map(|(_, c)| bind_kind(backend, c))
            .collect();
        batch
            .into_iter()
            .map(|mut row| {
                feed.targets
                    .iter()
                    .zip(&kinds)
                    .map(|((key, col), kind)| {
                        cell(*kind, row.remove(key).unwrap_or(Value::Null), &col.name)
                    })
                    .collect()
            })
            .collect()
    }

    #[cfg(feature = "sqlite")]
    pub(super) async fn sqlite(
        tx: &mut sqlx::SqliteConnection,
        feed: &Feed<'_>,
        batch: Vec<Map<String, Value>>,
    ) -> Result<u64, ExportError> {
        if feed.targets.is_empty() {
            return Err(nothing_to_insert(feed));
        }
        let rows = cells(Backend::Sqlite, feed, batch)?;
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(feed.insert_head(Backend::Sqlite));
        qb.push_values(rows, |mut sep, row| {
            for c in row {
                match c {
                    Cell::Null => sep.push_bind(None::<String>),
                    Cell::Bool(v) => sep.push_bind(v),
                    Cell::I64(v) => sep.push_bind(v),
                    // SQLite has no unsigned 64-bit integers: beyond i64 they go as floats.
                    Cell::U64(v) => sep.push_bind(v as f64),
                    Cell::F64(v) => sep.push_bind(v),
                    Cell::Text(v) => sep.push_bind(v),
                    Cell::Bytes(v) => sep.push_bind(v),
                    Cell::Tz(v) => sep.push_bind(v),
                    Cell::Naive(v) => sep.push_bind(v),
                };
            }
        });
        Ok(qb.build().execute(&mut *tx).await?.rows_affected())
    }

    #[cfg(feature = "mysql")]
    pub(super) async fn mysql(
        tx: &mut sqlx::MySqlConnection,
        feed: &Feed<'_>,
        batch: Vec<Map<String, Value>>,
    ) -> Result<u64, ExportError> {
        if feed.targets.is_empty() {
            return Err(nothing_to_insert(feed));
        }
        let rows = cells(Backend::MySql, feed, batch)?;
        let mut qb = sqlx::QueryBuilder::<sqlx::MySql>::new(feed.insert_head(Backend::MySql));
        qb.push_values(rows, |mut sep, row| {
            for c in row {
                match c {
                    Cell::Null => sep.push_bind(None::<String>),
                    Cell::Bool(v) => sep.push_bind(v),
                    Cell::I64(v) => sep.push_bind(v),
                    Cell::U64(v) => sep.push_bind(v),
                    Cell::F64(v) => sep.push_bind(v),
                    Cell::Text(v) => sep.push_bind(v),
                    Cell::Bytes(v) => sep.push_bind(v),
                    Cell::Tz(v) => sep.push_bind(v),
                    Cell::Naive(v) => sep.push_bind(v),
                };
            }
        });
        Ok(qb.build().execute(&mut *tx).await?.rows_affected())
    }

    /// PostgreSQL types every value itself: the batch goes as one `jsonb` array through
    /// `jsonb_populate_recordset(NULL::table, ..)`, which converts each value with the column
    /// type's own input function (numeric from its exact text, timestamps from RFC 3339,
    /// arrays, intervals and enums from their text form). Only bytes need help: base64 becomes
    /// `bytea`'s hex input.
    #[cfg(feature = "postgres")]
    pub(super) async fn postgres(
        tx: &mut sqlx::PgConnection,
        feed: &Feed<'_>,
        batch: Vec<Map<String, Value>>,
    ) -> Result<u64, ExportError> {
        if feed.targets.is_empty() {
            return Err(nothing_to_insert(feed));
        }
        let bytea: Vec<&str> = feed
            .targets
            .iter()
            .filter(|(_, c)| c.type_name == "bytea")
            .map(|(k, _)| k.as_str())
            .collect();
        let mut rows = Vec::with_capacity(batch.len());
        for mut row in batch {
            for key in &bytea {
                if let Some(Value::String(s)) = row.get(*key) {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(s.as_bytes())
                        .map_err(|e| {
                            ExportError::Input(format!("column `{key}`: not base64: {e}"))
                        })?;
                    let mut hex = String::with_capacity(2 + 2 * bytes.len());
                    hex.push_str("\\x");
                    for b in bytes {
                        hex.push_str(&format!("{b:02x}"));
                    }
                    row.insert((*key).to_owned(), Value::String(hex));
                }
            }
            rows.push(Value::Object(row));
        }
        let b = Backend::Postgres;
        let cols: Vec<String> = feed.targets.iter().map(|(_, c)| q(b, &c.name)).collect();
        let always = feed
            .targets
            .iter()
            .any(|(_, c)| c.generated == Generated::Id { always: true });
        let sql = format!(
            "{}{}SELECT {} FROM jsonb_populate_recordset(NULL::{}, $1)",
            feed.insert_head(b),
            if always {
                "OVERRIDING SYSTEM VALUE "
            } else {
                ""
            },
            cols.join(", "),
            q(b, &feed.info.name),
        );
        let done = sqlx::query(safe(sql))
            .bind(sqlx::types::Json(Value::Array(rows)))
            .execute(&mut *tx)
            .await?;
        Ok(done.rows_affected())
    }

    /// After ids were inserted as they were, moves each id sequence past the largest id, so
    /// the next row the application inserts does not collide.
    #[cfg(feature = "postgres")]
    pub(super) async fn postgres_sequences(
        tx: &mut sqlx::PgConnection,
        feed: &Feed<'_>,
    ) -> Result<(), ExportError> {
        let b = Backend::Postgres;
        for (_, c) in &feed.targets {
            if !matches!(c.generated, Generated::Id { .. }) {
                continue;
            }
            let sql = format!(
                "SELECT setval(s, GREATEST(m, COALESCE(pg_sequence_last_value(s), 1))) \
                 FROM (SELECT pg_get_serial_sequence($1, $2)::regclass AS s, \
                 (SELECT max({}) FROM {})::bigint AS m) AS x WHERE s IS NOT NULL AND m IS NOT NULL",
                q(b, &c.name),
                q(b, &feed.info.name),
            );
            sqlx::query(safe(sql))
                .bind(feed.info.name.quoted())
                .bind(c.name.as_str())
                .execute(&mut *tx)
                .await?;
        }
        Ok(())
    }

    #[allow(dead_code)]
    fn nothing_to_insert(feed: &Feed<'_>) -> ExportError {
        ExportError::Input(format!(
            "{}: the rows have no column that can be inserted into `{}`",
            feed.reader.name, feed.info.name
        ))
    }
}
