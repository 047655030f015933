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
                json: c.type_name == "json" || c.type_name == "jsonb",
            })
            .collect())
    }

    fn write_row(row: &SqliteRow, plan: &Plan, buf: &mut Vec<u8>) -> Result<(), ExportError> {
        encode::write_row(row, plan, buf, cell)
    }
}

fn cell(row: &SqliteRow, i: usize, enc: Enc, buf: &mut Vec<u8>) -> Result<(), ExportError> {
    let raw = row.try_get_raw(i)?;
    let Enc::Dynamic { boolean, json } = enc else {
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
        _ if json => put_json_text(buf, dec::<Sqlite, _>(raw, i)?),
        _ => put_str(buf, dec::<Sqlite, _>(raw, i)?),
    }
    Ok(())
}
