//! RFC 9457 `application/problem+json` bodies for every refusal tenantry makes.
//!
//! Every problem carries a stable `code`; the codes are part of the public contract:
//!
//! | code | status | meaning |
//! |---|---|---|
//! | `tenant_context_missing` | 401 | no tenant was resolved for a tenant-scoped route |
//! | `tenant_invalid` | 400 | the tenant id is malformed |
//! | `tenant_unresolvable` | 400 | a resolver (for example an override hook) refused the request |
//! | `unauthenticated` | 401 | a bearer token is invalid, expired or wrongly signed, or a principal is required and absent |
//! | `tenant_forbidden` | 403 | the caller is not a member of the tenant, or the tenant is unknown (the same answer) |
//! | `tenant_suspended` | 403 | the tenant is suspended |
//! | `tenant_locked` | 423 | the tenant is being provisioned or moved; writes are paused |
//! | `tenant_mismatch` | 403 | two sources name different tenants |
//! | `unavailable` | 503 | the catalog or membership backend could not be reached |
//! | `internal` | 500 | the application is misconfigured (for example an extractor without its layer) |

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::Serialize;

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Base of the `type` URI of every problem; the code is the fragment.
pub const TYPE_BASE: &str = "https://docs.rs/tenantry/latest/tenantry/problem/index.html#";

/// One RFC 9457 problem.
///
/// ```
/// use tenantry::problem::Problem;
/// use http::StatusCode;
///
/// let p = Problem::new(StatusCode::FORBIDDEN, "tenant_forbidden", "Forbidden", "no access");
/// let res: http::Response<axum::body::Body> = p.to_response();
/// assert_eq!(res.status(), 403);
/// assert_eq!(res.headers()["content-type"], "application/problem+json");
/// assert!(String::from_utf8_lossy(&p.to_json()).contains(r#""code":"tenant_forbidden""#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short human summary of the kind of problem.
    pub title: &'static str,
    /// The HTTP status, repeated.
    #[serde(serialize_with = "ser_status")]
    pub status: StatusCode,
    /// What went wrong with this request.
    pub detail: String,
    /// The stable machine-readable code.
    pub code: &'static str,
    /// The request path, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

fn ser_status<S: serde::Serializer>(s: &StatusCode, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_u16(s.as_u16())
}

/// The problem's `code`, also put in the response's extensions so that logging and metrics layers
/// can read it without parsing the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemCode(pub &'static str);

impl Problem {
    /// A problem with the given status, code, title and detail.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            type_uri: format!("{TYPE_BASE}{code}"),
            title,
            status,
            detail: detail.into(),
            code,
            instance: None,
        }
    }

    /// Sets `instance`.
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// The JSON body.
    pub fn to_json(&self) -> Bytes {
        // Serializing a struct of strings and a number cannot fail.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    /// A complete response: status, `Content-Type: application/problem+json`, the JSON body, and
    /// [`ProblemCode`] in the extensions. A 401 `unauthenticated` also carries
    /// `WWW-Authenticate: Bearer`.
    pub fn to_response<B: From<Bytes>>(&self) -> Response<B> {
        let mut res = Response::new(B::from(self.to_json()));
        *res.status_mut() = self.status;
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.code == "unauthenticated" {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res.extensions_mut().insert(ProblemCode(self.code));
        res
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for Problem {
    fn into_response(self) -> axum_core::response::Response {
        self.to_response()
    }
}
