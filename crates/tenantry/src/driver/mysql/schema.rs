//! What MariaDB / MySQL's `information_schema` says about a table.

use sqlx::{MySql, MySqlConnection, MySqlPool};

use crate::{
    data::{Backend, Ident},
    driver::{ColumnInfo, Generated, TableInfo, checked, sealed::Schema},
    export::{ExportError, PortableType},
};

impl Schema for MySql {
    async fn describe(conn: &mut MySqlConnection, table: &Ident) -> Result<TableInfo, ExportError> {
        let kind: Option<String> = sqlx::query_scalar(
            "SELECT CAST(table_type AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE() AND table_name = ?",
        )
        .bind(table.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(kind) = kind else {
            return Err(ExportError::UnknownTable(table.to_string()));
        };
        /// name, data type, column type, extra, character set, collation, nullable, default
        type ColumnRow = (
            String,
            String,
            String,
            String,
            Option<String>,
            Option<String>,
            String,
            Option<String>,
        );
        let rows: Vec<ColumnRow> = sqlx::query_as(
            "SELECT CAST(column_name AS CHAR), CAST(LOWER(data_type) AS CHAR), \
                    CAST(LOWER(column_type) AS CHAR), CAST(LOWER(extra) AS CHAR), \
                    CAST(character_set_name AS CHAR), CAST(collation_name AS CHAR), \
                    CAST(is_nullable AS CHAR), CAST(column_default AS CHAR) \
             FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position",
        )
        .bind(table.as_str())
        .fetch_all(&mut *conn)
        .await?;
        // MariaDB's JSON is `longtext` plus a `json_valid(col)` check; MySQL has no `table_name`
        // in this view (and a real JSON type), so an error here just means "none".
        let checks: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(check_clause AS CHAR) FROM information_schema.check_constraints \
             WHERE constraint_schema = DATABASE() AND table_name = ?",
        )
        .bind(table.as_str())
        .fetch_all(&mut *conn)
        .await
        .unwrap_or_default();
        let mut columns = Vec::with_capacity(rows.len());
        for (name, ty, column_type, extra, charset, collation, nullable, default) in rows {
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
                declared: column_type.clone(),
                column_type,
                nullable: nullable == "YES",
                // MariaDB prints a NULL default as `NULL`.
                default: default.filter(|d| d != "NULL"),
                generated,
                json_text,
                exact: super::audit::collation_is_exact(charset.as_deref(), collation.as_deref()),
            });
        }
        let pk: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage \
             WHERE table_schema = DATABASE() AND table_name = ? AND constraint_name = 'PRIMARY' \
             ORDER BY ordinal_position",
        )
        .bind(table.as_str())
        .fetch_all(&mut *conn)
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

    fn portable_type(c: &ColumnInfo) -> PortableType {
        let unsigned = c.column_type.contains("unsigned");
        match c.type_name.as_str() {
            // MariaDB's JSON keeps its text; MySQL 8's normalises it.
            _ if c.json_text => PortableType::Json,
            "json" => PortableType::Jsonb,
            "tinyint" if c.column_type.starts_with("tinyint(1)") => PortableType::Boolean,
            "tinyint" => PortableType::SmallInt,
            "smallint" if unsigned => PortableType::Integer,
            "smallint" => PortableType::SmallInt,
            "mediumint" => PortableType::Integer,
            "int" | "integer" if unsigned => PortableType::BigInt,
            "int" | "integer" => PortableType::Integer,
            "bigint" if unsigned => PortableType::BigIntUnsigned,
            "bigint" => PortableType::BigInt,
            "float" => PortableType::Real,
            "double" | "real" => PortableType::Double,
            "decimal" | "numeric" => PortableType::numeric(&c.column_type),
            "char" => PortableType::sized(&c.column_type, PortableType::Char, PortableType::Text),
            "varchar" => {
                PortableType::sized(&c.column_type, PortableType::Varchar, PortableType::Text)
            }
            "tinytext" | "text" | "mediumtext" | "longtext" => PortableType::Text,
            "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => {
                PortableType::Bytes
            }
            "timestamp" => PortableType::Timestamptz,
            "datetime" => PortableType::Timestamp,
            "date" => PortableType::Date,
            "time" => PortableType::Time,
            "uuid" => PortableType::Uuid,
            // ENUM, SET, YEAR, BIT, geometry, ...
            _ => PortableType::Unsupported,
        }
    }

    /// Base tables of the current database with a column `field`, by name.
    async fn tables_with(pool: &MySqlPool, field: &Ident) -> Result<Vec<String>, ExportError> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(c.table_name AS CHAR) FROM information_schema.columns c \
        JOIN information_schema.tables t \
        ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
        WHERE c.table_schema = DATABASE() AND c.column_name = ? \
        AND t.table_type = 'BASE TABLE' ORDER BY CAST(c.table_name AS BINARY)",
        )
        .bind(field.as_str())
        .fetch_all(pool)
        .await?)
    }
}
