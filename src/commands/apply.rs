//! `login-alert apply`: show the plan, ask, then execute exactly that plan.

use anyhow::{Result, bail};

use super::{ExitStatus, confirm, context};
use crate::cli::{ApplyArgs, GlobalArgs, OutputFormat};
use crate::engine::{self, Op};
use crate::model::Ctx;
use crate::plan::{Mode, Plan};
use crate::printer::Printer;

pub async fn run(global: &GlobalArgs, args: &ApplyArgs, printer: &Printer) -> Result<ExitStatus> {
    let ctx = context(global, printer).await?;
    let plan = super::plan::show(&ctx, Mode::Apply, OutputFormat::Text).await?;
    if !plan.blockers.is_empty() {
        bail!(
            "nothing was changed: resolve the {} problem(s) listed under \"Cannot apply\" first",
            plan.blockers.len()
        );
    }
    if !plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    confirm(args.yes, "Do you want to make these changes?", "apply")?;
    execute(&ctx, &plan).await?;
    Ok(ExitStatus::Success)
}

/// Executes a plan the user approved and reports the result (also the installer's "Apply it?").
pub async fn execute(ctx: &Ctx, plan: &Plan<Op>) -> Result<()> {
    engine::apply(ctx, plan).await?;
    let s = plan.summary();
    ctx.printer.out(format!(
        "Apply complete! Resources: {} added, {} changed, {} destroyed.",
        s.add, s.change, s.destroy
    ));
    if !ctx.target.emails.is_empty() {
        ctx.printer
            .out("Each new email address receives a message from AWS Notifications: click its link to start getting alerts.");
    }
    Ok(())
}
