//! The decision itself: resolve, validate, authenticate, check membership and catalog.

use std::{borrow::Cow, fmt, sync::Arc};

use http::request::Parts;

use super::{Disagreement, Membership};
use crate::{
    Principal, Rejection, TenantContext, TenantId, TenantIdRule,
    catalog::{Catalog, TenantStatus},
    resolve::{ResolveCx, TenantResolver},
};

pub(crate) struct Config {
    pub(super) resolvers: Vec<Box<dyn TenantResolver>>,
    pub(super) rule: TenantIdRule,
    pub(super) catalog: Option<Catalog>,
    pub(super) membership: Option<Arc<dyn Membership>>,
    pub(super) trusted_gateway: bool,
    pub(super) disagreement: Disagreement,
    pub(super) required: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenancyConfig")
            .field("resolvers", &self.resolvers)
            .field("rule", &self.rule)
            .field("catalog", &self.catalog)
            .field("trusted_gateway", &self.trusted_gateway)
            .field("disagreement", &self.disagreement)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Decides the tenant of a request and rewrites its head (path prefix) when accepted.
    /// `Ok(None)`: no tenant, and the layer is optional.
    pub(super) async fn decide(
        &self,
        head: &mut Parts,
    ) -> Result<Option<(TenantContext, Option<Principal>)>, Rejection> {
        let (tenant, winner, principal) = {
            let mut cx = ResolveCx::new(head);
            let mut winner: Option<(TenantId, &dyn TenantResolver)> = None;
            for resolver in &self.resolvers {
                let Some(raw) = resolver.resolve(&mut cx).await? else {
                    continue;
                };
                let id = self.rule.parse(&raw)?;
                match &winner {
                    None => {
                        winner = Some((id, resolver.as_ref()));
                        if self.disagreement == Disagreement::FirstWins {
                            break;
                        }
                    }
                    Some((first, by)) if *first != id => {
                        return Err(Rejection::TenantMismatch(Cow::Owned(format!(
                            "the {} and the {} name different tenants",
                            source_noun(by.name()),
                            source_noun(resolver.name())
                        ))));
                    }
                    Some(_) => {}
                }
            }
            // One owned copy for the context: the resolver's, or the extensions' cloned once.
            let authenticated = cx.take_authenticated();
            let principal = match authenticated {
                Some(p) => Some((p, true)),
                None => cx.principal().cloned().map(|p| (p, false)),
            };
            match winner {
                Some((tenant, by)) => (tenant, by, principal),
                None if self.required => return Err(Rejection::TenantContextMissing),
                None => return Ok(None),
            }
        };

        if principal.is_none() && !winner.authoritative() && !self.trusted_gateway {
            return Err(Rejection::unauthenticated(
                "this tenant must be chosen by an authenticated caller; send a bearer token",
            ));
        }
        if let Some((p, _)) = &principal {
            let member = match &self.membership {
                None => p.is_member(&tenant),
                Some(m) => m.is_member(p, &tenant).await.map_err(|e| {
                    tracing::warn!(error = %e, "membership check failed");
                    Rejection::Unavailable
                })?,
            };
            if !member {
                return Err(Rejection::TenantForbidden);
            }
        }
        let record = match &self.catalog {
            None => None,
            Some(catalog) => {
                let record = catalog.get(&tenant).await.map_err(|e| {
                    tracing::warn!(error = %e, "catalog lookup failed");
                    Rejection::Unavailable
                })?;
                let record = record.ok_or(Rejection::TenantForbidden)?;
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
                }
                Some(record)
            }
        };

        for resolver in &self.resolvers {
            resolver.rewrite(head);
        }
        // A principal the resolvers authenticated also goes into the extensions, for handlers
        // that read it there; one that came from the extensions is already in them.
        let (principal, fresh) = match principal {
            Some((p, true)) => (Some(p.clone()), Some(p)),
            Some((p, false)) => (Some(p), None),
            None => (None, None),
        };
        let ctx = TenantContext::resolved(tenant, winner.name(), principal, record);
        Ok(Some((ctx, fresh)))
    }
}

fn source_noun(name: &str) -> Cow<'_, str> {
    match name {
        "jwt" => "bearer token".into(),
        "identity" => "authenticated identity".into(),
        "header" => "tenant header".into(),
        "path" => "path".into(),
        "subdomain" => "host name".into(),
        "extension" => "request extension".into(),
        other => format!("{other} resolver").into(),
    }
}
