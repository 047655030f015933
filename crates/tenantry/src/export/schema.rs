//! What the database's own catalog says about a table: does it exist, its columns and their
//! types, which are generated, its primary key. Every name read back is checked as an [`Ident`]
//! before it can reach SQL; every name sent is bound.

// Some helpers serve only some backends: a build with one backend leaves the others unused.
#![cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code, unused_imports, unused_variables)
)]

use super::ExportError;
use crate::data::{AdminPool, Backend, Ident};

/// The raw pool of one backend.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Conn<'a> {
    #[cfg(feature = "sqlite")]
    Sqlite(&'a sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(&'a sqlx::PgPool),
    #[cfg(feature = "mysql")]
    MySql(&'a sqlx::MySqlPool),
}

impl<'a> Conn<'a> {
    pub(crate) fn of(pool: &'a AdminPool) -> Self {
        #[cfg(feature = "sqlite")]
        if let Some(p) = pool.sqlite() {
            return Self::Sqlite(p);
        }
        #[cfg(feature = "postgres")]
        if let Some(p) = pool.postgres() {
            return Self::Postgres(p);
        }
        #[cfg(feature = "mysql")]
        if let Some(p) = pool.mysql() {
            return Self::MySql(p);
        }
        unreachable!("an AdminPool always holds the pool of an enabled backend")
    }

    pub(crate) fn backend(self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(_) => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Self::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "mysql")]
            Self::MySql(_) => Backend::MySql,
        }
    }

    pub(crate) fn backend_name(self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
            Backend::MySql => "mysql",
        }
    }
}

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
pub(crate) struct ColumnInfo {
    pub(crate) name: Ident,
    /// The catalog's type, lowercase: PostgreSQL `typname` (`int4`, `timestamptz`, a domain's or
    /// enum's own name), MariaDB `data_type` (`bigint`, `decimal`), SQLite's declared type.
    pub(crate) type_name: String,
    /// MariaDB `column_type` (`tinyint(1)`, `bigint(20) unsigned`); the type name elsewhere.
    pub(crate) column_type: String,
    pub(crate) generated: Generated,
    /// MariaDB's `JSON` (a `longtext` with a `json_valid` check).
    pub(crate) json_text: bool,
    /// Whether `column = value` compares exactly (no case-insensitive, pad-space or
    /// nondeterministic collation, no `citext`): see `data::audit_tenant_columns`.
    pub(crate) exact: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct TableInfo {
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

fn checked(what: &str, name: &str) -> Result<Ident, ExportError> {
    Ident::new(name).map_err(|_| {
        ExportError::Unsupported(format!(
            "{what} {name:?} is not a plain SQL identifier; tenantry cannot export it"
        ))
    })
}

/// Looks `table` up in the catalog: [`ExportError::UnknownTable`] if there is no such table or
/// view.
pub(crate) async fn describe(conn: Conn<'_>, table: &Ident) -> Result<TableInfo, ExportError> {
    match conn {
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(pool) => sqlite::describe(pool, table).await,
        #[cfg(feature = "postgres")]
        Conn::Postgres(pool) => postgres::describe(pool, table).await,
        #[cfg(feature = "mysql")]
        Conn::MySql(pool) => mysql::describe(pool, table).await,
    }
}

/// Base tables (of the current schema / database) that have a column `field`, by name; and the
/// names of those skipped because they are not plain identifiers.
pub(crate) async fn tables_with(
    conn: Conn<'_>,
    field: &Ident,
) -> Result<(Vec<Ident>, Vec<String>), ExportError> {
    let names: Vec<String> = match conn {
        #[cfg(feature = "sqlite")]
        Conn::Sqlite(pool) => {
            sqlx::query_scalar(
                "SELECT m.name FROM sqlite_master m, pragma_table_xinfo(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                 AND p.name = ?1 COLLATE NOCASE ORDER BY m.name",
            )
            .bind(field.as_str())
            .fetch_all(pool)
            .await?
        }
        #[cfg(feature = "postgres")]
        Conn::Postgres(pool) => {
            sqlx::query_scalar(
                "SELECT c.relname::text FROM pg_class c \
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
                 WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
                 AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attname = $1 \
                 ORDER BY c.relname COLLATE \"C\"",
            )
            .bind(field.as_str())
            .fetch_all(pool)
            .await?
        }
        #[cfg(feature = "mysql")]
        Conn::MySql(pool) => {
            sqlx::query_scalar(
                "SELECT CAST(c.table_name AS CHAR) FROM information_schema.columns c \
                 JOIN information_schema.tables t \
                 ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
                 WHERE c.table_schema = DATABASE() AND c.column_name = ? \
                 AND t.table_type = 'BASE TABLE' ORDER BY CAST(c.table_name AS BINARY)",
            )
            .bind(field.as_str())
            .fetch_all(pool)
            .await?
        }
    };
    let mut ok = Vec::new();
    let mut skipped = Vec::new();
    for name in names {
        match Ident::new(&name) {
            Ok(ident) => ok.push(ident),
            Err(_) => skipped.push(name),
        }
    }
    Ok((ok, skipped))
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use sqlx::SqlitePool;

    use super::*;

    pub(super) async fn describe(
        pool: &SqlitePool,
        table: &Ident,
    ) -> Result<TableInfo, ExportError> {
        let found: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT type, sql FROM sqlite_master WHERE name = ?1 AND type IN ('table', 'view')",
        )
        .bind(table.as_str())
        .fetch_optional(pool)
        .await?;
        let Some((kind, ddl)) = found else {
            return Err(ExportError::UnknownTable(table.to_string()));
        };
        let ddl = ddl.unwrap_or_default();
        let without_rowid = ddl
            .to_ascii_lowercase()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains("without rowid");
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?1) ORDER BY cid",
        )
        .bind(table.as_str())
        .fetch_all(pool)
        .await?;
        let mut columns = Vec::with_capacity(rows.len());
        let mut pk: Vec<(i64, Ident)> = Vec::new();
        for (name, decl, key, hidden) in &rows {
            if *hidden == 1 {
                continue; // hidden column of a virtual table
            }
            let name = checked(&format!("column of table `{table}`"), name)?;
            if *key > 0 {
                pk.push((*key, name.clone()));
            }
            let decl = decl.to_ascii_lowercase();
            let exact = crate::data::sqlite_column_is_exact(&ddl, name.as_str());
            columns.push(ColumnInfo {
                name,
                column_type: decl.clone(),
                type_name: decl,
                generated: if *hidden >= 2 {
                    Generated::Computed
                } else {
                    Generated::No
                },
                json_text: false,
                exact,
            });
        }
        pk.sort_by_key(|(n, _)| *n);
        // `INTEGER PRIMARY KEY` (exactly that type) is the rowid: assigned when left out.
        if let [(_, id)] = pk.as_slice()
            && !without_rowid
            && let Some(c) = columns.iter_mut().find(|c| &c.name == id)
            && c.type_name == "integer"
        {
            c.generated = Generated::Id { always: false };
        }
        let is_table = kind == "table";
        Ok(TableInfo {
            name: table.clone(),
            rowid: pk.is_empty() && is_table && !without_rowid,
            primary_key: pk.into_iter().map(|(_, n)| n).collect(),
            columns,
            is_table,
            backend: Backend::Sqlite,
        })
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use sqlx::PgPool;

    use super::*;

    pub(super) async fn describe(pool: &PgPool, table: &Ident) -> Result<TableInfo, ExportError> {
        // `to_regclass` resolves the quoted name through the search path, like the queries will.
        let kind: Option<String> =
            sqlx::query_scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)")
                .bind(table.quoted())
                .fetch_optional(pool)
                .await?;
        let Some(kind) = kind.filter(|k| ["r", "p", "v", "m", "f"].contains(&k.as_str())) else {
            return Err(ExportError::UnknownTable(table.to_string()));
        };
        let rows: Vec<(String, String, String, String, bool, bool)> = sqlx::query_as(
            "SELECT a.attname::text, t.typname::text, a.attidentity::text, a.attgenerated::text, \
                    COALESCE(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false), \
                    NOT (t.typname = 'citext' OR (t.typtype = 'd' AND EXISTS ( \
                        SELECT 1 FROM pg_type b WHERE b.oid = t.typbasetype AND b.typname = 'citext'))) \
                    AND COALESCE(co.collisdeterministic, true) \
             FROM pg_attribute a \
             JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
        )
        .bind(table.quoted())
        .fetch_all(pool)
        .await?;
        let mut columns = Vec::with_capacity(rows.len());
        for (name, ty, identity, generated, serial, exact) in rows {
            let generated = match (identity.as_str(), generated.as_str(), serial) {
                ("a", _, _) => Generated::Id { always: true },
                ("d", _, _) | (_, _, true) => Generated::Id { always: false },
                (_, "s" | "v", _) => Generated::Computed,
                _ => Generated::No,
            };
            columns.push(ColumnInfo {
                name: checked(&format!("column of table `{table}`"), &name)?,
                column_type: ty.clone(),
                type_name: ty,
                generated,
                json_text: false,
                exact,
            });
        }
        let pk: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i \
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
             WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY k.ord",
        )
        .bind(table.quoted())
        .fetch_all(pool)
        .await?;
        Ok(TableInfo {
            name: table.clone(),
            primary_key: pk
                .iter()
                .map(|n| checked("primary key column", n))
                .collect::<Result<_, _>>()?,
            columns,
            rowid: false,
            is_table: kind == "r" || kind == "p",
            backend: Backend::Postgres,
        })
    }
}

#[cfg(feature = "mysql")]
mod mysql {
    use sqlx::MySqlPool;

    use super::*;

    pub(super) async fn describe(
        pool: &MySqlPool,
        table: &Ident,
    ) -> Result<TableInfo, ExportError> {
        let kind: Option<String> = sqlx::query_scalar(
            "SELECT CAST(table_type AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = ?",
        )
        .bind(table.as_str())
        .fetch_optional(pool)
        .await?;
        let Some(kind) = kind else {
            return Err(ExportError::UnknownTable(table.to_string()));
        };
        /// name, data type, column type, extra, character set, collation
        type ColumnRow = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        );
        let rows: Vec<ColumnRow> = sqlx::query_as(
            "SELECT CAST(column_name AS CHAR), CAST(LOWER(data_type) AS CHAR), \
                    CAST(LOWER(column_type) AS CHAR), CAST(LOWER(extra) AS CHAR), \
                    CAST(character_set_name AS CHAR), CAST(collation_name AS CHAR) \
             FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
        )
        .bind(table.as_str())
        .fetch_all(pool)
        .await?;
        // MariaDB's JSON is `longtext` plus a `json_valid(col)` check; MySQL has no `table_name`
        // in this view (and a real JSON type), so an error here just means "none".
        let checks: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(check_clause AS CHAR) FROM information_schema.check_constraints \
             WHERE constraint_schema = DATABASE() AND table_name = ?",
        )
        .bind(table.as_str())
        .fetch_all(pool)
        .await
        .unwrap_or_default();
        let mut columns = Vec::with_capacity(rows.len());
        for (name, ty, column_type, extra, charset, collation) in rows {
            let json_text = checks
                .iter()
                .any(|c| c.trim() == format!("json_valid(`{name}`)"));
            let generated = if extra.contains("auto_increment") {
                Generated::Id { always: false }
            } else if extra.contains("generated") {
                Generated::Computed
            } else {
                Generated::No
            };
            columns.push(ColumnInfo {
                name: checked(&format!("column of table `{table}`"), &name)?,
                type_name: ty,
                column_type,
                generated,
                json_text,
                exact: crate::data::mysql_collation_is_exact(
                    charset.as_deref(),
                    collation.as_deref(),
                ),
            });
        }
        let pk: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage \
             WHERE table_schema = DATABASE() AND table_name = ? AND constraint_name = 'PRIMARY' \
             ORDER BY ordinal_position",
        )
        .bind(table.as_str())
        .fetch_all(pool)
        .await?;
        Ok(TableInfo {
            name: table.clone(),
            primary_key: pk
                .iter()
                .map(|n| checked("primary key column", n))
                .collect::<Result<_, _>>()?,
            columns,
            rowid: false,
            is_table: kind != "VIEW",
            backend: Backend::MySql,
        })
    }
}
