//! Counted work: the bytes the detectors read again after the scan has
//! passed them (a span tokenised, a candidate validated, a plan walked,
//! words looked for around a number, an address's parts), so that the
//! slow-input fuzz target can hunt for inputs that cost more per byte
//! than the known worst shapes, deterministically (wall time is not).
//!
//! Counting is compiled in only with the `work-count` feature (the fuzz
//! crate turns it on); otherwise [`charge`] is empty and costs nothing.

#[cfg(feature = "work-count")]
thread_local! {
    static WORK: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Adds `bytes` read to this thread's count.
#[inline(always)]
pub fn charge(bytes: usize) {
    #[cfg(feature = "work-count")]
    WORK.with(|w| w.set(w.get() + bytes as u64));
    #[cfg(not(feature = "work-count"))]
    let _ = bytes;
}

/// This thread's count since the last call, and a new count from zero
/// (always zero without the `work-count` feature).
pub fn take() -> u64 {
    #[cfg(feature = "work-count")]
    return WORK.with(|w| w.replace(0));
    #[cfg(not(feature = "work-count"))]
    0
}
