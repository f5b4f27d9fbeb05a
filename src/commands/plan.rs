//! `login-alert plan`: read the account and print what `apply` (or `destroy`) would do.

use anyhow::{Result, bail};

use super::{ExitStatus, compute_plan, context};
use crate::cli::{GlobalArgs, OutputFormat, PlanArgs};
use crate::engine::Op;
use crate::model::Ctx;
use crate::plan::{Mode, Plan, render};
use crate::printer::Printer;

pub async fn run(global: &GlobalArgs, args: &PlanArgs, printer: &Printer) -> Result<ExitStatus> {
    let ctx = context(global, printer).await?;
    let mode = if args.destroy {
        Mode::Destroy
    } else {
        Mode::Apply
    };
    let plan = show(&ctx, mode, args.output).await?;
    if !plan.blockers.is_empty() {
        bail!(
            "{} problem(s) must be resolved before apply can run (listed under \"Cannot apply\")",
            plan.blockers.len()
        );
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitStatus::ChangesPending
    } else {
        ExitStatus::Success
    })
}

/// Reads the account, prints the plan and returns it (also the installer's "Show the plan now?").
pub async fn show(ctx: &Ctx, mode: Mode, output: OutputFormat) -> Result<Plan<Op>> {
    let plan = compute_plan(ctx, mode).await?;
    match output {
        OutputFormat::Text => ctx.printer.out(render::text(&plan)),
        OutputFormat::Json => ctx.printer.out(render::json(&plan)),
    }
    Ok(plan)
}
