//! `login-alert preview`: what the handler would send for the records in a file (being written).

use anyhow::{Result, bail};

use super::ExitStatus;
use crate::cli::{GlobalArgs, PreviewArgs};
use crate::printer::Printer;

pub async fn run(_global: &GlobalArgs, _args: &PreviewArgs, _printer: &Printer) -> Result<ExitStatus> {
    bail!("preview is not available in this build yet")
}
