//! [`TenantLabels`]: which tenants get a label of their own.

use std::{
    collections::{HashMap, HashSet},
    fmt,
    sync::{
        Arc, RwLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use foldhash::fast::RandomState;

use crate::TenantId;

/// The label of tenants beyond the bound.
pub(crate) const OTHER: &str = "_other";
/// The label of requests without an accepted tenant.
pub(crate) const NONE: &str = "_none";

/// A bounded set of tenant label values: tenants named in advance, plus the first `n` distinct
/// tenants seen, each get their own; every other tenant shares `_other`. The set only grows
/// (a tenant that got a label keeps it, so its series never moves), and it never holds more
/// than the named tenants plus `n`.
///
/// ```
/// use tenantry::{TenantId, metrics::TenantLabels};
///
/// let labels = TenantLabels::first(2).named([TenantId::parse("bigco").unwrap()]);
/// let id = |s| TenantId::parse(s).unwrap();
/// assert_eq!(&*labels.label(&id("a")), "a");
/// assert_eq!(&*labels.label(&id("b")), "b");
/// assert_eq!(&*labels.label(&id("c")), "_other");
/// assert_eq!(&*labels.label(&id("bigco")), "bigco");
/// assert_eq!(&*labels.label(&id("a")), "a");
/// ```
pub struct TenantLabels {
    named: HashSet<TenantId>,
    first: usize,
    /// Keyed by foldhash (randomly seeded), not SipHash: looked up on every request.
    seen: RwLock<HashMap<TenantId, Arc<str>, RandomState>>,
    /// How many of `seen` count against `first` (those not named).
    counted: AtomicUsize,
    other: Arc<str>,
}

impl fmt::Debug for TenantLabels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TenantLabels")
            .field("named", &self.named.len())
            .field("first", &self.first)
            .finish_non_exhaustive()
    }
}

impl TenantLabels {
    /// The first `n` distinct tenants seen get their own label (`0`: every tenant is `_other`).
    pub fn first(n: usize) -> Self {
        Self {
            named: HashSet::new(),
            first: n,
            seen: RwLock::new(HashMap::default()),
            counted: AtomicUsize::new(0),
            other: Arc::from(OTHER),
        }
    }

    /// Also give these tenants their own label, whatever the order they come in (your largest
    /// customers, say); they do not count against `n`.
    pub fn named(mut self, tenants: impl IntoIterator<Item = TenantId>) -> Self {
        self.named.extend(tenants);
        self
    }

    /// The label for `tenant`.
    pub fn label(&self, tenant: &TenantId) -> Arc<str> {
        // A poisoned lock only means a panic elsewhere while inserting; the map is still sound.
        if let Some(label) = self
            .seen
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(tenant)
        {
            return label.clone();
        }
        let named = self.named.contains(tenant);
        // Once the bound is reached, the tenants beyond it never take the write lock.
        if !named && self.counted.load(Ordering::Acquire) >= self.first {
            return self.other.clone();
        }
        let mut seen = self.seen.write().unwrap_or_else(|p| p.into_inner());
        if let Some(label) = seen.get(tenant) {
            return label.clone();
        }
        if !named {
            if self.counted.load(Ordering::Relaxed) >= self.first {
                return self.other.clone();
            }
            self.counted.fetch_add(1, Ordering::Release);
        }
        let label: Arc<str> = Arc::from(tenant.as_str());
        seen.insert(tenant.clone(), label.clone());
        label
    }
}
