//! The `piimask` binary.

fn main() -> std::process::ExitCode {
    piimask::cli::run()
}
