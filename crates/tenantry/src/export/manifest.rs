//! `manifest.json`: what a directory export holds.

use std::{fs, path::Path};

use chrono::{SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use super::{ExportError, ExportRequest, Format, TOOL_VERSION, TableDefinition};

/// The manifest's file name in an export directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The manifest's format marker and version.
const KIND: &str = "tenantry-export";
const VERSION: u32 = 1;

/// What a directory export holds, written last (as `manifest.json`) and checked on import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Manifest {
    /// Always `tenantry-export`.
    pub kind: String,
    /// Layout version of the directory (1).
    pub version: u32,
    /// The program that wrote it: `tenantry 0.1.0`.
    pub tool: String,
    /// When the export finished being planned (RFC 3339, UTC).
    pub created_at: String,
    /// `sqlite`, `postgres` or `mysql`.
    pub backend: String,
    /// The tenant whose rows these are.
    pub tenant_id: String,
    /// The column holding the tenant in every table.
    pub tenant_field: String,
    /// Layout of the table files.
    pub format: Format,
    /// The per-table row limit, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// The tables, in the order they were written (and are imported).
    pub tables: Vec<ManifestTable>,
    /// Tables that have the tenant field but a name that is not a plain identifier.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// One table's file in a [`Manifest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ManifestTable {
    /// The table.
    pub table: String,
    /// Its file, relative to the directory.
    pub file: String,
    /// Rows in the file.
    pub rows: u64,
    /// Bytes in the file.
    pub bytes: u64,
    /// SHA-256 of the file, lowercase hex.
    pub sha256: String,
    /// The columns the rows are ordered by (empty: database order).
    pub order_by: Vec<String>,
    /// The table's definition, for `--create-tables` (`None` in manifests written before
    /// exports carried one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<TableDefinition>,
}

impl Manifest {
    pub(crate) fn new(req: &ExportRequest, backend: &str) -> Self {
        Self {
            kind: KIND.to_owned(),
            version: VERSION,
            tool: TOOL_VERSION.to_owned(),
            created_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            backend: backend.to_owned(),
            tenant_id: req.tenant.clone(),
            tenant_field: req.tenant_field.to_string(),
            format: req.format,
            limit: req.limit,
            tables: Vec::new(),
            skipped: Vec::new(),
        }
    }

    pub(crate) fn write(&self, dir: &Path) -> Result<(), ExportError> {
        let path = dir.join(MANIFEST_FILE);
        let mut text = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        text.push(b'\n');
        fs::write(&path, text).map_err(ExportError::io("cannot write the manifest"))?;
        Ok(())
    }

    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Self, ExportError> {
        let path = dir.join(MANIFEST_FILE);
        let text =
            fs::read(&path).map_err(ExportError::io(format!("cannot read {}", path.display())))?;
        let manifest: Self = serde_json::from_slice(&text).map_err(|e| {
            ExportError::Input(format!(
                "{} is not a tenantry manifest: {e}",
                path.display()
            ))
        })?;
        if manifest.kind != KIND || manifest.version != VERSION {
            return Err(ExportError::Input(format!(
                "{} is a {} manifest version {}, not {KIND} version {VERSION}",
                path.display(),
                manifest.kind,
                manifest.version
            )));
        }
        for t in &manifest.tables {
            // File names come from the manifest: keep them inside the directory.
            let plain =
                !t.file.is_empty() && !t.file.starts_with('.') && !t.file.contains(['/', '\\']);
            if !plain {
                return Err(ExportError::Input(format!(
                    "manifest names the file {:?}, which is not a plain file name",
                    t.file
                )));
            }
        }
        Ok(manifest)
    }
}
