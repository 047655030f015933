//! The document's parts: refusal responses, parameters and schemas, each as the server checks
//! what it describes.

use serde_json::{Map, Value, json};

use crate::crud::{Crud, count::Count, params::type_name};
use crate::{
    TenantId,
    data::{Backend, ColumnDef, ColumnType, IdKind, Ident, Resource},
    problem::{ProblemCode, TYPE},
};

/// The tenant id pattern of the standard rule ([`TenantId::parse`]).
pub(super) const TENANT_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._-]*$";

/// What every request to a tenant-scoped route can be refused with: enforcement, rate limits,
/// and the server side.
pub(super) const TENANT_SCOPED: &[ProblemCode] = &[
    ProblemCode::TenantInvalid,
    ProblemCode::TenantUnresolvable,
    ProblemCode::TenantContextMissing,
    ProblemCode::Unauthenticated,
    ProblemCode::TenantForbidden,
    ProblemCode::TenantSuspended,
    ProblemCode::TenantMismatch,
    ProblemCode::TenantLocked,
    ProblemCode::RateLimited,
    ProblemCode::QuotaExceeded,
    ProblemCode::Internal,
    ProblemCode::StoredValueInvalid,
    ProblemCode::Unavailable,
];

/// What reading a JSON body can be refused with.
pub(super) const BODY: &[ProblemCode] = &[
    ProblemCode::InvalidJson,
    ProblemCode::PayloadTooLarge,
    ProblemCode::UnsupportedMediaType,
    ProblemCode::ValidationFailed,
];

/// The row, create, patch and page schemas of resource `r`, named `name`, `{name}Create`, ...
pub(super) fn row_schemas(r: &Resource, backend: Backend, name: &str) -> Vec<(String, Value)> {
    let mut out = Vec::with_capacity(4);
    let mut row = Map::new();
    let mut create = Map::new();
    let mut patch = Map::new();
    let mut required = Vec::new();
    for c in r.columns() {
        let tenant = c.name == *r.tenant_field();
        let id = c.name == *r.id();
        let mut read = column_schema(c, backend, id || tenant);
        if c.immutable {
            read["readOnly"] = json!(true);
        }
        row.insert(c.name.to_string(), read);
        let write = if tenant {
            json!({"type": "string", "pattern": TENANT_PATTERN, "maxLength": TenantId::MAX_LEN,
                "description": "optional; must be the request's tenant (403 tenant_mismatch otherwise)"})
        } else {
            column_schema(c, backend, id)
        };
        // Create takes every column but an id the database assigns (immutable ones too:
        // they are set on create, never changed after).
        if !(id && r.id_kind() == IdKind::Integer) {
            create.insert(c.name.to_string(), write.clone());
        }
        let needed = match r.id_kind() {
            _ if tenant => false,
            IdKind::Text if id => true,
            _ if id => false,
            _ => !c.nullable && !c.has_default,
        };
        if needed {
            required.push(json!(c.name.as_str()));
        }
        if tenant || !c.immutable {
            patch.insert(c.name.to_string(), write);
        }
    }
    let all: Vec<&str> = r.columns().iter().map(|c| c.name.as_str()).collect();
    out.push((
        name.to_owned(),
        json!({"type": "object", "additionalProperties": false, "required": all, "properties": row}),
    ));
    out.push((
        format!("{name}Create"),
        json!({"type": "object", "additionalProperties": false, "required": required, "properties": create}),
    ));
    out.push((
        format!("{name}Patch"),
        json!({"type": "object", "additionalProperties": false, "properties": patch,
            "description": "the fields to change; the others keep their values ({} changes nothing)"}),
    ));
    out.push((
        format!("{name}Page"),
        json!({
            "type": "object", "additionalProperties": false,
            "required": ["items", "limit", "offset"],
            "properties": {
                "total": {"type": "integer", "minimum": 0, "description": "how many rows match the filters and \
                    search (not only those after `after`), counted as `count` asks; absent with `count=none`"},
                "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}},
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
                "offset": {"type": "integer", "minimum": 0, "maximum": i64::MAX},
                "next_cursor": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "description":
                    "present when more rows follow: pass it as `after` for the next page"},
            }
        }),
    ));
    out
}

pub(super) fn tenant_header() -> Value {
    json!({"name": "X-Tenant-Id", "in": "header", "required": false,
        "description": "the tenant to act for, among those the token names (needed when it names several)",
        "schema": {"type": "string", "pattern": TENANT_PATTERN, "minLength": 1, "maxLength": TenantId::MAX_LEN}})
}

/// A response per status that `TENANT_SCOPED` and `extra` answer with, each naming its codes.
pub(super) fn refusals(extra: &[ProblemCode]) -> Map<String, Value> {
    let mut out = Map::new();
    for code in ProblemCode::ALL {
        let status = code.status();
        if out.contains_key(status.as_str())
            || !(TENANT_SCOPED.contains(code) || extra.contains(code))
        {
            continue;
        }
        let codes: Vec<ProblemCode> = ProblemCode::with_status(status)
            .filter(|c| TENANT_SCOPED.contains(c) || extra.contains(c))
            .collect();
        let description = codes
            .iter()
            .map(|c| format!("`{c}`: {}", c.meaning()))
            .collect::<Vec<_>>()
            .join("; ");
        let schema = json!({"allOf": [
            {"$ref": "#/components/schemas/Problem"},
            {"properties": {"status": {"const": status.as_u16()}, "code": {"enum": codes}}},
        ]});
        let mut response = json!({"description": description,
            "content": {"application/problem+json": {"schema": schema}}});
        match status.as_u16() {
            401 => {
                response["headers"] = json!({"WWW-Authenticate": {"required": true,
                    "schema": {"type": "string", "const": "Bearer"}}})
            }
            429 => response["headers"] = limit_headers(true),
            _ => {}
        }
        out.insert(status.as_str().to_owned(), response);
    }
    out
}

/// The rate-limit headers: on a refusal they are all there, with `Retry-After`; elsewhere when
/// a limit counts the request.
pub(super) fn limit_headers(refused: bool) -> Value {
    let n = |d: &str| json!({"required": refused, "schema": {"type": "integer", "minimum": 0}, "description": d});
    let mut h = json!({
        "X-RateLimit-Limit": n("the bucket's size"),
        "X-RateLimit-Remaining": n("requests that may still be made at once"),
        "X-RateLimit-Reset": n("seconds until the bucket is full again"),
    });
    if refused {
        h["Retry-After"] = n("seconds until a request would be allowed");
    }
    h
}

/// `limit`, `offset`, `after`, `count` (and `Prefer`), `order_by`, `q`, `fields` and the
/// equality filters, as the server parses them (`params.rs`, `count.rs`).
pub(super) fn list_parameters(crud: &Crud) -> Vec<Value> {
    let r = crud.resource();
    let backend = crud.store.backend();
    let names =
        |cols: &[Ident]| -> Vec<String> { cols.iter().map(|c| c.as_str().to_owned()).collect() };
    let sortable = names(r.sortable());
    let orders: Vec<String> = sortable
        .iter()
        .flat_map(|c| [c.clone(), format!("-{c}")])
        .collect();
    let searchable = names(r.searchable());
    let mut params = vec![
        json!({"name": "limit", "in": "query", "description": "rows at most",
            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}}),
        json!({"name": "offset", "in": "query", "description": "rows skipped",
            "schema": {"type": "integer", "minimum": 0, "maximum": i64::MAX, "default": 0}}),
        json!({"name": "after", "in": "query", "description": "keyset pagination: the `next_cursor` of the \
            previous page, to read the rows after its last one (as fast however deep). Opaque and signed; bound \
            to the tenant, the resource and the `order_by` it was issued for (with the same filters, the pages \
            neither overlap nor skip). Any other value is 400 `cursor_invalid`; empty is the first page",
            "schema": {"type": "string"}}),
        json!({"name": "count", "in": "query", "description": "how `total` is counted (wins over `Prefer`): \
            `exact` (the default), `planned` (the query planner's estimate; exact on SQLite), `estimated` \
            (exact below a threshold, else planned), `none` (no total)",
            "schema": {"type": "string", "enum": Count::NAMES}}),
        // Any value is accepted: a preference not understood is ignored (RFC 7240), so the
        // schema cannot be narrower than a string without describing refusals that never come.
        json!({"name": "Prefer", "in": "header", "description": "RFC 7240 preferences; `count=exact`, \
            `count=planned`, `count=estimated` or `count=none` as the `count` parameter (PostgREST's), \
            answered with `Preference-Applied`; anything else is ignored",
            "schema": {"type": "string"},
            "examples": {"none": {"value": "count=none"}, "planned": {"value": "count=planned"}}}),
        json!({"name": "order_by", "in": "query", "style": "form", "explode": false,
            "description": "comma-separated sort keys, `-` for descending (the id breaks ties; by id when empty)",
            "schema": {"type": "array", "items": {"type": "string", "enum": orders}}}),
    ];
    if !searchable.is_empty() {
        params.push(json!({"name": "q", "in": "query",
            "description": "case-insensitive substring searched for in the `fields` (`%`, `_` and `\\` match themselves)",
            "schema": {"type": "string"}}));
        params.push(json!({"name": "fields", "in": "query", "style": "form", "explode": false,
            "description": "where `q` searches (every searchable field by default); not a selection of output \
                columns, and without `q` it changes nothing",
            "schema": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": searchable}}}));
    }
    for f in r.filterable() {
        if let Some(c) = r.column(f.as_str()) {
            params.push(json!({"name": f.as_str(), "in": "query",
                "description": format!("only rows whose `{f}` equals this ({})", type_name(c.ty)),
                "schema": column_schema(&ColumnDef { nullable: false, ..c.clone() }, backend, false)}));
        }
    }
    params
}

/// A column's JSON schema on `backend`, with the constraints that backend enforces.
pub(super) fn column_schema(c: &ColumnDef, backend: Backend, key: bool) -> Value {
    let mut s = match c.ty {
        ColumnType::Integer => {
            json!({"type": "integer", "format": "int64", "minimum": i64::MIN, "maximum": i64::MAX})
        }
        ColumnType::Float => json!({"type": "number", "format": "double"}),
        ColumnType::Bool => json!({"type": "boolean"}),
        ColumnType::Timestamp => json!({"type": "string", "format": "date-time"}),
        ColumnType::Uuid => json!({"type": "string", "format": "uuid"}),
        ColumnType::Text => {
            let mut s = json!({"type": "string"});
            match backend {
                // The DDL's varchar lengths (`data/ddl.rs`); strict mode refuses longer text.
                Backend::MySql => s["maxLength"] = json!(if key { 64 } else { 255 }),
                // PostgreSQL text cannot hold U+0000.
                Backend::Postgres => s["pattern"] = json!("^[^\\u0000]*$"),
                _ => {}
            }
            s
        }
        ColumnType::Json => return json!({}),
    };
    if c.nullable {
        let ty = s["type"].clone();
        s["type"] = json!([ty, "null"]);
    }
    s
}

pub(super) fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": format!("RFC 9457 problem details. `type` is always `{TYPE}` and `title` the status's \
            reason phrase: the problem's kind is its `code`."),
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "format": "uri"},
            "title": {"type": "string"},
            "status": {"type": "integer", "minimum": 400, "maximum": 599},
            "detail": {"type": "string", "description": "what went wrong with this request"},
            "code": {"type": "string", "description": "the stable machine-readable code"},
            "instance": {"type": "string", "format": "uri-reference", "description": "the request's path"},
        }
    })
}

pub(super) fn pascal(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}
