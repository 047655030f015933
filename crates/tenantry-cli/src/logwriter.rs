//! The log writer of `tenantry serve`: lines go into one buffer in memory, which a thread writes
//! to stderr every [`EVERY`] (and whenever it fills). A request never waits on the terminal, a
//! file or a pipe, and writing costs no system call per line: a writer thread woken for every
//! line (tracing-appender's) cost more CPU per request than the line itself
//! (docs/PERFORMANCE.md). Lines of the last moment before a crash can be lost; a normal exit
//! writes everything ([`LogGuard`]).

use std::{
    io::{self, BufWriter, Stderr, Write},
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use tracing_subscriber::fmt::MakeWriter;

/// How often buffered lines are written out.
pub(crate) const EVERY: Duration = Duration::from_millis(100);

/// Buffered stderr, shared by every thread that logs.
#[derive(Clone)]
pub(crate) struct Batched(Arc<Mutex<BufWriter<Stderr>>>);

impl Batched {
    /// The writer and the guard that writes what is left when dropped; starts the flusher.
    pub(crate) fn start() -> (Self, LogGuard) {
        let shared = Self(Arc::new(Mutex::new(BufWriter::with_capacity(
            64 * 1024,
            io::stderr(),
        ))));
        let flusher = shared.clone();
        std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EVERY);
                    flusher.flush();
                }
            })
            .ok();
        (shared.clone(), LogGuard(shared))
    }

    fn lock(&self) -> MutexGuard<'_, BufWriter<Stderr>> {
        // A poisoned lock only means a panic while writing a line; the buffer is still usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn flush(&self) {
        let _ = self.lock().flush();
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Line<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        Line(self.lock())
    }
}

/// One log line being written into the buffer.
pub(crate) struct Line<'a>(MutexGuard<'a, BufWriter<Stderr>>);

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        // The flusher writes out; a line does not.
        Ok(())
    }
}

/// Writes out what is buffered, when dropped (the end of `main`) or asked.
pub(crate) struct LogGuard(Batched);

impl LogGuard {
    pub(crate) fn flush(&self) {
        self.0.flush();
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.0.flush();
    }
}
