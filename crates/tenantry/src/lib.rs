//! Multi-tenancy for Rust services: find the tenant of every request, carry it through async
//! code, refuse what breaks the rules, and keep each tenant's data apart.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use axum::{Router, routing::get};
//! use tenantry::{
//!     TenantId, TenancyLayer,
//!     catalog::{Catalog, MemoryCatalog},
//!     resolve::{HeaderResolver, JwtResolver, PathResolver},
//! };
//! use tower::{Layer, ServiceExt};
//!
//! async fn whoami(tenant: TenantId) -> String {
//!     format!("you are acting for {tenant}")
//! }
//!
//! let router = Router::new().route("/api/whoami", get(whoami));
//! let tenancy = TenancyLayer::builder()
//!     .resolver(JwtResolver::hs256(b"secret"))          // verified token: principal + claim
//!     .resolver(HeaderResolver::x_tenant_id())           // a member choosing among its tenants
//!     .resolver(PathResolver::default())                 // /tenants/{tenant_id}/... (stripped)
//!     .catalog(Catalog::new(MemoryCatalog::with_active([TenantId::parse("acme").unwrap()])))
//!     .build();
//! // Wrap the router from outside, so the path prefix is stripped before routing.
//! let app = tenancy.layer(router);
//!
//! // No token: a bare header is not enough.
//! let req = http::Request::get("/api/whoami").header("x-tenant-id", "acme")
//!     .body(axum::body::Body::empty()).unwrap();
//! let res = app.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), 401);
//! assert_eq!(res.headers()["content-type"], "application/problem+json");
//! # });
//! ```
//!
//! | pillar | module |
//! |---|---|
//! | which tenant does the request name? | [`resolve`] |
//! | may the caller act for it, is it usable? | [`enforce`] |
//! | how does code deep down know it? | [`context`] |
//! | which tenants exist? | [`catalog`] |
//! | where are its rows, how is every query scoped? | `data` (SQL features; each backend under the crate's `driver/`) |
//! | a resource as a REST API | `crud` (feature `crud`) |
//! | how many requests may it make? | [`limit`] |
//! | how are refusals written? | [`problem`], [`Rejection`] |
//!
//! # Features
//!
//! | feature | default | enables |
//! |---|---|---|
//! | `axum` | yes | extractors `TenantId`, `Option<TenantId>`, `OptionalTenantId`, `TenantContext`; `IntoResponse` for refusals |
//! | `jwt` | yes | [`resolve::JwtResolver`] (HS256, RS256, ES256 via `jsonwebtoken`) |
//! | `crud` | no | [`crud::Crud`]: a resource as five tenant-scoped REST routes, and its OpenAPI 3.1 document (with a SQL backend) |
//! | `sqlite` | no | `catalog::SqlCatalog` and the `data` layer on SQLite |
//! | `postgres` | no | the same on PostgreSQL, plus row-level security (`data::rls`) |
//! | `mysql` | no | the same on MariaDB / MySQL |
//! | `redis` | no | `limit::RedisStore`: rate limits shared by every instance, on Redis |
//! | `metrics` | no | `metrics::MetricsLayer`: per-tenant request metrics (bounded labels) through the `metrics` facade |

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

pub mod catalog;
pub mod context;
#[cfg(all(feature = "crud", feature = "_sql"))]
pub mod crud;
#[cfg(feature = "_sql")]
pub mod data;
#[cfg(feature = "_sql")]
mod driver;
pub mod enforce;
mod error;
#[cfg(feature = "_sql")]
pub mod export;
#[cfg(feature = "axum")]
pub mod extract;
mod future;
pub mod limit;
#[cfg(feature = "metrics")]
pub mod metrics;
mod principal;
pub mod problem;
mod rejection;
pub mod resolve;
mod tenant_id;

pub use context::{TenantContext, current, current_tenant};
pub use enforce::{Tenancy, TenancyLayer};
pub use error::ConfigError;
#[cfg(feature = "axum")]
pub use extract::OptionalTenantId;
pub use future::BoxFuture;
pub use limit::{RateLimit, RateLimitLayer};
pub use principal::Principal;
pub use rejection::Rejection;
pub use tenant_id::{InvalidTenantId, TenantId, TenantIdRule};

/// The README's Rust example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

/// The crate README's example (the one crates.io shows), compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
