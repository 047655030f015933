//! The [`JwtResolver`](super::JwtResolver)'s cache of verified tokens: a token's signature is
//! checked once, not on every request that carries it.
//!
//! - **Keyed by the whole token**, compared byte for byte: a token that differs from a cached
//!   one anywhere (header, claims or signature) is a different key, and is verified.
//! - **Only verified tokens enter**, so filling the cache takes tokens signed with the
//!   resolver's key; a malformed or wrongly signed token costs a verification each time, as it
//!   would without the cache.
//! - **Never served outside the token's validity**: an entry is evicted when the token's `exp`
//!   is reached, and every hit is checked again against the clock (`exp` in the future, `nbf` not
//!   ahead of it beyond the leeway). A hit that fails the check is dropped and the token goes
//!   through the full verification, which answers as it would have without the cache.
//! - **Bounded in entries and in bytes**: each entry weighs its estimated memory (the token, the
//!   principal's strings, a fixed overhead for the map, queues and timers), but never less than
//!   `max_bytes / max_entries`, and the cache holds at most `max_bytes` of weight (moka's
//!   TinyLFU admission and eviction). So neither the count nor the memory can pass its bound,
//!   whatever the mix of token sizes. Tokens longer than 8 KiB are verified every time and never
//!   stored.
//!
//! Keys are hashed with foldhash (randomly seeded), not SipHash: hashing a 200-byte token with
//! SipHash was a third of a cache hit. Only verified tokens are ever stored, so nobody without
//! the signing key can place colliding keys in the table; a lookup of an unverified token only
//! reads it.
//!
//! The cache belongs to one resolver configuration: changing the key, claim, leeway, audience or
//! issuer gives the resolver a new, empty cache (a token verified under other rules is never
//! served), and clones of a resolver share it.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use foldhash::fast::RandomState;
use moka::{Expiry, sync::Cache};

use crate::{Principal, Rejection};

/// Longest token kept in the cache (bytes); longer ones are verified on every request.
pub(super) const MAX_CACHED_TOKEN: usize = 8 * 1024;

/// Default bound on the number of cached tokens.
pub(super) const DEFAULT_MAX_ENTRIES: u64 = 10_000;

/// Default bound on the cache's memory (bytes).
pub(super) const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Estimated bytes an entry costs besides its strings: the map slot, moka's entry, its
/// access-order and timer nodes, the `Arc`'d value and the principal's claims (an estimate from
/// the types' sizes, on the high side, not a measurement).
const ENTRY_OVERHEAD: usize = 320;

/// What a verified token yields, kept for the token's lifetime.
#[derive(Debug)]
pub(super) struct Verified {
    pub(super) principal: Principal,
    pub(super) tenant: Option<String>,
    /// `exp`, seconds since the Unix epoch.
    pub(super) exp: u64,
    /// `nbf`, seconds since the Unix epoch.
    pub(super) nbf: Option<u64>,
    /// How long the entry may stay: until `exp`, from when it was made.
    ttl: Duration,
    weight: u32,
}

impl Verified {
    /// `now` is the time of the verification (since the Unix epoch).
    pub(super) fn new(
        token: &str,
        principal: Principal,
        tenant: Option<String>,
        exp: u64,
        nbf: Option<u64>,
        now: Duration,
    ) -> Self {
        let strings = principal.subject().len()
            + principal.tenant_id().map_or(0, str::len)
            + principal
                .tenants()
                .iter()
                .map(|t| t.len() + 24)
                .sum::<usize>()
            + tenant.as_ref().map_or(0, String::len);
        let bytes = token.len() + strings + ENTRY_OVERHEAD;
        Self {
            principal,
            tenant,
            exp,
            nbf,
            ttl: Duration::from_secs(exp).saturating_sub(now),
            weight: u32::try_from(bytes).unwrap_or(u32::MAX),
        }
    }

    /// Whether a cached entry may answer at `now` (seconds since the Unix epoch): before
    /// `exp`, and not before `nbf` beyond `leeway`.
    pub(super) fn usable_at(&self, now: u64, leeway: u64) -> bool {
        now < self.exp && self.nbf.is_none_or(|nbf| nbf <= now.saturating_add(leeway))
    }
}

struct UntilExp;

impl Expiry<String, Arc<Verified>> for UntilExp {
    fn expire_after_create(
        &self,
        _token: &String,
        verified: &Arc<Verified>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(verified.ttl)
    }
}

#[derive(Debug, Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
}

/// The cache itself (or its absence), with its counters.
#[derive(Clone)]
pub(super) struct TokenCache {
    entries: Option<Cache<String, Arc<Verified>, RandomState>>,
    counters: Arc<Counters>,
    max_entries: u64,
    max_bytes: u64,
}

impl TokenCache {
    pub(super) fn new(max_entries: u64, max_bytes: u64) -> Self {
        let (max_entries, max_bytes) = (max_entries.max(1), max_bytes.max(1));
        let slot = u32::try_from(max_bytes.div_ceil(max_entries)).unwrap_or(u32::MAX);
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(move |_: &String, v: &Arc<Verified>| v.weight.max(slot))
            .expire_after(UntilExp)
            .build_with_hasher(RandomState::default());
        Self {
            entries: Some(entries),
            counters: Arc::default(),
            max_entries,
            max_bytes,
        }
    }

    pub(super) fn disabled() -> Self {
        Self {
            entries: None,
            counters: Arc::default(),
            max_entries: 0,
            max_bytes: 0,
        }
    }

    /// The same limits, nothing cached, new counters.
    pub(super) fn fresh(&self) -> Self {
        match self.entries {
            Some(_) => Self::new(self.max_entries, self.max_bytes),
            None => Self::disabled(),
        }
    }

    /// The cached entry for `token` when `usable` accepts it, else `verify()`'s, stored when
    /// it succeeds. A cached entry that `usable` refuses is dropped, and the token verified.
    ///
    /// Two requests bringing the same new token at the same moment may both verify it (neither
    /// waits for the other: a blocked thread would hold up a whole async runtime worker).
    pub(super) fn get_or_verify(
        &self,
        token: &str,
        usable: impl Fn(&Verified) -> bool,
        verify: impl FnOnce() -> Result<Verified, Rejection>,
    ) -> Result<Arc<Verified>, Rejection> {
        let entries = self
            .entries
            .as_ref()
            .filter(|_| token.len() <= MAX_CACHED_TOKEN);
        if let Some(entries) = entries {
            match entries.get(token) {
                Some(hit) if usable(&hit) => {
                    self.counters.hits.fetch_add(1, Ordering::Relaxed);
                    return Ok(hit);
                }
                Some(_) => entries.invalidate(token),
                None => {}
            }
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);
        let verified = Arc::new(verify()?);
        if let Some(entries) = entries
            && !verified.ttl.is_zero()
        {
            entries.insert(token.to_owned(), verified.clone());
        }
        Ok(verified)
    }

    pub(super) fn metrics(&self) -> TokenCacheMetrics {
        TokenCacheMetrics {
            entries: self.entries.clone(),
            counters: self.counters.clone(),
            max_entries: self.max_entries,
            max_bytes: self.max_bytes,
        }
    }

    #[cfg(test)]
    pub(super) fn run_pending_tasks(&self) {
        if let Some(entries) = &self.entries {
            entries.run_pending_tasks();
        }
    }
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.metrics(), f)
    }
}

/// Live counters of a [`JwtResolver`](super::JwtResolver)'s token cache, for metrics: read them
/// whenever they are scraped. Clones read the same cache.
///
/// ```
/// use tenantry::resolve::JwtResolver;
///
/// let jwt = JwtResolver::hs256(b"a long random secret");
/// let metrics = jwt.token_cache_metrics();
/// assert_eq!((metrics.hits(), metrics.misses(), metrics.entries()), (0, 0, 0));
/// assert_eq!(metrics.max_entries(), 10_000);
/// ```
#[derive(Clone)]
pub struct TokenCacheMetrics {
    entries: Option<Cache<String, Arc<Verified>, RandomState>>,
    counters: Arc<Counters>,
    max_entries: u64,
    max_bytes: u64,
}

impl TokenCacheMetrics {
    /// Requests answered from the cache (no verification).
    pub fn hits(&self) -> u64 {
        self.counters.hits.load(Ordering::Relaxed)
    }

    /// Requests whose token was verified (not cached, expired from the cache, too long to
    /// cache, or the cache is off); failed verifications included.
    pub fn misses(&self) -> u64 {
        self.counters.misses.load(Ordering::Relaxed)
    }

    /// Tokens in the cache (moka's count, brought up to date by its housekeeping, which runs
    /// as requests come).
    pub fn entries(&self) -> u64 {
        self.entries.as_ref().map_or(0, Cache::entry_count)
    }

    /// The cache's weight: estimated bytes, where each entry counts at least
    /// `max_bytes / max_entries`. Never above [`max_bytes`](Self::max_bytes) once housekeeping
    /// has run.
    pub fn weighted_bytes(&self) -> u64 {
        self.entries.as_ref().map_or(0, Cache::weighted_size)
    }

    /// The bound on [`entries`](Self::entries) (0: the cache is off).
    pub fn max_entries(&self) -> u64 {
        self.max_entries
    }

    /// The bound on [`weighted_bytes`](Self::weighted_bytes) (0: the cache is off).
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }
}

impl fmt::Debug for TokenCacheMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCacheMetrics")
            .field("hits", &self.hits())
            .field("misses", &self.misses())
            .field("entries", &self.entries())
            .field("weighted_bytes", &self.weighted_bytes())
            .field("max_entries", &self.max_entries)
            .field("max_bytes", &self.max_bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    use super::*;
    use crate::resolve::JwtResolver;

    const SECRET: &[u8] = b"token-cache-test-secret-token-cache";
    const T0: u64 = 1_900_000_000;

    fn token(secret: &[u8], claims: &serde_json::Value) -> String {
        encode(
            &Header::default(),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn resolver() -> (JwtResolver, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(T0));
        (JwtResolver::hs256(SECRET).fake_clock(now.clone()), now)
    }

    fn counts(jwt: &JwtResolver) -> (u64, u64) {
        let m = jwt.token_cache_metrics();
        (m.hits(), m.misses())
    }

    fn detail(r: Result<Arc<Verified>, Rejection>) -> String {
        match r {
            Ok(v) => panic!("accepted: {v:?}"),
            Err(Rejection::Unauthenticated(why)) => why.into_owned(),
            Err(other) => panic!("not a 401: {other:?}"),
        }
    }

    #[test]
    fn a_cached_token_is_verified_once_and_answers_the_same() {
        let (jwt, _) = resolver();
        let t = token(
            SECRET,
            &json!({"sub": "alice", "exp": T0 + 60, "tenant_id": "acme", "tenants": ["globex"]}),
        );
        let first = jwt.authenticate_for_test(&t).unwrap();
        let second = jwt.authenticate_for_test(&t).unwrap();
        assert_eq!(counts(&jwt), (1, 1));
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(second.tenant.as_deref(), Some("acme"));
        assert_eq!(second.principal.subject(), "alice");
        assert_eq!(second.principal.tenants(), ["globex"]);
    }

    #[test]
    fn an_expired_token_is_refused_even_when_cached() {
        let (jwt, now) = resolver();
        let t = token(
            SECRET,
            &json!({"sub": "alice", "exp": T0 + 60, "tenant_id": "acme"}),
        );
        jwt.authenticate_for_test(&t).unwrap();
        now.store(T0 + 59, Ordering::SeqCst);
        jwt.authenticate_for_test(&t).unwrap();
        assert_eq!(counts(&jwt), (1, 1));
        // At `exp` the token is no longer accepted (RFC 7519 §4.1.4), cached or not.
        now.store(T0 + 60, Ordering::SeqCst);
        assert_eq!(
            detail(jwt.authenticate_for_test(&t)),
            "the bearer token has expired"
        );
        now.store(T0 + 3_600, Ordering::SeqCst);
        assert_eq!(
            detail(jwt.authenticate_for_test(&t)),
            "the bearer token has expired"
        );
        jwt.cache().run_pending_tasks();
        assert_eq!(jwt.token_cache_metrics().entries(), 0);
    }

    #[test]
    fn the_leeway_accepts_past_exp_but_the_cache_does_not_serve_it() {
        let now = Arc::new(AtomicU64::new(T0));
        let jwt = JwtResolver::hs256(SECRET)
            .leeway(30)
            .fake_clock(now.clone());
        let t = token(SECRET, &json!({"sub": "alice", "exp": T0 + 60}));
        jwt.authenticate_for_test(&t).unwrap();
        now.store(T0 + 70, Ordering::SeqCst);
        jwt.authenticate_for_test(&t).unwrap();
        jwt.authenticate_for_test(&t).unwrap();
        // Past `exp` every request is verified again (no hit after the first one).
        assert_eq!(counts(&jwt).0, 0);
        now.store(T0 + 90, Ordering::SeqCst);
        assert_eq!(
            detail(jwt.authenticate_for_test(&t)),
            "the bearer token has expired"
        );
    }

    #[test]
    fn a_token_is_never_served_before_its_nbf() {
        let (jwt, now) = resolver();
        let t = token(
            SECRET,
            &json!({"sub": "alice", "exp": T0 + 600, "nbf": T0 + 10, "tenant_id": "acme"}),
        );
        assert_eq!(
            detail(jwt.authenticate_for_test(&t)),
            "the bearer token is not valid yet"
        );
        jwt.cache().run_pending_tasks();
        assert_eq!(
            jwt.token_cache_metrics().entries(),
            0,
            "refusals are not cached"
        );
        now.store(T0 + 10, Ordering::SeqCst);
        jwt.authenticate_for_test(&t).unwrap();
        jwt.authenticate_for_test(&t).unwrap();
        assert_eq!(counts(&jwt), (1, 2));
        // The clock steps back (NTP): the cached token is not valid yet again.
        now.store(T0 + 5, Ordering::SeqCst);
        assert_eq!(
            detail(jwt.authenticate_for_test(&t)),
            "the bearer token is not valid yet"
        );
    }

    #[test]
    fn a_token_differing_in_one_byte_is_a_miss_and_is_verified() {
        let (jwt, _) = resolver();
        let claims = json!({"sub": "alice", "exp": T0 + 600, "tenant_id": "acme"});
        let good = token(SECRET, &claims);
        jwt.authenticate_for_test(&good).unwrap();
        let (payload_at, signature_at) = {
            let mut dots = good.match_indices('.').map(|(i, _)| i);
            (dots.next().unwrap() + 1, dots.next().unwrap() + 1)
        };
        let mut misses = counts(&jwt).1;
        // Every byte of the payload and of the signature, one at a time.
        for i in payload_at..good.len() {
            if i == signature_at - 1 {
                continue; // the dot
            }
            let mut bytes = good.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(bytes).unwrap();
            assert!(jwt.authenticate_for_test(&forged).is_err(), "byte {i}");
            misses += 1;
            assert_eq!(counts(&jwt).1, misses, "byte {i} must be a miss");
        }
        // Same header and claims signed with another key: a miss, refused.
        let other_key = token(b"another-secret-another-secret-another", &claims);
        assert_eq!(
            detail(jwt.authenticate_for_test(&other_key)),
            "the bearer token's signature does not verify"
        );
        // Another genuine token (other claims, same key): a miss, accepted, its own answer.
        let bob = token(
            SECRET,
            &json!({"sub": "bob", "exp": T0 + 600, "tenant_id": "globex"}),
        );
        let v = jwt.authenticate_for_test(&bob).unwrap();
        assert_eq!(v.tenant.as_deref(), Some("globex"));
        assert_eq!(counts(&jwt), (0, misses + 2));
        // The genuine token is still a hit.
        jwt.authenticate_for_test(&good).unwrap();
        assert_eq!(counts(&jwt).0, 1);
    }

    #[test]
    fn reconfiguring_a_resolver_starts_an_empty_cache() {
        let (jwt, _) = resolver();
        let t = token(
            SECRET,
            &json!({"sub": "alice", "exp": T0 + 600, "org": "acme"}),
        );
        assert_eq!(jwt.authenticate_for_test(&t).unwrap().tenant, None);
        let by_org = jwt.clone().claim("org");
        let v = by_org.authenticate_for_test(&t).unwrap();
        assert_eq!(v.tenant.as_deref(), Some("acme"));
        assert_eq!(counts(&by_org), (0, 1));
        // Clones without changes share the cache.
        let same = jwt.clone();
        same.authenticate_for_test(&t).unwrap();
        assert_eq!(counts(&jwt), (1, 1));
    }

    #[test]
    fn without_the_cache_every_request_is_verified() {
        let now = Arc::new(AtomicU64::new(T0));
        let jwt = JwtResolver::hs256(SECRET)
            .without_token_cache()
            .fake_clock(now);
        let t = token(SECRET, &json!({"sub": "alice", "exp": T0 + 600}));
        for _ in 0..3 {
            jwt.authenticate_for_test(&t).unwrap();
        }
        assert_eq!(counts(&jwt), (0, 3));
        assert_eq!(jwt.token_cache_metrics().max_entries(), 0);
    }

    fn verified(token: &str) -> Verified {
        let principal = Principal::new("user").with_tenant("acme");
        let now = Duration::from_secs(T0);
        Verified::new(token, principal, Some("acme".into()), T0 + 600, None, now)
    }

    #[test]
    fn the_size_stays_within_its_bounds_under_a_million_distinct_tokens() {
        const MAX_ENTRIES: u64 = 1_000;
        const MAX_BYTES: u64 = 1 << 20;
        let cache = TokenCache::new(MAX_ENTRIES, MAX_BYTES);
        let metrics = cache.metrics();
        // Checking the bounds as it goes. The test runs alone (.config/nextest.toml): beside
        // it, tests that time Redis round trips against 50 ms failed open on 2 cores.
        let mut token = String::with_capacity(64);
        for i in 0..1_000_000u32 {
            token.clear();
            fmt::Write::write_fmt(
                &mut token,
                format_args!("eyJhbGciOiJIUzI1NiJ9.{i:08x}.signature"),
            )
            .unwrap();
            cache
                .get_or_verify(&token, |_| true, || Ok(verified(&token)))
                .unwrap();
            if i % 50_000 == 49_999 {
                cache.run_pending_tasks();
                assert!(metrics.entries() <= MAX_ENTRIES, "{metrics:?} at {i}");
                assert!(metrics.weighted_bytes() <= MAX_BYTES, "{metrics:?} at {i}");
            }
        }
        cache.run_pending_tasks();
        assert!(metrics.entries() <= MAX_ENTRIES, "{metrics:?}");
        assert!(metrics.weighted_bytes() <= MAX_BYTES, "{metrics:?}");
        assert_eq!(metrics.misses(), 1_000_000);
        assert!(metrics.entries() > 0);

        // Large tokens: the byte bound holds before the count does.
        let cache = TokenCache::new(MAX_ENTRIES, MAX_BYTES);
        let metrics = cache.metrics();
        let big = "x".repeat(4_000);
        for i in 0..5_000u32 {
            let token = format!("{big}{i}");
            cache
                .get_or_verify(&token, |_| true, || Ok(verified(&token)))
                .unwrap();
        }
        cache.run_pending_tasks();
        assert!(metrics.weighted_bytes() <= MAX_BYTES, "{metrics:?}");
        assert!(metrics.entries() <= MAX_BYTES / 4_000, "{metrics:?}");

        // Tokens over the size limit are never stored.
        let cache = TokenCache::new(MAX_ENTRIES, MAX_BYTES);
        let huge = "y".repeat(MAX_CACHED_TOKEN + 1);
        for _ in 0..3 {
            cache
                .get_or_verify(&huge, |_| true, || Ok(verified(&huge)))
                .unwrap();
        }
        cache.run_pending_tasks();
        assert_eq!(
            (cache.metrics().entries(), cache.metrics().misses()),
            (0, 3)
        );
    }
}
