//! Metrics: per-tenant request counts, refusals by code, rate-limit decisions, latency
//! histograms and pool gauges, through the [`metrics`](https://docs.rs/metrics) facade
//! (feature `metrics`).
//!
//! The library records; the application chooses the exporter (Prometheus with
//! `metrics-exporter-prometheus`, as `tenantry serve` does at `/metrics`, or any other recorder).
//! [`MetricsLayer`] goes outside [`TenancyLayer`](crate::TenancyLayer), so that it sees every
//! request, the refused ones too: it reads what the inner layers leave in the response's
//! extensions, the [`TenantContext`](crate::TenantContext) of an accepted request, the
//! [`ProblemCode`](crate::problem::ProblemCode) of a refusal, the `X-RateLimit-Limit` header of a
//! rate-limit decision, and the route that [`MatchedPathLayer`] copies from axum's router.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `tenantry_requests_total` | counter | `tenant`, `status` |
//! | `tenantry_refusals_total` | counter | `code` (the problem code) |
//! | `tenantry_rate_limit_decisions_total` | counter | `decision`: `allowed` or `limited` |
//! | `tenantry_request_duration_seconds` | histogram | `method`, `route` |
//! | `tenantry_db_pool_connections` | gauge | `state`: `idle` or `in_use` ([`record_pool`]) |
//!
//! # Cardinality
//!
//! Tenant ids come from requests, so a `tenant` label per id would let a million tenants (or a
//! caller naming a million ids) make a million series. [`TenantLabels`] bounds it: tenants named
//! in advance, and the first N distinct tenants seen, get their own label; every other tenant is
//! counted under `_other`, and a request with no accepted tenant (a refusal, a public path)
//! under `_none`. Only tenants the tenancy layer accepted ever get a label. Routes are axum's
//! route templates (`/api/v1/items/{id}`), a set fixed by the code; unmatched paths are
//! `unmatched`, unusual methods `other`.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use axum::{Router, routing::get};
//! use tenantry::{TenancyLayer, TenantId, metrics::{MatchedPathLayer, MetricsLayer, TenantLabels}};
//! use tower::{Layer, ServiceExt};
//!
//! let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
//! let handle = recorder.handle();
//! let _local = metrics::set_default_local_recorder(&recorder);
//!
//! let router = Router::new()
//!     .route("/items/{id}", get(|t: TenantId| async move { t.to_string() }))
//!     .layer(MatchedPathLayer);
//! let app = TenancyLayer::stub().layer(router);
//! let app = MetricsLayer::new(TenantLabels::first(100)).layer(app);
//!
//! let req = http::Request::get("/items/7").header("x-tenant-id", "acme")
//!     .body(axum::body::Body::empty()).unwrap();
//! assert_eq!(app.clone().oneshot(req).await.unwrap().status(), 200);
//! let req = http::Request::get("/items/7").body(axum::body::Body::empty()).unwrap();
//! assert_eq!(app.oneshot(req).await.unwrap().status(), 401);
//!
//! let text = handle.render();
//! assert!(text.contains(r#"tenantry_requests_total{tenant="acme",status="200"} 1"#));
//! assert!(text.contains(r#"tenantry_refusals_total{code="tenant_context_missing"} 1"#));
//! assert!(text.contains(r#"route="/items/{id}""#));
//! # });
//! ```

mod labels;
mod layer;
#[cfg(feature = "_sql")]
mod pool;
mod route;
mod series;

pub use labels::TenantLabels;
pub use layer::{Metrics, MetricsLayer, ResponseFuture};
#[cfg(feature = "_sql")]
pub use pool::record_pool;
pub use route::{KeepMatchedPath, MatchedPathLayer};

/// `tenantry_requests_total`: requests by tenant label and status.
pub const REQUESTS: &str = "tenantry_requests_total";
/// `tenantry_refusals_total`: responses carrying a problem code, by code.
pub const REFUSALS: &str = "tenantry_refusals_total";
/// `tenantry_rate_limit_decisions_total`: rate-limit decisions, `allowed` or `limited`.
pub const RATE_LIMIT_DECISIONS: &str = "tenantry_rate_limit_decisions_total";
/// `tenantry_request_duration_seconds`: time to the response head, by method and route.
pub const REQUEST_DURATION: &str = "tenantry_request_duration_seconds";
/// `tenantry_db_pool_connections`: pool connections by state (`idle`, `in_use`).
pub const POOL_CONNECTIONS: &str = "tenantry_db_pool_connections";
/// `tenantry_db_tenant_pools`: pools open for tenants in databases of their own.
pub const TENANT_POOLS: &str = "tenantry_db_tenant_pools";
/// `tenantry_db_tenant_pool_connections`: those pools' connections by state.
pub const TENANT_POOL_CONNECTIONS: &str = "tenantry_db_tenant_pool_connections";
