use super::{ResolveCx, ResolveFuture, TenantResolver};

/// Reads the tenant of the authenticated [`Principal`](crate::Principal): its `tenant_id`, or its
/// only membership. A principal that belongs to several tenants and names none resolves nothing,
/// so a later resolver (the header, the path) chooses among them and membership is then checked.
///
/// The principal comes from the request extensions (put there by the application's auth layer)
/// or from an earlier [`JwtResolver`](super::JwtResolver).
#[derive(Debug, Clone, Copy, Default)]
pub struct IdentityResolver;

impl TenantResolver for IdentityResolver {
    fn name(&self) -> &'static str {
        "identity"
    }

    fn is_immediate(&self) -> bool {
        true
    }

    fn resolve<'a>(&'a self, cx: &'a mut ResolveCx<'_>) -> ResolveFuture<'a> {
        let found = cx
            .principal()
            .and_then(|p| p.implied_tenant())
            .map(str::to_owned);
        ResolveFuture::ready(Ok(found))
    }

    fn authoritative(&self) -> bool {
        true
    }
}
