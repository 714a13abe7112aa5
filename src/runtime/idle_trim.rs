//! Hands the allocator's free pages back to the system when the proxy
//! goes idle. mimalloc (the binary's allocator) purges the pages a burst
//! of traffic freed only when it is next asked for memory, after a
//! delay; a sidecar that goes quiet after a burst would keep them in its
//! RSS until its next request.

// The one call into mimalloc's C API, `mi_collect`, is an FFI call.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::time::{Duration, Instant};

/// At most one collection a second per worker: a busy worker parks
/// between requests, and a collection walks its heap (~10 µs; ~0.6 ms
/// right after a burst of 64 KB responses).
const AT_MOST_EVERY: Duration = Duration::from_secs(1);

thread_local! {
    static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The runtime's park hook: collects this worker's mimalloc heap, at
/// most once a second. What a worker freed in the second before it went
/// idle waits for its next park: with one worker (`--threads 1`) the
/// config watcher's tick (`--reload-interval`) brings that within
/// seconds; a worker of several may sleep until the next request.
pub fn on_worker_park() {
    LAST.with(|last| {
        let now = Instant::now();
        if !due(last.get(), now) {
            return;
        }
        last.set(Some(now));
        // SAFETY: `mi_collect` takes no pointers; it frees and purges what
        // this thread's heap no longer uses.
        unsafe { libmimalloc_sys::mi_collect(false) };
    });
}

/// Whether a collection is due at `now`, the last one made at `last`.
fn due(last: Option<Instant>, now: Instant) -> bool {
    last.is_none_or(|at| now.duration_since(at) >= AT_MOST_EVERY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_are_at_least_a_second_apart() {
        let start = Instant::now();
        assert!(due(None, start));
        assert!(!due(Some(start), start + Duration::from_millis(999)));
        assert!(due(Some(start), start + AT_MOST_EVERY));
    }
}
