//! The suite on [`MemoryStore`], and what only it has.

use std::{sync::Arc, time::Duration};

use tenantry::limit::{FakeClock, LimitStore, MemoryStore, Quota, RateLimitLayer};
use tower::Layer;

use super::common::*;

fn make(
    clock: FakeClock,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Arc<dyn LimitStore>> + Send>> {
    Box::pin(async move { Arc::new(MemoryStore::with_clock(clock)) as Arc<dyn LimitStore> })
}

limit_suite!(make);

#[tokio::test]
async fn an_unverified_tenant_header_leaves_no_key_behind() {
    // A tenancy layer that does not trust bare headers, and lets tenant-less requests through.
    let tenancy = tenantry::TenancyLayer::builder()
        .resolver(tenantry::resolve::HeaderResolver::x_tenant_id())
        .optional()
        .build();
    let store = Arc::new(MemoryStore::with_clock(FakeClock::new()));
    let limits = RateLimitLayer::builder()
        .store(store.clone())
        .quota(Quota::per_minute(nz(5)))
        .client_key(by_peer())
        .build()
        .unwrap();
    let app = tenancy.layer(limits.layer(router()));
    for i in 0..20 {
        let r = call(
            &app,
            request("/hello", Some(&format!("made-up-{i}")), Some([10, 0, 0, 9])),
        )
        .await;
        r.assert_problem(401, "unauthenticated");
    }
    assert_eq!(store.len(), 0, "refused requests created buckets");
    call(&app, request("/hello", None, Some([10, 0, 0, 9])))
        .await
        .assert_allowed(5, 4);
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn idle_keys_are_evicted_and_memory_stays_bounded() {
    let clock = FakeClock::new();
    let store = MemoryStore::with_clock(clock.clone());
    let rate = Quota::per_second(nz(10)).rate().unwrap();
    // 200,000 distinct clients, 10,000 per simulated second: at most a few seconds' worth kept.
    for second in 0..20u32 {
        for i in 0..10_000u32 {
            assert!(store.decide(&format!("c:{second}:{i}"), &rate).is_allowed());
        }
        clock.advance(Duration::from_secs(1));
    }
    assert!(store.len() < 60_000, "{} keys kept", store.len());
    clock.advance(Duration::from_secs(1));
    store.retain_recent();
    assert!(store.is_empty());
}

#[tokio::test]
async fn the_sweeper_task_empties_an_idle_store() {
    let store = Arc::new(MemoryStore::new());
    let rate = Quota::per_second(nz(1000)).rate().unwrap();
    for i in 0..100 {
        store.decide(&format!("k{i}"), &rate);
    }
    let task = tokio::spawn(store.sweeper(Duration::from_millis(10)));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !store.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(store.is_empty());
    drop(store); // the sweeper ends with the store
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
}
