//! `login-alert apply`: show the plan, ask, then execute exactly that plan.

use anyhow::{Result, bail};

use super::{ExitStatus, compute_plan, confirm, context};
use crate::cli::{ApplyArgs, GlobalArgs};
use crate::plan::{Mode, render};
use crate::printer::Printer;
use crate::resources;

pub async fn run(global: &GlobalArgs, args: &ApplyArgs, printer: &Printer) -> Result<ExitStatus> {
    let ctx = context(global, printer).await?;
    let plan = compute_plan(&ctx, Mode::Apply).await?;
    printer.out(render::text(&plan));
    if !plan.blockers.is_empty() {
        bail!("nothing was changed: resolve the {} problem(s) listed under \"Cannot apply\" first", plan.blockers.len());
    }
    if !plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    confirm(args.yes, "Do you want to make these changes?", "apply")?;
    resources::apply(&ctx, &plan).await?;
    let s = plan.summary();
    printer.out(format!("Apply complete! Resources: {} added, {} changed, {} destroyed.", s.add, s.change, s.destroy));
    if !ctx.target.emails.is_empty() {
        printer.out("Each new email address receives a message from AWS Notifications: click its link to start getting alerts.");
    }
    Ok(ExitStatus::Success)
}
