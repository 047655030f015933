//! [`LimitResolver`]: the quota for a request, by tenant and plan.

use std::{collections::HashMap, fmt, future::Future};

use http::request::Parts;

use super::Quota;
use crate::{BoxFuture, TenantContext, TenantId};

/// Chooses the quota for a request, typically by the tenant's plan.
///
/// `tenant` is the tenant that enforcement **accepted** (the [`TenantContext`] in the request's
/// extensions), never one merely named by a header. Returning `None` means "the layer's default
/// quota"; [`Quota::Unlimited`] means no limit. The answer may be computed asynchronously (a
/// database or cache lookup): it is awaited before the request goes on.
///
/// Implementations: [`PlanQuotas`] (the catalog's `plan`), [`LimitResolverFn`] (a closure).
pub trait LimitResolver: Send + Sync + 'static {
    /// The quota for this request, or `None` for the default.
    fn quota<'a>(
        &'a self,
        head: &'a Parts,
        tenant: Option<&'a TenantId>,
    ) -> BoxFuture<'a, Option<Quota>>;

    /// The same answer without waiting, for resolvers that never wait: `Some(answer)`, or
    /// `None` for "call [`quota`](Self::quota)". Lets the layer decide inside `call`, with no
    /// boxed future.
    fn quota_now(&self, head: &Parts, tenant: Option<&TenantId>) -> Option<Option<Quota>> {
        let _ = (head, tenant);
        None
    }
}

/// A quota per plan name, read from the catalog record of the accepted tenant
/// ([`TenantContext::record`], present when the tenancy layer has a catalog). Tenants without a
/// record, or on a plan not listed, get the layer's default; requests with no accepted tenant
/// (a layer's public paths, an optional layer's anonymous requests) get the layer's default too,
/// unless [`without_tenant`](Self::without_tenant) says otherwise.
///
/// ```
/// use std::num::NonZeroU32;
/// use tenantry::limit::{PlanQuotas, Quota};
///
/// let nz = |n| NonZeroU32::new(n).unwrap();
/// let plans = PlanQuotas::new()
///     .plan("free", Quota::per_second(nz(10)).allow_burst(nz(20)))
///     .plan("pro", Quota::per_second(nz(100)).allow_burst(nz(200)))
///     .plan("internal", Quota::unlimited());
/// assert_eq!(plans.get("pro"), Some(Quota::per_second(nz(100)).allow_burst(nz(200))));
/// ```
#[derive(Debug, Clone, Default)]
pub struct PlanQuotas {
    plans: HashMap<String, Quota>,
    without_tenant: Option<Quota>,
}

impl PlanQuotas {
    /// No plans yet (everyone gets the default).
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives tenants on plan `name` this quota.
    #[must_use]
    pub fn plan(mut self, name: impl Into<String>, quota: Quota) -> Self {
        self.plans.insert(name.into(), quota);
        self
    }

    /// Gives requests with no accepted tenant this quota instead of the layer's default, e.g.
    /// [`Quota::unlimited`] for health checks let through by
    /// [`TenancyBuilder::public_path`](crate::enforce::TenancyBuilder::public_path).
    #[must_use]
    pub fn without_tenant(mut self, quota: Quota) -> Self {
        self.without_tenant = Some(quota);
        self
    }

    /// The quota of plan `name`, if listed.
    pub fn get(&self, name: &str) -> Option<Quota> {
        self.plans.get(name).copied()
    }
}

impl LimitResolver for PlanQuotas {
    fn quota<'a>(
        &'a self,
        head: &'a Parts,
        _tenant: Option<&'a TenantId>,
    ) -> BoxFuture<'a, Option<Quota>> {
        Box::pin(std::future::ready(self.for_head(head)))
    }

    fn quota_now(&self, head: &Parts, _tenant: Option<&TenantId>) -> Option<Option<Quota>> {
        Some(self.for_head(head))
    }
}

impl PlanQuotas {
    fn for_head(&self, head: &Parts) -> Option<Quota> {
        match head.extensions.get::<TenantContext>() {
            None => self.without_tenant,
            Some(ctx) => ctx.record().and_then(|record| self.get(&record.plan)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_without_a_tenant_get_the_without_tenant_quota_or_the_default() {
        let (head, ()) = http::Request::get("/healthz")
            .body(())
            .unwrap()
            .into_parts();
        let plans = PlanQuotas::new().plan("pro", Quota::unlimited());
        assert_eq!(plans.quota_now(&head, None), Some(None));
        let plans = plans.without_tenant(Quota::unlimited());
        assert_eq!(plans.quota_now(&head, None), Some(Some(Quota::unlimited())));
    }
}

/// A resolver from a closure over the request head and the accepted tenant, returning a
/// future (which owns what it needs).
///
/// ```
/// use std::num::NonZeroU32;
/// use tenantry::limit::{LimitResolverFn, Quota};
///
/// let nz = |n| NonZeroU32::new(n).unwrap();
/// let by_tenant = LimitResolverFn::new(move |_head: &http::request::Parts, tenant: Option<&tenantry::TenantId>| {
///     let tenant = tenant.cloned();
///     async move {
///         // e.g. look the tenant's plan up in a database
///         match tenant.as_ref().map(|t| t.as_str()) {
///             Some("acme") => Some(Quota::per_second(nz(100))),
///             Some("internal") => Some(Quota::unlimited()),
///             _ => None, // the layer's default
///         }
///     }
/// });
/// # let _ = by_tenant;
/// ```
#[derive(Clone)]
pub struct LimitResolverFn<F>(F);

impl<F> LimitResolverFn<F> {
    /// Wraps `f`.
    pub fn new<Fut>(f: F) -> Self
    where
        F: Fn(&Parts, Option<&TenantId>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<Quota>> + Send + 'static,
    {
        Self(f)
    }
}

impl<F> fmt::Debug for LimitResolverFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LimitResolverFn(..)")
    }
}

impl<F, Fut> LimitResolver for LimitResolverFn<F>
where
    F: Fn(&Parts, Option<&TenantId>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<Quota>> + Send + 'static,
{
    fn quota<'a>(
        &'a self,
        head: &'a Parts,
        tenant: Option<&'a TenantId>,
    ) -> BoxFuture<'a, Option<Quota>> {
        Box::pin((self.0)(head, tenant))
    }
}
