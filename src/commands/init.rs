//! `login-alert init`: validate → discover → ask (on a terminal) → confirm → write the config → offer plan and apply.

use std::io::{self, IsTerminal};
use std::path::Path;

use anyhow::{Context, Result, bail};
use aws_config::SdkConfig;

use super::{Cancelled, ExitStatus, apply, aws_options, context, plan};
use crate::aws::{self, AwsOptions, Clients};
use crate::cli::{GlobalArgs, InitArgs, OutputFormat};
use crate::config::{self, Config, ConfigError};
use crate::discovery::{self, Discovery, TrailDetails};
use crate::installer;
use crate::model::Target;
use crate::plan::Mode;
use crate::policy::Grant;
use crate::printer::Printer;
use crate::prompt::{PromptError, Prompter, TerminalPrompter};
use crate::regions::regions_for;
use crate::resolve::{Flags, Refused, Resolved, TrailPick, resolve};

/// What `init` calls before the plan it offers: the account, and discovery in every region.
pub fn permissions(t: &Target) -> Vec<Grant> {
    let mut grants = vec![aws::account_id_permissions()];
    grants.extend(discovery::permissions(&t.arns));
    grants
}

pub async fn run(global: &GlobalArgs, args: &InitArgs, printer: &Printer) -> Result<ExitStatus> {
    // Everything that needs no AWS call is checked first, so bad input fails before any request.
    check_flags(args)?;
    let options = aws_options(global, None)?;
    let path = global.config.as_path();
    let existing = read_existing(path, args.force, printer)?;
    let flags = Flags {
        args,
        region: global.region.as_deref(),
    };
    // Without a terminal nothing is ever asked: the flags must answer everything (or the error names what is missing).
    let interactive =
        !args.yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if interactive {
        return guided(global, flags, &options, &existing, printer).await;
    }
    let config = unattended(flags, &options, existing.config.as_ref(), printer).await?;
    config.validate()?;
    existing.write(&config, path, printer)?;
    printer.info(format!(
        "Wrote {}. Next: `login-alert plan` to review the changes, then `login-alert apply`.",
        path.display()
    ));
    Ok(ExitStatus::Success)
}

/// Checks every flag that needs no AWS call.
fn check_flags(args: &InitArgs) -> Result<()> {
    let mut problems = Vec::new();
    let mut check = |r: Result<(), config::Problem>| {
        if let Err(p) = r {
            problems.push(p);
        }
    };
    if let Some(trail) = &args.trail {
        check(config::validate_trail_name(trail));
    }
    for email in &args.emails {
        check(config::validate_email(email));
    }
    if let Some(url) = &args.slack_webhook_url {
        check(config::validate_slack_webhook(url));
    }
    if let Some(name) = &args.account_name {
        check(config::validate_account_name(name));
    }
    if let Some(zone) = &args.timezone {
        check(config::validate_timezone(zone));
    }
    if let Some(prefix) = &args.name_prefix {
        check(config::validate_prefix(prefix));
    }
    if let Some(days) = args.log_retention_days {
        check(config::validate_retention(days));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ConfigError::Invalid(problems).into())
    }
}

/// The config file as `init` found it. It is never thrown away: one that cannot be read stops
/// `init`, unless `--force`, and then it is kept as `FILE.bak` before the new one is written.
struct Existing {
    config: Option<Config>,
    back_up: bool,
}

fn read_existing(path: &Path, force: bool, printer: &Printer) -> Result<Existing> {
    match Config::read(path) {
        Ok(config) => Ok(Existing {
            config: Some(config),
            back_up: false,
        }),
        Err(ConfigError::Missing { .. }) => Ok(Existing {
            config: None,
            back_up: false,
        }),
        Err(err) if force => {
            printer.warn(format!(
                "{err}\n  --force: starting from defaults; {} keeps the file as it is now",
                config::backup_path(path).display()
            ));
            Ok(Existing {
                config: None,
                back_up: true,
            })
        }
        Err(err) => Err(anyhow::Error::new(err).context(format!(
            "init changed nothing: {} cannot be read. Correct it, or run init with --force to start from defaults (the file is kept as {})",
            path.display(),
            config::backup_path(path).display()
        ))),
    }
}

impl Existing {
    fn write(&self, config: &Config, path: &Path, printer: &Printer) -> Result<()> {
        if self.back_up {
            let backup = config::back_up(path)?;
            printer.info(format!("Kept the old file as {}.", backup.display()));
        }
        config.save(path)?;
        Ok(())
    }
}

/// The SDK settings `init` reads with, and the region it starts in: `--region`, AWS_REGION or the
/// profile's region, else the existing config's.
async fn connect(options: &AwsOptions, existing: Option<&Config>) -> Result<(SdkConfig, String)> {
    let sdk = aws::load(options).await?;
    match (aws::region_of(&sdk), existing) {
        (Ok(region), _) => Ok((sdk, region)),
        (Err(_), Some(existing)) if sdk.region().is_none() => {
            let region = existing.region.clone();
            let sdk = sdk
                .to_builder()
                .region(aws_config::Region::new(region.clone()))
                .build();
            Ok((sdk, region))
        }
        (Err(err), _) => Err(err),
    }
}

/// `init --yes`, or without a terminal: the flags, the existing config and what the account tells; nothing is asked.
async fn unattended(
    flags: Flags<'_>,
    options: &AwsOptions,
    existing: Option<&Config>,
    printer: &Printer,
) -> Result<Config> {
    // What flags and the file leave open is known before any AWS call.
    let known = resolve(flags, existing, &Discovery::default());
    let missing = known.missing();
    if !missing.is_empty() {
        bail!(
            "init cannot ask without a terminal and these answers are missing: {}",
            missing.join(", ")
        );
    }
    // Every value but an adopted trail's region is known too: a bad one stops here, not after the reads.
    if let Some(config) = known.config()
        && let Err(ConfigError::Invalid(problems)) = config.validate()
    {
        let adopting = matches!(known.trail.value, Some(TrailPick::Adopt { .. }));
        let early: Vec<_> = problems
            .into_iter()
            .filter(|p| !(adopting && p.field == "region"))
            .collect();
        if !early.is_empty() {
            return Err(ConfigError::Invalid(early).into());
        }
    }
    let (sdk, region) = connect(options, existing).await?;
    let found = look_up(&sdk, &region, &known, printer).await?;
    let resolved = resolve(flags, existing, &found);
    if let Some(Refused { trail, owner }) = &resolved.refused {
        bail!(
            "trail {trail} is an organization trail owned by account {owner}: {}. Run login-alert there, or pass --create-trail to give this account a trail of its own",
            crate::reach::only_from_owner(owner)
        );
    }
    resolved
        .config()
        .context("init cannot tell which trail to use: pass --trail NAME (or --create-trail)")
}

/// What `init --yes` needs from the account: its ID, its alias (when no name is set), and the
/// trail it adopts (its home region and owner).
async fn look_up(
    sdk: &SdkConfig,
    region: &str,
    known: &Resolved,
    printer: &Printer,
) -> Result<Discovery> {
    let clients = Clients::new(sdk);
    let account = aws::account_id(&clients.sts).await?;
    let alias = match known.account_name.value {
        Some(_) => None,
        None => discovery::account_alias(&clients.iam).await,
    };
    let mut trails = Vec::new();
    if let Some(TrailPick::Adopt { name, .. }) = &known.trail.value {
        // A re-run looks where the config says the trail lives first.
        let start = match &known.places.config_trail {
            Some((configured, home)) if configured == name => home.as_str(),
            _ => region,
        };
        let step = printer.step(format!("Looking for trail {name} in account {account}"));
        let found = discovery::find_trail(sdk, start, name).await;
        match &found {
            Ok(_) => step.done(),
            Err(_) => step.failed(),
        }
        trails.push(TrailDetails {
            trail: found?,
            logging: None,
            subscription_filters: None,
        });
    }
    Ok(Discovery {
        account_id: Some(account),
        alias,
        region: Some(region.to_owned()),
        trails,
        problems: Vec::new(),
        // Flags answer every question here: the coverage question is never asked.
        organization: None,
    })
}

/// Ctrl-C while the installer runs. Listening replaces the default "kill the process", so a
/// Ctrl-C inside a prompt becomes an interrupted read (console raises SIGINT) that we report as
/// "cancelled", and a Ctrl-C outside one is seen here.
struct Interrupts {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupts {
    fn listen() -> io::Result<Self> {
        Ok(Interrupts {
            #[cfg(unix)]
            signal: tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?,
        })
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        self.signal.recv().await;
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn cancel(err: PromptError) -> anyhow::Error {
    match err {
        PromptError::Cancelled => Cancelled.into(),
        PromptError::Terminal(err) => {
            anyhow::Error::new(err).context("the installer cannot use the terminal")
        }
    }
}

/// The installer on a terminal: discover → ask → summarise → confirm → write → plan → apply.
async fn guided(
    global: &GlobalArgs,
    flags: Flags<'_>,
    options: &AwsOptions,
    existing: &Existing,
    printer: &Printer,
) -> Result<ExitStatus> {
    let mut interrupts = Interrupts::listen()?;
    let mut prompter = TerminalPrompter::default();
    let path = global.config.display().to_string();

    if let Some(config) = &existing.config {
        printer.info(format!(
            "{path} exists; its settings are the defaults this time:\n{}\n",
            installer::redacted(config)
        ));
        if let Err(err) = config.validate() {
            printer.warn(format!("{err}\n  the answers below must fix these"));
        }
    }

    let (sdk, start_region) = connect(options, existing.config.as_ref()).await?;
    let regions = regions_for(&start_region).len();
    let step = printer.step(format!(
        "Reading the account and the trails in {regions} regions (read-only)"
    ));
    let found = tokio::select! {
        found = discovery::discover(&sdk, &start_region) => found,
        _ = interrupts.recv() => {
            step.failed();
            return Err(Cancelled.into());
        }
    };
    step.done();
    printer.info(installer::found_line(&found));
    for problem in &found.problems {
        printer.warn(problem);
    }

    let resolved = resolve(flags, existing.config.as_ref(), &found);
    // A Ctrl-C that lands between two keystroke reads (the terminal not yet raw) reaches only the
    // signal listener, and the question would wait on; nothing is written while questions are
    // asked, so that Ctrl-C ends the installer the way a Ctrl-C inside a question does.
    let mut asking = Interrupts::listen()?;
    let watchdog = tokio::spawn(async move {
        asking.recv().await;
        let _ = console::Term::stderr().show_cursor();
        eprintln!("\n{Cancelled}");
        std::process::exit(i32::from(super::CANCELLED_EXIT));
    });
    let asked = installer::ask(&mut prompter, &resolved, &found);
    watchdog.abort();
    let config = asked.map_err(cancel)?;
    config.validate()?;

    printer.info("");
    for line in installer::summary(&config, &found) {
        printer.info(line);
    }
    printer.info("");
    if !prompter
        .confirm(&format!("Write these settings to {path}?"), true)
        .map_err(cancel)?
    {
        return Err(Cancelled.into());
    }
    existing.write(&config, &global.config, printer)?;
    printer.info(format!("Wrote {path}."));

    // From here the file exists: a cancel says so, and AWS is still untouched until "Apply it?".
    let written = |err: PromptError| {
        if matches!(err, PromptError::Cancelled) {
            printer.info(format!("{path} is written; nothing was changed in AWS."));
        }
        cancel(err)
    };
    let next = "Next: `login-alert plan` to review the changes, then `login-alert apply`.";
    if !prompter
        .confirm("Show the plan now?", true)
        .map_err(written)?
    {
        printer.info(next);
        return Ok(ExitStatus::Success);
    }
    let shown = async {
        let ctx = context(global, printer).await?;
        let plan = plan::show(&ctx, Mode::Apply, OutputFormat::Text).await?;
        anyhow::Ok((ctx, plan))
    };
    let (ctx, plan) = tokio::select! {
        shown = shown => shown?,
        _ = interrupts.recv() => {
            printer.info(format!("{path} is written; nothing was changed in AWS."));
            return Err(Cancelled.into());
        }
    };
    if !plan.blockers.is_empty() {
        printer.warn(format!(
            "apply cannot run until the {} problem(s) listed under \"Cannot apply\" are resolved; then run `login-alert apply`",
            plan.blockers.len()
        ));
        return Ok(ExitStatus::Success);
    }
    if !plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    if !prompter.confirm("Apply it?", false).map_err(written)? {
        printer.info("Nothing was changed in AWS. Run `login-alert apply` when you are ready.");
        return Ok(ExitStatus::Success);
    }
    tokio::select! {
        applied = apply::execute(&ctx, &plan) => applied?,
        _ = interrupts.recv() => bail!(
            "interrupted: apply stopped part-way. Run `login-alert apply` to finish (it continues from what exists) or `login-alert destroy` to remove what was created"
        ),
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn esc_or_ctrl_c_at_a_question_is_the_cancelled_exit() {
        assert!(matches!(
            cancel(PromptError::Cancelled).downcast::<Cancelled>(),
            Ok(Cancelled)
        ));
    }
}
