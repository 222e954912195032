//! kdive binary: parse arguments, install error reporting, dispatch.
use std::process::ExitCode;

use clap::Parser;

// The lab and the large renders allocate many small objects; mimalloc is markedly faster
// than the system allocator at that (see tests/bench/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's own: frees what it holds of freed memory (`force`: also other pages).
    fn mi_collect(force: bool);
}

/// The lab calls this after a burst of deletions, so its memory goes back to the OS.
fn collect_freed_memory() {
    // SAFETY: mi_collect may be called from any thread at any time.
    unsafe { mi_collect(true) }
}

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    kdive_lab::housekeeping::set_allocator_release(collect_freed_memory);
    let cli = kdive::cli::Cli::parse();
    kdive::cli::main(cli)
}
