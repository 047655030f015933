//! `tenantry serve` as a process, driven over HTTP: every DESIGN §3 row the demo can show.

use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::json;

use crate::support::*;

const WHOAMI: &str = "/api/v1/whoami";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn token_cmd(args: &[&str]) -> String {
    let mut full = vec!["token"];
    full.extend_from_slice(args);
    let out = run(&mut tenantry(&full));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn the_demo_enforces_every_rule() {
    let dir = TempDir::new();
    let server = Server::start(&dir.sqlite_url(), &[], &[]);
    let (alice, carol, dave) = (
        server.token("ALICE"),
        server.token("CAROL"),
        server.token("DAVE"),
    );
    let url = server.url(WHOAMI);

    let health = get(&server.url("/healthz"), None, &[]).await;
    assert_eq!(
        (health.status, health.body.clone()),
        (200, json!({"status": "ok"}))
    );

    // Accepted: the token names the tenant; the path form serves the same route.
    get(&url, Some(&alice), &[])
        .await
        .assert_whoami("acme", "jwt", Some("alice"));
    get(
        &server.url("/tenants/acme/api/v1/whoami"),
        Some(&alice),
        &[],
    )
    .await
    .assert_whoami("acme", "jwt", Some("alice"));
    // A member of two tenants chooses by header or by path.
    for t in ["acme", "globex"] {
        get(&url, Some(&carol), &[("x-tenant-id", t)])
            .await
            .assert_whoami(t, "header", Some("carol"));
        get(
            &server.url(&format!("/tenants/{t}{WHOAMI}")),
            Some(&carol),
            &[],
        )
        .await
        .assert_whoami(t, "path", Some("carol"));
    }
    // Query parameters never switch the tenant.
    let q = format!("{url}?tenant_id=globex&tenant_header=globex");
    get(&q, Some(&alice), &[])
        .await
        .assert_whoami("acme", "jwt", Some("alice"));
    get(&q, None, &[])
        .await
        .assert_problem(401, "tenant_context_missing");

    // 401s.
    get(&url, None, &[])
        .await
        .assert_problem(401, "tenant_context_missing");
    get(&url, None, &[("x-tenant-id", "acme")])
        .await
        .assert_problem(401, "unauthenticated");
    let expired = encode(
        &Header::default(),
        &json!({"sub": "alice", "tenant_id": "acme", "exp": now() - 10}),
        &EncodingKey::from_secret(b"tenantry-dev-secret-not-for-production"),
    )
    .unwrap();
    get(&url, Some(&expired), &[])
        .await
        .assert_problem(401, "unauthenticated");
    let other_key = token_cmd(&[
        "--sub",
        "alice",
        "--tenant",
        "acme",
        "--jwt-secret",
        "not-the-server-secret",
    ]);
    get(&url, Some(&other_key), &[])
        .await
        .assert_problem(401, "unauthenticated");
    get(&url, Some("not.a.token"), &[])
        .await
        .assert_problem(401, "unauthenticated");

    // 400 before any lookup.
    let long = "x".repeat(65);
    for bad in [
        "   ",
        long.as_str(),
        "'; drop table tenantry_tenants; --",
        "a/b",
    ] {
        get(&url, Some(&carol), &[("x-tenant-id", bad)])
            .await
            .assert_problem(400, "tenant_invalid");
    }

    // 403s.
    get(&url, Some(&alice), &[("x-tenant-id", "globex")])
        .await
        .assert_problem(403, "tenant_mismatch");
    get(
        &server.url("/tenants/globex/api/v1/whoami"),
        Some(&alice),
        &[],
    )
    .await
    .assert_problem(403, "tenant_mismatch");
    let non_member = get(&url, Some(&carol), &[("x-tenant-id", "initech")]).await;
    non_member.assert_problem(403, "tenant_forbidden");
    let eve = token_cmd(&["--sub", "eve", "--tenant", "nosuch"]);
    let unknown = get(&url, Some(&eve), &[]).await;
    unknown.assert_problem(403, "tenant_forbidden");
    assert_eq!(
        non_member.body, unknown.body,
        "unknown and non-member must look the same"
    );
    get(&url, Some(&dave), &[])
        .await
        .assert_problem(403, "tenant_suspended");

    // The catalog table lives in the demo database.
    assert!(dir.0.join("demo.db").exists());
}

#[tokio::test]
async fn trusted_gateway_mode_and_secret_from_the_environment() {
    let dir = TempDir::new();
    let server = Server::start(
        &dir.sqlite_url(),
        &["--trust-tenant-header"],
        &[("TENANTRY_JWT_SECRET", "gateway-secret")],
    );
    assert!(server.banner.contains("--trust-tenant-header"));
    assert!(!server.banner.contains("development JWT secret"));
    let url = server.url(WHOAMI);
    get(&url, None, &[("x-tenant-id", "globex")])
        .await
        .assert_whoami("globex", "header", None);
    get(&url, None, &[("x-tenant-id", "initech")])
        .await
        .assert_problem(403, "tenant_suspended");
    get(&url, None, &[("x-tenant-id", "nosuch")])
        .await
        .assert_problem(403, "tenant_forbidden");
    // Tokens signed with the environment's secret are accepted; dev-secret ones are not.
    let good = token_cmd(&[
        "--sub",
        "bob",
        "--tenant",
        "globex",
        "--jwt-secret",
        "gateway-secret",
    ]);
    get(&url, Some(&good), &[])
        .await
        .assert_whoami("globex", "jwt", Some("bob"));
    let dev = token_cmd(&["--sub", "bob", "--tenant", "globex"]);
    get(&url, Some(&dev), &[])
        .await
        .assert_problem(401, "unauthenticated");
}

#[tokio::test]
async fn a_restart_keeps_the_catalog_and_seeds_once() {
    let dir = TempDir::new();
    let first = Server::start(&dir.sqlite_url(), &[], &[]);
    let alice = first.token("ALICE");
    get(&first.url(WHOAMI), Some(&alice), &[])
        .await
        .assert_whoami("acme", "jwt", Some("alice"));
    drop(first);
    let second = Server::start(&dir.sqlite_url(), &[], &[]);
    get(&second.url(WHOAMI), Some(&alice), &[])
        .await
        .assert_whoami("acme", "jwt", Some("alice"));
}
