//! Where log lines go: stderr, one `write` for many lines while the proxy
//! is busy. A masked or refused response leaves an audit event, and with
//! one `write` each, a loaded proxy made a system call per response for
//! its log (and, under Kubernetes, woke the container runtime's log reader
//! as often). On a runtime worker that has parked before, info and lower
//! lines wait in one buffer until the worker is about to park again
//! (nothing left to run: microseconds later when the proxy is idle), or
//! 16 KB wait, or the process ends; warnings and errors, and lines from
//! any other thread, are written at once with whatever waits before them.
//! What a crash can lose is what one busy stretch logged, at most 16 KB.

use std::cell::Cell;
use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// Lines waiting beyond this are written without waiting for a park.
const FLUSH_AT: usize = 16 * 1024;

static PENDING: Mutex<Vec<u8>> = Mutex::new(Vec::new());

thread_local! {
    /// Set on a runtime worker once it has parked: a thread whose next
    /// park flushes (see [`on_worker_unpark`]).
    static PARKS: Cell<bool> = const { Cell::new(false) };
}

/// The `MakeWriter` for `tracing_subscriber::fmt`: stderr, coalesced.
#[derive(Clone, Copy, Debug, Default)]
pub struct StderrLines;

/// One log line being written: appended to the pending lines, which are
/// written out when it is dropped if the line is urgent or enough wait.
pub struct Line {
    pending: MutexGuard<'static, Vec<u8>>,
    urgent: bool,
}

impl<'a> MakeWriter<'a> for StderrLines {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line { pending: lock(), urgent: true }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Line {
        // Levels order by verbosity: WARN and ERROR are the ones below INFO.
        let urgent = *meta.level() < Level::INFO || !PARKS.with(Cell::get);
        Line { pending: lock(), urgent }
    }
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.urgent || self.pending.len() >= FLUSH_AT {
            write_out(&mut self.pending);
        }
    }
}

/// The runtime's `on_thread_unpark` hook: this worker's info lines may
/// wait for its next park from now on.
pub fn on_worker_unpark() {
    PARKS.with(|p| p.set(true));
}

/// The runtime's `on_thread_park` hook, and the last step before the
/// process exits: writes every waiting line.
pub fn flush() {
    write_out(&mut lock());
}

/// [`flush`] for a panic hook: skipped if this thread holds the lock
/// already (it panicked writing a line), which would deadlock. A lock an
/// earlier panic poisoned is taken as [`lock`] takes it.
pub fn try_flush() {
    let mut pending = match PENDING.try_lock() {
        Ok(pending) => pending,
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(TryLockError::WouldBlock) => return,
    };
    write_out(&mut pending);
}

fn lock() -> MutexGuard<'static, Vec<u8>> {
    // A panic while a line was being appended leaves whole lines and
    // perhaps part of one: still worth writing.
    PENDING.lock().unwrap_or_else(PoisonError::into_inner)
}

fn write_out(pending: &mut Vec<u8>) {
    if !pending.is_empty() {
        sink(pending);
        pending.clear();
    }
}

#[cfg(not(test))]
fn sink(lines: &[u8]) {
    // Nowhere to report a failed write to stderr; the lines are dropped
    // rather than kept growing.
    let _ = io::stderr().lock().write_all(lines);
}

/// What the unit tests' lines were written as, instead of stderr.
#[cfg(test)]
static WRITTEN: Mutex<Vec<u8>> = Mutex::new(Vec::new());

#[cfg(test)]
fn sink(lines: &[u8]) {
    WRITTEN.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(lines);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tests share the one buffer: each runs alone, on a thread of
    /// its own (a runtime worker's thread-local state is per thread).
    static SERIAL: Mutex<()> = Mutex::new(());

    fn on_fresh_thread(test: impl FnOnce() + Send + 'static) {
        let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        flush();
        WRITTEN.lock().unwrap_or_else(PoisonError::into_inner).clear();
        let subscriber = tracing_subscriber::fmt().with_writer(StderrLines).without_time().with_target(false).finish();
        std::thread::spawn(move || tracing::subscriber::with_default(subscriber, test))
            .join()
            .expect("the test thread");
    }

    /// The messages written so far, in order.
    fn written() -> Vec<String> {
        let bytes = WRITTEN.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).lines().map(|l| l.rsplit(' ').next().unwrap_or("").to_string()).collect()
    }

    #[test]
    fn info_lines_wait_on_a_worker_that_has_parked_and_leave_at_its_next_park() {
        on_fresh_thread(|| {
            tracing::info!("before");
            assert_eq!(written(), ["before"], "before its first park, a thread's lines go out at once");
            on_worker_unpark();
            tracing::info!("one");
            tracing::info!("two");
            assert_eq!(written(), ["before"], "info lines wait on a worker");
            tracing::warn!("three");
            assert_eq!(written(), ["before", "one", "two", "three"], "a warning takes what waits with it, in order");
            tracing::info!("four");
            flush();
            assert_eq!(written(), ["before", "one", "two", "three", "four"], "the park hook writes what waits");
        });
    }

    #[test]
    fn the_panic_hook_writes_what_waits_even_after_an_earlier_panic_poisoned_the_lock() {
        on_fresh_thread(|| {
            on_worker_unpark();
            tracing::info!("waiting");
            let poisoner = std::thread::spawn(|| {
                let _held = lock();
                panic!("poisons the pending lines' lock");
            });
            assert!(poisoner.join().is_err());
            assert!(PENDING.is_poisoned());
            try_flush();
            assert_eq!(written(), ["waiting"]);
        });
    }

    #[test]
    fn a_worker_writes_out_once_enough_lines_wait() {
        on_fresh_thread(|| {
            on_worker_unpark();
            let word = "x".repeat(1000);
            let mut logged = 0;
            while written().is_empty() {
                tracing::info!("{word}");
                logged += 1;
                assert!(logged <= FLUSH_AT / 1000 + 1, "{logged} lines of 1 KB and still nothing written");
            }
            assert_eq!(written().len(), logged, "all that waited, written at once");
            assert!(lock().is_empty());
        });
    }
}
