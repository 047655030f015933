//! The rows of one table on their way in: each checked (same columns as the first, the
//! tenant's, every value of its column's type), rewritten (the tenant for a clone, generated
//! ids left out), and counted.

use serde_json::Value;

use super::{
    IdPolicy, ImportOptions, Job, TableImport,
    check::{self, Cell, Kind},
    reader::RowReader,
    row::RawRow,
};
use crate::export::{
    ExportError, Reporter,
    schema::{ColumnInfo, Generated, TableInfo},
};

/// The checked, rewritten rows of one table.
pub(crate) struct Feed<'a> {
    pub(crate) reader: RowReader,
    job: &'a Job,
    pub(crate) info: &'a TableInfo,
    opts: &'a ImportOptions,
    /// The tenant field's key in the rows.
    tenant_key: String,
    /// Keys of the first row, sorted; every row must have the same.
    keys: Option<Vec<String>>,
    /// Keys of the first row in its order, in which the export writes every row.
    order: Vec<String>,
    /// Where each target's key and the tenant's are in `order`.
    at: Vec<usize>,
    tenant_at: usize,
    /// Columns inserted: (key in the rows, column).
    pub(crate) targets: Vec<(String, &'a ColumnInfo)>,
    /// What each target takes, as the driver reads its type.
    pub(crate) kinds: Vec<Kind>,
    kind: fn(&ColumnInfo) -> Kind,
    /// What happened to a generated id column, if the rows have one.
    ids: Option<IdPolicy>,
    rows: u64,
    /// The row being read, its buffer kept from row to row.
    row: RawRow,
}

impl<'a> Feed<'a> {
    pub(crate) fn open(
        job: &'a Job,
        info: &'a TableInfo,
        opts: &'a ImportOptions,
        kind: fn(&ColumnInfo) -> Kind,
    ) -> Result<Self, ExportError> {
        Ok(Self {
            reader: RowReader::open(job.input.as_deref())?,
            job,
            info,
            opts,
            tenant_key: info.column(&job.tenant_field)?.name.to_string(),
            keys: None,
            order: Vec::new(),
            at: Vec::new(),
            tenant_at: 0,
            targets: Vec::new(),
            kinds: Vec::new(),
            kind,
            ids: None,
            rows: 0,
            row: RawRow::default(),
        })
    }

    pub(crate) fn width(&self) -> usize {
        self.info.columns.len()
    }

    /// The first row fixes which columns are inserted.
    fn plan_columns(&mut self, row: &RawRow) -> Result<(), ExportError> {
        let mut keys: Vec<String> = row.keys().map(str::to_owned).collect();
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
            self.kinds.push((self.kind)(col));
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
        self.order = row.keys().map(str::to_owned).collect();
        let at = |key: &str| self.order.iter().position(|k| k == key);
        self.at = self
            .targets
            .iter()
            .map(|(k, _)| at(k).unwrap_or(usize::MAX))
            .collect();
        self.tenant_at = at(&self.tenant_key).unwrap_or(usize::MAX);
        self.keys = Some(keys);
        Ok(())
    }

    /// Refuses rows none of whose columns can be inserted (all generated).
    pub(crate) fn has_columns(&self) -> Result<(), ExportError> {
        if self.targets.is_empty() {
            return Err(ExportError::Input(format!(
                "{}: the rows have no column that can be inserted into `{}`",
                self.reader.name, self.info.name
            )));
        }
        Ok(())
    }

    fn refuse(&self, row: u64, why: impl std::fmt::Display) -> ExportError {
        ExportError::Refused(format!(
            "row {row} of {} {why}; nothing was imported",
            self.reader.name
        ))
    }

    /// Up to `max` checked rows, holding only the inserted columns in [`Self::targets`] order,
    /// tenant rewritten, each value checked against its column (a value that does not fit
    /// names its row and column).
    pub(crate) fn next_batch(&mut self, max: usize) -> Result<Vec<Vec<Cell>>, ExportError> {
        let mut out = Vec::with_capacity(max.min(1024));
        // The one row buffer, lent to the reader for each row in turn.
        let mut row = std::mem::take(&mut self.row);
        while out.len() < max && self.reader.next(&mut row)? {
            out.push(self.cells(&row)?);
        }
        self.row = row;
        Ok(out)
    }

    /// The next row, checked and rewritten: the cells of its inserted columns.
    fn cells(&mut self, row: &RawRow) -> Result<Vec<Cell>, ExportError> {
        self.rows += 1;
        let n = self.rows;
        if self.keys.is_none() {
            self.plan_columns(row)?;
        }
        let keys = self.keys.as_deref().unwrap_or_default();
        // A row with the first row's keys in its order (every row of an export) is read by
        // position; any other by key.
        let in_order = row.keys().eq(self.order.iter().map(String::as_str));
        let value = |at: usize, key: &str| {
            if in_order {
                row.value(at)
            } else {
                row.get(key)
            }
        };
        if !in_order && (row.len() != keys.len() || !keys.iter().all(|k| row.get(k).is_some())) {
            return Err(ExportError::Input(format!(
                "{}: row {n} does not have the same columns as row 1",
                self.reader.name
            )));
        }
        let raw_tenant = value(self.tenant_at, &self.tenant_key);
        // Most rows: the tenant as a string without escapes, compared as it is.
        let mut was_number = false;
        if raw_tenant.and_then(check::plain_string) != Some(self.opts.tenant.as_str()) {
            let value = raw_tenant.and_then(|raw| serde_json::from_str::<Value>(raw).ok());
            was_number = value.as_ref().is_some_and(Value::is_number);
            let tenant = match value {
                Some(Value::String(s)) => s,
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
        }
        // The tenant's value for a clone: a number if it was one and the new tenant is one.
        let rewritten = self
            .opts
            .as_tenant
            .as_ref()
            .map(|to| match to.parse::<i64>() {
                Ok(i) if was_number => Value::from(i).to_string(),
                _ => Value::String(to.clone()).to_string(),
            });
        let mut cells = Vec::with_capacity(self.targets.len());
        let targets = self.targets.iter().zip(&self.kinds).zip(&self.at);
        for (((key, col), kind), at) in targets {
            let text = match &rewritten {
                Some(tenant) if *key == self.tenant_key => Some(tenant.as_str()),
                _ => value(*at, key),
            };
            let cell = match text {
                Some(text) => check::check(*kind, text).map_err(|why| {
                    self.refuse(n, format_args!("is refused: column `{}` {why}", col.name))
                })?,
                None => Cell::Null,
            };
            cells.push(cell);
        }
        Ok(cells)
    }

    /// Checks counts (and the manifest's checksum) once all rows are in.
    pub(crate) fn finish(
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
}
