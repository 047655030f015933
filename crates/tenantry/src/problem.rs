//! RFC 9457 `application/problem+json` bodies for every refusal tenantry makes.
//!
//! Every problem carries a stable `code` (a [`ProblemCode`]); the codes are part of the public
//! contract, and each has one status:
//!
//! | code | status | meaning |
//! |---|---|---|
//! | `tenant_context_missing` | 401 | no tenant was resolved for a tenant-scoped route |
//! | `tenant_invalid` | 400 | the tenant id is malformed |
//! | `tenant_unresolvable` | 400 | a resolver (for example an override hook) refused the request |
//! | `unauthenticated` | 401 | a bearer token is invalid, expired or wrongly signed, or a principal is required and absent |
//! | `tenant_forbidden` | 403 | the caller is not a member of the tenant, or the tenant is unknown (the same answer) |
//! | `tenant_suspended` | 403 | the tenant is suspended |
//! | `tenant_mismatch` | 403 | two sources name different tenants, or a body names another tenant |
//! | `tenant_locked` | 423 | the tenant is being provisioned or moved; writes are paused |
//! | `not_found` | 404 | no such row for this tenant, or no route at this path |
//! | `method_not_allowed` | 405 | the path exists but not with this method (`Allow` lists those that do) |
//! | `invalid_json` | 400 | the body is not valid JSON, or could not be read |
//! | `cursor_invalid` | 400 | the `after` cursor is malformed or altered, or was issued for another tenant, resource or order (start again from the first page) |
//! | `payload_too_large` | 413 | the body is larger than the service accepts |
//! | `request_timeout` | 408 | the request, its body included, took longer than the service allows |
//! | `unsupported_media_type` | 415 | the body is not sent as `application/json` |
//! | `validation_failed` | 422 | a field or query parameter is missing, unknown, mistyped, out of range or immutable |
//! | `conflict` | 409 | a unique key already holds these values in this tenant |
//! | `rate_limited` | 429 | too many requests in a short time (`Retry-After` says when to retry) |
//! | `quota_exceeded` | 429 | a long-window request quota is used up (`Retry-After` says when to retry) |
//! | `unavailable` | 503 | the catalog, the database or the rate-limit store could not be reached |
//! | `internal` | 500 | the application is misconfigured or the database failed; never the client's mistake |
//! | `stored_value_invalid` | 500 | a stored row holds a value its column's type cannot read (`detail` names the column); the data needs repair, not the request |
//!
//! # The `type` member
//!
//! Every problem's `type` is `about:blank` ([`TYPE`]), and its `title` is the status's reason
//! phrase (`"Forbidden"`), as RFC 9457 §4.2.1 asks for that type. The problem's kind is its
//! `code`: switch on `code`, not on `type`. tenantry has no web page of its own whose URLs it
//! could promise to keep (a `type` URI is an identifier clients compare, so it must never change),
//! and an invented URI that does not resolve would read like a broken link. Should the project
//! publish one page per problem kind, `type` can become that page's URL without breaking a
//! client that reads `code`.
//!
//! Every 401 also carries `WWW-Authenticate: Bearer` (RFC 9110 §15.5.2), and every problem
//! built with [`Problem::with_instance`] names the request's path as `instance`.

#[cfg(feature = "axum")]
mod fallback;

use std::fmt;

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use serde::{Serialize, ser::SerializeStruct};

#[cfg(feature = "axum")]
pub use fallback::{method_not_allowed, not_found};

/// The media type of a problem body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The `type` of every problem tenantry answers with; see [the module docs](self#the-type-member).
pub const TYPE: &str = "about:blank";

/// Declares [`ProblemCode`], its list, its text and its status from one table.
macro_rules! problem_codes {
    ($($variant:ident = $code:literal, $status:ident, $meaning:literal;)+) => {
        /// Every `code` tenantry puts in a problem, with its status (see the table in the
        /// [module docs](self)).
        ///
        /// A response carrying a problem also carries its code in its extensions, so that logging
        /// and metrics layers can read it without parsing the body:
        ///
        /// ```
        /// use tenantry::{Rejection, problem::ProblemCode};
        ///
        /// let res: http::Response<axum::body::Body> = Rejection::TenantForbidden.to_problem().to_response();
        /// let code = res.extensions().get::<ProblemCode>().copied();
        /// assert_eq!(code, Some(ProblemCode::TenantForbidden));
        /// assert_eq!(ProblemCode::TenantForbidden.as_str(), "tenant_forbidden");
        /// assert_eq!(ProblemCode::TenantForbidden.status(), 403);
        /// assert_eq!(ProblemCode::TenantForbidden, "tenant_forbidden");
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum ProblemCode {
            $(
                #[doc = concat!(stringify!($status), " `", $code, "`: ", $meaning, ".")]
                $variant,
            )+
        }

        impl ProblemCode {
            /// Every code, in the order of the module docs' table.
            pub const ALL: &'static [ProblemCode] = &[$(Self::$variant),+];

            /// The code as it appears in a problem's `code` member (`"tenant_forbidden"`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// The HTTP status a problem with this code answers with.
            pub const fn status(self) -> StatusCode {
                match self {
                    $(Self::$variant => StatusCode::$status,)+
                }
            }

            /// What the code means, as the module docs' table says it.
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Self::$variant => $meaning,)+
                }
            }
        }
    };
}

problem_codes! {
    TenantContextMissing = "tenant_context_missing", UNAUTHORIZED,
        "no tenant was resolved for a tenant-scoped route";
    TenantInvalid = "tenant_invalid", BAD_REQUEST,
        "the tenant id is malformed";
    TenantUnresolvable = "tenant_unresolvable", BAD_REQUEST,
        "a resolver (for example an override hook) refused the request";
    Unauthenticated = "unauthenticated", UNAUTHORIZED,
        "a bearer token is invalid, expired or wrongly signed, or a principal is required and absent";
    TenantForbidden = "tenant_forbidden", FORBIDDEN,
        "the caller is not a member of the tenant, or the tenant is unknown (the same answer)";
    TenantSuspended = "tenant_suspended", FORBIDDEN,
        "the tenant is suspended";
    TenantMismatch = "tenant_mismatch", FORBIDDEN,
        "two sources name different tenants, or a body names another tenant";
    TenantLocked = "tenant_locked", LOCKED,
        "the tenant is being provisioned or moved; writes are paused";
    NotFound = "not_found", NOT_FOUND,
        "no such row for this tenant, or no route at this path";
    MethodNotAllowed = "method_not_allowed", METHOD_NOT_ALLOWED,
        "the path exists but not with this method (`Allow` lists those that do)";
    InvalidJson = "invalid_json", BAD_REQUEST,
        "the body is not valid JSON, or could not be read";
    CursorInvalid = "cursor_invalid", BAD_REQUEST,
        "the `after` cursor is malformed or altered, or was issued for another tenant, resource or order (start again from the first page)";
    PayloadTooLarge = "payload_too_large", PAYLOAD_TOO_LARGE,
        "the body is larger than the service accepts";
    RequestTimeout = "request_timeout", REQUEST_TIMEOUT,
        "the request, its body included, took longer than the service allows";
    UnsupportedMediaType = "unsupported_media_type", UNSUPPORTED_MEDIA_TYPE,
        "the body is not sent as `application/json`";
    ValidationFailed = "validation_failed", UNPROCESSABLE_ENTITY,
        "a field or query parameter is missing, unknown, mistyped, out of range or immutable";
    Conflict = "conflict", CONFLICT,
        "a unique key already holds these values in this tenant";
    RateLimited = "rate_limited", TOO_MANY_REQUESTS,
        "too many requests in a short time (`Retry-After` says when to retry)";
    QuotaExceeded = "quota_exceeded", TOO_MANY_REQUESTS,
        "a long-window request quota is used up (`Retry-After` says when to retry)";
    Unavailable = "unavailable", SERVICE_UNAVAILABLE,
        "the catalog, the database or the rate-limit store could not be reached";
    Internal = "internal", INTERNAL_SERVER_ERROR,
        "the application is misconfigured or the database failed; never the client's mistake";
    StoredValueInvalid = "stored_value_invalid", INTERNAL_SERVER_ERROR,
        "a stored row holds a value its column's type cannot read (`detail` names the column); the data needs repair, not the request";
}

impl ProblemCode {
    /// The problem's `title`: the status's reason phrase (`"Forbidden"`), as RFC 9457 asks of
    /// `about:blank` problems.
    pub fn title(self) -> &'static str {
        self.status().canonical_reason().unwrap_or("Error")
    }

    /// Every code answered with `status`, in table order.
    pub fn with_status(status: StatusCode) -> impl Iterator<Item = ProblemCode> {
        Self::ALL
            .iter()
            .copied()
            .filter(move |c| c.status() == status)
    }
}

impl fmt::Display for ProblemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for ProblemCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ProblemCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl Serialize for ProblemCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One RFC 9457 problem: a [`ProblemCode`] (which fixes the status and title), what went wrong
/// with this request, and optionally the request's path.
///
/// ```
/// use tenantry::problem::{Problem, ProblemCode};
///
/// let p = Problem::new(ProblemCode::TenantForbidden, "no access").with_instance("/api/v1/items");
/// let res: http::Response<axum::body::Body> = p.to_response();
/// assert_eq!(res.status(), 403);
/// assert_eq!(res.headers()["content-type"], "application/problem+json");
/// assert_eq!(
///     String::from_utf8_lossy(&p.to_json()),
///     r#"{"type":"about:blank","title":"Forbidden","status":403,"detail":"no access","code":"tenant_forbidden","instance":"/api/v1/items"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    code: ProblemCode,
    detail: String,
    instance: Option<String>,
}

impl Problem {
    /// A problem with `code` and `detail`.
    pub fn new(code: ProblemCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            instance: None,
        }
    }

    /// Sets `instance` (tenantry sets the request's path).
    pub fn with_instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// The stable code.
    pub fn code(&self) -> ProblemCode {
        self.code
    }

    /// The HTTP status (fixed by the code).
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// What went wrong with this request.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The request path, when known.
    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    /// The JSON body.
    pub fn to_json(&self) -> Bytes {
        // Serializing a struct of strings and a number cannot fail.
        Bytes::from(serde_json::to_vec(self).unwrap_or_default())
    }

    /// A complete response: status, `Content-Type: application/problem+json`, the JSON body, and
    /// the [`ProblemCode`] in the extensions. A 401 also carries `WWW-Authenticate: Bearer`.
    pub fn to_response<B: From<Bytes>>(&self) -> Response<B> {
        let mut res = Response::new(B::from(self.to_json()));
        *res.status_mut() = self.status();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if self.status() == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res.extensions_mut().insert(self.code);
        res
    }
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Problem", 6)?;
        st.serialize_field("type", TYPE)?;
        st.serialize_field("title", self.code.title())?;
        st.serialize_field("status", &self.status().as_u16())?;
        st.serialize_field("detail", &self.detail)?;
        st.serialize_field("code", &self.code)?;
        if let Some(instance) = &self.instance {
            st.serialize_field("instance", instance)?;
        }
        st.end()
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for Problem {
    fn into_response(self) -> axum_core::response::Response {
        self.to_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The module docs' table, row by row: (code, status, meaning).
    fn doc_table() -> Vec<(String, u16, String)> {
        include_str!("problem.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! | `"))
            .map(|row| {
                let cells: Vec<&str> = row.trim_end_matches(" |").split(" | ").collect();
                assert_eq!(cells.len(), 3, "a table row has three cells: {row}");
                let code = cells[0].trim_end_matches('`').to_owned();
                let status = cells[1]
                    .parse()
                    .unwrap_or_else(|_| panic!("status in {row}"));
                (code, status, cells[2].to_owned())
            })
            .collect()
    }

    #[test]
    fn the_documented_table_is_the_enum() {
        let documented = doc_table();
        let declared: Vec<(String, u16, String)> = ProblemCode::ALL
            .iter()
            .map(|c| {
                (
                    c.as_str().to_owned(),
                    c.status().as_u16(),
                    c.meaning().to_owned(),
                )
            })
            .collect();
        assert_eq!(documented, declared);
    }

    #[test]
    fn codes_are_unique_snake_case_and_titled() {
        let mut seen = std::collections::HashSet::new();
        for c in ProblemCode::ALL {
            assert!(seen.insert(c.as_str()), "{c} twice");
            assert!(
                c.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!(c.status().is_client_error() || c.status().is_server_error());
            assert_ne!(c.title(), "Error", "{c} has no reason phrase");
        }
    }

    #[test]
    fn a_401_challenges_for_a_bearer_token() {
        for code in ProblemCode::with_status(StatusCode::UNAUTHORIZED) {
            let res: Response<Bytes> = Problem::new(code, "x").to_response();
            assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
        }
        let res: Response<Bytes> = Problem::new(ProblemCode::NotFound, "x").to_response();
        assert!(!res.headers().contains_key(header::WWW_AUTHENTICATE));
    }

    #[test]
    fn without_instance_the_member_is_absent() {
        let json = Problem::new(ProblemCode::Conflict, "taken").to_json();
        assert_eq!(
            &json[..],
            br#"{"type":"about:blank","title":"Conflict","status":409,"detail":"taken","code":"conflict"}"#
        );
    }
}
