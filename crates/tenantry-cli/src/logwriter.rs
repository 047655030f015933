//! The log writer of `tenantry serve`: lines go into one buffer in memory, which a thread writes
//! to stderr every [`EVERY`] (sooner when [`SOON`] bytes are waiting). A request never waits on
//! the terminal, a file or a pipe, and writing costs no system call per line: a writer thread
//! woken for every line (tracing-appender's) cost more CPU per request than the line itself
//! (docs/PERFORMANCE.md).
//!
//! A line is copied into the buffer under a lock held for that copy only: the flusher takes the
//! whole buffer in exchange for an empty one and writes it with no lock on it, so a slow stderr
//! holds up the flusher, not the requests. Only when [`MOST`] bytes wait (stderr stuck for a
//! while) does a line's writer write them out itself, so nothing is dropped and memory stays
//! bounded. Lines are written in the order they were logged. Lines of the last moment before a
//! crash can be lost; a normal exit writes everything ([`LogGuard`]).

use std::{
    io::{self, Write},
    sync::{Arc, Mutex, MutexGuard, OnceLock},
    thread::Thread,
    time::Duration,
};

use tracing_subscriber::fmt::MakeWriter;

/// How often buffered lines are written out.
pub(crate) const EVERY: Duration = Duration::from_millis(100);

/// Bytes waiting at which the flusher is woken before its time.
const SOON: usize = 256 * 1024;

/// Bytes waiting at which a line's writer writes them out itself.
const MOST: usize = 8 * 1024 * 1024;

/// Buffered stderr, shared by every thread that logs.
#[derive(Clone)]
pub(crate) struct Batched(Arc<Shared>);

struct Shared {
    /// Lines not yet taken by a writer.
    waiting: Mutex<Vec<u8>>,
    /// Held while writing to stderr, before `waiting` is locked: writes leave in order.
    out: Mutex<Vec<u8>>,
    /// The flusher, to wake when [`SOON`] bytes wait.
    flusher: OnceLock<Thread>,
}

/// A poisoned lock only means a panic while a line was copied; the bytes are still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Batched {
    /// The writer and the guard that writes what is left when dropped; starts the flusher.
    pub(crate) fn start() -> (Self, LogGuard) {
        let shared = Self::unflushed();
        let flusher = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || {
                loop {
                    std::thread::park_timeout(EVERY);
                    flusher.flush();
                }
            });
        if let Ok(handle) = spawned {
            let _ = shared.0.flusher.set(handle.thread().clone());
        }
        (shared.clone(), LogGuard(shared))
    }

    /// The buffer, with no flusher yet.
    fn unflushed() -> Self {
        Self(Arc::new(Shared {
            waiting: Mutex::new(Vec::with_capacity(SOON)),
            out: Mutex::new(Vec::with_capacity(SOON)),
            flusher: OnceLock::new(),
        }))
    }

    /// Writes out every line logged so far.
    pub(crate) fn flush(&self) {
        let mut out = lock(&self.0.out);
        std::mem::swap(&mut *out, &mut *lock(&self.0.waiting));
        if !out.is_empty() {
            let mut stderr = io::stderr().lock();
            let _ = stderr.write_all(&out).and_then(|()| stderr.flush());
            out.clear();
        }
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = Line<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        Line {
            shared: self,
            waiting: Some(lock(&self.0.waiting)),
        }
    }
}

/// One log line being copied into the buffer.
pub(crate) struct Line<'a> {
    shared: &'a Batched,
    waiting: Option<MutexGuard<'a, Vec<u8>>>,
}

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(waiting) = &mut self.waiting {
            waiting.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // The flusher writes out; a line does not.
        Ok(())
    }
}

impl Drop for Line<'_> {
    fn drop(&mut self) {
        let Some(waiting) = self.waiting.take() else {
            return;
        };
        let len = waiting.len();
        drop(waiting);
        if len >= MOST {
            self.shared.flush();
        } else if len >= SOON
            && let Some(flusher) = self.shared.0.flusher.get()
        {
            flusher.unpark();
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_wait_in_order_until_flushed() {
        let writer = Batched::unflushed();
        for i in 0..3 {
            writeln!(writer.make_writer(), "line {i}").unwrap();
        }
        assert_eq!(&*lock(&writer.0.waiting), b"line 0\nline 1\nline 2\n");
        writer.flush();
        assert!(lock(&writer.0.waiting).is_empty());
        assert!(lock(&writer.0.out).is_empty());
    }
}
