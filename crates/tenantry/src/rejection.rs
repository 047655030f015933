//! [`Rejection`]: every way tenantry refuses a request, one variant per row of DESIGN §3.

use std::borrow::Cow;

use http::StatusCode;

use crate::{
    problem::{Problem, ProblemCode},
    tenant_id::InvalidTenantId,
};

/// Why a request was refused before its handler ran.
///
/// Each variant has a fixed [`status`](Rejection::status) and a stable [`code`](Rejection::code),
/// and renders as an RFC 9457 problem (see [`crate::problem`]). None of them carries internals
/// (SQL, stack traces, which tenants exist).
///
/// ```
/// use tenantry::Rejection;
///
/// assert_eq!(Rejection::TenantForbidden.status(), 403);
/// assert_eq!(Rejection::TenantForbidden.code(), "tenant_forbidden");
/// assert_eq!(Rejection::TenantContextMissing.status(), 401);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// 401 `tenant_context_missing`: no resolver named a tenant.
    #[error("this route needs a tenant and the request names none")]
    TenantContextMissing,
    /// 400 `tenant_invalid`: the tenant id is malformed.
    #[error("{0}")]
    TenantInvalid(InvalidTenantId),
    /// 400 `tenant_unresolvable`: a resolver (typically an override hook) refused the request.
    #[error("{0}")]
    Unresolvable(Cow<'static, str>),
    /// 401 `unauthenticated`: a bearer token is invalid, expired or wrongly signed, or the route
    /// needs a principal and there is none.
    #[error("{0}")]
    Unauthenticated(Cow<'static, str>),
    /// 403 `tenant_forbidden`: the caller is not a member of the tenant, or the tenant is unknown.
    /// Both get this same answer so that tenant ids cannot be probed.
    #[error("the caller may not act for this tenant")]
    TenantForbidden,
    /// 403 `tenant_suspended`: the tenant exists, the caller is a member, and it is suspended.
    #[error("this tenant is suspended")]
    TenantSuspended,
    /// 423 `tenant_locked`: the tenant is being provisioned or moved; writes are paused.
    #[error("this tenant is temporarily locked: {0}")]
    TenantLocked(Cow<'static, str>),
    /// 403 `tenant_mismatch`: two sources name different tenants.
    #[error("{0}")]
    TenantMismatch(Cow<'static, str>),
    /// 503 `unavailable`: the catalog or membership backend could not answer.
    #[error("the tenant catalog is unavailable; try again")]
    Unavailable,
    /// 500 `internal`: the application is wired wrongly (an extractor without its layer).
    /// Never caused by a client's input.
    #[error("{0}")]
    Misconfigured(&'static str),
}

impl Rejection {
    /// The HTTP status (the [code](Self::code)'s).
    pub fn status(&self) -> StatusCode {
        self.code().status()
    }

    /// The stable problem code.
    pub fn code(&self) -> ProblemCode {
        match self {
            Self::TenantContextMissing => ProblemCode::TenantContextMissing,
            Self::TenantInvalid(_) => ProblemCode::TenantInvalid,
            Self::Unresolvable(_) => ProblemCode::TenantUnresolvable,
            Self::Unauthenticated(_) => ProblemCode::Unauthenticated,
            Self::TenantForbidden => ProblemCode::TenantForbidden,
            Self::TenantSuspended => ProblemCode::TenantSuspended,
            Self::TenantLocked(_) => ProblemCode::TenantLocked,
            Self::TenantMismatch(_) => ProblemCode::TenantMismatch,
            Self::Unavailable => ProblemCode::Unavailable,
            Self::Misconfigured(_) => ProblemCode::Internal,
        }
    }

    /// The RFC 9457 problem for this rejection.
    pub fn to_problem(&self) -> Problem {
        Problem::new(self.code(), self.to_string())
    }

    /// Shortcut for [`Rejection::Unresolvable`].
    pub fn unresolvable(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::Unresolvable(detail.into())
    }

    /// Shortcut for [`Rejection::Unauthenticated`].
    pub fn unauthenticated(detail: impl Into<Cow<'static, str>>) -> Self {
        Self::Unauthenticated(detail.into())
    }
}

impl From<InvalidTenantId> for Rejection {
    fn from(e: InvalidTenantId) -> Self {
        Self::TenantInvalid(e)
    }
}

#[cfg(feature = "axum")]
impl axum_core::response::IntoResponse for Rejection {
    fn into_response(self) -> axum_core::response::Response {
        tracing::trace!(target: "tenantry::rejection", code = self.code().as_str(), "rejected");
        self.to_problem().to_response()
    }
}
