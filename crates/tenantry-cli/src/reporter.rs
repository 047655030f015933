//! Progress on stderr for the library's [`Reporter`]: an indicatif spinner with rows and rate,
//! only when stderr is a terminal; nothing otherwise.

use std::{io::IsTerminal as _, sync::Mutex, time::Duration};

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use tenantry::export::{NoProgress, Reporter};

/// Whether progress and summaries go to stderr (it is a terminal).
pub(crate) fn interactive() -> bool {
    std::io::stderr().is_terminal()
}

/// A spinner per table on a terminal, [`NoProgress`] otherwise. `verb`: "exporting", ...
pub(crate) fn stderr(verb: &'static str) -> Box<dyn Reporter> {
    if interactive() {
        Box::new(Spinner {
            verb,
            bar: Mutex::new(None),
        })
    } else {
        Box::new(NoProgress)
    }
}

struct Spinner {
    verb: &'static str,
    bar: Mutex<Option<ProgressBar>>,
}

impl Spinner {
    fn with_bar(&self, f: impl FnOnce(&mut Option<ProgressBar>)) {
        // A poisoned lock only means a panic elsewhere; progress is best effort.
        let mut bar = self.bar.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut bar);
    }
}

impl Reporter for Spinner {
    fn start(&self, table: &str) {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} {prefix}: {human_pos} rows ({rate} rows/s, {elapsed})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                // Whole rows per second, with thousands separators.
                let _ = write!(w, "{}", HumanCount(state.per_sec() as u64));
            },
        );
        bar.set_style(style);
        bar.set_prefix(format!("{} {table}", self.verb));
        bar.enable_steady_tick(Duration::from_millis(120));
        self.with_bar(|slot| {
            if let Some(old) = slot.replace(bar) {
                old.finish_and_clear();
            }
        });
    }

    fn rows(&self, done: u64) {
        self.with_bar(|slot| {
            if let Some(bar) = slot {
                bar.set_position(done);
            }
        });
    }

    fn finish(&self, _table: &str, _rows: u64) {
        self.with_bar(|slot| {
            if let Some(bar) = slot.take() {
                bar.finish_and_clear();
            }
        });
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.get_mut().ok().and_then(Option::take) {
            bar.finish_and_clear();
        }
    }
}
