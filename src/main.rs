use clap::Parser;
use hutong::cli::{Cli, run};
use std::process::ExitCode;

/// mimalloc rather than glibc's malloc: at a million assets in memory,
/// start-up is mostly allocation, and glibc's per-thread arenas kept
/// hundreds of megabytes of freed pages resident (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    hutong::telemetry::init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hutong: {e}");
            ExitCode::FAILURE
        }
    }
}
