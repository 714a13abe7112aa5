//! The `piimask` binary.

#![forbid(unsafe_code)]

/// mimalloc rather than glibc's malloc: a masked 64 KB response allocates
/// and frees ~200 KB in ~60 allocations (hyper's read buffer, the masked
/// output, rustls's records, headers), which cost glibc ~3% of the
/// proxy's CPU, and glibc's heap shrank and faulted back in every other
/// request unless tuned. Measured alternated with Envoy (4 rounds of 5 s,
/// one worker): CPU per request 67.9 -> 64.8 us, lower in every round.
/// `no_thp`: no transparent huge pages for its arenas, or RSS at start
/// grows by ~10 MB of 2 MB pages barely used.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    piimask::cli::run()
}
