use std::{
    fmt,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use http::header::AUTHORIZATION;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::{Deserialize, Serialize};

use super::{
    ResolveCx, ResolveFuture, TenantResolver,
    token_cache::{
        DEFAULT_MAX_BYTES, DEFAULT_MAX_ENTRIES, TokenCache, TokenCacheMetrics, Verified,
    },
};
use crate::{ConfigError, Principal, Rejection};

/// The claims tenantry reads from a token and [`tenantry token`](https://docs.rs/tenantry-cli)
/// writes: `sub`, `exp`, the tenant claim and `tenants`. Other claims are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenClaims {
    /// The subject.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// The tenants the subject belongs to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Every other claim, including the tenant claim (`tenant_id` unless configured otherwise).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Verifies `Authorization: Bearer <token>` and reads the tenant from a claim (`tenant_id` by
/// default). A verified token also yields the [`Principal`] (`sub`, the tenant claim, `tenants`),
/// which the membership check uses.
///
/// No bearer token: not mine (`Ok(None)`). A token that is malformed, expired, not yet valid,
/// signed with another key or another algorithm (including `alg: none`): 401 `unauthenticated`.
/// `exp` and `sub` are required; `nbf` is checked when present.
///
/// Verified tokens are cached (by default up to 10,000 tokens in 16 MiB; see
/// [`token_cache`](Self::token_cache)), so a client that sends the same token on every request
/// has its signature checked once: later requests cost a hash lookup and a clock check. The
/// cache is keyed by the whole token, holds only tokens that verified, and never answers for a
/// token past its `exp` or before its `nbf`; [`token_cache_metrics`](Self::token_cache_metrics)
/// counts its hits and misses.
///
/// ```
/// use tenantry::resolve::JwtResolver;
///
/// let hs = JwtResolver::hs256(b"a long random secret").claim("org").leeway(5);
/// assert!(JwtResolver::rs256_pem(b"not a key").is_err());
/// ```
#[derive(Clone)]
pub struct JwtResolver {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
    claim: Arc<str>,
    leeway: u64,
    cache: TokenCache,
    clock: UnixClock,
}

impl fmt::Debug for JwtResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtResolver")
            .field("algorithms", &self.validation.algorithms)
            .field("claim", &self.claim)
            .field("leeway", &self.leeway)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl JwtResolver {
    fn with(key: DecodingKey, alg: Algorithm) -> Self {
        let mut validation = Validation::new(alg);
        validation.set_required_spec_claims(&["exp", "sub"]);
        // `exp` and `nbf` are checked by `check_times`, on the resolver's clock, for a
        // verification and for a cache hit alike.
        validation.leeway = 0;
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Self {
            key: Arc::new(key),
            validation: Arc::new(validation),
            claim: Arc::from("tenant_id"),
            leeway: 0,
            cache: TokenCache::new(DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES),
            clock: UnixClock::System,
        }
    }

    /// Changes how tokens are verified: what was cached under the old rules is dropped.
    fn reconfigure(mut self, change: impl FnOnce(&mut Self)) -> Self {
        change(&mut self);
        self.cache = self.cache.fresh();
        self
    }

    /// HMAC-SHA256 with a shared secret.
    pub fn hs256(secret: &[u8]) -> Self {
        Self::with(DecodingKey::from_secret(secret), Algorithm::HS256)
    }

    /// RSA-SHA256 with a PEM public key.
    pub fn rs256_pem(public_key_pem: &[u8]) -> Result<Self, ConfigError> {
        let key = DecodingKey::from_rsa_pem(public_key_pem)
            .map_err(|e| ConfigError::JwtKey(e.to_string()))?;
        Ok(Self::with(key, Algorithm::RS256))
    }

    /// ECDSA P-256 SHA-256 with a PEM public key.
    pub fn es256_pem(public_key_pem: &[u8]) -> Result<Self, ConfigError> {
        let key = DecodingKey::from_ec_pem(public_key_pem)
            .map_err(|e| ConfigError::JwtKey(e.to_string()))?;
        Ok(Self::with(key, Algorithm::ES256))
    }

    /// Reads the tenant from `claim` instead of `tenant_id`.
    pub fn claim(self, claim: impl Into<String>) -> Self {
        let claim: String = claim.into();
        self.reconfigure(|r| r.claim = Arc::from(claim))
    }

    /// Accepts tokens up to `seconds` past `exp` and before `nbf` (clock skew). Default 0.
    ///
    /// A cached token is still dropped from the cache at its `exp`: within the leeway it is
    /// verified again on each request.
    pub fn leeway(self, seconds: u64) -> Self {
        self.reconfigure(|r| r.leeway = seconds)
    }

    /// Requires `aud` to be one of `audiences`.
    pub fn audience<T: ToString>(self, audiences: &[T]) -> Self {
        self.reconfigure(|r| Arc::make_mut(&mut r.validation).set_audience(audiences))
    }

    /// Requires `iss` to be one of `issuers`.
    pub fn issuer<T: ToString>(self, issuers: &[T]) -> Self {
        self.reconfigure(|r| Arc::make_mut(&mut r.validation).set_issuer(issuers))
    }

    /// Caches up to `max_entries` verified tokens in at most `max_bytes` (estimated; each entry
    /// counts at least `max_bytes / max_entries`). Default: 10,000 tokens, 16 MiB. Tokens
    /// longer than 8 KiB are never cached.
    pub fn token_cache(mut self, max_entries: u64, max_bytes: u64) -> Self {
        self.cache = TokenCache::new(max_entries, max_bytes);
        self
    }

    /// Verifies every token on every request (no cache).
    pub fn without_token_cache(mut self) -> Self {
        self.cache = TokenCache::disabled();
        self
    }

    /// Hit and miss counters and the size of the token cache, live (take the handle before
    /// handing the resolver to the layer).
    pub fn token_cache_metrics(&self) -> TokenCacheMetrics {
        self.cache.metrics()
    }

    /// Verifies `token` and returns its claims (never from the cache).
    pub fn verify(&self, token: &str) -> Result<TokenClaims, Rejection> {
        let now = self.clock.now().as_secs();
        let claims = self.decode(token)?;
        check_times(&claims, now, self.leeway)?;
        Ok(claims)
    }

    /// What the resolver takes from `token`: from the cache when it holds the token and the
    /// token is valid now, else from a full verification (which answers as it would have
    /// without the cache: a cached token that expired, or whose `nbf` is ahead again because
    /// the clock went back, is refused).
    fn authenticate(&self, token: &str) -> Result<Arc<Verified>, Rejection> {
        let now = self.clock.now();
        self.cache.get_or_verify(
            token,
            |cached| cached.usable_at(now.as_secs(), self.leeway),
            || self.verify_at(token, now),
        )
    }

    fn verify_at(&self, token: &str, now: Duration) -> Result<Verified, Rejection> {
        let claims = self.decode(token)?;
        let nbf = check_times(&claims, now.as_secs(), self.leeway)?;
        let tenant = match claims.extra.get(&*self.claim) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return Err(Rejection::unauthenticated(
                    "the bearer token's tenant claim is not a string",
                ));
            }
        };
        let mut principal = Principal::new(claims.sub).with_tenants(claims.tenants);
        if let Some(t) = &tenant {
            principal = principal.with_tenant(t.clone());
        }
        Ok(Verified::new(
            token, principal, tenant, claims.exp, nbf, now,
        ))
    }

    /// Signature, algorithm, required claims, audience and issuer (not the times).
    fn decode(&self, token: &str) -> Result<TokenClaims, Rejection> {
        decode::<TokenClaims>(token, &self.key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                let why = match e.kind() {
                    K::ExpiredSignature => "the bearer token has expired",
                    K::ImmatureSignature => "the bearer token is not valid yet",
                    K::InvalidSignature => "the bearer token's signature does not verify",
                    K::InvalidAlgorithm | K::InvalidAlgorithmName => {
                        "the bearer token uses an algorithm this service does not accept"
                    }
                    K::MissingRequiredClaim(_) => "the bearer token lacks a required claim",
                    K::InvalidAudience => "the bearer token is for another audience",
                    K::InvalidIssuer => "the bearer token is from another issuer",
                    _ => "the bearer token is malformed",
                };
                Rejection::unauthenticated(why)
            })
    }

    #[cfg(test)]
    pub(super) fn fake_clock(mut self, now_secs: Arc<std::sync::atomic::AtomicU64>) -> Self {
        self.clock = UnixClock::Fake(now_secs);
        self
    }

    #[cfg(test)]
    pub(super) fn cache(&self) -> &TokenCache {
        &self.cache
    }

    #[cfg(test)]
    pub(super) fn authenticate_for_test(&self, token: &str) -> Result<Arc<Verified>, Rejection> {
        self.authenticate(token)
    }
}

/// `exp` and `nbf` (when present), each with the leeway, against `now` (seconds since the Unix
/// epoch). RFC 7519 §4.1.4 and §4.1.5: a token is refused from its `exp` on (jsonwebtoken's own
/// check still accepts it during that second) and before its `nbf`. Returns `nbf`.
fn check_times(claims: &TokenClaims, now: u64, leeway: u64) -> Result<Option<u64>, Rejection> {
    let nbf = match claims.extra.get("nbf") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| Rejection::unauthenticated("the bearer token is malformed"))?,
        ),
    };
    if now >= claims.exp.saturating_add(leeway) {
        return Err(Rejection::unauthenticated("the bearer token has expired"));
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(Rejection::unauthenticated(
            "the bearer token is not valid yet",
        ));
    }
    Ok(nbf)
}

/// Where the resolver reads the time: the system's wall clock (tokens carry Unix times).
#[derive(Debug, Clone)]
enum UnixClock {
    System,
    #[cfg(test)]
    Fake(Arc<std::sync::atomic::AtomicU64>),
}

impl UnixClock {
    fn now(&self) -> Duration {
        match self {
            Self::System => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or(Duration::ZERO),
            #[cfg(test)]
            Self::Fake(secs) => Duration::from_secs(secs.load(std::sync::atomic::Ordering::SeqCst)),
        }
    }
}

impl TenantResolver for JwtResolver {
    fn name(&self) -> &'static str {
        "jwt"
    }

    fn is_immediate(&self) -> bool {
        true
    }

    fn resolve<'a>(&'a self, cx: &'a mut ResolveCx<'_>) -> ResolveFuture<'a> {
        let Some(value) = cx.head().headers.get(AUTHORIZATION) else {
            return ResolveFuture::ready(Ok(None));
        };
        let Some(token) = value.to_str().ok().and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        }) else {
            // Another scheme (Basic, ...) belongs to another layer.
            return ResolveFuture::ready(Ok(None));
        };
        let verified = match self.authenticate(token.trim()) {
            Ok(v) => v,
            Err(e) => return ResolveFuture::ready(Err(e)),
        };
        if cx.principal().is_none() {
            cx.set_principal(verified.principal.clone());
        }
        ResolveFuture::ready(Ok(verified.tenant.clone()))
    }

    fn authoritative(&self) -> bool {
        true
    }
}
