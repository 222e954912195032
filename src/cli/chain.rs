//! `kdive chain`.
use std::process::ExitCode;

use clap::Args;

use super::{ClusterArgs, InputError};

#[derive(Debug, Args)]
pub struct ChainArgs {}

pub async fn run(_cluster: &ClusterArgs, _args: ChainArgs) -> color_eyre::Result<ExitCode> {
    Err(InputError::new("`kdive chain` is not implemented yet").into())
}
