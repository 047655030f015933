//! What the database's own catalog says about a table, as every driver's `schema.rs`
//! describes it: does it exist, its columns and their types, which are generated, its primary
//! key. Every name read back is checked as an [`Ident`] before it can reach SQL.

use crate::{data::Ident, driver::Backend, export::ExportError};

/// Whether and how the database fills a column by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Generated {
    /// An ordinary column.
    No,
    /// An id the database assigns (PostgreSQL identity or `serial`, MariaDB `AUTO_INCREMENT`,
    /// SQLite `INTEGER PRIMARY KEY`). `always`: PostgreSQL `GENERATED ALWAYS AS IDENTITY`, which
    /// takes an explicit value only with `OVERRIDING SYSTEM VALUE`.
    Id { always: bool },
    /// Computed from other columns: exported, never inserted.
    Computed,
}

#[derive(Debug, Clone)]
pub struct ColumnInfo {
    pub(crate) name: Ident,
    /// The catalog's type, lowercase: PostgreSQL `typname` (`int4`, `timestamptz`, a domain's or
    /// enum's own name), MariaDB `data_type` (`bigint`, `decimal`), SQLite's declared type.
    pub(crate) type_name: String,
    /// MariaDB `column_type` (`tinyint(1)`, `bigint(20) unsigned`); the type name elsewhere.
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    pub(crate) column_type: String,
    /// The type as the catalog spells it in full, modifiers included: PostgreSQL
    /// `format_type` (`character varying(10)`, `numeric(12,2)`), MariaDB `column_type`,
    /// SQLite's declared type.
    pub(crate) declared: String,
    /// Whether the column takes SQL `NULL`.
    pub(crate) nullable: bool,
    /// Its default expression, as the catalog prints it.
    pub(crate) default: Option<String>,
    pub(crate) generated: Generated,
    /// MariaDB's `JSON` (a `longtext` with a `json_valid` check).
    #[cfg_attr(not(feature = "mysql"), allow(dead_code))]
    pub(crate) json_text: bool,
    /// Whether `column = value` compares exactly (no case-insensitive, pad-space or
    /// nondeterministic collation, no `citext`): see `data::audit_tenant_columns`.
    pub(crate) exact: bool,
}

#[derive(Debug, Clone)]
pub struct TableInfo {
    pub(crate) name: Ident,
    pub(crate) columns: Vec<ColumnInfo>,
    /// The primary key's columns, in key order.
    pub(crate) primary_key: Vec<Ident>,
    /// SQLite rowid table without a declared primary key: ordered by `rowid`.
    pub(crate) rowid: bool,
    /// A base table (not a view): rows can be imported.
    pub(crate) is_table: bool,
    pub(crate) backend: Backend,
}

impl TableInfo {
    /// The column named `name` (MariaDB compares names without case, as it does).
    pub(crate) fn column(&self, name: &Ident) -> Result<&ColumnInfo, ExportError> {
        self.find(name.as_str())
            .ok_or_else(|| ExportError::UnknownColumn {
                table: self.name.to_string(),
                column: name.to_string(),
            })
    }

    pub(crate) fn find(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| match self.backend {
            Backend::MySql | Backend::Sqlite => c.name.as_str().eq_ignore_ascii_case(name),
            Backend::Postgres => c.name.as_str() == name,
        })
    }
}

pub(crate) fn checked(what: &str, name: &str) -> Result<Ident, ExportError> {
    Ident::new(name).map_err(|_| {
        ExportError::Unsupported(format!(
            "{what} {name:?} is not a plain SQL identifier; tenantry cannot export it"
        ))
    })
}
