//! Whether MariaDB / MySQL tenant columns compare exactly.

use sqlx::MySql;
use sqlx::MySqlPool;

use crate::{
    data::{DataError, TenantColumn},
    driver::sealed::Audit,
};

impl Audit for MySql {
    async fn audit_tenant_columns(
        pool: &MySqlPool,
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
                let exact = collation_is_exact(charset.as_deref(), collation.as_deref());
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

/// Whether a MariaDB / MySQL collation compares exactly: a binary collation that does not pad
/// (`*_nopad_bin`, MySQL 8's `*_0900_bin`), or the `binary` character set. Anything else,
/// `*_ci` and the pad-space `utf8mb4_bin` included, does not.
pub(super) fn collation_is_exact(charset: Option<&str>, collation: Option<&str>) -> bool {
    match (charset, collation) {
        (_, None) => true, // not a text column: numbers and UUIDs compare exactly
        (Some("binary"), _) | (_, Some("binary")) => true,
        (_, Some(c)) => c.ends_with("_bin") && (c.contains("_nopad_") || c.contains("_0900_")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_exact_collations() {
        let exact = |cs: &str, c: &str| collation_is_exact(Some(cs), Some(c));
        assert!(exact("utf8mb4", "utf8mb4_nopad_bin"));
        assert!(exact("utf8mb4", "utf8mb4_0900_bin"));
        assert!(exact("binary", "binary"));
        assert!(collation_is_exact(None, None));
        assert!(!exact("utf8mb4", "utf8mb4_general_ci"));
        assert!(!exact("utf8mb4", "utf8mb4_bin"), "pad space");
        assert!(!exact("utf8mb4", "utf8mb4_general_nopad_ci"));
        assert!(!exact("latin1", "latin1_swedish_ci"));
    }
}
