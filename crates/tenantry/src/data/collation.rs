//! Exact comparison of tenant columns: the collation audit.
//!
//! Every statement tenantry runs scopes rows with `tenant_field = ?`. That is a wall only if the
//! column compares exactly. A column with a case-insensitive collation (MariaDB's default
//! `utf8mb4_general_ci`, SQLite's `COLLATE NOCASE`, PostgreSQL's `citext` or a nondeterministic
//! ICU collation) makes tenants `ACME` and `acme` one tenant; a pad-space collation (MariaDB's
//! `utf8mb4_bin`) makes `acme` and `acme ` one.
//!
//! Tables that tenantry creates ([`Database::create_table`]) always compare exactly. Tables the
//! application creates itself are checked by [`audit_tenant_columns`], which lists every table
//! with the tenant column and says for each whether it compares exactly; run it at boot and
//! refuse to start ([`TenantColumnAudit::check`]) or at least warn.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use tenantry::data::{Database, OnInexact, audit_tenant_columns};
//!
//! let db = Database::connect("sqlite::memory:").await.unwrap();
//! let admin = db.unscoped_admin("example: an application table");
//! sqlx::raw_sql("CREATE TABLE notes (id integer PRIMARY KEY, tenant_id text COLLATE NOCASE)")
//!     .execute(admin.sqlite().unwrap())
//!     .await
//!     .unwrap();
//! let audit = audit_tenant_columns(&db, "tenant_id").await.unwrap();
//! assert!(!audit.is_clean());
//! assert!(audit.problems()[0].contains("NOCASE"));
//! assert!(audit.check(OnInexact::Refuse).is_err());
//! # });
//! ```

use std::fmt;

use super::{DataError, Database};
#[allow(unused_imports)]
use crate::pool::Pool;

/// Binary, no-pad collations, most preferred first: MariaDB's `utf8mb4_nopad_bin` (10.2 and
/// later), MySQL 8's `utf8mb4_0900_bin`.
#[cfg(feature = "mysql")]
const MYSQL_EXACT: &[&str] = &["utf8mb4_nopad_bin", "utf8mb4_0900_bin"];

/// The exact collation this MariaDB / MySQL server offers, for the text columns tenantry
/// creates.
#[cfg(feature = "mysql")]
pub(crate) async fn mysql_exact_collation(
    pool: &sqlx::MySqlPool,
) -> Result<&'static str, DataError> {
    let found: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(collation_name AS CHAR) FROM information_schema.collations \
         WHERE collation_name IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin')",
    )
    .fetch_all(pool)
    .await?;
    MYSQL_EXACT
        .iter()
        .find(|c| found.iter().any(|f| f == *c))
        .copied()
        .ok_or_else(|| {
            DataError::Config(
                "this MariaDB / MySQL server has no binary no-pad utf8mb4 collation \
                 (utf8mb4_nopad_bin or utf8mb4_0900_bin); MariaDB 10.2 or MySQL 8 is needed"
                    .into(),
            )
        })
}

/// Whether a MariaDB / MySQL collation compares exactly: a binary collation that does not pad
/// (`*_nopad_bin`, MySQL 8's `*_0900_bin`), or the `binary` character set. Anything else,
/// `*_ci` and the pad-space `utf8mb4_bin` included, does not.
#[cfg_attr(not(feature = "mysql"), allow(dead_code))]
pub(crate) fn mysql_collation_is_exact(charset: Option<&str>, collation: Option<&str>) -> bool {
    match (charset, collation) {
        (_, None) => true, // not a text column: numbers and UUIDs compare exactly
        (Some("binary"), _) | (_, Some("binary")) => true,
        (_, Some(c)) => c.ends_with("_bin") && (c.contains("_nopad_") || c.contains("_0900_")),
    }
}

/// What to do about tenant columns that compare inexactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OnInexact {
    /// Refuse to start: [`TenantColumnAudit::check`] fails (the default).
    #[default]
    Refuse,
    /// Log each problem at `warn` and go on. Tenants whose ids differ only in case (or in
    /// trailing spaces) then share those tables' rows: use only while fixing the columns.
    Warn,
}

/// One table's tenant column, as [`audit_tenant_columns`] found it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TenantColumn {
    /// The schema (PostgreSQL), database (MariaDB) or `main` (SQLite).
    pub schema: String,
    /// The table.
    pub table: String,
    /// The column's type as the database names it.
    pub column_type: String,
    /// Its collation, where it has one.
    pub collation: Option<String>,
    /// Why it does not compare exactly; `None` when it does.
    pub inexact: Option<String>,
}

/// Every tenant column of a database and whether it compares exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantColumnAudit {
    /// The tenant field audited.
    pub tenant_field: String,
    /// Every table that has it.
    pub columns: Vec<TenantColumn>,
}

/// Tenant columns that compare inexactly, from [`TenantColumnAudit::check`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tenant columns that do not compare exactly (tenants differing only in case would share rows): {}", .0.join("; "))]
pub struct InexactTenantColumns(pub Vec<String>);

impl TenantColumnAudit {
    /// Whether every tenant column compares exactly.
    pub fn is_clean(&self) -> bool {
        self.columns.iter().all(|c| c.inexact.is_none())
    }

    /// One line per inexact column, with how to fix it.
    pub fn problems(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter_map(|c| {
                let why = c.inexact.as_ref()?;
                Some(format!(
                    "{}.{}.{}: {why}",
                    c.schema, c.table, self.tenant_field
                ))
            })
            .collect()
    }

    /// Applies `policy`: with [`OnInexact::Refuse`] an error listing every inexact column, with
    /// [`OnInexact::Warn`] a `warn` event for each (target `tenantry::audit`).
    pub fn check(&self, policy: OnInexact) -> Result<(), InexactTenantColumns> {
        let problems = self.problems();
        if problems.is_empty() {
            return Ok(());
        }
        match policy {
            OnInexact::Refuse => Err(InexactTenantColumns(problems)),
            OnInexact::Warn => {
                for p in &problems {
                    tracing::warn!(target: "tenantry::audit", problem = %p, "tenant column compares inexactly");
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for TenantColumnAudit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.columns {
            let verdict = c.inexact.as_deref().unwrap_or("exact");
            writeln!(
                f,
                "{}.{}.{}: {verdict}",
                c.schema, c.table, self.tenant_field
            )?;
        }
        Ok(())
    }
}

/// Lists every base table of `db` that has a column `tenant_field` and says whether that column
/// compares exactly:
///
/// | backend | inexact |
/// |---|---|
/// | MariaDB / MySQL | any collation but a binary no-pad one (`*_ci`, `*_cs`, the pad-space `utf8mb4_bin`) |
/// | SQLite | `COLLATE NOCASE`, `COLLATE RTRIM`, or an application-defined collation |
/// | PostgreSQL | `citext` (or a domain over it), a nondeterministic collation |
///
/// PostgreSQL is audited across all schemas but the system ones; MariaDB / MySQL in the
/// connection's database; SQLite in `main`.
pub async fn audit_tenant_columns(
    db: &Database,
    tenant_field: &str,
) -> Result<TenantColumnAudit, DataError> {
    let columns = match db.pool() {
        #[cfg(feature = "sqlite")]
        Pool::Sqlite(p) => sqlite::audit(p, tenant_field).await?,
        #[cfg(feature = "postgres")]
        Pool::Postgres(p) => postgres::audit(p, tenant_field).await?,
        #[cfg(feature = "mysql")]
        Pool::MySql(p) => mysql::audit(p, tenant_field).await?,
    };
    Ok(TenantColumnAudit {
        tenant_field: tenant_field.to_owned(),
        columns,
    })
}

#[cfg(feature = "mysql")]
mod mysql {
    use super::*;

    pub(super) async fn audit(
        pool: &sqlx::MySqlPool,
        field: &str,
    ) -> Result<Vec<TenantColumn>, DataError> {
        /// schema, table, column type, character set, collation
        type ColumnRow = (String, String, String, Option<String>, Option<String>);
        let rows: Vec<ColumnRow> = sqlx::query_as(
            "SELECT CAST(c.table_schema AS CHAR), CAST(c.table_name AS CHAR), \
                    CAST(c.column_type AS CHAR), CAST(c.character_set_name AS CHAR), \
                    CAST(c.collation_name AS CHAR) \
             FROM information_schema.columns c JOIN information_schema.tables t \
               ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = DATABASE() AND c.column_name = ? \
               AND t.table_type = 'BASE TABLE' \
             ORDER BY CAST(c.table_name AS BINARY)",
        )
        .bind(field)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(schema, table, column_type, charset, collation)| {
                let exact = mysql_collation_is_exact(charset.as_deref(), collation.as_deref());
                let inexact = (!exact).then(|| {
                    format!(
                        "collation {} does not compare exactly; use a binary no-pad collation: \
                         ALTER TABLE `{table}` MODIFY `{field}` {column_type} CHARACTER SET utf8mb4 \
                         COLLATE utf8mb4_nopad_bin NOT NULL",
                        collation.as_deref().unwrap_or("?")
                    )
                });
                TenantColumn {
                    schema,
                    table,
                    column_type,
                    collation,
                    inexact,
                }
            })
            .collect())
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use super::*;

    pub(super) async fn audit(
        pool: &sqlx::PgPool,
        field: &str,
    ) -> Result<Vec<TenantColumn>, DataError> {
        let rows: Vec<(String, String, String, bool, Option<String>, bool)> = sqlx::query_as(
            "SELECT n.nspname::text, c.relname::text, format_type(a.atttypid, a.atttypmod), \
                    (t.typname = 'citext' OR (t.typtype = 'd' AND EXISTS ( \
                        SELECT 1 FROM pg_type b WHERE b.oid = t.typbasetype AND b.typname = 'citext'))), \
                    co.collname::text, COALESCE(co.collisdeterministic, true) \
             FROM pg_attribute a \
             JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation \
             WHERE a.attname = $1 AND a.attnum > 0 AND NOT a.attisdropped \
               AND c.relkind IN ('r', 'p') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg_toast%' \
             ORDER BY 1, 2",
        )
        .bind(field)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(schema, table, column_type, citext, collation, deterministic)| {
                let inexact = if citext {
                    Some(format!(
                        "type {column_type} compares without case; use text: \
                         ALTER TABLE \"{schema}\".\"{table}\" ALTER COLUMN \"{field}\" TYPE text"
                    ))
                } else if !deterministic {
                    Some(format!(
                        "collation {} is nondeterministic; use a deterministic one: \
                         ALTER TABLE \"{schema}\".\"{table}\" ALTER COLUMN \"{field}\" TYPE {column_type} COLLATE \"C\"",
                        collation.as_deref().unwrap_or("?")
                    ))
                } else {
                    None
                };
                TenantColumn {
                    schema,
                    table,
                    column_type,
                    collation,
                    inexact,
                }
            })
            .collect())
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;

    pub(super) async fn audit(
        pool: &sqlx::SqlitePool,
        field: &str,
    ) -> Result<Vec<TenantColumn>, DataError> {
        let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT m.name, p.type, m.sql FROM sqlite_master m, pragma_table_xinfo(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
               AND p.name = ?1 COLLATE NOCASE ORDER BY m.name",
        )
        .bind(field)
        .fetch_all(pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(table, column_type, ddl)| {
                let collation = ddl.as_deref().and_then(|sql| column_collation(sql, field));
                let inexact = match collation.as_deref().map(str::to_ascii_uppercase) {
                    None => None,
                    Some(c) if c == "BINARY" => None,
                    Some(c) => Some(format!(
                        "COLLATE {c} does not compare exactly; recreate the table with the column \
                         declared without COLLATE (SQLite's default, BINARY, is exact)"
                    )),
                };
                TenantColumn {
                    schema: "main".to_owned(),
                    table,
                    column_type,
                    collation,
                    inexact,
                }
            })
            .collect())
    }
}

/// Whether column `column` of the SQLite table made by `create` compares exactly (no
/// `COLLATE`, or `COLLATE BINARY`).
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
pub(crate) fn sqlite_column_is_exact(create: &str, column: &str) -> bool {
    column_collation(create, column).is_none_or(|c| c.eq_ignore_ascii_case("binary"))
}

/// The `COLLATE` name in the definition of column `column` inside a SQLite `CREATE TABLE`
/// statement, if it has one.
///
/// SQLite keeps the statement as written; the definitions are the top-level, comma-separated
/// parts between the outermost parentheses (quotes and nested parentheses respected), and a
/// column's definition starts with its (possibly quoted) name.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
fn column_collation(create: &str, column: &str) -> Option<String> {
    let tokens = tokenize(create);
    let open = tokens.iter().position(|t| t == "(")?;
    let mut depth = 0usize;
    let mut part: Vec<&str> = Vec::new();
    let mut parts: Vec<Vec<&str>> = Vec::new();
    for t in &tokens[open + 1..] {
        match t.as_str() {
            "(" => depth += 1,
            ")" if depth == 0 => {
                parts.push(std::mem::take(&mut part));
                break;
            }
            ")" => depth -= 1,
            "," if depth == 0 => {
                parts.push(std::mem::take(&mut part));
                continue;
            }
            _ => {}
        }
        part.push(t);
    }
    let unquote = |t: &str| {
        let t = t.trim_matches(|c| matches!(c, '"' | '`' | '[' | ']' | '\''));
        t.to_owned()
    };
    let def = parts.into_iter().find(|p| {
        p.first()
            .is_some_and(|n| unquote(n).eq_ignore_ascii_case(column))
    })?;
    def.windows(2)
        .find(|w| w[0].eq_ignore_ascii_case("collate"))
        .map(|w| unquote(w[1]))
}

/// SQL tokens: quoted names and strings whole, words, and single punctuation.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
fn tokenize(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {}
            '"' | '`' | '\'' | '[' => {
                let close = if c == '[' { ']' } else { c };
                let mut t = String::from(c);
                while let Some(n) = chars.next() {
                    t.push(n);
                    if n == close {
                        // A doubled quote is an escaped quote, not the end.
                        if close != ']' && chars.peek() == Some(&close) {
                            t.push(close);
                            chars.next();
                            continue;
                        }
                        break;
                    }
                }
                out.push(t);
            }
            '-' if chars.peek() == Some(&'-') => {
                for n in chars.by_ref() {
                    if n == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for n in chars.by_ref() {
                    if prev == '*' && n == '/' {
                        break;
                    }
                    prev = n;
                }
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut t = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_alphanumeric() || n == '_' || n == '$' {
                        t.push(n);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(t);
            }
            c => out.push(c.to_string()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_column_collations() {
        let sql = r#"CREATE TABLE "notes" (
            id integer PRIMARY KEY, -- the id, COLLATE NOCASE in a comment
            "tenant_id" text NOT NULL COLLATE nocase,
            body text CHECK (body <> 'a, b') COLLATE RTRIM,
            plain text,
            UNIQUE (tenant_id, body)
        )"#;
        assert_eq!(
            column_collation(sql, "tenant_id").as_deref(),
            Some("nocase")
        );
        assert_eq!(
            column_collation(sql, "TENANT_ID").as_deref(),
            Some("nocase")
        );
        assert_eq!(column_collation(sql, "body").as_deref(), Some("RTRIM"));
        assert_eq!(column_collation(sql, "plain"), None);
        assert_eq!(column_collation(sql, "id"), None);
        assert_eq!(
            column_collation(
                "CREATE TABLE t ([tenant_id] TEXT COLLATE BINARY)",
                "tenant_id"
            )
            .as_deref(),
            Some("BINARY")
        );
    }

    #[test]
    fn mysql_exact_collations() {
        let exact = |cs: &str, c: &str| mysql_collation_is_exact(Some(cs), Some(c));
        assert!(exact("utf8mb4", "utf8mb4_nopad_bin"));
        assert!(exact("utf8mb4", "utf8mb4_0900_bin"));
        assert!(exact("binary", "binary"));
        assert!(mysql_collation_is_exact(None, None));
        assert!(!exact("utf8mb4", "utf8mb4_general_ci"));
        assert!(!exact("utf8mb4", "utf8mb4_bin"), "pad space");
        assert!(!exact("utf8mb4", "utf8mb4_general_nopad_ci"));
        assert!(!exact("latin1", "latin1_swedish_ci"));
    }
}
