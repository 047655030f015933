//! [`Principal`]: the authenticated caller, as far as tenancy cares.

use serde::{Deserialize, Serialize};

use crate::TenantId;

/// The authenticated caller: a subject and the tenants it belongs to.
///
/// An authentication layer of the application inserts a `Principal` into the request's extensions
/// (the identity resolver and membership check read it there), or the JWT resolver builds one from
/// a verified token's `sub`, tenant claim and `tenants` claim.
///
/// ```
/// use tenantry::{Principal, TenantId};
///
/// let alice = Principal::new("alice").with_tenants(["acme", "globex"]);
/// assert!(alice.is_member(&TenantId::parse("globex").unwrap()));
/// assert!(!alice.is_member(&TenantId::parse("initech").unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tenants: Vec<String>,
}

impl Principal {
    /// A principal with a subject and no tenants.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            tenant_id: None,
            tenants: Vec::new(),
        }
    }

    /// Sets the principal's own tenant (the `tenant_id` claim).
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant.into());
        self
    }

    /// Sets the tenants the principal belongs to (the `tenants` claim).
    pub fn with_tenants<I, T>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.tenants = tenants.into_iter().map(Into::into).collect();
        self
    }

    /// The subject (`sub`).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// The principal's own tenant, if it names one.
    pub fn tenant_id(&self) -> Option<&str> {
        self.tenant_id.as_deref()
    }

    /// The tenants the principal belongs to, besides [`tenant_id`](Self::tenant_id).
    pub fn tenants(&self) -> &[String] {
        &self.tenants
    }

    /// The single tenant this principal implies: its `tenant_id`, or its only membership.
    /// `None` when it belongs to several and names none (the request must choose).
    pub fn implied_tenant(&self) -> Option<&str> {
        match (&self.tenant_id, self.tenants.as_slice()) {
            (Some(t), _) => Some(t),
            (None, [only]) => Some(only),
            _ => None,
        }
    }

    /// Whether the claims make the principal a member of `tenant`.
    pub fn is_member(&self, tenant: &TenantId) -> bool {
        self.tenant_id.as_deref() == Some(tenant.as_str())
            || self.tenants.iter().any(|t| t == tenant.as_str())
    }
}
