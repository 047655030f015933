//! SQLite rows to an export's JSON: by each value's storage class (SQLite keeps what it was
//! given), refined by the declared type (`BOOLEAN`, `JSON`).

use sea_query::{Expr, SimpleExpr};
use sqlx::{Row as _, Sqlite, TypeInfo as _, ValueRef as _, sqlite::SqliteRow};

use crate::{
    driver::{each_value::put_json_text, sealed::ExportRows},
    export::{
        ExportError,
        encode::{self, Enc, Plan, dec, put_bool, put_bytes, put_f64, put_num, put_str},
        schema::{ColumnInfo, TableInfo},
    },
};

impl ExportRows for Sqlite {
    fn export_column(c: &ColumnInfo) -> SimpleExpr {
        Expr::col(c.name.iden())
    }

    fn export_tenant(field: &ColumnInfo, tenant: &str) -> Result<SimpleExpr, ExportError> {
        // `COLLATE NOCASE` (or RTRIM) on the column: compare with BINARY too.
        Ok(encode::tenant_eq(
            field,
            Expr::val(tenant),
            "? = ? COLLATE BINARY",
        ))
    }

    fn export_plan(_: &SqliteRow, table: &TableInfo) -> Result<Vec<Enc>, ExportError> {
        Ok(table
            .columns
            .iter()
            .map(|c| Enc::Dynamic {
                boolean: c.type_name.contains("bool"),
                json: c.type_name.starts_with("json"),
                bytes: c.type_name.contains("blob"),
                timestamp: c.type_name.contains("timestamp") || c.type_name.contains("datetime"),
            })
            .collect())
    }

    fn write_row(row: &SqliteRow, plan: &Plan, buf: &mut Vec<u8>) -> Result<(), ExportError> {
        encode::write_row(row, plan, buf, cell)
    }
}

fn cell(row: &SqliteRow, i: usize, enc: Enc, buf: &mut Vec<u8>) -> Result<(), ExportError> {
    let raw = row.try_get_raw(i)?;
    let Enc::Dynamic {
        boolean,
        json,
        bytes,
        timestamp,
    } = enc
    else {
        return Err(ExportError::Unsupported(format!(
            "column {i}: {enc:?} is not a SQLite encoding"
        )));
    };
    // The value's storage class, not the declared type: SQLite keeps what it was given.
    let class = raw.type_info();
    match class.name() {
        "INTEGER" if boolean => put_bool(buf, dec::<Sqlite, i64>(raw, i)? != 0),
        "INTEGER" => put_num(buf, dec::<Sqlite, i64>(raw, i)?),
        "REAL" => put_f64(buf, dec::<Sqlite, _>(raw, i)?),
        "BLOB" => put_bytes(buf, dec::<Sqlite, _>(raw, i)?),
        // Text in a column declared BLOB: its bytes, so that import (which reads a BLOB
        // column's values as base64) takes it back.
        "TEXT" if bytes => put_bytes(buf, dec::<Sqlite, &[u8]>(raw, i)?),
        _ if json => put_json_text(buf, dec::<Sqlite, _>(raw, i)?),
        // RFC 3339 text in a timestamp column: as every backend writes it (UTC, a fraction
        // of 0, 3 or 6 digits), so it moves between backends unchanged; any other text as
        // it is.
        _ if timestamp => {
            let text: &str = dec::<Sqlite, _>(raw, i)?;
            match chrono::DateTime::parse_from_rfc3339(text) {
                // AutoSi: no fraction, or 3, 6 or 9 digits, as PostgreSQL's and MariaDB's
                // exports write one.
                Ok(at) => put_str(
                    buf,
                    &at.with_timezone(&chrono::Utc)
                        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                ),
                Err(_) => put_str(buf, text),
            }
        }
        _ => put_str(buf, dec::<Sqlite, _>(raw, i)?),
    }
    Ok(())
}
