//! An OpenAPI 3.1 document for mounted [`Crud`] resources, built from their definitions.

use serde_json::{Map, Value, json};

use super::{Crud, params::type_name};
use crate::data::{ColumnDef, ColumnType, IdKind};

fn schema_type(c: &ColumnDef) -> Value {
    let (ty, format) = match c.ty {
        ColumnType::Integer => ("integer", Some("int64")),
        ColumnType::Float => ("number", Some("double")),
        ColumnType::Bool => ("boolean", None),
        ColumnType::Timestamp => ("string", Some("date-time")),
        ColumnType::Uuid => ("string", Some("uuid")),
        ColumnType::Text => ("string", None),
        ColumnType::Json => return json!({}),
    };
    let mut s = json!({ "type": if c.nullable { json!([ty, "null"]) } else { json!(ty) } });
    if let Some(f) = format {
        s["format"] = json!(f);
    }
    s
}

fn pascal(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// The OpenAPI 3.1 document describing `cruds`: their five operations each, row, create and
/// patch schemas, the list page, the problem+json errors, and the bearer token and
/// `X-Tenant-Id` header the tenancy layer reads.
pub fn openapi(title: &str, version: &str, cruds: &[&Crud]) -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert(
        "Problem".into(),
        json!({
            "type": "object",
            "description": "RFC 9457 problem details",
            "required": ["type", "title", "status", "detail", "code"],
            "properties": {
                "type": {"type": "string", "format": "uri"}, "title": {"type": "string"},
                "status": {"type": "integer"}, "detail": {"type": "string"},
                "code": {"type": "string"}, "instance": {"type": "string"}
            }
        }),
    );
    for crud in cruds {
        let r = crud.resource();
        let name = pascal(r.table().as_str());
        let mut props = Map::new();
        let mut create_props = Map::new();
        let mut patch_props = Map::new();
        let mut required_create = Vec::new();
        for c in r.columns() {
            let mut s = schema_type(c);
            if c.immutable {
                s["readOnly"] = json!(true);
            }
            props.insert(c.name.to_string(), s.clone());
            let client_sets_id = c.name == *r.id() && r.id_kind() != IdKind::Integer;
            if !c.immutable || client_sets_id || c.name == *r.tenant_field() {
                let mut w = schema_type(c);
                if c.name == *r.tenant_field() {
                    w["description"] = json!(
                        "optional; must equal the resolved tenant (403 tenant_mismatch otherwise)"
                    );
                }
                create_props.insert(c.name.to_string(), w);
                let required = !c.nullable
                    && !c.has_default
                    && c.name != *r.tenant_field()
                    && (client_sets_id || c.name != *r.id())
                    && !(c.name == *r.id() && r.id_kind() == IdKind::Uuid);
                if required {
                    required_create.push(json!(c.name.as_str()));
                }
            }
            if !c.immutable {
                patch_props.insert(c.name.to_string(), schema_type(c));
            }
        }
        schemas.insert(name.clone(), json!({"type": "object", "properties": props}));
        schemas.insert(
            format!("{name}Create"),
            json!({"type": "object", "additionalProperties": false, "required": required_create, "properties": create_props}),
        );
        schemas.insert(
            format!("{name}Patch"),
            json!({"type": "object", "additionalProperties": false, "properties": patch_props}),
        );
        schemas.insert(
            format!("{name}Page"),
            json!({
                "type": "object", "required": ["total", "items", "limit", "offset"],
                "properties": {
                    "total": {"type": "integer"}, "limit": {"type": "integer"}, "offset": {"type": "integer"},
                    "items": {"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}}
                }
            }),
        );
        let row = json!({"$ref": format!("#/components/schemas/{name}")});
        let problem = |d: &str| json!({"description": d, "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
        let ok = |d: &str, s: Value| json!({"description": d, "content": {"application/json": {"schema": s}}});
        let body = |s: String| json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{s}")}}}});
        let errors = |extra: &[(&str, &str)]| {
            let mut m = Map::new();
            for (code, d) in [
                ("401", "no tenant, or an invalid token"),
                (
                    "403",
                    "not a member, unknown or suspended tenant, or tenant mismatch",
                ),
                ("503", "the database is unavailable"),
            ]
            .iter()
            .chain(extra)
            {
                m.insert((*code).into(), problem(d));
            }
            m
        };
        let mut list_params = vec![
            json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}}),
            json!({"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}),
            json!({"name": "order_by", "in": "query", "description": format!("comma-separated, '-' for descending; one of: {}", r.sortable().iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")), "schema": {"type": "string"}}),
            json!({"name": "q", "in": "query", "description": "case-insensitive substring search", "schema": {"type": "string"}}),
            json!({"name": "fields", "in": "query", "description": format!("comma-separated subset of: {}", r.searchable().iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")), "schema": {"type": "string"}}),
        ];
        for f in r.filterable() {
            if let Some(c) = r.column(f.as_str()) {
                list_params.push(json!({"name": f.as_str(), "in": "query", "description": format!("equality filter ({})", type_name(c.ty)), "schema": schema_type(c)}));
            }
        }
        let mut list_responses = errors(&[("422", "an unknown or invalid query parameter")]);
        list_responses.insert(
            "200".into(),
            ok(
                "a page of the tenant's rows",
                json!({"$ref": format!("#/components/schemas/{name}Page")}),
            ),
        );
        let mut create_responses = errors(&[
            ("400", "the body is not JSON"),
            ("409", "a unique key is taken in this tenant"),
            ("422", "a missing, null, mistyped or unknown field"),
        ]);
        create_responses.insert("201".into(), ok("created", row.clone()));
        let mut get_responses = errors(&[("404", "no such row for this tenant")]);
        get_responses.insert("200".into(), ok("the row", row.clone()));
        let mut patch_responses = errors(&[
            ("400", "the body is not JSON"),
            ("404", "no such row for this tenant"),
            ("409", "a unique key is taken in this tenant"),
            ("422", "an immutable, mistyped or unknown field"),
        ]);
        patch_responses.insert("200".into(), ok("the updated row", row));
        let mut delete_responses = errors(&[("404", "no such row for this tenant")]);
        delete_responses.insert("204".into(), json!({"description": "deleted"}));
        let id_param =
            json!([{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}]);
        let table = r.table().as_str();
        paths.insert(
            crud.prefix().to_owned(),
            json!({
                "get": {"operationId": format!("list_{table}"), "tags": [table], "parameters": list_params, "responses": list_responses},
                "post": {"operationId": format!("create_{table}"), "tags": [table], "requestBody": body(format!("{name}Create")), "responses": create_responses},
            }),
        );
        paths.insert(
            format!("{}/{{id}}", crud.prefix()),
            json!({
                "parameters": id_param,
                "get": {"operationId": format!("get_{table}"), "tags": [table], "responses": get_responses},
                "patch": {"operationId": format!("update_{table}"), "tags": [table], "requestBody": body(format!("{name}Patch")), "responses": patch_responses},
                "delete": {"operationId": format!("delete_{table}"), "tags": [table], "responses": delete_responses},
            }),
        );
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "tenantHeader": {"type": "apiKey", "in": "header", "name": "X-Tenant-Id"}
            }
        },
        "security": [{"bearer": []}, {"bearer": [], "tenantHeader": []}]
    })
}
