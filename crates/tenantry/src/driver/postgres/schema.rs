//! What PostgreSQL's own catalog (`pg_class`, `pg_attribute`, `pg_index`) says about a table.

use sqlx::{PgConnection, PgPool, Postgres};

use crate::{
    data::{Backend, Ident},
    driver::sealed::Sealed,
    driver::{ColumnInfo, Generated, TableInfo, checked, sealed::Schema},
    export::{ExportError, PortableType},
};

impl Schema for Postgres {
    async fn describe(conn: &mut PgConnection, table: &Ident) -> Result<TableInfo, ExportError> {
        // `to_regclass` resolves the quoted name through the search path, like the queries will.
        let kind: Option<String> =
            sqlx::query_scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)")
                .bind(Postgres::quote(table))
                .fetch_optional(&mut *conn)
                .await?;
        let Some(kind) = kind.filter(|k| ["r", "p", "v", "m", "f"].contains(&k.as_str())) else {
            return Err(ExportError::UnknownTable(table.to_string()));
        };
        /// name, type, identity, generated, serial, exact, format_type, not null, default
        type ColumnRow = (
            String,
            String,
            String,
            String,
            bool,
            bool,
            String,
            bool,
            Option<String>,
        );
        let rows: Vec<ColumnRow> = sqlx::query_as(
            "SELECT a.attname::text, t.typname::text, a.attidentity::text, a.attgenerated::text, \
                    COALESCE(pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%', false), \
                    NOT (t.typname = 'citext' OR (t.typtype = 'd' AND EXISTS ( \
                        SELECT 1 FROM pg_type b WHERE b.oid = t.typbasetype AND b.typname = 'citext'))) \
                    AND COALESCE(co.collisdeterministic, true), \
                    format_type(a.atttypid, a.atttypmod), a.attnotnull, \
                    pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_attribute a \
             JOIN pg_type t ON t.oid = a.atttypid \
             LEFT JOIN pg_collation co ON co.oid = a.attcollation \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
        )
        .bind(Postgres::quote(table))
        .fetch_all(&mut *conn)
        .await?;
        let mut columns = Vec::with_capacity(rows.len());
        for (name, ty, identity, generated, serial, exact, declared, not_null, default) in rows {
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
                declared,
                nullable: !not_null,
                default,
            });
        }
        let pk: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i \
             CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
             WHERE i.indrelid = to_regclass($1) AND i.indisprimary ORDER BY k.ord",
        )
        .bind(Postgres::quote(table))
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
            is_table: kind == "r" || kind == "p",
            backend: Backend::Postgres,
        })
    }

    fn portable_type(c: &ColumnInfo) -> PortableType {
        let declared = c.declared.as_str();
        match c.type_name.as_str() {
            "bool" => PortableType::Boolean,
            "int2" => PortableType::SmallInt,
            "int4" => PortableType::Integer,
            "int8" => PortableType::BigInt,
            "float4" => PortableType::Real,
            "float8" => PortableType::Double,
            "numeric" => PortableType::numeric(declared),
            "text" => PortableType::Text,
            "varchar" => PortableType::sized(declared, PortableType::Varchar, PortableType::Text),
            "bpchar" => PortableType::sized(declared, PortableType::Char, PortableType::Text),
            "bytea" => PortableType::Bytes,
            "json" => PortableType::Json,
            "jsonb" => PortableType::Jsonb,
            "uuid" => PortableType::Uuid,
            "timestamptz" => PortableType::Timestamptz,
            "timestamp" => PortableType::Timestamp,
            "date" => PortableType::Date,
            "time" => PortableType::Time,
            // Arrays, intervals, enums, domains, ranges, `citext`, ...
            _ => PortableType::Unsupported,
        }
    }

    /// Base tables of the current schema with a column `field`, by name.
    async fn tables_with(pool: &PgPool, field: &Ident) -> Result<Vec<String>, ExportError> {
        Ok(sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_class c \
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
        WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
        AND c.relkind IN ('r', 'p') AND NOT c.relispartition AND a.attname = $1 \
        ORDER BY c.relname COLLATE \"C\"",
        )
        .bind(field.as_str())
        .fetch_all(pool)
        .await?)
    }
}
