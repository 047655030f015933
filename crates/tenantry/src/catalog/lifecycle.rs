//! Lifecycle events: what happened to a tenant, told to a subscriber the application supplies
//! (to send a welcome mail, bill, audit, warm a cache).
//!
//! A [`Catalog`](super::Catalog) built [`with_lifecycle`](super::Catalog::with_lifecycle)
//! tells its subscriber of every change made through it: a tenant created, activated,
//! suspended, resumed, deleted or removed; [`Registry::provision_tenant`] adds provisioned and
//! provisioning failed. Changes made by other processes reach only their own subscribers.
//! The subscriber is called after the change is stored, on the task that made it: keep it
//! quick (spawn anything slow).
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::sync::{Arc, Mutex};
//! use tenantry::{TenantId, catalog::{Catalog, LifecycleEvent, MemoryCatalog, TenantRecord, TenantStatus}};
//!
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let log = seen.clone();
//! let catalog = Catalog::new(MemoryCatalog::new()).with_lifecycle(
//!     move |tenant: &TenantRecord, event: &LifecycleEvent| {
//!         log.lock().unwrap().push(format!("{} {event}", tenant.id))
//!     },
//! );
//! let acme = TenantId::parse("acme").unwrap();
//! catalog.create(TenantRecord::new(acme.clone(), "Acme")).await.unwrap();
//! catalog.set_status(&acme, TenantStatus::Suspended).await.unwrap();
//! catalog.set_status(&acme, TenantStatus::Active).await.unwrap();
//! assert_eq!(*seen.lock().unwrap(), ["acme created", "acme suspended", "acme resumed"]);
//! # });
//! ```
//!
//! [`Registry::provision_tenant`]: crate::data::Registry

use std::fmt;

use super::{Placement, TenantRecord, TenantStatus};

/// What happened to a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleEvent {
    /// Added to the catalog (in the status it was created with).
    Created,
    /// Its schema or database was made, with its tables, at this placement.
    Provisioned(Placement),
    /// Provisioning failed (what had been made was dropped); the error.
    ProvisioningFailed(String),
    /// Turned active after provisioning (or from any state but suspended or deleted).
    Activated,
    /// Suspended: refused with 403 until resumed.
    Suspended,
    /// Active again after being suspended or deleted.
    Resumed,
    /// Marked deleted (the record is kept).
    Deleted,
    /// Removed from the catalog for good.
    Removed,
}

impl fmt::Display for LifecycleEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Created => f.write_str("created"),
            Self::Provisioned(at) => write!(f, "provisioned at {at}"),
            Self::ProvisioningFailed(why) => write!(f, "provisioning failed: {why}"),
            Self::Activated => f.write_str("activated"),
            Self::Suspended => f.write_str("suspended"),
            Self::Resumed => f.write_str("resumed"),
            Self::Deleted => f.write_str("deleted"),
            Self::Removed => f.write_str("removed"),
        }
    }
}

impl LifecycleEvent {
    /// The event a status change from `from` to `to` is, if any.
    pub(crate) fn of_transition(from: TenantStatus, to: TenantStatus) -> Option<Self> {
        use TenantStatus as S;
        Some(match (from, to) {
            (a, b) if a == b => return None,
            (S::Suspended | S::Deleted, S::Active) => Self::Resumed,
            (_, S::Active) => Self::Activated,
            (_, S::Suspended) => Self::Suspended,
            (_, S::Deleted) => Self::Deleted,
            _ => return None,
        })
    }
}

/// Told of each [`LifecycleEvent`]; any `Fn(&TenantRecord, &LifecycleEvent)` is one.
pub trait LifecycleSubscriber: Send + Sync + 'static {
    /// `tenant` (as it is after the change) went through `event`.
    fn on_event(&self, tenant: &TenantRecord, event: &LifecycleEvent);
}

impl<F> LifecycleSubscriber for F
where
    F: Fn(&TenantRecord, &LifecycleEvent) + Send + Sync + 'static,
{
    fn on_event(&self, tenant: &TenantRecord, event: &LifecycleEvent) {
        self(tenant, event)
    }
}
