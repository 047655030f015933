//! Whether SQLite tenant columns compare exactly: no `COLLATE NOCASE`, `RTRIM` or an
//! application's own collation. SQLite has no catalog of column collations, so the table's
//! `CREATE TABLE` text is read.

use sqlx::Sqlite;
use sqlx::SqlitePool;

use crate::{
    data::{DataError, TenantColumn},
    driver::sealed::Audit,
};

impl Audit for Sqlite {
    async fn audit_tenant_columns(
        pool: &SqlitePool,
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
pub(super) fn column_is_exact(create: &str, column: &str) -> bool {
    column_collation(create, column).is_none_or(|c| c.eq_ignore_ascii_case("binary"))
}

/// The `COLLATE` name in the definition of column `column` inside a SQLite `CREATE TABLE`
/// statement, if it has one.
///
/// SQLite keeps the statement as written; the definitions are the top-level, comma-separated
/// parts between the outermost parentheses (quotes and nested parentheses respected), and a
/// column's definition starts with its (possibly quoted) name.
pub(super) fn column_collation(create: &str, column: &str) -> Option<String> {
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
}
