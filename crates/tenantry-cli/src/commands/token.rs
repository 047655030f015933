//! `tenantry token`: mint a development token.

use std::process::ExitCode;

use anyhow::Context as _;
use jsonwebtoken::{EncodingKey, Header, encode};
use tenantry::{TenantId, resolve::TokenClaims};

use super::USAGE;
use crate::cli::TokenArgs;

pub(crate) fn run(args: &TokenArgs) -> anyhow::Result<ExitCode> {
    for t in args.tenant.iter().chain(&args.tenants) {
        if let Err(e) = TenantId::parse(t) {
            eprintln!("error: invalid tenant id {t:?}: {e}");
            return Ok(ExitCode::from(USAGE));
        }
    }
    let token = mint(
        args.secret.secret(),
        &args.sub,
        args.tenant.as_deref(),
        &args.tenants,
        args.ttl,
    )?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

/// Signs an HS256 token with `sub`, `exp`, `tenant_id` and `tenants`.
pub(crate) fn mint(
    secret: &str,
    sub: &str,
    tenant: Option<&str>,
    tenants: &[String],
    ttl: u64,
) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("system clock is before 1970")?
        .as_secs();
    let mut extra = serde_json::Map::new();
    if let Some(t) = tenant {
        extra.insert("tenant_id".into(), t.into());
    }
    extra.insert("iat".into(), now.into());
    let claims = TokenClaims {
        sub: sub.to_owned(),
        exp: now + ttl,
        tenants: tenants.to_vec(),
        extra,
    };
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .context("cannot sign the token")
}
