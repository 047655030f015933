//! How `tenantry migrate` shows a run as it goes, on stderr: a progress bar (indicatif) when
//! stderr is a terminal, a plain line at each tenth of the work otherwise, nothing with
//! `--json` (stdout is then the report alone, and stderr says nothing unless something fails
//! outright).

use std::sync::{
    Arc, Mutex,
    atomic::{AtomicUsize, Ordering},
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tenantry::data::{FleetProgress, Outcome, PlacementReport};

use crate::reporter::interactive;

/// The progress for a run: `None` with `--json`.
pub(crate) fn for_run(json: bool) -> Option<Arc<dyn FleetProgress>> {
    if json {
        None
    } else if interactive() {
        Some(Arc::new(Bar(Mutex::new(None))))
    } else {
        Some(Arc::new(Lines::default()))
    }
}

/// A bar over the placements to migrate; a failure is printed above it as it happens.
struct Bar(Mutex<Option<ProgressBar>>);

impl Bar {
    fn with(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        // A poisoned lock only means a panic elsewhere; progress is best effort.
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

impl FleetProgress for Bar {
    fn planned(&self, _placements: usize, to_migrate: usize) {
        if to_migrate == 0 {
            return;
        }
        let bar =
            ProgressBar::with_draw_target(Some(to_migrate as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "migrating {bar:30} {pos}/{len} placements ({per_sec}, {elapsed}, eta {eta}) {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        self.with(|slot| *slot = Some(bar));
    }

    fn finished(&self, line: &PlacementReport) {
        self.with(|slot| {
            if let Some(bar) = slot {
                if matches!(line.outcome, Outcome::Failed { .. }) {
                    bar.println(super::migrate::describe(line));
                }
                bar.inc(1);
                if bar.position() == bar.length().unwrap_or(0) {
                    bar.finish_and_clear();
                }
            }
        });
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.with(|slot| {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        });
    }
}

/// Placements to migrate from which the plain lines say how far the run is.
const MIN_FOR_LINES: usize = 10;

/// `migrating: 40% (88/220 placements), 1 failed`, at each tenth.
#[derive(Default)]
struct Lines {
    total: AtomicUsize,
    done: AtomicUsize,
    failed: AtomicUsize,
}

impl FleetProgress for Lines {
    fn planned(&self, placements: usize, to_migrate: usize) {
        self.total.store(to_migrate, Ordering::Relaxed);
        if to_migrate >= MIN_FOR_LINES {
            eprintln!("migrating {to_migrate} of {placements} placements");
        }
    }

    fn finished(&self, line: &PlacementReport) {
        let failed = if matches!(line.outcome, Outcome::Failed { .. }) {
            self.failed.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.failed.load(Ordering::Relaxed)
        };
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let total = self.total.load(Ordering::Relaxed).max(1);
        // A line when the done count enters a new tenth of the work (a run of fewer than ten
        // placements is over before a line would help).
        if total >= MIN_FOR_LINES && done * 10 / total > (done - 1) * 10 / total {
            eprintln!(
                "migrating: {}% ({done}/{total} placements), {failed} failed",
                done * 100 / total
            );
        }
    }
}
