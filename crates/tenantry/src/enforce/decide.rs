//! The decision itself: resolve, validate, authenticate, check membership and catalog.

use std::{fmt, sync::Arc};

use http::request::Parts;

use super::Membership;
use crate::{
    Principal, Rejection, TenantContext, TenantId,
    catalog::{Catalog, TenantRecord, TenantStatus},
    resolve::{Chain, ResolveCx, TenantResolver, Winner},
};

pub(crate) struct Config {
    pub(super) chain: Chain,
    pub(super) catalog: Option<Catalog>,
    pub(super) membership: Option<Arc<dyn Membership>>,
    pub(super) trusted_gateway: bool,
    pub(super) required: bool,
    /// Whether [`Config::decide_now`] can ever answer (see [`Config::immediate`]); set by the
    /// builder.
    pub(super) immediate: bool,
    /// Exact paths that pass without a tenant.
    pub(super) public: Vec<Box<str>>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenancyConfig")
            .field("chain", &self.chain)
            .field("catalog", &self.catalog)
            .field("trusted_gateway", &self.trusted_gateway)
            .field("required", &self.required)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// An accepted request's tenant: its context, and a principal the resolvers authenticated (to be
/// put in the extensions). `None`: no tenant, and the layer is optional.
pub(super) type Decision = Option<(TenantContext, Option<Principal>)>;

/// What the resolvers found: the tenant, the resolver that named it, and the principal with
/// whether a resolver authenticated it (`true`) or it came from the extensions (`false`).
struct Found<'c> {
    tenant: TenantId,
    winner: &'c dyn TenantResolver,
    principal: Option<(Principal, bool)>,
}

impl Config {
    /// Whether `path` is one of the public paths.
    pub(super) fn is_public(&self, path: &str) -> bool {
        self.public.iter().any(|p| **p == *path)
    }

    /// Whether [`decide_now`](Self::decide_now) can ever answer: every resolver answers at once
    /// and no membership hook needs awaiting.
    pub(super) fn immediate(chain: &Chain, membership: Option<&Arc<dyn Membership>>) -> bool {
        membership.is_none() && chain.is_immediate()
    }

    /// Decides the tenant of a request and rewrites its head (path prefix) when accepted.
    pub(super) async fn decide(&self, head: &mut Parts) -> Result<Decision, Rejection> {
        let found = {
            let mut cx = ResolveCx::new(head);
            let winner = self.chain.resolve(&mut cx).await?;
            match self.found(winner, &mut cx)? {
                Some(found) => found,
                None => return Ok(None),
            }
        };
        self.authorize(&found)?;
        if let (Some((p, _)), Some(m)) = (&found.principal, &self.membership) {
            let member = m.is_member(p, &found.tenant).await.map_err(|e| {
                tracing::warn!(error = %e, "membership check failed");
                Rejection::Unavailable
            })?;
            if !member {
                return Err(Rejection::TenantForbidden);
            }
        }
        let record = match &self.catalog {
            None => None,
            Some(catalog) => catalog.get(&found.tenant).await.map_err(|e| {
                tracing::warn!(error = %e, "catalog lookup failed");
                Rejection::Unavailable
            })?,
        };
        self.admit(found, record, head)
    }

    /// [`decide`](Self::decide) without awaiting anything, when that is possible: every resolver
    /// answers at once ([`Config::immediate`]) and the catalog has the tenant cached.
    /// `None`: it is not; nothing has been changed, and `decide` must run instead.
    pub(super) fn decide_now(&self, head: &mut Parts) -> Option<Result<Decision, Rejection>> {
        let found = {
            let mut cx = ResolveCx::new(head);
            let winner = match self.chain.resolve_now(&mut cx)? {
                Ok(winner) => winner,
                Err(rejection) => return Some(Err(rejection)),
            };
            match self.found(winner, &mut cx) {
                Ok(Some(found)) => found,
                Ok(None) => return Some(Ok(None)),
                Err(rejection) => return Some(Err(rejection)),
            }
        };
        if let Err(rejection) = self.authorize(&found) {
            return Some(Err(rejection));
        }
        if self.membership.is_some() && found.principal.is_some() {
            return None;
        }
        let record = match &self.catalog {
            None => None,
            Some(catalog) => catalog.cached(&found.tenant)?,
        };
        Some(self.admit(found, record, head))
    }

    /// The resolution's outcome, with one owned copy of the principal (the resolver's, or the
    /// extensions' cloned once). `Ok(None)`: no tenant, and the layer is optional.
    fn found<'c>(
        &self,
        winner: Option<Winner<'c>>,
        cx: &mut ResolveCx<'_>,
    ) -> Result<Option<Found<'c>>, Rejection> {
        let principal = match cx.take_authenticated() {
            Some(p) => Some((p, true)),
            None => cx.principal().cloned().map(|p| (p, false)),
        };
        match winner {
            Some(Winner { tenant, by }) => Ok(Some(Found {
                tenant,
                winner: by,
                principal,
            })),
            None if self.required => Err(Rejection::TenantContextMissing),
            None => Ok(None),
        }
    }

    /// Who may act: a principal (a member, unless a membership hook decides), an authoritative
    /// source, or a trusted gateway.
    fn authorize(&self, found: &Found<'_>) -> Result<(), Rejection> {
        match &found.principal {
            None if !found.winner.authoritative() && !self.trusted_gateway => {
                Err(Rejection::unauthenticated(
                    "this tenant must be chosen by an authenticated caller; send a bearer token",
                ))
            }
            Some((p, _)) if self.membership.is_none() && !p.is_member(&found.tenant) => {
                Err(Rejection::TenantForbidden)
            }
            _ => Ok(()),
        }
    }

    /// The catalog's word on the tenant (when there is a catalog), then the accepted request:
    /// resolvers rewrite the head and the context is built.
    fn admit(
        &self,
        found: Found<'_>,
        record: Option<Arc<TenantRecord>>,
        head: &mut Parts,
    ) -> Result<Decision, Rejection> {
        if self.catalog.is_some() {
            let record = record.as_deref().ok_or(Rejection::TenantForbidden)?;
            match record.status {
                TenantStatus::Active => {}
                TenantStatus::Moving if head.method.is_safe() => {}
                TenantStatus::Suspended => return Err(Rejection::TenantSuspended),
                TenantStatus::Deleted => return Err(Rejection::TenantForbidden),
                TenantStatus::Moving => {
                    return Err(Rejection::TenantLocked(
                        "the tenant is being moved; writes are paused".into(),
                    ));
                }
                TenantStatus::Provisioning => {
                    return Err(Rejection::TenantLocked(
                        "the tenant is being provisioned".into(),
                    ));
                }
                TenantStatus::ProvisioningFailed => {
                    return Err(Rejection::TenantLocked(
                        "the tenant's provisioning failed; it is not served".into(),
                    ));
                }
            }
        }
        self.chain.rewrite(head);
        // A principal the resolvers authenticated also goes into the extensions, for handlers
        // that read it there; one that came from the extensions is already in them.
        let (principal, fresh) = match found.principal {
            Some((p, true)) => (Some(p.clone()), Some(p)),
            Some((p, false)) => (Some(p), None),
            None => (None, None),
        };
        let ctx = TenantContext::resolved(found.tenant, found.winner.name(), principal, record);
        Ok(Some((ctx, fresh)))
    }
}
