//! PostgreSQL rows to an export's JSON: the types with a binary decoder natively, every other
//! type (numeric, arrays, intervals, enums, domains, ...) as its text form.

use sea_query::{Alias, Expr, ExprTrait, SimpleExpr, Value};
use sqlx::{Column as _, Postgres, Row as _, TypeInfo as _, postgres::PgRow};

use crate::{
    driver::sealed::ExportRows,
    driver::typed::{common_cell, put_display},
    export::{
        ExportError,
        encode::{self, Enc, Plan, dec},
        schema::{ColumnInfo, TableInfo},
    },
};

impl ExportRows for Postgres {
    fn export_column(c: &ColumnInfo) -> SimpleExpr {
        let col = Expr::col(c.name.iden());
        if NATIVE.contains(&c.type_name.as_str()) {
            col
        } else {
            col.cast_as(Alias::new("text"))
        }
    }

    /// The tenant bound in the tenant field's own type where we can, so the index on it is used;
    /// any other type compares as text.
    fn export_tenant(field: &ColumnInfo, tenant: &str) -> Result<SimpleExpr, ExportError> {
        let bad = |what: &str| {
            ExportError::Refused(format!(
                "tenant id {tenant:?} is not {what}, the type of column `{}`",
                field.name
            ))
        };
        let tenant = match field.type_name.as_str() {
            "int2" | "int4" | "int8" => {
                let n: i64 = tenant.parse().map_err(|_| bad("an integer"))?;
                Expr::val(Value::BigInt(Some(n)))
            }
            "uuid" => {
                let id: uuid::Uuid = tenant.parse().map_err(|_| bad("a UUID"))?;
                Expr::val(Value::Uuid(Some(id)))
            }
            "text" | "varchar" | "bpchar" | "name" => Expr::val(tenant),
            _ => Expr::val(tenant).cast_as(Alias::new("text")),
        };
        // `citext`, or a nondeterministic collation: compare as text under "C" too.
        Ok(encode::tenant_eq(
            field,
            tenant,
            "CAST($1 AS text) COLLATE \"C\" = CAST($2 AS text) COLLATE \"C\"",
        ))
    }

    fn export_plan(row: &PgRow, table: &TableInfo) -> Result<Vec<Enc>, ExportError> {
        row.columns()
            .iter()
            .zip(&table.columns)
            .map(|(c, info)| enc(c.type_info().name(), info))
            .collect()
    }

    fn write_row(row: &PgRow, plan: &Plan, buf: &mut Vec<u8>) -> Result<(), ExportError> {
        encode::write_row(row, plan, buf, cell)
    }
}

/// Types read in their binary form; every other type is selected as `::text`.
const NATIVE: &[&str] = &[
    "bool",
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "text",
    "varchar",
    "bpchar",
    "name",
    "uuid",
    "json",
    "jsonb",
    "bytea",
    "timestamptz",
    "timestamp",
    "date",
    "time",
];

fn enc(type_name: &str, column: &ColumnInfo) -> Result<Enc, ExportError> {
    use Enc::*;
    Ok(match type_name {
        "BOOL" => Bool,
        "INT2" => I16,
        "INT4" => I32,
        "INT8" => I64,
        "FLOAT4" => F32,
        "FLOAT8" => F64,
        "TEXT" | "VARCHAR" | "CHAR" | "NAME" => Text,
        "UUID" => Uuid,
        "JSON" | "JSONB" => Json,
        "BYTEA" => Bytes,
        "TIMESTAMPTZ" => Timestamptz,
        "TIMESTAMP" => Timestamp,
        "DATE" => Date,
        "TIME" => Time,
        _ => {
            return Err(ExportError::Unsupported(format!(
                "column `{}` has type {type_name}, which tenantry cannot export",
                column.name
            )));
        }
    })
}

fn cell(row: &PgRow, i: usize, enc: Enc, buf: &mut Vec<u8>) -> Result<(), ExportError> {
    let raw = row.try_get_raw(i)?;
    match enc {
        Enc::Uuid => put_display(buf, dec::<Postgres, uuid::Uuid>(raw, i)?.hyphenated()),
        other => return common_cell::<Postgres>(raw, other, i, buf),
    }
    Ok(())
}
