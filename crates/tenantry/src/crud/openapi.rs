//! An OpenAPI 3.1 document for mounted [`Crud`] resources, built from their definitions, that
//! says exactly what the server accepts and answers.
//!
//! Every operation lists each status it can answer with, each refusal as problem+json whose
//! `code` is one of those named for that status; parameters and bodies carry the constraints
//! the server enforces (ranges, the sortable and searchable fields, the id's type, lengths on
//! MariaDB, no NUL characters on PostgreSQL). The bearer token is the security scheme, and
//! `X-Tenant-Id` an optional header parameter of every tenant-scoped operation.
//!
//! The document describes the default setup, a bearer token required; behind a trusted gateway
//! (`trusted_gateway(true)`) the header alone is enough, which it does not say.

mod parts;

use serde_json::{Map, Value, json};

use self::parts::{
    BODY, column_schema, limit_headers, list_parameters, pascal, problem_schema, refusals,
    tenant_header,
};
use super::{Crud, count::Count};
use crate::{data::ColumnType, problem::ProblemCode};

/// The OpenAPI 3.1 document describing `cruds`; see [`OpenApi`] to add other operations.
pub fn openapi(title: &str, version: &str, cruds: &[&Crud]) -> Value {
    cruds
        .iter()
        .fold(OpenApi::new(title, version), |doc, crud| doc.crud(crud))
        .into_json()
}

/// Builds an OpenAPI 3.1 document: [`Crud`] resources, and the application's own operations
/// (tenant-scoped ones get the bearer token, the tenant header and every refusal of the
/// tenancy and limit layers).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use serde_json::json;
/// use tenantry::{crud::{Crud, OpenApi}, data::{Column, DataStore, Resource}};
///
/// let db = DataStore::connect("sqlite::memory:").await.unwrap();
/// let items = Resource::builder("items").integer_id("id").column(Column::text("name"))
///     .sortable(["id", "name"]).build().unwrap();
/// let crud = Crud::new(db, items).at("/api/items").unwrap();
/// let doc = OpenApi::new("my service", "1.0.0")
///     .crud(&crud)
///     .tenant_operation("get", "/api/whoami", json!({"responses": {"200": {"description": "who"}}}))
///     .operation("get", "/healthz", json!({"responses": {"200": {"description": "up"}}}))
///     .into_json();
/// let list = &doc["paths"]["/api/items"]["get"];
/// assert_eq!(list["responses"]["400"]["content"]["application/problem+json"]["schema"]["allOf"][1]
///     ["properties"]["code"]["enum"], json!(["tenant_invalid", "tenant_unresolvable", "cursor_invalid"]));
/// assert_eq!(doc["paths"]["/api/items/{id}"]["parameters"][0]["schema"]["type"], "integer");
/// assert!(doc["paths"]["/api/whoami"]["get"]["responses"]["429"].is_object());
/// assert_eq!(doc["paths"]["/healthz"]["get"]["security"], json!([]));
/// # });
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct OpenApi {
    title: String,
    version: String,
    paths: Map<String, Value>,
    schemas: Map<String, Value>,
}

impl OpenApi {
    /// An empty document.
    pub fn new(title: &str, version: &str) -> Self {
        let mut schemas = Map::new();
        schemas.insert("Problem".into(), problem_schema());
        Self {
            title: title.to_owned(),
            version: version.to_owned(),
            paths: Map::new(),
            schemas,
        }
    }

    /// Adds a resource's five operations and its row, create, patch and page schemas.
    pub fn crud(mut self, crud: &Crud) -> Self {
        let r = crud.resource();
        let backend = crud.store.backend();
        let name = pascal(r.table().as_str());
        let reference = |s: &str| json!({"$ref": format!("#/components/schemas/{s}")});
        for (key, schema) in parts::row_schemas(r, backend, &name) {
            self.schemas.insert(key, schema);
        }

        let table = r.table().as_str();
        let id_column = r.column(r.id().as_str());
        let id_schema = id_column.map_or(json!({"type": "string"}), |c| {
            let mut s = column_schema(c, backend, true);
            if c.ty == ColumnType::Text {
                s["minLength"] = json!(1);
            }
            s
        });
        let body = |s: String| json!({"required": true, "content": {"application/json": {"schema": reference(&s)}}});
        let with_row = |d: &str| json!({"description": d, "content": {"application/json": {"schema": reference(&name)}}});
        let links = json!({
            "get": {"operationId": format!("get_{table}"), "parameters": {"id": format!("$response.body#/{}", r.id())}},
            "update": {"operationId": format!("update_{table}"), "parameters": {"id": format!("$response.body#/{}", r.id())}},
            "delete": {"operationId": format!("delete_{table}"), "parameters": {"id": format!("$response.body#/{}", r.id())}},
        });

        let list = operation(
            format!("list_{table}"),
            table,
            format!("The tenant's {table}, a page at a time."),
            [list_parameters(crud), vec![tenant_header()]].concat(),
            None,
            &[ProblemCode::ValidationFailed, ProblemCode::CursorInvalid],
            [("200", {
                let mut headers = limit_headers(false);
                headers["Preference-Applied"] = json!({"required": false, "description":
                    "the count mode applied, when one was asked for (by `count` or `Prefer`): `count=exact` \
                    where `planned` or `estimated` was asked of a backend without an estimate",
                    "schema": {"type": "string", "enum": Count::NAMES.map(|n| format!("count={n}"))}});
                json!({"description": "a page of the tenant's rows", "headers": headers,
                    "content": {"application/json": {"schema": reference(&format!("{name}Page"))}}})
            })],
        );
        let mut created = with_row("created; `Location` is the row's URL");
        created["headers"] = limit_headers(false);
        created["headers"]["Location"] =
            json!({"required": true, "schema": {"type": "string"}, "description": "the row's URL"});
        created["links"] = links;
        let create = operation(
            format!("create_{table}"),
            table,
            "Creates a row for the tenant (the server sets the tenant field).".into(),
            vec![tenant_header()],
            Some(body(format!("{name}Create"))),
            &[BODY, &[ProblemCode::Conflict]].concat(),
            [("201", created)],
        );
        let get = operation(
            format!("get_{table}"),
            table,
            "One of the tenant's rows; another tenant's row is the same 404.".into(),
            vec![tenant_header()],
            None,
            &[ProblemCode::NotFound],
            [("200", with_row("the row"))],
        );
        let update = operation(
            format!("update_{table}"),
            table,
            "Changes fields of one of the tenant's rows.".into(),
            vec![tenant_header()],
            Some(body(format!("{name}Patch"))),
            &[BODY, &[ProblemCode::NotFound, ProblemCode::Conflict]].concat(),
            [("200", with_row("the row as stored"))],
        );
        let delete = operation(
            format!("delete_{table}"),
            table,
            "Deletes one of the tenant's rows.".into(),
            vec![tenant_header()],
            None,
            &[ProblemCode::NotFound],
            [("204", json!({"description": "deleted"}))],
        );
        self.paths.insert(
            crud.prefix().to_owned(),
            json!({"get": list, "post": create}),
        );
        self.paths.insert(
            format!("{}/{{id}}", crud.prefix()),
            json!({
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": id_schema,
                    "description": format!("the row's `{}`", r.id())}],
                "get": get, "patch": update, "delete": delete,
            }),
        );
        self
    }

    /// Adds an operation of the application's own on a tenant-scoped route: every refusal of
    /// the tenancy and limit layers is added to the responses `operation` lists (its own
    /// entries win).
    pub fn tenant_operation(mut self, method: &str, path: &str, mut operation: Value) -> Self {
        let responses = &mut operation["responses"];
        for (status, response) in refusals(&[]) {
            if responses.get(&status).is_none() {
                responses[status] = response;
            }
        }
        match operation["parameters"].as_array_mut() {
            Some(params) => params.push(tenant_header()),
            None => operation["parameters"] = json!([tenant_header()]),
        }
        self.insert(method, path, operation);
        self
    }

    /// Adds an operation as it is; one without `security` is marked public (`security: []`).
    pub fn operation(mut self, method: &str, path: &str, mut operation: Value) -> Self {
        if operation.get("security").is_none() {
            operation["security"] = json!([]);
        }
        self.insert(method, path, operation);
        self
    }

    fn insert(&mut self, method: &str, path: &str, operation: Value) {
        let item = self.paths.entry(path).or_insert_with(|| json!({}));
        item[method.to_ascii_lowercase()] = operation;
    }

    /// The document.
    pub fn into_json(self) -> Value {
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": self.title,
                "version": self.version,
                "description": "Every request names its tenant by its bearer token (or by `X-Tenant-Id` among \
                    the token's tenants); refusals are RFC 9457 problems whose `code` says why.",
            },
            "paths": self.paths,
            "components": {
                "schemas": self.schemas,
                "securitySchemes": {
                    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                        "description": "a token naming the caller's tenant (`tenant_id`) or tenants (`tenants`)"},
                },
            },
            "security": [{"bearer": []}],
        })
    }
}

/// One operation: `codes` are the refusals it adds to every tenant-scoped one.
fn operation<const N: usize>(
    id: String,
    tag: &str,
    summary: String,
    parameters: Vec<Value>,
    body: Option<Value>,
    codes: &[ProblemCode],
    success: [(&str, Value); N],
) -> Value {
    let mut responses = refusals(codes);
    for (status, response) in success {
        responses.insert(status.into(), response);
    }
    let mut op = json!({"operationId": id, "tags": [tag], "summary": summary,
        "parameters": parameters, "responses": responses});
    if let Some(body) = body {
        op["requestBody"] = body;
    }
    op
}
