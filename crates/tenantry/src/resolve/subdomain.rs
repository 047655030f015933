use http::header::HOST;

use super::{ResolveCx, ResolveFuture, TenantResolver};
use crate::ConfigError;

/// Reads the tenant from the first label of the host under a base domain:
/// `acme.app.example.com` with base `app.example.com` names `acme`.
///
/// The host comes from the `Host` header (or the URI authority, for HTTP/2); the port and a
/// trailing dot are removed and it is compared in lower case (DNS is case-insensitive, so
/// `ACME.App.Example.com:8443` names `acme`). The bare base domain, `www`, deeper hosts
/// (`a.b.app.example.com`) and a first label that is not made of letters, digits, `-` and `_`
/// name no tenant. White space around the host is ignored; inside it, it is not a host name.
///
/// # Case
///
/// Because host names carry no case, the label is always lower-cased: a tenant whose id has
/// capitals (`Acme`) cannot be named by a host, only `acme` can. This is never ambiguous:
/// the catalog refuses an id that differs from an existing one only in case
/// ([`CatalogError::CaseConflict`](crate::catalog::CatalogError::CaseConflict)), so `ACME.`
/// and `acme.` can only ever mean the one tenant `acme`. Give tenants reached by subdomain
/// lower-case ids.
///
/// ```
/// use tenantry::resolve::SubdomainResolver;
///
/// let r = SubdomainResolver::new("app.example.com").unwrap();
/// assert!(SubdomainResolver::new("not a domain").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct SubdomainResolver {
    /// `.app.example.com`, lower case.
    dotted_base: String,
}

impl SubdomainResolver {
    /// Resolves tenants under `base_domain`. Fails if it is not a plausible domain name.
    pub fn new(base_domain: &str) -> Result<Self, ConfigError> {
        let base = base_domain
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if base.is_empty() || base.len() > 253 || !base.split('.').all(label_ok) {
            return Err(ConfigError::BaseDomain(base_domain.to_owned()));
        }
        Ok(Self {
            dotted_base: format!(".{base}"),
        })
    }

    fn tenant_of(&self, host: &str) -> Option<String> {
        // Optional white space around a field value is not part of it (RFC 9110 §5.5); HTTP/1
        // parsers strip it, a value built by hand or relayed by a proxy may still carry it.
        let host = host.trim_matches([' ', '\t']);
        let host = match host.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => host,
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let label = host.strip_suffix(self.dotted_base.as_str())?;
        if label.is_empty() || label == "www" {
            return None;
        }
        // A label that is not a host-name label (letters, digits, `-`, and `_`, which tenant
        // ids allow) names no tenant: `acme .app.example.com` must not become `acme` once the
        // id rule trims it, and a dot would mean a deeper host.
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return None;
        }
        Some(label.to_owned())
    }
}

impl TenantResolver for SubdomainResolver {
    fn name(&self) -> &'static str {
        "subdomain"
    }

    fn is_immediate(&self) -> bool {
        true
    }

    fn resolve<'a>(&'a self, cx: &'a mut ResolveCx<'_>) -> ResolveFuture<'a> {
        let head = cx.head();
        let host = head
            .headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| head.uri.authority().map(|a| a.as_str()));
        ResolveFuture::ready(Ok(host.and_then(|h| self.tenant_of(h))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let r = SubdomainResolver::new("App.Example.com.").unwrap();
        let t = |h: &str| r.tenant_of(h);
        assert_eq!(t("acme.app.example.com").as_deref(), Some("acme"));
        assert_eq!(t("ACME.App.Example.COM:8443").as_deref(), Some("acme"));
        assert_eq!(t("acme.app.example.com.").as_deref(), Some("acme"));
        assert_eq!(t("app.example.com"), None);
        assert_eq!(t("www.app.example.com"), None);
        assert_eq!(t("a.b.app.example.com"), None);
        assert_eq!(t("evilapp.example.com"), None);
        assert_eq!(t("acme.other.com"), None);
        // Found by fuzzing (`fuzz/fuzz_targets/subdomain_resolver.rs`): white space around the
        // host became part of the label (`"\tacme"`), and a trailing one hid the tenant.
        assert_eq!(t("\t acme.app.example.com").as_deref(), Some("acme"));
        assert_eq!(t("acme.app.example.com \t").as_deref(), Some("acme"));
        assert_eq!(t(" acme.app.example.com:8443 ").as_deref(), Some("acme"));
        // ... and white space inside the host was kept in the label, which the id rule then
        // trimmed: `acme .app.example.com` named `acme`. A label that is not a host-name label
        // names no tenant.
        assert_eq!(t("\t!66.app.example.com"), None);
        assert_eq!(t("acme .app.example.com"), None);
        assert_eq!(t("acme\t.app.example.com"), None);
        assert_eq!(t("ac me.app.example.com"), None);
        assert_eq!(t("acme_1.app.example.com").as_deref(), Some("acme_1"));
        // Every spelling of a host names the same, lower-case, tenant.
        for host in [
            "Acme.app.example.com",
            "ACME.APP.EXAMPLE.COM",
            "aCmE.app.example.com.",
        ] {
            assert_eq!(t(host).as_deref(), Some("acme"), "{host}");
        }
    }
}
