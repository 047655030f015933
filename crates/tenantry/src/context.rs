//! Context: the tenant follows the request through async code.
//!
//! The enforcement layer runs each accepted request inside a [`tokio::task_local!`] scope holding
//! its [`TenantContext`], and inside a tracing span `tenant` with a `tenant_id` field (it also
//! records `tenant_id` on the enclosing span, for a `TraceLayer` span that declares the field).
//! [`current`] reads it anywhere below; [`scope`] runs a future inside a tenant's scope (jobs,
//! scripts); [`spawn`] and [`spawn_blocking`] start tasks that keep it.
//!
//! Reading the context where none is set is an error ([`NoTenantContext`]), never a default
//! tenant.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use tenantry::{TenantId, context::{self, TenantContext}};
//!
//! let acme = TenantContext::new(TenantId::parse("acme").unwrap());
//! let seen = context::scope(acme, async {
//!     tokio::task::yield_now().await;
//!     let inner = context::spawn(async { context::current_tenant() }).unwrap();
//!     inner.await.unwrap().unwrap()
//! }).await;
//! assert_eq!(seen, "acme");
//! assert!(context::current().is_err()); // outside the scope
//! # });
//! ```

use std::{fmt, future::Future, sync::Arc};

use tokio::task::JoinHandle;
use tokio::task::futures::TaskLocalFuture;
use tracing::{Instrument, instrument::Instrumented};

use crate::{Principal, TenantId, catalog::TenantRecord};

tokio::task_local! {
    static CURRENT: TenantContext;
}

/// Code asked for the current tenant outside any tenant scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no tenant context is set for this task (run it inside tenantry::context::scope)")]
pub struct NoTenantContext;

/// The tenant a request (or job) acts for, with how it was found. Cloning is cheap.
#[derive(Clone)]
pub struct TenantContext(Arc<Inner>);

#[derive(Clone)]
struct Inner {
    tenant: TenantId,
    resolved_by: &'static str,
    principal: Option<Principal>,
    record: Option<Arc<TenantRecord>>,
}

impl fmt::Debug for TenantContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantContext")
            .field("tenant", &self.0.tenant)
            .field("resolved_by", &self.0.resolved_by)
            .field(
                "subject",
                &self.0.principal.as_ref().map(Principal::subject),
            )
            .finish()
    }
}

impl TenantContext {
    /// A context for `tenant`, as a job or script would set it (`resolved_by` is `"explicit"`).
    pub fn new(tenant: TenantId) -> Self {
        Self(Arc::new(Inner {
            tenant,
            resolved_by: "explicit",
            principal: None,
            record: None,
        }))
    }

    pub(crate) fn resolved(
        tenant: TenantId,
        resolved_by: &'static str,
        principal: Option<Principal>,
        record: Option<Arc<TenantRecord>>,
    ) -> Self {
        Self(Arc::new(Inner {
            tenant,
            resolved_by,
            principal,
            record,
        }))
    }

    /// Sets the principal acting (for jobs run on someone's behalf).
    pub fn with_principal(mut self, principal: Principal) -> Self {
        Arc::make_mut(&mut self.0).principal = Some(principal);
        self
    }

    /// The tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.0.tenant
    }

    /// Which resolver named the tenant (`header`, `jwt`, `path`, ...; `explicit` for jobs).
    pub fn resolved_by(&self) -> &'static str {
        self.0.resolved_by
    }

    /// The authenticated principal, if any.
    pub fn principal(&self) -> Option<&Principal> {
        self.0.principal.as_ref()
    }

    /// The catalog record, when the layer consulted a catalog.
    pub fn record(&self) -> Option<&TenantRecord> {
        self.0.record.as_deref()
    }

    fn span(&self) -> tracing::Span {
        tracing::info_span!(
            "tenant",
            tenant_id = %self.0.tenant,
            resolved_by = self.0.resolved_by
        )
    }
}

/// The current task's tenant context.
pub fn current() -> Result<TenantContext, NoTenantContext> {
    CURRENT.try_with(Clone::clone).map_err(|_| NoTenantContext)
}

/// The current task's tenant.
pub fn current_tenant() -> Result<TenantId, NoTenantContext> {
    CURRENT
        .try_with(|c| c.0.tenant.clone())
        .map_err(|_| NoTenantContext)
}

/// The catalog record the enforcement layer read for `tenant`, if the current task acts for
/// it and the layer read one (the data layer's placement comes from it without a second
/// lookup).
#[cfg(feature = "_sql")]
pub(crate) fn current_record(tenant: &TenantId) -> Option<Arc<TenantRecord>> {
    CURRENT
        .try_with(|c| {
            if c.0.tenant == *tenant {
                c.0.record.clone()
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// Runs `future` inside `ctx`'s scope and tracing span.
pub async fn scope<F: Future>(ctx: TenantContext, future: F) -> F::Output {
    scoped(ctx, future).await
}

/// The future [`scope`] awaits, as a type the enforcement layer can hold without boxing.
pub(crate) type Scoped<F> = Instrumented<TaskLocalFuture<TenantContext, F>>;

/// `future` inside `ctx`'s scope and tracing span.
pub(crate) fn scoped<F: Future>(ctx: TenantContext, future: F) -> Scoped<F> {
    let span = ctx.span();
    CURRENT.scope(ctx, future).instrument(span)
}

/// Runs `f` synchronously inside `ctx`'s scope and span.
pub fn sync_scope<R>(ctx: TenantContext, f: impl FnOnce() -> R) -> R {
    let span = ctx.span();
    let _entered = span.enter();
    CURRENT.sync_scope(ctx, f)
}

/// [`tokio::spawn`]s `future` in the current tenant's scope.
pub fn spawn<F>(future: F) -> Result<JoinHandle<F::Output>, NoTenantContext>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let ctx = current()?;
    Ok(tokio::spawn(scope(ctx, future)))
}

/// [`tokio::task::spawn_blocking`]s `f` in the current tenant's scope.
pub fn spawn_blocking<F, R>(f: F) -> Result<JoinHandle<R>, NoTenantContext>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let ctx = current()?;
    Ok(tokio::task::spawn_blocking(move || sync_scope(ctx, f)))
}
