use super::{ResolveCx, ResolveFuture, TenantResolver};

/// A tenant named by an earlier layer of the application, carried in the request extensions.
///
/// ```
/// let mut req = http::Request::new(());
/// req.extensions_mut().insert(tenantry::resolve::TenantHint::new("acme"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantHint(String);

impl TenantHint {
    /// A hint naming `tenant` (validated later, like every source).
    pub fn new(tenant: impl Into<String>) -> Self {
        Self(tenant.into())
    }

    /// The named tenant.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Reads a [`TenantHint`] from the request extensions.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtensionResolver;

impl TenantResolver for ExtensionResolver {
    fn name(&self) -> &'static str {
        "extension"
    }

    fn is_immediate(&self) -> bool {
        true
    }

    fn resolve<'a>(&'a self, cx: &'a mut ResolveCx<'_>) -> ResolveFuture<'a> {
        let found = cx
            .head()
            .extensions
            .get::<TenantHint>()
            .map(|h| h.0.clone());
        ResolveFuture::ready(Ok(found))
    }
}
