//! The demo's `/metrics`: tenantry's request metrics (bounded tenant labels) and pool gauges,
//! in the Prometheus text format, through `metrics-exporter-prometheus`.

use std::time::Duration;

use anyhow::Context as _;
use axum::routing::MethodRouter;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tenantry::{
    data::DataStore,
    metrics::{MetricsLayer, REQUEST_DURATION, TenantLabels, record_pool},
};

/// Where the metrics are served (a public path: no tenant needed).
pub(crate) const PATH: &str = "/metrics";

/// Tenants with a label of their own; the rest are counted as `_other`.
const TENANT_LABELS: usize = 100;

/// Latency buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The installed recorder, its layer and what `/metrics` reads.
#[derive(Debug)]
pub(crate) struct Installed {
    pub(crate) layer: MetricsLayer,
    handle: PrometheusHandle,
    db: DataStore,
}

/// Installs the process-wide Prometheus recorder and starts its upkeep (histogram samples are
/// folded into buckets every 5 s, so memory stays flat between scrapes).
pub(crate) fn install(db: DataStore) -> anyhow::Result<Installed> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(REQUEST_DURATION.to_owned()), BUCKETS)
        .context("metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(Installed {
        layer: MetricsLayer::new(TenantLabels::first(TENANT_LABELS)),
        handle,
        db,
    })
}

impl Installed {
    /// `GET /metrics`.
    pub(crate) fn route(&self) -> MethodRouter {
        let (handle, db) = (self.handle.clone(), self.db.clone());
        axum::routing::get(move || async move {
            record_pool(&db);
            (
                [("content-type", "text/plain; version=0.0.4")],
                handle.render(),
            )
        })
    }
}
