//! Limits: each tenant gets its plan's bucket (GCRA: smooth, no window edge to double-burst
//! across), with `X-RateLimit-*` headers on every answer and a 429 with `Retry-After` when the
//! bucket is empty.
//!
//!     cargo run -p tenantry --example rate_limits

use std::num::NonZeroU32;

use axum::{Router, body::Body, routing::get};
use tenantry::{
    TenancyLayer, TenantId,
    catalog::{MemoryCatalog, TenantRecord},
    limit::{PlanQuotas, Quota, RateLimitLayer},
};
use tower::{Layer, ServiceExt};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n = |n| NonZeroU32::new(n).expect("not zero");
    let limits = RateLimitLayer::builder()
        .quota(Quota::per_second(n(1)).allow_burst(n(3))) // plan free, and unknown plans
        .resolver(PlanQuotas::new().plan("pro", Quota::per_second(n(100)).allow_burst(n(200))))
        .build()
        .expect("a valid layer");
    let catalog = MemoryCatalog::new()
        .with(TenantRecord::new(
            TenantId::parse("globex").unwrap(),
            "Globex",
        ))
        .with(TenantRecord::new(TenantId::parse("acme").unwrap(), "Acme").with_plan("pro"));
    let api = Router::new().route("/hello", get(|| async { "hello" }));
    // Inside the tenancy layer, so the bucket is the accepted tenant's and its plan is known.
    let app = TenancyLayer::stub_with(catalog).layer(limits.layer(api));

    for tenant in ["globex", "acme"] {
        for i in 1..=5 {
            let req = http::Request::get("/hello")
                .header("x-tenant-id", tenant)
                .body(Body::empty())
                .expect("a request");
            let res = app.clone().oneshot(req).await.expect("infallible");
            let h = |name| {
                res.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-")
                    .to_owned()
            };
            println!(
                "{tenant} request {i}: {} limit {} remaining {} retry-after {}",
                res.status(),
                h("x-ratelimit-limit"),
                h("x-ratelimit-remaining"),
                h("retry-after"),
            );
        }
    }
}
