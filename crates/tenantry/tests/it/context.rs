//! The tenant follows the request: across awaits, into spawned tasks, never across requests.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Json, Router, routing::get};
use serde_json::{Value, json};
use tenantry::{
    TenancyLayer, TenantContext, TenantId,
    context::{self, NoTenantContext},
};
use tower::Layer;
use tracing_subscriber::layer::SubscriberExt;

use crate::support::*;

async fn follow() -> Json<Value> {
    let before = context::current_tenant().ok();
    tokio::time::sleep(Duration::from_millis(2)).await;
    let after_sleep = context::current_tenant().ok();
    let spawned = context::spawn(async {
        tokio::task::yield_now().await;
        context::current_tenant().ok()
    })
    .unwrap()
    .await
    .unwrap();
    let blocking = context::spawn_blocking(|| context::current_tenant().ok())
        .unwrap()
        .await
        .unwrap();
    // A plain tokio::spawn does not carry it: that is what the helpers are for.
    let plain = tokio::spawn(async { context::current_tenant().is_err() })
        .await
        .unwrap();
    Json(json!({
        "before": before, "after_sleep": after_sleep, "spawned": spawned,
        "blocking": blocking, "plain_spawn_has_none": plain,
    }))
}

#[tokio::test]
async fn tenant_survives_awaits_and_spawn_helpers() {
    let app = TenancyLayer::stub().layer(Router::new().route("/follow", get(follow)));
    let r = call(&app, req("/follow").header("x-tenant-id", "acme").send()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for k in ["before", "after_sleep", "spawned", "blocking"] {
        assert_eq!(r.body[k], "acme", "{k}: {}", r.text);
    }
    assert_eq!(r.body["plain_spawn_has_none"], true);
}

#[tokio::test]
async fn outside_a_scope_there_is_no_tenant() {
    assert_eq!(context::current_tenant(), Err(NoTenantContext));
    assert!(context::current().is_err());
    assert!(context::spawn(async {}).is_err());
    assert!(context::spawn_blocking(|| ()).is_err());
    // After a scope ends, nothing lingers.
    let ctx = TenantContext::new(TenantId::parse("acme").unwrap());
    let inside = context::scope(ctx, async { context::current_tenant() }).await;
    assert_eq!(inside.unwrap(), "acme");
    assert!(context::current_tenant().is_err());
    // sync_scope for scripts.
    let ctx = TenantContext::new(TenantId::parse("globex").unwrap());
    assert_eq!(
        context::sync_scope(ctx, context::current_tenant).unwrap(),
        "globex"
    );
    assert!(context::current_tenant().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_never_see_each_others_tenant() {
    async fn slow() -> Json<Value> {
        let mut seen = Vec::new();
        for i in 0..5u64 {
            tokio::time::sleep(Duration::from_micros(200 * (i % 3))).await;
            tokio::task::yield_now().await;
            seen.push(
                context::current_tenant()
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            );
        }
        Json(json!(seen))
    }
    let app = TenancyLayer::stub().layer(Router::new().route("/slow", get(slow)));
    let mut tasks = Vec::new();
    for i in 0..400 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            let tenant = format!("tenant-{}", i % 37);
            let r = call(&app, req("/slow").header("x-tenant-id", &tenant).send()).await;
            (tenant, r)
        }));
    }
    for t in tasks {
        let (tenant, r) = t.await.unwrap();
        assert_eq!(r.status, 200);
        for seen in r.body.as_array().unwrap() {
            assert_eq!(seen, &Value::String(tenant.clone()), "bled: {}", r.text);
        }
    }
}

/// Records the `tenant_id` of every `tenant` span.
#[derive(Clone, Default)]
struct SpanTenants(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SpanTenants {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        _: &tracing::span::Id,
        _: tracing_subscriber::layer::Context<'_, S>,
    ) {
        struct V<'a>(&'a Mutex<Vec<String>>);
        impl tracing::field::Visit for V<'_> {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "tenant_id" {
                    self.0.lock().unwrap().push(format!("{value:?}"));
                }
            }
        }
        if attrs.metadata().name() == "tenant" {
            attrs.record(&mut V(&self.0));
        }
    }
}

#[tokio::test]
async fn the_request_span_carries_tenant_id() {
    let seen = SpanTenants::default();
    let subscriber = tracing_subscriber::registry().with(seen.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    async fn in_span() -> String {
        tracing::Span::current()
            .metadata()
            .map(|m| m.name())
            .unwrap_or("none")
            .to_owned()
    }
    let app = TenancyLayer::stub().layer(Router::new().route("/span", get(in_span)));
    let r = call(&app, req("/span").header("x-tenant-id", "acme").send()).await;
    assert_eq!(r.text, "tenant");
    assert_eq!(*seen.0.lock().unwrap(), vec!["acme".to_owned()]);
}
