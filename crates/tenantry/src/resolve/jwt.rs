use std::fmt;

use http::header::AUTHORIZATION;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::{Deserialize, Serialize};

use super::{ResolveCx, ResolveFuture, TenantResolver};
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
/// ```
/// use tenantry::resolve::JwtResolver;
///
/// let hs = JwtResolver::hs256(b"a long random secret").claim("org").leeway(5);
/// assert!(JwtResolver::rs256_pem(b"not a key").is_err());
/// ```
#[derive(Clone)]
pub struct JwtResolver {
    key: DecodingKey,
    validation: Validation,
    claim: String,
}

impl fmt::Debug for JwtResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtResolver")
            .field("algorithms", &self.validation.algorithms)
            .field("claim", &self.claim)
            .finish_non_exhaustive()
    }
}

impl JwtResolver {
    fn with(key: DecodingKey, alg: Algorithm) -> Self {
        let mut validation = Validation::new(alg);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 0;
        validation.validate_nbf = true;
        Self {
            key,
            validation,
            claim: "tenant_id".to_owned(),
        }
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
    pub fn claim(mut self, claim: impl Into<String>) -> Self {
        self.claim = claim.into();
        self
    }

    /// Accepts tokens up to `seconds` past `exp` (clock skew). Default 0.
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.validation.leeway = seconds;
        self
    }

    /// Requires `aud` to be one of `audiences`.
    pub fn audience<T: ToString>(mut self, audiences: &[T]) -> Self {
        self.validation.set_audience(audiences);
        self
    }

    /// Requires `iss` to be one of `issuers`.
    pub fn issuer<T: ToString>(mut self, issuers: &[T]) -> Self {
        self.validation.set_issuer(issuers);
        self
    }

    /// Verifies `token` and returns its claims.
    pub fn verify(&self, token: &str) -> Result<TokenClaims, Rejection> {
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
        let claims = match self.verify(token.trim()) {
            Ok(c) => c,
            Err(e) => return ResolveFuture::ready(Err(e)),
        };
        let tenant = match claims.extra.get(&self.claim) {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(_) => {
                return ResolveFuture::ready(Err(Rejection::unauthenticated(
                    "the bearer token's tenant claim is not a string",
                )));
            }
        };
        let mut principal = Principal::new(claims.sub).with_tenants(claims.tenants);
        if let Some(t) = &tenant {
            principal = principal.with_tenant(t.clone());
        }
        cx.set_principal(principal);
        ResolveFuture::ready(Ok(tenant))
    }

    fn authoritative(&self) -> bool {
        true
    }
}
