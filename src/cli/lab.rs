//! `kdive lab`: run the lab cluster in the foreground.
use std::process::ExitCode;

use clap::Args;

use super::InputError;

#[derive(Debug, Args)]
pub struct LabArgs {}

pub async fn run(_args: LabArgs) -> color_eyre::Result<ExitCode> {
    Err(InputError::new("`kdive lab` is not implemented yet").into())
}
