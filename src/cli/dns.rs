//! `kdive dns`.
use std::process::ExitCode;

use clap::Args;

use super::{ClusterArgs, InputError};

#[derive(Debug, Args)]
pub struct DnsArgs {}

pub async fn run(_cluster: &ClusterArgs, _args: DnsArgs) -> color_eyre::Result<ExitCode> {
    Err(InputError::new("`kdive dns` is not implemented yet").into())
}
