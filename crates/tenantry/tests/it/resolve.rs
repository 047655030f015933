//! Each resolver alone and in chains: order, `resolved_by`, and what never names a tenant.

use http::HeaderName;
use jsonwebtoken::{Algorithm, EncodingKey};
use tenantry::{
    Principal, Rejection, TenancyLayer,
    enforce::Disagreement,
    resolve::{
        ExtensionResolver, HeaderResolver, HookResolver, IdentityResolver, JwtResolver,
        PathResolver, SubdomainResolver, TenantHint,
    },
};
use tower::{Layer, util::MapRequestLayer};

use crate::support::*;

fn trusted() -> tenantry::enforce::TenancyBuilder {
    TenancyLayer::builder().trusted_gateway(true)
}

#[tokio::test]
async fn header_alone() {
    let app = trusted()
        .resolver(HeaderResolver::x_tenant_id())
        .build()
        .layer(router());
    call(&app, req("/whoami").header("x-tenant-id", "acme").send())
        .await
        .assert_ok("acme", "header");
    call(&app, req("/whoami").header("X-TENANT-ID", " acme ").send())
        .await
        .assert_ok("acme", "header");
    call(&app, req("/whoami").send())
        .await
        .assert_problem(401, "tenant_context_missing");
    // Two different values: refused, never "first one wins".
    let r = req("/whoami")
        .header("x-tenant-id", "acme")
        .header("x-tenant-id", "globex");
    call(&app, r.send())
        .await
        .assert_problem(400, "tenant_invalid");

    let custom = trusted()
        .resolver(HeaderResolver::new(HeaderName::from_static("x-org")))
        .build();
    let app = custom.layer(router());
    call(&app, req("/whoami").header("x-org", "globex").send())
        .await
        .assert_ok("globex", "header");
    call(&app, req("/whoami").header("x-tenant-id", "acme").send())
        .await
        .assert_problem(401, "tenant_context_missing");
}

#[tokio::test]
async fn subdomain_alone() {
    let r = SubdomainResolver::new("app.example.com").unwrap();
    let app = trusted().resolver(r).build().layer(router());
    let host = |h: &str| req("/whoami").header("host", h).send();
    call(&app, host("acme.app.example.com"))
        .await
        .assert_ok("acme", "subdomain");
    call(&app, host("acme.app.example.com:8443"))
        .await
        .assert_ok("acme", "subdomain");
    call(&app, host("ACME.App.Example.com"))
        .await
        .assert_ok("acme", "subdomain");
    for not_tenant in [
        "www.app.example.com",
        "app.example.com",
        "app.example.com:80",
        "x.acme.app.example.com",
        "acme.evil.com",
    ] {
        call(&app, host(not_tenant))
            .await
            .assert_problem(401, "tenant_context_missing");
    }
    assert!(SubdomainResolver::new("").is_err());
    assert!(SubdomainResolver::new("bad domain").is_err());
}

#[tokio::test]
async fn path_alone_strips_the_prefix() {
    let app = trusted()
        .resolver(PathResolver::default())
        .build()
        .layer(router());
    call(&app, req("/tenants/acme/whoami").send())
        .await
        .assert_ok("acme", "path");
    let seen = call(&app, req("/tenants/acme/path?x=1&y=2").send()).await;
    assert_eq!(seen.text, "/path?x=1&y=2");
    call(&app, req("/whoami").send())
        .await
        .assert_problem(401, "tenant_context_missing");
    call(&app, req("/tenants/a%20b/whoami").send())
        .await
        .assert_problem(400, "tenant_invalid");
    call(&app, req("/tenants//whoami").send())
        .await
        .assert_problem(400, "tenant_invalid");

    let short = trusted()
        .resolver(PathResolver::template("/t/{tenant_id}/").unwrap())
        .build();
    let app = short.layer(router());
    call(&app, req("/t/globex/whoami").send())
        .await
        .assert_ok("globex", "path");
    for bad in [
        "/t/{id}/",
        "t/{tenant_id}/",
        "/t/x{tenant_id}/",
        "/t/{tenant_id}/more/",
    ] {
        assert!(PathResolver::template(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn extension_alone() {
    let layer = trusted().resolver(ExtensionResolver).build();
    let app = MapRequestLayer::new(|mut req: http::Request<axum::body::Body>| {
        if req.headers().contains_key("x-upstream") {
            req.extensions_mut().insert(TenantHint::new("acme"));
        }
        req
    })
    .layer(layer.layer(router()));
    call(&app, req("/whoami").header("x-upstream", "1").send())
        .await
        .assert_ok("acme", "extension");
    call(&app, req("/whoami").send())
        .await
        .assert_problem(401, "tenant_context_missing");
}

fn with_principal<S>(
    inner: S,
    p: Option<Principal>,
) -> impl tower::Service<
    http::Request<axum::body::Body>,
    Response = http::Response<axum::body::Body>,
    Error = std::convert::Infallible,
    Future: Send,
> + Clone
where
    S: tower::Service<
            http::Request<axum::body::Body>,
            Response = http::Response<axum::body::Body>,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone,
{
    MapRequestLayer::new(move |mut req: http::Request<axum::body::Body>| {
        if let Some(p) = &p {
            req.extensions_mut().insert(p.clone());
        }
        req
    })
    .layer(inner)
}

#[tokio::test]
async fn identity_alone() {
    let layer = TenancyLayer::builder().resolver(IdentityResolver).build();
    let one = Principal::new("alice").with_tenant("acme");
    let app = with_principal(layer.layer(router()), Some(one));
    let r = call(&app, req("/whoami").send()).await;
    r.assert_ok("acme", "identity");
    assert_eq!(r.body["subject"], "alice");

    // A principal with one membership implies it; with several it chooses nothing.
    let single = Principal::new("bob").with_tenants(["globex"]);
    let app = with_principal(layer.layer(router()), Some(single));
    call(&app, req("/whoami").send())
        .await
        .assert_ok("globex", "identity");
    let several = Principal::new("carol").with_tenants(["acme", "globex"]);
    let app = with_principal(layer.layer(router()), Some(several));
    call(&app, req("/whoami").send())
        .await
        .assert_problem(401, "tenant_context_missing");
}

#[tokio::test]
async fn jwt_alone_hs256_rs256_es256() {
    let c = claims("alice", Some("acme"), &[]);
    let cases = [
        (JwtResolver::hs256(SECRET), hs256(&c)),
        (
            JwtResolver::rs256_pem(RSA_PUBLIC).unwrap(),
            sign(
                Algorithm::RS256,
                &EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
                &c,
            ),
        ),
        (
            JwtResolver::es256_pem(EC_PUBLIC).unwrap(),
            sign(
                Algorithm::ES256,
                &EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
                &c,
            ),
        ),
    ];
    for (resolver, token) in cases {
        let app = TenancyLayer::builder()
            .resolver(resolver)
            .build()
            .layer(router());
        let r = call(
            &app,
            req("/whoami")
                .header("authorization", format!("Bearer {token}"))
                .send(),
        )
        .await;
        r.assert_ok("acme", "jwt");
        assert_eq!(r.body["subject"], "alice");
    }
    assert!(JwtResolver::rs256_pem(b"garbage").is_err());
    assert!(JwtResolver::es256_pem(RSA_PUBLIC).is_err());
}

#[tokio::test]
async fn jwt_claim_name_is_configurable() {
    let app = TenancyLayer::builder()
        .resolver(JwtResolver::hs256(SECRET).claim("org"))
        .build()
        .layer(router());
    let mut c = claims("alice", None, &[]);
    c["org"] = "globex".into();
    c["tenants"] = serde_json::json!(["globex"]);
    let r = call(
        &app,
        req("/whoami")
            .header("authorization", format!("Bearer {}", hs256(&c)))
            .send(),
    )
    .await;
    r.assert_ok("globex", "jwt");
}

#[tokio::test]
async fn hooks_sync_async_fall_through_and_refuse() {
    let hook = HookResolver::new(|head| match head.headers.get("x-hook") {
        None => Ok(None),
        Some(v) if v == "refuse" => Err(Rejection::unresolvable("the hook refused")),
        Some(v) => Ok(Some(v.to_str().unwrap_or("").to_owned())),
    });
    let app = trusted()
        .resolver(hook)
        .resolver(HeaderResolver::x_tenant_id())
        .build()
        .layer(router());
    call(&app, req("/whoami").header("x-hook", "acme").send())
        .await
        .assert_ok("acme", "override");
    call(&app, req("/whoami").header("x-tenant-id", "globex").send())
        .await
        .assert_ok("globex", "header");
    call(&app, req("/whoami").header("x-hook", "refuse").send())
        .await
        .assert_problem(400, "tenant_unresolvable");

    let async_hook = HookResolver::new_async(|head| {
        let key = head.headers.get("x-api-key").cloned();
        async move {
            tokio::task::yield_now().await;
            match key {
                None => Ok(None),
                Some(k) if k == "k-acme" => Ok(Some("acme".to_owned())),
                Some(_) => Err(Rejection::unauthenticated("unknown API key")),
            }
        }
    })
    .named("api_key");
    // Not trusted-gateway: the hook is your own code, so it is authoritative.
    let app = TenancyLayer::builder()
        .resolver(async_hook)
        .build()
        .layer(router());
    call(&app, req("/whoami").header("x-api-key", "k-acme").send())
        .await
        .assert_ok("acme", "api_key");
    call(&app, req("/whoami").header("x-api-key", "nope").send())
        .await
        .assert_problem(401, "unauthenticated");
    call(&app, req("/whoami").send())
        .await
        .assert_problem(401, "tenant_context_missing");
}

#[tokio::test]
async fn chain_order_and_disagreement() {
    let hook = HookResolver::new(|head| {
        Ok(head
            .headers
            .get("x-hook")
            .map(|v| v.to_str().unwrap_or("").to_owned()))
    });
    let strict = trusted()
        .resolver(hook.clone())
        .resolver(HeaderResolver::x_tenant_id())
        .resolver(PathResolver::default())
        .build()
        .layer(router());
    // Agreement: the first resolver in the order is credited.
    let r = req("/tenants/acme/whoami")
        .header("x-hook", "acme")
        .header("x-tenant-id", "acme");
    call(&strict, r.send()).await.assert_ok("acme", "override");
    let r = req("/tenants/acme/whoami").header("x-tenant-id", "acme");
    call(&strict, r.send()).await.assert_ok("acme", "header");
    // Disagreement: refused by default...
    let r = req("/tenants/globex/whoami").header("x-tenant-id", "acme");
    call(&strict, r.send())
        .await
        .assert_problem(403, "tenant_mismatch");
    // ...or the first wins when asked.
    let first = trusted()
        .resolver(HeaderResolver::x_tenant_id())
        .resolver(PathResolver::default())
        .on_disagreement(Disagreement::FirstWins)
        .build()
        .layer(router());
    let r = req("/tenants/globex/whoami").header("x-tenant-id", "acme");
    call(&first, r.send()).await.assert_ok("acme", "header");
    // Reverse order, reverse winner.
    let reversed = trusted()
        .resolver(PathResolver::default())
        .resolver(HeaderResolver::x_tenant_id())
        .on_disagreement(Disagreement::FirstWins)
        .build()
        .layer(router());
    let r = req("/tenants/globex/whoami").header("x-tenant-id", "acme");
    call(&reversed, r.send()).await.assert_ok("globex", "path");
}

#[tokio::test]
async fn default_order_is_identity_header_extension() {
    let layer = TenancyLayer::builder().trusted_gateway(true).build();
    let app = with_principal(
        layer.layer(router()),
        Some(Principal::new("carol").with_tenants(["acme", "globex"])),
    );
    call(&app, req("/whoami").header("x-tenant-id", "globex").send())
        .await
        .assert_ok("globex", "header");
    let app = with_principal(
        layer.layer(router()),
        Some(Principal::new("alice").with_tenant("acme")),
    );
    call(&app, req("/whoami").send())
        .await
        .assert_ok("acme", "identity");
    call(&app, req("/whoami").header("x-tenant-id", "globex").send())
        .await
        .assert_problem(403, "tenant_mismatch");
}

#[tokio::test]
async fn query_parameters_never_name_a_tenant() {
    let app = TenancyLayer::stub().layer(router());
    for q in [
        "tenant_id=globex",
        "tenant_header=globex",
        "x-tenant-id=globex",
        "tenant=globex",
    ] {
        call(&app, req(&format!("/whoami?{q}")).send())
            .await
            .assert_problem(401, "tenant_context_missing");
        call(
            &app,
            req(&format!("/whoami?{q}"))
                .header("x-tenant-id", "acme")
                .send(),
        )
        .await
        .assert_ok("acme", "header");
    }
}

#[tokio::test]
async fn jwt_tokens_are_verified_once_then_served_from_the_cache() {
    let jwt = JwtResolver::hs256(SECRET);
    let metrics = jwt.token_cache_metrics();
    let app = TenancyLayer::builder()
        .resolver(jwt)
        .build()
        .layer(router());
    let token = hs256(&claims("alice", Some("acme"), &[]));
    for _ in 0..3 {
        call(
            &app,
            req("/whoami")
                .header("authorization", format!("Bearer {token}"))
                .send(),
        )
        .await
        .assert_ok("acme", "jwt");
    }
    assert_eq!((metrics.hits(), metrics.misses()), (2, 1));
    // The same token with its last signature character changed: verified, refused.
    let mut forged = token.clone();
    let last = if forged.ends_with('A') { "B" } else { "A" };
    forged.replace_range(forged.len() - 1.., last);
    call(
        &app,
        req("/whoami")
            .header("authorization", format!("Bearer {forged}"))
            .send(),
    )
    .await
    .assert_problem(401, "unauthenticated");
    assert_eq!((metrics.hits(), metrics.misses()), (2, 2));
}
