//! The five handlers. Each needs a tenant (the `TenantId` extractor answers 401 without one)
//! and goes through [`TenantTable`]. Every refusal is problem+json naming the request's
//! path as `instance`, including the ones axum's extractors would answer in plain text.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::{
        Path, RawQuery, State,
        rejection::{BytesRejection, PathRejection},
    },
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use super::{
    CrudState,
    count::{Count, PREFERENCE_APPLIED},
    params::{ListParams, list_params},
};
use crate::{
    TenantId,
    data::{DataError, JsonRow, Order, Record, TenantTable},
    problem::{Problem, ProblemCode},
};

/// A data error as the problem of the request at `uri`; server-side failures are logged with
/// their cause.
fn refusal(e: DataError, uri: &Uri) -> Problem {
    if e.status().is_server_error() {
        tracing::error!(error = ?e, "data operation failed");
    }
    problem(e.code(), e.to_string(), uri)
}

fn refuse(e: DataError, uri: &Uri) -> Response {
    refusal(e, uri).into_response()
}

fn problem(code: ProblemCode, detail: impl Into<String>, uri: &Uri) -> Problem {
    Problem::new(code, detail).with_instance(uri.path())
}

fn service(state: &CrudState, tenant: TenantId) -> TenantTable {
    TenantTable::new(state.store.clone(), state.resource.clone(), tenant)
}

/// The path's id; a path segment that does not decode (invalid UTF-8) names no row.
fn id(path: Result<Path<String>, PathRejection>, uri: &Uri) -> Result<String, Problem> {
    path.map(|Path(id)| id)
        .map_err(|_| problem(ProblemCode::NotFound, DataError::NotFound.to_string(), uri))
}

/// Reads a JSON object body: 413 when it is too large, 415 without a JSON content type, 400 when
/// it does not parse, 422 when it is not an object.
fn object(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    uri: &Uri,
) -> Result<Record, Problem> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            problem(
                ProblemCode::PayloadTooLarge,
                "the body is larger than this service accepts",
                uri,
            )
        } else {
            problem(ProblemCode::InvalidJson, "the body could not be read", uri)
        }
    })?;
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
        return Err(problem(
            ProblemCode::UnsupportedMediaType,
            "send the body as application/json",
            uri,
        ));
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(refusal(
            DataError::Validation("the body must be a JSON object".into()),
            uri,
        )),
        Err(_) => Err(problem(
            ProblemCode::InvalidJson,
            "the body is not valid JSON",
            uri,
        )),
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

/// `{"total":..,"items":[..],"limit":..,"offset":..,"next_cursor":..}`, the rows' text copied
/// in once; `total` only when counted, `next_cursor` only when more rows follow.
fn page(
    total: Option<u64>,
    items: &[JsonRow],
    limit: u32,
    offset: u64,
    next: Option<&str>,
) -> Vec<u8> {
    let head = match total {
        Some(total) => format!("{{\"total\":{total},\"items\":["),
        None => "{\"items\":[".to_owned(),
    };
    let mut tail = format!("],\"limit\":{limit},\"offset\":{offset}");
    if let Some(next) = next {
        // base64url: nothing in it needs escaping.
        tail.push_str(",\"next_cursor\":\"");
        tail.push_str(next);
        tail.push('"');
    }
    tail.push('}');
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

/// The sort key values of `row` (one per key: the order's columns, then the id).
fn position(row: &JsonRow, keys: &[Order]) -> Result<Vec<Value>, DataError> {
    let mut row: Record = serde_json::from_slice(row.as_bytes())
        .map_err(|e| DataError::Decode(format!("a row read back as JSON: {e}")))?;
    Ok(keys
        .iter()
        .map(|k| row.remove(k.column()).unwrap_or(Value::Null))
        .collect())
}

pub(crate) async fn list(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    uri: Uri,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let run = async {
        let ListParams {
            mut query,
            count,
            cursor,
        } = list_params(&state.resource, raw.as_deref())?;
        let asked = count.or_else(|| Count::preferred(&headers));
        let keys = query.sort_keys(state.resource.id().as_str());
        let scope = state
            .cursor
            .scope(state.resource.table().as_str(), &tenant, &keys);
        if let Some(cursor) = cursor {
            query.after = Some(state.cursor.decode(&scope, &cursor)?);
        }
        let svc = service(&state, tenant);
        let (items, more) = svc.find_page_json(&query).await?;
        let next = match items.last() {
            Some(last) if more => Some(state.cursor.encode(&scope, &position(last, &keys)?)),
            _ => None,
        };
        let (total, applied) = match asked.unwrap_or(Count::Exact) {
            Count::Exact => (Some(svc.count_where(&query).await?), Count::Exact),
            Count::None => (None, Count::None),
            mode @ (Count::Planned | Count::Estimated) => match svc.estimate_where(&query).await? {
                // Few rows expected: counting them is cheap, and exact.
                Some(n) if mode == Count::Estimated && n < state.exact_below => {
                    (Some(svc.count_where(&query).await?), mode)
                }
                Some(n) => (Some(n), mode),
                // No estimate on this backend: the exact count, and `Preference-Applied` says so.
                None => (Some(svc.count_where(&query).await?), Count::Exact),
            },
        };
        let body = page(
            total,
            &items,
            query.page.limit(),
            query.page.offset(),
            next.as_deref(),
        );
        Ok::<_, DataError>((body, asked.map(|_| applied)))
    };
    match run.await {
        Ok((body, applied)) => {
            let mut res = json(StatusCode::OK, body);
            let h = res.headers_mut();
            h.insert(header::VARY, HeaderValue::from_static("prefer"));
            if let Some(applied) = applied {
                h.insert(
                    PREFERENCE_APPLIED.clone(),
                    HeaderValue::from_static(applied.applied()),
                );
            }
            res
        }
        Err(e) => refuse(e, &uri),
    }
}

pub(crate) async fn create(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let values = match object(&headers, body, &uri) {
        Ok(v) => v,
        Err(p) => return p.into_response(),
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
        Err(e) => refuse(e, &uri),
    }
}

pub(crate) async fn get(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match id(path, &uri) {
        Ok(id) => id,
        Err(p) => return p.into_response(),
    };
    match service(&state, tenant).get_json(id.into()).await {
        Ok(Some(row)) => json(StatusCode::OK, row.into_bytes()),
        Ok(None) => refuse(DataError::NotFound, &uri),
        Err(e) => refuse(e, &uri),
    }
}

pub(crate) async fn update(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let patch = id(path, &uri).and_then(|id| Ok((id, object(&headers, body, &uri)?)));
    let (id, patch) = match patch {
        Ok(v) => v,
        Err(p) => return p.into_response(),
    };
    match service(&state, tenant).update_json(id.into(), patch).await {
        Ok(row) => json(StatusCode::OK, row.into_bytes()),
        Err(e) => refuse(e, &uri),
    }
}

pub(crate) async fn delete(
    State(state): State<Arc<CrudState>>,
    tenant: TenantId,
    uri: Uri,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match id(path, &uri) {
        Ok(id) => id,
        Err(p) => return p.into_response(),
    };
    match service(&state, tenant).delete(id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => refuse(e, &uri),
    }
}
