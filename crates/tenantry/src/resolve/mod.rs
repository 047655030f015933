//! Resolution: which tenant does this request name?
//!
//! A [`TenantResolver`] looks at the request head and answers `Ok(Some(id))` (this request names
//! `id`), `Ok(None)` (not mine, ask the next one) or `Err(rejection)` (malformed input it owns,
//! such as a bad bearer token). Resolvers return the raw text; the enforcement layer validates it
//! with the configured [`TenantIdRule`](crate::TenantIdRule), so every source gets the same 400.
//!
//! Built in, one per file:
//!
//! | resolver | name (`resolved_by`) | reads |
//! |---|---|---|
//! | [`HookResolver`] | `override` (or your name) | your function, sync or async |
//! | [`IdentityResolver`] | `identity` | the [`Principal`] in the request extensions |
//! | [`JwtResolver`] (feature `jwt`) | `jwt` | a verified `Authorization: Bearer` token's claim |
//! | [`HeaderResolver`] | `header` | `X-Tenant-Id` (or another header) |
//! | [`SubdomainResolver`] | `subdomain` | the `Host` under a base domain |
//! | [`PathResolver`] | `path` | `/tenants/{tenant_id}/...`, prefix stripped before routing |
//! | [`ExtensionResolver`] | `extension` | a [`TenantHint`] set by an earlier layer |
//!
//! The default order is override, identity, header, extension. Query parameters never carry a
//! tenant unless you write a resolver for them on purpose.
//!
//! The tenancy layer asks its resolvers as one chain (`chain.rs`): in order, each answer checked
//! with the id rule, the first match winning, and two that name different tenants refused with
//! 403 `tenant_mismatch` (or, with [`Disagreement::FirstWins`], later ones not asked at all).

mod chain;
mod extension;
mod header;
mod hook;
mod identity;
#[cfg(feature = "jwt")]
mod jwt;
mod path;
mod subdomain;
#[cfg(feature = "jwt")]
mod token_cache;

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use http::request::Parts;

pub use chain::Disagreement;
pub(crate) use chain::{Chain, Winner};
pub use extension::{ExtensionResolver, TenantHint};
pub use header::HeaderResolver;
pub use hook::HookResolver;
pub use identity::IdentityResolver;
#[cfg(feature = "jwt")]
pub use jwt::{JwtResolver, TokenClaims};
pub use path::PathResolver;
pub use subdomain::SubdomainResolver;
#[cfg(feature = "jwt")]
pub use token_cache::TokenCacheMetrics;

use crate::{Principal, Rejection};

/// What a resolver answers: the raw tenant text, nothing, or a refusal.
pub type Resolution = Result<Option<String>, Rejection>;

/// What a resolver sees: the request head, and the principal known so far (from the request
/// extensions, or set by an earlier resolver such as [`JwtResolver`]).
#[derive(Debug)]
pub struct ResolveCx<'h> {
    head: &'h Parts,
    /// Put in the extensions by an authentication layer (borrowed, not copied).
    from_extensions: Option<&'h Principal>,
    /// Authenticated by a resolver during this resolution.
    authenticated: Option<Principal>,
}

impl<'h> ResolveCx<'h> {
    /// A context over `head`, starting with the [`Principal`] found in its extensions.
    pub fn new(head: &'h Parts) -> Self {
        Self {
            from_extensions: head.extensions.get::<Principal>(),
            authenticated: None,
            head,
        }
    }

    /// The request head: method, URI, headers, extensions.
    pub fn head(&self) -> &'h Parts {
        self.head
    }

    /// The authenticated principal, if any is known yet (the extensions' one first).
    pub fn principal(&self) -> Option<&Principal> {
        self.from_extensions.or(self.authenticated.as_ref())
    }

    /// Records a principal a resolver authenticated (ignored when one is already known).
    pub fn set_principal(&mut self, principal: Principal) {
        if self.principal().is_none() {
            self.authenticated = Some(principal);
        }
    }

    /// The principal a resolver authenticated during this resolution (not the one already in
    /// the extensions).
    pub fn take_authenticated(&mut self) -> Option<Principal> {
        self.authenticated.take()
    }
}

/// The future a resolver returns: ready at once for the built-ins (no allocation), boxed for
/// asynchronous hooks.
pub enum ResolveFuture<'a> {
    /// Already decided.
    Ready(Option<Resolution>),
    /// Decided later.
    Boxed(Pin<Box<dyn Future<Output = Resolution> + Send + 'a>>),
}

impl fmt::Debug for ResolveFuture<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ready(r) => f.debug_tuple("Ready").field(r).finish(),
            Self::Boxed(_) => f.write_str("Boxed(..)"),
        }
    }
}

impl<'a> ResolveFuture<'a> {
    /// A decided answer.
    pub fn ready(resolution: Resolution) -> Self {
        Self::Ready(Some(resolution))
    }

    /// An answer decided by `future`.
    pub fn boxed(future: impl Future<Output = Resolution> + Send + 'a) -> Self {
        Self::Boxed(Box::pin(future))
    }
}

impl Future for ResolveFuture<'_> {
    type Output = Resolution;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Resolution> {
        match self.get_mut() {
            Self::Ready(r) => Poll::Ready(r.take().unwrap_or(Ok(None))),
            Self::Boxed(f) => f.as_mut().poll(cx),
        }
    }
}

/// Finds the tenant a request names.
///
/// Implement it for a source tenantry does not know; closures are covered by [`HookResolver`].
///
/// ```
/// use tenantry::resolve::{ResolveCx, ResolveFuture, TenantResolver};
///
/// /// The tenant is the first label of a `X-Customer` header like `acme:eu`.
/// struct CustomerHeader;
///
/// impl TenantResolver for CustomerHeader {
///     fn name(&self) -> &'static str { "customer" }
///     fn resolve<'a>(&'a self, cx: &'a mut ResolveCx<'_>) -> ResolveFuture<'a> {
///         let found = cx.head().headers.get("x-customer")
///             .and_then(|v| v.to_str().ok())
///             .and_then(|v| v.split(':').next())
///             .map(str::to_owned);
///         ResolveFuture::ready(Ok(found))
///     }
/// }
/// ```
pub trait TenantResolver: Send + Sync + 'static {
    /// The name recorded as `resolved_by` when this resolver wins.
    fn name(&self) -> &'static str;

    /// Looks for a tenant.
    fn resolve<'a>(&'a self, cx: &'a mut ResolveCx<'_>) -> ResolveFuture<'a>;

    /// Whether a tenant named by this source is vouched for without a separate principal: true
    /// for verified identities (JWT, the auth layer's principal) and your own override hook;
    /// false for headers, hosts and paths, which any client can write. When the winner is not
    /// authoritative and there is no principal, the layer answers 401 `unauthenticated` unless
    /// trusted-gateway mode is on.
    fn authoritative(&self) -> bool {
        false
    }

    /// Rewrites the request before routing (the path resolver strips its prefix here).
    fn rewrite(&self, _head: &mut Parts) {}

    /// Whether [`resolve`](Self::resolve) always answers at once ([`ResolveFuture::ready`],
    /// never [`ResolveFuture::boxed`]). When every resolver of a layer does, the layer has no
    /// [`Membership`](crate::enforce::Membership) hook and the catalog answers from its cache,
    /// the tenant is decided inside `Service::call`, without allocating a future. All built-in
    /// resolvers do, except an async [`HookResolver`]; the default `false` is always correct,
    /// only slower.
    fn is_immediate(&self) -> bool {
        false
    }
}

impl fmt::Debug for dyn TenantResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantResolver({})", self.name())
    }
}
