use http::{Uri, request::Parts, uri::PathAndQuery};

use super::{ResolveCx, ResolveFuture, TenantResolver};
use crate::ConfigError;

const PLACEHOLDER: &str = "{tenant_id}";

/// Reads the tenant from a path prefix, `/tenants/{tenant_id}/` by default, and strips that prefix
/// before routing, so one router serves both `/api/v1/x` and `/tenants/acme/api/v1/x`.
///
/// Because the path is rewritten, the tenancy layer must wrap the router from outside (as a
/// service, or through `Router::fallback_service`), not be added with `Router::layer`, which runs
/// after routing.
///
/// ```
/// use tenantry::resolve::PathResolver;
///
/// let default = PathResolver::default();
/// let short = PathResolver::template("/t/{tenant_id}/").unwrap();
/// assert!(PathResolver::template("/t/{id}/").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct PathResolver {
    prefix: String,
}

impl Default for PathResolver {
    fn default() -> Self {
        Self {
            prefix: "/tenants/".to_owned(),
        }
    }
}

impl PathResolver {
    /// A resolver for `template`, which must start with `/`, hold `{tenant_id}` once as a whole
    /// segment, and end there (optionally with a trailing `/`).
    pub fn template(template: &str) -> Result<Self, ConfigError> {
        let bad = |why: &'static str| ConfigError::PathTemplate {
            template: template.to_owned(),
            why,
        };
        let Some((prefix, rest)) = template.split_once(PLACEHOLDER) else {
            return Err(bad("it must contain {tenant_id}"));
        };
        if !prefix.starts_with('/') || !prefix.ends_with('/') {
            return Err(bad(
                "it must start with '/' and {tenant_id} must be a whole segment",
            ));
        }
        if !(rest.is_empty() || rest == "/") {
            return Err(bad("{tenant_id} must be the last segment"));
        }
        if prefix.contains(['{', '}', '?', '#']) {
            return Err(bad("only one {tenant_id} and no query or fragment"));
        }
        Ok(Self {
            prefix: prefix.to_owned(),
        })
    }

    /// The tenant segment and the remaining path (starting with `/`, or empty).
    fn split<'p>(&self, path: &'p str) -> Option<(&'p str, &'p str)> {
        let after = path.strip_prefix(self.prefix.as_str())?;
        let end = after.find('/').unwrap_or(after.len());
        let (tenant, rest) = after.split_at(end);
        Some((tenant, rest))
    }
}

impl TenantResolver for PathResolver {
    fn name(&self) -> &'static str {
        "path"
    }

    fn is_immediate(&self) -> bool {
        true
    }

    fn resolve<'a>(&'a self, cx: &'a mut ResolveCx<'_>) -> ResolveFuture<'a> {
        let found = self.split(cx.head().uri.path()).map(|(t, _)| t.to_owned());
        ResolveFuture::ready(Ok(found))
    }

    fn rewrite(&self, head: &mut Parts) {
        let Some((_, rest)) = self.split(head.uri.path()) else {
            return;
        };
        let rest = if rest.is_empty() { "/" } else { rest };
        let pq = match head.uri.query() {
            Some(q) => format!("{rest}?{q}"),
            None => rest.to_owned(),
        };
        let Ok(pq) = PathAndQuery::try_from(pq) else {
            return;
        };
        let mut parts = head.uri.clone().into_parts();
        parts.path_and_query = Some(pq);
        if let Ok(uri) = Uri::from_parts(parts) {
            head.uri = uri;
        }
    }
}
