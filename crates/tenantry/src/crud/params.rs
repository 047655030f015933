//! The list's query string: `limit`, `offset`, `order_by`, `q`, `fields`, `after`, `count`, and
//! equality filters on declared fields. Anything else is refused, naming the parameter. What is
//! accepted is exactly what the OpenAPI document ([`super::openapi`]) describes.

use serde_json::Value as Json;

use super::count::Count;
use crate::data::{ColumnType, DataError, ListQuery, Order, Page, Resource};

/// A list request's query string, parsed.
#[derive(Debug)]
pub(crate) struct ListParams {
    /// What to list (`after` not yet decoded: see `cursor`).
    pub(crate) query: ListQuery,
    /// `count=`, if given.
    pub(crate) count: Option<Count>,
    /// `after=`, if given and not empty.
    pub(crate) cursor: Option<String>,
}

/// Parses a raw query string into [`ListParams`] for `resource`.
pub(crate) fn list_params(resource: &Resource, raw: Option<&str>) -> Result<ListParams, DataError> {
    let mut count = None;
    let mut cursor = None;
    let mut limit: Option<u32> = None;
    let mut offset: u64 = 0;
    let mut query = ListQuery::new();
    let mut q: Option<String> = None;
    let mut fields: Option<Vec<String>> = None;
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if seen.iter().any(|k| *k == key) {
            return Err(DataError::query(
                key.into_owned(),
                "is given more than once",
            ));
        }
        seen.push(key.to_string());
        match key.as_ref() {
            "limit" => {
                let n: u32 = value
                    .parse()
                    .map_err(|_| DataError::query("limit", "must be an integer from 1 to 1000"))?;
                limit = Some(n);
            }
            "offset" => {
                offset = value.parse().map_err(|_| {
                    DataError::query("offset", "must be an integer from 0 to 9223372036854775807")
                })?;
            }
            // An empty list asks for no particular order: the default (by id).
            "order_by" if value.trim().is_empty() => {}
            "order_by" => query.order = Order::parse_list(&value)?,
            "q" => q = Some(value.into_owned()),
            // An empty cursor is the first page, so that a loop can start with `after=`.
            "after" if value.is_empty() => {}
            "after" => cursor = Some(value.into_owned()),
            "count" => {
                count = Some(Count::parse(&value).ok_or_else(|| {
                    DataError::query("count", "must be one of exact, planned, estimated, none")
                })?);
            }
            "fields" => {
                let names: Vec<String> = value.split(',').map(|f| f.trim().to_owned()).collect();
                // Checked here too, not only by the search: `fields` without `q` is accepted,
                // and still refused when it names what is not searchable.
                let searchable = |n: &String| resource.searchable().iter().any(|s| s.as_str() == n);
                if let Some(bad) = names.iter().find(|n| !searchable(n)) {
                    return Err(DataError::query(
                        "fields",
                        format!("{bad:?} is not a searchable field"),
                    ));
                }
                fields = Some(names);
            }
            name => {
                let col = resource
                    .filterable()
                    .iter()
                    .find(|f| f.as_str() == name)
                    .and_then(|f| resource.column(f.as_str()))
                    .ok_or_else(|| DataError::query(name, "is not a known query parameter"))?;
                let typed = typed(col.ty, &value).ok_or_else(|| {
                    DataError::query(name, format!("must be a {}", type_name(col.ty)))
                })?;
                query.filters.push((name.to_owned(), typed));
            }
        }
    }
    query.page = Page::new(limit.unwrap_or(Page::DEFAULT_LIMIT), offset)?;
    // `fields` only narrows a search: without `q` there is none, and it changes nothing (an
    // OpenAPI document cannot say that one parameter needs another, so it is not refused).
    if let Some(q) = q {
        query.search = Some(crate::data::Search { q, fields });
    }
    Ok(ListParams {
        query,
        count,
        cursor,
    })
}

/// A query-string value as the JSON value of a column's type.
fn typed(ty: ColumnType, value: &str) -> Option<Json> {
    Some(match ty {
        ColumnType::Integer => Json::from(value.parse::<i64>().ok()?),
        // JSON has no NaN or infinities (and a filter on them would match nothing anyway).
        ColumnType::Float => Json::from(value.parse::<f64>().ok().filter(|f| f.is_finite())?),
        ColumnType::Bool => Json::from(value.parse::<bool>().ok()?),
        _ => Json::String(value.to_owned()),
    })
}

pub(crate) fn type_name(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Integer => "integer",
        ColumnType::Float => "number",
        ColumnType::Bool => "boolean",
        ColumnType::Timestamp => "timestamp",
        ColumnType::Uuid => "UUID",
        ColumnType::Json => "JSON value",
        _ => "string",
    }
}
