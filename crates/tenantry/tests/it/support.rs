//! Shared helpers: an app that reports what tenancy decided, tokens, and a request runner.

use axum::{Json, Router, body::Body, routing::get};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tenantry::{OptionalTenantId, TenantContext, TenantId};
use tower::{Service, ServiceExt};

pub const SECRET: &[u8] = b"integration-test-secret";
pub const RSA_PRIVATE: &[u8] = include_bytes!("keys/rsa_private.pem");
pub const RSA_PUBLIC: &[u8] = include_bytes!("keys/rsa_public.pem");
pub const EC_PRIVATE: &[u8] = include_bytes!("keys/ec_private.pem");
pub const EC_PUBLIC: &[u8] = include_bytes!("keys/ec_public.pem");

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims for `sub`, valid for an hour.
pub fn claims(sub: &str, tenant: Option<&str>, tenants: &[&str]) -> Value {
    let mut c = json!({"sub": sub, "exp": now() + 3600});
    if let Some(t) = tenant {
        c["tenant_id"] = t.into();
    }
    if !tenants.is_empty() {
        c["tenants"] = tenants.into();
    }
    c
}

/// An HS256 token signed with [`SECRET`].
pub fn hs256(claims: &Value) -> String {
    sign(Algorithm::HS256, &EncodingKey::from_secret(SECRET), claims)
}

pub fn sign(alg: Algorithm, key: &EncodingKey, claims: &Value) -> String {
    encode(&Header::new(alg), claims, key).unwrap()
}

/// Routes that report the tenancy outcome as JSON.
pub fn router() -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route("/optional", get(optional))
        .route(
            "/path",
            get(|uri: http::Uri| async move { uri.to_string() }),
        )
}

async fn whoami(ctx: TenantContext) -> Json<Value> {
    Json(json!({
        "tenant_id": ctx.tenant(),
        "resolved_by": ctx.resolved_by(),
        "subject": ctx.principal().map(|p| p.subject()),
        "task_local": tenantry::current_tenant().ok(),
    }))
}

async fn optional(OptionalTenantId(t): OptionalTenantId) -> Json<Value> {
    Json(json!({ "tenant_id": t.as_ref().map(TenantId::as_str) }))
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn tenant(&self) -> &str {
        self.body["tenant_id"].as_str().unwrap_or("")
    }

    /// Asserts a problem+json refusal with `status` and `code`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.code(), code, "body: {}", self.text);
        assert_eq!(self.headers["content-type"], "application/problem+json");
        for field in ["type", "title", "status", "detail"] {
            assert!(
                !self.body[field].is_null(),
                "problem lacks {field}: {}",
                self.text
            );
        }
        assert_eq!(self.body["status"], status);
    }

    #[track_caller]
    pub fn assert_ok(&self, tenant: &str, resolved_by: &str) {
        assert_eq!(self.status, 200, "body: {}", self.text);
        assert_eq!(self.tenant(), tenant, "body: {}", self.text);
        assert_eq!(self.body["resolved_by"], resolved_by, "body: {}", self.text);
        assert_eq!(self.body["task_local"], tenant, "body: {}", self.text);
    }
}

pub fn req(uri: &str) -> http::request::Builder {
    Request::get(uri)
}

pub trait Send_ {
    fn send(self) -> Request<Body>;
}

impl Send_ for http::request::Builder {
    fn send(self) -> Request<Body> {
        self.body(Body::empty()).unwrap()
    }
}

/// Calls `app` once with `req`.
pub async fn call<S>(app: &S, req: Request<Body>) -> Reply
where
    S: Service<Request<Body>, Response = http::Response<Body>> + Clone,
    S::Error: std::fmt::Debug,
{
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}
