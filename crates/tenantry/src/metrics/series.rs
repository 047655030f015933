//! [`Series`]: the handles of the series a [`MetricsLayer`](super::MetricsLayer) has recorded
//! into, registered once each.
//!
//! `metrics::counter!(NAME, labels...)` builds a key (a vector of labels), hashes it and looks
//! it up in the recorder's registry on every call: about 1,600 instructions a series, 6,400 a
//! request for the four series a request touches (`bench/observe_probe.sh`). Here a request
//! finds its handles in maps keyed by what it already has (the tenant label, the status, the
//! problem code, the route and method), and recording is an atomic add.
//!
//! Handles belong to the recorder that registered them. The maps remember which recorder that
//! was (its address) and start again when another one is in place, so that a layer used under
//! [`metrics::set_default_local_recorder`] in a test and under the global recorder later records
//! into each.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
};

use foldhash::fast::RandomState;
use metrics::{Counter, Histogram};

use super::{RATE_LIMIT_DECISIONS, REFUSALS, REQUEST_DURATION, REQUESTS};

/// The `method` label values, by index; every unusual method is `other`.
pub(crate) const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "other",
];

/// What one response is recorded under.
pub(crate) struct Labels<'a> {
    pub(crate) tenant: &'a Arc<str>,
    pub(crate) status: u16,
    pub(crate) code: Option<&'static str>,
    /// `Some(limited)` when the response carries a rate-limit decision.
    pub(crate) decision: Option<bool>,
    /// An index into [`METHODS`].
    pub(crate) method: usize,
    pub(crate) route: &'a str,
}

/// The handles, by what selects them.
#[derive(Default)]
struct Handles {
    /// The recorder the handles were registered with (its address; 0: none yet).
    recorder: usize,
    requests: HashMap<Arc<str>, Vec<(u16, Counter)>, RandomState>,
    refusals: HashMap<&'static str, Counter, RandomState>,
    /// `allowed`, `limited`.
    decisions: [Option<Counter>; 2],
    durations: HashMap<Box<str>, [Option<Histogram>; METHODS.len()], RandomState>,
}

/// The handles a layer has registered, shared by its clones.
#[derive(Default)]
pub(crate) struct Series(RwLock<Handles>);

impl std::fmt::Debug for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Series").finish_non_exhaustive()
    }
}

/// The address of the recorder in place for this thread (0: none).
fn recorder() -> usize {
    metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>() as usize)
}

impl Handles {
    /// Records `labels` if every handle is there; `false` when one must be registered first.
    fn record(&self, recorder: usize, labels: &Labels<'_>, seconds: f64) -> bool {
        if self.recorder != recorder {
            return false;
        }
        let Some(requests) = self.requests.get(&**labels.tenant) else {
            return false;
        };
        let Some((_, requests)) = requests.iter().find(|(s, _)| *s == labels.status) else {
            return false;
        };
        let refusal = match labels.code {
            Some(code) => match self.refusals.get(code) {
                Some(counter) => Some(counter),
                None => return false,
            },
            None => None,
        };
        let decision = match labels.decision {
            Some(limited) => match &self.decisions[usize::from(limited)] {
                Some(counter) => Some(counter),
                None => return false,
            },
            None => None,
        };
        let Some(Some(duration)) = self.durations.get(labels.route).map(|m| &m[labels.method])
        else {
            return false;
        };
        requests.increment(1);
        if let Some(counter) = refusal {
            counter.increment(1);
        }
        if let Some(counter) = decision {
            counter.increment(1);
        }
        duration.record(seconds);
        true
    }

    /// Registers whatever `labels` needs that is not there yet.
    fn register(&mut self, recorder: usize, labels: &Labels<'_>) {
        if self.recorder != recorder {
            *self = Self {
                recorder,
                ..Self::default()
            };
        }
        let requests = self.requests.entry(labels.tenant.clone()).or_default();
        if !requests.iter().any(|(s, _)| *s == labels.status) {
            let counter = metrics::counter!(
                REQUESTS,
                "tenant" => labels.tenant.clone(),
                "status" => labels.status.to_string()
            );
            requests.push((labels.status, counter));
        }
        if let Some(code) = labels.code {
            self.refusals
                .entry(code)
                .or_insert_with(|| metrics::counter!(REFUSALS, "code" => code));
        }
        if let Some(limited) = labels.decision {
            self.decisions[usize::from(limited)].get_or_insert_with(|| {
                let decision = if limited { "limited" } else { "allowed" };
                metrics::counter!(RATE_LIMIT_DECISIONS, "decision" => decision)
            });
        }
        let durations = match self.durations.get_mut(labels.route) {
            Some(durations) => durations,
            None => self.durations.entry(labels.route.into()).or_default(),
        };
        durations[labels.method].get_or_insert_with(|| {
            metrics::histogram!(
                REQUEST_DURATION,
                "method" => METHODS[labels.method],
                "route" => labels.route.to_owned()
            )
        });
    }
}

impl Series {
    /// Records one response: its request count, refusal, rate-limit decision and latency.
    pub(crate) fn record(&self, labels: &Labels<'_>, seconds: f64) {
        let recorder = recorder();
        // A poisoned lock only means a panic elsewhere while registering; the maps are sound.
        if self
            .0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .record(recorder, labels, seconds)
        {
            return;
        }
        let mut handles = self.0.write().unwrap_or_else(|p| p.into_inner());
        handles.register(recorder, labels);
        handles.record(recorder, labels, seconds);
    }
}
