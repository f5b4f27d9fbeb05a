//! `login-alert plan`: read the account and print what `apply` (or `destroy`) would do.

use anyhow::{Result, bail};

use super::{ExitStatus, compute_plan, context};
use crate::cli::{GlobalArgs, OutputFormat, PlanArgs};
use crate::plan::{Mode, render};
use crate::printer::Printer;

pub async fn run(global: &GlobalArgs, args: &PlanArgs, printer: &Printer) -> Result<ExitStatus> {
    let ctx = context(global, printer).await?;
    let mode = if args.destroy { Mode::Destroy } else { Mode::Apply };
    let plan = compute_plan(&ctx, mode).await?;
    match args.output {
        OutputFormat::Text => printer.out(render::text(&plan)),
        OutputFormat::Json => printer.out(render::json(&plan)),
    }
    if !plan.blockers.is_empty() {
        bail!("{} problem(s) must be resolved before apply can run (listed under \"Cannot apply\")", plan.blockers.len());
    }
    Ok(if args.detailed_exitcode && plan.has_changes() { ExitStatus::ChangesPending } else { ExitStatus::Success })
}
