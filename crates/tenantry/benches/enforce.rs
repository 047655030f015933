//! What the tenancy layer costs per request, measured against the same trivial axum handler
//! without it (docs/PERFORMANCE.md, "Tenancy layer overhead").
//!
//! Every service case builds its request inside the iteration and sends it with
//! `tower::ServiceExt::oneshot` on a clone of the service, driven by `Runtime::block_on` on a
//! current-thread runtime. `block_on (empty future)` measures that harness alone; `bare` and
//! `bare+principal ext` are the baselines without tenancy (the same requests, a handler without
//! an extractor). The `jwt …` cases use the resolver's default token cache (every measured
//! request is a hit), `jwt … uncached` verifies the token on every request, and the
//! `verify only` cases call `JwtResolver::verify` directly, outside any service, to show how
//! much of an uncached JWT request is the signature check.
//!
//! No tracing subscriber is installed, so spans are created disabled (as in a service whose
//! subscriber filters them out).
//!
//! `cargo bench -p tenantry --bench enforce`

use std::{
    convert::Infallible,
    hint::black_box,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{Router, body::Body, routing::get};
use criterion::{
    BenchmarkGroup, Criterion, criterion_group, criterion_main, measurement::WallTime,
};
use http::{HeaderValue, Request, Response, StatusCode, header::AUTHORIZATION};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::json;
use tenantry::{
    Principal, TenancyLayer, TenantId,
    catalog::{Catalog, MemoryCatalog},
    resolve::{HeaderResolver, JwtResolver},
};
use tokio::runtime::Runtime;
use tower::{Layer, Service, ServiceExt};

const SECRET: &[u8] = b"bench-secret-bench-secret-bench-secret";
const RSA_PRIVATE: &[u8] = include_bytes!("../tests/it/keys/rsa_private.pem");
const RSA_PUBLIC: &[u8] = include_bytes!("../tests/it/keys/rsa_public.pem");
const EC_PRIVATE: &[u8] = include_bytes!("../tests/it/keys/ec_private.pem");
const EC_PUBLIC: &[u8] = include_bytes!("../tests/it/keys/ec_public.pem");
const TENANT: &str = "acme";

async fn bare_handler() -> &'static str {
    "ok"
}

async fn tenant_handler(tenant: TenantId) -> &'static str {
    black_box(&tenant);
    "ok"
}

fn bare_router() -> Router {
    Router::new().route("/whoami", get(bare_handler))
}

fn tenant_router() -> Router {
    Router::new().route("/whoami", get(tenant_handler))
}

/// A catalog holding the tenant, active, with the default cache (30 s TTL).
fn catalog() -> Catalog {
    Catalog::new(MemoryCatalog::with_active([
        TenantId::parse(TENANT).unwrap()
    ]))
}

/// `GET /whoami` naming the tenant by header, as every service case sends it.
fn request() -> http::request::Builder {
    Request::get("/whoami").header("x-tenant-id", HeaderValue::from_static(TENANT))
}

/// A token for `alice` in the tenant, valid for a year.
fn token(alg: Algorithm, key: &EncodingKey) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 365 * 24 * 3600;
    let claims = json!({"sub": "alice", "tenant_id": TENANT, "exp": exp});
    encode(&Header::new(alg), &claims, key).unwrap()
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}")).unwrap()
}

/// Benches `oneshot` of `make()` on clones of `svc`, after checking that it answers 200 (which
/// also fills the catalog cache).
fn bench_service<S>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    name: &str,
    svc: S,
    make: impl Fn() -> Request<Body>,
) where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    let res = rt.block_on(svc.clone().oneshot(make())).unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{name}: the request must be accepted"
    );
    group.bench_function(name, |b| {
        b.iter(|| {
            let req = make();
            black_box(rt.block_on(svc.clone().oneshot(req)).unwrap())
        });
    });
}

fn bench_verify(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    jwt: &JwtResolver,
    token: &str,
) {
    assert!(jwt.verify(token).is_ok(), "{name}: the token must verify");
    group.bench_function(name, |b| {
        b.iter(|| black_box(jwt.verify(black_box(token)).unwrap()))
    });
}

fn enforce(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // What an auth layer would have put in the extensions: a member of two tenants.
    let alice = Principal::new("alice").with_tenants([TENANT, "globex"]);

    let mut group = c.benchmark_group("enforce");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));

    // The harness alone.
    group.bench_function("block_on (empty future)", |b| {
        b.iter(|| rt.block_on(black_box(std::future::ready(()))));
    });

    // Baselines: no tenancy, a handler without an extractor.
    bench_service(&mut group, &rt, "bare", bare_router(), || {
        request().body(Body::empty()).unwrap()
    });
    bench_service(&mut group, &rt, "bare+principal ext", bare_router(), || {
        request()
            .extension(alice.clone())
            .body(Body::empty())
            .unwrap()
    });

    // Header path as in production: the auth layer's principal chooses the tenant by header;
    // validation, claims membership, cached catalog, task-local scope and span.
    let layer = TenancyLayer::builder()
        .resolver(HeaderResolver::x_tenant_id())
        .catalog(catalog())
        .build();
    bench_service(
        &mut group,
        &rt,
        "header+principal+catalog",
        layer.layer(tenant_router()),
        || {
            request()
                .extension(alice.clone())
                .body(Body::empty())
                .unwrap()
        },
    );

    // The same without the catalog, to isolate the cached lookup.
    let layer = TenancyLayer::builder()
        .resolver(HeaderResolver::x_tenant_id())
        .build();
    bench_service(
        &mut group,
        &rt,
        "header+principal, no catalog",
        layer.layer(tenant_router()),
        || {
            request()
                .extension(alice.clone())
                .body(Body::empty())
                .unwrap()
        },
    );

    // Behind a trusted gateway: the header alone, no principal.
    let layer = TenancyLayer::builder()
        .resolver(HeaderResolver::x_tenant_id())
        .trusted_gateway(true)
        .catalog(catalog())
        .build();
    bench_service(
        &mut group,
        &rt,
        "header (trusted gateway)",
        layer.layer(tenant_router()),
        || request().body(Body::empty()).unwrap(),
    );

    // JWT: the token names the tenant and yields the principal.
    let algorithms = [
        (
            "HS256",
            Algorithm::HS256,
            EncodingKey::from_secret(SECRET),
            JwtResolver::hs256(SECRET),
        ),
        (
            "RS256",
            Algorithm::RS256,
            EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
            JwtResolver::rs256_pem(RSA_PUBLIC).unwrap(),
        ),
        (
            "ES256",
            Algorithm::ES256,
            EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
            JwtResolver::es256_pem(EC_PUBLIC).unwrap(),
        ),
    ];
    for (name, alg, signing, jwt) in algorithms {
        let token = token(alg, &signing);
        let auth = bearer(&token);
        // `jwt …`: the default resolver, so every measured request is a token-cache hit;
        // `jwt … uncached`: the cache off, the token verified on every request.
        for (case, resolver) in [
            (format!("jwt {name}"), jwt.clone()),
            (
                format!("jwt {name} uncached"),
                jwt.clone().without_token_cache(),
            ),
        ] {
            let layer = TenancyLayer::builder()
                .resolver(resolver)
                .catalog(catalog())
                .build();
            bench_service(&mut group, &rt, &case, layer.layer(tenant_router()), || {
                request()
                    .header(AUTHORIZATION, auth.clone())
                    .body(Body::empty())
                    .unwrap()
            });
        }
        bench_verify(&mut group, &format!("jwt {name} verify only"), &jwt, &token);
    }

    group.finish();
}

criterion_group!(benches, enforce);
criterion_main!(benches);
