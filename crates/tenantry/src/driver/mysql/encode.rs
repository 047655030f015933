//! MariaDB / MySQL rows to an export's JSON. DECIMAL, ENUM and SET arrive as text and travel as
//! such; MariaDB's `JSON` is text with a `json_valid` check, written as the JSON itself.

use sea_query::{Expr, SimpleExpr};
use sqlx::{Column as _, MySql, Row as _, TypeInfo as _, mysql::MySqlRow};

use crate::{
    driver::{
        each_value::put_json_text,
        sealed::ExportRows,
        typed::{common_cell, put_display, put_time},
    },
    export::{
        ExportError,
        encode::{self, Enc, Plan, dec, put_num},
        schema::{ColumnInfo, TableInfo},
    },
};

impl ExportRows for MySql {
    fn export_column(c: &ColumnInfo) -> SimpleExpr {
        Expr::col(c.name.iden())
    }

    fn export_tenant(field: &ColumnInfo, tenant: &str) -> Result<SimpleExpr, ExportError> {
        // A case-insensitive or pad-space collation: compare the bytes too.
        Ok(encode::tenant_eq(
            field,
            Expr::val(tenant),
            "CAST(? AS BINARY) = CAST(? AS BINARY)",
        ))
    }

    fn export_plan(row: &MySqlRow, table: &TableInfo) -> Result<Vec<Enc>, ExportError> {
        row.columns()
            .iter()
            .zip(&table.columns)
            .map(|(c, info)| enc(c.type_info().name(), info))
            .collect()
    }

    fn write_row(row: &MySqlRow, plan: &Plan, buf: &mut Vec<u8>) -> Result<(), ExportError> {
        encode::write_row(row, plan, buf, cell)
    }
}

/// The catalog's (`information_schema.columns.data_type`) character types.
const TEXT: &[&str] = &[
    "char",
    "varchar",
    "tinytext",
    "text",
    "mediumtext",
    "longtext",
    "enum",
    "set",
];

fn enc(type_name: &str, column: &ColumnInfo) -> Result<Enc, ExportError> {
    use Enc::*;
    Ok(match type_name {
        _ if column.json_text => JsonText,
        // A character column with a binary collation (`utf8mb4_nopad_bin`, which tenantry gives
        // every text column it creates) arrives flagged binary, as `VARBINARY` or `BLOB`: the
        // catalog says it is text, and text it stays (not base64).
        _ if TEXT.contains(&column.type_name.as_str()) => Text,
        "BOOLEAN" => Bool,
        "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" => I64,
        "TINYINT UNSIGNED" | "SMALLINT UNSIGNED" | "INT UNSIGNED" | "MEDIUMINT UNSIGNED"
        | "BIGINT UNSIGNED" => U64,
        "FLOAT" => F32,
        "DOUBLE" => F64,
        // DECIMAL travels as its exact decimal text, as do the character types.
        "DECIMAL" | "CHAR" | "VARCHAR" | "TINYTEXT" | "TEXT" | "MEDIUMTEXT" | "LONGTEXT"
        | "ENUM" | "SET" => Text,
        "JSON" => Json,
        "BINARY" | "VARBINARY" | "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BIT"
        | "GEOMETRY" => Bytes,
        "TIMESTAMP" => Timestamptz,
        "DATETIME" => Timestamp,
        "DATE" => Date,
        "TIME" => MySqlTime,
        "YEAR" => Year,
        "NULL" => Null,
        _ => {
            return Err(ExportError::Unsupported(format!(
                "column `{}` has type {type_name}, which tenantry cannot export",
                column.name
            )));
        }
    })
}

fn cell(row: &MySqlRow, i: usize, enc: Enc, buf: &mut Vec<u8>) -> Result<(), ExportError> {
    let raw = row.try_get_raw(i)?;
    match enc {
        Enc::U64 => put_num(buf, dec::<MySql, u64>(raw, i)?),
        Enc::JsonText => put_json_text(buf, dec::<MySql, _>(raw, i)?),
        Enc::MySqlTime => {
            let v = dec::<MySql, sqlx::mysql::types::MySqlTime>(raw, i)?;
            // A time of day as every backend writes one (`07:08:09.250`); a duration beyond
            // one day, or negative, as MariaDB writes it (`-838:59:59`).
            match chrono::NaiveTime::try_from(v) {
                Ok(t) => put_time(buf, t),
                Err(_) => put_display(buf, v),
            }
        }
        Enc::Year => put_num(buf, dec::<MySql, u16>(raw, i)?),
        other => return common_cell::<MySql>(raw, other, i, buf),
    }
    Ok(())
}
