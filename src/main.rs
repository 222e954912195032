//! kdive binary: parse arguments, install error reporting, dispatch.
use std::process::ExitCode;

use clap::Parser;

// The lab and the large renders allocate many small objects; mimalloc is markedly faster
// than the system allocator at that (see tests/bench/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    let cli = kdive::cli::Cli::parse();
    kdive::cli::main(cli)
}
