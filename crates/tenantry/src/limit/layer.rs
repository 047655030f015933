//! [`RateLimitLayer`] and its builder.

use std::{
    fmt,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{SystemTime, UNIX_EPOCH},
};

use http::request::Parts;
use tower_layer::Layer;

use super::{
    ClientKey, Decision, LimitConfigError, LimitResolver, LimitResolverFn, LimitStore, MemoryStore,
    Quota, RateLimit,
};
use crate::{TenantContext, TenantId, problem::ProblemCode};

/// What a store failure (Redis down or too slow) does to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailMode {
    /// Let the request through, without rate-limit headers (the default: the limiter protects
    /// the service, it should not take it down with it).
    #[default]
    Open,
    /// Refuse with 503 `unavailable` and `Retry-After: 1`.
    Closed,
}

/// The problem code of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LimitCode {
    /// 429 `rate_limited`: too many requests in a short time (the default).
    #[default]
    RateLimited,
    /// 429 `quota_exceeded`: a long-window quota (requests per day) is used up.
    QuotaExceeded,
}

impl LimitCode {
    /// The stable problem code: `rate_limited` or `quota_exceeded`.
    pub fn as_str(self) -> &'static str {
        ProblemCode::from(self).as_str()
    }
}

impl From<LimitCode> for ProblemCode {
    fn from(code: LimitCode) -> Self {
        match code {
            LimitCode::RateLimited => ProblemCode::RateLimited,
            LimitCode::QuotaExceeded => ProblemCode::QuotaExceeded,
        }
    }
}

/// Builds a [`RateLimitLayer`]; see the [module docs](super) for an example.
#[must_use]
pub struct RateLimitBuilder {
    name: String,
    store: Option<Arc<dyn LimitStore>>,
    quota: Option<Quota>,
    resolver: Option<Arc<dyn LimitResolver>>,
    scope_by_tenant: bool,
    client_key: ClientKey,
    code: LimitCode,
    fail_mode: FailMode,
}

impl fmt::Debug for RateLimitBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitBuilder")
            .field("name", &self.name)
            .field("quota", &self.quota)
            .field("scope_by_tenant", &self.scope_by_tenant)
            .field("client_key", &self.client_key)
            .field("code", &self.code)
            .field("fail_mode", &self.fail_mode)
            .finish_non_exhaustive()
    }
}

impl RateLimitBuilder {
    /// The route key, part of every bucket's key: layers with different names never share
    /// buckets, even in one store. Default `global`; give each per-route layer its own.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Where buckets live. Default: a [`MemoryStore`] of this layer's own. Pass an
    /// `Arc<MemoryStore>` to share one between layers, or a
    /// `RedisStore` (feature `redis`) to share buckets between processes.
    pub fn store(mut self, store: impl LimitStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// The default quota: for every request when there is no resolver, and when the resolver
    /// answers `None`. Required.
    pub fn quota(mut self, quota: Quota) -> Self {
        self.quota = Some(quota);
        self
    }

    /// Chooses the quota per request (by plan, for instance). See [`LimitResolver`].
    pub fn resolver(mut self, resolver: impl LimitResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// [`resolver`](Self::resolver) from a closure; see [`LimitResolverFn`].
    pub fn resolver_fn<F, Fut>(self, f: F) -> Self
    where
        F: Fn(&Parts, Option<&TenantId>) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Option<Quota>> + Send + 'static,
    {
        self.resolver(LimitResolverFn::new(f))
    }

    /// Whether a request with an accepted tenant uses the tenant's bucket (default `true`:
    /// every client of a tenant shares its bucket). With `false`, or without an accepted
    /// tenant, the bucket is the client's ([`client_key`](Self::client_key)).
    pub fn scope_by_tenant(mut self, yes: bool) -> Self {
        self.scope_by_tenant = yes;
        self
    }

    /// How clients are told apart when the bucket is not a tenant's. Default
    /// [`ClientKey::peer_ip`].
    pub fn client_key(mut self, key: ClientKey) -> Self {
        self.client_key = key;
        self
    }

    /// Refuses with 429 `quota_exceeded` instead of `rate_limited`: for long-window quotas
    /// (requests per day), usually a second layer with its own [`name`](Self::name).
    pub fn quota_exceeded(mut self) -> Self {
        self.code = LimitCode::QuotaExceeded;
        self
    }

    /// What a store failure does (default [`FailMode::Open`]).
    pub fn fail_mode(mut self, mode: FailMode) -> Self {
        self.fail_mode = mode;
        self
    }

    /// Checks the configuration and finishes the layer.
    pub fn build(self) -> Result<RateLimitLayer, LimitConfigError> {
        let name_ok = (1..=64).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !name_ok {
            return Err(LimitConfigError::Name(self.name));
        }
        self.client_key.validate()?;
        let quota = self.quota.ok_or(LimitConfigError::MissingQuota)?;
        Ok(RateLimitLayer {
            config: Arc::new(Config {
                store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
                name: self.name.into(),
                quota,
                resolver: self.resolver,
                scope_by_tenant: self.scope_by_tenant,
                client_key: self.client_key,
                code: self.code,
                fail_mode: self.fail_mode,
                last_warning: AtomicU64::new(0),
            }),
        })
    }
}

/// The tower layer that limits requests per tenant (or per client), globally or per route.
/// See the [module docs](super).
#[derive(Clone, Debug)]
#[must_use]
pub struct RateLimitLayer {
    pub(super) config: Arc<Config>,
}

impl RateLimitLayer {
    /// Starts a configuration.
    pub fn builder() -> RateLimitBuilder {
        RateLimitBuilder {
            name: "global".to_owned(),
            store: None,
            quota: None,
            resolver: None,
            scope_by_tenant: true,
            client_key: ClientKey::default(),
            code: LimitCode::RateLimited,
            fail_mode: FailMode::Open,
        }
    }

    /// The problem code this layer refuses with.
    pub fn code(&self) -> LimitCode {
        self.config.code
    }
}

impl<S> Layer<S> for RateLimitLayer {
    type Service = RateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RateLimit {
            inner,
            config: self.config.clone(),
        }
    }
}

pub(super) struct Config {
    pub(super) name: Box<str>,
    store: Arc<dyn LimitStore>,
    quota: Quota,
    resolver: Option<Arc<dyn LimitResolver>>,
    scope_by_tenant: bool,
    client_key: ClientKey,
    pub(super) code: LimitCode,
    fail_mode: FailMode,
    /// Unix second of the last store-failure warning (one a second at most).
    last_warning: AtomicU64,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimit")
            .field("name", &self.name)
            .field("quota", &self.quota)
            .field("resolver", &self.resolver.is_some())
            .field("scope_by_tenant", &self.scope_by_tenant)
            .field("client_key", &self.client_key)
            .field("code", &self.code)
            .field("fail_mode", &self.fail_mode)
            .finish_non_exhaustive()
    }
}

/// What the layer decided for one request.
#[derive(Debug)]
pub(super) enum Verdict {
    /// Go on; add these headers (none when unlimited or the store failed open).
    Proceed(Option<Decision>),
    /// 429.
    Refuse(Decision),
    /// 503: the store failed and the layer fails closed.
    Unavailable,
}

impl Config {
    /// The decision, if it can be made without waiting (no resolver or a sync one, and a store
    /// that never waits); `None` means "await [`decide`](Self::decide)".
    pub(super) fn decide_now(&self, head: &Parts) -> Option<Verdict> {
        let tenant = head
            .extensions
            .get::<TenantContext>()
            .map(TenantContext::tenant);
        let quota = match &self.resolver {
            Some(resolver) => resolver.quota_now(head, tenant)?.unwrap_or(self.quota),
            None => self.quota,
        };
        let Quota::Limited(rate) = quota else {
            return Some(Verdict::Proceed(None));
        };
        let key = self.key(head, tenant);
        let result = self.store.check_now(&key, &rate)?;
        Some(self.verdict(&key, result))
    }

    pub(super) async fn decide(&self, head: &Parts) -> Verdict {
        let tenant = head
            .extensions
            .get::<TenantContext>()
            .map(TenantContext::tenant);
        let quota = match &self.resolver {
            Some(resolver) => resolver.quota(head, tenant).await.unwrap_or(self.quota),
            None => self.quota,
        };
        let Quota::Limited(rate) = quota else {
            return Verdict::Proceed(None);
        };
        let key = self.key(head, tenant);
        let result = self.store.check(&key, &rate).await;
        self.verdict(&key, result)
    }

    fn verdict(&self, key: &str, result: Result<Decision, super::StoreError>) -> Verdict {
        match result {
            Ok(decision) if decision.is_allowed() => Verdict::Proceed(Some(decision)),
            Ok(decision) => {
                tracing::debug!(key, code = self.code.as_str(), "request rate-limited");
                Verdict::Refuse(decision)
            }
            Err(error) => {
                self.warn(&error);
                match self.fail_mode {
                    FailMode::Open => Verdict::Proceed(None),
                    FailMode::Closed => Verdict::Unavailable,
                }
            }
        }
    }

    /// `NAME:t:TENANT` for an accepted tenant (when scoped by tenant), else `NAME:c:CLIENT`,
    /// else `NAME:anonymous`. Names and tenant ids cannot contain `:`.
    fn key(&self, head: &Parts, tenant: Option<&TenantId>) -> String {
        let (kind, id) = match tenant.filter(|_| self.scope_by_tenant) {
            Some(t) => (":t:", Some(std::borrow::Cow::Borrowed(t.as_str()))),
            None => match self.client_key.identify(head) {
                Some(client) => (":c:", Some(std::borrow::Cow::Owned(client))),
                None => (":anonymous", None),
            },
        };
        let id = id.unwrap_or_default();
        let mut key = String::with_capacity(self.name.len() + kind.len() + id.len());
        key.push_str(&self.name);
        key.push_str(kind);
        key.push_str(&id);
        key
    }

    fn warn(&self, error: &super::StoreError) {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.last_warning.swap(now, Ordering::Relaxed) != now {
            tracing::warn!(
                name = &*self.name,
                fail_mode = ?self.fail_mode,
                %error,
                "rate-limit store failed (logged at most once a second)"
            );
        }
    }
}
