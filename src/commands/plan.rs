//! `login-alert plan`: read the account and print what `apply` (or `destroy`) would do; `--out`
//! saves it for review and `login-alert apply FILE`.

use anyhow::{Result, bail};

use super::{ExitStatus, basis, config_digest, context, read_and_plan};
use crate::cli::{GlobalArgs, OutputFormat, PlanArgs};
use crate::engine::Op;
use crate::model::Ctx;
use crate::plan::saved::Saved;
use crate::plan::{Mode, Plan, render};
use crate::printer::Printer;

pub async fn run(global: &GlobalArgs, args: &PlanArgs, printer: &Printer) -> Result<ExitStatus> {
    let ctx = context(global, printer).await?;
    let mode = if args.destroy {
        Mode::Destroy
    } else {
        Mode::Apply
    };
    let (state, plan) = read_and_plan(&ctx, mode).await?;
    print(&ctx, &plan, args.output);
    if !plan.blockers.is_empty() {
        bail!(
            "{} problem(s) must be resolved before apply can run (listed under \"Cannot apply\"){}",
            plan.blockers.len(),
            if args.out.is_some() {
                "; the plan was not saved"
            } else {
                ""
            }
        );
    }
    if let Some(path) = &args.out {
        let basis = basis(&ctx, config_digest(global)?, &state);
        Saved::new(plan.clone(), basis).write(path)?;
        printer.info(format!(
            "Saved the plan to {path}. After review, `login-alert apply {path}` applies exactly this plan (and refuses it if anything changed meanwhile).",
            path = path.display()
        ));
    }
    Ok(if args.detailed_exitcode && plan.has_changes() {
        ExitStatus::ChangesPending
    } else {
        ExitStatus::Success
    })
}

/// Reads the account, prints the plan and returns it (also the installer's "Show the plan now?").
pub async fn show(ctx: &Ctx, mode: Mode, output: OutputFormat) -> Result<Plan<Op>> {
    let (_, plan) = read_and_plan(ctx, mode).await?;
    print(ctx, &plan, output);
    Ok(plan)
}

fn print(ctx: &Ctx, plan: &Plan<Op>, output: OutputFormat) {
    match output {
        OutputFormat::Text => ctx.printer.out(render::text(plan)),
        OutputFormat::Json => ctx.printer.out(render::json(plan)),
        OutputFormat::Markdown => ctx.printer.out(render::markdown(plan)),
    }
}
