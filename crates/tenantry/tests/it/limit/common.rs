//! Helpers shared by the rate-limit tests.

use std::{future::Future, net::SocketAddr, num::NonZeroU32, pin::Pin, sync::Arc};

use axum::{Router, body::Body, extract::ConnectInfo, routing::get};
use http::Request;
use tenantry::{
    TenancyLayer, TenantId,
    catalog::{MemoryCatalog, TenantRecord},
    limit::{FakeClock, LimitStore},
};

pub use crate::support::{Reply, call};

/// Makes a fresh store (with its own keys) on `clock`.
pub type MakeStore = fn(FakeClock) -> Pin<Box<dyn Future<Output = Arc<dyn LimitStore>> + Send>>;

pub fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap()
}

/// acme on plan pro, globex and hooli on plan free.
pub fn catalog() -> MemoryCatalog {
    let t =
        |id: &str, plan: &str| TenantRecord::new(TenantId::parse(id).unwrap(), id).with_plan(plan);
    MemoryCatalog::new()
        .with(t("acme", "pro"))
        .with(t("globex", "free"))
        .with(t("hooli", "free"))
}

/// Trusts `X-Tenant-Id` (a test stub) and knows [`catalog`]'s tenants and plans.
pub fn tenancy() -> TenancyLayer {
    TenancyLayer::stub_with(catalog())
}

pub fn router() -> Router {
    Router::new()
        .route("/hello", get(|| async { "hello" }))
        .route("/other", get(|| async { "other" }))
}

/// GET `path`, as `tenant` (X-Tenant-Id) from `peer` (axum's ConnectInfo).
pub fn request(path: &str, tenant: Option<&str>, peer: Option<[u8; 4]>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(t) = tenant {
        b = b.header("x-tenant-id", t);
    }
    if let Some(ip) = peer {
        b = b.extension(ConnectInfo(SocketAddr::from((ip, 40_000))));
    }
    b.body(Body::empty()).unwrap()
}

/// The peer IP from axum's ConnectInfo, as a client key.
pub fn by_peer() -> tenantry::limit::ClientKey {
    tenantry::limit::ClientKey::extension(|c: &ConnectInfo<SocketAddr>| c.0.ip())
}

pub trait ReplyExt {
    fn header(&self, name: &str) -> Option<&str>;
    fn remaining(&self) -> Option<u32>;
    #[track_caller]
    fn assert_allowed(&self, limit: u32, remaining: u32);
    #[track_caller]
    fn assert_refused(&self, code: &str, retry_after: u64);
    #[track_caller]
    fn assert_unlimited(&self);
}

impl ReplyExt for Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn remaining(&self) -> Option<u32> {
        self.header("x-ratelimit-remaining")
            .and_then(|v| v.parse().ok())
    }

    fn assert_allowed(&self, limit: u32, remaining: u32) {
        assert_eq!(self.status, 200, "{}", self.text);
        let limit = limit.to_string();
        let remaining = remaining.to_string();
        assert_eq!(
            (
                self.header("x-ratelimit-limit"),
                self.header("x-ratelimit-remaining")
            ),
            (Some(limit.as_str()), Some(remaining.as_str())),
            "{:?}",
            self.headers
        );
        assert!(
            self.header("x-ratelimit-reset")
                .is_some_and(|v| v.parse::<u64>().is_ok())
        );
        assert!(self.header("retry-after").is_none());
    }

    fn assert_refused(&self, code: &str, retry_after: u64) {
        self.assert_problem(429, code);
        assert_eq!(
            self.header("retry-after"),
            Some(retry_after.to_string().as_str())
        );
        assert_eq!(self.header("x-ratelimit-remaining"), Some("0"));
        assert!(self.header("x-ratelimit-limit").is_some());
        assert!(self.header("x-ratelimit-reset").is_some());
    }

    fn assert_unlimited(&self) {
        assert_eq!(self.status, 200, "{}", self.text);
        for h in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "retry-after",
        ] {
            assert!(self.headers.get(h).is_none(), "unexpected {h}");
        }
    }
}
