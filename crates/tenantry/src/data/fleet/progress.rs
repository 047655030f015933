//! [`FleetProgress`]: what a run tells as it goes (the CLI draws a progress bar with it).

use super::PlacementReport;

/// Told of a fleet run's progress, from the tasks migrating placements (so: `Send + Sync`,
/// and quick). Both methods do nothing by default; a closure taking a
/// [`PlacementReport`] is a `FleetProgress` that hears of each finished placement.
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicUsize, Ordering}};
/// use tenantry::data::{FleetOptions, FleetProgress, PlacementReport};
///
/// let done = Arc::new(AtomicUsize::new(0));
/// let counter = done.clone();
/// let mut options = FleetOptions::default();
/// options.progress = Some(Arc::new(move |_: &PlacementReport| {
///     counter.fetch_add(1, Ordering::Relaxed);
/// }));
/// # let _ = options;
/// ```
pub trait FleetProgress: Send + Sync {
    /// The run knows its work: `placements` in all, `to_migrate` of which have something to
    /// apply (the others are already current and are not connected to).
    fn planned(&self, placements: usize, to_migrate: usize) {
        let _ = (placements, to_migrate);
    }

    /// One of the `to_migrate` placements is done: applied, found current after all (a killed
    /// run had applied it), or failed.
    fn finished(&self, line: &PlacementReport) {
        let _ = line;
    }
}

impl<F> FleetProgress for F
where
    F: Fn(&PlacementReport) + Send + Sync,
{
    fn finished(&self, line: &PlacementReport) {
        self(line);
    }
}
