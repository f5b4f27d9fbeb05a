//! `login-alert status`: follow an alert's path link by link, reading only, and say for each
//! whether it is ok, needs attention or is broken, with the fix.

use anyhow::Result;

use super::{ExitStatus, context};
use crate::check::{self, Check, Status};
use crate::cli::{GlobalArgs, StatusArgs, StatusFormat};
use crate::engine;
use crate::model::Ctx;
use crate::printer::Printer;

pub async fn run(global: &GlobalArgs, args: &StatusArgs, printer: &Printer) -> Result<ExitStatus> {
    let ctx = context(global, printer).await?;
    let checks = report(&ctx).await?;
    match args.output {
        StatusFormat::Text => printer.out(check::text(
            &checks,
            ctx.target.account_id(),
            ctx.target.region(),
        )),
        StatusFormat::Json => printer.out(check::json(&checks)),
    }
    Ok(exit_status(&checks))
}

/// Reads the account and asks every part of the pipeline for its checks, in the order an alert
/// travels. Only reads.
pub async fn report(ctx: &Ctx) -> Result<Vec<Check>> {
    let step = ctx.printer.step(format!(
        "Reading login-alert's pipeline in account {} ({})",
        ctx.target.account_id(),
        ctx.target.region()
    ));
    let checks = async {
        let state = engine::read(ctx).await?;
        engine::checks(ctx, &state).await
    }
    .await;
    match checks {
        Ok(checks) => {
            step.done();
            Ok(check::in_path_order(checks))
        }
        Err(err) => {
            step.failed();
            Err(err)
        }
    }
}

/// 0 all ok, 2 something needs attention, 3 an alert would not arrive now.
pub fn exit_status(checks: &[Check]) -> ExitStatus {
    match check::worst(checks) {
        Status::Skipped | Status::Ok => ExitStatus::Success,
        Status::Warning => ExitStatus::NeedsAttention,
        Status::Failing => ExitStatus::Broken,
    }
}
