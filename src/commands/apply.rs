//! `login-alert apply`: show the plan, ask, then execute exactly that plan; or execute a plan saved
//! by `plan --out` after checking that nothing it rests on has changed.

use std::path::Path;

use anyhow::{Result, bail};

use super::{ExitStatus, basis, config_digest, confirm, context, read_and_plan};
use crate::cli::{ApplyArgs, GlobalArgs, OutputFormat};
use crate::engine::{self, Op};
use crate::model::Ctx;
use crate::plan::saved::Saved;
use crate::plan::{Mode, Plan, render};
use crate::printer::Printer;

pub async fn run(global: &GlobalArgs, args: &ApplyArgs, printer: &Printer) -> Result<ExitStatus> {
    if let Some(path) = &args.plan_file {
        return apply_saved(global, path, printer).await;
    }
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
    execute_interruptible(&ctx, &plan).await?;
    Ok(ExitStatus::Success)
}

/// [`execute`], with Ctrl-C (SIGINT) stopping it with the line that says what to do: listening
/// replaces the default death by SIGINT, which said nothing.
pub async fn execute_interruptible(ctx: &Ctx, plan: &Plan<Op>) -> Result<()> {
    let command = match plan.mode {
        Mode::Apply => "apply",
        Mode::Destroy => "destroy",
    };
    tokio::select! {
        done = execute(ctx, plan) => done,
        _ = tokio::signal::ctrl_c() => bail!(
            "interrupted: {command} stopped part-way. Run `login-alert {command}` again to finish (it continues from what exists)"
        ),
    }
}

/// Executes a plan the user approved and reports the result (also the installer's "Apply it?").
pub async fn execute(ctx: &Ctx, plan: &Plan<Op>) -> Result<()> {
    engine::apply(ctx, plan).await?;
    let s = plan.summary();
    match plan.mode {
        Mode::Apply => {
            ctx.printer.out(format!(
                "Apply complete! Resources: {} added, {} changed, {} destroyed.",
                s.add, s.change, s.destroy
            ));
            if !ctx.target.emails.is_empty() {
                ctx.printer.out("Each new email address receives a message from AWS Notifications: click its link to start getting alerts.");
            }
        }
        Mode::Destroy => ctx.printer.out(format!(
            "Destroy complete! Resources: {} destroyed, {} restored.",
            s.destroy, s.change
        )),
    }
    Ok(())
}

/// `apply FILE`: the review was the confirmation, so nothing is asked; anything the plan rests on
/// that changed since (binary, config, account, any resource's state, the file itself) refuses it
/// before a single write.
async fn apply_saved(global: &GlobalArgs, path: &Path, printer: &Printer) -> Result<ExitStatus> {
    let saved: Saved<Op> = Saved::read(path)?;
    let then = &saved.computed_from;
    let mut changed = Vec::new();
    let (version, handler) = (env!("CARGO_PKG_VERSION"), crate::bundle::handler_sha256());
    if then.login_alert_version != version || then.handler_sha256 != handler {
        changed.push(format!(
            "it was made by login-alert {} (handler {}), this is login-alert {version} (handler {handler})",
            then.login_alert_version, then.handler_sha256
        ));
    }
    if then.config_digest != config_digest(global)? {
        changed.push(format!(
            "the config {} changed since",
            global.config.display()
        ));
    }
    if changed.is_empty() {
        let ctx = context(global, printer).await?;
        let (state, fresh) = read_and_plan(&ctx, saved.plan.mode).await?;
        let now = basis(&ctx, then.config_digest.clone(), &state);
        changed = then.differences(&now);
        if changed.is_empty() {
            // Same inputs, same state: the document computed now is the one saved, every field a
            // reviewer reads included, unless the file was rewritten with a valid digest (anyone can
            // compute a SHA-256). What is shown and applied below is this fresh plan's.
            let expected = Saved::new(fresh.clone(), now);
            let forged = saved.forged_fields(&expected);
            if !forged.is_empty() {
                bail!(
                    "{} in {}: not what this config and account give (the file was edited): nothing was changed. \
                     Run `login-alert plan --out {}` again and review that plan",
                    forged.join(", "),
                    path.display(),
                    path.display()
                );
            }
            return execute_saved(&ctx, fresh, saved.plan).await;
        }
    }
    bail!(
        "the plan in {path} is stale: {}. Nothing was changed: run `login-alert plan --out {path}` again, review it, and apply that",
        changed.join("; "),
        path = path.display()
    )
}

/// Runs the saved plan, shown as computed now (`fresh`, equal to it field for field).
async fn execute_saved(ctx: &Ctx, fresh: Plan<Op>, plan: Plan<Op>) -> Result<ExitStatus> {
    if !fresh.blockers.is_empty() {
        bail!(
            "nothing was changed: the saved plan lists {} problem(s) under \"Cannot apply\"",
            fresh.blockers.len()
        );
    }
    ctx.printer.out(render::text(&fresh));
    if !plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    let mut ready = Plan::new(plan.mode, &plan.account_id, &plan.region);
    for change in plan.changes {
        let op = change.op.clone().with_secrets(&ctx.target)?;
        ready.push(Some(change.map_op(|_| op)));
    }
    ready.notices = plan.notices;
    execute_interruptible(ctx, &ready).await?;
    Ok(ExitStatus::Success)
}
