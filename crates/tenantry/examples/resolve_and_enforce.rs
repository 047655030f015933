//! Resolution and enforcement: which tenant a request names, and whether the caller may act
//! for it. A bearer token names the principal and its tenants; a member of several chooses one
//! with `X-Tenant-Id` or the `/tenants/{id}/` path; everything else is refused before the
//! handler runs.
//!
//!     cargo run -p tenantry --example resolve_and_enforce

use axum::{Router, body::Body, routing::get};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;
use tenantry::{
    TenancyLayer, TenantContext, TenantId,
    catalog::{Catalog, MemoryCatalog, TenantRecord, TenantStatus},
    resolve::{HeaderResolver, JwtResolver, PathResolver},
};
use tower::{Layer, ServiceExt};

const SECRET: &[u8] = b"example secret";

async fn whoami(ctx: TenantContext) -> String {
    format!("{} (resolved by {})", ctx.tenant(), ctx.resolved_by())
}

fn token(claims: serde_json::Value) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET),
    )
    .expect("signs")
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let id = |s| TenantId::parse(s).expect("a valid id");
    let catalog = MemoryCatalog::new()
        .with(TenantRecord::new(id("acme"), "Acme Corp"))
        .with(TenantRecord::new(id("globex"), "Globex"))
        .with(TenantRecord::new(id("initech"), "Initech").with_status(TenantStatus::Suspended));
    let app = TenancyLayer::builder()
        .resolver(JwtResolver::hs256(SECRET))
        .resolver(HeaderResolver::x_tenant_id())
        .resolver(PathResolver::default())
        .catalog(Catalog::new(catalog))
        .build()
        .layer(Router::new().route("/whoami", get(whoami)));

    let exp = 4_102_444_800u64; // 2100-01-01
    let alice = token(json!({"sub": "alice", "tenant_id": "acme", "exp": exp}));
    let carol = token(json!({"sub": "carol", "tenants": ["acme", "globex"], "exp": exp}));
    let dave = token(json!({"sub": "dave", "tenant_id": "initech", "exp": exp}));

    let cases: [(&str, &str, Option<&str>, Option<&str>); 7] = [
        ("alice's token", "/whoami", Some(&alice), None),
        (
            "carol chooses by header",
            "/whoami",
            Some(&carol),
            Some("globex"),
        ),
        (
            "carol chooses by path",
            "/tenants/acme/whoami",
            Some(&carol),
            None,
        ),
        (
            "alice names another tenant",
            "/whoami",
            Some(&alice),
            Some("globex"),
        ),
        ("a suspended tenant", "/whoami", Some(&dave), None),
        ("a header without a token", "/whoami", None, Some("acme")),
        ("no tenant at all", "/whoami", None, None),
    ];
    for (what, path, bearer, tenant) in cases {
        let mut req = http::Request::get(path);
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(t) = tenant {
            req = req.header("x-tenant-id", t);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::empty()).expect("a request"))
            .await
            .expect("infallible");
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 64 * 1024)
            .await
            .expect("a body");
        println!("{what:28} {status}  {}", String::from_utf8_lossy(&body));
    }
}
