//! The tokio runtime the long-running commands serve on, with the hooks
//! that keep a sidecar small and its logs whole: a worker about to park
//! writes its waiting log lines and hands its allocator's free pages back;
//! a panic writes what waits first.

mod idle_trim;

use crate::telemetry;

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("--threads must be at least 1")]
    NoThreads,
    #[error("starting the runtime: {0}")]
    Start(#[from] std::io::Error),
}

/// A runtime with `threads` workers (one: the current thread; `None`: one
/// a core).
pub fn build(threads: Option<usize>) -> Result<tokio::runtime::Runtime, RuntimeError> {
    let mut builder = match threads {
        Some(0) => return Err(RuntimeError::NoThreads),
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
        None => tokio::runtime::Builder::new_multi_thread(),
    };
    // A busy worker's audit and access lines go out together when it
    // parks (see `telemetry`); a panic writes what waits first.
    let runtime = builder
        .enable_all()
        .on_thread_park(|| {
            telemetry::flush();
            idle_trim::on_worker_park();
        })
        .on_thread_unpark(telemetry::on_worker_unpark)
        .build()?;
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        telemetry::try_flush();
        default_hook(info);
    }));
    Ok(runtime)
}
