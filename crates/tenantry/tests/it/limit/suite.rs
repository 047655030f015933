//! The scenarios every store passes (governor's one-suite-per-store, `tests/keyed_*.rs`), all
//! on a fake clock so they are exact. `limit_suite!(make)` instantiates them for a store.

use std::time::Duration;

use axum::{Router, routing::get};
use tenantry::limit::{ClientKey, FakeClock, PlanQuotas, Quota, RateLimitLayer};
use tower::Layer;

use super::common::*;

macro_rules! limit_suite {
    ($make:path) => {
        limit_suite!(@tests $make;
            three_requests_then_429_then_allowed_after_the_reset,
            per_route_limiter_blocks_on_exceed_and_sends_headers,
            tenants_have_independent_buckets_and_plan_limits,
            no_double_burst_across_a_window_edge,
            async_resolver_is_honoured,
            unlimited_is_honoured_and_none_means_the_default,
            per_route_limiter_keys_by_client_not_one_bucket,
            unverified_tenant_header_cannot_mint_a_bucket,
            daily_quota_refuses_with_quota_exceeded,
            concurrent_requests_never_exceed_the_quota,
        );
    };
    (@tests $make:path; $($name:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::suite::$name($make).await
            }
        )*
    };
}

fn limited(
    store: std::sync::Arc<dyn tenantry::limit::LimitStore>,
    quota: Quota,
) -> tenantry::limit::RateLimitBuilder {
    RateLimitLayer::builder().store(store).quota(quota)
}

/// svc-infra's case: limit 3 gives remaining 2, 1, 0, then 429 with `Retry-After`, then
/// requests are allowed again after the reset.
pub async fn three_requests_then_429_then_allowed_after_the_reset(make: MakeStore) {
    let clock = FakeClock::new();
    let limits = limited(make(clock.clone()).await, Quota::per_minute(nz(3)))
        .build()
        .unwrap();
    let app = tenancy().layer(limits.layer(router()));
    for remaining in [2, 1, 0] {
        call(&app, request("/hello", Some("acme"), None))
            .await
            .assert_allowed(3, remaining);
    }
    let refused = call(&app, request("/hello", Some("acme"), None)).await;
    refused.assert_refused("rate_limited", 20); // one request every 20 s
    assert_eq!(refused.header("x-ratelimit-reset"), Some("60"));
    assert_eq!(refused.body["instance"], "/hello");
    // Still refused just before the retry time.
    clock.advance(Duration::from_secs(19));
    call(&app, request("/hello", Some("acme"), None))
        .await
        .assert_refused("rate_limited", 1);
    // After the reset, the whole burst again.
    clock.advance(Duration::from_secs(41));
    for remaining in [2, 1, 0] {
        call(&app, request("/hello", Some("acme"), None))
            .await
            .assert_allowed(3, remaining);
    }
}

/// svc-infra's per-route case, and ours: per-route decisions carry the headers too.
pub async fn per_route_limiter_blocks_on_exceed_and_sends_headers(make: MakeStore) {
    let clock = FakeClock::new();
    let search = limited(make(clock.clone()).await, Quota::per_minute(nz(2)))
        .name("search")
        .build()
        .unwrap();
    let app = tenancy().layer(
        Router::new()
            .route("/search", get(|| async { "results" }).route_layer(search))
            .route("/other", get(|| async { "other" })),
    );
    call(&app, request("/search", Some("acme"), None))
        .await
        .assert_allowed(2, 1);
    call(&app, request("/search", Some("acme"), None))
        .await
        .assert_allowed(2, 0);
    call(&app, request("/search", Some("acme"), None))
        .await
        .assert_refused("rate_limited", 30);
    // Another route is not limited by it.
    for _ in 0..5 {
        call(&app, request("/other", Some("acme"), None))
            .await
            .assert_unlimited();
    }
}

/// svc-infra's case: per-tenant buckets are independent, and the resolver gives tenants
/// different limits by plan.
pub async fn tenants_have_independent_buckets_and_plan_limits(make: MakeStore) {
    let clock = FakeClock::new();
    let limits = limited(make(clock.clone()).await, Quota::per_minute(nz(2)))
        .resolver(PlanQuotas::new().plan("pro", Quota::per_minute(nz(5))))
        .build()
        .unwrap();
    let app = tenancy().layer(limits.layer(router()));
    // globex (free: the default) uses up its bucket.
    call(&app, request("/hello", Some("globex"), None))
        .await
        .assert_allowed(2, 1);
    call(&app, request("/hello", Some("globex"), None))
        .await
        .assert_allowed(2, 0);
    call(&app, request("/hello", Some("globex"), None))
        .await
        .assert_refused("rate_limited", 30);
    // acme (pro) still has all of its own, and a bigger one.
    for remaining in (0..5).rev() {
        call(&app, request("/hello", Some("acme"), None))
            .await
            .assert_allowed(5, remaining);
    }
    call(&app, request("/hello", Some("acme"), None))
        .await
        .assert_refused("rate_limited", 12);
    // hooli, also free, is not affected by globex.
    call(&app, request("/hello", Some("hooli"), None))
        .await
        .assert_allowed(2, 1);
}

/// A fixed window lets 10 requests through at 0.99 s and 10 more at 1.01 s; GCRA does not.
pub async fn no_double_burst_across_a_window_edge(make: MakeStore) {
    let clock = FakeClock::new();
    let limits = limited(make(clock.clone()).await, Quota::per_second(nz(10)))
        .build()
        .unwrap();
    let app = tenancy().layer(limits.layer(router()));
    let allowed = |n: usize| {
        let app = app.clone();
        async move {
            let mut ok = 0;
            for _ in 0..n {
                if call(&app, request("/hello", Some("acme"), None))
                    .await
                    .status
                    == 200
                {
                    ok += 1;
                }
            }
            ok
        }
    };
    clock.advance(Duration::from_millis(990));
    assert_eq!(allowed(10).await, 10);
    clock.advance(Duration::from_millis(20)); // across the 1 s "edge"
    assert_eq!(allowed(10).await, 0);
    // Then capacity comes back smoothly: one request per 100 ms, never a window's worth.
    let mut total = 0;
    for _ in 0..30 {
        clock.advance(Duration::from_millis(50));
        total += allowed(3).await;
    }
    assert!(
        (14..=16).contains(&total),
        "{total} allowed in 1.5 s at 10/s"
    );
}

/// The resolver may be async; its answer is awaited and used.
pub async fn async_resolver_is_honoured(make: MakeStore) {
    let clock = FakeClock::new();
    let limits = limited(make(clock.clone()).await, Quota::per_minute(nz(100)))
        .resolver_fn(|_head, tenant| {
            let tenant = tenant.cloned();
            async move {
                tokio::time::sleep(Duration::from_millis(5)).await; // a database lookup
                tokio::task::yield_now().await;
                match tenant.as_ref().map(|t| t.as_str()) {
                    Some("acme") => Some(Quota::per_minute(nz(1))),
                    _ => None,
                }
            }
        })
        .build()
        .unwrap();
    let app = tenancy().layer(limits.layer(router()));
    call(&app, request("/hello", Some("acme"), None))
        .await
        .assert_allowed(1, 0);
    call(&app, request("/hello", Some("acme"), None))
        .await
        .assert_refused("rate_limited", 60);
    call(&app, request("/hello", Some("globex"), None))
        .await
        .assert_allowed(100, 99);
}

/// `Quota::Unlimited` is its own value: no counting, no headers. `None` is the default quota.
pub async fn unlimited_is_honoured_and_none_means_the_default(make: MakeStore) {
    let clock = FakeClock::new();
    let limits = limited(make(clock.clone()).await, Quota::per_minute(nz(1)))
        .resolver(PlanQuotas::new().plan("pro", Quota::unlimited()))
        .build()
        .unwrap();
    let app = tenancy().layer(limits.layer(router()));
    for _ in 0..50 {
        call(&app, request("/hello", Some("acme"), None))
            .await
            .assert_unlimited();
    }
    call(&app, request("/hello", Some("globex"), None))
        .await
        .assert_allowed(1, 0);
    call(&app, request("/hello", Some("globex"), None))
        .await
        .assert_refused("rate_limited", 60);
    // A layer whose default is unlimited passes everything through.
    let open = limited(make(clock.clone()).await, Quota::unlimited())
        .build()
        .unwrap();
    let app = tenancy().layer(open.layer(router()));
    for _ in 0..50 {
        call(&app, request("/hello", Some("globex"), None))
            .await
            .assert_unlimited();
    }
}

/// Without a tenant, a per-route limiter keys by client (peer address, or API key), not one
/// bucket for everyone; clients it cannot tell apart share one `anonymous` bucket.
pub async fn per_route_limiter_keys_by_client_not_one_bucket(make: MakeStore) {
    let clock = FakeClock::new();
    let by_peer_limit = limited(make(clock.clone()).await, Quota::per_minute(nz(1)))
        .name("login")
        .client_key(by_peer())
        .build()
        .unwrap();
    let app = Router::new().route(
        "/login",
        get(|| async { "welcome" }).route_layer(by_peer_limit),
    );
    call(&app, request("/login", None, Some([10, 0, 0, 1])))
        .await
        .assert_allowed(1, 0);
    call(&app, request("/login", None, Some([10, 0, 0, 1])))
        .await
        .assert_refused("rate_limited", 60);
    call(&app, request("/login", None, Some([10, 0, 0, 2])))
        .await
        .assert_allowed(1, 0);
    call(&app, request("/login", None, None))
        .await
        .assert_allowed(1, 0);
    call(&app, request("/login", None, None))
        .await
        .assert_refused("rate_limited", 60);

    let by_key = limited(make(clock.clone()).await, Quota::per_minute(nz(1)))
        .name("api")
        .client_key(ClientKey::header("x-api-key").or(by_peer()))
        .build()
        .unwrap();
    let app = by_key.layer(router());
    let with_key = |key: &str| {
        let mut r = request("/hello", None, Some([10, 0, 0, 3]));
        r.headers_mut().insert("x-api-key", key.parse().unwrap());
        r
    };
    call(&app, with_key("k1")).await.assert_allowed(1, 0);
    call(&app, with_key("k1"))
        .await
        .assert_refused("rate_limited", 60);
    call(&app, with_key("k2")).await.assert_allowed(1, 0);
    // No key: the peer address.
    call(&app, request("/hello", None, Some([10, 0, 0, 3])))
        .await
        .assert_allowed(1, 0);
}

/// A tenant named by a header that enforcement did not accept never gets a bucket: the request
/// is counted against its client.
pub async fn unverified_tenant_header_cannot_mint_a_bucket(make: MakeStore) {
    let clock = FakeClock::new();
    let store = make(clock.clone()).await;
    // A limiter in front of the tenancy layer sees no accepted tenant, whatever the header says.
    let limits = limited(store.clone(), Quota::per_minute(nz(3)))
        .client_key(by_peer())
        .build()
        .unwrap();
    let app = limits.layer(tenancy().layer(router()));
    for (i, tenant) in ["acme", "globex", "made-up-1"].iter().enumerate() {
        let r = call(&app, request("/hello", Some(tenant), Some([192, 0, 2, 7]))).await;
        assert_eq!(r.remaining(), Some(2 - i as u32), "{tenant}");
    }
    call(
        &app,
        request("/hello", Some("made-up-2"), Some([192, 0, 2, 7])),
    )
    .await
    .assert_refused("rate_limited", 20);

    // Behind a tenancy layer that does not trust bare headers, such requests are refused before
    // the limiter, and do not use up the client's bucket.
    let strict = tenantry::TenancyLayer::builder()
        .resolver(tenantry::resolve::HeaderResolver::x_tenant_id())
        .optional()
        .build();
    let limits = limited(store, Quota::per_minute(nz(3)))
        .name("strict")
        .client_key(by_peer())
        .build()
        .unwrap();
    let app = strict.layer(limits.layer(router()));
    for i in 0..10 {
        let r = call(
            &app,
            request(
                "/hello",
                Some(&format!("made-up-{i}")),
                Some([192, 0, 2, 8]),
            ),
        )
        .await;
        r.assert_problem(401, "unauthenticated");
    }
    call(&app, request("/hello", None, Some([192, 0, 2, 8])))
        .await
        .assert_allowed(3, 2);
}

/// A requests-per-day quota is the same machinery, refusing with `quota_exceeded`; stacked with
/// a rate limit, the headers report the limit nearest to refusal.
pub async fn daily_quota_refuses_with_quota_exceeded(make: MakeStore) {
    let clock = FakeClock::new();
    let store = make(clock.clone()).await;
    let rate = limited(store.clone(), Quota::per_second(nz(10)))
        .name("rate")
        .build()
        .unwrap();
    let daily = limited(store, Quota::per_day(nz(100)))
        .name("daily")
        .resolver(PlanQuotas::new().plan("free", Quota::per_day(nz(3))))
        .quota_exceeded()
        .build()
        .unwrap();
    let app = tenancy().layer(rate.layer(daily.layer(router())));
    for remaining in [2, 1, 0] {
        call(&app, request("/hello", Some("globex"), None))
            .await
            .assert_allowed(3, remaining);
        clock.advance(Duration::from_secs(1));
    }
    let r = call(&app, request("/hello", Some("globex"), None)).await;
    r.assert_refused("quota_exceeded", 8 * 3600 - 3); // one request every 8 h
    // acme (pro: the default 100 a day) is limited by the per-second rate first.
    for remaining in (0..10).rev() {
        call(&app, request("/hello", Some("acme"), None))
            .await
            .assert_allowed(10, remaining);
    }
    call(&app, request("/hello", Some("acme"), None))
        .await
        .assert_refused("rate_limited", 1);
}

/// Many requests at once for one tenant: exactly the burst goes through.
pub async fn concurrent_requests_never_exceed_the_quota(make: MakeStore) {
    let clock = FakeClock::new();
    let limits = limited(make(clock.clone()).await, Quota::per_hour(nz(30)))
        .build()
        .unwrap();
    let app = tenancy().layer(limits.layer(router()));
    let tasks: Vec<_> = (0..120)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move {
                call(&app, request("/hello", Some("acme"), None))
                    .await
                    .status
            })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 30);
}
