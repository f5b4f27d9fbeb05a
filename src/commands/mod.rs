//! The commands, one file each, and the entry point that maps their outcome to an exit code.

pub mod apply;
pub mod completions;
pub mod destroy;
pub mod init;
pub mod plan;
pub mod policy;
pub mod preview;
pub mod status;
pub mod test;

use std::io::IsTerminal;

use anyhow::{Result, bail};
use clap::Parser;

use crate::aws::{self, AwsOptions, Clients};
use crate::bundle::{self, handler_sha256};
use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::Config;
use crate::engine::{self, Op, State};
use crate::model::{Ctx, Target};
use crate::plan::saved::{Basis, fingerprint};
use crate::plan::{Mode, Plan};
use crate::printer::Printer;

/// How a command ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done (for `plan --detailed-exitcode`: nothing to change).
    Success,
    /// 2: `plan --detailed-exitcode` found changes pending.
    ChangesPending,
    /// 2: `status` found something that needs attention (alerts still arrive).
    NeedsAttention,
    /// 3: `status` found a link broken, or a hop of `test` failed: an alert would not arrive now.
    Broken,
}

impl From<ExitStatus> for u8 {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => 0,
            ExitStatus::ChangesPending | ExitStatus::NeedsAttention => 2,
            ExitStatus::Broken => 3,
        }
    }
}

/// The user said no (or pressed Ctrl-C / Esc) before anything was changed.
#[derive(Debug, thiserror::Error)]
#[error("cancelled - no changes made")]
pub struct Cancelled;

/// Exit code for a cancelled command, as shells report SIGINT.
pub const CANCELLED_EXIT: u8 = 130;

/// Runs the command line; the process's exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    let printer = Printer::new(cli.global.no_color);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return 1;
        }
    };
    match runtime.block_on(run(cli, &printer)) {
        Ok(status) => status.into(),
        Err(err) if err.is::<Cancelled>() => {
            eprintln!("{err}");
            CANCELLED_EXIT
        }
        // The reader of stdout went away (`| head`): it has all it wanted, as with any Unix filter.
        Err(err) if reader_gone(&err) => 0,
        Err(err) => {
            print_error(&err);
            1
        }
    }
}

pub async fn run(cli: Cli, printer: &Printer) -> Result<ExitStatus> {
    bundle::load()?;
    if let Some(path) = bundle::override_path() {
        printer.warn(format!(
            "deploying the handler package {} ({}), not the one bundled in this binary",
            path.display(),
            bundle::OVERRIDE_ENV
        ));
    }
    match &cli.command {
        Command::Init(args) => init::run(&cli.global, args, printer).await,
        Command::Plan(args) => plan::run(&cli.global, args, printer).await,
        Command::Apply(args) => apply::run(&cli.global, args, printer).await,
        Command::Destroy(args) => destroy::run(&cli.global, args, printer).await,
        Command::Preview(args) => preview::run(&cli.global, args, printer).await,
        Command::Status(args) => status::run(&cli.global, args, printer).await,
        Command::Test(args) => test::run(&cli.global, args, printer).await,
        Command::Policy(args) => policy::run(&cli.global, args, printer).await,
        Command::Completions(args) => completions::run(args),
    }
}

/// Whether `err` is a write to a pipe whose reader has closed it.
fn reader_gone(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `error: …` then each cause on its own line.
fn print_error(err: &anyhow::Error) {
    let red = console::style("error:").red().bold().for_stderr();
    eprintln!("{red} {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// The SDK options from the global flags (`region` overridden by the caller when the config fixes it).
/// A `--region` AWS does not have is an error here, before any call.
pub fn aws_options(global: &GlobalArgs, region: Option<&str>) -> Result<AwsOptions> {
    if let Some(flag) = &global.region
        && let Err(problem) = crate::config::validate_region(flag)
    {
        bail!("--region: {} ({})", problem.problem, problem.fix);
    }
    Ok(AwsOptions {
        profile: global.profile.clone(),
        region: region.map(str::to_owned).or_else(|| global.region.clone()),
        endpoint_url: global.endpoint_url.clone(),
    })
}

/// Loads the config and builds the context for the pipeline's region. Validation happens before any AWS call.
pub async fn context(global: &GlobalArgs, printer: &Printer) -> Result<Ctx> {
    let config = Config::load(&global.config)?;
    if let Some(warning) = config.exposure(&global.config) {
        printer.warn(warning);
    }
    let options = aws_options(global, Some(&config.region))?;
    if let Some(region) = &global.region
        && region != &config.region
    {
        printer.warn(format!(
            "--region {region} ignored: the pipeline lives in the config's region {} (the trail's home region)",
            config.region
        ));
    }
    let sdk = aws::load(&options).await?;
    let clients = Clients::new(&sdk);
    let account = aws::account_id(&clients.sts).await?;
    Ok(Ctx::new(
        clients,
        Target::new(&config, &account),
        printer.clone(),
    ))
}

/// Reads the account and computes the plan, with a progress line while reading.
pub async fn compute_plan(ctx: &Ctx, mode: Mode) -> Result<Plan<Op>> {
    Ok(read_and_plan(ctx, mode).await?.1)
}

/// The state read (for the fingerprints of a saved plan) and the plan computed from it.
pub async fn read_and_plan(ctx: &Ctx, mode: Mode) -> Result<(State, Plan<Op>)> {
    let step = ctx.printer.step(format!(
        "Reading account {} in {}",
        ctx.target.account_id(),
        ctx.target.region()
    ));
    match engine::read(ctx).await {
        Ok(state) => {
            step.done();
            let plan = engine::plan(&ctx.target, &state, mode);
            Ok((state, plan))
        }
        Err(err) => {
            step.failed();
            Err(err)
        }
    }
}

/// Terraform's confirmation: only `yes` proceeds; no terminal and no `--yes` refuses; Esc or
/// Ctrl-C is "cancelled" (exit 130), not death by SIGINT.
pub fn confirm(yes: bool, question: &str, command: &str) -> Result<()> {
    if yes {
        return Ok(());
    }
    let missing = if !std::io::stdin().is_terminal() {
        Some("stdin")
    } else if !std::io::stderr().is_terminal() {
        Some("stderr")
    } else {
        None
    };
    if let Some(stream) = missing {
        bail!(
            "refusing to {command} without confirmation: {stream} is not a terminal. Review with `login-alert plan`, then run `login-alert {command} --yes`"
        );
    }
    eprintln!("\n{question}\n  Only 'yes' will be accepted to approve.\n");
    let answer = crate::prompt::TerminalPrompter::default()
        .line("  Enter a value: ")
        .map_err(|_| Cancelled)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Cancelled.into())
    }
}

/// `sha256:…` of the config as loaded now (what a saved plan rests on, beside the state).
pub fn config_digest(global: &GlobalArgs) -> Result<String> {
    Ok(fingerprint(&Config::load(&global.config)?))
}

/// What a plan computed now, from this state, rests on.
pub fn basis(ctx: &Ctx, config_digest: String, state: &State) -> Basis {
    Basis {
        login_alert_version: env!("CARGO_PKG_VERSION").to_owned(),
        handler_sha256: handler_sha256(),
        config_digest,
        account_id: ctx.target.account_id().to_owned(),
        region: ctx.target.region().to_owned(),
        state: state.fingerprints(),
    }
}
