//! The five handlers. Each needs a tenant (the `TenantId` extractor answers 401 without one)
//! and goes through [`TenantScopedService`].

use std::sync::Arc;

use axum::{
    Json,
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::Value;

use super::{CrudState, params::list_query};
use crate::{
    TenantId,
    data::{DataError, Row, TenantScopedService},
    problem::Problem,
};

/// A data error as problem+json; server-side failures are logged with their cause.
pub(crate) struct ApiError(pub(crate) DataError);

impl From<DataError> for ApiError {
    fn from(e: DataError) -> Self {
        Self(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status = e.status();
        if status.is_server_error() {
            tracing::error!(error = ?e, "data operation failed");
        }
        let title = match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Tenant mismatch",
            StatusCode::CONFLICT => "Conflict",
            StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
            StatusCode::UNPROCESSABLE_ENTITY => "Validation failed",
            _ => "Internal error",
        };
        Problem::new(status, e.code(), title, e.to_string()).into_response()
    }
}

fn problem(status: StatusCode, code: &'static str, title: &'static str, detail: &str) -> Response {
    Problem::new(status, code, title, detail).into_response()
}

fn service(state: &CrudState, tenant: TenantId) -> TenantScopedService {
    TenantScopedService::new(state.db.clone(), state.resource.clone(), tenant)
}

/// Reads a JSON object body: 415 without a JSON content type, 400 when it does not parse,
/// 422 when it is not an object.
fn object(headers: &HeaderMap, body: &Bytes) -> Result<Row, Box<Response>> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| {
            let m = m.trim().to_ascii_lowercase();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
        .unwrap_or(false);
    if !json_type {
        return Err(Box::new(problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Unsupported media type",
            "send the body as application/json",
        )));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Box::new(
            ApiError(DataError::Validation(
                "the body must be a JSON object".into(),
            ))
            .into_response(),
        )),
        Err(_) => Err(Box::new(problem(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            "Invalid JSON",
            "the body is not valid JSON",
        ))),
    }
}

/// The list answer, serialized straight from the rows (no intermediate `Value` copy of the page).
#[derive(Serialize)]
pub(crate) struct PageBody {
    total: u64,
    items: Vec<Row>,
    limit: u32,
    offset: u64,
}

pub(crate) async fn list(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    RawQuery(raw): RawQuery,
) -> Result<Json<PageBody>, ApiError> {
    let query = list_query(&state.resource, raw.as_deref())?;
    let svc = service(&state, tenant);
    let items = svc.find(&query).await?;
    let total = svc.count_where(&query).await?;
    Ok(Json(PageBody {
        total,
        items,
        limit: query.page.limit(),
        offset: query.page.offset(),
    }))
}

pub(crate) async fn create(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let values = match object(&headers, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match service(&state, tenant).create(values).await {
        Ok(row) => {
            let id = row
                .get(state.resource.id().as_str())
                .map(id_text)
                .unwrap_or_default();
            let location = format!("{}/{}", state.prefix, id);
            let mut res = (StatusCode::CREATED, Json(Value::Object(row))).into_response();
            if let Ok(v) = HeaderValue::from_str(&location) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        }
        Err(e) => ApiError(e).into_response(),
    }
}

fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) async fn get(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match service(&state, tenant).get(id).await? {
        Some(row) => Ok(Json(Value::Object(row))),
        None => Err(ApiError(DataError::NotFound)),
    }
}

pub(crate) async fn update(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let patch = match object(&headers, &body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    match service(&state, tenant).update(id, patch).await {
        Ok(row) => Json(Value::Object(row)).into_response(),
        Err(e) => ApiError(e).into_response(),
    }
}

pub(crate) async fn delete(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    service(&state, tenant).delete(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
