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

/// The layer keeps the handles of the series it records into; under another recorder it
/// registers them again there, so each recorder sees exactly its own requests.
#[tokio::test(flavor = "current_thread")]
async fn one_layer_under_two_recorders_counts_into_each() {
    let router = Router::new()
        .route(
            "/items/{id}",
            get(|t: TenantId| async move { t.to_string() }),
        )
        .layer(MatchedPathLayer);
    let app = MetricsLayer::new(TenantLabels::first(10)).layer(TenancyLayer::stub().layer(router));
    let send = |tenant: &'static str, path: &'static str| {
        let app = app.clone();
        async move {
            let req = http::Request::get(path)
                .header("x-tenant-id", tenant)
                .body(axum::body::Body::empty())
                .unwrap();
            app.oneshot(req).await.unwrap().status().as_u16()
        }
    };

    let first = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let first_handle = first.handle();
    {
        let _local = metrics::set_default_local_recorder(&first);
        assert_eq!(send("acme", "/items/1").await, 200);
        assert_eq!(send("acme", "/nowhere").await, 404);
    }
    let second = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let second_handle = second.handle();
    {
        let _local = metrics::set_default_local_recorder(&second);
        for _ in 0..3 {
            assert_eq!(send("acme", "/items/1").await, 200);
        }
        assert_eq!(send("globex", "/items/2").await, 200);
    }
    // Back under the first: its handles are registered again, where the old ones still count.
    {
        let _local = metrics::set_default_local_recorder(&first);
        assert_eq!(send("acme", "/items/1").await, 200);
    }

    // The exporter renders series in no fixed order: look for each line, and count them.
    let first = first_handle.render();
    assert_eq!(tenant_series(&first).len(), 2, "{first}");
    for line in [
        r#"tenantry_requests_total{tenant="acme",status="200"} 2"#,
        r#"tenantry_requests_total{tenant="acme",status="404"} 1"#,
    ] {
        assert!(first.contains(line), "{line} in {first}");
    }
    assert!(
        first.contains(
            r#"tenantry_request_duration_seconds_count{method="GET",route="/items/{id}"} 2"#
        ),
        "{first}"
    );
    let second = second_handle.render();
    let mut series = tenant_series(&second);
    series.sort();
    assert_eq!(
        series,
        [("acme".to_owned(), 3), ("globex".to_owned(), 1)],
        "{second}"
    );
    assert!(
        second.contains(
            r#"tenantry_request_duration_seconds_count{method="GET",route="/items/{id}"} 4"#
        ),
        "{second}"
    );
}
