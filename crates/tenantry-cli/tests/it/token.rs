//! `tenantry token`.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde_json::Value;

use crate::support::*;

#[test]
fn mints_a_verifiable_token_with_the_claims_asked_for() {
    let out = run(&mut tenantry(&[
        "token",
        "--sub",
        "carol",
        "--tenants",
        "acme,globex",
        "--ttl",
        "120",
        "--jwt-secret",
        "s3cret",
    ]));
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap();
    assert!(token.ends_with('\n'));
    let claims = decode::<Value>(
        token.trim(),
        &DecodingKey::from_secret(b"s3cret"),
        &Validation::new(Algorithm::HS256),
    )
    .unwrap()
    .claims;
    assert_eq!(claims["sub"], "carol");
    assert_eq!(claims["tenants"], serde_json::json!(["acme", "globex"]));
    assert!(claims.get("tenant_id").is_none());
    let ttl = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(ttl, 120);
}

#[test]
fn refuses_bad_input_with_exit_2() {
    let out = run(&mut tenantry(&["token", "--sub", "x", "--tenant", "a b"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid tenant id"));
    let out = run(&mut tenantry(&["token", "--tenant", "acme"]));
    assert_eq!(out.status.code(), Some(2), "missing --sub");
}
