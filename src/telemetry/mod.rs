//! Logs: JSON lines on stderr, written in batches while the proxy is busy.
//! Knows tracing and the standard library, nothing of HTTP or the engine.
//! Log lines carry identities, routes and reasons, never body bytes.

mod log_format;
mod log_writer;

pub use log_writer::{flush, on_worker_unpark, try_flush};

/// Structured (JSON) logs on stderr; `RUST_LOG` sets the level (default
/// info). Calling it again keeps the first subscriber.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .event_format(log_format::JsonLines)
        .with_env_filter(filter)
        .with_writer(log_writer::StderrLines)
        .try_init();
}
