//! Values in: JSON from the outside, checked against a column, converted to the value bound on
//! the driver.

use chrono::{DateTime, Utc};
use serde_json::Value as Json;

use super::{ColumnDef, ColumnType, DataError};
use crate::driver::Driver;

/// A row as the data layer reads and writes it: column name to JSON value.
pub type Record = serde_json::Map<String, Json>;

/// Checks `v` against `col` and converts it to the value bound on `D`.
pub(crate) fn to_sql<D: Driver>(col: &ColumnDef, v: &Json) -> Result<sea_query::Value, DataError> {
    use sea_query::Value as V;
    let name = col.name.as_str();
    let wrong = |what: &str| DataError::Validation(format!("field `{name}` must be {what}"));
    if v.is_null() {
        if !col.nullable {
            return Err(DataError::Validation(format!(
                "field `{name}` may not be null"
            )));
        }
        return Ok(D::null_value(col.ty));
    }
    Ok(match col.ty {
        ColumnType::Integer => V::BigInt(Some(integer(v).ok_or_else(|| wrong("an integer"))?)),
        ColumnType::Float => V::Double(Some(v.as_f64().ok_or_else(|| wrong("a number"))?)),
        ColumnType::Text => V::String(Some(
            v.as_str().ok_or_else(|| wrong("a string"))?.to_owned(),
        )),
        ColumnType::Bool => V::Bool(Some(v.as_bool().ok_or_else(|| wrong("true or false"))?)),
        ColumnType::Timestamp => {
            let at = v
                .as_str()
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .ok_or_else(|| wrong("an RFC 3339 timestamp"))?
                .with_timezone(&Utc);
            D::timestamp_value(at)
        }
        ColumnType::Uuid => {
            let id = v
                .as_str()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or_else(|| wrong("a UUID"))?;
            D::uuid_value(id)
        }
        ColumnType::Json => D::json_value(v.clone()),
    })
}

/// An integer, also when written with a zero fraction (`662.0`): JSON Schema counts it as one,
/// so clients generated from the OpenAPI document may send it. Only up to 2^53, where every
/// integer has exactly one float spelling and nothing is rounded.
fn integer(v: &Json) -> Option<i64> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    v.as_i64().or_else(|| {
        let f = v.as_f64()?;
        // The range check makes the cast exact.
        #[allow(clippy::cast_possible_truncation)]
        (f.fract() == 0.0 && f.abs() <= EXACT).then_some(f as i64)
    })
}
