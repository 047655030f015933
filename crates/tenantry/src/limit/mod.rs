//! Rate limits and quotas per tenant: smooth GCRA buckets, in memory or on Redis, as a tower
//! layer.
//!
//! [`RateLimitLayer`] decides every request against a bucket whose key is (the layer's
//! [name](RateLimitBuilder::name), the tenant that enforcement **accepted** when
//! [scoped by tenant](RateLimitBuilder::scope_by_tenant), otherwise the [client](ClientKey)).
//! The quota is the layer's default, or what a [`LimitResolver`] answers for the request (by
//! plan: [`PlanQuotas`] reads the catalog's `plan`; `None` means the default; the resolver may
//! be async). Use one layer around a whole router and per-route layers (each with its own name
//! and quota) with axum's `route_layer`.
//!
//! | outcome | status | `code` | headers |
//! |---|---|---|---|
//! | allowed | the handler's | | `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` |
//! | refused | 429 | `rate_limited` (`quota_exceeded` for a [quota layer](RateLimitBuilder::quota_exceeded)) | the same, plus `Retry-After` |
//! | [`Quota::Unlimited`] | the handler's | | none: nothing is counted |
//! | store failed, [`FailMode::Open`] (default) | the handler's | | none |
//! | store failed, [`FailMode::Closed`] | 503 | `unavailable` | `Retry-After: 1` |
//!
//! `X-RateLimit-Limit` is the bucket's size (the quota's burst), `X-RateLimit-Remaining` how many
//! requests may still be made at once, `X-RateLimit-Reset` the seconds (rounded up) until the
//! bucket is full again, `Retry-After` the seconds until the next request would be allowed.
//! When several layers decide a request, the headers come from the one with the fewest
//! remaining.
//!
//! **The algorithm** ([`Rate::decide`]) is GCRA: one number per key (its theoretical arrival
//! time), capacity coming back one request every `period / count`, up to `burst` at once. There
//! is no window, so no double burst across a window's edge. Long-window quotas ("1,000 requests
//! a day on plan free") are the same machinery with a longer period, usually a second layer
//! with its own name and [`quota_exceeded`](RateLimitBuilder::quota_exceeded).
//!
//! **Stores**: [`MemoryStore`] (sharded, lock-free per key, idle keys evicted so memory stays
//! bounded) for one process; `RedisStore` (feature `redis`: one atomic Lua script per
//! decision on Redis's clock, keys that expire on their own, a timeout per call) for several.
//!
//! **Placement and trust**: put the layer *inside* [`TenancyLayer`](crate::TenancyLayer), so
//! it sees the accepted [`TenantContext`](crate::TenantContext). A tenant merely named by a
//! header, a host or a path never gets a bucket: without an accepted tenant the client's
//! bucket is used, so made-up tenant ids cannot mint fresh buckets. The [`MemoryStore`] is per
//! process: behind N instances each allows the full quota.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::num::NonZeroU32;
//! use axum::{Router, routing::get};
//! use tenantry::{
//!     TenancyLayer, TenantId,
//!     catalog::{MemoryCatalog, TenantRecord},
//!     limit::{PlanQuotas, Quota, RateLimitLayer},
//! };
//! use tower::{Layer, ServiceExt};
//!
//! let nz = |n| NonZeroU32::new(n).unwrap();
//! let limits = RateLimitLayer::builder()
//!     .quota(Quota::per_minute(nz(2)))                  // the default: plan free, unknown plans
//!     .resolver(PlanQuotas::new()
//!         .plan("pro", Quota::per_minute(nz(100)))
//!         .plan("internal", Quota::unlimited()))
//!     .build()
//!     .unwrap();
//! let catalog = MemoryCatalog::new()
//!     .with(TenantRecord::new(TenantId::parse("globex").unwrap(), "Globex"))   // plan free
//!     .with(TenantRecord::new(TenantId::parse("acme").unwrap(), "Acme").with_plan("pro"));
//! let api = Router::new().route("/hello", get(|| async { "hello" }));
//! // The limit inside the tenancy layer, so that it sees the accepted tenant and its plan.
//! let app = TenancyLayer::stub_with(catalog).layer(limits.layer(api));
//!
//! let get = |tenant: &str| http::Request::get("/hello").header("x-tenant-id", tenant)
//!     .body(axum::body::Body::empty()).unwrap();
//! let res = app.clone().oneshot(get("globex")).await.unwrap();
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.headers()["x-ratelimit-limit"], "2");
//! assert_eq!(res.headers()["x-ratelimit-remaining"], "1");
//! assert_eq!(app.clone().oneshot(get("globex")).await.unwrap().status(), 200);
//!
//! let res = app.clone().oneshot(get("globex")).await.unwrap();
//! assert_eq!(res.status(), 429);
//! assert_eq!(res.headers()["retry-after"], "30");
//! assert_eq!(res.headers()["content-type"], "application/problem+json");
//!
//! // Another tenant, another bucket (and a bigger plan).
//! let res = app.oneshot(get("acme")).await.unwrap();
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.headers()["x-ratelimit-limit"], "100");
//! # });
//! ```

mod clock;
mod error;
mod future;
mod gcra;
pub mod headers;
mod key;
mod layer;
mod quota;
mod resolver;
mod service;
mod store;

pub use clock::{Clock, FakeClock, MonotonicClock};
pub use error::LimitConfigError;
pub use future::ResponseFuture;
pub use gcra::Decision;
pub use key::ClientKey;
pub use layer::{FailMode, LimitCode, RateLimitBuilder, RateLimitLayer};
pub use quota::{Quota, Rate};
pub use resolver::{LimitResolver, LimitResolverFn, PlanQuotas};
pub use service::RateLimit;
pub use store::{LimitStore, MemoryStore, StoreError};
#[cfg(feature = "redis")]
pub use store::{RedisStore, RedisStoreBuilder, RedisStoreError};
