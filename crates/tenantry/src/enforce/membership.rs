use std::{fmt, future::Future};

use crate::{BoxFuture, Principal, TenantId};

/// The membership backend failed (the request gets 503 `unavailable`).
#[derive(Debug, thiserror::Error)]
#[error("membership check failed: {0}")]
pub struct MembershipError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Decides whether a principal may act for a tenant.
///
/// The default, [`ClaimsMembership`], trusts the principal's claims (`tenant_id`, `tenants`).
/// Implement this trait (or use [`MembershipFn`]) to ask your own store instead.
pub trait Membership: Send + Sync + 'static {
    /// Whether `principal` belongs to `tenant`.
    fn is_member<'a>(
        &'a self,
        principal: &'a Principal,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<bool, MembershipError>>;
}

/// Membership from the principal's own claims: its `tenant_id` or its `tenants` list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClaimsMembership;

impl Membership for ClaimsMembership {
    fn is_member<'a>(
        &'a self,
        principal: &'a Principal,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<bool, MembershipError>> {
        Box::pin(std::future::ready(Ok(principal.is_member(tenant))))
    }
}

/// Membership decided by an async closure over owned values.
///
/// ```
/// use tenantry::enforce::MembershipFn;
///
/// let members = MembershipFn::new(|principal: tenantry::Principal, tenant: tenantry::TenantId| async move {
///     // e.g. SELECT 1 FROM memberships WHERE user = $1 AND tenant = $2
///     Ok::<_, tenantry::enforce::MembershipError>(
///         principal.subject() == "admin" || principal.is_member(&tenant),
///     )
/// });
/// ```
#[derive(Clone)]
pub struct MembershipFn<F>(F);

impl<F> fmt::Debug for MembershipFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MembershipFn(..)")
    }
}

impl<F> MembershipFn<F> {
    /// Wraps `f`.
    pub fn new(f: F) -> Self {
        Self(f)
    }
}

impl<F, Fut> Membership for MembershipFn<F>
where
    F: Fn(Principal, TenantId) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<bool, MembershipError>> + Send + 'static,
{
    fn is_member<'a>(
        &'a self,
        principal: &'a Principal,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<bool, MembershipError>> {
        Box::pin((self.0)(principal.clone(), tenant.clone()))
    }
}
