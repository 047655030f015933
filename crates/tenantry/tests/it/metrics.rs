//! The metrics layer's tenant labels stay bounded, whatever the number of tenants.

use std::collections::HashSet;

use axum::{Router, routing::get};
use tenantry::{
    TenancyLayer, TenantId,
    metrics::{MatchedPathLayer, MetricsLayer, TenantLabels},
};
use tower::{Layer, ServiceExt};

/// The `tenant` label values of `tenantry_requests_total` in `text`, with their counts.
fn tenant_series(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter(|l| l.starts_with("tenantry_requests_total{"))
        .map(|l| {
            let tenant = l
                .split("tenant=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let count = l.rsplit(' ').next().unwrap().parse().unwrap();
            (tenant.to_owned(), count)
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn ten_thousand_tenants_make_at_most_the_bound_plus_one_series() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _local = metrics::set_default_local_recorder(&recorder);

    let router = Router::new()
        .route(
            "/items/{id}",
            get(|t: TenantId| async move { t.to_string() }),
        )
        .layer(MatchedPathLayer);
    let bigco = TenantId::parse("bigco").unwrap();
    let labels = TenantLabels::first(100).named([bigco]);
    let app = MetricsLayer::new(labels).layer(TenancyLayer::stub().layer(router));

    const TENANTS: usize = 10_000;
    for i in 0..TENANTS {
        let req = http::Request::get(format!("/items/{i}"))
            .header("x-tenant-id", format!("tenant-{i:05}"))
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(app.clone().oneshot(req).await.unwrap().status(), 200);
    }
    // The named tenant keeps its own label although it comes after the first hundred.
    let req = http::Request::get("/items/1")
        .header("x-tenant-id", "bigco")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.clone().oneshot(req).await.unwrap().status(), 200);
    // Refused requests never create a tenant label, whatever they name.
    for i in 0..100 {
        let req = http::Request::get("/items/1")
            .header("x-tenant-id", format!("bad id {i}"))
            .body(axum::body::Body::empty())
            .unwrap();
        assert_eq!(app.clone().oneshot(req).await.unwrap().status(), 400);
    }

    let text = handle.render();
    let series = tenant_series(&text);
    let labels: HashSet<&str> = series.iter().map(|(t, _)| t.as_str()).collect();
    // 100 first-seen tenants, the named one, `_other` and `_none`.
    assert_eq!(labels.len(), 103, "{labels:?}");
    assert!(labels.contains("tenant-00000") && labels.contains("tenant-00099"));
    assert!(!labels.contains("tenant-00100"));
    assert!(labels.contains("bigco"));
    let count = |t: &str| {
        series
            .iter()
            .filter(|(l, _)| l == t)
            .map(|(_, c)| c)
            .sum::<u64>()
    };
    assert_eq!(count("_other"), (TENANTS - 100) as u64);
    assert_eq!(count("_none"), 100);
    assert_eq!(count("tenant-00042"), 1);
    // Every request is counted once.
    let total: u64 = series.iter().map(|(_, c)| c).sum();
    assert_eq!(total, TENANTS as u64 + 1 + 100);
    // One route label for ten thousand paths (and `unmatched` for the refusals, which never
    // reached the router).
    let mut routes: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("tenantry_request_duration_seconds_count{"))
        .collect();
    routes.sort_unstable();
    assert_eq!(
        routes,
        [
            r#"tenantry_request_duration_seconds_count{method="GET",route="/items/{id}"} 10001"#,
            r#"tenantry_request_duration_seconds_count{method="GET",route="unmatched"} 100"#,
        ]
    );
}
