//! [`Principal`]: the authenticated caller, as far as tenancy cares.

use std::{fmt, sync::Arc};

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
///
/// Cloning is cheap (a reference count): the layer hands the same principal to the resolvers,
/// the request's extensions and the [`TenantContext`](crate::TenantContext), and the JWT
/// resolver's token cache hands out the one it built when the token was verified.
#[derive(Clone, PartialEq, Eq)]
pub struct Principal(Arc<Claims>);

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Claims {
    subject: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tenants: Vec<String>,
}

impl Serialize for Principal {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Principal {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Claims::deserialize(deserializer).map(|c| Self(Arc::new(c)))
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.0.subject)
            .field("tenant_id", &self.0.tenant_id)
            .field("tenants", &self.0.tenants)
            .finish()
    }
}

impl Principal {
    /// A principal with a subject and no tenants.
    pub fn new(subject: impl Into<String>) -> Self {
        Self(Arc::new(Claims {
            subject: subject.into(),
            tenant_id: None,
            tenants: Vec::new(),
        }))
    }

    /// Sets the principal's own tenant (the `tenant_id` claim).
    pub fn with_tenant(mut self, tenant: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.0).tenant_id = Some(tenant.into());
        self
    }

    /// Sets the tenants the principal belongs to (the `tenants` claim).
    pub fn with_tenants<I, T>(mut self, tenants: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Arc::make_mut(&mut self.0).tenants = tenants.into_iter().map(Into::into).collect();
        self
    }

    /// The subject (`sub`).
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The principal's own tenant, if it names one.
    pub fn tenant_id(&self) -> Option<&str> {
        self.0.tenant_id.as_deref()
    }

    /// The tenants the principal belongs to, besides [`tenant_id`](Self::tenant_id).
    pub fn tenants(&self) -> &[String] {
        &self.0.tenants
    }

    /// The single tenant this principal implies: its `tenant_id`, or its only membership.
    /// `None` when it belongs to several and names none (the request must choose).
    pub fn implied_tenant(&self) -> Option<&str> {
        match (&self.0.tenant_id, self.0.tenants.as_slice()) {
            (Some(t), _) => Some(t),
            (None, [only]) => Some(only),
            _ => None,
        }
    }

    /// Whether the claims make the principal a member of `tenant`.
    pub fn is_member(&self, tenant: &TenantId) -> bool {
        self.0.tenant_id.as_deref() == Some(tenant.as_str())
            || self.0.tenants.iter().any(|t| t == tenant.as_str())
    }
}
