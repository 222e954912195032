//! kdive binary: parse arguments, install error reporting, dispatch.
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    let cli = kdive::cli::Cli::parse();
    kdive::cli::main(cli)
}
