//! The rows of one table on their way in: each checked (same columns as the first, the
//! tenant's), rewritten (the tenant for a clone, generated ids left out), and counted.

use serde_json::{Map, Value};

use super::{IdPolicy, ImportOptions, Job, TableImport, reader::RowReader};
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
    /// Columns inserted: (key in the rows, column).
    pub(crate) targets: Vec<(String, &'a ColumnInfo)>,
    /// What happened to a generated id column, if the rows have one.
    ids: Option<IdPolicy>,
    rows: u64,
}

impl<'a> Feed<'a> {
    pub(crate) fn open(
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

    pub(crate) fn width(&self) -> usize {
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
    pub(crate) fn next_batch(
        &mut self,
        max: usize,
    ) -> Result<Vec<Map<String, Value>>, ExportError> {
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
