//! Enforcement: may this caller act for that tenant, and is the tenant usable?
//!
//! [`TenancyLayer`] wraps a service. For each request, before the inner service runs, it
//! resolves the tenant (every configured resolver, first match wins), then checks, in order:
//!
//! | situation | status | `code` |
//! |---|---|---|
//! | a bearer token is invalid, expired or wrongly signed | 401 | `unauthenticated` |
//! | a tenant id is malformed | 400 | `tenant_invalid` |
//! | two sources name different tenants (path `b`, token `a`) | 403 | `tenant_mismatch` |
//! | no tenant resolved (unless the layer is [`optional`](TenancyBuilder::optional)) | 401 | `tenant_context_missing` |
//! | only a header/host/path names the tenant, no principal, not a trusted gateway | 401 | `unauthenticated` |
//! | the principal is not a member of the tenant | 403 | `tenant_forbidden` |
//! | the catalog does not know the tenant (or it is deleted): same answer as not a member | 403 | `tenant_forbidden` |
//! | the tenant is suspended | 403 | `tenant_suspended` |
//! | the tenant is provisioning, or moving and the method writes | 423 | `tenant_locked` |
//! | the catalog or membership backend fails | 503 | `unavailable` |
//!
//! An accepted request carries a [`TenantContext`](crate::TenantContext) (and the
//! [`Principal`](crate::Principal), if any) in its extensions and runs in its task-local scope and
//! tracing span. Refusals are RFC 9457 problem+json responses; the inner service never sees them.
//!
//! **Deployment caveat**: headers, hosts and paths are written by the client. By default a tenant
//! named only by one of them is accepted only for an authenticated principal that belongs to it.
//! [`TenancyBuilder::trusted_gateway`] drops that requirement; turn it on only behind a gateway
//! that authenticates callers and sets (and strips client copies of) the tenant header.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use axum::{Router, routing::get};
//! use tenantry::{TenantId, TenancyLayer};
//! use tower::{Layer, ServiceExt};
//!
//! let app = Router::new().route("/whoami", get(|t: TenantId| async move { t.to_string() }));
//! let app = TenancyLayer::stub().layer(app);
//!
//! let req = http::Request::get("/whoami").header("x-tenant-id", "acme")
//!     .body(axum::body::Body::empty()).unwrap();
//! assert_eq!(app.clone().oneshot(req).await.unwrap().status(), 200);
//!
//! let req = http::Request::get("/whoami").body(axum::body::Body::empty()).unwrap();
//! assert_eq!(app.oneshot(req).await.unwrap().status(), 401);
//! # });
//! ```

mod decide;
mod layer;
mod membership;
mod require;
mod service;

pub use crate::resolve::Disagreement;
pub use layer::{TenancyBuilder, TenancyLayer};
pub use membership::{ClaimsMembership, Membership, MembershipError, MembershipFn};
pub use require::{RequireFuture, RequireTenant, RequireTenantLayer};
pub use service::{ResponseFuture, Tenancy};

/// Put in the request extensions by an [`optional`](TenancyBuilder::optional) layer that found
/// no tenant, so that extractors can tell "no tenant" from "no layer".
#[derive(Debug, Clone, Copy)]
pub struct NoTenant;
