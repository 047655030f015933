//! What SQLite's own catalog (`sqlite_master`, `pragma_table_xinfo`) says about a table.

use sqlx::{Sqlite, SqliteConnection, SqlitePool};

use crate::{
    data::{Backend, Ident},
    driver::{ColumnInfo, Generated, TableInfo, checked, sealed::Schema},
    export::{ExportError, PortableType},
};

impl Schema for Sqlite {
    async fn describe(
        conn: &mut SqliteConnection,
        table: &Ident,
    ) -> Result<TableInfo, ExportError> {
        let found: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT type, sql FROM sqlite_master WHERE name = ?1 AND type IN ('table', 'view')",
        )
        .bind(table.as_str())
        .fetch_optional(&mut *conn)
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
        let rows: Vec<(String, String, i64, i64, bool, Option<String>)> = sqlx::query_as(
            "SELECT name, type, pk, hidden, \"notnull\", dflt_value \
             FROM pragma_table_xinfo(?1) ORDER BY cid",
        )
        .bind(table.as_str())
        .fetch_all(&mut *conn)
        .await?;
        let mut columns = Vec::with_capacity(rows.len());
        let mut pk: Vec<(i64, Ident)> = Vec::new();
        for (name, decl, key, hidden, not_null, default) in &rows {
            if *hidden == 1 {
                continue; // hidden column of a virtual table
            }
            let name = checked(&format!("column of table `{table}`"), name)?;
            if *key > 0 {
                pk.push((*key, name.clone()));
            }
            let decl = decl.to_ascii_lowercase();
            let exact = super::audit::column_is_exact(&ddl, name.as_str());
            columns.push(ColumnInfo {
                name,
                column_type: decl.clone(),
                declared: decl.clone(),
                type_name: decl,
                nullable: !not_null,
                default: default.clone(),
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
            c.nullable = false;
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

    /// By the declared type, as SQLite reads its affinity and as tenantry declares the types
    /// it creates (`decimal_text`, `int4`, `float4`, `timestamptz`, `jsonb`).
    fn portable_type(c: &ColumnInfo) -> PortableType {
        let t = c.type_name.as_str();
        let base = t.split('(').next().unwrap_or_default().trim();
        match base {
            _ if t.contains("bool") => PortableType::Boolean,
            _ if t.starts_with("jsonb") => PortableType::Jsonb,
            _ if t.starts_with("json") => PortableType::Json,
            _ if t.starts_with("decimal") || t.starts_with("numeric") => PortableType::numeric(t),
            "smallint" | "int2" | "tinyint" => PortableType::SmallInt,
            "int4" | "mediumint" => PortableType::Integer,
            _ if t.contains("int") => PortableType::BigInt,
            "varchar" | "character varying" | "varying character" | "nvarchar"
            | "native character" => {
                PortableType::sized(t, PortableType::Varchar, PortableType::Text)
            }
            "char" | "character" | "nchar" => {
                PortableType::sized(t, PortableType::Char, PortableType::Text)
            }
            _ if t.contains("char") || t.contains("clob") || t.contains("text") => {
                PortableType::Text
            }
            _ if t.contains("blob") => PortableType::Bytes,
            "float4" => PortableType::Real,
            _ if t.contains("real") || t.contains("floa") || t.contains("doub") => {
                PortableType::Double
            }
            _ if t.contains("timestamptz") => PortableType::Timestamptz,
            _ if t.contains("timestamp") || t.contains("datetime") => PortableType::Timestamp,
            "date" => PortableType::Date,
            "time" => PortableType::Time,
            "uuid" => PortableType::Uuid,
            // No type (takes anything), or one that says nothing portable.
            _ => PortableType::Unsupported,
        }
    }

    /// Base tables of the current database with a column `field`, by name.
    async fn tables_with(pool: &SqlitePool, field: &Ident) -> Result<Vec<String>, ExportError> {
        Ok(sqlx::query_scalar(
            "SELECT m.name FROM sqlite_master m, pragma_table_xinfo(m.name) p \
        WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
        AND p.name = ?1 COLLATE NOCASE ORDER BY m.name",
        )
        .bind(field.as_str())
        .fetch_all(pool)
        .await?)
    }
}
