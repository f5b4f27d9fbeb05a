//! `login-alert destroy`: remove what login-alert created and restore the adopted trail as found.

use anyhow::{Result, bail};

use super::{ExitStatus, compute_plan, confirm, context};
use crate::cli::{DestroyArgs, GlobalArgs};
use crate::plan::{Mode, render};
use crate::printer::Printer;

pub async fn run(global: &GlobalArgs, args: &DestroyArgs, printer: &Printer) -> Result<ExitStatus> {
    let ctx = context(global, printer).await?;
    let plan = compute_plan(&ctx, Mode::Destroy).await?;
    printer.out(render::text(&plan));
    if !plan.blockers.is_empty() {
        bail!(
            "nothing was changed: resolve the {} problem(s) listed under \"Cannot apply\" first",
            plan.blockers.len()
        );
    }
    if !plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    confirm(
        args.yes,
        "Do you really want to remove the login-alert pipeline?",
        "destroy",
    )?;
    super::apply::execute_interruptible(&ctx, &plan).await?;
    Ok(ExitStatus::Success)
}
