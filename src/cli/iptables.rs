//! `kdive iptables`.
use std::process::ExitCode;

use clap::Args;

use super::{ClusterArgs, InputError};

#[derive(Debug, Args)]
pub struct IptablesArgs {}

pub async fn run(_cluster: &ClusterArgs, _args: IptablesArgs) -> color_eyre::Result<ExitCode> {
    Err(InputError::new("`kdive iptables` is not implemented yet").into())
}
