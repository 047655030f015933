use http::HeaderName;

use super::{ResolveCx, ResolveFuture, TenantResolver};
use crate::{Rejection, tenant_id::InvalidTenantId};

/// Reads the tenant from a request header, `X-Tenant-Id` by default (names are case-insensitive).
///
/// A header that is present but empty, not visible ASCII, or repeated with different values is a
/// 400 `tenant_invalid`, not a fall-through.
///
/// **Caveat**: any client can set a header. Unless trusted-gateway mode is on, a tenant named only
/// by a header is accepted only together with an authenticated principal that is a member of it.
///
/// ```
/// use tenantry::resolve::HeaderResolver;
///
/// let default = HeaderResolver::x_tenant_id();
/// let custom = HeaderResolver::new(http::HeaderName::from_static("x-org"));
/// ```
#[derive(Debug, Clone)]
pub struct HeaderResolver {
    name: HeaderName,
}

impl HeaderResolver {
    /// Reads `header`.
    pub fn new(header: HeaderName) -> Self {
        Self { name: header }
    }

    /// Reads `X-Tenant-Id`.
    pub fn x_tenant_id() -> Self {
        Self::new(HeaderName::from_static("x-tenant-id"))
    }
}

impl Default for HeaderResolver {
    fn default() -> Self {
        Self::x_tenant_id()
    }
}

impl TenantResolver for HeaderResolver {
    fn name(&self) -> &'static str {
        "header"
    }

    fn is_immediate(&self) -> bool {
        true
    }

    fn resolve<'a>(&'a self, cx: &'a mut ResolveCx<'_>) -> ResolveFuture<'a> {
        let mut values = cx.head().headers.get_all(&self.name).iter();
        let Some(first) = values.next() else {
            return ResolveFuture::ready(Ok(None));
        };
        let Ok(text) = first.to_str() else {
            return ResolveFuture::ready(Err(InvalidTenantId::BadCharacters.into()));
        };
        if values.any(|v| v.to_str().ok().map(str::trim) != Some(text.trim())) {
            return ResolveFuture::ready(Err(Rejection::TenantInvalid(InvalidTenantId::Ambiguous)));
        }
        ResolveFuture::ready(Ok(Some(text.to_owned())))
    }
}
