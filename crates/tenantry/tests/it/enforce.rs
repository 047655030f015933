//! Every row of DESIGN §3 through a real axum app, with the layer configured as in production:
//! JWT + header + path resolvers, a catalog, claims membership, no trusted gateway.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::json;
use tenantry::{
    BoxFuture, TenancyLayer, TenantId,
    catalog::{Catalog, CatalogError, CatalogStore, MemoryCatalog, TenantRecord, TenantStatus},
    enforce::{MembershipError, MembershipFn, RequireTenantLayer},
    resolve::{HeaderResolver, JwtResolver, PathResolver},
};
use tower::Layer;

use crate::support::*;

fn record(id: &str, status: TenantStatus) -> TenantRecord {
    TenantRecord::new(TenantId::parse(id).unwrap(), id).with_status(status)
}

fn catalog() -> Catalog {
    Catalog::new(
        MemoryCatalog::new()
            .with(record("acme", TenantStatus::Active))
            .with(record("globex", TenantStatus::Active))
            .with(record("initech", TenantStatus::Suspended))
            .with(record("umbrella", TenantStatus::Moving))
            .with(record("hooli", TenantStatus::Provisioning))
            .with(record("gone", TenantStatus::Deleted)),
    )
}

fn production() -> tenantry::enforce::TenancyBuilder {
    TenancyLayer::builder()
        .resolver(JwtResolver::hs256(SECRET))
        .resolver(HeaderResolver::x_tenant_id())
        .resolver(PathResolver::default())
        .catalog(catalog())
}

fn bearer(token: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {token}"))
}

fn as_user(uri: &str, sub: &str, tenant: Option<&str>, tenants: &[&str]) -> http::request::Builder {
    let (k, v) = bearer(&hs256(&claims(sub, tenant, tenants)));
    req(uri).header(k, v)
}

#[tokio::test]
async fn accepted_requests() {
    let app = production().build().layer(router());
    let r = call(&app, as_user("/whoami", "alice", Some("acme"), &[]).send()).await;
    r.assert_ok("acme", "jwt");
    assert_eq!(r.body["subject"], "alice");
    // The path form serves the same route; token and path agree.
    call(
        &app,
        as_user("/tenants/acme/whoami", "alice", Some("acme"), &[]).send(),
    )
    .await
    .assert_ok("acme", "jwt");
    // A member of two tenants chooses either by header, or by path.
    for t in ["acme", "globex"] {
        let rq = as_user("/whoami", "carol", None, &["acme", "globex"]).header("x-tenant-id", t);
        call(&app, rq.send()).await.assert_ok(t, "header");
        let rq = as_user(
            &format!("/tenants/{t}/whoami"),
            "carol",
            None,
            &["acme", "globex"],
        );
        call(&app, rq.send()).await.assert_ok(t, "path");
    }
}

#[tokio::test]
async fn no_tenant_is_401_tenant_context_missing() {
    let app = production().build().layer(router());
    call(&app, req("/whoami").send())
        .await
        .assert_problem(401, "tenant_context_missing");
    // A verified principal that names no tenant still needs one.
    call(
        &app,
        as_user("/whoami", "carol", None, &["acme", "globex"]).send(),
    )
    .await
    .assert_problem(401, "tenant_context_missing");
}

#[tokio::test]
async fn malformed_tenant_ids_are_400_before_any_lookup() {
    // A catalog that fails every lookup proves that no lookup happens.
    let app = TenancyLayer::builder()
        .resolver(JwtResolver::hs256(SECRET))
        .resolver(HeaderResolver::x_tenant_id())
        .catalog(Catalog::new(FailingStore))
        .build()
        .layer(router());
    let long = "a".repeat(65);
    for bad in [
        "",
        "   ",
        long.as_str(),
        "'; drop table items; --",
        "a b",
        "-acme",
        "../acme",
    ] {
        let rq = as_user("/whoami", "carol", None, &["acme"]).header("x-tenant-id", bad);
        call(&app, rq.send())
            .await
            .assert_problem(400, "tenant_invalid");
    }
    let unicode = http::HeaderValue::from_bytes("ácme".as_bytes()).unwrap();
    let rq = as_user("/whoami", "carol", None, &["acme"]).header("x-tenant-id", unicode);
    call(&app, rq.send())
        .await
        .assert_problem(400, "tenant_invalid");
    // A malformed id inside a valid token is refused the same way.
    call(&app, as_user("/whoami", "mallory", Some("a;b"), &[]).send())
        .await
        .assert_problem(400, "tenant_invalid");
}

#[tokio::test]
async fn bad_tokens_are_401_unauthenticated() {
    let app = production().build().layer(router());
    let expired = hs256(&json!({"sub": "alice", "tenant_id": "acme", "exp": now() - 60}));
    let other_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims("alice", Some("acme"), &[]),
        &EncodingKey::from_secret(b"some other secret"),
    )
    .unwrap();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg_none = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        b64.encode(claims("alice", Some("acme"), &[]).to_string())
    );
    // RS256-signed token offered to an HS256 service (algorithm confusion).
    let rs = sign(
        Algorithm::RS256,
        &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
        &claims("alice", Some("acme"), &[]),
    );
    let no_sub = hs256(&json!({"tenant_id": "acme", "exp": now() + 60}));
    let no_exp = hs256(&json!({"sub": "alice", "tenant_id": "acme"}));
    let future = hs256(
        &json!({"sub": "alice", "tenant_id": "acme", "exp": now() + 600, "nbf": now() + 300}),
    );
    for token in [
        expired,
        other_key,
        alg_none,
        rs,
        no_sub,
        no_exp,
        "garbage".to_owned(),
        future,
    ] {
        let (k, v) = bearer(&token);
        let r = call(&app, req("/whoami").header(k, v).send()).await;
        r.assert_problem(401, "unauthenticated");
        assert_eq!(r.headers["www-authenticate"], "Bearer");
        // The same token with a header naming a tenant is still refused.
        let (k, v) = bearer(&token);
        let r = call(
            &app,
            req("/whoami")
                .header(k, v)
                .header("x-tenant-id", "acme")
                .send(),
        )
        .await;
        r.assert_problem(401, "unauthenticated");
    }
}

#[tokio::test]
async fn a_bare_header_needs_a_principal_unless_trusted_gateway() {
    let app = production().build().layer(router());
    call(&app, req("/whoami").header("x-tenant-id", "acme").send())
        .await
        .assert_problem(401, "unauthenticated");
    call(&app, req("/tenants/acme/whoami").send())
        .await
        .assert_problem(401, "unauthenticated");
    let gateway = production().trusted_gateway(true).build().layer(router());
    let r = call(
        &gateway,
        req("/whoami").header("x-tenant-id", "acme").send(),
    )
    .await;
    r.assert_ok("acme", "header");
    assert!(r.body["subject"].is_null());
    // Trusted gateway still checks the catalog.
    call(
        &gateway,
        req("/whoami").header("x-tenant-id", "initech").send(),
    )
    .await
    .assert_problem(403, "tenant_suspended");
}

#[tokio::test]
async fn disagreeing_sources_are_403_tenant_mismatch() {
    let app = production().build().layer(router());
    let rq = as_user("/whoami", "alice", Some("acme"), &[]).header("x-tenant-id", "globex");
    call(&app, rq.send())
        .await
        .assert_problem(403, "tenant_mismatch");
    let rq = as_user("/tenants/globex/whoami", "alice", Some("acme"), &[]);
    call(&app, rq.send())
        .await
        .assert_problem(403, "tenant_mismatch");
    let rq = as_user("/tenants/globex/whoami", "carol", None, &["acme", "globex"])
        .header("x-tenant-id", "acme");
    call(&app, rq.send())
        .await
        .assert_problem(403, "tenant_mismatch");
}

#[tokio::test]
async fn non_members_and_unknown_tenants_get_the_same_403() {
    let app = production().build().layer(router());
    let rq =
        as_user("/whoami", "carol", None, &["acme", "globex"]).header("x-tenant-id", "initech");
    let non_member = call(&app, rq.send()).await;
    non_member.assert_problem(403, "tenant_forbidden");
    // Unknown to the catalog, though the token claims it.
    let unknown = call(&app, as_user("/whoami", "eve", Some("nosuch"), &[]).send()).await;
    unknown.assert_problem(403, "tenant_forbidden");
    let deleted = call(&app, as_user("/whoami", "eve", Some("gone"), &[]).send()).await;
    deleted.assert_problem(403, "tenant_forbidden");
    // Same body: existence is not disclosed.
    assert_eq!(non_member.body, unknown.body);
    assert_eq!(non_member.body, deleted.body);
    // A non-member of a *suspended* tenant learns nothing about its status either.
    let rq = as_user("/whoami", "alice", None, &["acme"]).header("x-tenant-id", "initech");
    call(&app, rq.send())
        .await
        .assert_problem(403, "tenant_forbidden");
}

#[tokio::test]
async fn suspended_provisioning_and_moving_tenants() {
    let app = production().build().layer(router());
    call(
        &app,
        as_user("/whoami", "dave", Some("initech"), &[]).send(),
    )
    .await
    .assert_problem(403, "tenant_suspended");
    call(&app, as_user("/whoami", "hal", Some("hooli"), &[]).send())
        .await
        .assert_problem(423, "tenant_locked");
    // Moving: reads go on, writes pause.
    call(
        &app,
        as_user("/whoami", "umi", Some("umbrella"), &[]).send(),
    )
    .await
    .assert_ok("umbrella", "jwt");
    let post = as_user("/whoami", "umi", Some("umbrella"), &[]).method("POST");
    call(&app, post.send())
        .await
        .assert_problem(423, "tenant_locked");
}

#[tokio::test]
async fn catalog_changes_are_seen_at_once_through_the_catalog() {
    let cat = catalog();
    let app = TenancyLayer::builder()
        .resolver(JwtResolver::hs256(SECRET))
        .catalog(cat.clone())
        .build()
        .layer(router());
    let req = || as_user("/whoami", "bob", Some("globex"), &[]).send();
    call(&app, req()).await.assert_ok("globex", "jwt");
    let globex = TenantId::parse("globex").unwrap();
    cat.set_status(&globex, TenantStatus::Suspended)
        .await
        .unwrap();
    call(&app, req())
        .await
        .assert_problem(403, "tenant_suspended");
    cat.set_status(&globex, TenantStatus::Active).await.unwrap();
    call(&app, req()).await.assert_ok("globex", "jwt");
}

struct FailingStore;

impl CatalogStore for FailingStore {
    fn get<'a>(
        &'a self,
        _: &'a TenantId,
    ) -> BoxFuture<'a, Result<Option<TenantRecord>, CatalogError>> {
        Box::pin(async { Err(CatalogError::Unavailable("connection refused".into())) })
    }
    fn list(&self) -> BoxFuture<'_, Result<Vec<TenantRecord>, CatalogError>> {
        Box::pin(async { Err(CatalogError::Unavailable("connection refused".into())) })
    }
    fn create<'a>(&'a self, _: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(async { Err(CatalogError::Unavailable("connection refused".into())) })
    }
    fn update<'a>(&'a self, _: &'a TenantRecord) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(async { Err(CatalogError::Unavailable("connection refused".into())) })
    }
    fn remove<'a>(&'a self, _: &'a TenantId) -> BoxFuture<'a, Result<(), CatalogError>> {
        Box::pin(async { Err(CatalogError::Unavailable("connection refused".into())) })
    }
}

#[tokio::test]
async fn backend_failures_are_503_never_500() {
    let app = TenancyLayer::builder()
        .resolver(JwtResolver::hs256(SECRET))
        .catalog(Catalog::new(FailingStore))
        .build()
        .layer(router());
    let r = call(&app, as_user("/whoami", "alice", Some("acme"), &[]).send()).await;
    r.assert_problem(503, "unavailable");
    assert!(
        !r.text.contains("connection refused"),
        "internals leaked: {}",
        r.text
    );

    let app = TenancyLayer::builder()
        .resolver(JwtResolver::hs256(SECRET))
        .membership(MembershipFn::new(|_, _| async {
            Err(MembershipError("membership store down".into()))
        }))
        .build()
        .layer(router());
    call(&app, as_user("/whoami", "alice", Some("acme"), &[]).send())
        .await
        .assert_problem(503, "unavailable");
}

#[tokio::test]
async fn a_custom_membership_decides() {
    // Memberships kept by the application: only "root" may act for any tenant.
    let app = TenancyLayer::builder()
        .resolver(JwtResolver::hs256(SECRET))
        .resolver(HeaderResolver::x_tenant_id())
        .membership(MembershipFn::new(
            |p: tenantry::Principal, _t: TenantId| async move { Ok(p.subject() == "root") },
        ))
        .build()
        .layer(router());
    let rq = as_user("/whoami", "root", None, &[]).header("x-tenant-id", "globex");
    call(&app, rq.send()).await.assert_ok("globex", "header");
    let rq = as_user("/whoami", "carol", None, &["globex"]).header("x-tenant-id", "globex");
    call(&app, rq.send())
        .await
        .assert_problem(403, "tenant_forbidden");
}

#[tokio::test]
async fn optional_layer_with_required_routes() {
    let routes = router().merge(
        axum::Router::new()
            .route("/scoped", axum::routing::get(|| async { "scoped" }))
            .route_layer(RequireTenantLayer::new()),
    );
    let app = tenantry::TenancyLayer::builder()
        .resolver(HeaderResolver::x_tenant_id())
        .trusted_gateway(true)
        .optional()
        .build()
        .layer(routes);
    let r = call(&app, req("/optional").send()).await;
    assert_eq!(r.status, 200);
    assert!(r.body["tenant_id"].is_null());
    let r = call(&app, req("/optional").header("x-tenant-id", "acme").send()).await;
    assert_eq!(r.body["tenant_id"], "acme");
    // Optional does not mean lax: a malformed id is still refused.
    call(&app, req("/optional").header("x-tenant-id", "a b").send())
        .await
        .assert_problem(400, "tenant_invalid");
    call(&app, req("/scoped").send())
        .await
        .assert_problem(401, "tenant_context_missing");
    call(&app, req("/whoami").send())
        .await
        .assert_problem(401, "tenant_context_missing");
    let r = call(&app, req("/scoped").header("x-tenant-id", "acme").send()).await;
    assert_eq!((r.status.as_u16(), r.text.as_str()), (200, "scoped"));
}

#[tokio::test]
async fn public_paths_pass_without_a_tenant_and_only_they_do() {
    let app = production()
        .public_path("/optional")
        .public_path("/path")
        .build()
        .layer(router());
    // No tenant, nothing resolved: the handler sees no tenant.
    let r = call(&app, req("/optional").send()).await;
    assert_eq!(r.status, 200, "body: {}", r.text);
    assert!(r.body["tenant_id"].is_null());
    // Nothing is even looked at: a suspended tenant or a bad token does not matter there...
    let r = call(
        &app,
        req("/optional").header("x-tenant-id", "initech").send(),
    )
    .await;
    assert!(r.body["tenant_id"].is_null());
    let r = call(
        &app,
        req("/optional?x=1")
            .header("authorization", "Bearer nope")
            .send(),
    )
    .await;
    assert_eq!(r.status, 200, "body: {}", r.text);
    // ...and nothing is rewritten.
    let r = call(&app, req("/path").send()).await;
    assert_eq!(r.text, "/path");
    // Only the exact paths: every other route still needs a tenant.
    call(&app, req("/whoami").send())
        .await
        .assert_problem(401, "tenant_context_missing");
    call(&app, req("/optional/").send())
        .await
        .assert_problem(401, "tenant_context_missing");
    call(&app, req("/tenants/initech/optional").send())
        .await
        .assert_problem(401, "unauthenticated");
    call(
        &app,
        as_user("/tenants/initech/optional", "dave", Some("initech"), &[]).send(),
    )
    .await
    .assert_problem(403, "tenant_suspended");
    // A tenant extractor on a public path answers 401, not 500.
    let app = production().public_path("/whoami").build().layer(router());
    call(&app, as_user("/whoami", "alice", Some("acme"), &[]).send())
        .await
        .assert_problem(401, "tenant_context_missing");
}

#[tokio::test]
async fn an_extractor_without_its_layer_names_the_fix() {
    let r = call(&router(), req("/whoami").send()).await;
    r.assert_problem(500, "internal");
    assert!(r.body["detail"].as_str().unwrap().contains("TenancyLayer"));
}

#[tokio::test]
async fn stub_for_users_tests() {
    let app = TenancyLayer::stub().layer(router());
    call(&app, req("/whoami").header("x-tenant-id", "anyone").send())
        .await
        .assert_ok("anyone", "header");
    let only_acme = MemoryCatalog::with_active([TenantId::parse("acme").unwrap()]);
    let app = TenancyLayer::stub_with(only_acme).layer(router());
    call(&app, req("/whoami").header("x-tenant-id", "acme").send())
        .await
        .assert_ok("acme", "header");
    call(&app, req("/whoami").header("x-tenant-id", "globex").send())
        .await
        .assert_problem(403, "tenant_forbidden");
}
