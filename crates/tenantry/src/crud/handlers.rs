//! The five handlers. Each needs a tenant (the `TenantId` extractor answers 401 without one)
//! and goes through [`TenantTable`].

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::{CrudState, params::list_query};
use crate::{
    TenantId,
    data::{DataError, JsonRow, Record, TenantTable},
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

fn service(state: &CrudState, tenant: TenantId) -> TenantTable {
    TenantTable::new(state.store.clone(), state.resource.clone(), tenant)
}

/// Reads a JSON object body: 415 without a JSON content type, 400 when it does not parse,
/// 422 when it is not an object.
fn object(headers: &HeaderMap, body: &Bytes) -> Result<Record, Box<Response>> {
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

/// A JSON answer from text already written (rows come from the data layer as JSON text, so
/// nothing is parsed or copied into a `Value` on the way out).
fn json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// `{"total":..,"items":[..],"limit":..,"offset":..}`, the rows' text copied in once.
fn page(total: u64, items: &[JsonRow], limit: u32, offset: u64) -> Vec<u8> {
    let head = format!("{{\"total\":{total},\"items\":[");
    let tail = format!("],\"limit\":{limit},\"offset\":{offset}}}");
    let rows: usize = items.iter().map(|r| r.as_bytes().len() + 1).sum();
    let mut out = Vec::with_capacity(head.len() + rows + tail.len());
    out.extend_from_slice(head.as_bytes());
    for (i, row) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(row.as_bytes());
    }
    out.extend_from_slice(tail.as_bytes());
    out
}

pub(crate) async fn list(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = list_query(&state.resource, raw.as_deref())?;
    let svc = service(&state, tenant);
    let items = svc.find_json(&query).await?;
    let total = svc.count_where(&query).await?;
    let body = page(total, &items, query.page.limit(), query.page.offset());
    Ok(json(StatusCode::OK, body))
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
    match service(&state, tenant).create_json(values).await {
        Ok(row) => {
            let location = format!("{}/{}", state.prefix, row.id_text().unwrap_or_default());
            let mut res = json(StatusCode::CREATED, row.into_bytes());
            if let Ok(v) = HeaderValue::from_str(&location) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        }
        Err(e) => ApiError(e).into_response(),
    }
}

pub(crate) async fn get(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    match service(&state, tenant).get_json(id.into()).await? {
        Some(row) => Ok(json(StatusCode::OK, row.into_bytes())),
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
    match service(&state, tenant).update_json(id.into(), patch).await {
        Ok(row) => json(StatusCode::OK, row.into_bytes()),
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
